"""Address spaces: ASID allocation, the shadow page table's storage, and the
architectural flushes (CR3 loads, INVLPG, paging-mode changes).

Each distinct CR3 gets an address-space id (ASID) that tags TLB entries,
shadow entries and jump-cache keys, so switching back to an address space
finds its translations still there.  That is only safe because writes to
page tables are tracked (paging.py / tlb.page_table_written): a write while
another address space is current cannot leave stale translations behind.
Architectural rules kept: a CR3 load flushes the non-global translations the
outgoing address space cached while its page tables changed (the hardware
would have flushed them all), reloading the same CR3 flushes its non-global
translations, global pages (CR4.PGE) survive CR3 loads, INVLPG flushes one
page (global or not), and paging-mode changes flush everything.
"""
from collections import OrderedDict

import numpy as np
from numba import njit

from ..cpu.state import ASID_MAX, INVALID_TAG
from .native import STATE_DTYPE
from .paging import LARGE_REGION, N_ASIDS, SHADOW_SIZE, TLB_GLOBAL, TLB_LARGE, shadow_forget_large
from .phys import PAGE_PT
from .tlb import page_table_written, tlb_array

TAG_PAGE = 0xFFFFF000
CR3_KEY = 0xFFFFFFE0          # the page directory (or PAE PDPT) address names the space


@njit(cache=True)
def _pt_written(state_array, phys):
    page_table_written(state_array[0], np.uint64(phys))


@njit(cache=True)
def _forget(state_array, vpn):
    shadow_forget_large(state_array[0], vpn)


class Mmu:
    def __init__(self, cpu, phys, jump_cache):
        self.cpu = cpu
        self.phys = phys
        self.jump = jump_cache            # tbcache.TranslationCache (its jump cache)
        self.state_array = np.frombuffer(cpu, dtype=STATE_DTYPE, count=1)
        self.tlb = tlb_array(cpu)
        self.shadow_key = np.zeros(SHADOW_SIZE, dtype=np.uint64)
        self.shadow_val = np.zeros(SHADOW_SIZE, dtype=np.uint64)
        self.shadow_gen = np.zeros(SHADOW_SIZE, dtype=np.uint32)
        self.asid_gen = np.ones(N_ASIDS, dtype=np.uint32)
        cpu.shadow_key = self.shadow_key.ctypes.data
        cpu.shadow_val = self.shadow_val.ctypes.data
        cpu.shadow_gen = self.shadow_gen.ctypes.data
        cpu.asid_gen = self.asid_gen.ctypes.data
        cpu.jmp_cache = jump_cache.jmp_view.ctypes.data
        cpu.jmp_mask = jump_cache.jmp_mask
        self.asids = OrderedDict()        # CR3 page -> ASID, least recently used first
        phys.page_table_hook = self.page_table_written
        self.flushes = 0

    # --- address spaces ------------------------------------------------------------------
    def _asid_for(self, cr3):
        key = cr3 & CR3_KEY
        asid = self.asids.get(key)
        if asid is not None:
            self.asids.move_to_end(key)
            return asid
        if len(self.asids) < ASID_MAX:
            asid = len(self.asids) + 1
        else:
            _, asid = self.asids.popitem(last=False)
            self.forget_asid(asid)
        self.asids[key] = asid
        return asid

    def forget_asid(self, asid, keep_global=False):
        """Drop an address space's translations (TLB, shadow, jump cache)."""
        t = self.tlb
        tags = t["tag_read"]
        hit = (tags != INVALID_TAG) & ((tags & 0xFFF) == asid)
        if keep_global:
            hit &= (t["pad"] & TLB_GLOBAL) == 0
        for f in ("tag_read", "tag_write", "tag_code"):
            t[f][hit] = INVALID_TAG
        self.asid_gen[asid] += 1
        self.jump.forget_jumps_of_asid(asid)
        self.flushes += 1

    def write_cr3(self, value, paging):
        cpu = self.cpu
        old_cr3 = cpu.cr[3]
        cpu.cr[3] = value
        if not paging:
            return
        old = cpu.tlb_asid
        if cpu.asid_dirty and old:
            self.forget_asid(old, keep_global=True)
        cpu.asid_dirty = 0
        if (value & CR3_KEY) == (old_cr3 & CR3_KEY) and old:
            self.forget_asid(old, keep_global=True)     # a CR3 reload flushes its own translations
            return
        new = self._asid_for(value)
        cpu.tlb_asid = new
        self._retag_global(old, new)

    def _retag_global(self, old, new):
        """Global pages stay in the TLB across CR3 loads: move them to the new ASID."""
        if not old or old == new:
            return
        t = self.tlb
        glob = (t["pad"] & TLB_GLOBAL) != 0
        for f in ("tag_read", "tag_write", "tag_code"):
            tags = t[f]
            hit = glob & (tags != INVALID_TAG) & ((tags & 0xFFF) == old)
            tags[hit] = (tags[hit] & TAG_PAGE) | new

    def paging_enabled(self, enabled):
        """CR0.PG changed: paging on uses the ASID of CR3, paging off ASID 0."""
        self.cpu.tlb_asid = self._asid_for(self.cpu.cr[3]) if enabled else 0
        self.flush_all()

    # --- flushes ------------------------------------------------------------------------------
    def flush_all(self):
        """Everything cached about translations goes (paging-mode changes, A20)."""
        t = self.tlb
        for f in ("tag_read", "tag_write", "tag_code"):
            t[f] = INVALID_TAG
        self.asid_gen += 1
        self.jump.flush_jump_cache()
        self.phys.flags &= ~np.uint8(PAGE_PT)     # tracking restarts with the next walks
        self.cpu.asid_dirty = 0
        self.flushes += 1

    def invlpg(self, lin):
        """Drop the translations of the page holding lin, whatever its size
        (SDM Vol. 3A 4.10.4.1): a 4 KB TLB entry cut from a 4 MB or 2 MB page
        goes with every other entry of that large page in the 4 MB region
        (flushing more than the page is allowed)."""
        t = self.tlb
        idx = (lin >> 12) & (t.shape[1] - 1)
        page = lin & TAG_PAGE
        for mmu in range(t.shape[0]):
            if (int(t[mmu, idx]["tag_read"]) & TAG_PAGE) == page or \
                    (int(t[mmu, idx]["tag_code"]) & TAG_PAGE) == page:
                for f in ("tag_read", "tag_write", "tag_code"):
                    t[f][mmu, idx] = INVALID_TAG
        tags = t["tag_read"]
        large = ((t["pad"] & TLB_LARGE) != 0) & (tags != INVALID_TAG) & \
            ((tags & LARGE_REGION) == (lin & LARGE_REGION))
        if large.any():
            for f in ("tag_read", "tag_write", "tag_code"):
                t[f][large] = INVALID_TAG
        _forget(self.state_array, lin >> 12)
        # the blocks reached through the page: the whole large-page region, since
        # a block's entry may have come from a large page (the TLB may have let
        # its entry go since)
        self.jump.forget_jumps_in_region(lin & LARGE_REGION, (~LARGE_REGION & 0xFFFFFFFF) + 1)

    def page_table_written(self, phys):
        """A Python write (a helper, DMA) reached the page-table page at phys."""
        _pt_written(self.state_array, phys)
