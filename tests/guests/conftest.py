"""Fixtures for the bare-metal guest tests: a build directory for the whole
session and one run per (emulator, program, pyemu's tier), shared by the
tests that look at it."""
import pytest

from . import guestlib, tiered
from .shared import SharedRuns, session_dir


class GuestRuns:
    def __init__(self, tmp_path_factory):
        self.dir = tmp_path_factory.mktemp("guests")
        self._elfs = {}
        self._runs = SharedRuns(session_dir(tmp_path_factory, "guests"))

    def elf(self, name, defsyms=()):
        key = (name, tuple(defsyms))
        if key not in self._elfs:
            self._elfs[key] = guestlib.build(name, self.dir, defsyms=defsyms)
        return self._elfs[key]

    def pyemu(self, name, tier, defsyms=()):
        """The run on pyemu's tier (tests/tiers.py), with its PYEMU_STATS figures."""
        return self._runs.get(("pyemu", name, tuple(defsyms), tier), lambda: tiered.run(
            guestlib.pyemu_command(self.elf(name, defsyms)), tier, self.dir))

    def qemu(self, name, defsyms=()):
        return self._runs.get(("qemu", name, tuple(defsyms)), lambda: guestlib.run_qemu(self.elf(name, defsyms)))


@pytest.fixture(scope="session")
def guest_runs(tmp_path_factory):
    return GuestRuns(tmp_path_factory)
