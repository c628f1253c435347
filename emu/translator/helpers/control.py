"""Control and system registers: MOV CRn/DRn, LMSW, CLTS, INVLPG, descriptor
table registers, LLDT/LTR, LAR/LSL/VERR/VERW, MSRs, SYSENTER/SYSEXIT, the
TSS I/O permission bitmap (Intel SDM Vol. 2 and Vol. 3A chapters 2-5)."""
from ...cpu import hflags as H
from ...cpu import descriptors as D
from ...cpu import model
from ...cpu.faults import GuestFault
from ...cpu.state import CS, ECX, EDX, ESP, SS
from ...cpu.vectors import Vector
from ..callbacks import python_helper
from ..exits import HELPER_OK
from .common import set_eflags

CR4_VME, CR4_PVI, CR4_TSD, CR4_DE, CR4_PSE, CR4_PAE, CR4_MCE, CR4_PGE, CR4_PCE = (1 << b for b in range(9))
CR4_OSFXSR, CR4_OSXMMEXCPT = 1 << 9, 1 << 10


def cr4_supported():
    bits = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE
    if "pae" in model.FEATURES_EDX:
        bits |= CR4_PAE
    if "fxsr" in model.FEATURES_EDX:
        bits |= CR4_OSFXSR | CR4_OSXMMEXCPT
    return bits


def write_cr0(m, value):
    cpu = m.cpu
    value &= 0xFFFFFFFF
    if value & H.CR0_PG and not value & H.CR0_PE:
        raise GuestFault(Vector.GP, 0)
    if value & H.CR0_NW and not value & H.CR0_CD:
        raise GuestFault(Vector.GP, 0)
    value |= H.CR0_ET            # the x87 is always a 387-class FPU
    old = cpu.cr[0]
    cpu.cr[0] = value
    if (old ^ value) & (H.CR0_PG | H.CR0_PE | H.CR0_WP):
        m.flush_tlb(everything=True)
    m.update_hflags()


@python_helper
def helper_write_cr(m, n, value, a2):
    cpu = m.cpu
    if n == 0:
        write_cr0(m, value)
    elif n == 2:
        cpu.cr[2] = value
    elif n == 3:
        m.write_cr3(value)
    elif n == 4:
        if value & ~cr4_supported():
            raise GuestFault(Vector.GP, 0)
        old = cpu.cr[4]
        cpu.cr[4] = value
        if (old ^ value) & (CR4_PSE | CR4_PGE | CR4_PAE):
            m.flush_tlb(everything=True)
    else:
        raise GuestFault(Vector.UD)
    return HELPER_OK


@python_helper
def helper_read_cr(m, n, reg, a2):
    cpu = m.cpu
    if n not in (0, 2, 3, 4):
        raise GuestFault(Vector.UD)
    cpu.regs[reg] = cpu.cr[n] & 0xFFFFFFFF
    return HELPER_OK


def _dr_index(m, n):
    if n in (4, 5):
        if m.cpu.cr[4] & CR4_DE:
            raise GuestFault(Vector.UD)
        return n + 2                  # DR4/DR5 alias DR6/DR7 when CR4.DE = 0
    return n


@python_helper
def helper_write_dr(m, n, value, a2):
    n = _dr_index(m, n)
    if n == 6:
        value = (value & 0x0000E00F) | 0xFFFF0FF0
    elif n == 7:
        value = (value & 0xFFFF2BFF) | 0x400
    m.cpu.dr[n] = value & 0xFFFFFFFF
    return HELPER_OK


@python_helper
def helper_read_dr(m, n, reg, a2):
    m.cpu.regs[reg] = m.cpu.dr[_dr_index(m, n)] & 0xFFFFFFFF
    return HELPER_OK


@python_helper
def helper_lmsw(m, value, a1, a2):
    """LMSW: PE can be set but not cleared; MP EM TS follow the operand."""
    cr0 = m.cpu.cr[0]
    new = (cr0 & ~0xE) | (value & 0xE) | (cr0 & 1) | (value & 1)
    write_cr0(m, new)
    return HELPER_OK


