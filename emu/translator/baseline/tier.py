"""The baseline tier: a block made runnable in microseconds by copy-and-patch.

A block of m instructions is laid out in the arena (cnp.Arena) as

    head | insn 0 | insn 1 | ... | insn m-1 | exit 0 | exit 1

- head: the block prologue (budget, exit_request, the tier-up counter),
- insn i: the stencil of instruction i's variant (stencilset.py), its holes
  filled from the decoded record (holes.py); each ends in a jump to the next,
  which the emitter drops where the next piece follows right after it,
- exit k: a direct exit through chain slot k (stencilgen.emit_exit), for the
  targets of the last instruction's direct exits, and for the fall-through of
  a block cut by its length or a page end.

Per block, the arena's data part holds its two chain slots (u64) and its
execution counter (u32): TranslationCache links and unlinks them as it does
for an LLVM block, and Translator.tier_up replaces the block when its head
reports it hot.

A block stops at the first instruction whose stencil leaves it (a jump, an
exception, a helper that may change the mode); an instruction whose variant
cannot be a stencil (stencilset.py) ends the block before it, and a block
that would start with one is left to LLVM (`make_block` returns None).
"""
import numpy as np

from ...cpu import hflags as H
from ..cnp import Arena, Emitter
from ..cnp.contract import N_CONTS
from ..operands import N_ROLES, ROLE_IDS
from .holes import fill_holes, new_hole_rows
from .stencilset import EXIT, EXIT_LINKABLE, HEAD, HEAD_COUNTING, StencilSet
from .variant import variant_key

PAGE_MASK = 0xFFFFF000
DATA_BYTES = 24                 # two chain slots, the counter (and padding)
COUNTER_OFFSET = 16
R_EIP = ROLE_IDS["eip"]


class BaselineBlock:
    """Where a block's code and data went, and what the translation cache needs."""
    __slots__ = ("entry", "data", "n_insns", "slot_targets", "end")

    def __init__(self, entry, data, n_insns, slot_targets, end):
        self.entry = entry
        self.data = data
        self.n_insns = n_insns
        self.slot_targets = slot_targets
        self.end = end

    @property
    def counter(self):
        return self.data + COUNTER_OFFSET


class BaselineTier:
    def __init__(self, runtime_symbols, hot_threshold=None, max_insns=64, stencils=None, arena=None):
        """hot_threshold: count entries and leave with EXIT_HOT at this one (None: never)."""
        self.stencils = stencils or StencilSet(hot_threshold or 0)
        self.counting = hot_threshold is not None
        self.arena = arena or Arena()
        self.runtime_symbols = runtime_symbols
        self._emitter = None
        self._generation = -1
        n = max_insns + 3
        self.rows = new_hole_rows(max_insns)
        self.ids = np.zeros(n, dtype=np.int32)
        self.conts = np.zeros((n, N_CONTS), dtype=np.int64)
        self.blocks_made = 0

    def emitter(self):
        """The emitter of the current library (rebound when the library grew)."""
        s = self.stencils
        if self._generation != s.generation:
            self._emitter = Emitter(s.library, self.arena, self.runtime_symbols)
            self._generation = s.generation
        return self._emitter

    def plan(self, recs, n, hflags):
        """How much of records 0..n-1 one block of stencils takes: (m, stencils);
        m is 0 when the first instruction needs LLVM."""
        infos = self.stencils.lookup([variant_key(recs[i], hflags) for i in range(n)])
        m = 0
        for info in infos:
            if info.sid < 0:
                break
            m += 1
            if not info.falls_through or info.exit_roles:
                break
        return m, infos

    def make_block(self, recs, n, eip, cs_base, hflags):
        """The block of records 0..n-1 (as much as plan() takes), or None (its
        first instruction needs LLVM).  cnp.ArenaFull when the arena has no
        room (flush everything, try again)."""
        m, infos = self.plan(recs, n, hflags)
        return self.emit(recs, m, infos, eip, cs_base, hflags) if m else None

    def emit(self, recs, m, infos, eip, cs_base, hflags):
        """Lay out the block of records 0..m-1 whose stencils plan() found."""
        last = infos[m - 1]
        exits = list(last.exit_roles)
        if last.falls_through and "next_eip" not in exits:
            exits.append("next_eip")
        rows = self.rows
        fill_holes(recs, m, rows)
        emitter = self.emitter()
        lib = self.stencils.library
        pieces = 1 + m + len(exits)
        ids, conts = self.ids[:pieces], self.conts[:pieces]
        values = np.zeros((pieces, len(lib.roles)), dtype=np.uint32)
        addrs = np.zeros((pieces, len(lib.addr_names)), dtype=np.uint64)
        conts[:] = 0
        data = self.arena.alloc_data(DATA_BYTES)
        ids[0] = self.stencils.special(HEAD_COUNTING if self.counting else HEAD).sid
        values[0, :N_ROLES] = rows[0]
        addrs[0, 0] = data + COUNTER_OFFSET
        for i in range(m):
            ids[1 + i] = infos[i].sid
        values[1:1 + m, :N_ROLES] = rows[:m]
        targets = []
        page = (eip + cs_base) & PAGE_MASK
        for k, role in enumerate(exits):
            p = 1 + m + k
            target = int(rows[m - 1, ROLE_IDS[role]])
            linkable = not hflags & H.HF_PG or ((target + cs_base) & PAGE_MASK) == page
            ids[p] = self.stencils.special(EXIT_LINKABLE if linkable else EXIT).sid
            values[p, R_EIP] = target
            addrs[p, 1] = data + 8 * k
            targets.append(target)
        if last.falls_through:
            conts[m, 0] = -1 - (1 + m + exits.index("next_eip"))
        for k, role in enumerate(last.exit_roles):
            conts[m, 1 + k] = -1 - (1 + m + exits.index(role))
        emission = emitter.emit(ids, values, addrs, conts)
        self.blocks_made += 1
        return BaselineBlock(emission.start, data, m, targets, emission.end)

    def flush(self):
        """Drop every block's code and data (the arena is full, or a reset)."""
        self.arena.reset()

    def close(self):
        self.stencils.save()
        self.arena.close()
