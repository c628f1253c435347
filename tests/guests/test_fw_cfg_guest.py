"""fw_cfg from a bare-metal multiboot program written for QEMU (src/fw_cfg.S):
the CPU count, RAM size, signature, etc/e820 and the DMA interface; the serial
output and exit status must be QEMU's, on every tier."""
import pytest

from tiers import TIERS

from . import guestlib
from .test_guests import _diff, check_clean_run
from .tiered import check_tier

NAME, CODE = "fw_cfg", 0x23


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_fw_cfg_guest_passes_and_matches_qemu(guest_runs, tier):
    ref = guest_runs.qemu(NAME)
    assert not ref.timed_out and b"PASS fw_cfg\n" in ref.stdout, (
        "the reference run on QEMU did not pass: the test program itself is wrong\n" + ref.describe())
    run = guest_runs.pyemu(NAME, tier)
    check_clean_run(run, "pyemu")
    assert b"PASS fw_cfg\n" in run.stdout and run.status == guestlib.exit_status(CODE), run.describe()
    assert run.stdout == ref.stdout, "serial output differs from QEMU's (- qemu, + pyemu):\n%s" % (
        _diff(ref.stdout, run.stdout))
    check_tier(tier, run)
