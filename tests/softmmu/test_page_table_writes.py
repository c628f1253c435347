"""Writes to page tables (tlb.page_table_written): a page a walk read
entries from is marked PAGE_PT, and a write to it forgets the translations
other address spaces cached; the mark then goes until a walk reads the page
again, so the rest of a table being filled, or the page reused for data,
does not pay for that again on every write.  (The randomized paging stress
test checks that no stale translation survives.)"""
import struct

import pytest
from keystone import KS_ARCH_X86, KS_MODE_32, Ks

from emu.snippet import Snippet
from emu.softmmu.paging import CR0_PG, CR4_PSE
from emu.softmmu.phys import PAGE_PT

P, W, PS = 1, 2, 0x80
PD, PT = 0x100000, 0x101000          # identity-mapped by the first 4 MB page
V = 0x40000000                       # mapped through PT
DATA = 0x200000
CODE = 0x10000


@pytest.fixture
def machine():
    s = Snippet(bits=32, ram_mb=8)
    m = s.machine
    m.enter_flat32(CODE)
    m.phys.write(PD, bytes(0x2000))
    m.phys.write(PD, struct.pack("<I", 0 | PS | P | W))                # 0-4 MB: code, stack, tables
    m.phys.write(PD + (V >> 22) * 4, struct.pack("<I", PT | P | W))
    m.phys.write(PT, struct.pack("<I", DATA | P | W))
    m.phys.write(DATA, struct.pack("<I", 0x11223344))
    m.cpu.cr[4] = CR4_PSE
    m.cpu.cr[0] |= CR0_PG
    m.write_cr3(PD)
    m.flush_tlb()
    m.cpu.regs[4] = 0x90000                                            # ESP
    yield m
    s.close()


def run(m, text):
    code = bytes(Ks(KS_ARCH_X86, KS_MODE_32).asm(text + "; hlt", CODE)[0])
    m.phys.write(CODE, code)
    m.cpu.eip = CODE
    m.cpu.halted = 0
    m.exit_status = None
    assert m.run(stop_on_hlt=True) == "hlt", m.exit_message


def marked(m, page):
    return bool(m.phys.flags[page >> 12] & PAGE_PT)


def test_a_write_to_a_page_table_clears_its_mark_until_a_walk_reads_it(machine):
    m = machine
    run(m, "mov eax, [%d]" % V)                     # the walk reads PT
    assert m.cpu.regs[0] == 0x11223344
    assert marked(m, PT) and marked(m, PD)
    run(m, "mov dword ptr [%d], 7" % (PT + 0x100))  # a guest write into the table (an unused entry)
    assert not marked(m, PT) and marked(m, PD)
    assert m.cpu.asid_dirty == 1                    # the current space is flushed at the next CR3 load
    run(m, "mov dword ptr [%d], 8; mov eax, [%d]" % (PT + 0x104, V))   # TLB hit: no walk
    assert not marked(m, PT)
    assert struct.unpack("<II", m.phys.read(PT + 0x100, 8)) == (7, 8)
    run(m, "invlpg [%d]; mov eax, [%d]" % (V, V))   # the walk reads PT again
    assert marked(m, PT)


def test_the_first_write_still_makes_other_address_spaces_forget(machine):
    """Space B caches V's translation; with space A current, a write to the
    shared page table changes V's mapping: back in B, V must read the new frame."""
    m = machine
    pd_b = PD + 0x2000                              # B: the same two directory entries
    m.phys.write(pd_b, m.phys.read(PD, 0x1000))
    run(m, "mov eax, [%d]" % V)                     # A caches V -> DATA
    m.write_cr3(pd_b)
    run(m, "mov eax, [%d]" % V)                     # B caches V -> DATA
    m.phys.write(DATA + 0x1000, struct.pack("<I", 0x55667788))
    m.write_cr3(PD)
    run(m, "mov dword ptr [%d], %d; invlpg [%d]; mov eax, [%d]"
        % (PT, (DATA + 0x1000) | P | W, V, V))      # A remaps V and flushes its own entry
    assert m.cpu.regs[0] == 0x55667788
    m.write_cr3(pd_b)
    run(m, "mov eax, [%d]" % V)                     # B has no INVLPG of its own to rely on
    assert m.cpu.regs[0] == 0x55667788


def test_a_python_write_clears_the_mark_too(machine):
    """Helpers and DMA write through PhysicalMemory.write."""
    m = machine
    run(m, "mov eax, [%d]" % V)
    assert marked(m, PT)
    m.phys.write(PT + 0x200, struct.pack("<I", 9))
    assert not marked(m, PT)
    assert m.cpu.asid_dirty == 1
