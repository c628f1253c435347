"""Host signals stop pyemu cleanly when no terminal is involved (pipes, scripts, CI).

SIGINT (Ctrl-C of a script, or `kill -INT`) must end pyemu with "pyemu:
interrupted" and status 130, SIGTERM with status 143, whatever the guest is
doing: looping in chained native blocks, halted, or polling an I/O port (where
the signal usually lands inside a ctypes callback, which must not swallow it).
"""
import signal

import pytest

from emu.console import _StopOnSignal
from emu.snippet import CODE_ADDR, Snippet

from . import consolelib
from .consolelib import PipeRun

READY = {"spin": b"SPIN READY", "spin-hlt": b"SPIN READY", "echo": b"ECHO READY"}


@pytest.mark.parametrize("guest", ["spin", "spin-hlt", "echo"])
def test_sigint_stops_a_guest_that_never_ends(console_guests, guest):
    run = PipeRun(consolelib.pyemu_argv(console_guests[guest]), env=consolelib.pyemu_env())
    try:
        run.expect(READY[guest], consolelib.START_TIMEOUT)
        run.proc.send_signal(signal.SIGINT)
        status = run.wait(timeout=15)
        err = run.stderr.decode("utf-8", "replace")
        assert status == 130, err
        assert err.strip().splitlines()[-1] == "pyemu: interrupted", err
        assert "Traceback" not in err and "Exception ignored" not in err, err
    finally:
        run.kill()


@pytest.mark.parametrize("guest", ["spin", "echo"])
def test_sigterm_stops_a_guest_that_never_ends(console_guests, guest):
    run = PipeRun(consolelib.pyemu_argv(console_guests[guest]), env=consolelib.pyemu_env())
    try:
        run.expect(READY[guest], consolelib.START_TIMEOUT)
        run.proc.send_signal(signal.SIGTERM)
        status = run.wait(timeout=15)
        err = run.stderr.decode("utf-8", "replace")
        assert status == 128 + signal.SIGTERM, err
        assert "pyemu: terminating on signal 15 (SIGTERM)" in err
        assert "Traceback" not in err and "Exception ignored" not in err, err
    finally:
        run.kill()


def test_a_signal_during_a_translation_only_asks_the_run_to_stop():
    """CI saw SIGINT land in llvmlite's object-cache callback while a block was
    compiled; the exception raised there was dropped by ctypes and LLVM went
    on with a buffer it never got (a segfault).  Inside run() the handler must
    not raise: it asks the machine to stop, and the caller raises afterwards."""
    s = Snippet(bits=32)
    try:
        m = s.machine
        handler = _StopOnSignal(m)
        translate = m.translator.lookup

        def lookup_interrupted(*args, **kwargs):
            handler(signal.SIGINT, None)        # as if the signal came mid-translation
            return translate(*args, **kwargs)

        m.translator.lookup = lookup_interrupted
        s.write(CODE_ADDR, b"\xeb\xfe")        # jmp $: a guest that never ends
        s._enter(CODE_ADDR)
        assert m.run() == 128 + signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            handler.raise_pending()
    finally:
        s.close()
