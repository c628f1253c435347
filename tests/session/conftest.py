"""Fixtures for the session API tests: the echo guest (tests/console/src/echo.S)."""
import pytest

from console import consolelib
# tests/conftest.py registers these for the whole suite; imported here too so this
# directory works on its own
from emu.testing import guest_session, pytest_runtest_makereport  # noqa: F401


@pytest.fixture(scope="session")
def echo_elf(tmp_path_factory):
    return consolelib.build_echo(tmp_path_factory.mktemp("session-guests"))
