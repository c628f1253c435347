"""Decimal arithmetic: DAA DAS AAA AAS AAM AAD (Intel SDM Vol. 2A pseudocode)."""
from ...cpu import hflags as H
from ...cpu.state import EAX
from ...cpu.vectors import Vector
from .. import lazyflags as LF


def _szp_bits(g, al):
    """SF ZF PF of an 8-bit result, as EFLAGS bits."""
    o = LF.Operands(LF.K_LOGIC, 1, g.zext(al, 4), g.const(0, 4), g.const(0, 4))
    return g.b.and_(LF.all_flags(g.b, o), g.const(H.SF | H.ZF | H.PF, 4))


def _bit(g, i1, flag):
    return g.b.select(i1, g.const(flag, 4), g.const(0, 4))


def _adjust(g, subtract):
    """DAA (add) or DAS (subtract)."""
    b = g.b
    al = g.reg(EAX, 1)
    cf = g.flag("CF")
    af = g.flag("AF")
    low_adjust = b.or_(b.icmp_unsigned(">", b.and_(al, g.const(0xF, 1)), g.const(9, 1)), af)
    if subtract:
        al1 = b.select(low_adjust, b.sub(al, g.const(6, 1)), al)
        borrow = b.icmp_unsigned("<", al, g.const(6, 1))
        cf1 = b.select(low_adjust, b.or_(cf, borrow), cf)
    else:
        al1 = b.select(low_adjust, b.add(al, g.const(6, 1)), al)
        carry = b.icmp_unsigned(">", al, g.const(0xF9, 1))
        cf1 = b.select(low_adjust, b.or_(cf, carry), cf)
    high_adjust = b.or_(b.icmp_unsigned(">", al, g.const(0x99, 1)), cf)
    if subtract:
        al2 = b.select(high_adjust, b.sub(al1, g.const(0x60, 1)), al1)
        cf2 = b.or_(high_adjust, cf1)
    else:
        al2 = b.select(high_adjust, b.add(al1, g.const(0x60, 1)), al1)
        cf2 = high_adjust
    g.set_reg(EAX, 1, al2)
    bits = b.or_(_szp_bits(g, al2), b.or_(_bit(g, cf2, H.CF), _bit(g, low_adjust, H.AF)))
    g.set_arith_flags(bits)


def op_daa(g, insn):
    _adjust(g, False)


def op_das(g, insn):
    _adjust(g, True)


def _ascii_adjust(g, subtract):
    """AAA / AAS: adjust AX after an unpacked-BCD add or subtract."""
    b = g.b
    ax = g.reg(EAX, 2)
    al = g.trunc(ax, 1)
    adjust = b.or_(b.icmp_unsigned(">", b.and_(al, g.const(0xF, 1)), g.const(9, 1)), g.flag("AF"))
    if subtract:
        # AX - 6, then AH - 1 (SDM Vol. 2A AAS)
        moved = b.sub(b.sub(ax, g.const(6, 2)), g.const(0x100, 2))
    else:
        moved = b.add(ax, g.const(0x106, 2))
    new = b.and_(b.select(adjust, moved, ax), g.const(0xFF0F, 2))
    g.set_reg(EAX, 2, new)
    g.set_arith_flags(b.or_(_bit(g, adjust, H.CF), _bit(g, adjust, H.AF)))


def op_aaa(g, insn):
    _ascii_adjust(g, False)


def op_aas(g, insn):
    _ascii_adjust(g, True)


def op_aam(g, insn):
    b = g.b
    base = g.const(g.low(insn.imm, 1), 1)
    known = g.known(insn.imm)
    if known is not None and known & 0xFF == 0:
        g.raise_now(Vector.DE)
        return
    if known is None:
        g.fault_if(b.icmp_unsigned("==", base, g.const(0, 1)), Vector.DE)
    al = g.reg(EAX, 1)
    ah = b.udiv(al, base)
    al2 = b.urem(al, base)
    g.set_reg(EAX, 2, b.or_(g.zext(al2, 2), b.shl(g.zext(ah, 2), g.const(8, 2))))
    g.set_flags(LF.K_LOGIC, 1, al2)


def op_aad(g, insn):
    b = g.b
    al = g.reg(EAX, 1)
    ah = g.reg(EAX + 4, 1)
    al2 = b.add(al, b.mul(ah, g.const(g.low(insn.imm, 1), 1)))
    g.set_reg(EAX, 2, g.zext(al2, 2))
    g.set_flags(LF.K_LOGIC, 1, al2)
