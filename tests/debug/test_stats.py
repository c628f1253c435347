"""-d stats and PYEMU_STATS: the run's counters, written at exit.

A bare-metal guest (tests/guests/src/checksum.S, a long loop that leaves
through isa-debug-exit) runs as a user runs pyemu; the counters must be
plausible and agree with each other, and a second run on the same object
cache must find its blocks there."""
import json

import pytest

from tests.guests import guestlib

STATS_KEYS = {"exit_status", "wall_seconds", "startup_seconds", "guest_seconds", "guest_instructions",
              "mips", "blocks_translated", "baseline_blocks", "o2_blocks_from_cache", "live_blocks_by_tier",
              "blocks_compiled", "o2_compile_seconds", "stencils_built", "translation_cache_loaded",
              "translation_cache_added", "translate_seconds", "tier_ups",
              "tier_up_seconds", "jit_seconds", "jit_share", "flushes", "objcache_enabled",
              "objcache_hits", "objcache_misses", "objcache_stores", "objcache_bad",
              "native_exits", "python_calls"}
PASS_STATUS = guestlib.exit_status(0x19)      # checksum.S: GUEST "checksum", 0x19


@pytest.fixture(scope="module")
def checksum_elf(tmp_path_factory):
    return guestlib.build("checksum", tmp_path_factory.mktemp("stats"))


def _run(elf, tmp_path, objdir, name, extra=(), **env_extra):
    """Run elf with PYEMU_STATS; returns (Run, stats dict or None)."""
    path = tmp_path / (name + ".json")
    env = guestlib._pyemu_env()
    env["PYEMU_STATS"] = str(path)
    env["PYEMU_OBJCACHE_DIR"] = str(objdir)
    env.pop("PYEMU_CACHE", None)
    env.update(env_extra)
    r = guestlib._run(guestlib.pyemu_command(elf, extra), 180, env=env)
    return r, (json.loads(path.read_text()) if path.exists() else None)


def _consistent(st, r):
    assert set(st) == STATS_KEYS
    assert st["exit_status"] == r.status
    # the checksum loops over thousands of bytes, bit by bit: far more
    # instructions retire than there are blocks, and each block has >= 1
    assert st["guest_instructions"] > 100_000
    assert 0 < st["blocks_translated"] < st["guest_instructions"] / 10
    assert 0 < st["translate_seconds"] <= st["jit_seconds"] <= st["wall_seconds"]
    assert st["startup_seconds"] + st["guest_seconds"] <= st["wall_seconds"] + 1e-3
    assert 0 < st["jit_share"] <= 1
    assert sum(st["live_blocks_by_tier"]) <= st["blocks_translated"] + st["tier_ups"]


def test_json_written_on_guest_exit_with_consistent_counters(checksum_elf, tmp_path):
    """The baseline tier and a translation cache: the cold run makes its blocks
    of stencils and compiles the hot loop at O2 (at once: PYEMU_BACKGROUND=0);
    the warm run starts that loop at O2 from the cache."""
    objdir = tmp_path / "objects"
    tiering = {"PYEMU_HOT": "1000", "PYEMU_BACKGROUND": "0"}
    r, cold = _run(checksum_elf, tmp_path, objdir, "cold", **tiering)
    assert r.status == PASS_STATUS, r.describe()
    assert cold is not None, "PYEMU_STATS file not written on isa-debug-exit\n" + r.describe()
    _consistent(cold, r)
    assert 0 < cold["baseline_blocks"] <= cold["blocks_translated"]
    assert cold["tier_ups"] >= 1 and cold["translation_cache_added"] >= 1
    assert cold["o2_blocks_from_cache"] == 0 and cold["translation_cache_loaded"] == 0
    assert cold["live_blocks_by_tier"][2] >= 1

    r2, warm = _run(checksum_elf, tmp_path, objdir, "warm", **tiering)
    assert r2.status == r.status and r2.stdout == r.stdout, r2.describe()
    _consistent(warm, r2)
    assert warm["translation_cache_loaded"] >= cold["translation_cache_added"]
    assert warm["o2_blocks_from_cache"] >= 1
    assert warm["tier_ups"] < cold["tier_ups"]
    assert warm["blocks_compiled"] < cold["blocks_compiled"]


