"""The translation cache: blocks by (physical pc, CS base, hflags), chaining, invalidation.

* Lookup: a dict keyed by (phys pc, cs base, hflags) for Python, and the
  native jump cache (linear pc + hflags -> entry point) the dispatcher reads.
* Chaining: a block's direct exits go through its slots.  The dispatcher
  links a slot itself when the target is in the jump cache and writes the
  link to the link log; Python links it when the dispatcher could not
  (EXIT_MISS with CpuState.link_slot set, or EXIT_LINK: the log is full).
  Every link is recorded on its target (`drain_links` reads the log first),
  so that invalidating the target can unlink it again (one pointer store).
* Invalidation: every block is listed on the physical pages its bytes came
  from, and its bytes are marked in the code bitmap; a write that touches
  marked bytes (softmmu/tlb.py) reaches `invalidate_range`.
"""
import ctypes

import numpy as np
from numba import njit

from ..softmmu import phys as P
from ..softmmu import tlb as softmmu
from .irstate import JumpEntry, jump_hash

# Two ways: a block is at its hash slot or the one beside.  2^16 entries (1 MB):
# INVLPG and a CR3 reload scan the whole table (numpy, memory-bound), about
# 0.1 ms at 2^16 and 0.3 ms at 2^18 on the development machine, and Linux does both often
JMP_CACHE_BITS = 16
LINK_LOG_SIZE = 4096            # links the dispatcher may make between two looks from Python
# Bit 0 of a jump-cache entry point (code is 16-byte aligned): the block runs
# into a second page, whose mapping can change while the first's does not, so
# no exit is linked to it and every entry comes through the jump cache, which
# INVLPG of either page empties (as QEMU does for a TB on two pages).
NO_LINK = 1


@njit(cache=True, nogil=True)
def mark_bits(bitmap, start, length, value):
    """Set (value) or clear bits [start, start + length) of a little-endian bitmap."""
    for bit in range(start, start + length):
        if value:
            bitmap[bit >> 3] |= np.uint8(1 << (bit & 7))
        else:
            bitmap[bit >> 3] &= np.uint8(~(1 << (bit & 7)) & 0xFF)


# The jump-cache tag of a block on a global page (CR4.PGE): the dispatcher
# takes it in any address space (an ASID is never 0xFFF: cpu/state.py).
GLOBAL_ASID = 0xFFF


def jump_key(hflags, asid):
    """What the dispatcher compares besides the pc: the mode and the address
    space (the ASID in bits 20..31, or GLOBAL_ASID), so a CR3 switch needs no flush."""
    return hflags | (asid << 20)


class TranslationBlock:
    __slots__ = ("key", "eip", "linear", "fn", "slots_addr", "slot_targets", "pages", "byte_ranges",
                 "incoming", "valid", "n_insns", "name", "ir_text", "insns", "size", "tier", "code")

    def __init__(self, key, eip, linear, fn, slots_addr, slot_targets, byte_ranges, n_insns, name):
        self.key = key
        self.eip = eip
        self.linear = linear
        self.fn = fn
        self.slots_addr = slots_addr
        self.slot_targets = slot_targets
        self.byte_ranges = byte_ranges          # [(phys, length)] one per page touched
        self.pages = {p >> P.PAGE_SHIFT for p, _ in byte_ranges}
        self.incoming = set()                   # slot addresses linked to this block
        self.valid = True
        self.n_insns = n_insns
        self.name = name
        self.ir_text = None
        self.insns = None
        self.size = sum(n for _, n in byte_ranges)
        self.tier = 2
        self.code = b""                         # the guest bytes it was made from

    def slot_address(self, k):
        return self.slots_addr + 8 * k

    def __repr__(self):
        return "<TB %s eip=%#x phys=%#x insns=%d>" % (self.name, self.eip, self.key[0], self.n_insns)


