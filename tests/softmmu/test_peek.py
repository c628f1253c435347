"""The side-effect-free walk (paging.ACC_PEEK, LinearMemory.peek/poke).

A peek translates as an access would but leaves the machine as it was: no
accessed or dirty bit (Intel SDM Vol. 3A 4.8), no #PF recorded (CR2, the
pending exception), no shadow page table entry, no page flagged as holding a
page table.  Each test snapshots all of that around the peeks, and the last
ones show that the ordinary accesses through the same tables do change it (so
the snapshot comparison can tell).
"""
import struct

import numpy as np
import pytest

from emu.cpu.faults import GuestFault
from emu.snippet import Snippet
from emu.softmmu.linear import translate_array
from emu.softmmu.paging import (ACC_CODE, ACC_PEEK, ACC_READ, CR0_PG, CR0_WP, CR4_PAE, CR4_PSE,
                                EFER_NXE, PTE_A, PTE_D, T_FAULT, T_OK)
from emu.softmmu.phys import PAGE_PT

P, W, U, PS = 1, 2, 4, 0x80
NX = 1 << 63
TABLES = 0x100000                  # paging structures: 0x100000-0x104fff
DATA = 0x200000                    # frames the test pages map to
BIG = 0x800000                     # a large page's frame (4 MB aligned, so 2 MB aligned too)
V = 0x40000000                     # V: read/write page, V+0x1000: read-only, V+0x2000: not present
V_BIG = 0x80000000                 # a large page (4 MB, or 2 MB with PAE)
SENTINEL = dict(cr2=0x12345678, exc_vector=0x5A, exc_error=0x1234, exc_addr=0xCAFE, exc_flags=0)


def _setup_2level(m):
    pd, pt = TABLES, TABLES + 0x1000
    m.phys.write(pd + (V >> 22) * 4, struct.pack("<I", pt | P | W))
    m.phys.write(pd + (V_BIG >> 22) * 4, struct.pack("<I", BIG | PS | P | W))
    m.phys.write(pt, struct.pack("<III", DATA | P | W, (DATA + 0x1000) | P, 0))
    return TABLES, CR4_PSE


def _setup_pae(m):
    pdpt, pd, pt = TABLES, TABLES + 0x1000, TABLES + 0x2000       # and V_BIG's directory at +0x3000
    m.phys.write(pdpt + (V >> 30) * 8, struct.pack("<Q", pd | P))
    m.phys.write(pdpt + (V_BIG >> 30) * 8, struct.pack("<Q", (pd + 0x2000) | P))
    m.phys.write(pd, struct.pack("<Q", pt | P | W))                  # V is the first 2 MB of its GB
    m.phys.write(pd + 0x2000, struct.pack("<Q", BIG | PS | P | W))    # so is V_BIG
    m.phys.write(pt, struct.pack("<QQQ", DATA | P | W, (DATA + 0x1000) | P | NX, 0))
    return TABLES, CR4_PAE


SETUPS = {"2level": _setup_2level, "pae": _setup_pae}


@pytest.fixture(scope="module")
def snippet():
    s = Snippet(bits=32, ram_mb=16)
    yield s
    s.close()


@pytest.fixture(params=sorted(SETUPS))
def machine(request, snippet):
    m = snippet.machine
    m.enter_flat32(0)
    m.phys.write(TABLES, bytes(0x5000))
    cr3, cr4 = SETUPS[request.param](m)
    m.phys.write(DATA, bytes(range(256)) * 16 + bytes(range(255, -1, -1)) * 16)
    m.phys.write(BIG, b"big page" + bytes(0x3FF0) + b"4k later")
    cpu = m.cpu
    cpu.cr[4] = cr4
    cpu.efer = EFER_NXE
    cpu.cr[0] |= CR0_PG | CR0_WP
    m.write_cr3(cr3)
    m.flush_tlb()
    for k, v in SENTINEL.items():
        if k == "cr2":
            cpu.cr[2] = v
        else:
            setattr(cpu, k, v)
    return m


def _snapshot(m):
    """Everything a walk may change: the paging structures (A/D bits), CR2 and
    the pending exception, the shadow page table, the PAGE_PT marks."""
    cpu = m.cpu
    return dict(tables=m.phys.read(TABLES, 0x5000), cr2=cpu.cr[2],
                exc=(cpu.exc_vector, cpu.exc_error, cpu.exc_addr, cpu.exc_flags),
                shadow=np.concatenate([m.mmu.shadow_key, m.mmu.shadow_val, m.mmu.shadow_gen]), pt_marks=np.flatnonzero(m.phys.flags & PAGE_PT))


