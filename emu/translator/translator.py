"""Translate the block at the CPU's current EIP: fetch, decode, emit IR, compile, cache.

Two tiers (DESIGN.md "Performance"; benchmarks/translate.py has the figures):

  tier 1  code seen for the first time: the block's IR compiled cheaply (jit.TIERS),
          with an execution counter in its prologue;
  tier 2  a tier-1 block entered `hot_threshold` times leaves with EXIT_HOT
          and is translated again at O2, replacing the tier-1 code in place
          (chain slots, jump cache: TranslationCache.replace).

Both tiers come from the same semantics through the same block builder, so
they differ only in LLVM's optimisation.  Every compiled object goes through
the on-disk object cache (objcache.py) and, within a run, is kept per engine
by its key, so a block translated again (after self-modifying code put the
same bytes back, or a flush) is not compiled twice.  A block whose tier-2
object is already in the disk cache starts at tier 2.

PYEMU_TIER=1 or 2 forces one tier for every block (bisecting, tests);
PYEMU_HOT=N sets the tier-up threshold.
"""
import ctypes
import gc
import os
import platform
import sys
import time

import llvmlite.ir as ir
import numpy as np

from ..cpu import hflags as H
from ..cpu.state import CS
from ..frontend import tables as T
from ..frontend.decoder import decode_block, new_records
from ..softmmu import phys as P
from ..softmmu.linear import translate_array
from ..softmmu.native import STATE_DTYPE
from ..softmmu.paging import ACC_CODE, ACC_PEEK, T_OK
from .block import Insn, emit_block
from .errors import TranslationError
from .gen import IRGen
from .copypatch import CopyPatchTiers
from .exits import EXIT_DEBUG
from .jit import JitEngine
from .runtime import runtime
from .objcache import ObjectCache, objects_root
from ..softmmu.paging import TLB_GLOBAL
from .tbcache import GLOBAL_ASID, TranslationBlock, TranslationCache, jump_key
from .baseline import coldpath as cp_status
from .cnp import ArenaFull


# -d items that log every block's translation or entry: LLVM makes those blocks
# (they print its IR and host code, or call a tracer at entry)
BLOCK_LOG_ITEMS = frozenset(("in_asm", "op", "op_opt", "out_asm", "exec", "cpu"))


def baseline_supported():
    """Copy-and-patch needs relocations it knows (x86-64, AArch64) and a
    little-endian host (holes.py: the 8-bit registers' offsets)."""
    return sys.byteorder == "little" and platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64")

MAX_BLOCK_INSNS = 64
# Tier up when a block has cost about as much running at tier 1 as its tier-2
# compilation will (the "ski rental" rule, which is never worse than twice the
# best choice made in hindsight).  Measured here: O2 costs ~2 ms of LLVM per
# guest instruction of the block; O0 code runs ~0.4 ns per instruction slower
# than O2 code, so break-even is some millions of entries whatever the block's
# length.  2^20 errs early (the O0 slowdown varies with the code); it keeps
# most of the saving for loops that run many millions of times and compiles
# nothing twice for code that runs thousands of times (most of a boot).
DEFAULT_HOT_THRESHOLD = 1 << 20
# From the baseline tier (stencils) the same rule gives fewer entries: a
# block of stencils runs several times slower than its O2 code.
BASELINE_HOT_THRESHOLD = 1 << 16


def tier_from_env():
    """PYEMU_TIER: 0 (or "baseline"), 1 or 2 forces that tier for every block;
    unset (or "auto"): tiering."""
    v = os.environ.get("PYEMU_TIER", "").strip()
    if v in ("", "auto"):
        return None
    if v == "baseline":
        return 0
    if v not in ("0", "1", "2"):
        raise ValueError("PYEMU_TIER must be 0 (baseline), 1, 2 or unset, not %r" % v)
    return int(v)


