"""String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE.

One iteration per pass; a repeated instruction ends its block and jumps back
to itself until the count runs out (or ZF ends a REPE/REPNE), so interrupts
and the instruction budget are checked between iterations, and a fault in the
middle leaves ECX/ESI/EDI at the iteration that faulted, as the SDM says.
"""
from ...cpu import hflags as H
from ...cpu.state import EAX, ECX, EDI, ES, ESI
from ...frontend import tables as T
from .. import lazyflags as LF
from .system import io_permission


def _step(g, size):
    """+size or -size by EFLAGS.DF, as an i32."""
    return g.select(g.eflags_bit(H.DF), g.const(-size, 4), g.const(size, 4))


def _advance(g, insn, reg, step):
    asz = insn.addrsize
    g.set_reg(reg, asz, g.b.add(g.reg(reg, asz), g.trunc(step, asz)))


def _addr(g, insn, reg):
    return g.zext(g.reg(reg, insn.addrsize), 4)


def _size(g, insn):
    kinds = T.FORM_KIND[insn.form.index]
    for n, k in enumerate(kinds):
        if k in (T.K_X, T.K_Y):
            return g.operand_size(insn, n)
    raise AssertionError(insn)


def _repeat(g, insn, body):
    asz = insn.addrsize
    if not insn.rep:
        body()
        return
    count = g.reg(ECX, asz)
    g.exit_if(g.b.icmp_unsigned("==", count, g.const(0, asz)), insn.next_eip)
    body()
    left = g.b.sub(count, g.const(1, asz))
    g.set_reg(ECX, asz, left)
    done = g.b.icmp_unsigned("==", left, g.const(0, asz))
    if insn.form.has(T.A_REPCC):
        zf = g.flag("ZF")
        # REPE (F3) continues while ZF = 1, REPNE (F2) while ZF = 0
        stop_on = g.b.not_(zf) if insn.rep == T.REP_E else zf
        done = g.b.or_(done, stop_on)
    g.branch(done, insn.next_eip, insn.eip)


def op_movs(g, insn):
    size = _size(g, insn)

    def body():
        step = _step(g, size)
        v = g.load(insn.seg, _addr(g, insn, ESI), size)
        g.store(ES, _addr(g, insn, EDI), size, v)
        _advance(g, insn, ESI, step)
        _advance(g, insn, EDI, step)
    _repeat(g, insn, body)


def op_stos(g, insn):
    size = _size(g, insn)

    def body():
        g.store(ES, _addr(g, insn, EDI), size, g.reg(EAX, size))
        _advance(g, insn, EDI, _step(g, size))
    _repeat(g, insn, body)


def op_lods(g, insn):
    size = _size(g, insn)

    def body():
        v = g.load(insn.seg, _addr(g, insn, ESI), size)
        g.set_reg(EAX, size, v)
        _advance(g, insn, ESI, _step(g, size))
    _repeat(g, insn, body)


def op_cmps(g, insn):
    size = _size(g, insn)

    def body():
        step = _step(g, size)
        a = g.load(insn.seg, _addr(g, insn, ESI), size)
        b = g.load(ES, _addr(g, insn, EDI), size)
        g.set_flags(LF.K_SUB, size, g.b.sub(a, b), b)
        _advance(g, insn, ESI, step)
        _advance(g, insn, EDI, step)
    _repeat(g, insn, body)


def op_scas(g, insn):
    size = _size(g, insn)

    def body():
        a = g.reg(EAX, size)
        b = g.load(ES, _addr(g, insn, EDI), size)
        g.set_flags(LF.K_SUB, size, g.b.sub(a, b), b)
        _advance(g, insn, EDI, _step(g, size))
    _repeat(g, insn, body)


def op_ins(g, insn):
    size = _size(g, insn)

    def body():
        port = g.zext(g.reg(2, 2), 4)
        io_permission(g, port, size)
        # SDM: the destination is checked before the port is read; a store
        # fault after the read would lose the byte, so probe it first
        addr = _addr(g, insn, EDI)
        g.store(ES, addr, size, g.load(ES, addr, size))
        g.store(ES, addr, size, g.io_read(port, size))
        _advance(g, insn, EDI, _step(g, size))
    _repeat(g, insn, body)


def op_outs(g, insn):
    size = _size(g, insn)

    def body():
        port = g.zext(g.reg(2, 2), 4)
        io_permission(g, port, size)
        v = g.load(insn.seg, _addr(g, insn, ESI), size)
        g.io_write(port, size, v)
        _advance(g, insn, ESI, _step(g, size))
    _repeat(g, insn, body)