@python_helper
def helper_clts(m, a0, a1, a2):
    m.cpu.cr[0] &= ~H.CR0_TS
    m.update_hflags()
    return HELPER_OK


@python_helper
def helper_invlpg(m, lin, a1, a2):
    m.invlpg(lin)
    return HELPER_OK


# --- descriptor table registers ----------------------------------------------------------
@python_helper
def helper_load_dtr(m, which, lin, opsize):
    limit = m.mem.read_u16(lin)
    base = m.mem.read_u32(lin + 2)
    if opsize == 2:
        base &= 0x00FFFFFF           # SDM: 16-bit operand size uses 24 bits of base
    t = m.cpu.gdtr if which == 0 else m.cpu.idtr
    t.base, t.limit = base, limit
    return HELPER_OK


@python_helper
def helper_store_dtr(m, which, lin, opsize):
    t = m.cpu.gdtr if which == 0 else m.cpu.idtr
    m.mem.write_u16(lin, t.limit)
    m.mem.write_u32(lin + 2, t.base)
    return HELPER_OK


@python_helper
def helper_lldt(m, sel, a1, a2):
    cpu = m.cpu
    if (sel & 0xFFFC) == 0:
        cpu.ldtr.selector = sel
        cpu.ldtr.base = cpu.ldtr.limit = cpu.ldtr.flags = 0
        return HELPER_OK
    if sel & 4:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    d = D.fetch(m, sel)
    if d.s or d.type != D.T_LDT:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    if not d.present:
        raise GuestFault(Vector.NP, D.selector_error(sel))
    cpu.ldtr.selector = sel
    cpu.ldtr.base, cpu.ldtr.limit, cpu.ldtr.flags = d.base, d.limit, d.flags
    return HELPER_OK


@python_helper
def helper_ltr(m, sel, a1, a2):
    cpu = m.cpu
    if (sel & 0xFFFC) == 0 or sel & 4:
        raise GuestFault(Vector.GP, D.selector_error(sel))
    d = D.fetch(m, sel)
    if d.s or d.type not in (D.T_TSS16, D.T_TSS32):
        raise GuestFault(Vector.GP, D.selector_error(sel))
    if not d.present:
        raise GuestFault(Vector.NP, D.selector_error(sel))
    d.hi |= 2 << 8                   # busy
    m.mem.write_u32(d.addr + 4, d.hi)
    cpu.tr.selector = sel
    cpu.tr.base, cpu.tr.limit, cpu.tr.flags = d.base, d.limit, d.flags
    return HELPER_OK


def _set_zf(m, value):
    set_eflags(m, H.ZF if value else 0, H.ZF)


def _visible(m, sel, d):
    """LAR/LSL/VERR/VERW: may the current CPL see this descriptor?"""
    cpl = D.cpl(m)
    if d.is_code and d.conforming:
        return True
    return d.dpl >= cpl and d.dpl >= (sel & 3)


@python_helper
def helper_lar_lsl(m, sel, reg_opsize, want_limit):
    """LAR (want_limit 0) / LSL (1): ZF says whether the selector is usable."""
    reg, opsize = reg_opsize & 0xFF, reg_opsize >> 8
    ok_types = {D.T_TSS16, D.T_LDT, D.T_TSS16_BUSY, D.T_TSS32, D.T_TSS32_BUSY}
    if not want_limit:
        ok_types |= {D.T_CALL16, D.T_TASK, D.T_CALL32}
    try:
        if (sel & 0xFFFC) == 0:
            raise GuestFault(Vector.GP, 0)
        d = D.fetch(m, sel)
    except GuestFault:
        _set_zf(m, False)
        return HELPER_OK
    if (not d.s and d.type not in ok_types) or not _visible(m, sel, d):
        _set_zf(m, False)
        return HELPER_OK
    value = d.limit if want_limit else d.hi & D.CACHE_FLAGS
    cpu = m.cpu
    if opsize == 2:
        cpu.regs[reg] = (cpu.regs[reg] & 0xFFFF0000) | (value & 0xFFFF)
    else:
        cpu.regs[reg] = value & 0xFFFFFFFF
    _set_zf(m, True)
    return HELPER_OK


