"""Interrupt and exception delivery: IVT in real mode, IDT gates in protected
mode (Intel SDM Vol. 3A 6.12 and Vol. 2A INT n pseudocode), with the double
fault rules of SDM Vol. 3A 6.15 (Table 6-5) and triple fault."""
from ...cpu import hflags as H
from ...cpu import descriptors as D
from ...cpu.faults import GuestFault
from ...cpu.state import CS, DS, ES, EXC_INT1, EXC_INT_N, FS, GS, SS
from ...cpu.vectors import Vector
from . import tasks
from .common import GuestStack, set_eflags
from .far import inner_stack

# SDM Vol. 3A 6.15 Table 6-4
_CONTRIBUTORY = {Vector.DE, Vector.TS, Vector.NP, Vector.SS, Vector.GP}


class TripleFault(Exception):
    """An exception while delivering a double fault: the CPU shuts down."""


def _class(vector):
    if vector in _CONTRIBUTORY:
        return "contributory"
    if vector == Vector.PF:
        return "page fault"
    if vector == Vector.DF:
        return "double fault"
    return "benign"


def raise_event(m, vector, error=None, soft=False, external=False):
    """Deliver an exception, software or hardware interrupt at the current EIP
    (a fault's own EIP, the next one for INT n), escalating to #DF and to
    triple fault as the SDM says.  Raises TripleFault.

    For a software interrupt, cpu.exc_addr holds the INT instruction's EIP:
    a fault while delivering it (a gate DPL below CPL, a not-present gate, a
    stack fault...) belongs to the INT instruction, so it is reported with
    that EIP, as for any other faulting instruction (SDM Vol. 3A 6.12.1.1)."""
    # SDM Vol. 3A 6.15 Table 6-5 classifies exceptions only: an INT n or a
    # hardware interrupt whose delivery faults is benign whatever its vector
    # (INT 8 faulting is no double fault, INT 13 faulting no #DF either)
    first = "benign" if soft or external else _class(vector)
    # SDM Vol. 3A 6.13: the EXT bit of an error code is set when the fault
    # happened while delivering an interrupt or an earlier exception, clear
    # while delivering INT n / INT3 / INTO
    ext = not soft or bool(m.cpu.exc_flags & EXC_INT1)
    insn_eip = m.cpu.exc_addr if soft else None
    while True:
        if m.log is not None and m.log.enabled("int"):
            m.log_interrupt(vector, error, soft, external)
        try:
            deliver(m, vector, error, soft, ext)
            return
        except GuestFault as f:
            if first == "double fault":
                raise TripleFault() from None
            second = _class(f.vector)
            if (first == "contributory" and second == "contributory") or (
                    first == "page fault" and second in ("contributory", "page fault")):
                vector, error = Vector.DF, 0
            else:
                vector, error = f.vector, f.error
            if f.vector == Vector.PF and f.address is not None:
                m.cpu.cr[2] = f.address
            if soft:
                m.cpu.eip = insn_eip
            first = _class(vector)
            soft = external = False
            ext = True


