"""Hardware task switching (Intel SDM Vol. 3A 7.3), 32- and 16-bit TSS.

Reached through JMP/CALL to a TSS or task gate, INT/exceptions through a task
gate (Linux i386 handles #DF that way) and IRET with EFLAGS.NT set.
"""
import struct

from ...cpu import hflags as H
from ...cpu import descriptors as D
from ...cpu.faults import GuestFault
from ...cpu.state import CS, DS, ES, FS, GS, SS
from ...cpu.vectors import Vector
from .common import GuestStack, set_eflags

JMP, CALL, INT, IRET = range(4)

# 32-bit TSS field offsets
_T32_REGS = 0x28            # eax ecx edx ebx esp ebp esi edi
_T32_SEGS = 0x48            # es cs ss ds fs gs, 4 bytes each
# 16-bit TSS
_T16_REGS = 0x12
_T16_SEGS = 0x22            # es cs ss ds, 2 bytes each


def _set_busy(m, d, busy):
    t = d.hi & ~(2 << 8)
    if busy:
        t |= 2 << 8
    d.hi = t
    m.mem.write_u32(d.addr + 4, t)


def switch(m, selector, reason, next_eip, error_code=None):
    """Switch to the task whose TSS `selector` names.  next_eip is the EIP saved
    in the old task (None: the current EIP, for IRET and faults)."""
    cpu = m.cpu
    ext = reason == INT
    if selector & 4:
        raise GuestFault(Vector.GP if reason != IRET else Vector.TS, D.selector_error(selector, ext))
    nd = D.fetch(m, selector, Vector.GP, ext)
    busy_wanted = reason == IRET
    if nd.s or nd.type not in ((D.T_TSS32_BUSY, D.T_TSS16_BUSY) if busy_wanted else (D.T_TSS32, D.T_TSS16)):
        raise GuestFault(Vector.TS if reason == IRET else Vector.GP, D.selector_error(selector, ext))
    if not nd.present:
        raise GuestFault(Vector.NP, D.selector_error(selector, ext))
    new32 = nd.type in (D.T_TSS32, D.T_TSS32_BUSY)
    if nd.limit < (0x67 if new32 else 0x2B):
        raise GuestFault(Vector.TS, D.selector_error(selector, ext))
    new_base = nd.base
    # read the new task's state before changing anything
    if new32:
        raw = m.mem.read(new_base, 0x68)
        cr3, eip, eflags = struct.unpack_from("<III", raw, 0x1C)
        regs = struct.unpack_from("<8I", raw, _T32_REGS)
        segs = [v & 0xFFFF for v in struct.unpack_from("<6I", raw, _T32_SEGS)]
        ldt = struct.unpack_from("<H", raw, 0x60)[0]
    else:
        raw = m.mem.read(new_base, 0x2C)
        eip, eflags = struct.unpack_from("<HH", raw, 0x0E)
        regs = struct.unpack_from("<8H", raw, _T16_REGS)
        segs = list(struct.unpack_from("<4H", raw, _T16_SEGS)) + [0, 0]
        ldt = struct.unpack_from("<H", raw, 0x2A)[0]
        cr3 = None
    # save the old task
    old = cpu.tr
    old_flags = m.eflags()
    if reason == IRET:
        old_flags &= ~H.NT
    old_eip = cpu.eip if next_eip is None else next_eip
    old32 = ((old.flags >> 8) & 0xF) in (D.T_TSS32, D.T_TSS32_BUSY)
    if old32:
        m.mem.write(old.base + 0x20, struct.pack("<II", old_eip & 0xFFFFFFFF, old_flags))
        m.mem.write(old.base + _T32_REGS, struct.pack("<8I", *[cpu.regs[k] & 0xFFFFFFFF for k in range(8)]))
        m.mem.write(old.base + _T32_SEGS, struct.pack("<6I", *[cpu.seg[k].selector for k in range(6)]))
    else:
        m.mem.write(old.base + 0x0E, struct.pack("<HH", old_eip & 0xFFFF, old_flags & 0xFFFF))
        m.mem.write(old.base + _T16_REGS, struct.pack("<8H", *[cpu.regs[k] & 0xFFFF for k in range(8)]))
        m.mem.write(old.base + _T16_SEGS, struct.pack("<4H", *[cpu.seg[k].selector for k in range(4)]))
    if reason in (JMP, IRET) and (old.selector & 0xFFFC):
        od = D.fetch(m, old.selector, Vector.TS)
        _set_busy(m, od, False)
    if reason in (CALL, INT):
        m.mem.write_u16(new_base, old.selector)
        eflags |= H.NT
    if reason != IRET:
        _set_busy(m, nd, True)
    # the switch is committed: load the new task
    cpu.tr.selector = selector
    cpu.tr.base = new_base
    cpu.tr.limit = nd.limit
    cpu.tr.flags = (nd.hi | (2 << 8)) & D.CACHE_FLAGS
    cpu.cr[0] |= H.CR0_TS
    if new32 and cpu.cr[0] & H.CR0_PG and cr3 is not None:
        m.write_cr3(cr3)
    set_eflags(m, eflags, 0xFFFFFFFF if new32 else 0xFFFF)
    for k in range(8):
        cpu.regs[k] = regs[k] if new32 else (cpu.regs[k] & 0xFFFF0000) | regs[k]
    cpu.eip = eip
    # segment registers: selectors first (so a fault reports the new task's
    # state), then the descriptor checks, which fault with #TS
    if eflags & H.VM:
        for seg in range(6):
            D.load_real_mode(m, seg, segs[seg])
    else:
        _load_task_ldt(m, ldt)
        for seg in range(6):
            cpu.seg[seg].selector = segs[seg]
        _load_task_segments(m, segs)
    m.update_hflags()
    if error_code is not None:
        st = GuestStack.current(m)
        st.push(error_code, 4 if new32 else 2)
        st.commit()