def baseline_from_env():
    """PYEMU_BASELINE=0 translates without the baseline tier (per-block LLVM
    first, the portable way, as on a host copy-and-patch does not support)."""
    v = os.environ.get("PYEMU_BASELINE", "").strip()
    if v not in ("", "0", "1"):
        raise ValueError("PYEMU_BASELINE must be 0 or 1, not %r" % v)
    return v != "0"


def hot_threshold_from_env(default=DEFAULT_HOT_THRESHOLD):
    v = os.environ.get("PYEMU_HOT", "").strip()
    try:
        n = int(v) if v else default
    except ValueError:
        raise ValueError("PYEMU_HOT must be a number of executions, not %r" % v) from None
    return max(1, min(n, 0x7FFFFFFF))


class _Compiled:
    """A block's code loaded into this translator's engine (addresses of its symbols)."""
    __slots__ = ("fn", "slots", "count", "n_insns", "slot_targets", "name", "ir_text", "llmod", "owner")

    def __init__(self, addrs, name, header):
        self.fn = addrs[name]
        self.slots = addrs[name + "_slots"]
        self.count = addrs.get(name + "_count", 0)
        self.n_insns = header["n_insns"]
        self.slot_targets = list(header["slot_targets"])
        self.name = name
        self.ir_text = None
        self.llmod = None
        self.owner = None               # the live block running this code

    def reset(self):
        """Unlinked slots and a zero count, as when first loaded (reused code)."""
        for k in range(len(self.slot_targets)):
            ctypes.c_uint64.from_address(self.slots + 8 * k).value = 0
        if self.count:
            ctypes.c_uint32.from_address(self.count).value = 0


_frozen = False


