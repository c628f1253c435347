"""Far control transfers: JMP/CALL far (incl. call gates and task switches), RET far, IRET.

Python implementations of the Intel SDM Vol. 2 pseudocode (JMP, CALL, RET,
IRET) and Vol. 3A 5.8 (privilege level changes through call gates).
"""
from ...cpu import hflags as H
from ...cpu import descriptors as D
from ...cpu.faults import GuestFault
from ...cpu.state import CS, DS, ES, ESP, FS, GS, SS
from ...cpu.vectors import Vector
from ..callbacks import python_helper
from ..exits import HELPER_OK
from .common import GuestStack, set_eflags
from . import tasks


def _protected(m):
    cpu = m.cpu
    return cpu.cr[0] & H.CR0_PE and not cpu.eflags & H.VM


def _real_transfer(m, sel, off, opsize):
    D.load_real_mode(m, CS, sel)
    m.cpu.eip = off & (0xFFFFFFFF if opsize == 4 else 0xFFFF)
    m.update_hflags()


def _check_code_target(d, sel, cpl, for_call_gate=False):
    """JMP/CALL to a code segment (SDM: conforming DPL <= CPL, else RPL <= CPL and DPL == CPL)."""
    if not d.is_code:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    if d.conforming:
        if d.dpl > cpl:
            raise GuestFault(Vector.GP, D.selector_error(sel))
    elif (not for_call_gate and (sel & 3) > cpl) or d.dpl != cpl:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    if not d.present:
        raise GuestFault(Vector.NP, D.selector_error(sel))


def _enter_code(m, sel, d, eip, cpl):
    if eip > d.limit:
        raise GuestFault(Vector.GP, 0)
    D.set_accessed(m, d)
    D.load_cache(m, CS, (sel & 0xFFFC) | cpl, d)
    m.cpu.eip = eip
    m.update_hflags()


def _gate_target(m, gate):
    """The code segment a call gate points to."""
    tsel = gate.gate_selector
    if (tsel & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 0)
    td = D.fetch(m, tsel)
    if not td.is_code or td.dpl > D.cpl(m):
        raise GuestFault(Vector.GP, D.selector_error(tsel))
    if not td.present:
        raise GuestFault(Vector.NP, D.selector_error(tsel))
    return tsel, td


def _check_gate(m, d, sel):
    cpl = D.cpl(m)
    if d.dpl < cpl or d.dpl < (sel & 3):
        raise GuestFault(Vector.GP, D.selector_error(sel))
    if not d.present:
        raise GuestFault(Vector.NP, D.selector_error(sel))


@python_helper
def helper_far_jump(m, sel, off, packed):
    opsize, next_eip = packed & 0xFF, packed >> 8
    if not _protected(m):
        _real_transfer(m, sel, off, opsize)
        return HELPER_OK
    if (sel & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 0)
    d = D.fetch(m, sel)
    cpl = D.cpl(m)
    off &= 0xFFFFFFFF if opsize == 4 else 0xFFFF
    if d.s:
        _check_code_target(d, sel, cpl)
        _enter_code(m, sel, d, off, cpl)
    elif d.type in (D.T_CALL16, D.T_CALL32):
        _check_gate(m, d, sel)
        tsel, td = _gate_target(m, d)
        if not td.conforming and td.dpl != cpl:
            raise GuestFault(Vector.GP, D.selector_error(tsel))
        _enter_code(m, tsel, td, d.gate_offset, cpl)
    elif d.type == D.T_TASK:
        _check_gate(m, d, sel)
        tasks.switch(m, d.gate_selector, tasks.JMP, next_eip)
    elif d.type in (D.T_TSS16, D.T_TSS32):
        _check_gate(m, d, sel)
        tasks.switch(m, sel, tasks.JMP, next_eip)
    else:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    return HELPER_OK


