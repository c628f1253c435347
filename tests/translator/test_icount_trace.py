"""-icount runs give the same instruction trace on every tier and across tier-ups.

src/itrace.S samples, at each of its first 48 timer interrupts, the
interrupted EIP, EFLAGS and general registers, and prints them: under
-icount the interrupts come at exact instruction counts, so the printout is
an instruction-level trace of the run (interrupts in a hot loop, in the
middle of a REP MOVSB, in a loop the program rewrites every round, in a
routine with MUL/DIV/LOOP).  It must be the same byte for byte on the
baseline tier, LLVM's tiers 1 and 2, the hot tier (O2 at every first entry),
tiering with tier-ups made on the compiler thread whenever it is done (cold)
and with O2 code from the translation cache (warm), the fallback without
copy-and-patch, and without any cache; each run's PYEMU_STATS figures show
that the tier it names did the work (tests/tiers.py).
"""
import pathlib
import re

import pytest

from guests import guestlib, tiered
from tiers import Census, census_problem

HERE = pathlib.Path(__file__).resolve().parent
SAMPLES = 48
REP_MOVSB = b"\xf3\xa4"

# name: (tier, extra environment, what its figures must show)
RUNS = {
    "baseline": ("baseline", {}, "baseline"),
    "llvm tier 1": ("llvm", {"PYEMU_TIER": "1"}, None),
    "llvm tier 2": ("llvm", {}, "llvm"),
    "hot": ("hot", {}, "hot"),
    "tiering cold": ("hot", {"PYEMU_HOT": "20", "PYEMU_BACKGROUND": "", "objects": "tiering"}, "tier-ups"),
    "tiering warm": ("hot", {"PYEMU_HOT": "20", "PYEMU_BACKGROUND": "", "objects": "tiering"}, "from the cache"),
    "fallback": ("fallback", {"PYEMU_HOT": "20"}, "fallback"),
    "no cache": ("hot", {"PYEMU_HOT": "7", "PYEMU_CACHE": "0", "PYEMU_BACKGROUND": ""}, "tier-ups"),
}


@pytest.fixture(scope="module")
def itrace(tmp_path_factory):
    d = tmp_path_factory.mktemp("itrace")
    try:
        return guestlib.build(HERE / "src" / "itrace.S", d), d
    except guestlib.ToolchainError as e:
        pytest.fail("cannot build the itrace guest: %s" % e)


def _problem(want, stats):
    c = Census.from_stats(stats)
    if want in ("baseline", "llvm", "hot", "fallback"):
        return census_problem(want, c)
    if want == "tier-ups" and c.tier_ups <= 0:
        return "no tier-up (%r)" % c
    if want == "from the cache" and c.o2_cached <= 0:
        return "no O2 block from the translation cache (%r)" % c
    return None


def test_icount_trace_is_the_same_on_every_tier_and_cache_state(itrace):
    elf, d = itrace
    outs = {}
    for name, (tier, env, want) in RUNS.items():
        env = dict(env)
        if "objects" in env:        # a cache directory of their own (else the tier's)
            env["PYEMU_OBJCACHE_DIR"] = str(d / ("objects-" + env.pop("objects")))
        run = tiered.run(guestlib.pyemu_command(elf, ["-icount", "3"]), tier, d, timeout=300, extra_env=env)
        assert run.status == guestlib.exit_status(0x22) and b"PASS itrace\n" in run.stdout, (
            "%s: %s" % (name, run.describe()))
        assert run.stats is not None, "%s: no PYEMU_STATS file" % name
        problem = _problem(want, run.stats)
        assert problem is None, "%s: %s" % (name, problem)
        outs[name] = run.stdout.decode("latin-1")
    ref = outs["llvm tier 2"]
    for name, out in outs.items():
        assert out == ref, "the %s run's trace differs from the LLVM tier's:\n%s\n--- LLVM tier 2:\n%s" % (
            name, out, ref)
    # the trace is one of interrupts in many places, some in the middle of a REP MOVSB
    samples = re.findall(r"^\d+ eip=([0-9a-f]{8}) efl=\S+ eax=\S+ ecx=([0-9a-f]{8})", ref, re.M)
    assert len(samples) == SAMPLES, ref
    assert len({eip for eip, _ in samples}) >= 5, ref
    rep = [(eip, ecx) for eip, ecx in samples if _code_at(elf, int(eip, 16)) == REP_MOVSB]
    assert any(0 < int(ecx, 16) < 3000 for _, ecx in rep), "no interrupt inside the REP MOVSB:\n" + ref


def _code_at(elf, addr):
    """Two bytes of the ELF's loaded image at addr (its program headers)."""
    import struct
    data = elf.read_bytes()
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    for k in range(phnum):
        p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIIII", data, phoff + k * phentsize)
        if p_type == 1 and p_vaddr <= addr < p_vaddr + p_filesz:
            return data[p_offset + addr - p_vaddr:p_offset + addr - p_vaddr + 2]
    return b""
