"""The software TLB: native slow paths that fill it, Python calls that flush it.

Generated code looks an access up inline (emu/translator/gen.py, `_tlb_lookup`):
index by linear page, compare the entry's tag with (page of the last byte |
asid), add the entry's addend.  Anything else comes here:

* `softmmu_read` / `softmmu_write` (numba @cfunc, called from the runtime
  wrappers in emu/translator/runtime.py): walk the page tables, fill the entry
  for RAM and ROM pages, and perform the access; report MMIO and writes to
  pages holding translated code back to the wrapper, which calls Python.
* Python: `flush_all`, `flush_page`, `protect_code_page`.

A write tag is only set for a RAM page that holds no translated code and whose
page-table entry allows the write with the dirty bit already set, so every
write that needs attention (self-modifying code, dirty-bit update, ROM)
misses the fast path.
"""
import ctypes

import numpy as np
from numba import carray, cfunc, njit, types

from ..cpu.mem_status import MEM_CODE, MEM_FAULT, MEM_MMIO, MEM_OK
from ..cpu.state import INVALID_TAG, MMU_INDEXES, TLB_SIZE, CpuStateDesc, TlbEntry
from . import phys as P
from .native import read_host, state_view, u32_ptr, u64_ptr, u8_ptr, write_host
from .paging import ACC_WRITE, N_ASIDS, T_OK, translate

PAGE_MASK = 0xFFFFF000


@njit(cache=True, nogil=True)
def _fill(s, lin, phys, mmu, writable_pte, pad, host_addr, flags):
    idx = (lin >> 12) & (TLB_SIZE - 1)
    e = s.tlb[mmu, idx]
    page = np.uint32((lin & PAGE_MASK) | s.tlb_asid)
    e.tag_read = page
    e.tag_code = page
    if flags & P.PAGE_RAM and flags & (P.PAGE_CODE | P.PAGE_PT) == 0 and writable_pte:
        e.tag_write = page
    else:
        e.tag_write = INVALID_TAG
    e.phys_page = np.uint32(phys & PAGE_MASK)
    e.addend = np.uint64(host_addr) - np.uint64(lin & PAGE_MASK)
    e.pad = pad                      # TLB_GLOBAL / TLB_LARGE (paging.translate)


@njit(cache=True, nogil=True)
def page_table_written(s, phys):
    """A guest write reached the page at phys, which holds paging structures.
    Translations of other address spaces may now be stale: forget them (TLB
    entries, shadow entries by generation, jump-cache entries).  The current
    address space keeps its translations until the guest flushes them
    (INVLPG, a CR3 load), as hardware does; `asid_dirty` makes the next CR3
    load flush it.

    The page loses its PAGE_PT mark: nothing cached now comes from its
    entries except the current space's, which the next CR3 load forgets, and
    the next walk that reads an entry there marks it again.  Until then
    further writes to it (the rest of a page table being filled or cleared,
    or the page freed and reused for data) go the fast way instead of
    forgetting everything again on each one."""
    flags = carray(u8_ptr(s.phys_flags), P.PHYS_PAGES)
    pfn = phys >> np.uint64(12)
    if pfn < P.PHYS_PAGES:
        flags[pfn] &= np.uint8(~P.PAGE_PT & 0xFF)
    cur = np.uint32(s.tlb_asid)
    for mmu in range(MMU_INDEXES):
        for i in range(TLB_SIZE):
            e = s.tlb[mmu, i]
            if e.tag_read != INVALID_TAG and (e.tag_read & np.uint32(0xFFF)) != cur:
                e.tag_read = INVALID_TAG
                e.tag_write = INVALID_TAG
                e.tag_code = INVALID_TAG
    gens = carray(u32_ptr(s.asid_gen), N_ASIDS)
    for a in range(N_ASIDS):
        if a != cur:
            gens[a] += np.uint32(1)
    jc = carray(u32_ptr(s.jmp_cache), (s.jmp_mask + 1) * 4)
    for i in range(s.jmp_mask + 1):
        tag = jc[4 * i + 1] >> 20
        # a global page's block (tag 0xFFF, tbcache.GLOBAL_ASID) stays until INVLPG,
        # as its TLB entry does on hardware
        if tag != cur and tag != 0xFFF:
            jc[4 * i + 2] = 0
            jc[4 * i + 3] = 0
    s.asid_dirty = 1