def inner_stack(m, new_cpl, ext=False):
    """SS:ESP for privilege level new_cpl from the current TSS, checked (SDM Vol. 3A 6.12.1)."""
    cpu = m.cpu
    tr = cpu.tr
    is32 = (tr.flags >> 8) & 0xF in (D.T_TSS32, D.T_TSS32_BUSY)
    if is32:
        pos = 4 + 8 * new_cpl
        if pos + 5 > tr.limit:
            raise GuestFault(Vector.TS, D.selector_error(tr.selector, ext))
        esp = m.mem.read_u32(tr.base + pos)
        ss = m.mem.read_u16(tr.base + pos + 4)
    else:
        pos = 2 + 4 * new_cpl
        if pos + 3 > tr.limit:
            raise GuestFault(Vector.TS, D.selector_error(tr.selector, ext))
        esp = m.mem.read_u16(tr.base + pos)
        ss = m.mem.read_u16(tr.base + pos + 2)
    if (ss & 0xFFFC) == 0:
        raise GuestFault(Vector.TS, D.selector_error(ss, ext))
    sd = D.fetch(m, ss, Vector.TS, ext)
    if (ss & 3) != new_cpl or sd.dpl != new_cpl or not sd.writable:
        raise GuestFault(Vector.TS, D.selector_error(ss, ext))
    if not sd.present:
        raise GuestFault(Vector.SS, D.selector_error(ss, ext))
    return ss, sd, esp


@python_helper
def helper_far_call(m, sel, off, packed):
    opsize, next_eip = packed & 0xFF, packed >> 8
    cpu = m.cpu
    if not _protected(m):
        st = GuestStack.current(m)
        st.push(cpu.seg[CS].selector, opsize)
        st.push(next_eip, opsize)
        st.commit()
        _real_transfer(m, sel, off, opsize)
        return HELPER_OK
    if (sel & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 0)
    d = D.fetch(m, sel)
    cpl = D.cpl(m)
    if d.s:
        _check_code_target(d, sel, cpl)
        off &= 0xFFFFFFFF if opsize == 4 else 0xFFFF
        if off > d.limit:
            raise GuestFault(Vector.GP, 0)
        st = GuestStack.current(m)
        st.push(cpu.seg[CS].selector, opsize)
        st.push(next_eip, opsize)
        _enter_code(m, sel, d, off, cpl)
        st.commit()
        return HELPER_OK
    if d.type in (D.T_TASK, D.T_TSS16, D.T_TSS32):
        _check_gate(m, d, sel)
        tasks.switch(m, d.gate_selector if d.type == D.T_TASK else sel, tasks.CALL, next_eip)
        return HELPER_OK
    if d.type not in (D.T_CALL16, D.T_CALL32):
        raise GuestFault(Vector.GP, D.selector_error(sel))
    _check_gate(m, d, sel)
    tsel, td = _gate_target(m, d)
    size = 4 if d.type == D.T_CALL32 else 2
    eip = d.gate_offset
    if eip > td.limit:
        raise GuestFault(Vector.GP, 0)
    if not td.conforming and td.dpl < cpl:
        # more privileged: switch to the inner stack, copy the parameters
        new_cpl = td.dpl
        ss, sd, esp = inner_stack(m, new_cpl)
        old = GuestStack.current(m)
        params = [old.peek(size * k, size) for k in range(d.param_count)]
        new = GuestStack(m, sd.base, esp, sd.big, new_cpl == 3)
        new.push(cpu.seg[SS].selector, size)
        new.push(cpu.regs[ESP] & 0xFFFFFFFF, size)
        for v in reversed(params):
            new.push(v, size)
        new.push(cpu.seg[CS].selector, size)
        new.push(next_eip, size)
        D.set_accessed(m, sd)
        D.load_cache(m, SS, ss, sd)
        cpu.regs[ESP] = new.esp_value(esp)
        D.set_accessed(m, td)
        D.load_cache(m, CS, (tsel & 0xFFFC) | new_cpl, td)
        cpu.eip = eip
        m.update_hflags()
        return HELPER_OK
    st = GuestStack.current(m)
    st.push(cpu.seg[CS].selector, size)
    st.push(next_eip, size)
    _enter_code(m, tsel, td, eip, cpl)
    st.commit()
    return HELPER_OK


