"""Exceptions are precise on every tier: a fault in the middle of a block
leaves every register, flag and byte of memory as it was before the faulting
instruction, with EIP pointing at it, and the instructions before it done.

Each test runs on the baseline tier (stencils), on the LLVM tier (O2 per
block) and on the hot tier (relocatable O2 code from the first entry:
tests/tiers.py), and checks that the faulting block ran on that tier."""
import struct

import pytest

from emu.cpu import hflags as H
from emu.snippet import CODE_ADDR
from tier_snippets import PAGING_ON, map_low_4mb, tier_of

TIERS = ["baseline", "llvm", "hot"]
RUN_TIER = {"baseline": 0, "llvm": 2, "hot": 2}     # a block's tier once it has run
ARITH = H.CF | H.PF | H.AF | H.ZF | H.SF | H.OF

pytestmark = pytest.mark.parametrize("tier", TIERS)


def test_divide_error_mid_block_keeps_earlier_results_and_nothing_after(tier_snippet, tier):
    s = tier_snippet(tier)
    # inc eax; add ebx, 5; div ecx (ecx = 0); mov edx, 7
    code = bytes.fromhex("40 83c305 f7f1 ba07000000")
    r = s.run(code, regs={"eax": 10, "ebx": 1, "ecx": 0, "edx": 0})
    assert r.exception == 0
    assert r.eip == CODE_ADDR + 4                  # the DIV itself
    assert r.regs["eax"] == 11 and r.regs["ebx"] == 6 and r.regs["edx"] == 0
    # the flags are those of the ADD: 1 + 5 = 6 -> PF set, no carry
    assert r.eflags & ARITH == H.PF
    assert tier_of(s, CODE_ADDR) == RUN_TIER[tier]


def test_fault_in_first_instruction_changes_nothing(tier_snippet, tier):
    s = tier_snippet(tier)
    r = s.run(bytes.fromhex("f7f1"), regs={"eax": 3, "ecx": 0, "edx": 9}, eflags=H.FIXED_ONE | H.CF)
    assert r.exception == 0 and r.eip == CODE_ADDR
    assert r.regs["eax"] == 3 and r.regs["edx"] == 9 and r.eflags & H.CF


def test_instruction_count_excludes_the_faulting_instruction(tier_snippet, tier):
    s = tier_snippet(tier)
    r = s.run(bytes.fromhex("40 40 40 f7f1 40"), regs={"ecx": 0})
    assert r.exception == 0
    assert r.instructions == 3
    assert tier_of(s, CODE_ADDR) == RUN_TIER[tier]


def test_undefined_opcode_raises_ud_at_its_address(tier_snippet, tier):
    s = tier_snippet(tier)
    r = s.run(bytes.fromhex("40 0fff 40"))
    assert r.exception == 6 and r.eip == CODE_ADDR + 1 and r.regs["eax"] == 1


# --- page faults and #GP in the middle of a block ------------------------------------------------
UNMAPPED = 0x5000                   # page 5: not present


def _paged(tier_snippet, tier):
    s = tier_snippet(tier)
    map_low_4mb(s, missing={UNMAPPED >> 12})
    return s


@pytest.mark.parametrize("access,error_code", [("store", 2), ("load", 0)])
def test_page_fault_mid_block_is_precise(tier_snippet, tier, access, error_code):
    s = _paged(tier_snippet, tier)
    start = CODE_ADDR + len(PAGING_ON)
    # inc esi; add ebx, ecx; mov [edi+4], esi | mov ebp, [edi+4]; mov edx, 7
    body = bytes.fromhex("46 01cb") + (bytes.fromhex("897704") if access == "store" else bytes.fromhex("8b6f04")) \
        + bytes.fromhex("ba07000000")
    r = s.run(PAGING_ON + body, regs={"esi": 41, "ebx": 0xFFFFFFFF, "ecx": 2, "edx": 5, "ebp": 9,
                                      "edi": UNMAPPED + 0x100})
    assert r.exception == 14 and r.error_code == error_code
    assert r.eip == start + 3                       # the MOV
    assert s.cpu.cr[2] == UNMAPPED + 0x104
    assert (r.regs["esi"], r.regs["ebx"], r.regs["edx"], r.regs["ebp"]) == (42, 1, 5, 9)
    # the flags of the ADD: 0xFFFFFFFF + 2 carries, gives 1 (odd parity), AF set
    assert r.eflags & ARITH == H.CF | H.AF
    assert tier_of(s, start) == RUN_TIER[tier]


def test_rep_movsd_faulting_midway_keeps_the_iterations_done(tier_snippet, tier):
    s = _paged(tier_snippet, tier)
    start = CODE_ADDR + len(PAGING_ON)
    src, dst = 0x6000, UNMAPPED - 8                 # two dwords fit before the unmapped page
    s.write(src, struct.pack("<4I", 0x11111111, 0x22222222, 0x33333333, 0x44444444))
    s.write(dst, bytes(8))
    # inc ebx; cld; rep movsd; mov edx, 7
    r = s.run(PAGING_ON + bytes.fromhex("43 fc f3a5 ba07000000"),
              regs={"ebx": 1, "ecx": 4, "esi": src, "edi": dst, "edx": 5})
    assert r.exception == 14 and r.error_code == 2
    assert r.eip == start + 2                       # the REP MOVSD, to be restarted
    assert s.cpu.cr[2] == UNMAPPED
    assert (r.regs["ecx"], r.regs["esi"], r.regs["edi"]) == (2, src + 8, dst + 8)
    assert (r.regs["ebx"], r.regs["edx"]) == (2, 5)
    assert s.read(dst, 8) == struct.pack("<2I", 0x11111111, 0x22222222)
    assert tier_of(s, start) == RUN_TIER[tier]


def test_general_protection_mid_block_has_the_selector_as_error_code(tier_snippet, tier):
    s = tier_snippet(tier)
    s.cpu.gdtr.base, s.cpu.gdtr.limit = 0x3000, 0x17          # three descriptors: 0x28 is past the end
    # mov ecx, 0x28; sub ebx, 1; mov ds, cx; mov edx, 7
    r = s.run(bytes.fromhex("b928000000 83eb01 8ed9 ba07000000"), regs={"ebx": 0, "edx": 5})
    assert r.exception == 13 and r.error_code == 0x28
    assert r.eip == CODE_ADDR + 8
    assert (r.regs["ecx"], r.regs["ebx"], r.regs["edx"]) == (0x28, 0xFFFFFFFF, 5)
    assert r.eflags & ARITH == H.CF | H.SF | H.PF | H.AF  # 0 - 1
    assert s.cpu.seg[3].selector == 0x10                    # DS unchanged
    assert tier_of(s, CODE_ADDR) == RUN_TIER[tier]
