"""Fixtures for the console tests: the echo and spin guests, built once per session."""
import pytest

from guests import guestlib

from . import consolelib


@pytest.fixture(scope="session")
def console_guests(tmp_path_factory):
    d = tmp_path_factory.mktemp("console-guests")
    return {
        "echo": consolelib.build_echo(d),
        "spin": guestlib.build(str(consolelib.HERE / "src" / "spin.S"), d),
        "spin-hlt": guestlib.build(str(consolelib.HERE / "src" / "spin.S"), d, defsyms=(("HALT", 1),)),
        "spin-loud": guestlib.build(str(consolelib.HERE / "src" / "spin.S"), d, defsyms=(("LOUD", 1),)),
        "exit5": guestlib.build("exit", d, defsyms=(("EXIT_VALUE", 5),)),
    }
