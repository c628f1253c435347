"""The interactive console: pyemu under a pseudo-terminal, as a user at a terminal runs it.

pyemu must put the terminal in raw mode while the guest runs (Ctrl-C is a byte
for the guest), handle QEMU's Ctrl-A commands, and give the terminal back with
exactly the attributes it had, whichever way it exits.
"""
import signal
import termios

import pytest

from . import consolelib
from .consolelib import READY, PtyRun


@pytest.fixture
def pty_pyemu(console_guests):
    runs = []

    def start(guest="echo", extra=()):
        run = PtyRun(consolelib.pyemu_argv(console_guests[guest], extra), env=consolelib.pyemu_env())
        runs.append(run)
        return run
    yield start
    for run in runs:
        run.close()


def _assert_raw(attrs):
    iflag, oflag, cflag, lflag = attrs[:4]
    assert not lflag & termios.ICANON, "line editing still on"
    assert not lflag & termios.ECHO, "the terminal still echoes"
    assert not lflag & termios.ISIG, "Ctrl-C would still raise SIGINT"
    assert not iflag & termios.ICRNL and not iflag & termios.IXON


def test_raw_mode_then_ctrl_a_x_quits_and_restores(pty_pyemu):
    run = pty_pyemu()
    run.expect(READY, consolelib.START_TIMEOUT)
    assert run.wait_raw(), "pyemu did not put the terminal in raw mode"
    _assert_raw(run.attrs())
    run.write(b"\x01h")
    help_text = run.expect(b"C-a C-a")
    assert b"C-a x" in help_text
    run.write(b"\x01c")                  # the human monitor, and back to the console
    run.expect(b"(qemu) ")
    run.write(b"info status\r")
    run.expect(b"VM status: running")
    run.write(b"\x01c")
    run.write(b"\x01x")
    status = run.wait()
    assert status == 0, run.output.decode("latin-1")
    assert b"pyemu: Terminated" in run.output
    assert run.attrs() == run.attrs_before


def test_sigterm_restores_terminal(pty_pyemu):
    run = pty_pyemu()
    run.expect(READY, consolelib.START_TIMEOUT)
    assert run.wait_raw()
    run.signal(signal.SIGTERM)
    status = run.wait()
    assert status == 128 + signal.SIGTERM
    assert b"pyemu: terminating on signal 15 (SIGTERM)" in run.output
    assert run.attrs() == run.attrs_before


def test_sighup_restores_terminal(pty_pyemu):
    run = pty_pyemu("spin")
    run.expect(b"SPIN READY", consolelib.START_TIMEOUT)
    assert run.wait_raw()
    run.signal(signal.SIGHUP)
    assert run.wait() == 128 + signal.SIGHUP
    assert run.attrs() == run.attrs_before


def test_guest_exit_restores_terminal(pty_pyemu):
    # the guest ends on its own (isa-debug-exit): the normal exit path
    from guests import guestlib
    run = pty_pyemu("exit5")
    assert run.wait(consolelib.START_TIMEOUT) == guestlib.exit_status(5), run.output.decode("latin-1")
    assert b"exit value 00000005" in run.output
    assert run.attrs() == run.attrs_before


def test_typed_input_echoes_and_ctrl_c_goes_to_the_guest(pty_pyemu):
    # needs the UART's receive path (LSR.DR / RBR fed from the back end's read())
    run = pty_pyemu()
    run.expect(READY, consolelib.START_TIMEOUT)
    assert run.wait_raw()
    run.write(b"hello")
    run.expect(b"hello", 20)
    run.write(b"\x03")                      # Ctrl-C: a byte for the guest, not SIGINT
    run.expect(b"\x03")
    run.write(b"\x01\x01")                  # C-a C-a: one literal C-a
    run.expect(b"\x01")
    assert run.proc.poll() is None, "Ctrl-C stopped pyemu instead of reaching the guest"
    run.write(b"\rexit\r")                  # Enter sends CR on a raw terminal
    assert run.wait() == consolelib.ECHO_EXIT_STATUS
    assert b"PASS echo" in run.output
    assert run.attrs() == run.attrs_before


def test_exception_restores_terminal():
    # an exception that escapes everything: the atexit handler restores the terminal
    code = ("from emu.devices.chardev.stdio import StdioBackend, terminal_is_raw\n"
            "b = StdioBackend()\n"
            "b.start()\n"
            "print('RAW' if terminal_is_raw() else 'COOKED', flush=True)\n"
            "raise RuntimeError('boom')\n")
    run = PtyRun(consolelib.python_argv(code), env=consolelib.pyemu_env())
    try:
        run.expect(b"RAW", 60)
        assert run.wait() == 1
        assert b"RuntimeError: boom" in run.output
        assert run.attrs() == run.attrs_before
    finally:
        run.close()


def test_terminal_not_taken_when_not_in_the_foreground(console_guests):
    # the pty is not pyemu's controlling terminal (like `pyemu &` in a shell):
    # raw mode or reading it would get pyemu stopped by SIGTTOU/SIGTTIN
    run = PtyRun(consolelib.pyemu_argv(console_guests["spin"]), env=consolelib.pyemu_env(), controlling=False)
    try:
        run.expect(b"SPIN READY", consolelib.START_TIMEOUT)
        assert not run.wait_raw(timeout=1)
        assert run.attrs() == run.attrs_before
        run.signal(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM
    finally:
        run.close()