class TranslationCache:
    def __init__(self, phys, state):
        self.phys = phys
        self.state = state
        self.blocks = {}
        self.by_fn = {}                    # entry address -> the live block there
        self.by_page = {}                  # pfn -> set of blocks
        self.slot_owner = {}               # slot address -> (block, k)
        n = 1 << JMP_CACHE_BITS
        self.jmp_mask = n - 1
        self.jmp_cache = (JumpEntry * n)()
        self.jmp_view = np.frombuffer(self.jmp_cache, dtype=np.dtype([("pc", "<u4"), ("hflags", "<u4"),
                                                                       ("fn", "<u8")]))
        ram_bytes = phys.ram_size
        self.code_bitmap = np.zeros((ram_bytes + 7) // 8, dtype=np.uint8)
        self.tlb = softmmu.tlb_array(state)
        self.invalidations = 0
        self.link_log = np.zeros(2 * LINK_LOG_SIZE, dtype=np.uint64)
        self.env = None

    def attach(self, env, chain=True):
        """The dispatcher's Env: its jump cache and link log are this cache's
        (chain=False: the dispatcher links nothing, PYEMU_NOCHAIN)."""
        self.env = env
        env.jmp_cache = ctypes.addressof(self.jmp_cache)
        env.jmp_mask = self.jmp_mask
        env.link_log = self.link_log.ctypes.data
        env.link_cap = LINK_LOG_SIZE if chain else 0
        env.link_count = 0

    # --- lookup -------------------------------------------------------------------
    def get(self, key):
        return self.blocks.get(key)

    def add(self, tb):
        self.blocks[tb.key] = tb
        self.by_fn[tb.fn] = tb
        for k in range(len(tb.slot_targets)):
            self.slot_owner[tb.slot_address(k)] = (tb, k)
        for phys, length in tb.byte_ranges:
            pfn = phys >> P.PAGE_SHIFT
            page_set = self.by_page.get(pfn)
            if page_set is None:
                page_set = self.by_page[pfn] = set()
                if not self.phys.flags[pfn] & P.PAGE_CODE:
                    self.phys.flags[pfn] |= P.PAGE_CODE
                    softmmu.protect_code_page(self.tlb, pfn << P.PAGE_SHIFT)
            page_set.add(tb)
            self._mark(phys, length, True)

    def remember_jump(self, tb, linear, key):
        """Enter tb in the native jump cache under (linear pc, jump_key): in the
        way of its slot pair that holds the same pc or is free, else in the
        first way, the entry there moving to the second (two blocks whose pcs
        hash alike no longer drive each other out, each miss a trip to Python)."""
        pc = linear & 0xFFFFFFFF
        first, second = self._ways(linear)
        if first.fn and first.pc != pc:
            if not second.fn or second.pc == pc:
                first = second
            else:
                second.pc, second.hflags, second.fn = first.pc, first.hflags, first.fn
        first.pc = pc
        first.hflags = key
        first.fn = tb.fn | (NO_LINK if len(tb.byte_ranges) > 1 else 0)

    def _ways(self, linear):
        idx = jump_hash(linear, self.jmp_mask)
        return self.jmp_cache[idx], self.jmp_cache[idx ^ 1]

    def flush_jump_cache(self):
        self.jmp_view["fn"] = 0

    def forget_jumps_of_asid(self, asid):
        """Drop the entries of one address space (not those of global pages)."""
        v = self.jmp_view
        v["fn"][(v["hflags"] >> 20) == asid] = 0

    def forget_jumps_in_region(self, base, size):
        """Drop the entries of blocks that start in [base, base + size), or in
        the page before (a block may run into the region's first page): INVLPG."""
        v = self.jmp_view
        start = np.uint32((base - 0x1000) & 0xFFFFFFFF)
        v["fn"][((v["pc"] - start) & np.uint32(0xFFFFFFFF)) < np.uint32(size + 0x1000)] = 0

    # --- chaining -----------------------------------------------------------------
    def drain_links(self):
        """Record the links the dispatcher made (its link log) on their targets;
        undo one whose block or target has gone since."""
        env = self.env
        n = env.link_count if env is not None else 0
        if not n:
            return
        log = self.link_log[:2 * n].tolist()
        env.link_count = 0
        for i in range(0, 2 * n, 2):
            slot_addr, fn = log[i], log[i + 1]
            owner = self.slot_owner.get(slot_addr)
            target = self.by_fn.get(fn)
            if owner is None:
                continue                    # its block went with its code: nothing runs it
            if not owner[0].valid or target is None or not target.valid:
                ctypes.c_uint64.from_address(slot_addr).value = 0
            else:
                target.incoming.add(slot_addr)

    def link(self, slot_addr, target):
        self.drain_links()
        owner = self.slot_owner.get(slot_addr)
        if owner is None or not owner[0].valid or not target.valid or len(target.byte_ranges) > 1:
            return
        ctypes.c_uint64.from_address(slot_addr).value = target.fn
        target.incoming.add(slot_addr)

    # --- tiering ------------------------------------------------------------------------
    def replace(self, old, new):
        """Put `new` (same key, same bytes: a tier-2 translation) where `old` was:
        every chain slot and jump-cache entry that led to old leads to new."""
        if not old.valid or old.key != new.key:
            raise ValueError("replace: %r is not a live block of key %r" % (old, new.key))
        self.drain_links()
        old.valid = False
        self.blocks[new.key] = new
        if self.by_fn.get(old.fn) is old:
            del self.by_fn[old.fn]
        self.by_fn[new.fn] = new
        for k in range(len(old.slot_targets)):
            self.slot_owner.pop(old.slot_address(k), None)
        for k in range(len(new.slot_targets)):
            self.slot_owner[new.slot_address(k)] = (new, k)
        for slot_addr in old.incoming:
            owner = self.slot_owner.get(slot_addr)
            if owner is not None and owner[0].valid:
                ctypes.c_uint64.from_address(slot_addr).value = new.fn
                new.incoming.add(slot_addr)
        old.incoming.clear()
        for e in self._ways(old.linear):
            if e.fn & ~NO_LINK == old.fn and e.pc == old.linear:
                e.fn = new.fn | (e.fn & NO_LINK)
        for pfn in old.pages:
            page_set = self.by_page.get(pfn)
            if page_set is not None:
                page_set.discard(old)
                page_set.add(new)

    # --- invalidation ---------------------------------------------------------------
    def _mark(self, phys, length, value):
        if phys + length > self.phys.ram_size:
            return
        mark_bits(self.code_bitmap, phys, length, value)

    def invalidate(self, tb):
        if not tb.valid:
            return
        self.drain_links()
        tb.valid = False
        self.invalidations += 1
        del self.blocks[tb.key]
        if self.by_fn.get(tb.fn) is tb:
            del self.by_fn[tb.fn]
        for slot_addr in tb.incoming:
            owner = self.slot_owner.get(slot_addr)
            if owner is not None and owner[0].valid:
                ctypes.c_uint64.from_address(slot_addr).value = 0
        tb.incoming.clear()
        for k in range(len(tb.slot_targets)):
            self.slot_owner.pop(tb.slot_address(k), None)
        self._forget_jump(tb)
        for pfn in tb.pages:
            page_set = self.by_page.get(pfn)
            if page_set is not None:
                page_set.discard(tb)
                self._unmark(tb, pfn)

    def _forget_jump(self, tb):
        """A block is only ever in the jump cache in the slot pair of its linear pc."""
        for e in self._ways(tb.linear):
            if e.fn & ~NO_LINK == tb.fn and e.pc == tb.linear:
                e.fn = 0

    def _unmark(self, tb, pfn):
        """Clear the code-bitmap bits of tb's bytes on page pfn that no other
        block of the page was made from."""
        page_set = self.by_page.get(pfn)
        if not page_set:
            base = pfn << P.PAGE_SHIFT
            if base + P.PAGE_SIZE <= self.phys.ram_size:
                self.code_bitmap[base >> 3:(base + P.PAGE_SIZE) >> 3] = 0
            self.by_page.pop(pfn, None)
            self.phys.flags[pfn] &= ~np.uint8(P.PAGE_CODE)
            return
        mine = [(p, n) for p, n in tb.byte_ranges if p >> P.PAGE_SHIFT == pfn]
        for p, n in mine:
            self._mark(p, n, False)
        for other in page_set:
            for p2, n2 in other.byte_ranges:
                if any(p2 < p + n and p < p2 + n2 for p, n in mine):
                    self._mark(p2, n2, True)

    def invalidate_range(self, phys, length):
        """Drop every block made from bytes in [phys, phys+length); True if any."""
        hit = []
        first, last = phys >> P.PAGE_SHIFT, (phys + length - 1) >> P.PAGE_SHIFT
        for pfn in range(first, last + 1):
            for tb in self.by_page.get(pfn, ()):
                for start, n in tb.byte_ranges:
                    if start < phys + length and phys < start + n:
                        hit.append(tb)
                        break
        for tb in hit:
            self.invalidate(tb)
        return bool(hit)

    def flush(self):
        """Drop every block at once (a reset, breakpoints changed, a new engine)."""
        if self.env is not None:
            self.env.link_count = 0         # the slots go with their blocks: nothing to undo
        self.by_fn.clear()
        for tb in self.blocks.values():
            tb.valid = False
            tb.incoming.clear()
        self.invalidations += len(self.blocks)
        self.blocks.clear()
        self.slot_owner.clear()
        self.flush_jump_cache()
        for pfn in self.by_page:
            self.phys.flags[pfn] &= ~np.uint8(P.PAGE_CODE)
        self.by_page.clear()
        self.code_bitmap[:] = 0
