"""ADD ADC SUB SBB AND OR XOR CMP TEST INC DEC NEG NOT (Intel SDM Vol. 2)."""
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
