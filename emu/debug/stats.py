"""Run statistics: what the translator and the CPU did in one pyemu run.

Asked for with `-d stats` (a one-screen summary at exit, on the -D file or
stderr) and/or PYEMU_STATS=PATH (the same figures as JSON, written at exit).
Both are written on every way out of a run that has a machine: the guest's
isa-debug-exit, -no-reboot, Ctrl-C, a triple fault, a pyemu error.  The
benchmarks (benchmarks/boot.py) read the JSON.
"""
import json
import os
import sys
import time

from ..translator.exits import NAMES

STATS_ENV = "PYEMU_STATS"


class RunClock:
    """Wall-clock marks of one run: start (options parsed), guest start, exit."""

    def __init__(self):
        self.start = time.perf_counter()
        self.guest_start = None

    def guest_starts(self):
        self.guest_start = time.perf_counter()


def collect(machine, clock, exit_status=None):
    """The figures of a run as a flat dict (JSON-ready)."""
    now = time.perf_counter()
    tr = machine.translator
    wall = now - clock.start
    startup = (clock.guest_start - clock.start) if clock.guest_start is not None else wall
    guest = now - clock.guest_start if clock.guest_start is not None else 0.0
    insns = machine._retired()
    cp = tr.cp
    o2_seconds = cp.compiler.seconds if cp is not None else 0.0
    jit = tr.translate_seconds + tr.tier_up_seconds + o2_seconds
    oc = tr.objcache
    tiers = [0, 0, 0]
    for tb in tr.cache.blocks.values():
        tiers[tb.tier] += 1
    return {
        "exit_status": exit_status if isinstance(exit_status, (int, type(None))) else str(exit_status),
        "wall_seconds": round(wall, 6),
        # building the machine (numba's cached functions load here, or compile when cold)
        # and loading the kernel: before the first guest instruction
        "startup_seconds": round(startup, 6),
        "guest_seconds": round(guest, 6),
        "guest_instructions": int(insns),
        "mips": round(insns / guest / 1e6, 3) if guest > 0 else 0.0,
        "blocks_translated": tr.blocks_translated,
        # the tier blocks were made at: baseline (stencils), LLVM's first tier
        # (the fallback, or what the baseline leaves to LLVM), O2 (from the
        # translation cache, or after a tier-up); and the live blocks by tier at exit
        "baseline_blocks": tr.baseline_blocks,
        "o2_blocks_from_cache": cp.hot_hits if cp is not None else 0,
        "live_blocks_by_tier": tiers,
        # by LLVM in this run (blocks, and hot blocks on the O2 thread); the rest came from caches
        "blocks_compiled": tr.compiled + (cp.compiler.compiled if cp is not None else 0),
        "o2_compile_seconds": round(o2_seconds, 6),
        "stencils_built": cp.baseline.stencils.built if cp is not None else 0,
        "translation_cache_loaded": cp.cache.loaded if cp is not None else 0,
        "translation_cache_added": len(cp.cache.added) if cp is not None else 0,
        "translate_seconds": round(tr.translate_seconds, 6),
        "tier_ups": tr.tier_ups,
        "tier_up_seconds": round(tr.tier_up_seconds, 6),
        "jit_seconds": round(jit, 6),
        "jit_share": round(jit / wall, 4) if wall > 0 else 0.0,
        "flushes": tr.flushes,
        "objcache_enabled": bool(oc.enabled),
        "objcache_hits": oc.hits,
        "objcache_misses": oc.misses,
        "objcache_stores": oc.stores,
        "objcache_bad": oc.bad,
        # why native code came back to the run loop, and the Python work it
        # called for from inside (helpers, port and MMIO accesses, interrupt
        # delivery): what still leaves native code
        "native_exits": {NAMES.get(r, str(r)): n for r, n in machine.native_exits.items()},
        "python_calls": {_call_label(k): n for k, n in machine.python_calls.items()},
    }


def _call_label(key):
    if isinstance(key, tuple):
        return "%s %#x" % key                  # ("in", port)
    return getattr(key, "__name__", str(key))


def _top(counts, n=8):
    """The n most frequent, as text."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join("%s %d" % kv for kv in items[:n])
    return text + (", ... (%d more kinds)" % (len(items) - n) if len(items) > n else "")


def summary(stats):
    """The one-screen text of -d stats."""
    s = stats
    lines = [
        "---- pyemu stats (exit status %s)" % s["exit_status"],
        "wall time          %10.3f s  (start-up %.3f s, guest %.3f s)" % (
            s["wall_seconds"], s["startup_seconds"], s["guest_seconds"]),
        "guest instructions %10d    (%.1f million/s of guest time)" % (s["guest_instructions"], s["mips"]),
        "blocks translated  %10d    (%d of stencils, %d O2 from the translation cache, "
        "%d compiled by LLVM)" % (s["blocks_translated"], s["baseline_blocks"], s["o2_blocks_from_cache"],
                                  s["blocks_compiled"]),
        "live blocks        %10d    (baseline %d, LLVM tier 1 %d, O2 %d)" % (
            sum(s["live_blocks_by_tier"]), *s["live_blocks_by_tier"]),
        "translation time   %10.3f s" % s["translate_seconds"],
        "tier-ups           %10d    (%.3f s here, %.3f s on the O2 thread)" % (
            s["tier_ups"], s["tier_up_seconds"], s["o2_compile_seconds"]),
        "stencils built     %10d" % s["stencils_built"],
        "translation cache  %10d blocks loaded, %d added" % (s["translation_cache_loaded"],
                                                            s["translation_cache_added"]),
        "JIT share of wall  %10.1f %%" % (100.0 * s["jit_share"]),
        "cache flushes      %10d" % s["flushes"],
        "object cache       %s: %d hits, %d misses, %d stored, %d bad" % (
            "on" if s["objcache_enabled"] else "off", s["objcache_hits"], s["objcache_misses"],
            s["objcache_stores"], s["objcache_bad"]),
        "exits to run loop  %10d    (%s)" % (sum(s["native_exits"].values()), _top(s["native_exits"])),
        "Python from native %10d    (%s)" % (sum(s["python_calls"].values()), _top(s["python_calls"])),
    ]
    return "\n".join(lines) + "\n"


def write_json(path, stats):
    """Write stats to path atomically (a reader never sees half a file)."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def report(machine, clock, log, exit_status):
    """At exit: the -d stats summary and/or the PYEMU_STATS file."""
    want_log = log is not None and log.enabled("stats")
    path = os.environ.get(STATS_ENV)
    if not want_log and not path:
        return
    stats = collect(machine, clock, exit_status)
    if want_log:
        log.write(summary(stats))
    if path:
        try:
            write_json(path, stats)
        except OSError as e:
            sys.stderr.write("pyemu: cannot write %s=%s: %s\n" % (STATS_ENV, path, e.strerror))
