"""The translation tiers the suites run on, and the checks that a run really used one.

pyemu makes a block first of copy-and-patch stencils (the baseline tier, 0)
and compiles hot ones with LLVM at O2; switches force one way for a whole run
(emu/translator/translator.py):

  baseline   PYEMU_TIER=0      every block of stencils (LLVM only where a block
                               would start with an instruction no stencil covers)
  llvm       PYEMU_TIER=2      every block compiled by LLVM at O2, the per-block path
  hot        PYEMU_HOT=1       tiering with every block hot at its first entry: made of
                               stencils, then compiled at O2 as a relocatable block
                               (emu/translator/hot.py) and run from that code, the
                               code hot loops run on (PYEMU_BACKGROUND=0: at once)
  fallback   PYEMU_BASELINE=0  no copy-and-patch at all: LLVM's tier 1, then tier 2
                               when hot, as on hosts copy-and-patch does not support
                               (PYEMU_HOT=64: short runs tier up too)

A test parametrized over TIERS must also show that the tier it names did the
work (check_census / check_stats): a switch that stopped working would
otherwise test the same tier twice and pass.
"""
import contextlib
import json
import os

TIERS = {
    "baseline": {"PYEMU_TIER": "0"},
    "llvm": {"PYEMU_TIER": "2"},
    "hot": {"PYEMU_TIER": "", "PYEMU_HOT": "1", "PYEMU_BACKGROUND": "0"},
}
FALLBACK = {"PYEMU_BASELINE": "0", "PYEMU_TIER": "", "PYEMU_HOT": "64"}

# at least this share of the blocks a baseline run made must be stencils: the
# rest are blocks starting with an instruction left to LLVM (a variant no
# stencil covers); far fewer means the switch or the baseline stopped working
BASELINE_SHARE = 0.5


@contextlib.contextmanager
def environment(env):
    """os.environ with env applied (an empty value unsets a variable), restored after."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            if v == "":
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Census:
    """What a translator made: blocks translated, of which baseline, and the live blocks by tier."""

    def __init__(self, translated=0, baseline=0, live=(0, 0, 0), tier_ups=0, o2_cached=0):
        self.translated = translated
        self.baseline = baseline
        self.live = list(live)
        self.tier_ups = tier_ups
        self.o2_cached = o2_cached      # blocks that started at O2 from the translation cache

    @classmethod
    def of(cls, translator):
        live = [0, 0, 0]
        for tb in translator.cache.blocks.values():
            live[tb.tier] += 1
        cp = translator.cp
        return cls(translator.blocks_translated, translator.baseline_blocks, live, translator.tier_ups,
                   cp.hot_hits if cp is not None else 0)

    @classmethod
    def from_stats(cls, stats):
        """From a PYEMU_STATS file's figures (emu/debug/stats.py)."""
        return cls(stats["blocks_translated"], stats["baseline_blocks"], stats["live_blocks_by_tier"],
                   stats["tier_ups"], stats["o2_blocks_from_cache"])

    def __add__(self, other):
        return Census(self.translated + other.translated, self.baseline + other.baseline,
                      [a + b for a, b in zip(self.live, other.live)], self.tier_ups + other.tier_ups,
                      self.o2_cached + other.o2_cached)

    def __sub__(self, other):
        """The blocks made between two censuses of one translator (live: the later one's)."""
        return Census(self.translated - other.translated, self.baseline - other.baseline, self.live,
                      self.tier_ups - other.tier_ups, self.o2_cached - other.o2_cached)

    def __repr__(self):
        return "%d blocks translated, %d of stencils, %d O2 from the translation cache, %d tier-ups; " \
            "live by tier %s" % (self.translated, self.baseline, self.o2_cached, self.tier_ups, self.live)


def census_problem(tier, c, quiet=False):
    """Why census c does not look like a run on `tier` (None: it does).

    quiet: the code ran without interrupts or timers, so on the hot tier every
    block made of stencils went to O2 at its first entry.  Otherwise a block
    can be made and never run in full (entered with an interrupt pending, or
    with fewer instructions left under -icount than it has: it leaves before
    its first instruction), so only most of them did."""
    if c.translated <= 0:
        return "no block was translated (%r)" % c
    if tier == "baseline":
        if c.baseline <= 0:
            return "no block was made of stencils on the baseline tier (%r)" % c
        if c.baseline < BASELINE_SHARE * c.translated:
            return "fewer than %d%% of the blocks were made of stencils on the baseline tier (%r)" % (
                100 * BASELINE_SHARE, c)
        if c.live[2]:
            return "O2 blocks on the baseline-only tier (%r)" % c
    elif tier == "llvm":
        if c.baseline or c.live[0] or c.live[1]:
            return "blocks not compiled by LLVM at O2 on the LLVM tier (%r)" % c
    elif tier == "hot":
        # besides stencils, LLVM makes single-step blocks (TF, -icount tails) and
        # blocks starting with an instruction no stencil covers, at its tier 1
        if c.baseline + c.o2_cached < BASELINE_SHARE * c.translated:
            return "fewer than %d%% of the blocks were made of stencils or came from the translation " \
                "cache on the hot tier (%r)" % (100 * BASELINE_SHARE, c)
        if c.tier_ups + c.o2_cached <= 0:
            return "no block reached O2 on the hot tier (%r)" % c
        if quiet and (c.tier_ups < c.baseline or c.live[0]):
            return "baseline blocks that did not go to O2 at their first entry on the hot tier (%r)" % c
        if c.live[0] > c.live[2]:
            return "more baseline blocks than O2 blocks live on the hot tier (%r)" % c
    elif tier == "fallback":
        if c.baseline or c.live[0]:
            return "baseline blocks without the baseline tier (%r)" % c
    else:
        raise ValueError(tier)
    return None


def check_census(tier, c, quiet=False):
    problem = census_problem(tier, c, quiet)
    assert problem is None, problem


def read_stats(path):
    with open(path) as f:
        return json.load(f)


def check_stats(tier, path):
    """The PYEMU_STATS file a run wrote shows the tier at work."""
    try:
        stats = read_stats(path)
    except FileNotFoundError:
        raise AssertionError("pyemu wrote no PYEMU_STATS file at %s" % path) from None
    check_census(tier, Census.from_stats(stats))
    return stats
