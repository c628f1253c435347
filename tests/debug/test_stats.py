"""-d stats and PYEMU_STATS: the run's counters, written at exit.

A bare-metal guest (tests/guests/src/checksum.S, a long loop that leaves
through isa-debug-exit) runs as a user runs pyemu; the counters must be
plausible and agree with each other, and a second run on the same object
cache must find its blocks there."""
import json

import pytest

from tests.guests import guestlib

STATS_KEYS = {"exit_status", "wall_seconds", "startup_seconds", "guest_seconds", "guest_instructions",
              "mips", "blocks_translated", "blocks_compiled", "translate_seconds", "tier_ups",
              "tier_up_seconds", "jit_seconds", "jit_share", "flushes", "objcache_enabled",
              "objcache_hits", "objcache_misses", "objcache_stores", "objcache_bad"}
PASS_STATUS = guestlib.exit_status(0x19)      # checksum.S: GUEST "checksum", 0x19


@pytest.fixture(scope="module")
def checksum_elf(tmp_path_factory):
    return guestlib.build("checksum", tmp_path_factory.mktemp("stats"))


def _run(elf, tmp_path, objdir, name, extra=()):
    """Run elf with PYEMU_STATS; returns (Run, stats dict or None)."""
    path = tmp_path / (name + ".json")
    env = guestlib._pyemu_env()
    env["PYEMU_STATS"] = str(path)
    env["PYEMU_OBJCACHE_DIR"] = str(objdir)
    env.pop("PYEMU_CACHE", None)
    r = guestlib._run(guestlib.pyemu_command(elf, extra), 180, env=env)
    return r, (json.loads(path.read_text()) if path.exists() else None)


def test_json_written_on_guest_exit_with_consistent_counters(checksum_elf, tmp_path):
    objdir = tmp_path / "objects"
    r, cold = _run(checksum_elf, tmp_path, objdir, "cold")
    assert r.status == PASS_STATUS, r.describe()
    assert cold is not None, "PYEMU_STATS file not written on isa-debug-exit\n" + r.describe()
    assert set(cold) == STATS_KEYS
    assert cold["exit_status"] == r.status
    # the checksum loops over thousands of bytes, bit by bit: far more
    # instructions retire than there are blocks, and each block has >= 1
    assert cold["guest_instructions"] > 100_000
    assert 0 < cold["blocks_translated"] < cold["guest_instructions"] / 10
    # a fresh object cache: every block is compiled and stored, none found
    assert cold["objcache_enabled"] is True
    assert cold["objcache_hits"] == 0
    assert cold["blocks_compiled"] >= cold["blocks_translated"]
    assert cold["objcache_stores"] == cold["blocks_compiled"]
    assert 0 < cold["translate_seconds"] <= cold["jit_seconds"] <= cold["wall_seconds"]
    assert cold["startup_seconds"] + cold["guest_seconds"] <= cold["wall_seconds"] + 1e-3
    assert 0 < cold["jit_share"] <= 1

    r2, warm = _run(checksum_elf, tmp_path, objdir, "warm")
    assert r2.status == r.status and r2.stdout == r.stdout, r2.describe()
    # the same guest is deterministic in its code: the same blocks, now from the cache
    assert warm["blocks_translated"] == cold["blocks_translated"]
    assert warm["objcache_hits"] >= warm["blocks_translated"] - warm["tier_ups"]
    assert warm["blocks_compiled"] < cold["blocks_compiled"]
    assert warm["translate_seconds"] < cold["translate_seconds"]


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
