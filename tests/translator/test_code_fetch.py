"""Fetching code for translation leaves no trace the guest can see.

The translator reads up to 15 bytes past the end of a block's page in case an
instruction crosses into the next one.  No instruction may need those bytes,
so looking at that page must leave no trace: when it is not mapped, no page
fault (the guest must still find its own CR2: a #PF handler translated for
the first time reads CR2 after such a fetch); when it is, no accessed bit
until an instruction is fetched from it.  The translator peeks at it
(paging.ACC_PEEK)."""
import struct

from emu.snippet import Snippet

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


def _paged_snippet(missing=None):
    """A snippet with a page table for the low 4 MB: identity-mapped, but for page `missing`."""
    s = Snippet(bits=32)
    s.write(PD, struct.pack("<I", PT | 3))
    s.write(PT, b"".join(struct.pack("<I", 0 if k == missing else (k << 12) | 3) for k in range(1024)))
    return s


def test_fetch_past_the_page_end_keeps_the_guests_cr2():
    s = _paged_snippet(missing=2)
    try:
        s.write(PAGE_END_CODE, bytes.fromhex("0f 20 d0 f4"))       # mov eax, cr2; hlt
        r = s.run(_enable_paging_and_jump())
        assert r.exception is None
        assert r.eip == PAGE_END_CODE + 4
        assert r.regs["eax"] == 0x12345678
        assert s.cpu.cr[2] == 0x12345678
    finally:
        s.close()


def test_an_instruction_that_crosses_into_the_unmapped_page_faults_there():
    s = _paged_snippet(missing=2)
    try:
        s.write(PAGE_END_CODE, bytes.fromhex("90 90 90 b8"))       # nop x3; mov eax, imm32 (crosses)
        r = s.run(_enable_paging_and_jump())
        assert r.exception == 14                                   # #PF
        assert s.cpu.cr[2] == 0x2000
        assert r.eip == PAGE_END_CODE + 3                          # the faulting instruction
    finally:
        s.close()


def _pte(s, k):
    return struct.unpack("<I", s.read(PT + 4 * k, 4))[0]


def test_fetch_past_the_page_end_sets_no_accessed_bit_there():
    s = _paged_snippet()
    try:
        s.write(PAGE_END_CODE, bytes.fromhex("0f 20 d0 f4"))       # mov eax, cr2; hlt
        r = s.run(_enable_paging_and_jump())
        assert r.exception is None and r.eip == PAGE_END_CODE + 4
        assert _pte(s, 1) & 0x20                                   # the code's page: accessed
        assert not _pte(s, 2) & 0x20                               # the page after it: not
    finally:
        s.close()


def test_an_instruction_that_crosses_into_the_next_page_sets_its_accessed_bit():
    s = _paged_snippet()
    try:
        s.write(PAGE_END_CODE, bytes.fromhex("90 90 90 b8 44332211 f4"))  # nop x3; mov eax, imm32 (crosses); hlt
        r = s.run(_enable_paging_and_jump())
        assert r.exception is None and r.eip == 0x2005
        assert r.regs["eax"] == 0x11223344
        assert _pte(s, 2) & 0x20
    finally:
        s.close()