def deliver(m, vector, error, soft, ext):
    cpu = m.cpu
    if not cpu.cr[0] & H.CR0_PE:
        _deliver_real(m, vector)
        return
    eflags = m.eflags()
    vm = bool(eflags & H.VM)
    if vm and soft and cpu.exc_flags & EXC_INT_N and (eflags >> 12) & 3 != 3:
        raise GuestFault(Vector.GP, 0)      # INT n (not INT3/INTO) in v86 mode with IOPL < 3 (no VME)
    gate_err = vector * 8 + 2 + (1 if ext else 0)
    if vector * 8 + 7 > cpu.idtr.limit:
        raise GuestFault(Vector.GP, gate_err)
    addr = (cpu.idtr.base + vector * 8) & 0xFFFFFFFF
    gate = D.Descriptor(m.mem.read_u32(addr), m.mem.read_u32(addr + 4))
    if gate.s or gate.type not in (D.T_TASK, D.T_INT16, D.T_TRAP16, D.T_INT32, D.T_TRAP32):
        raise GuestFault(Vector.GP, gate_err)
    cpl = cpu.hflags & H.HF_CPL_MASK
    if soft and gate.dpl < cpl and not cpu.exc_flags & EXC_INT1:
        raise GuestFault(Vector.GP, vector * 8 + 2)
    if not gate.present:
        raise GuestFault(Vector.NP, gate_err)
    if gate.type == D.T_TASK:
        tasks.switch(m, gate.gate_selector, tasks.INT, None, error)
        return
    cs = gate.gate_selector
    if (cs & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 1 if ext else 0)
    cd = D.fetch(m, cs, Vector.GP, ext)
    if not cd.is_code or cd.dpl > cpl:
        raise GuestFault(Vector.GP, D.selector_error(cs, ext))
    if not cd.present:
        raise GuestFault(Vector.NP, D.selector_error(cs, ext))
    size = 4 if gate.type in (D.T_INT32, D.T_TRAP32) else 2
    eip = gate.gate_offset
    if eip > cd.limit:
        raise GuestFault(Vector.GP, 1 if ext else 0)
    old_cs, old_eip = cpu.seg[CS].selector, cpu.eip & 0xFFFFFFFF
    if not cd.conforming and cd.dpl < cpl:
        new_cpl = cd.dpl
        if vm and new_cpl != 0:
            raise GuestFault(Vector.GP, D.selector_error(cs, ext))
        ss, sd, esp = inner_stack(m, new_cpl, ext)
        st = GuestStack(m, sd.base, esp, sd.big, new_cpl == 3)
        if vm:
            for seg in (GS, FS, DS, ES):
                st.push(cpu.seg[seg].selector, size)
        st.push(cpu.seg[SS].selector, size)
        st.push(cpu.regs[4] & 0xFFFFFFFF, size)
        _push_frame(st, eflags, old_cs, old_eip, error, size)
        D.set_accessed(m, sd)
        D.load_cache(m, SS, ss, sd)
        cpu.regs[4] = st.esp_value(esp)
        if vm:
            for seg in (GS, FS, DS, ES):
                D.load_null(m, seg, 0)
    else:
        if vm:
            raise GuestFault(Vector.GP, D.selector_error(cs, ext))
        new_cpl = cpl
        st = GuestStack.current(m)
        _push_frame(st, eflags, old_cs, old_eip, error, size)
        st.commit()
    D.set_accessed(m, cd)
    D.load_cache(m, CS, (cs & 0xFFFC) | new_cpl, cd)
    cpu.eip = eip
    clear = H.TF | H.NT | H.RF | H.VM
    if gate.type in (D.T_INT16, D.T_INT32):
        clear |= H.IF
    set_eflags(m, 0, clear)
    m.update_hflags()


def _push_frame(st, eflags, cs, eip, error, size):
    st.push(eflags, size)
    st.push(cs, size)
    st.push(eip, size)
    if error is not None:
        st.push(error, size)


def _deliver_real(m, vector):
    """Real mode: the IVT at IDTR.base, 4 bytes a vector; FLAGS, CS, IP pushed."""
    cpu = m.cpu
    if vector * 4 + 3 > cpu.idtr.limit:
        raise GuestFault(Vector.GP, 0)
    entry = m.mem.read_u32((cpu.idtr.base + vector * 4) & 0xFFFFFFFF)
    st = GuestStack.current(m)
    st.push(m.eflags() & 0xFFFF, 2)
    st.push(cpu.seg[CS].selector, 2)
    st.push(cpu.eip & 0xFFFF, 2)
    st.commit()
    set_eflags(m, 0, H.IF | H.TF | H.AC | H.RF)
    D.load_real_mode(m, CS, entry >> 16)
    cpu.eip = entry & 0xFFFF
    m.update_hflags()