def _assert_same(before, after):
    assert after["tables"] == before["tables"], "accessed/dirty bits changed"
    assert after["cr2"] == before["cr2"]
    assert after["exc"] == before["exc"]
    assert np.array_equal(after["shadow"], before["shadow"]), "shadow page table filled"
    assert np.array_equal(after["pt_marks"], before["pt_marks"]), "pages flagged PAGE_PT"


def test_peek_reads_through_the_page_tables_and_changes_nothing(machine):
    m = machine
    before = _snapshot(m)
    assert m.mem.peek(V, 4) == bytes([0, 1, 2, 3])
    assert m.mem.peek(V + 0xFFE, 4) == bytes([254, 255, 255, 254])        # 4 KB pages, crossing
    assert m.mem.peek(V_BIG, 8) == b"big page"                            # a large page
    assert m.mem.peek(V_BIG + 0x3FF8, 8) == b"4k later"                   # 4 pages into it
    assert m.mem.peek(V + 0x2000, 1) is None                              # not present
    assert m.mem.peek(V + 0x1FFF, 2) is None                              # crosses into it
    assert m.mem.peek(0x10000000, 4) is None                              # no page table there
    _assert_same(before, _snapshot(m))


def test_poke_writes_read_only_pages_and_sets_no_dirty_bit(machine):
    m = machine
    before = _snapshot(m)
    assert m.mem.poke(V + 0x1000, b"gdb!")                                # read-only, CR0.WP set
    assert m.phys.read(DATA + 0x1000, 4) == b"gdb!"
    assert not m.mem.poke(V + 0x1FFE, b"xyzw")                            # runs into V + 0x2000
    assert m.phys.read(DATA + 0x1FFE, 2) == bytes([1, 0])                 # so nothing was written
    _assert_same(before, _snapshot(m))


def test_peeks_that_would_fault_record_nothing(machine):
    m, cpu = machine, machine.cpu
    before = _snapshot(m)
    st, _, _, _ = translate_array(m.mem.state_array, V, ACC_READ | ACC_PEEK, True)     # supervisor page
    assert st == T_FAULT
    st, _, _, _ = translate_array(m.mem.state_array, V + 0x2000, ACC_CODE | ACC_PEEK, False)
    assert st == T_FAULT
    if cpu.cr[4] & CR4_PAE:
        st, _, _, _ = translate_array(m.mem.state_array, V + 0x1000, ACC_CODE | ACC_PEEK, False)
        assert st == T_FAULT                                              # execute-disable
        m.phys.write(TABLES + 0x2000 + 0x18, struct.pack("<Q", (DATA | P) | (1 << 40)))  # reserved bit
        before = _snapshot(m)
        assert m.mem.peek(V + 0x3000, 1) is None
    _assert_same(before, _snapshot(m))


def test_a_peek_answers_as_the_access_would(machine):
    m = machine
    for lin in (V, V + 0x1FFC, V_BIG + 0x123456):
        st, phys, _, _ = translate_array(m.mem.state_array, lin, ACC_READ | ACC_PEEK, False)
        assert st == T_OK
        assert int(phys) == m.mem.to_phys(lin)                            # the real walk


def test_the_real_walk_changes_what_the_snapshot_checks(machine):
    """The counterpart: ordinary accesses through the same tables set the bits,
    cache the translation and record the fault, so the tests above can fail."""
    m, cpu = machine, machine.cpu
    before = _snapshot(m)
    m.mem.write(V, b"w")
    assert m.mem.read(V_BIG, 8) == b"big page"
    after = _snapshot(m)
    assert after["tables"] != before["tables"]
    assert not np.array_equal(after["shadow"], before["shadow"])
    assert len(after["pt_marks"]) > len(before["pt_marks"])
    pae = bool(cpu.cr[4] & CR4_PAE)
    pte = struct.unpack("<Q" if pae else "<I", m.phys.read(TABLES + (0x2000 if pae else 0x1000), 8 if pae else 4))[0]
    assert pte & (PTE_A | PTE_D) == PTE_A | PTE_D
    with pytest.raises(GuestFault):
        m.mem.read(V + 0x2000, 1)
    assert cpu.cr[2] == V + 0x2000 and cpu.exc_vector == 14
