"""pytest support for guest tests: the `guest_session` fixture (a GuestSession factory).

    def test_uname(guest_session, tiny_kernel, initramfs):
        s = guest_session(kernel=tiny_kernel, initrd=initramfs, wait_for=r"BOOT-OK")
        assert s.run("uname -s") == "Linux"
        assert s.poweroff() == 0

A test can also start from a guest booted once per configuration and kept as
a snapshot (emu/booted.py), with the `booted_guest` fixture:

    def test_uname(booted_guest, tiny_kernel, initramfs):
        s = booted_guest(kernel=tiny_kernel, initrd=initramfs, append="console=ttyS0")
        assert s.run("uname -s") == "Linux"        # no boot: restored at the prompt

guest_session(**kwargs) takes GuestSession.start's arguments (kernel, initrd,
append, extra_args, timeout, memory, wait_for, ...); guest_session.spawn(argv,
**kwargs) runs any other command as a session.  Every session the test started
is killed when it ends, pass or fail, and its console log is written to the
test's tmp_path (console-N.log); when the test failed, the report gets a
section with each log's path and its tail.

Registered for the whole suite by tests/conftest.py (`from emu.testing import ...`);
another project can use `pytest_plugins = ["emu.testing"]`.
"""
import pytest

from .booted import start_booted
from .session import TAIL, GuestSession


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "_pyemu_report_" + report.when, report)


class _SessionFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.sessions = []

    def _log_path(self):
        return self.tmp_path / ("console-%d.log" % (len(self.sessions) + 1))

    def __call__(self, **kwargs):
        kwargs.setdefault("log_path", self._log_path())
        s = GuestSession.start(**kwargs)
        self.sessions.append(s)
        return s

    def spawn(self, argv, **kwargs):
        kwargs.setdefault("log_path", self._log_path())
        s = GuestSession(argv, **kwargs)
        self.sessions.append(s)
        return s

    def finish(self, node):
        failed = any(getattr(getattr(node, "_pyemu_report_" + when, None), "failed", False)
                     for when in ("setup", "call"))
        for s in self.sessions:
            s.kill()
            path = s.save_log()
            if failed:
                node.add_report_section("call", "pyemu console %s" % path.name,
                                        "full log: %s\n%s" % (path, s.log[-TAIL:].decode("utf-8", "replace")))


@pytest.fixture
def guest_session(request, tmp_path):
    """A factory of GuestSessions that are all killed when the test ends (see emu.testing)."""
    factory = _SessionFactory(tmp_path)
    yield factory
    factory.finish(request.node)


class _BootedFactory(_SessionFactory):
    def __call__(self, **kwargs):
        kwargs.setdefault("log_path", self._log_path())
        s = start_booted(**kwargs)
        self.sessions.append(s)
        return s


@pytest.fixture
def booted_guest(request, tmp_path):
    """A factory of guests restored from their configuration's booted snapshot
    (emu/booted.py: the first test of a configuration boots it, the others
    start at its shell prompt in a fraction of a second); killed when the test ends."""
    factory = _BootedFactory(tmp_path)
    yield factory
    factory.finish(request.node)