def test_llvm_fallback_loads_its_objects_from_the_object_cache(checksum_elf, tmp_path):
    """Without the baseline tier (PYEMU_BASELINE=0) every block goes through
    LLVM and its per-block object cache: a second run finds them all there."""
    objdir = tmp_path / "objects"
    r, cold = _run(checksum_elf, tmp_path, objdir, "cold", PYEMU_BASELINE="0")
    assert r.status == PASS_STATUS, r.describe()
    _consistent(cold, r)
    assert cold["baseline_blocks"] == 0
    assert cold["objcache_enabled"] is True and cold["objcache_hits"] == 0
    assert cold["blocks_compiled"] >= cold["blocks_translated"]
    assert cold["objcache_stores"] == cold["blocks_compiled"]
    r2, warm = _run(checksum_elf, tmp_path, objdir, "warm", PYEMU_BASELINE="0")
    assert r2.status == r.status and r2.stdout == r.stdout, r2.describe()
    assert warm["blocks_translated"] == cold["blocks_translated"]
    assert warm["objcache_hits"] >= warm["blocks_translated"] - warm["tier_ups"]
    assert warm["blocks_compiled"] < cold["blocks_compiled"]


def test_d_stats_summary_goes_to_D_file(checksum_elf, tmp_path):
    log = tmp_path / "stats.log"
    r, stats = _run(checksum_elf, tmp_path, tmp_path / "objects", "d", extra=["-d", "stats", "-D", str(log)])
    assert r.status == PASS_STATUS, r.describe()
    text = log.read_text()
    assert text.startswith("---- pyemu stats (exit status %d)" % r.status)
    assert ("guest instructions %10d" % stats["guest_instructions"]) in text
    assert ("blocks translated  %10d" % stats["blocks_translated"]) in text
    # -d stats alone keeps the object cache (per-block items turn it off)
    assert "object cache       on:" in text
    assert "pyemu stats" not in r.stderr


def test_d_stats_summary_on_stderr_without_D(checksum_elf, tmp_path):
    r, _ = _run(checksum_elf, tmp_path, tmp_path / "objects", "e", extra=["-d", "stats"])
    assert r.status == PASS_STATUS, r.describe()
    assert "---- pyemu stats" in r.stderr and "guest instructions" in r.stderr
    assert b"pyemu stats" not in r.stdout        # the serial console stays clean


def test_stats_written_when_interrupted(tmp_path):
    """Ctrl-C on a guest that never exits: the stats are still written."""
    src = tmp_path / "spin.S"
    src.write_text('        .include "guest.inc"\n        GUEST "spin", 0x1c\nmain:\n1:      jmp 1b\n')
    elf = guestlib.build(str(src), tmp_path)
    path = tmp_path / "spin.json"
    env = guestlib._pyemu_env()
    env["PYEMU_STATS"] = str(path)
    r = guestlib._run(guestlib.pyemu_command(elf), 8, env=env, interrupt_on_timeout=True)
    assert r.interrupted, r.describe()
    stats = json.loads(path.read_text())
    assert stats["exit_status"] == r.status == 130     # Ctrl-C: as a shell reports SIGINT
    assert stats["guest_instructions"] > 1000     # the loop ran for seconds


def test_unwritable_stats_path_is_one_line_error(checksum_elf, tmp_path):
    env = guestlib._pyemu_env()
    env["PYEMU_STATS"] = str(tmp_path / "no" / "such" / "dir" / "s.json")
    r = guestlib._run(guestlib.pyemu_command(checksum_elf), 180, env=env)
    assert r.status == PASS_STATUS, r.describe()
    lines = [l for l in r.stderr.splitlines() if "PYEMU_STATS" in l]
    assert len(lines) == 1 and "cannot write" in lines[0] and "Traceback" not in r.stderr


def test_help_lists_stats():
    from emu.cli import LOG_ITEMS, UsageError, parse_args
    assert "stats" in LOG_ITEMS
    with pytest.raises(UsageError) as e:
        parse_args(["-d", "help"])
    assert "stats" in str(e.value)


def test_stats_count_what_leaves_native_code(tmp_path):
    """-d stats names what still goes through Python (issue [native-system]):
    a guest that runs CPUID 37 times and writes port 0x80 23 times finds
    exactly those counts, by helper and by port, and the summary shows them."""
    src = tmp_path / "calls.S"
    src.write_text("""        .include "guest.inc"
        GUEST "calls", 0x1d
main:
        pushl %ebx
        movl $37, %esi
1:      xorl %eax, %eax
        cpuid
        decl %esi
        jnz 1b
        movl $23, %esi
2:      outb %al, $0x80
        decl %esi
        jnz 2b
        popl %ebx
        ret
""")
    elf = guestlib.build(str(src), tmp_path)
    log = tmp_path / "stats.log"
    r, st = _run(elf, tmp_path, tmp_path / "objects", "calls", extra=["-d", "stats", "-D", str(log)])
    assert r.status == guestlib.exit_status(0x1d), r.describe()
    calls = st["python_calls"]
    assert calls["helper_cpuid"] == 37
    assert calls["out 0x80"] == 23
    assert calls["out 0xf4"] == 1                  # isa-debug-exit
    assert st["native_exits"]["miss"] >= 1         # each new block starts with one
    text = log.read_text()
    assert "Python from native" in text and "helper_cpuid 37" in text and "out 0x80 23" in text