@python_helper
def helper_verr_verw(m, sel, write, a2):
    try:
        if (sel & 0xFFFC) == 0:
            raise GuestFault(Vector.GP, 0)
        d = D.fetch(m, sel)
    except GuestFault:
        _set_zf(m, False)
        return HELPER_OK
    ok = d.s and _visible(m, sel, d) and (d.writable if write else d.readable)
    _set_zf(m, ok)
    return HELPER_OK


# --- model-specific registers -----------------------------------------------------------
MSR_TSC = 0x10
MSR_PLATFORM_ID = 0x17
MSR_APIC_BASE = 0x1B
MSR_BIOS_SIGN_ID = 0x8B
MSR_MISC_ENABLE = 0x1A0
# IA32_MISC_ENABLE: fast strings on; branch trace store and PEBS unavailable
MISC_ENABLE_RESET = (1 << 0) | (1 << 11) | (1 << 12)
MISC_ENABLE_WRITABLE = (1 << 0) | (1 << 22)
MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP = 0x174, 0x175, 0x176
MSR_MTRRCAP = 0xFE
MSR_PAT = 0x277
MSR_MTRR_DEF_TYPE = 0x2FF
MSR_EFER = 0xC0000080

MTRR_MSRS = ({0x250, 0x258, 0x259} | set(range(0x268, 0x270)) | set(range(0x200, 0x210)))


def read_msr(m, n):
    cpu = m.cpu
    hook = m.msr_hooks.get(n)          # MSRs a device implements (IA32_APIC_BASE: the local APIC)
    if hook is not None:
        return hook[0]()
    if n == MSR_TSC:
        return m.clock.tsc() + cpu.tsc_offset
    if n == MSR_SYSENTER_CS:
        return cpu.msr_sysenter_cs
    if n == MSR_SYSENTER_ESP:
        return cpu.msr_sysenter_esp
    if n == MSR_SYSENTER_EIP:
        return cpu.msr_sysenter_eip
    if n == MSR_EFER and "nx" in model.EXT_FEATURES_EDX:
        return cpu.efer
    if n == MSR_BIOS_SIGN_ID:
        return model.MICROCODE_REVISION << 32
    if n == MSR_PLATFORM_ID:
        return 0                       # platform id 0 (bits 52:50)
    if n == MSR_MISC_ENABLE:
        return m.msrs.get(n, MISC_ENABLE_RESET)
    if n in m.msrs:
        return m.msrs[n]
    raise GuestFault(Vector.GP, 0)


def write_msr(m, n, value):
    cpu = m.cpu
    hook = m.msr_hooks.get(n)
    if hook is not None:
        if not hook[1](value):
            raise GuestFault(Vector.GP, 0)
        return
    if n == MSR_TSC:
        cpu.tsc_offset = value - m.clock.tsc()
    elif n == MSR_SYSENTER_CS:
        cpu.msr_sysenter_cs = value & 0xFFFF
    elif n == MSR_SYSENTER_ESP:
        cpu.msr_sysenter_esp = value & 0xFFFFFFFF
    elif n == MSR_SYSENTER_EIP:
        cpu.msr_sysenter_eip = value & 0xFFFFFFFF
    elif n == MSR_EFER and "nx" in model.EXT_FEATURES_EDX:
        if value & ~(1 << 11):
            raise GuestFault(Vector.GP, 0)
        cpu.efer = value
        m.flush_tlb(everything=True)
    elif n == MSR_BIOS_SIGN_ID:
        pass                           # Linux writes 0, then CPUID, then reads the revision
    elif n == MSR_MISC_ENABLE:
        # only fast strings (bit 0) and limit-CPUID (bit 22) are writable: the
        # other bits report features this CPU lacks (SDM Vol. 4 Table 2-2)
        m.msrs[n] = (read_msr(m, n) & ~MISC_ENABLE_WRITABLE) | (value & MISC_ENABLE_WRITABLE)
    elif n in m.msrs and n != MSR_MTRRCAP:
        m.msrs[n] = value
        m.msr_written(n, value)
    else:
        raise GuestFault(Vector.GP, 0)


