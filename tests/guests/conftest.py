"""Fixtures for the bare-metal guest tests: a build directory for the whole
session and one run per (emulator, program), shared by the tests that look
at it."""
import pytest

from . import guestlib


class GuestRuns:
    def __init__(self, tmp_path_factory):
        self.dir = tmp_path_factory.mktemp("guests")
        self._elfs = {}
        self._runs = {}

    def elf(self, name, defsyms=()):
        key = (name, tuple(defsyms))
        if key not in self._elfs:
            self._elfs[key] = guestlib.build(name, self.dir, defsyms=defsyms)
        return self._elfs[key]

    def pyemu(self, name, defsyms=()):
        key = ("pyemu", name, tuple(defsyms))
        if key not in self._runs:
            self._runs[key] = guestlib.run_pyemu(self.elf(name, defsyms))
        return self._runs[key]

    def qemu(self, name, defsyms=()):
        key = ("qemu", name, tuple(defsyms))
        if key not in self._runs:
            self._runs[key] = guestlib.run_qemu(self.elf(name, defsyms))
        return self._runs[key]


@pytest.fixture(scope="session")
def guest_runs(tmp_path_factory):
    return GuestRuns(tmp_path_factory)
