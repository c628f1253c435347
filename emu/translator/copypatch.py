"""Blocks by copy-and-patch: the baseline tier, hot blocks at O2, the translation cache.

Every block the translator makes here lives in one executable arena
(cnp.Arena):

- the first time a block runs it is made of stencils (baseline/tier.py),
  unless the translation cache (codecache.py) already has its O2 code: a
  block that was hot in this or an earlier run starts at tier 2;
- a baseline block whose head counts `hot_threshold` entries leaves with
  EXIT_HOT; `tier_up` hands it to the O2 compiler thread (compiler.py) and
  the guest goes on in the baseline code; `install` (called at the run
  loop's turns) puts finished O2 code in its place
  (TranslationCache.replace: chain slots and jump-cache entries follow);
- when the arena is full every block goes (Translator.flush_all) and is made
  again when next run, from the cache where it can.

Translator (translator.py) uses this whenever the host supports it and no
per-block log (-d in_asm, ...) or debugger breakpoint needs LLVM's own
blocks.
"""
import numpy as np

from .baseline import coldpath
from .baseline.coldpath import C_PHYS0, C_PHYS1
from .baseline.tier import BaselineTier
from .block import Insn
from .cnp import Arena, Emitter
from .codecache import CodeCache
from .compiler import BackgroundCompiler, Job
from .hot import block_key as hot_key, hole_values

SLOTS_BYTES = 16


class HotBlock:
    __slots__ = ("entry", "data", "n_insns", "slot_targets")

    def __init__(self, entry, data, n_insns, slot_targets):
        self.entry = entry
        self.data = data
        self.n_insns = n_insns
        self.slot_targets = slot_targets


class CopyPatchTiers:
    def __init__(self, runtime_symbols, cpu_addr, hot_threshold, cache_dir, cache_enabled, max_insns):
        """hot_threshold None: baseline only (PYEMU_TIER=0), no tier-up."""
        self.arena = Arena()
        self.runtime_symbols = runtime_symbols
        self.baseline = BaselineTier(runtime_symbols, self.arena, cpu_addr, hot_threshold, max_insns)
        self.tiering = hot_threshold is not None
        self.cache = CodeCache(cache_dir, enabled=cache_enabled)
        self.compiler = BackgroundCompiler()
        self._emitter = None
        self._generation = -1
        self.hot_hits = 0               # blocks that started at tier 2 from the cache
        self.installed = 0              # baseline blocks replaced by their O2 code

    # --- making a block -------------------------------------------------------------------------
    def make(self, linear, eip, cs_base, hflags, user):
        """The block at linear: (status, block, tier, fetch) with status one of
        coldpath's; block and tier for OK (a BaselineBlock, 0) and HOT (a
        HotBlock from the translation cache, 2); fetch = (physical address of
        the first page, bytes on it, the page is global, physical address of
        the next page or -1, bytes of code).  cnp.ArenaFull when there is no room."""
        b = self.baseline
        if self.tiering:
            b.bind_hot(self.cache.table)
        status = b.make(linear, eip, cs_base, hflags, user)
        out = b.cold.out.tolist()
        phys0, first, global_page, _, phys1 = b.cold.ctx[C_PHYS0:C_PHYS1 + 1].tolist()
        fetch = (phys0, first, global_page, phys1, out[3])
        if status == coldpath.OK:
            return status, b.block(out), 0, fetch
        if status == coldpath.HOT:
            entry = self.cache.entry_at(out[7])
            self.hot_hits += 1
            return status, self._place_hot(entry, hole_values(b.records, entry.n_insns), eip), 2, fetch
        return status, None, None, fetch

    def fetched(self, nbytes):
        """The guest bytes of the block make() just made."""
        return self.baseline.cold.buf[:nbytes].tobytes()

    def _hot_emitter(self):
        c = self.cache
        if self._generation != c.generation:
            self._emitter = Emitter(c.library, self.arena, self.runtime_symbols)
            self._generation = c.generation
        return self._emitter

    def _place_hot(self, entry, values_by_role, eip):
        """Lay out a cached O2 block with these hole values ({role: value})."""
        emitter = self._hot_emitter()
        lib = self.cache.library
        values = np.zeros((1, len(lib.roles)), dtype=np.uint32)
        ids = self.cache.role_ids()
        for role, v in values_by_role.items():
            rid = ids.get(role)
            if rid is not None:             # O2 may have dropped a dead operand's use
                values[0, rid] = v
        addrs = np.zeros((1, len(lib.addr_names)), dtype=np.uint64)
        data = self.arena.alloc_data(SLOTS_BYTES)
        addrs[0, lib.addr_id("slots")] = data
        emission = emitter.emit(np.array([self.cache.sid(entry)], dtype=np.int32), values, addrs)
        targets = [(eip + d) & 0xFFFFFFFF for d in entry.exits]
        return HotBlock(emission.start, data, entry.n_insns, targets)

    # --- tiering up ---------------------------------------------------------------------------
    def tier_up(self, old, recs, eip, cs_base, hflags, linear, code):
        """EXIT_HOT from baseline block `old` (records 0..old.n_insns-1 decoded
        again): its O2 code from the cache now, else compiled in the background
        and installed later.  Returns a new block to put in old's place, or None."""
        m = old.n_insns
        key = hot_key(recs, m, hflags, cs_base)
        values = hole_values(recs, m)
        entry = self.cache.get(key)
        if entry is not None:
            return self._place_hot(entry, values, eip)
        if not self.compiler.pending(key):
            insns = [Insn(recs[i], i) for i in range(m)]
            self.compiler.submit(Job(key, insns, cs_base, hflags, (old.key, code, values, eip)))
        return None

    def finished(self):
        """Jobs whose O2 block was compiled since the last call (now in the cache)."""
        jobs = [j for j in self.compiler.finished() if j.result is not None]
        if not jobs:
            return []
        libs = {}
        for job in jobs:
            lib, entry = job.result
            libs.setdefault(id(lib), (lib, []))[1].append(entry)
        for lib, entries in libs.values():
            self.cache.add(lib, entries)
        return jobs

    def place_finished(self, job):
        """The HotBlock of a finished job (for the block job.where names)."""
        _, entry = job.result
        _, _, values, eip = job.where
        return self._place_hot(entry, values, eip)

    def flush(self):
        self.arena.reset()

    def close(self):
        self.compiler.stop()
        self.cache.save()
        self.baseline.stencils.save()
        self.arena.close()
