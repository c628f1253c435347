"""The CPU model (emu/cpu/model.py, docs/cpu-model.md): CPUID leaves, MSRs, RDTSC.

Run on a bare CPU (emu.snippet).  Every check here is a statement of
docs/cpu-model.md, and the document is checked to name every feature bit the
model reports, so the two cannot drift apart.
"""
import pathlib
import re
import struct

import pytest

from emu.cpu import model

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "cpu-model.md"

CPUID = bytes.fromhex("0fa2")
RDMSR = bytes.fromhex("0f32")
WRMSR = bytes.fromhex("0f30")
RDTSC = bytes.fromhex("0f31")


def cpuid(s, leaf, sub=0):
    r = s.run(CPUID, regs={"eax": leaf, "ecx": sub})
    assert r.exception is None
    return r.regs["eax"], r.regs["ebx"], r.regs["ecx"], r.regs["edx"]


def rdmsr(s, n):
    r = s.run(RDMSR, regs={"ecx": n})
    if r.exception is not None:
        return ("#%d" % r.exception, r.error_code)
    return (r.regs["edx"] << 32) | r.regs["eax"]


def wrmsr(s, n, value):
    r = s.run(WRMSR, regs={"ecx": n, "eax": value & 0xFFFFFFFF, "edx": value >> 32})
    return None if r.exception is None else ("#%d" % r.exception, r.error_code)


def test_vendor_signature_and_brand(snippet32):
    eax, ebx, ecx, edx = cpuid(snippet32, 0)
    assert eax == model.MAX_BASIC_LEAF
    assert struct.pack("<III", ebx, edx, ecx) == b"GenuineIntel"
    eax, ebx, ecx, edx = cpuid(snippet32, 1)
    assert (eax >> 8) & 0xF == 6, "family 6"
    assert eax == (model.FAMILY << 8) | (model.MODEL << 4) | model.STEPPING
    assert ebx >> 24 == 0, "initial APIC ID 0 (the only CPU)"
    assert cpuid(snippet32, 0x80000000)[0] == model.MAX_EXTENDED_LEAF
    brand = b"".join(struct.pack("<IIII", *cpuid(snippet32, leaf)) for leaf in (0x80000002, 0x80000003,
                                                                               0x80000004))
    assert brand.rstrip(b"\0").decode() == model.BRAND


def test_feature_bits(snippet32):
    _, _, ecx, edx = cpuid(snippet32, 1)
    want_edx = sum(1 << b for b in model.FEATURES_EDX.values())
    assert edx & ~(1 << model.APIC_BIT) == want_edx
    assert ecx == sum(1 << b for b in model.FEATURES_ECX.values())
    # what Linux 6.1's 686-pae kernel requires (arch/x86/include/asm/required-features.h)
    for name, bit in (("pae", 6), ("cx8", 8), ("cmov", 15)):
        assert edx & (1 << bit), name
    # absent: no SSE, MMX, VME, MTRR, PAT is reported
    for name, bit in (("vme", 1), ("mtrr", 12), ("pat", 16), ("mmx", 23), ("sse", 25), ("sse2", 26)):
        assert not edx & (1 << bit), name
    assert cpuid(snippet32, 0x80000001)[3] == 1 << 20, "NX only"


def test_leaves_above_the_maximum_return_the_highest_basic_leaf(snippet32):
    top = cpuid(snippet32, model.MAX_BASIC_LEAF)
    for leaf in (model.MAX_BASIC_LEAF + 1, 0x40000000, model.MAX_EXTENDED_LEAF + 1, 0x80000008):
        assert cpuid(snippet32, leaf) == top, hex(leaf)


def test_frequency_leaves_state_the_tsc_rate(snippet32):
    # SDM Vol. 2A CPUID 15h: TSC = crystal * EBX / EAX; 16h: base/max/bus MHz
    eax, ebx, ecx, _ = cpuid(snippet32, 0x15)
    assert ecx * ebx // eax == model.TSC_HZ == 1_000_000_000
    assert cpuid(snippet32, 0x16)[:3] == (1000, 1000, 1000)
    # the leaves below carry nothing (no descriptors, features or topology)
    for leaf in range(2, 0x15):
        assert cpuid(snippet32, leaf) == (0, 0, 0, 0), hex(leaf)


