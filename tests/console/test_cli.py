"""The console options on pyemu's command line: -serial, -debugcon, -monitor, -display, -nographic.

Each test runs pyemu as a user does (a subprocess, no terminal) and checks what
the user sees: where the guest's bytes go, and one-line errors for bad options.
"""
import os
import signal
import socket
import time

import pytest

from guests import guestlib

from . import consolelib
from .consolelib import PipeRun

EXIT5 = guestlib.exit_status(5)


def _pyemu(kernel, *extra, stdin=None, timeout=consolelib.START_TIMEOUT):
    run = PipeRun(consolelib.pyemu_argv(kernel, extra), env=consolelib.pyemu_env(),
                  stdin=stdin if stdin is not None else open(os.devnull, "rb"))
    try:
        status = run.wait(timeout)
    finally:
        run.kill()
    return status, bytes(run.stdout), run.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("args,message", [
    (["-serial", "vc"], "pyemu: unknown character device 'vc' (valid: stdio, mon:stdio, null, none, "
                        "file:PATH, pipe:PATH, pty, tcp:[HOST]:PORT[,server][,nowait])"),
    (["-debugcon", "tcp:nowhere"], "pyemu: 'tcp:nowhere': expected tcp:[HOST]:PORT[,server][,nowait]"),
    (["-monitor", "tcp::5555,server"], "pyemu: -monitor tcp::5555,server: pyemu's human monitor is on stdio "
                                       "only (accepted: none, null, stdio, mon:stdio; for a socket use -qmp)"),
    (["-display", "gtk"], "pyemu: -display gtk: pyemu has no display (use -display none or -nographic; "
                          "the serial console is on the terminal)"),
])
def test_bad_console_options_are_one_line_errors(console_guests, args, message):
    status, out, err = _pyemu(console_guests["exit5"], *args, timeout=60)
    assert status == 1
    assert err.strip() == message
    assert out == b""


def test_serial_file_unopenable_is_one_line_error(console_guests, tmp_path):
    status, out, err = _pyemu(console_guests["exit5"], "-serial", "file:%s/no/such/x" % tmp_path)
    assert status == 1
    assert err.strip().startswith("pyemu: cannot open '%s/no/such/x' for -serial file:" % tmp_path), err
    assert len(err.strip().splitlines()) == 1


def test_monitor_none_display_none_accepted(console_guests):
    status, out, err = _pyemu(console_guests["exit5"], "-monitor", "none", "-display", "none")
    assert status == EXIT5, err
    assert b"exit value 00000005" in out


def test_serial_file_gets_the_output(console_guests, tmp_path):
    log = tmp_path / "com1.log"
    status, out, err = _pyemu(console_guests["exit5"], "-serial", "file:%s" % log)
    assert status == EXIT5, err
    assert out == b""                         # -nographic with an explicit -serial uses that
    assert b"exit value 00000005" in log.read_bytes()


def test_serial_null(console_guests):
    status, out, err = _pyemu(console_guests["exit5"], "-serial", "null")
    assert status == EXIT5, err
    assert out == b""


def test_serial_tcp_server_waits_for_its_client(console_guests):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    run = PipeRun(consolelib.pyemu_argv(console_guests["exit5"], ["-serial", "tcp:127.0.0.1:%d,server" % port]),
                  env=consolelib.pyemu_env(), stdin=open(os.devnull, "rb"))
    try:
        deadline = time.monotonic() + consolelib.START_TIMEOUT
        while b"waiting for connection" not in run.stderr and time.monotonic() < deadline:
            assert run.proc.poll() is None, run.stderr.decode()
            time.sleep(0.05)
        assert run.stderr.decode().strip() == "pyemu: waiting for connection on: tcp:127.0.0.1:%d,server" % port
        time.sleep(0.5)
        assert run.proc.poll() is None, "the guest ran before the client connected"
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(consolelib.START_TIMEOUT)
        got = bytearray()
        while True:
            data = c.recv(4096)
            if not data:
                break
            got += data
        c.close()
        assert run.wait(60) == EXIT5
        assert b"== exit ==" in got and b"exit value 00000005" in got   # nothing lost before the client
        assert run.stdout == b""
    finally:
        run.kill()


def test_debugcon_and_serial_on_stdio_keep_order(console_guests, tmp_path):
    status, out, err = _pyemu(console_guests["exit5"], "-debugcon", "stdio")
    assert status == EXIT5, err
    assert b"exit value 00000005" in out


def test_stdout_reader_gone_stops_pyemu_cleanly(console_guests):
    run = PipeRun(consolelib.pyemu_argv(console_guests["spin-loud"]), env=consolelib.pyemu_env(),
                  stdin=open(os.devnull, "rb"))
    try:
        run.expect(b"line 100", consolelib.START_TIMEOUT)
        # close our end of pyemu's stdout: its next writes fail with EPIPE
        run.proc.stdout.close()
        status = run.wait(60)
        err = run.stderr.decode("utf-8", "replace")
        assert status == 0, err
        assert "pyemu: the reader of the serial output went away" in err
        assert "Traceback" not in err
    finally:
        run.kill()


def test_piped_stdin_is_typed_into_the_guest(console_guests, tmp_path):
    # needs the UART's receive path (LSR.DR / RBR fed from the back end's read())
    script = tmp_path / "typed.txt"
    script.write_bytes(b"hello\n" + b"x" * 200 + b"\nexit\n")     # longer than a 16-byte FIFO
    with open(script, "rb") as stdin:
        status, out, err = _pyemu(console_guests["echo"], stdin=stdin, timeout=consolelib.START_TIMEOUT)
    assert status == consolelib.ECHO_EXIT_STATUS, err
    assert b"hello\n" + b"x" * 200 + b"\nexit\nPASS echo" in out


def test_sigint_during_tcp_wait(console_guests):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    run = PipeRun(consolelib.pyemu_argv(console_guests["exit5"], ["-serial", "tcp:127.0.0.1:%d,server" % port]),
                  env=consolelib.pyemu_env(), stdin=open(os.devnull, "rb"))
    try:
        deadline = time.monotonic() + consolelib.START_TIMEOUT
        while b"waiting for connection" not in run.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        run.proc.send_signal(signal.SIGINT)
        assert run.wait(30) == 130
        assert run.stderr.decode().strip().splitlines()[-1] == "pyemu: interrupted"
    finally:
        run.kill()