def null_outer_segments(m, new_cpl):
    """Returning to an outer level: data segments the new CPL may not use
    become null (SDM Vol. 2B RET, 'FOR each SegReg in (ES, FS, GS, DS)')."""
    cpu = m.cpu
    for seg in (ES, FS, GS, DS):
        c = cpu.seg[seg]
        code = c.flags & H.DESC_CODE
        conforming = code and c.flags & H.DESC_CONFORMING
        dpl = (c.flags >> H.DESC_DPL_SHIFT) & 3
        if (not code or not conforming) and dpl < new_cpl:
            D.load_null(m, seg, 0)


def _return_target(m, cs, cpl):
    if (cs & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 0)
    d = D.fetch(m, cs)
    rpl = cs & 3
    if not d.is_code or rpl < cpl:
        raise GuestFault(Vector.GP, D.selector_error(cs))
    if (d.conforming and d.dpl > rpl) or (not d.conforming and d.dpl != rpl):
        raise GuestFault(Vector.GP, D.selector_error(cs))
    if not d.present:
        raise GuestFault(Vector.NP, D.selector_error(cs))
    return d


def _outer_stack(m, ss, rpl):
    if (ss & 0xFFFC) == 0:
        raise GuestFault(Vector.GP, 0)
    sd = D.fetch(m, ss)
    if (ss & 3) != rpl or sd.dpl != rpl or not sd.writable:
        raise GuestFault(Vector.GP, D.selector_error(ss))
    if not sd.present:
        raise GuestFault(Vector.SS, D.selector_error(ss))
    return sd


@python_helper
def helper_far_return(m, opsize, release, a2):
    cpu = m.cpu
    st = GuestStack.current(m)
    eip = st.pop(opsize)
    cs = st.pop(opsize) & 0xFFFF
    if not _protected(m):
        st.sp = (st.sp + release) & st.mask
        st.commit()
        _real_transfer(m, cs, eip, opsize)
        return HELPER_OK
    cpl = D.cpl(m)
    d = _return_target(m, cs, cpl)
    rpl = cs & 3
    if rpl == cpl:
        if eip > d.limit:
            raise GuestFault(Vector.GP, 0)
        st.sp = (st.sp + release) & st.mask
        _enter_code(m, cs, d, eip, rpl)
        st.commit()
        return HELPER_OK
    st.sp = (st.sp + release) & st.mask
    new_esp = st.pop(opsize)
    ss = st.pop(opsize) & 0xFFFF
    sd = _outer_stack(m, ss, rpl)
    if eip > d.limit:
        raise GuestFault(Vector.GP, 0)
    D.set_accessed(m, d)
    D.load_cache(m, CS, cs, d)
    D.set_accessed(m, sd)
    D.load_cache(m, SS, ss, sd)
    mask = 0xFFFFFFFF if sd.big else 0xFFFF
    esp = (new_esp + release) & mask
    cpu.regs[ESP] = esp if sd.big else (cpu.regs[ESP] & 0xFFFF0000) | esp
    cpu.eip = eip
    m.update_hflags()
    null_outer_segments(m, rpl)
    return HELPER_OK


def _iret_flags_mask(m, opsize, cpl):
    """Which EFLAGS bits IRET may change (SDM Vol. 2A IRET)."""
    iopl = (m.eflags() >> 12) & 3
    mask = H.CF | H.PF | H.AF | H.ZF | H.SF | H.TF | H.DF | H.OF | H.NT
    if opsize == 4:
        mask |= H.RF | H.AC | H.ID
    if cpl <= iopl:
        mask |= H.IF
    if cpl == 0:
        mask |= H.IOPL_MASK
        if opsize == 4:
            mask |= H.VIF | H.VIP
    if opsize == 2:
        mask &= 0xFFFF
    return mask


