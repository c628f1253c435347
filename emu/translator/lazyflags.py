"""Lazy arithmetic flags: what each cc_op means, and the formula of every flag.

An instruction that sets flags records an operation kind and its operands
(`cc_op`, `cc_dst`, `cc_src`, `cc_src2`) instead of computing CF..OF.  A flag is
computed only where it is read.  Inside a block the translator knows cc_op at
translation time and emits just the formula it needs (a CMP followed by JL
becomes one signed compare); at a block start cc_op is a run-time value and the
native `pyemu_compute_eflags` (built from these same formulas, runtime.py)
evaluates it.

cc_op = kind * 4 + size index (0: byte, 1: word, 2: dword).  Operands are kept
zero-extended to 32 bits.  For each kind:

    ADD/ADC  dst = result, src = second operand, src2 = carry in (ADC)
    SUB/SBB  dst = result, src = subtrahend, src2 = borrow in (SBB)
    LOGIC    dst = result                      (CF = OF = AF = 0)
    INC/DEC  dst = result, src = the CF before the instruction
    SHL      dst = result, src = operand shifted by count-1 (its top bit is CF)
    SAR      dst = result, src = operand shifted right by count-1 (bit 0 is CF);
             SHR uses it too (OF = top bit of src ^ dst = top bit of the operand
             for a one-bit SHR, 0 for SAR; Intel SDM Vol. 2B SAL/SAR/SHL/SHR)
    MUL      dst = low half of the product, src = nonzero when the product
             overflows the low half (CF = OF = that; MUL and IMUL)
    EFLAGS   src = the six flag bits themselves
"""
import llvmlite.ir as ir

from ..cpu import hflags as H

K_EFLAGS, K_ADD, K_ADC, K_SUB, K_SBB, K_LOGIC, K_INC, K_DEC, K_SHL, K_SAR, K_MUL = range(11)
KIND_NAMES = ("EFLAGS", "ADD", "ADC", "SUB", "SBB", "LOGIC", "INC", "DEC", "SHL", "SAR", "MUL")
N_KINDS = len(KIND_NAMES)
SIZES = (1, 2, 4)

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)


def cc_op(kind, size):
    return kind * 4 + SIZES.index(size)


def split_cc_op(op):
    return op // 4, SIZES[op % 4] if op % 4 < 3 else 4


CC_EFLAGS = cc_op(K_EFLAGS, 4)


def _c(v):
    return ir.Constant(I32, v & 0xFFFFFFFF)


def _mask(size):
    return _c((1 << (8 * size)) - 1)


def _trunc(b, v, size):
    return v if size == 4 else b.and_(v, _mask(size))


def _top(b, v, size):
    """The sign bit of a size-byte value, as i1."""
    return b.icmp_unsigned("!=", b.and_(v, _c(1 << (8 * size - 1))), _c(0))


class Operands:
    """The recorded operands of a flag-setting operation (i32 values)."""

    def __init__(self, kind, size, dst, src, src2):
        self.kind, self.size, self.dst, self.src, self.src2 = kind, size, dst, src, src2

    def src1(self, b):
        """The first operand of ADD/ADC/SUB/SBB, rebuilt from the result."""
        k, s = self.kind, self.size
        if k == K_ADD:
            return _trunc(b, b.sub(self.dst, self.src), s)
        if k == K_ADC:
            return _trunc(b, b.sub(b.sub(self.dst, self.src), self.src2), s)
        if k == K_SUB:
            return _trunc(b, b.add(self.dst, self.src), s)
        if k == K_SBB:
            return _trunc(b, b.add(b.add(self.dst, self.src), self.src2), s)
        raise ValueError(k)


def flag_cf(b, o):
    k = o.kind
    if k == K_ADD:
        return b.icmp_unsigned("<", o.dst, o.src)
    if k == K_ADC:
        lt = b.icmp_unsigned("<", o.dst, o.src)
        le = b.icmp_unsigned("<=", o.dst, o.src)
        return b.select(b.trunc(o.src2, I1), le, lt)
    if k in (K_SUB, K_SBB):
        s1 = o.src1(b)
        if k == K_SUB:
            return b.icmp_unsigned("<", s1, o.src)
        lt = b.icmp_unsigned("<", s1, o.src)
        le = b.icmp_unsigned("<=", s1, o.src)
        return b.select(b.trunc(o.src2, I1), le, lt)
    if k == K_LOGIC:
        return ir.Constant(I1, 0)
    if k in (K_INC, K_DEC):
        return b.trunc(o.src, I1)
    if k == K_SHL:
        return _top(b, o.src, o.size)
    if k == K_SAR:
        return b.trunc(o.src, I1)
    if k == K_MUL:
        return b.icmp_unsigned("!=", o.src, _c(0))
    if k == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.CF)), _c(0))
    raise ValueError(k)


def flag_zf(b, o):
    if o.kind == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.ZF)), _c(0))
    return b.icmp_unsigned("==", _trunc(b, o.dst, o.size), _c(0))


