"""Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD (Intel SDM Vol. 2B).

The count is masked to 5 bits.  A zero masked count changes nothing (flags
included); with a count in CL that is a run-time choice, made with selects.
"""
from ...cpu import hflags as H
from ...frontend import tables as T
from .. import lazyflags as LF


def _count(g, insn, n):
    """(count as i32, static value or None)."""
    kind = T.FORM_KIND[insn.form.index, n]
    if kind == T.K_ONE:
        return g.const(1, 4), 1
    if kind == T.K_I:
        # the count is the first immediate (SHLD Ev,Gv,Ib too)
        c = g.known(insn.imm)
        if c is None:
            return g.b.and_(g.value(insn.imm, 4), g.const(0x1F, 4)), None
        return g.const(c & 0x1F, 4), c & 0x1F
    return g.b.and_(g.zext(g.reg(1, 1), 4), g.const(0x1F, 4)), None


def _shift(g, insn, kind):
    b = g.b
    size = g.operand_size(insn, 0)
    a = g.read(insn, 0)
    count, static = _count(g, insn, 1)
    if static == 0:
        return
    nonzero = b.icmp_unsigned("!=", count, g.const(0, 4))
    c1 = b.sub(count, g.const(1, 4))
    if kind == "shl":
        a32 = g.zext(a, 4)
        r32, src = b.shl(a32, count), b.shl(a32, c1)
        lk = LF.K_SHL
    elif kind == "shr":
        a32 = g.zext(a, 4)
        r32, src = b.lshr(a32, count), b.lshr(a32, c1)
        lk = LF.K_SAR
    else:
        a32 = g.sext(a, 4)
        r32, src = b.ashr(a32, count), b.ashr(a32, c1)
        lk = LF.K_SAR
    result = g.trunc(r32, size)
    if static is None:
        g.write(insn, 0, g.select(nonzero, result, a))
        g.set_flags_if(nonzero, lk, size, result, src)
    else:
        g.write(insn, 0, result)
        g.set_flags(lk, size, result, src)


def op_shl(g, insn):
    _shift(g, insn, "shl")


def op_sal(g, insn):
    _shift(g, insn, "shl")


def op_shr(g, insn):
    _shift(g, insn, "shr")


def op_sar(g, insn):
    _shift(g, insn, "sar")


def _top_bit(g, v, size):
    return g.b.icmp_unsigned("!=", g.b.and_(g.zext(v, 4), g.const(1 << (8 * size - 1), 4)), g.const(0, 4))


def _set_cf_of(g, cf, of, cond, static):
    """Replace CF and OF (other flags stay), when cond holds."""
    b = g.b
    old = g.arith_flags()
    new = b.or_(b.and_(old, g.const(~(H.CF | H.OF), 4)),
                b.or_(g.zext(cf, 4), b.shl(g.zext(of, 4), g.const(11, 4))))
    g.set_arith_flags(new if static is not None else g.select(cond, new, old))


def _rotate(g, insn, left):
    b = g.b
    size = g.operand_size(insn, 0)
    bits = 8 * size
    a = g.read(insn, 0)
    count, static = _count(g, insn, 1)
    if static == 0:
        return
    nonzero = b.icmp_unsigned("!=", count, g.const(0, 4))
    amount = g.trunc(b.and_(count, g.const(bits - 1, 4)), size)
    back = b.and_(b.sub(g.const(bits, size), amount), g.const(bits - 1, size))
    if left:
        result = b.or_(b.shl(a, amount), b.lshr(a, back))
        cf = b.trunc(result, g.bool(0).type)
        of = b.xor(_top_bit(g, result, size), cf)
    else:
        result = b.or_(b.lshr(a, amount), b.shl(a, back))
        cf = _top_bit(g, result, size)
        second = b.icmp_unsigned("!=", b.and_(g.zext(result, 4), g.const(1 << (bits - 2), 4)), g.const(0, 4))
        of = b.xor(cf, second)
    g.write(insn, 0, result if static is not None else g.select(nonzero, result, a))
    _set_cf_of(g, cf, of, nonzero, static)


def op_rol(g, insn):
    _rotate(g, insn, True)