@python_helper
def helper_iret(m, opsize, next_eip, a2):
    cpu = m.cpu
    m.end_nmi_blocking()
    eflags = m.eflags()
    if not cpu.cr[0] & H.CR0_PE:
        st = GuestStack.current(m)
        eip = st.pop(opsize)
        cs = st.pop(opsize) & 0xFFFF
        flags = st.pop(opsize)
        st.commit()
        mask = 0x257FD5 if opsize == 4 else 0xFFFF
        set_eflags(m, flags, mask & ~H.VM)
        _real_transfer(m, cs, eip, opsize)
        m.interrupts_may_be_enabled()
        return HELPER_OK
    if eflags & H.VM:
        # virtual-8086 mode without VME: IRET works only with IOPL 3
        if (eflags >> 12) & 3 != 3:
            raise GuestFault(Vector.GP, 0)
        st = GuestStack.current(m)
        eip = st.pop(opsize)
        cs = st.pop(opsize) & 0xFFFF
        flags = st.pop(opsize)
        st.commit()
        mask = (H.ARITH_FLAGS | H.TF | H.DF | H.NT | H.IF | (H.RF | H.AC | H.ID if opsize == 4 else 0))
        set_eflags(m, flags, mask & (0xFFFFFFFF if opsize == 4 else 0xFFFF))
        D.load_real_mode(m, CS, cs)
        cpu.eip = eip & (0xFFFFFFFF if opsize == 4 else 0xFFFF)
        m.update_hflags()
        m.interrupts_may_be_enabled()
        return HELPER_OK
    if eflags & H.NT:
        # a task return: the outgoing task resumes after its IRET next time
        link = m.mem.read_u16(cpu.tr.base)
        tasks.switch(m, link, tasks.IRET, next_eip)
        return HELPER_OK
    cpl = D.cpl(m)
    st = GuestStack.current(m)
    eip = st.pop(opsize)
    cs = st.pop(opsize) & 0xFFFF
    flags = st.pop(opsize)
    if flags & H.VM and cpl == 0 and opsize == 4:
        return _iret_to_vm86(m, st, eip, cs, flags)
    d = _return_target(m, cs, cpl)
    rpl = cs & 3
    if eip > d.limit:
        raise GuestFault(Vector.GP, 0)
    mask = _iret_flags_mask(m, opsize, cpl)
    if rpl == cpl:
        D.set_accessed(m, d)
        D.load_cache(m, CS, cs, d)
        cpu.eip = eip
        st.commit()
        set_eflags(m, flags, mask)
        m.update_hflags()
        m.interrupts_may_be_enabled()
        return HELPER_OK
    new_esp = st.pop(opsize)
    ss = st.pop(opsize) & 0xFFFF
    sd = _outer_stack(m, ss, rpl)
    D.set_accessed(m, d)
    D.load_cache(m, CS, cs, d)
    D.set_accessed(m, sd)
    D.load_cache(m, SS, ss, sd)
    cpu.regs[ESP] = new_esp if sd.big else (cpu.regs[ESP] & 0xFFFF0000) | (new_esp & 0xFFFF)
    cpu.eip = eip
    set_eflags(m, flags, mask)
    m.update_hflags()
    null_outer_segments(m, rpl)
    m.interrupts_may_be_enabled()
    return HELPER_OK


def _iret_to_vm86(m, st, eip, cs, flags):
    """IRET from CPL 0 to virtual-8086 mode (SDM Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE)."""
    cpu = m.cpu
    esp = st.pop(4)
    ss = st.pop(4) & 0xFFFF
    es = st.pop(4) & 0xFFFF
    ds = st.pop(4) & 0xFFFF
    fs = st.pop(4) & 0xFFFF
    gs = st.pop(4) & 0xFFFF
    set_eflags(m, flags, 0xFFFFFFFF & ~(H.VIF | H.VIP) | H.VM)
    for seg, sel in ((CS, cs), (SS, ss), (ES, es), (DS, ds), (FS, fs), (GS, gs)):
        D.load_real_mode(m, seg, sel)
    cpu.regs[ESP] = esp
    cpu.eip = eip & 0xFFFF
    m.update_hflags()
    m.interrupts_may_be_enabled()
    return HELPER_OK