def flag_sf(b, o):
    if o.kind == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.SF)), _c(0))
    return _top(b, o.dst, o.size)


def flag_pf(b, o):
    if o.kind == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.PF)), _c(0))
    low = b.trunc(o.dst, I8)
    count = b.ctpop(low)
    return b.icmp_unsigned("==", b.and_(count, ir.Constant(I8, 1)), ir.Constant(I8, 0))


def flag_af(b, o):
    k = o.kind
    if k == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.AF)), _c(0))
    if k in (K_ADD, K_ADC, K_SUB, K_SBB):
        x = b.xor(b.xor(o.src1(b), o.src), o.dst)
    elif k == K_INC:
        x = b.xor(b.xor(b.sub(o.dst, _c(1)), _c(1)), o.dst)
    elif k == K_DEC:
        x = b.xor(b.xor(b.add(o.dst, _c(1)), _c(1)), o.dst)
    else:
        return ir.Constant(I1, 0)
    return b.icmp_unsigned("!=", b.and_(x, _c(0x10)), _c(0))


def flag_of(b, o):
    k, s = o.kind, o.size
    if k == K_EFLAGS:
        return b.icmp_unsigned("!=", b.and_(o.src, _c(H.OF)), _c(0))
    if k in (K_ADD, K_ADC):
        s1 = o.src1(b)
        return _top(b, b.and_(b.xor(b.xor(s1, o.src), _c(-1)), b.xor(s1, o.dst)), s)
    if k in (K_SUB, K_SBB):
        s1 = o.src1(b)
        return _top(b, b.and_(b.xor(s1, o.src), b.xor(s1, o.dst)), s)
    if k == K_LOGIC:
        return ir.Constant(I1, 0)
    if k == K_INC:
        return b.icmp_unsigned("==", _trunc(b, o.dst, s), _c(1 << (8 * s - 1)))
    if k == K_DEC:
        return b.icmp_unsigned("==", _trunc(b, o.dst, s), _c((1 << (8 * s - 1)) - 1))
    if k in (K_SHL, K_SAR):
        return _top(b, b.xor(o.src, o.dst), s)
    if k == K_MUL:
        return b.icmp_unsigned("!=", o.src, _c(0))
    raise ValueError(k)


FLAG_FORMULAS = (("CF", H.CF, flag_cf), ("PF", H.PF, flag_pf), ("AF", H.AF, flag_af),
                 ("ZF", H.ZF, flag_zf), ("SF", H.SF, flag_sf), ("OF", H.OF, flag_of))
FORMULA_OF = {name: f for name, _, f in FLAG_FORMULAS}


def all_flags(b, o):
    """The six arithmetic flags as EFLAGS bits (i32)."""
    if o.kind == K_EFLAGS:
        return b.and_(o.src, _c(H.ARITH_FLAGS))
    acc = _c(0)
    for _, bit, formula in FLAG_FORMULAS:
        v = b.zext(formula(b, o), I32)
        shift = bit.bit_length() - 1
        if shift:
            v = b.shl(v, _c(shift))
        acc = b.or_(acc, v)
    return acc


def condition(b, o, cc):
    """Jcc/SETcc/CMOVcc condition `cc` (0..15, SDM Vol. 2 Table B-1) as i1.

    Subtraction and logic results get the direct comparisons; everything
    else is composed from the individual flags.
    """
    base, negate = cc >> 1, cc & 1
    k, s = o.kind, o.size
    r = None
    if k == K_SUB:
        s1 = o.src1(b)
        if s < 4:
            t = ir.IntType(8 * s)
            a, c = b.trunc(s1, t), b.trunc(o.src, t)
        else:
            a, c = s1, o.src
        r = {1: lambda: b.icmp_unsigned("<", a, c),
             2: lambda: b.icmp_unsigned("==", a, c),
             3: lambda: b.icmp_unsigned("<=", a, c),
             6: lambda: b.icmp_signed("<", a, c),
             7: lambda: b.icmp_signed("<=", a, c)}.get(base, lambda: None)()
    elif k == K_LOGIC:
        if base == 0 or base == 1:
            r = ir.Constant(I1, 0)
        elif base == 6:
            r = flag_sf(b, o)
        elif base == 7:
            r = b.or_(flag_zf(b, o), flag_sf(b, o))
        elif base == 3:
            r = flag_zf(b, o)
    if r is None:
        if base == 0:
            r = flag_of(b, o)
        elif base == 1:
            r = flag_cf(b, o)
        elif base == 2:
            r = flag_zf(b, o)
        elif base == 3:
            r = b.or_(flag_cf(b, o), flag_zf(b, o))
        elif base == 4:
            r = flag_sf(b, o)
        elif base == 5:
            r = flag_pf(b, o)
        elif base == 6:
            r = b.xor(flag_sf(b, o), flag_of(b, o))
        else:
            r = b.or_(flag_zf(b, o), b.xor(flag_sf(b, o), flag_of(b, o)))
    return b.not_(r) if negate else r
