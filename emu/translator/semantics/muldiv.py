"""MUL IMUL DIV IDIV (Intel SDM Vol. 2A/2B).

Division checks come first: LLVM's division of a zero divisor, or of the
most negative value by -1, is undefined behaviour, and both are #DE here.
"""
from ...cpu.state import EAX, EDX
from ...cpu.vectors import Vector
from .. import lazyflags as LF


def _accumulator(g, size):
    """The implicit operand pair: AL / AX:DX / EAX:EDX."""
    return g.reg(EAX, size)


def _write_pair(g, size, low, high):
    if size == 1:
        g.set_reg(EAX, 2, g.b.or_(g.zext(low, 2), g.b.shl(g.zext(high, 2), g.const(8, 2))))
    else:
        g.set_reg(EAX, size, low)
        g.set_reg(EDX, size, high)


def _widening(g, insn, signed):
    b = g.b
    size = g.operand_size(insn, 0)
    wide = 2 * size
    src = g.read(insn, 0)
    ext = g.sext if signed else g.zext
    product = b.mul(ext(_accumulator(g, size), wide), ext(src, wide))
    low = g.trunc(product, size)
    high = g.trunc(b.lshr(product, g.const(8 * size, wide)), size)
    if signed:
        overflow = b.icmp_unsigned("!=", product, g.sext(low, wide))
    else:
        overflow = b.icmp_unsigned("!=", high, g.const(0, size))
    _write_pair(g, size, low, high)
    g.set_flags(LF.K_MUL, size, low, g.zext(overflow, 4))


def op_mul(g, insn):
    _widening(g, insn, False)


def op_imul(g, insn):
    n = len(insn.form.operands)
    if n == 1:
        _widening(g, insn, True)
        return
    b = g.b
    size = insn.opsize
    if n == 2:
        x, y = g.read(insn, 0), g.read(insn, 1, size)
    else:
        x, y = g.read(insn, 1, size), g.read(insn, 2, size)
    wide = 2 * size
    product = b.mul(g.sext(x, wide), g.sext(y, wide))
    low = g.trunc(product, size)
    overflow = b.icmp_unsigned("!=", product, g.sext(low, wide))
    g.set_reg(insn.reg, size, low)
    g.set_flags(LF.K_MUL, size, low, g.zext(overflow, 4))


def _dividend(g, size):
    if size == 1:
        return g.reg(EAX, 2)
    b = g.b
    wide = 2 * size
    return b.or_(b.shl(g.zext(g.reg(EDX, size), wide), g.const(8 * size, wide)), g.zext(g.reg(EAX, size), wide))


def op_div(g, insn):
    b = g.b
    size = g.operand_size(insn, 0)
    wide = 2 * size
    divisor = g.zext(g.read(insn, 0), wide)
    dividend = _dividend(g, size)
    g.fault_if(b.icmp_unsigned("==", divisor, g.const(0, wide)), Vector.DE)
    quotient = b.udiv(dividend, divisor)
    remainder = b.urem(dividend, divisor)
    g.fault_if(b.icmp_unsigned(">", quotient, g.const((1 << (8 * size)) - 1, wide)), Vector.DE)
    _write_pair(g, size, g.trunc(quotient, size), g.trunc(remainder, size))


def op_idiv(g, insn):
    b = g.b
    size = g.operand_size(insn, 0)
    wide = 2 * size
    divisor = g.sext(g.read(insn, 0), wide)
    dividend = _dividend(g, size)
    most_negative = g.const(1 << (16 * size - 1), wide)
    bad = b.or_(b.icmp_unsigned("==", divisor, g.const(0, wide)),
                b.and_(b.icmp_unsigned("==", divisor, g.const(-1, wide)),
                       b.icmp_unsigned("==", dividend, most_negative)))
    g.fault_if(bad, Vector.DE)
    quotient = b.sdiv(dividend, divisor)
    remainder = b.srem(dividend, divisor)
    lo, hi = -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    out = b.or_(b.icmp_signed("<", quotient, g.const(lo, wide)), b.icmp_signed(">", quotient, g.const(hi, wide)))
    g.fault_if(out, Vector.DE)
    _write_pair(g, size, g.trunc(quotient, size), g.trunc(remainder, size))