@njit(cache=True, nogil=True)
def _page_info(s, phys):
    pfn = phys >> 12
    if pfn >= P.PHYS_PAGES:
        return np.uint8(0), np.uint64(0)
    flags = carray(u8_ptr(s.phys_flags), P.PHYS_PAGES)
    host = carray(u64_ptr(s.phys_host), P.PHYS_PAGES)
    return flags[pfn], host[pfn]


@njit(cache=True, nogil=True)
def _covers_code(s, phys, n):
    """Does [phys, phys + n) hold any byte a translation was made from?"""
    if phys + np.uint64(n) > s.ram_size:
        return True
    bits = carray(u8_ptr(s.code_bitmap), s.ram_size >> np.uint64(3))
    for k in range(n):
        a = phys + np.uint64(k)
        if bits[a >> np.uint64(3)] & (1 << (a & np.uint64(7))):
            return True
    return False


@njit(cache=True, nogil=True)
def _read_byte_slow(s, lin, mmu, access):
    """One byte of a page-crossing read; MMIO and unassigned bytes read as 0xFF."""
    st, phys, wr, gl = translate(s, lin, access, mmu == 1)
    if st != T_OK:
        return np.uint64(0), False
    flags, host = _page_info(s, phys)
    if flags & (P.PAGE_RAM | P.PAGE_ROM):
        return read_host(host + np.uint64(phys & 0xFFF), 1), True
    return np.uint64(0xFF), True


@njit(cache=True, nogil=True)
def read_slow(s, lin, size, mmu, access):
    s.mem_status = MEM_OK
    lin = np.uint64(lin) & np.uint64(0xFFFFFFFF)
    if (lin & 0xFFF) + size <= 4096:
        st, phys, wr, gl = translate(s, lin, access, mmu == 1)
        if st != T_OK:
            s.mem_status = MEM_FAULT
            return np.uint64(0)
        flags, host = _page_info(s, phys)
        if flags & (P.PAGE_RAM | P.PAGE_ROM):
            _fill(s, lin, phys, mmu, wr, gl, host, flags)
            return read_host(host + np.uint64(phys & 0xFFF), size)
        s.exc_addr = phys
        s.mem_status = MEM_MMIO
        return np.uint64(0)
    # crossing a page boundary: check both pages before reading anything
    v = np.uint64(0)
    for k in range(size):
        b, ok = _read_byte_slow(s, (lin + np.uint64(k)) & np.uint64(0xFFFFFFFF), mmu, access)
        if not ok:
            s.mem_status = MEM_FAULT
            return np.uint64(0)
        v |= b << np.uint64(8 * k)
    return v