def test_documented_bits_and_leaves():
    text = DOC.read_text()
    for name in list(model.FEATURES_EDX) + list(model.FEATURES_ECX) + list(model.EXT_FEATURES_EDX) + ["apic"]:
        assert re.search(r"\|\s*`?%s`?\s*\|" % name, text, re.I), "docs/cpu-model.md misses feature %s" % name
    for leaf in ("0", "1", "80000000h", "80000001h", "80000002h"):
        assert re.search(r"\|\s*%s\b" % leaf, text), "docs/cpu-model.md misses leaf %s" % leaf


@pytest.mark.parametrize("msr,value", [
    (0x8B, model.MICROCODE_REVISION << 32),      # IA32_BIOS_SIGN_ID
    (0x17, 0),                                   # IA32_PLATFORM_ID
    (0x1A0, 0x1801),                             # IA32_MISC_ENABLE: fast strings, no BTS/PEBS
    (0xFE, 0x508),                               # MTRRcap
    (0x277, 0x0007040600070406),                 # PAT power-on value
])
def test_msr_reads(snippet32, msr, value):
    assert rdmsr(snippet32, msr) == value


def test_msr_writes(snippet32):
    s = snippet32
    for n, v in ((0x174, 0x10), (0x175, 0x12345678), (0x176, 0x9abcdef0), (0x277, 0x0006060606060606)):
        assert wrmsr(s, n, v) is None
        assert rdmsr(s, n) == v, hex(n)
    assert wrmsr(s, 0x277, 0x0007040600070406) is None
    # BIOS_SIGN_ID: Linux writes 0, runs CPUID, reads the revision back
    assert wrmsr(s, 0x8B, 0) is None
    assert rdmsr(s, 0x8B) == model.MICROCODE_REVISION << 32
    # MISC_ENABLE: only fast strings and limit-CPUID change
    assert wrmsr(s, 0x1A0, 0) is None
    assert rdmsr(s, 0x1A0) == 0x1800
    assert wrmsr(s, 0x1A0, 0xFFFFFFFF) is None
    assert rdmsr(s, 0x1A0) == 0x1801 | (1 << 22)
    assert wrmsr(s, 0x1A0, 0x1801) is None
    # EFER: NXE only
    assert wrmsr(s, 0xC0000080, 1 << 11) is None
    assert rdmsr(s, 0xC0000080) == 1 << 11
    assert wrmsr(s, 0xC0000080, 1) == ("#13", 0), "EFER.SCE is reserved (no SYSCALL)"
    assert wrmsr(s, 0xC0000080, 0) is None
    assert wrmsr(s, 0xFE, 0) == ("#13", 0), "MTRRcap is read-only"
    assert wrmsr(s, 0x17, 0) == ("#13", 0), "PLATFORM_ID is read-only"


@pytest.mark.parametrize("msr", [0x0, 0x3A, 0x8C, 0x186, 0xC0000081, 0xC0000100, 0x40000000])
def test_unknown_msrs_raise_gp(snippet32, msr):
    assert rdmsr(snippet32, msr) == ("#13", 0)
    assert wrmsr(snippet32, msr, 0) == ("#13", 0)


def test_rdtsc_follows_the_virtual_clock_and_wrmsr(snippet32):
    s = snippet32
    m = s.machine
    r1 = s.run(RDTSC)
    t1 = (r1.regs["edx"] << 32) | r1.regs["eax"]
    r2 = s.run(RDTSC)
    t2 = (r2.regs["edx"] << 32) | r2.regs["eax"]
    assert t2 > t1
    # the TSC counts virtual nanoseconds (1 GHz)
    assert abs(t2 - m.clock.tsc()) < 5_000_000_000
    # WRMSR 10h moves what RDTSC and RDMSR 10h read
    assert wrmsr(s, 0x10, 1 << 40) is None
    r3 = s.run(RDTSC)
    t3 = (r3.regs["edx"] << 32) | r3.regs["eax"]
    assert 1 << 40 <= t3 < (1 << 40) + 5_000_000_000
    assert abs(rdmsr(s, 0x10) - t3) < 5_000_000_000
    assert wrmsr(s, 0x10, t2) is None
