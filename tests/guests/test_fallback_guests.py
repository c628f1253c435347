"""The portable fallback (PYEMU_BASELINE=0: LLVM's tier 1, tier 2 once hot;
what hosts without copy-and-patch run) forced on a few bare-metal guests:
hot loops (checksum), self-modifying code (smc_loop), paging and exceptions
(sys_paging, sys_exceptions).  Each must pass, print what QEMU prints, and
show in its PYEMU_STATS figures that no block came from the baseline and
that blocks went up to tier 2 (tests/tiers.py: FALLBACK)."""
import pytest

from . import guestlib, syslib, tiered
from .test_guests import PROGRAMS, _diff, check_clean_run
from .test_sys_guests import PROGRAMS as SYS_PROGRAMS


def _check(run, ref, name, code):
    check_clean_run(run, "pyemu")
    assert ("PASS %s\n" % name).encode() in run.stdout and run.status == guestlib.exit_status(code), (
        "%s did not pass on the fallback:\n%s" % (name, run.describe()))
    tiered.check_tier("fallback", run)
    assert run.stats["tier_ups"] > 0, "no block reached tier 2:\n%s" % run.stats
    assert run.stdout == ref.stdout, "serial output differs from QEMU's (- qemu, + pyemu):\n%s" % (
        _diff(ref.stdout, run.stdout))
    assert run.status == ref.status


@pytest.mark.parametrize("name", ["checksum", "smc_loop"])
def test_guest_on_the_fallback_matches_qemu(guest_runs, name):
    _check(guest_runs.pyemu(name, "fallback"), guest_runs.qemu(name), name, PROGRAMS[name])


@pytest.mark.parametrize("name", ["sys_paging", "sys_exceptions"])
def test_sys_guest_on_the_fallback_matches_qemu(tmp_path, name):
    image, kind = syslib.build(name, tmp_path)
    run = tiered.run(syslib.pyemu_command(image, kind), "fallback", tmp_path, timeout=120)
    ref = syslib.run_qemu(image, kind, extra=syslib.qemu_extra_args(name))
    _check(run, ref, name, SYS_PROGRAMS[name])