def op_ror(g, insn):
    _rotate(g, insn, False)


def _rotate_carry(g, insn, left):
    """RCL/RCR rotate (CF:operand) as one (size+1)-bit value."""
    b = g.b
    i64 = g.ty(8)
    size = g.operand_size(insn, 0)
    bits = 8 * size
    a = g.read(insn, 0)
    count, static = _count(g, insn, 1)
    if size < 4:
        count = b.urem(count, g.const(bits + 1, 4))
        if static is not None:
            static %= bits + 1
    if static == 0:
        return
    nonzero = b.icmp_unsigned("!=", count, g.const(0, 4))
    c64 = b.zext(count, i64)
    wide = b.or_(b.shl(b.zext(g.flag("CF"), i64), g.const(bits, 8)), b.zext(a, i64))
    back = b.sub(g.const(bits + 1, 8), c64)
    if left:
        rot = b.or_(b.shl(wide, c64), b.lshr(wide, back))
    else:
        rot = b.or_(b.lshr(wide, c64), b.shl(wide, back))
    rot = b.and_(rot, g.const((1 << (bits + 1)) - 1, 8))
    result = b.trunc(rot, g.ty(size))
    cf = b.trunc(b.lshr(rot, g.const(bits, 8)), g.bool(0).type)
    top = _top_bit(g, result, size)
    if left:
        of = b.xor(top, cf)
    else:
        second = b.icmp_unsigned("!=", b.and_(g.zext(result, 4), g.const(1 << (bits - 2), 4)), g.const(0, 4))
        of = b.xor(top, second)
    g.write(insn, 0, result if static is not None else g.select(nonzero, result, a))
    _set_cf_of(g, cf, of, nonzero, static)


def op_rcl(g, insn):
    _rotate_carry(g, insn, True)


def op_rcr(g, insn):
    _rotate_carry(g, insn, False)


def _double_shift(g, insn, left):
    """SHLD/SHRD: shift the destination, filling from the source register.
    A count above the operand size (16-bit forms) leaves result and flags
    undefined (SDM); this computes what a 32-bit double shift gives."""
    b = g.b
    i64 = g.ty(8)
    size = g.operand_size(insn, 0)
    bits = 8 * size
    a = g.read(insn, 0)
    src = g.read(insn, 1, size)
    count, static = _count(g, insn, 2)
    if static == 0:
        return
    nonzero = b.icmp_unsigned("!=", count, g.const(0, 4))
    c64 = b.zext(count, i64)
    c1 = b.sub(c64, g.const(1, 8))
    if left:
        wide = b.or_(b.shl(b.zext(a, i64), g.const(bits, 8)), b.zext(src, i64))
        if size == 2:   # 16-bit SHLD: the source fills again beyond 16 (as QEMU)
            wide = b.or_(b.shl(wide, g.const(16, 8)), b.zext(src, i64))
            result = b.trunc(b.lshr(b.shl(wide, c64), g.const(32, 8)), g.ty(2))
            last = b.trunc(b.lshr(b.shl(wide, c1), g.const(32, 8)), g.ty(4))
        else:
            result = b.trunc(b.lshr(b.shl(wide, c64), g.const(bits, 8)), g.ty(size))
            last = b.trunc(b.lshr(b.shl(wide, c1), g.const(bits, 8)), g.ty(4))
        kind = LF.K_SHL
    else:
        wide = b.or_(b.shl(b.zext(src, i64), g.const(bits, 8)), b.zext(a, i64))
        if size == 2:
            wide = b.or_(wide, b.shl(b.zext(a, i64), g.const(32, 8)))
        result = b.trunc(b.lshr(wide, c64), g.ty(size))
        last = b.trunc(b.lshr(wide, c1), g.ty(4))
        kind = LF.K_SAR
    if static is None:
        g.write(insn, 0, g.select(nonzero, result, a))
        g.set_flags_if(nonzero, kind, size, result, last)
    else:
        g.write(insn, 0, result)
        g.set_flags(kind, size, result, last)


def op_shld(g, insn):
    _double_shift(g, insn, True)


def op_shrd(g, insn):
    _double_shift(g, insn, False)