def _load_task_ldt(m, sel):
    cpu = m.cpu
    if (sel & 0xFFFC) == 0:
        cpu.ldtr.selector = sel
        cpu.ldtr.flags = 0
        cpu.ldtr.base = cpu.ldtr.limit = 0
        return
    if sel & 4:
        raise GuestFault(Vector.TS, D.selector_error(sel))
    d = D.fetch(m, sel, Vector.TS)
    if d.s or d.type != D.T_LDT:
        raise GuestFault(Vector.TS, D.selector_error(sel))
    if not d.present:
        raise GuestFault(Vector.TS, D.selector_error(sel))
    cpu.ldtr.selector = sel
    cpu.ldtr.base, cpu.ldtr.limit, cpu.ldtr.flags = d.base, d.limit, d.flags


def _load_task_segments(m, segs):
    cs = segs[CS]
    if (cs & 0xFFFC) == 0:
        raise GuestFault(Vector.TS, 0)
    cd = D.fetch(m, cs, Vector.TS)
    if not cd.is_code:
        raise GuestFault(Vector.TS, D.selector_error(cs))
    if not cd.present:
        raise GuestFault(Vector.NP, D.selector_error(cs))
    D.set_accessed(m, cd)
    D.load_cache(m, CS, cs, cd)
    cpl = cs & 3
    ss = segs[SS]
    if (ss & 0xFFFC) == 0:
        raise GuestFault(Vector.TS, 0)
    sd = D.fetch(m, ss, Vector.TS)
    if not sd.writable or sd.dpl != cpl or (ss & 3) != cpl:
        raise GuestFault(Vector.TS, D.selector_error(ss))
    if not sd.present:
        raise GuestFault(Vector.SS, D.selector_error(ss))
    D.set_accessed(m, sd)
    D.load_cache(m, SS, ss, sd)
    for seg in (ES, DS, FS, GS):
        sel = segs[seg]
        if (sel & 0xFFFC) == 0:
            D.load_null(m, seg, sel)
            continue
        d = D.fetch(m, sel, Vector.TS)
        if not d.readable or ((d.is_data or not d.conforming) and (d.dpl < cpl or d.dpl < (sel & 3))):
            raise GuestFault(Vector.TS, D.selector_error(sel))
        if not d.present:
            raise GuestFault(Vector.NP, D.selector_error(sel))
        D.set_accessed(m, d)
        D.load_cache(m, seg, sel, d)
