"""x87 semantics: pyemu against qemu-system-i386, in bulk (x87_batch.py says what and why).

One guest runs every case on each emulator; the FNSAVE dumps must agree up
to the masks each case states.  --semantics-cases scales the count (default
1200), --semantics-seed picks the cases.  pyemu runs the batch on each
translation tier (the `tier` fixture, conftest.py) and must show that tier's
work in its PYEMU_STATS figures (tests/tiers.py).
"""
import os
import pathlib

import pytest

from tests.guests import guestlib, tiered

from . import x87_batch as B
from .conftest import DEFAULT_RUNS

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE / "x87_qemu" / "batch.S"
DEFAULT_CASES = 1200
MAX_REPORTS = int(os.environ.get("PYEMU_TEST_REPORTS", "8"))


def _run(cmd, timeout):
    return guestlib._run(cmd, timeout, env=guestlib._pyemu_env())


@pytest.fixture(scope="module")
def batch(tmp_path_factory, semantics_runs, semantics_seed):
    """(cases, the batch guest, its directory, QEMU's output)."""
    if guestlib.qemu_path() is None:
        pytest.fail(guestlib.QEMU_MISSING)
    n = max(50, DEFAULT_CASES * semantics_runs // DEFAULT_RUNS)
    cases = B.generate(semantics_seed, n)
    d = tmp_path_factory.mktemp("x87batch")
    (d / "cases.bin").write_bytes(B.cases_bin(cases))
    elf = guestlib.build(str(SOURCE), d, include_dirs=[d])
    path = d / "qemu.bin"
    cmd = [guestlib.qemu_path(), "-kernel", str(elf)] + guestlib.QEMU_ARGS + ["-debugcon", "file:%s" % path]
    run = _run(cmd, timeout=900)
    assert not run.timed_out and b"PASS x87batch" in run.stdout, "qemu did not finish the batch:\n%s" % (
        run.describe())
    return cases, elf, d, path.read_bytes()


def test_x87_batch_matches_qemu(batch, tier, semantics_seed):
    cases, elf, d, qemu_out = batch
    path = d / ("pyemu-%s.bin" % tier)
    run = tiered.run(guestlib.pyemu_command(elf, ["-debugcon", "file:%s" % path]), tier, d, timeout=900)
    assert not run.timed_out and b"PASS x87batch" in run.stdout, "pyemu did not finish the batch:\n%s" % (
        run.describe())
    tiered.check_tier(tier, run)
    out = {"qemu": qemu_out, "pyemu": path.read_bytes()}
    assert len(out["qemu"]) == B.OUT * len(cases), "QEMU wrote %d bytes for %d cases" % (len(out["qemu"]), len(cases))
    assert len(out["pyemu"]) == B.OUT * len(cases), "pyemu wrote %d bytes" % len(out["pyemu"])
    reports = []
    bad = 0
    for i, c in enumerate(cases):
        diffs = B.compare(c, B.parse_out(out["pyemu"], i), B.parse_out(out["qemu"], i))
        if diffs:
            bad += 1
            if len(reports) < MAX_REPORTS:
                reports.append(B.describe(c, i) + "\n" + "\n".join("  " + d for d in diffs))
    assert not bad, "%d of %d cases differ from qemu-system-i386 (seed %s); first %d:\n%s" % (
        bad, len(cases), semantics_seed, len(reports), "\n\n".join(reports))
