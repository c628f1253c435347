"""Near control transfers: JMP CALL RET Jcc LOOP/LOOPE/LOOPNE JCXZ (Intel SDM Vol. 2).

Far transfers (JMP/CALL/RET far, IRET) need descriptor checks and live in
Python helpers (emu/translator/helpers/far.py).
"""
from ...cpu.state import ECX, ESP
from ...frontend import tables as T


def op_jmp(g, insn):
    if T.FORM_KIND[insn.form.index, 0] == T.K_J:
        g.jump(insn.imm)
    else:
        g.jump_indirect(g.zext(g.read(insn, 0), 4))


def op_jcc(g, insn):
    g.branch(g.cond(insn.opreg), insn.imm, insn.next_eip)


def op_call(g, insn):
    size = insn.opsize
    ret_addr = g.const(g.low(insn.next_eip, size), size)
    if T.FORM_KIND[insn.form.index, 0] == T.K_J:
        g.push(ret_addr)
        g.jump(insn.imm)
    else:
        target = g.zext(g.read(insn, 0), 4)
        g.push(ret_addr)
        g.jump_indirect(target)


def op_ret(g, insn):
    size = insn.opsize
    target, new_sp = g.pop(size, commit_sp=False)
    sps = g.sp_size()
    if insn.form.operands:                      # RET imm16: release imm16 more bytes
        new_sp = g.b.add(new_sp, g.const(g.low(insn.imm, 2), sps))
    g.set_reg(ESP, sps, new_sp)
    g.jump_indirect(g.zext(target, 4))


def _loop(g, insn, zf_wanted):
    asz = insn.addrsize
    count = g.b.sub(g.reg(ECX, asz), g.const(1, asz))
    g.set_reg(ECX, asz, count)
    cond = g.b.icmp_unsigned("!=", count, g.const(0, asz))
    if zf_wanted is not None:
        zf = g.flag("ZF")
        cond = g.b.and_(cond, zf if zf_wanted else g.b.not_(zf))
    g.branch(cond, insn.imm, insn.next_eip)


def op_loop(g, insn):
    _loop(g, insn, None)


def op_loope(g, insn):
    _loop(g, insn, True)


def op_loopne(g, insn):
    _loop(g, insn, False)


def op_jcxz(g, insn):
    asz = insn.addrsize
    g.branch(g.b.icmp_unsigned("==", g.reg(ECX, asz), g.const(0, asz)), insn.imm, insn.next_eip)


def op_jmpf(g, insn):
    if T.FORM_KIND[insn.form.index, 0] == T.K_A:
        sel, off = g.const(insn.imm2, 4), g.const(insn.imm, 4)
    else:
        off, sel = _far_pointer(g, insn)
    g.call_python("helper_far_jump", sel, off, _size_and_return(g, insn))
    g.jump_indirect_from_state()


def op_callf(g, insn):
    if T.FORM_KIND[insn.form.index, 0] == T.K_A:
        sel, off = g.const(insn.imm2, 4), g.const(insn.imm, 4)
    else:
        off, sel = _far_pointer(g, insn)
    g.call_python("helper_far_call", sel, off, _size_and_return(g, insn))
    g.jump_indirect_from_state()


def op_retf(g, insn):
    release = g.low(insn.imm, 2) if insn.form.operands else 0
    g.call_python("helper_far_return", g.const(insn.opsize, 4), g.const(release, 4))
    g.jump_indirect_from_state()


def op_iret(g, insn):
    g.call_python("helper_iret", g.const(insn.opsize, 4), g.const(insn.next_eip, 4))
    g.jump_indirect_from_state()


def _size_and_return(g, insn):
    """The far helpers' third argument: operand size | return EIP << 8."""
    ret = g.known(insn.next_eip)
    if ret is not None:
        return g.const(insn.opsize | ret << 8, 8)
    b = g.b
    return b.or_(b.shl(g.value(insn.next_eip, 8), g.const(8, 8)), g.const(insn.opsize, 8))


def _far_pointer(g, insn):
    """A far pointer m16:16 / m16:32 in memory: (offset, selector)."""
    size = insn.opsize
    off = g.ea(insn)
    value = g.zext(g.load(insn.seg, off, size), 4)
    sel = g.load(insn.seg, g.addr_mask(g.b.add(off, g.const(size, 4)), insn.addrsize), 2)
    return value, g.zext(sel, 4)
