"""The CPU model pyemu presents: its CPUID leaves (docs/cpu-model.md explains each bit)."""

from ..clock import TSC_HZ

VENDOR = "GenuineIntel"
BRAND = "pyemu virtual CPU (P6 family)"
FAMILY, MODEL, STEPPING = 6, 3, 3
# The highest basic leaf is 16h so that the frequency leaves 15h/16h exist:
# they tell an OS the TSC rate instead of making it measure the TSC against
# the PIT, which a JIT's pauses (Python, the host scheduler) make unreliable.
# Leaves 2-14h report nothing (all zero: no cache or TLB descriptors, no
# extended features, no topology, no XSAVE, no architectural perfmon).
MAX_BASIC_LEAF = 0x16
MAX_EXTENDED_LEAF = 0x80000004
# IA32_BIOS_SIGN_ID (MSR 8Bh) bits 63:32 after a CPUID: the "microcode update"
# revision.  Linux reads it with a plain RDMSR on every family-6 Intel CPU.
MICROCODE_REVISION = 1

# CPUID.1:EDX feature bits (Intel SDM Vol. 2A Table 3-11)
FEATURES_EDX = {
    "fpu": 0,     # x87 on chip
    "de": 2,      # debugging extensions (CR4.DE)
    "pse": 3,     # 4 MB pages
    "pae": 6,     # physical address extension (3-level paging)
    "tsc": 4,     # RDTSC
    "msr": 5,     # RDMSR/WRMSR
    "cx8": 8,     # CMPXCHG8B
    "sep": 11,    # SYSENTER/SYSEXIT
    "pge": 13,    # global pages
    "cmov": 15,   # CMOVcc, FCMOVcc, FCOMI
    "fxsr": 24,   # FXSAVE/FXRSTOR and CR4.OSFXSR (the x87 part; no SSE state to save)
}
# CPUID.1:ECX bit 31 is reserved for hypervisors to say "this is a virtual
# machine" (Intel SDM Vol. 2A, CPUID: "Not used. Always returns 0" on hardware;
# every hypervisor sets it).  Guests then expect what virtual CPUs lack, such
# as performance-monitoring MSRs, instead of calling the hardware broken.
FEATURES_ECX = {"hypervisor": 31}
EXT_FEATURES_EDX = {"nx": 20}     # CPUID.80000001:EDX: execute-disable (with PAE)


def _regs_of(text):
    """A 12-byte string as the EBX, EDX, ECX words CPUID returns it in."""
    b = text.encode("ascii")
    words = [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]
    return words


APIC_BIT = 9      # CPUID.1:EDX: on-chip local APIC, only while the machine has one enabled


def signature():
    """The processor signature: CPUID.1:EAX, and EDX after reset (SDM Vol. 3A 9.1.4)."""
    return (FAMILY << 8) | (MODEL << 4) | STEPPING


def cpuid(leaf, subleaf=0, apic=False):
    """(EAX, EBX, ECX, EDX) for CPUID leaf.  apic: the local APIC exists and is
    globally enabled (SDM Vol. 3A 10.4.3: clearing IA32_APIC_BASE[11] clears the flag)."""
    if leaf == 0:
        ebx, edx, ecx = _regs_of(VENDOR)
        return MAX_BASIC_LEAF, ebx, ecx, edx
    if leaf == 1:
        eax = signature()
        edx = sum(1 << b for b in FEATURES_EDX.values())
        if apic:
            edx |= 1 << APIC_BIT
        ecx = sum(1 << b for b in FEATURES_ECX.values())
        return eax, 0, ecx, edx
    if leaf == 0x15:
        # TSC / core crystal ratio 1/1, crystal at TSC_HZ (SDM Vol. 2A CPUID 15h);
        # the local APIC timer runs at the same rate (emu/devices/lapic.py)
        return 1, 1, TSC_HZ, 0
    if leaf == 0x16:
        mhz = TSC_HZ // 1_000_000       # base, maximum and bus frequency in MHz
        return mhz, mhz, mhz, 0
    if 2 <= leaf < MAX_BASIC_LEAF:
        return 0, 0, 0, 0
    if leaf == 0x80000000:
        return MAX_EXTENDED_LEAF, 0, 0, 0
    if leaf == 0x80000001:
        return 0, 0, 0, sum(1 << b for b in EXT_FEATURES_EDX.values())
    if 0x80000002 <= leaf <= 0x80000004:
        text = BRAND.ljust(48, "\0")[:47] + "\0"
        chunk = text[(leaf - 0x80000002) * 16:(leaf - 0x80000001) * 16].encode("ascii")
        w = [int.from_bytes(chunk[i:i + 4], "little") for i in range(0, 16, 4)]
        return w[0], w[1], w[2], w[3]
    # SDM Vol. 2A CPUID: on Intel processors a leaf above the maximum basic or
    # extended leaf returns the data of the highest basic leaf (the hypervisor
    # range 40000000h included: pyemu names no hypervisor interface there)
    return cpuid(MAX_BASIC_LEAF, apic=apic)
