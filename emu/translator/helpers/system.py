"""Python helpers for rare system instructions: CPUID, RDTSC, MSRs, segment loads (real mode)."""
from ...cpu import descriptors as D
from ...cpu import hflags as H
from ...cpu import model
from ...cpu.state import CS, EAX, ECX, EDX, EXC_HAS_ERROR, SS
from ...cpu.vectors import Vector
from ..callbacks import python_helper
from ..exits import HELPER_FAULT, HELPER_OK, HELPER_STOP


def raise_exception(m, vector, error=None):
    cpu = m.cpu
    cpu.exc_vector = vector
    cpu.exc_error = 0 if error is None else error
    cpu.exc_flags = 0 if error is None else EXC_HAS_ERROR
    return HELPER_FAULT


@python_helper
def helper_unimplemented(m, a0, a1, a2):
    m.stop_unimplemented()
    return HELPER_STOP


@python_helper
def helper_cpuid(m, a0, a1, a2):
    cpu = m.cpu
    eax, ebx, ecx, edx = model.cpuid(cpu.regs[EAX] & 0xFFFFFFFF, cpu.regs[ECX] & 0xFFFFFFFF,
                                     apic=m.apic_enabled())
    cpu.regs[0], cpu.regs[3], cpu.regs[1], cpu.regs[2] = eax, ebx, ecx, edx
    return HELPER_OK


@python_helper
def helper_rdtsc(m, a0, a1, a2):
    cpu = m.cpu
    if cpu.cr[4] & (1 << 2) and (cpu.hflags & H.HF_CPL_MASK) != 0:   # CR4.TSD
        return raise_exception(m, Vector.GP, 0)
    # the same counter RDMSR 10h reads and WRMSR 10h sets (SDM Vol. 3B 17.17)
    tsc = (m.clock.tsc() + cpu.tsc_offset) & 0xFFFFFFFFFFFFFFFF
    cpu.regs[EAX] = tsc & 0xFFFFFFFF
    cpu.regs[EDX] = tsc >> 32
    return HELPER_OK


@python_helper
def helper_load_seg(m, seg, selector, a2):
    """MOV/POP Sreg, LDS...: real and virtual-8086 mode take selector * 16 as
    the base; protected mode checks the descriptor (cpu/descriptors.py)."""
    cpu = m.cpu
    selector &= 0xFFFF
    if not cpu.cr[0] & H.CR0_PE or cpu.eflags & H.VM:
        D.load_real_mode(m, seg, selector)
        if seg == SS:
            m.update_hflags()
        return HELPER_OK
    D.load_data_segment(m, seg, selector)
    return HELPER_OK


@python_helper
def helper_trace(m, eip, cs_base, n_insns):
    """-d exec / -d cpu: one line per block execution, registers with -d cpu."""
    log = m.log
    cpu = m.cpu
    if log.enabled("exec"):
        log.block_executed((cs_base + eip) & 0xFFFFFFFF, eip, cpu.seg[CS].selector)
    if log.enabled("cpu"):
        log.write(m.format_registers())
    return HELPER_OK
