"""Python helpers for rare system instructions: CPUID, RDTSC, MSRs, segment loads (real mode)."""
from ...cpu import hflags as H
from ...cpu import model
from ...cpu.state import CS, EAX, ECX, EDX, SS
from ..callbacks import python_helper
from ..exits import HELPER_FAULT, HELPER_OK, HELPER_STOP

VEC_GP = 13


def raise_exception(m, vector, error=None):
    cpu = m.cpu
    cpu.exc_vector = vector
    cpu.exc_error = 0 if error is None else error
    cpu.exc_flags = 0 if error is None else 2
    return HELPER_FAULT


@python_helper
def helper_unimplemented(m, a0, a1, a2):
    m.stop_unimplemented()
    return HELPER_STOP


@python_helper
def helper_cpuid(m, a0, a1, a2):
    cpu = m.cpu
    eax, ebx, ecx, edx = model.cpuid(cpu.regs[EAX] & 0xFFFFFFFF, cpu.regs[ECX] & 0xFFFFFFFF)
    cpu.regs[0], cpu.regs[3], cpu.regs[1], cpu.regs[2] = eax, ebx, ecx, edx
    return HELPER_OK


@python_helper
def helper_rdtsc(m, a0, a1, a2):
    cpu = m.cpu
    if cpu.cr[4] & (1 << 2) and (cpu.hflags & H.HF_CPL_MASK) != 0:   # CR4.TSD
        return raise_exception(m, VEC_GP, 0)
    tsc = m.clock.tsc() & 0xFFFFFFFFFFFFFFFF
    cpu.regs[EAX] = tsc & 0xFFFFFFFF
    cpu.regs[EDX] = tsc >> 32
    return HELPER_OK


@python_helper
def helper_load_seg(m, seg, selector, a2):
    """Load a segment register: real and virtual-8086 mode (base = selector * 16).
    Protected mode goes through descriptor checks (segments.py)."""
    cpu = m.cpu
    selector &= 0xFFFF
    if not cpu.cr[0] & H.CR0_PE or cpu.eflags & H.VM:
        s = cpu.seg[seg]
        s.selector = selector
        s.base = selector << 4
        if cpu.eflags & H.VM:
            s.limit = 0xFFFF
            s.flags = H.DESC_P | H.DESC_S | H.DESC_RW | (3 << H.DESC_DPL_SHIFT) | (
                H.DESC_CODE if seg == CS else 0)
        if seg in (CS, SS):
            m.update_hflags()
        return HELPER_OK
    return m.protected.load_segment(seg, selector)
