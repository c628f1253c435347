"""The PC chipset from a bare-metal guest with interrupts (src/devices.S): PCI,
RTC/CMOS, i8042, UART, 8259 + 8254, local APIC and IOAPIC, each value a
datasheet fact; the serial output and exit status must be QEMU's, on every
translation tier of pyemu (tests/tiers.py)."""
import pytest

from tiers import TIERS

from . import guestlib
from .test_guests import _diff, check_clean_run
from .tiered import check_tier

NAME, CODE = "devices", 0x21


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_devices_guest_passes_on_pyemu(guest_runs, tier):
    run = guest_runs.pyemu(NAME, tier)
    check_clean_run(run, "pyemu")
    assert b"PASS devices\n" in run.stdout and run.status == guestlib.exit_status(CODE), run.describe()
    check_tier(tier, run)


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_devices_guest_matches_qemu(guest_runs, tier):
    ref = guest_runs.qemu(NAME)
    assert not ref.timed_out and b"PASS devices\n" in ref.stdout, (
        "the reference run on QEMU did not pass: the test program itself is wrong\n" + ref.describe())
    run = guest_runs.pyemu(NAME, tier)
    check_clean_run(run, "pyemu")
    assert run.stdout == ref.stdout, "serial output differs from QEMU's (- qemu, + pyemu):\n%s\n%s" % (
        _diff(ref.stdout, run.stdout), run.stderr)
    assert run.status == ref.status