def _freeze_startup_objects():
    """Once per process: move what exists at the first translator (modules, numba's
    compiled functions, tables) out of the GC's generations, so that the full
    collections translation sets off do not walk them again and again.  No
    collection first: it found ~300 garbage objects among ~130,000 at a restore
    and cost 50 ms of it; freezing those few is cheaper than looking for them."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def _valid_header(h, name):
    try:
        return (h.get("name") == name and isinstance(h["n_insns"], int) and h["n_insns"] >= 0
                and isinstance(h["slot_targets"], list) and len(h["slot_targets"]) <= 2
                and all(isinstance(t, int) for t in h["slot_targets"]) and isinstance(h.get("count"), bool))
    except (KeyError, TypeError, AttributeError):
        return False


def _symbols(name, header):
    return (name, name + "_slots") + ((name + "_count",) if header["count"] else ())


class CodeFetchFault(Exception):
    """Fetching the next instruction faulted; the exception is recorded in the CPU state."""


def block_key(phys, cs_base, hflags, eip):
    """What identifies a translated block.  The EIP belongs in it besides the
    physical address: blocks have their EIPs (branch targets, the next
    instruction) built in, and one physical page can be mapped at several
    virtual addresses (Linux maps its vDSO page at a different address in
    every process)."""
    return (phys, cs_base, hflags, eip)


class Translator:
    def __init__(self, phys, cpu, log=None, ir_opt=None, codegen_opt=None, tier=None,
                 hot_threshold=None, objcache=None):
        self.phys = phys
        self.cpu = cpu
        self.state_array = np.frombuffer(cpu, dtype=STATE_DTYPE, count=1)
        self.engine = JitEngine(ir_opt=ir_opt, codegen_opt=codegen_opt)
        self.cache = TranslationCache(phys, cpu)
        self.objcache = objcache if objcache is not None else ObjectCache()
        self.tier = tier if tier is not None else tier_from_env()
        self.cp = None                  # copy-and-patch: the baseline tier, O2 in the background (copypatch.py)
        block_log = log is not None and bool(log.items & BLOCK_LOG_ITEMS)
        if self.tier in (None, 0) and not block_log and baseline_from_env() and baseline_supported():
            self.hot_threshold = hot_threshold or hot_threshold_from_env(BASELINE_HOT_THRESHOLD)
            self.cp = CopyPatchTiers(runtime().symbols, ctypes.addressof(cpu),
                                     None if self.tier == 0 else self.hot_threshold,
                                     objects_root(), self.objcache.enabled, MAX_BLOCK_INSNS)
        else:
            if self.tier == 0:
                self.tier = 1           # no baseline here: its place is LLVM's first tier
            self.hot_threshold = hot_threshold or hot_threshold_from_env()
        self.records = new_records(MAX_BLOCK_INSNS)
        self.log = log
        self.blocks_translated = 0      # blocks made for code not seen before (any tier)
        self.baseline_blocks = 0        # of which made of stencils
        self.tier_ups = 0               # tier-1 blocks replaced by their tier-2 translation
        self.compiled = 0               # objects LLVM compiled (the rest came from a cache)
        self.translate_seconds = 0.0    # decode + IR + LLVM + load, first translations
        self.tier_up_seconds = 0.0
        self.flushes = 0                # times every block went to make room (make_room)
        self.trace = bool(log and (log.enabled("exec") or log.enabled("cpu")))
        self.breakpoints = set()        # linear addresses a debugger stops at
        self._loaded = {}               # object cache key -> [_Compiled] loaded in this engine
        _freeze_startup_objects()

    # --- code fetch -------------------------------------------------------------------
    def code_phys(self, linear, user):
        return self._code_page(linear, user)[0]

    def _code_page(self, linear, user):
        """(physical address, the page is global) of a code fetch at linear."""
        st, phys, _, pad = translate_array(self.state_array, linear & 0xFFFFFFFF, ACC_CODE, user)
        if st != T_OK:
            raise CodeFetchFault(linear)
        return int(phys), bool(pad & TLB_GLOBAL)

    def _jump_key(self, hflags, global_page):
        """A block of a global page (CR4.PGE) is the same in every address space:
        its jump-cache entry survives CR3 loads (tbcache.GLOBAL_ASID)."""
        return jump_key(hflags, GLOBAL_ASID if global_page else self.cpu.tlb_asid)

    def _fetch(self, linear, user):
        """Bytes from linear to the end of its page, plus up to 15 more when the
        next page can be fetched: (bytes, phys, bytes on the first page, next phys)."""
        phys0 = self.code_phys(linear, user)
        first = P.PAGE_SIZE - (linear & (P.PAGE_SIZE - 1))
        data = self.phys.read(phys0, first)
        # the next page is only looked at (paging.ACC_PEEK): no instruction may
        # need it, so its walk must leave no trace (accessed bit, CR2, the
        # pending exception); decode_at walks it for real if one does
        st, phys1, _, _ = translate_array(self.state_array, (linear + first) & 0xFFFFFFFF,
                                          ACC_CODE | ACC_PEEK, user)
        if st != T_OK:
            return data, phys0, first, None
        phys1 = int(phys1)
        return data + self.phys.read(phys1, T.MAX_INSN_LEN - 1), phys0, first, phys1

    # --- translation ---------------------------------------------------------------------
    def lookup(self):
        """The block for the current CPU state, translating it if needed."""
        return self.lookup_with(self.cpu.hflags)

    def lookup_with(self, hflags):
        cpu = self.cpu
        cs_base = cpu.seg[CS].base & 0xFFFFFFFF
        eip = cpu.eip & 0xFFFFFFFF
        linear = (cs_base + eip) & 0xFFFFFFFF
        user = (hflags & H.HF_CPL_MASK) == 3
        phys, global_page = self._code_page(linear, user)
        tb = self.cache.get(block_key(phys, cs_base, hflags, eip))
        if tb is not None and len(tb.byte_ranges) > 1 and not self._second_page_same(tb, linear, user):
            self.cache.invalidate(tb)           # page 2 is mapped elsewhere now (or not at all)
            tb = None
        if tb is None:
            tb = self.translate(linear, eip, cs_base, hflags, user)
        # a block on two pages is tagged for this address space only
        self.cache.remember_jump(tb, linear, self._jump_key(hflags, global_page and len(tb.byte_ranges) == 1))
        return tb

    def _second_page_same(self, tb, linear, user):
        """Is the page after linear's still the physical page tb took bytes from?"""
        nxt = ((linear | 0xFFF) + 1) & 0xFFFFFFFF
        st, phys, _, _ = translate_array(self.state_array, nxt, ACC_CODE | ACC_PEEK, user)
        return st == T_OK and (int(phys) & ~0xFFF) == (tb.byte_ranges[1][0] & ~0xFFF)

    def decode_records(self, linear, eip, hflags, user):
        """Decode the block at linear into self.records: (bytes fetched, records,
        physical address of the first page, bytes on it).  CodeFetchFault when
        not even the first instruction can be fetched."""
        data, phys0, first, phys1 = self._fetch(linear, user)
        buf = np.frombuffer(data, dtype=np.uint8)
        max_insns = 1 if hflags & (H.HF_SINGLE | H.HF_TF) else MAX_BLOCK_INSNS
        recs = self.records
        n = decode_block(buf, 0, len(buf), first, eip, bool(hflags & H.HF_CS32), recs, max_insns)
        for i in range(n):
            if recs[i]["error"] == T.ERR_TRUNCATED:
                if i == 0:
                    # the instruction runs into a page that cannot be fetched
                    self.code_phys((linear + first) & 0xFFFFFFFF, user)
                    raise CodeFetchFault(linear + first)
                n = i
                break
        return data, n, phys0, first

    def byte_ranges(self, linear, phys0, first, nbytes, user):
        """The physical ranges of a block's first nbytes: [(phys, length)], one per page."""
        ranges = [(phys0, min(nbytes, first))]
        if nbytes > first:
            # an instruction is fetched from the next page: the walk the peek
            # left out (SDM Vol. 3A 4.8: the accessed bits of the entries used)
            phys1 = self.code_phys((linear + first) & 0xFFFFFFFF, user)
            ranges.append((phys1, nbytes - first))
        return ranges

    def decode_at(self, linear, eip, hflags, user):
        """The block at linear as Insn objects (the LLVM tier) and its byte ranges."""
        data, n, phys0, first = self.decode_records(linear, eip, hflags, user)
        insns = []
        offset = 0
        for i in range(n):
            rec = self.records[i]
            length = int(rec["length"])
            insns.append(Insn(rec, i, data[offset:offset + length]))
            offset += length
        if self.breakpoints:
            # a breakpoint starts a block of its own (block.py stops there)
            for k in range(1, len(insns)):
                if (linear - eip + insns[k].eip) & 0xFFFFFFFF in self.breakpoints:
                    offset -= sum(len(i.bytes) for i in insns[k:])
                    del insns[k:]
                    break
        return insns, self.byte_ranges(linear, phys0, first, offset, user)

    def make_room(self):
        """When the engine holds as many objects as the process can map, start a
        new one: every block goes (chain slots, jump cache) and is translated
        again when next run, from the disk cache where it is there (jit.py
        says why).  Only called between native runs, so no block is running."""
        if not self.engine.full:
            return False
        self.cache.flush()
        self._loaded.clear()
        old = self.engine
        self.engine = JitEngine(ir_opt=old.levels[2][0], codegen_opt=None)
        self.engine.levels = dict(old.levels)
        old.close()
        self.flushes += 1
        return True

    def translate(self, linear, eip, cs_base, hflags, user):
        self.make_room()
        t0 = time.perf_counter()
        if self.cp is not None and not hflags & (H.HF_SINGLE | H.HF_TF) and not self.breakpoints:
            tb = self._copy_patch_block(linear, eip, cs_base, hflags, user)
            if tb is not None:
                self.cache.add(tb)
                self.blocks_translated += 1
                self.baseline_blocks += tb.tier == 0
                self.translate_seconds += time.perf_counter() - t0
                return tb
        insns, ranges = self.decode_at(linear, eip, hflags, user)
        tier = self.tier or None if self.cp is not None else self.tier
        if tier is None:
            tier = 2 if self._tier2_cached(insns, linear, eip, cs_base, hflags) else 1
        tb = self._make_block(insns, ranges, linear, eip, cs_base, hflags, tier)
        self.cache.add(tb)
        self.blocks_translated += 1
        self.translate_seconds += time.perf_counter() - t0
        return tb

    def _copy_patch_block(self, linear, eip, cs_base, hflags, user):
        """The block made of stencils, or its O2 code from the translation cache
        (copypatch.py: one native call fetches, decodes and lays it out); None:
        LLVM makes it (its first instruction cannot be a stencil, or the code is
        not in RAM or ROM)."""
        try:
            status, block, tier, fetch = self.cp.make(linear, eip, cs_base, hflags, user)
        except ArenaFull:
            self.flush_all()
            status, block, tier, fetch = self.cp.make(linear, eip, cs_base, hflags, user)
        phys0, first, _, phys1, nbytes = fetch
        if status == cp_status.FETCH_FAULT:
            raise CodeFetchFault(linear)
        if status == cp_status.FETCH_FAULT_NEXT:
            # the instruction runs into a page that cannot be fetched: walk it for real
            self.code_phys((linear + first) & 0xFFFFFFFF, user)
            raise CodeFetchFault(linear + first)
        if block is None:
            return None
        ranges = [(phys0, min(nbytes, first))]
        if nbytes > first:
            ranges.append((phys1, nbytes - first))
        tb = TranslationBlock(block_key(phys0, cs_base, hflags, eip), eip, linear, block.entry,
                              block.data, list(block.slot_targets), ranges, block.n_insns,
                              "%s_%x" % ("bl" if tier == 0 else "hot", eip))
        tb.tier = tier
        tb.code = self.cp.fetched(nbytes)
        return tb

    def install_hot(self):
        """At a run-loop turn: put the O2 code the compiler thread finished in
        place of the baseline blocks it was made for (the same bytes still)."""
        if self.cp is None or not self.cp.compiler.has_finished():
            return
        for job in self.cp.finished():
            old_key, code, _, _ = job.where
            old = self.cache.get(old_key)
            if old is None or old.tier != 0 or old.code != code:
                continue
            try:
                hb = self.cp.place_finished(job)
            except ArenaFull:
                self.flush_all()
                return
            tb = TranslationBlock(old.key, old.eip, old.linear, hb.entry, hb.data, list(hb.slot_targets),
                                  old.byte_ranges, hb.n_insns, "hot_%x" % old.eip)
            tb.tier = 2
            tb.code = old.code
            self.cache.replace(old, tb)
            self.tier_ups += 1

    def close(self):
        """Free the compiled code (no block may run afterwards); keep new stencils
        and hot blocks on disk."""
        self.engine.close()
        if self.cp is not None:
            self.cp.close()

    def flush_all(self):
        """Drop every block (the baseline arena is full): as make_room, between native runs."""
        self.cache.flush()
        if self.cp is not None:
            self.cp.flush()
        self.flushes += 1

    def tier_up(self):
        """EXIT_HOT: replace the tier-1 block at the CPU's EIP by its tier-2 translation."""
        if self.make_room():
            return None     # every block went: the next run translates this one afresh
        t0 = time.perf_counter()
        cpu = self.cpu
        hflags = cpu.hflags
        cs_base = cpu.seg[CS].base & 0xFFFFFFFF
        eip = cpu.eip & 0xFFFFFFFF
        linear = (cs_base + eip) & 0xFFFFFFFF
        user = (hflags & H.HF_CPL_MASK) == 3
        try:
            phys = self.code_phys(linear, user)
            old = self.cache.get(block_key(phys, cs_base, hflags, eip))
            if old is None or old.tier not in (0, 1):
                return None
            if old.tier == 0:
                return self._tier_up_baseline(old, linear, eip, cs_base, hflags, user, t0)
            insns, ranges = self.decode_at(linear, eip, hflags, user)
            if len(insns) > old.n_insns:
                # the baseline cut the block short (an instruction it leaves to LLVM)
                del insns[old.n_insns:]
                ranges = self.byte_ranges(linear, ranges[0][0], ranges[0][1],
                                          sum(len(i.bytes) for i in insns), user)
        except CodeFetchFault:
            return None     # the next run through the dispatcher reports the fault
        if b"".join(i.bytes for i in insns) != old.code or ranges != old.byte_ranges:
            return None     # not the same block (breakpoints changed how it is cut)
        tb = self._make_block(insns, ranges, linear, eip, cs_base, hflags, 2)
        self.cache.replace(old, tb)
        self.cache.remember_jump(tb, linear, self._jump_key(hflags, self._code_page(linear, user)[1]))
        self.tier_ups += 1
        self.tier_up_seconds += time.perf_counter() - t0
        return tb

    def _tier_up_baseline(self, old, linear, eip, cs_base, hflags, user, t0):
        """A hot baseline block: its O2 code now from the cache, or later from
        the compiler thread (install_hot)."""
        data, n, _, _ = self.decode_records(linear, eip, hflags, user)
        if n < old.n_insns or data[:len(old.code)] != old.code:
            return None     # not the same block any more
        try:
            hb = self.cp.tier_up(old, self.records, eip, cs_base, hflags, linear, old.code)
        except ArenaFull:
            self.flush_all()
            return None
        if hb is None:
            return None
        tb = TranslationBlock(old.key, old.eip, old.linear, hb.entry, hb.data, list(hb.slot_targets),
                              old.byte_ranges, hb.n_insns, "hot_%x" % old.eip)
        tb.tier = 2
        tb.code = old.code
        self.cache.replace(old, tb)
        self.tier_ups += 1
        self.tier_up_seconds += time.perf_counter() - t0
        return tb

    # --- building blocks ------------------------------------------------------------------
    def _variant(self, tier, counting, bp):
        ir_opt, cg_opt = self.engine.levels[tier]
        return "t%d/%d.%d%s%s%s" % (tier, ir_opt, cg_opt, "/c%d" % self.hot_threshold if counting else "",
                                    "/trace" if self.trace else "", "/bp" if bp else "")

    def _is_breakpoint_block(self, linear, hflags):
        return bool(self.breakpoints) and not hflags & H.HF_NOBP and linear in self.breakpoints

    def _tier2_cached(self, insns, linear, eip, cs_base, hflags):
        """True when the disk cache holds this block's tier-2 code (it was hot before)."""
        if not self.objcache.enabled or self.log is not None or hflags & H.HF_SINGLE:
            return False
        code = b"".join(i.bytes for i in insns)
        key = self.objcache.key(code, eip, cs_base, hflags,
                                self._variant(2, False, self._is_breakpoint_block(linear, hflags)))
        return key in self._loaded or self.objcache.contains(key)

    def _make_block(self, insns, ranges, linear, eip, cs_base, hflags, tier):
        code = b"".join(i.bytes for i in insns)
        # single-step blocks (debugger, -icount tails) are never hot enough to matter
        counting = tier == 1 and self.tier is None and not hflags & H.HF_SINGLE
        bp = self._is_breakpoint_block(linear, hflags)
        key = self.objcache.key(code, eip, cs_base, hflags, self._variant(tier, counting, bp))
        # The same bytes at the same EIP on another physical page (the same code
        # in two address spaces) make a second live block: it needs code of its
        # own, since a block's chain slots and counter live in its module.
        copies = self._loaded.setdefault(key, [])
        comp = next((c for c in copies if c.owner is None or not c.owner.valid), None)
        if comp is None:
            comp = self._compile(key, insns, eip, cs_base, hflags, tier, counting, bp, copy=len(copies))
            copies.append(comp)
        else:
            comp.reset()
            if self.log is not None:
                # loaded earlier: the IR again, for the log only (a symbol loads once per engine)
                module, _ = self._emit(list(insns), comp.name, eip, cs_base, hflags, counting, bp)
                comp.ir_text = str(module)
                comp.llmod = self.engine.optimize(comp.ir_text, tier)
        tb = TranslationBlock(block_key(ranges[0][0], cs_base, hflags, eip), eip, linear, comp.fn, comp.slots,
                              list(comp.slot_targets), ranges, comp.n_insns, comp.name)
        tb.tier = tier
        tb.code = code
        comp.owner = tb
        if self.log is not None:
            self.log.block_translated(tb, insns[:comp.n_insns], comp.ir_text, comp.llmod, self.engine)
        return tb

    def _compile(self, key, insns, eip, cs_base, hflags, tier, counting, bp, copy=0):
        """The block's code from the disk cache, or emitted and compiled (and stored).
        Further copies (copy > 0) get symbols of their own and stay out of the disk cache."""
        name = "tb%d_%s" % (tier, key[:16]) + ("_%d" % copy if copy else "")
        store = copy == 0
        entry = None if self.log is not None or not store else self.objcache.get(key)
        if entry is not None and _valid_header(entry[1], name):
            obj, header = entry
            return _Compiled(self.engine.load_object(obj, _symbols(name, header)), name, header)
        insns = list(insns)
        # Building llvmlite.ir objects allocates fast enough to set off the cyclic
        # GC every few hundred objects, and a full collection walks every object
        # of the process (numba's alone are >10^5): about a third of the Python
        # time.  The block's objects are garbage once its text exists, so the GC
        # waits until then (benchmarks/translate.py measures the difference).
        gc_on = gc.isenabled()
        gc.disable()
        try:
            module, g = self._emit(insns, name, eip, cs_base, hflags, counting, bp)
            ir_text = str(module)
        finally:
            if gc_on:
                gc.enable()
        obj = self.engine.compile_object(ir_text, tier, keep=self.log is not None)
        self.compiled += 1
        # breakpoint and "not implemented" blocks have no counter
        header = {"name": name, "n_insns": len(insns), "slot_targets": list(g.slot_targets),
                  "count": g.hot_threshold is not None and name + "_count" in module.globals}
        if store:
            self.objcache.put(key, obj, header)
        comp = _Compiled(self.engine.load_object(obj, _symbols(name, header)), name, header)
        if self.log is not None:
            comp.ir_text = ir_text
            comp.llmod = self.engine.last_module
        return comp

    def _emit(self, insns, name, eip, cs_base, hflags, counting=False, bp=False):
        if bp:
            return _breakpoint_block(insns[0], name, eip, cs_base, hflags)
        hot = self.hot_threshold if counting else None
        try:
            return emit_block(insns, name, eip, cs_base, hflags, self.trace, hot)
        except TranslationError:
            bad = _failing_index(insns, name, eip, cs_base, hflags)
            if bad > 0:
                del insns[bad:]
                return emit_block(insns, name, eip, cs_base, hflags, self.trace, hot)
            return _unimplemented_block(insns[0], name, eip, cs_base, hflags)


def _failing_index(insns, name, eip, cs_base, hflags):
    for k in range(1, len(insns) + 1):
        try:
            emit_block(insns[:k], name, eip, cs_base, hflags)
        except TranslationError:
            return k - 1
    return len(insns)


def _unimplemented_block(insn, name, eip, cs_base, hflags):
    """A one-instruction block that stops the machine with a clear report."""
    module = ir.Module(name)
    g = IRGen(module, name, eip, cs_base, hflags, 1)
    g.begin(insn)
    g.call_python("helper_unimplemented")
    g.jump_indirect_from_state()
    return module, g


def _breakpoint_block(insn, name, eip, cs_base, hflags):
    """A block that stops for the debugger before its first instruction runs."""
    module = ir.Module(name)
    g = IRGen(module, name, eip, cs_base, hflags, 0)
    g.begin(insn)
    g.exit_code(EXIT_DEBUG, eip)
    return module, g
