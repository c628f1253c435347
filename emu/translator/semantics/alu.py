"""ADD ADC SUB SBB AND OR XOR CMP TEST INC DEC NEG NOT XADD CMPXCHG CMPXCHG8B (Intel SDM Vol. 2)."""
from ...cpu import hflags as H
from .. import lazyflags as LF


def _carry(g, size):
    return g.zext(g.flag("CF"), size)


def _binary(g, insn, compute, store=True):
    size = g.operand_size(insn, 0)
    a = g.read(insn, 0)
    b = g.read(insn, 1, size)
    result, kind, src, src2 = compute(g, a, b, size)
    if store:
        g.write(insn, 0, result)
    g.set_flags(kind, size, result, src, src2)


def _add(g, a, b, size):
    return g.b.add(a, b), LF.K_ADD, b, None


def _adc(g, a, b, size):
    c = _carry(g, size)
    return g.b.add(g.b.add(a, b), c), LF.K_ADC, b, c


def _sub(g, a, b, size):
    return g.b.sub(a, b), LF.K_SUB, b, None


def _sbb(g, a, b, size):
    c = _carry(g, size)
    return g.b.sub(g.b.sub(a, b), c), LF.K_SBB, b, c


def _and(g, a, b, size):
    return g.b.and_(a, b), LF.K_LOGIC, None, None


def _or(g, a, b, size):
    return g.b.or_(a, b), LF.K_LOGIC, None, None


def _xor(g, a, b, size):
    return g.b.xor(a, b), LF.K_LOGIC, None, None


def op_add(g, insn):
    _binary(g, insn, _add)


def op_adc(g, insn):
    _binary(g, insn, _adc)


def op_sub(g, insn):
    _binary(g, insn, _sub)


def op_sbb(g, insn):
    _binary(g, insn, _sbb)


def op_and(g, insn):
    _binary(g, insn, _and)


def op_or(g, insn):
    _binary(g, insn, _or)


def op_xor(g, insn):
    _binary(g, insn, _xor)


def op_cmp(g, insn):
    _binary(g, insn, _sub, store=False)


def op_test(g, insn):
    _binary(g, insn, _and, store=False)


def _incdec(g, insn, kind):
    size = g.operand_size(insn, 0)
    a = g.read(insn, 0)
    one = g.const(1, size)
    r = g.b.add(a, one) if kind == LF.K_INC else g.b.sub(a, one)
    old_cf = g.zext(g.flag("CF"), 4)        # INC/DEC leave CF alone
    g.write(insn, 0, r)
    g.set_flags(kind, size, r, old_cf)


def op_inc(g, insn):
    _incdec(g, insn, LF.K_INC)


def op_dec(g, insn):
    _incdec(g, insn, LF.K_DEC)


def op_neg(g, insn):
    size = g.operand_size(insn, 0)
    a = g.read(insn, 0)
    r = g.b.neg(a)
    g.write(insn, 0, r)
    g.set_flags(LF.K_SUB, size, r, a)       # 0 - a: CF = (a != 0)


def op_not(g, insn):
    a = g.read(insn, 0)
    g.write(insn, 0, g.b.not_(a))


def op_xadd(g, insn):
    """XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (SDM Vol. 2B XADD):
    with the same register as both operands, the sum wins."""
    size = g.operand_size(insn, 0)
    dest = g.read(insn, 0)
    src = g.read(insn, 1, size)
    total = g.b.add(dest, src)
    if g.is_memory(insn, 0):
        g.write(insn, 0, total)        # the store can fault: before any register write
        g.write(insn, 1, dest)
    else:
        g.write(insn, 1, dest)
        g.write(insn, 0, total)
    g.set_flags(LF.K_ADD, size, total, src)


def op_cmpxchg(g, insn):
    """CMPXCHG: compare the accumulator with DEST (flags as CMP); equal: DEST =
    SRC, else the accumulator = DEST.  A memory destination is written either
    way (SDM Vol. 2A CMPXCHG: the old value is written back on failure)."""
    b = g.b
    size = g.operand_size(insn, 0)
    acc = g.reg(0, size)
    dest = g.read(insn, 0)
    src = g.read(insn, 1, size)
    equal = b.icmp_unsigned("==", acc, dest)
    new_dest = g.select(equal, src, dest)
    new_acc = g.select(equal, acc, dest)
    if g.is_memory(insn, 0):
        g.write(insn, 0, new_dest)
        g.set_reg(0, size, new_acc)
    else:
        # the accumulator first: with the accumulator as DEST the values are
        # always equal, and DEST = SRC must be what stays
        g.set_reg(0, size, new_acc)
        g.write(insn, 0, new_dest)
    g.set_flags(LF.K_SUB, size, b.sub(acc, dest), dest)


def op_cmpxchg8b(g, insn):
    """CMPXCHG8B m64: EDX:EAX against m64; equal: m64 = ECX:EBX, else EDX:EAX =
    m64 (the old value is written back).  Only ZF changes (SDM Vol. 2A)."""
    b = g.b
    i64 = g.ty(8)
    old = g.read(insn, 0, 8)
    expected = b.or_(b.shl(b.zext(g.reg(2, 4), i64), g.const(32, 8)), b.zext(g.reg(0, 4), i64))
    new = b.or_(b.shl(b.zext(g.reg(1, 4), i64), g.const(32, 8)), b.zext(g.reg(3, 4), i64))
    equal = b.icmp_unsigned("==", old, expected)
    g.write(insn, 0, g.select(equal, new, old))
    g.set_reg(0, 4, g.select(equal, g.reg(0, 4), b.trunc(old, g.ty(4))))
    g.set_reg(2, 4, g.select(equal, g.reg(2, 4), b.trunc(b.lshr(old, g.const(32, 8)), g.ty(4))))
    zf = b.select(equal, g.const(H.ZF, 4), g.const(0, 4))
    g.set_arith_flags(b.or_(b.and_(g.arith_flags(), g.const(~H.ZF, 4)), zf))
