"""PUSH POP PUSHA POPA PUSHF POPF ENTER LEAVE (Intel SDM Vol. 2)."""
from ...cpu import hflags as H
from ...cpu.state import EBP, ESP, SS
from ...cpu.vectors import Vector
from ...frontend import tables as T
from .data import ss_shadow
from .segload import load_segment


def op_push(g, insn):
    kind = T.FORM_KIND[insn.form.index, 0]
    size = insn.opsize
    if kind in (T.K_SEG,):
        # a segment register is pushed zero-extended to the operand size
        g.push(g.zext(g.read(insn, 0), size))
    else:
        g.push(g.read(insn, 0, size))


def op_pop(g, insn):
    kind = T.FORM_KIND[insn.form.index, 0]
    size = insn.opsize
    if kind == T.K_SEG:
        value, new_sp = g.pop(size, commit_sp=False)
        seg = int(T.FORM_EXTRA[insn.form.index, 0])
        load_segment(g, seg, g.trunc(value, 2))
        g.set_reg(ESP, g.sp_size(), new_sp)
        if seg == SS:
            ss_shadow(g)
        return
    value, new_sp = g.pop(size, commit_sp=False)
    if g.is_memory(insn, 0):
        # SDM: with ESP as base, the address is computed after the increment
        g.set_reg(ESP, g.sp_size(), new_sp)
        g.write(insn, 0, value)
    else:
        g.set_reg(ESP, g.sp_size(), new_sp)
        g.write(insn, 0, value)              # POP ESP: the popped value wins


def op_pusha(g, insn):
    size = insn.opsize
    sp_before = g.reg(ESP, size)
    for r in range(8):
        g.push(sp_before if r == ESP else g.reg(r, size))


def op_popa(g, insn):
    size = insn.opsize
    values = {}
    for k, r in enumerate(reversed(range(8))):
        values[r] = g.stack_read(k * size, size)
    for r in range(8):
        if r != ESP:
            g.set_reg(r, size, values[r])
    sps = g.sp_size()
    g.set_reg(ESP, sps, g.b.add(g.reg(ESP, sps), g.const(8 * size, sps)))


def op_pushf(g, insn):
    if g.vm:
        _vm86_iopl_check(g)
    # the pushed image has VM and RF cleared
    value = g.b.and_(g.eflags(), g.const(~(H.VM | H.RF), 4))
    g.push(g.trunc(value, insn.opsize))


def _vm86_iopl_check(g):
    """SDM Vol. 3A 20.2.7: PUSHF/POPF in virtual-8086 mode with IOPL < 3 raise #GP(0)."""
    iopl = g.b.and_(g.eflags_rest(), g.const(H.IOPL_MASK, 4))
    g.fault_if(g.b.icmp_unsigned("!=", iopl, g.const(H.IOPL_MASK, 4)), Vector.GP, 0)


def op_popf(g, insn):
    """POPF: which flags change depends on CPL and IOPL (SDM Vol. 2B POPF)."""
    size = insn.opsize
    if g.vm:
        _vm86_iopl_check(g)
    value, new_sp = g.pop(size, commit_sp=False)
    value = g.zext(value, 4)
    mask = H.ARITH_FLAGS | H.TF | H.DF | H.NT
    if size == 4:
        mask |= H.AC | H.ID
    if g.vm:
        mask |= H.IF                         # IOPL is 3 here (checked above); IOPL stays
        g.set_eflags(value, mask)
    elif g.cpl == 0:
        mask |= H.IOPL_MASK | H.IF
        if size == 4:
            mask &= ~(H.VIF | H.VIP)
        g.set_eflags(value, mask)
    else:
        g.set_eflags(value, mask)
        # IF changes only when CPL <= IOPL
        b = g.b
        old = g.eflags_rest()
        iopl = b.lshr(b.and_(old, g.const(H.IOPL_MASK, 4)), g.const(12, 4))
        allowed = b.icmp_unsigned(">=", iopl, g.const(g.cpl, 4))
        new_if = b.and_(value, g.const(H.IF, 4))
        old_if = b.and_(old, g.const(H.IF, 4))
        merged = b.or_(b.and_(old, g.const(~H.IF, 4)), b.select(allowed, new_if, old_if))
        g.set_eflags_rest(merged)
    g.set_reg(ESP, g.sp_size(), new_sp)
    g.after_eflags_change()
    g.jump_indirect(g.const(insn.next_eip, 4))    # TF may have changed the mode


def op_enter(g, insn):
    """ENTER alloc, level (SDM Vol. 2A ENTER).

    FrameTemp is the stack pointer at the operand size: with a 32-bit
    operand on a 16-bit stack it is the whole ESP (its upper half and SP),
    which EBP receives and the last level pushes; SP alone then moves."""
    b = g.b
    size = insn.opsize
    sps = g.sp_size()
    alloc = g.low(insn.imm, 2)
    level = insn.imm2 & 31              # the frame's shape: a stencil's variant fixes it
    g.push(g.reg(EBP, size))
    frame = g.reg(ESP, size)
    if level > 0:
        bp = g.reg(EBP, sps)
        for _ in range(1, level):
            bp = b.sub(bp, g.const(size, sps))
            g.push(g.load(2, g.zext(bp, 4), size))
        g.push(frame)
    g.set_reg(EBP, size, frame)
    g.set_reg(ESP, sps, b.sub(g.reg(ESP, sps), g.const(alloc, sps)))


def op_leave(g, insn):
    size = insn.opsize
    sps = g.sp_size()
    bp = g.reg(EBP, sps)
    value = g.load(2, g.zext(bp, 4), size)
    g.set_reg(ESP, sps, g.b.add(bp, g.const(size, sps)))
    g.set_reg(EBP, size, value)

