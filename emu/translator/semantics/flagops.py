"""Flag instructions and flag readers: CLC STC CMC CLD STD CLI STI LAHF SAHF SETcc CMOVcc."""
from ...cpu import hflags as H
from ...cpu.state import EAX
from ...cpu.vectors import Vector


def _set_cf(g, value_i1):
    bits = g.b.and_(g.arith_flags(), g.const(~H.CF, 4))
    g.set_arith_flags(g.b.or_(bits, g.zext(value_i1, 4)))


def op_clc(g, insn):
    _set_cf(g, g.bool(False))


def op_stc(g, insn):
    _set_cf(g, g.bool(True))


def op_cmc(g, insn):
    _set_cf(g, g.b.not_(g.flag("CF")))


def op_cld(g, insn):
    g.set_eflags_rest(g.b.and_(g.eflags_rest(), g.const(~H.DF, 4)))


def op_std(g, insn):
    g.set_eflags_rest(g.b.or_(g.eflags_rest(), g.const(H.DF, 4)))


def _may_change_if(g):
    """CLI/STI are allowed when CPL <= IOPL (SDM Vol. 2A CLI); #GP(0) otherwise.
    Virtual-8086 mode has no VME here, so the same rule applies with CPL 3."""
    if g.pe and g.cpl > 0:
        b = g.b
        iopl = b.lshr(b.and_(g.eflags_rest(), g.const(H.IOPL_MASK, 4)), g.const(12, 4))
        g.fault_if(b.icmp_unsigned("<", iopl, g.const(g.cpl, 4)), Vector.GP, 0)


def op_cli(g, insn):
    _may_change_if(g)
    g.set_eflags_rest(g.b.and_(g.eflags_rest(), g.const(~H.IF, 4)))


def op_sti(g, insn):
    """STI; interrupts are recognised after the next instruction (the STI
    shadow), so the block ends and the run loop is told (helpers/interrupts.py)."""
    _may_change_if(g)
    g.set_eflags_rest(g.b.or_(g.eflags_rest(), g.const(H.IF, 4)))
    g.commit_for_exit()
    g.after_sti()


def op_lahf(g, insn):
    g.set_reg(EAX + 4, 1, g.trunc(g.eflags(), 1))       # AH = SF ZF 0 AF 0 PF 1 CF


def op_sahf(g, insn):
    g.set_eflags(g.zext(g.reg(EAX + 4, 1), 4), H.CF | H.PF | H.AF | H.ZF | H.SF)


def op_setcc(g, insn):
    g.write(insn, 0, g.zext(g.cond(insn.opreg), 1))


def op_cmovcc(g, insn):
    """CMOVcc: the source is read (and may fault) whatever the condition; with a
    32-bit operand the destination is written (zero-extended) even when false."""
    size = insn.opsize
    src = g.read(insn, 1, size)
    old = g.reg(insn.reg, size)
    g.set_reg(insn.reg, size, g.select(g.cond(insn.opreg), src, old))
