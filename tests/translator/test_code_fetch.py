"""Fetching code for translation leaves no trace the guest can see.

The translator reads up to 15 bytes past the end of a block's page in case an
instruction crosses into the next one.  No instruction may need those bytes,
so looking at that page must leave no trace: when it is not mapped, no page
fault (the guest must still find its own CR2: a #PF handler translated for
the first time reads CR2 after such a fetch); when it is, no accessed bit
until an instruction is fetched from it.  The translator peeks at it
(paging.ACC_PEEK).

A block whose last instruction crosses into the next page is made from two
physical pages: when the guest maps another page there, or none, the next
run must fetch again (the new bytes, or a #PF), never run the old block.

Each test runs on the baseline tier (stencils), the LLVM tier and the hot
tier (relocatable O2 from the first entry): tests/tiers.py."""
import struct

import pytest

from tier_snippets import make_snippet, tier_of

TIERS = ["baseline", "llvm", "hot"]
RUN_TIER = {"baseline": 0, "llvm": 2, "hot": 2}

pytestmark = pytest.mark.parametrize("tier", TIERS)

PD, PT = 0x20000, 0x21000
PAGE_END_CODE = 0x1FFC          # mov eax, cr2; hlt: the last 4 bytes before unmapped 0x2000


def _enable_paging_and_jump():
    return bytes.fromhex(
        "b8 00000200"       # mov eax, PD
        "0f 22 d8"          # mov cr3, eax
        "b8 78563412"       # mov eax, 0x12345678
        "0f 22 d0"          # mov cr2, eax
        "0f 20 c0"          # mov eax, cr0
        "0d 00000080"       # or eax, 0x80000000
        "0f 22 c0"          # mov cr0, eax
        "bb fc1f0000"       # mov ebx, PAGE_END_CODE
        "ff e3")            # jmp ebx


@pytest.fixture
def paged_snippet(tier, tmp_path):
    made = []

    def make(missing=None):
        s = _paged_snippet(tier, tmp_path, missing)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def _paged_snippet(tier, cache_dir, missing=None):
    """A snippet with a page table for the low 4 MB: identity-mapped, but for page `missing`."""
    s = make_snippet(tier, cache_dir)
    s.write(PD, struct.pack("<I", PT | 3))
    s.write(PT, b"".join(struct.pack("<I", 0 if k == missing else (k << 12) | 3) for k in range(1024)))
    return s


def test_fetch_past_the_page_end_keeps_the_guests_cr2(paged_snippet):
    s = paged_snippet(missing=2)
    s.write(PAGE_END_CODE, bytes.fromhex("0f 20 d0 f4"))       # mov eax, cr2; hlt
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None
    assert r.eip == PAGE_END_CODE + 4
    assert r.regs["eax"] == 0x12345678
    assert s.cpu.cr[2] == 0x12345678


def test_an_instruction_that_crosses_into_the_unmapped_page_faults_there(paged_snippet):
    s = paged_snippet(missing=2)
    s.write(PAGE_END_CODE, bytes.fromhex("90 90 90 b8"))       # nop x3; mov eax, imm32 (crosses)
    r = s.run(_enable_paging_and_jump())
    assert r.exception == 14                                   # #PF
    assert s.cpu.cr[2] == 0x2000
    assert r.eip == PAGE_END_CODE + 3                          # the faulting instruction


def _pte(s, k):
    return struct.unpack("<I", s.read(PT + 4 * k, 4))[0]


def test_fetch_past_the_page_end_sets_no_accessed_bit_there(paged_snippet):
    s = paged_snippet()
    s.write(PAGE_END_CODE, bytes.fromhex("0f 20 d0 f4"))       # mov eax, cr2; hlt
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None and r.eip == PAGE_END_CODE + 4
    assert _pte(s, 1) & 0x20                                   # the code's page: accessed
    assert not _pte(s, 2) & 0x20                               # the page after it: not


def test_an_instruction_that_crosses_into_the_next_page_sets_its_accessed_bit(paged_snippet):
    s = paged_snippet()
    s.write(PAGE_END_CODE, bytes.fromhex("90 90 90 b8 44332211 f4"))  # nop x3; mov eax, imm32 (crosses); hlt
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None and r.eip == 0x2005
    assert r.regs["eax"] == 0x11223344
    assert _pte(s, 2) & 0x20


def _write_pte(page, value):
    """mov dword [PT + 4 * page], value (paging is still off: a physical address)."""
    return bytes.fromhex("c705") + struct.pack("<II", PT + 4 * page, value)


# --- blocks made from two pages ----------------------------------------------------------------
# nop x3; mov eax, imm32 whose last 4 bytes are on the next page; hlt
CROSSING = bytes.fromhex("90 90 90 b8")
OTHER_FRAME = 0x9                   # a physical page the test maps in place of page 2


def test_a_block_crossing_into_a_remapped_page_runs_the_new_bytes(paged_snippet, tier):
    s = paged_snippet()
    s.write(PAGE_END_CODE, CROSSING + bytes.fromhex("44332211 f4"))
    s.write(OTHER_FRAME << 12, bytes.fromhex("88776655 f4"))
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None and r.regs["eax"] == 0x11223344
    assert tier_of(s, PAGE_END_CODE) == RUN_TIER[tier]
    # the guest maps another physical page at virtual page 2 and loads CR3 (TLB
    # flushed): the block's first page is unchanged, its second is another
    r = s.run(_write_pte(2, (OTHER_FRAME << 12) | 3) + _enable_paging_and_jump())
    assert r.exception is None and r.eip == 0x2005
    assert r.regs["eax"] == 0x55667788


def test_a_block_crossing_into_a_page_unmapped_since_faults(paged_snippet, tier):
    s = paged_snippet()
    s.write(PAGE_END_CODE, CROSSING + bytes.fromhex("44332211 f4"))
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None and r.regs["eax"] == 0x11223344
    r = s.run(_write_pte(2, 0) + _enable_paging_and_jump(), regs={"eax": 7})
    assert r.exception == 14 and s.cpu.cr[2] == 0x2000
    assert r.eip == PAGE_END_CODE + 3                  # the crossing instruction, nothing of it done
    # not present, read, supervisor (the I/D bit is only given with PAE and NX: SDM Vol. 3A 4.7)
    assert r.error_code == 0


def test_a_block_whose_second_page_is_written_runs_the_new_bytes(paged_snippet, tier):
    """The crossing instruction's bytes on page 2 change (a write through
    another mapping, as a loader does): the block goes with them."""
    s = paged_snippet()
    s.write(PAGE_END_CODE, CROSSING + bytes.fromhex("44332211 f4"))
    r = s.run(_enable_paging_and_jump())
    assert r.regs["eax"] == 0x11223344
    s.write(0x2000, bytes.fromhex("bbaa9988"))
    r = s.run(_enable_paging_and_jump())
    assert r.exception is None and r.regs["eax"] == 0x8899aabb
