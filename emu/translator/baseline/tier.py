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
that would start with one is left to LLVM.  The work is one native call
(coldpath.py: fetch, decode, native.make_block).
"""
from ..cnp import ArenaFull, Emitter
from . import coldpath
from .coldpath import ColdPath
from .stencilset import StencilSet

COUNTER_OFFSET = coldpath.native.COUNTER_OFFSET


class BaselineBlock:
    """Where a block's code and data went, and what the translation cache needs."""
    __slots__ = ("entry", "data", "n_insns", "slot_targets", "nbytes")

    def __init__(self, entry, data, n_insns, slot_targets, nbytes):
        self.entry = entry
        self.data = data
        self.n_insns = n_insns
        self.slot_targets = slot_targets
        self.nbytes = nbytes            # guest code bytes the block was made from

    @property
    def counter(self):
        return self.data + COUNTER_OFFSET


class BaselineTier:
    def __init__(self, runtime_symbols, arena, cpu_addr, hot_threshold=None, max_insns=64, stencils=None):
        """hot_threshold: count entries and leave with EXIT_HOT at this one (None: never)."""
        self.stencils = stencils or StencilSet()
        self.hot_threshold = hot_threshold
        self.arena = arena
        self.runtime_symbols = runtime_symbols
        self.cold = ColdPath(cpu_addr, max_insns)
        self.cold.bind_arena(arena)
        self.cold.bind_hot(None)
        self._bound = None
        self._hot_bound = self._hot_generation = None
        self.blocks_made = 0

    @property
    def records(self):
        return self.cold.recs

    def _bind(self):
        s = self.stencils
        if self._bound != s.native_generation:
            emitter = Emitter(s.library, self.arena, self.runtime_symbols)
            self.cold.bind_stencils(emitter, s.library, s.sids, s.falls, s.exits, s.specials(self.hot_threshold))
            self._bound = s.native_generation

    def bind_hot(self, table):
        """The translation cache's table the cold path looks blocks up in (None: none)."""
        if table is not self._hot_bound or table.generation != self._hot_generation:
            self.cold.bind_hot(table)
            self._hot_bound = table
            self._hot_generation = None if table is None else table.generation

    def make(self, linear, eip, cs_base, hflags, user):
        """One cold_path call for the block at linear (coldpath.py): its status;
        the outputs are in self.cold (ctx, out, recs).  Missing stencils are
        built and the call made again; cnp.ArenaFull when there is no room."""
        for _ in range(3):
            self._bind()
            status = self.cold.run(self.arena, linear, eip, cs_base, hflags, user)
            if status != coldpath.MISSING:
                break
            self.stencils.build(self.cold.missing[:self.cold.out[0]].tolist())
        if status == coldpath.OK:
            self.blocks_made += 1
        elif status == coldpath.FULL:
            raise ArenaFull("the arena is full")
        return status

    @staticmethod
    def block(out):
        """The BaselineBlock of a successful make() (out: cold.out as a list)."""
        return BaselineBlock(out[1], out[2], out[0], out[5:5 + out[4]], out[3])

    def flush(self):
        """Drop every block's code and data (the arena is full, or a reset)."""
        self.arena.reset()

    def close(self):
        self.stencils.save()