@python_helper
def helper_rdmsr(m, a0, a1, a2):
    cpu = m.cpu
    v = read_msr(m, cpu.regs[ECX] & 0xFFFFFFFF) & 0xFFFFFFFFFFFFFFFF
    cpu.regs[0] = v & 0xFFFFFFFF
    cpu.regs[EDX] = v >> 32
    return HELPER_OK


@python_helper
def helper_wrmsr(m, a0, a1, a2):
    cpu = m.cpu
    value = ((cpu.regs[EDX] & 0xFFFFFFFF) << 32) | (cpu.regs[0] & 0xFFFFFFFF)
    write_msr(m, cpu.regs[ECX] & 0xFFFFFFFF, value)
    return HELPER_OK


@python_helper
def helper_rdpmc(m, a0, a1, a2):
    # no performance counters: SDM, RDPMC with an invalid counter is #GP(0)
    cpu = m.cpu
    if D.cpl(m) != 0 and not cpu.cr[4] & CR4_PCE:
        raise GuestFault(Vector.GP, 0)
    raise GuestFault(Vector.GP, 0)


# --- fast system calls ------------------------------------------------------------------
def _flat(m, seg, sel, code, dpl):
    c = m.cpu.seg[seg]
    c.selector = sel
    c.base = 0
    c.limit = 0xFFFFFFFF
    c.flags = (H.DESC_P | H.DESC_S | H.DESC_G | H.DESC_B | H.DESC_ACCESSED | H.DESC_RW
               | (dpl << H.DESC_DPL_SHIFT) | (H.DESC_CODE if code else 0))


@python_helper
def helper_sysenter(m, a0, a1, a2):
    """SYSENTER (SDM Vol. 2B): to CPL 0 with flat segments from the MSRs."""
    cpu = m.cpu
    cs = cpu.msr_sysenter_cs & 0xFFFC
    if not cpu.cr[0] & H.CR0_PE or cs == 0:
        raise GuestFault(Vector.GP, 0)
    set_eflags(m, 0, H.VM | H.IF | H.RF)
    _flat(m, CS, cs, True, 0)
    _flat(m, SS, cs + 8, False, 0)
    cpu.regs[ESP] = cpu.msr_sysenter_esp & 0xFFFFFFFF
    cpu.eip = cpu.msr_sysenter_eip & 0xFFFFFFFF
    m.update_hflags()
    return HELPER_OK


@python_helper
def helper_sysexit(m, opsize, a1, a2):
    cpu = m.cpu
    cs = cpu.msr_sysenter_cs & 0xFFFC
    if not cpu.cr[0] & H.CR0_PE or cs == 0 or D.cpl(m) != 0:
        raise GuestFault(Vector.GP, 0)
    _flat(m, CS, (cs + 16) | 3, True, 3)
    _flat(m, SS, (cs + 24) | 3, False, 3)
    cpu.regs[ESP] = cpu.regs[ECX] & 0xFFFFFFFF
    cpu.eip = cpu.regs[EDX] & 0xFFFFFFFF
    m.update_hflags()
    return HELPER_OK


# --- I/O permission -----------------------------------------------------------------------
@python_helper
def helper_io_check(m, port, size, a2):
    """SDM Vol. 1 19.5.2: with CPL > IOPL or in v86 mode, every bit of the TSS
    I/O permission bitmap covering the ports must be clear."""
    cpu = m.cpu
    eflags = m.eflags()
    cpl = D.cpl(m)
    if not eflags & H.VM and cpl <= (eflags >> 12) & 3:
        return HELPER_OK
    tr = cpu.tr
    if ((tr.flags >> 8) & 0xF) not in (D.T_TSS32, D.T_TSS32_BUSY) or tr.limit < 0x67:
        raise GuestFault(Vector.GP, 0)
    iomap = m.mem.read_u16(tr.base + 0x66)
    pos = iomap + (port >> 3)
    if pos + 1 > tr.limit:
        raise GuestFault(Vector.GP, 0)
    bits = m.mem.read_u16(tr.base + pos)
    mask = ((1 << size) - 1) << (port & 7)
    if bits & mask:
        raise GuestFault(Vector.GP, 0)
    return HELPER_OK