@njit(cache=True, nogil=True)
def write_slow(s, lin, size, value, mmu):
    s.mem_status = MEM_OK
    lin = np.uint64(lin) & np.uint64(0xFFFFFFFF)
    last = (lin + np.uint64(size - 1)) & np.uint64(0xFFFFFFFF)
    # translate every page first, so a fault on the second page writes nothing
    st, phys0, wr0, gl0 = translate(s, lin, ACC_WRITE, mmu == 1)
    if st != T_OK:
        s.mem_status = MEM_FAULT
        return
    crossing = (lin >> 12) != (last >> 12)
    phys1 = phys0
    if crossing:
        st, phys1, wr1, gl1 = translate(s, last & np.uint64(PAGE_MASK), ACC_WRITE, mmu == 1)
        if st != T_OK:
            s.mem_status = MEM_FAULT
            return
    flags0, host0 = _page_info(s, phys0)
    flags1, host1 = _page_info(s, phys1)
    # a page holding translations: only bytes that were translated need Python
    n0 = size if not crossing else 4096 - int(lin & 0xFFF)
    if flags0 & P.PAGE_CODE and _covers_code(s, phys0, n0):
        s.exc_addr = phys0
        s.mem_status = MEM_CODE
        return
    if crossing and flags1 & P.PAGE_CODE and _covers_code(s, phys1 & np.uint64(PAGE_MASK), size - n0):
        s.exc_addr = phys1 & np.uint64(PAGE_MASK)
        s.mem_status = MEM_CODE
        return
    if not crossing:
        if flags0 & P.PAGE_RAM:
            if flags0 & P.PAGE_CODE == 0:
                _fill(s, lin, phys0, mmu, wr0, gl0, host0, flags0)
            write_host(host0 + np.uint64(phys0 & 0xFFF), size, np.uint64(value))
            if flags0 & P.PAGE_PT:
                page_table_written(s, phys0)
        elif flags0 & P.PAGE_ROM:
            _fill(s, lin, phys0, mmu, False, gl0, host0, flags0)   # writes to ROM are ignored
        else:
            s.exc_addr = phys0
            s.mem_status = MEM_MMIO
        return
    for k in range(size):
        a = (lin + np.uint64(k)) & np.uint64(0xFFFFFFFF)
        if (a >> 12) == (lin >> 12):
            ph, fl, ho = phys0 + np.uint64(k), flags0, host0
        else:
            ph, fl, ho = (phys1 & np.uint64(PAGE_MASK)) + (a & np.uint64(0xFFF)), flags1, host1
        if fl & P.PAGE_RAM:
            write_host(ho + np.uint64(ph & 0xFFF), 1, (np.uint64(value) >> np.uint64(8 * k)) & np.uint64(0xFF))
    if flags0 & P.PAGE_PT:
        page_table_written(s, phys0)
    if flags1 & P.PAGE_PT:
        page_table_written(s, phys1)


_sig_read = types.uint64(types.voidptr, types.uint32, types.uint32, types.uint32)
_sig_write = types.void(types.voidptr, types.uint32, types.uint32, types.uint64, types.uint32)


@cfunc(_sig_read, cache=True, nogil=True)
def softmmu_read(sp, lin, size, mmu_access):
    """Slow-path read; mmu_access = mmu index | access << 4."""
    st = state_view(sp)
    return read_slow(st[0], lin, size, mmu_access & 0xF, mmu_access >> 4)


@cfunc(_sig_write, cache=True, nogil=True)
def softmmu_write(sp, lin, size, value, mmu):
    st = state_view(sp)
    write_slow(st[0], lin, size, value, mmu)


# --- Python side ------------------------------------------------------------------

def tlb_array(state):
    """A numpy view of the state's TLB entries, shape (MMU_INDEXES, TLB_SIZE)."""
    dt = np.dtype(TlbEntry.ctype())
    addr = ctypes.addressof(state) + CpuStateDesc.offset("tlb")
    buf = (ctypes.c_uint8 * (dt.itemsize * MMU_INDEXES * TLB_SIZE)).from_address(addr)
    return np.frombuffer(buf, dtype=dt).reshape(MMU_INDEXES, TLB_SIZE)


def flush_all(tlb):
    tlb["tag_read"] = INVALID_TAG
    tlb["tag_write"] = INVALID_TAG
    tlb["tag_code"] = INVALID_TAG


def flush_page(tlb, lin):
    idx = (lin >> 12) & (TLB_SIZE - 1)
    page = lin & PAGE_MASK
    for mmu in range(MMU_INDEXES):
        e = tlb[mmu, idx]
        if (int(e["tag_read"]) & PAGE_MASK) == page or (int(e["tag_write"]) & PAGE_MASK) == page:
            tlb[mmu, idx]["tag_read"] = INVALID_TAG
            tlb[mmu, idx]["tag_write"] = INVALID_TAG
            tlb[mmu, idx]["tag_code"] = INVALID_TAG


def protect_code_page(tlb, phys_page):
    """Drop write permission from every entry mapping physical page phys_page."""
    hit = tlb["phys_page"] == np.uint32(phys_page & PAGE_MASK)
    tlb["tag_write"][hit] = INVALID_TAG


