"""The guest-session API (emu/session.py) and its pytest fixture (emu/testing.py).

Three kinds of peer:
  - a shell on pipes made to look like a serial console (it echoes each line with
    CR LF and prints a prompt), for run()'s parsing, errors and logs: fast, and
    a real shell decides the outputs and exit statuses;
  - qemu-system-i386 running the echo guest: the reference for the guest and for
    expect/sendline/poweroff over a real emulated 16550;
  - pyemu running the same guest (needs the UART's receive path).
"""
import re
import shutil
import threading
import time

import pytest

from emu.session import CommandFailed, GuestSession, SessionExited, SessionTimeout, pyemu_command
from emu.testing import _SessionFactory

from console import consolelib

# a serial-console look-alike: echo the typed line (CR LF), run it, print a prompt
FAKE_CONSOLE = ["sh", "-c", "printf '/ # '; while IFS= read -r line; do printf '%s\\r\\n' \"$line\"; "
                            "eval \"$line\"; printf '/ # '; done"]

DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


@pytest.fixture
def console(guest_session):
    return guest_session.spawn(FAKE_CONSOLE, timeout=20)


def test_run_returns_output_without_echo_or_prompt(console):
    assert console.run("echo hello") == "hello"
    assert console.last_status == 0
    assert console.run("echo $((6*7))") == "42"
    assert console.run("printf 'a\\nb\\n'") == "a\nb"
    assert console.run("printf 'no newline'") == "no newline"
    assert console.run("true") == ""
    # output that quotes the markers' pieces cannot end the command early
    assert console.run("echo __PYEMU_E; echo '__PYEMU''_B1__x'") == "__PYEMU_E\n__PYEMU_B1__x"


def test_run_exit_status_and_check(console):
    assert console.run("echo oops; false") == "oops"
    assert console.last_status == 1
    assert console.run("(exit 7)") == "" and console.last_status == 7
    with pytest.raises(CommandFailed, match="status 3"):
        console.run("echo bad; (exit 3)", check=True)
    assert console.run("echo still alive") == "still alive"


def test_run_rejects_several_lines(console):
    with pytest.raises(ValueError):
        console.run("echo a\necho b")


def test_expect_returns_the_match_and_consumes(console):
    console.sendline("echo one-$((0+1)); echo two-$((1+1))")   # the echo of the line has no digits
    m = console.expect(r"one-(\d)")
    assert m.group(1) == b"1"
    m = console.expect(rb"two-(\d)")
    assert m.group(0) == b"two-2"
    with pytest.raises(SessionTimeout):
        console.expect(r"one-1", timeout=0.5)           # consumed already


def test_timeout_error_shows_the_tail_and_writes_the_log(console, tmp_path):
    console.sendline("echo marker-%s" % ("x" * 3000))
    console.expect("marker-")
    with pytest.raises(SessionTimeout) as e:
        console.expect("never printed", timeout=1)
    msg = str(e.value)
    assert "did not appear within 1s" in msg
    assert "x" * 2000 in msg and "x" * 3001 not in msg        # the last ~2 KB, not all of it
    path = re.search(r"full console log: (\S+)\)", msg).group(1)
    assert open(path, "rb").read().startswith(b"/ # echo marker-")


def test_exit_while_expecting(guest_session):
    s = guest_session.spawn(["sh", "-c", "echo bye; exit 3"], timeout=20)
    with pytest.raises(SessionExited, match="exited with status 3"):
        s.expect("never")
    assert s.wait() == 3
    assert s.log == b"bye\n"


def test_output_nobody_waits_for_never_stops_the_child(guest_session):
    """The console is read all the time (the reason the session is not on a
    pexpect.spawn pty, where a child that prints 20 KB nobody reads waits):
    1 MB printed while the caller does nothing, then found by expect."""
    s = guest_session.spawn(["sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo DONE"],
                            timeout=30)
    assert s.wait() == 0                    # it finished with nobody in expect()
    assert len(s.log) == (1 << 20) + len("\nDONE\n")
    assert s.expect(r"x{1048576}\nDONE").group(0).endswith(b"DONE")


def test_kill_stops_a_hung_process(guest_session):
    s = guest_session.spawn(["sh", "-c", "echo started; exec sleep 1000"], timeout=20)
    s.expect("started")
    t0 = time.monotonic()
    s.kill()
    assert not s.alive() and time.monotonic() - t0 < 5
    s.kill()                                               # idempotent


def test_context_manager_kills(tmp_path):
    with GuestSession(["sh", "-c", "exec sleep 1000"], log_path=tmp_path / "log") as s:
        assert s.alive()
    assert not s.alive()


def test_fixture_teardown_kills_and_saves_logs(tmp_path):
    factory = _SessionFactory(tmp_path)
    s = factory.spawn(["sh", "-c", "echo hi; exec sleep 1000"], timeout=20)
    s.expect("hi")

    class Node:
        sections = []

        def add_report_section(self, when, key, content):
            self.sections.append((key, content))
    factory.finish(Node())
    assert not s.alive()
    assert (tmp_path / "console-1.log").read_bytes().startswith(b"hi\n")
    assert Node.sections == []                              # the test had not failed


def test_many_sessions_at_once(guest_session):
    sessions = [guest_session.spawn(FAKE_CONSOLE, timeout=30) for _ in range(4)]
    results = {}

    def work(k, s):
        results[k] = [s.run("echo %d-%d" % (k, j)) for j in range(5)]
    threads = [threading.Thread(target=work, args=(k, s)) for k, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {k: ["%d-%d" % (k, j) for j in range(5)] for k in range(4)}


def test_pyemu_command_line():
    argv = pyemu_command("bz", "rd.gz", "console=ttyS0", ["-m", "64M"])
    assert argv[1:3] == ["-m", "emu.cli"]
    assert argv[3:] == ["-kernel", "bz", "-initrd", "rd.gz", "-append", "console=ttyS0", "-nographic",
                        "-serial", "stdio", "-monitor", "none", "-no-reboot", "-m", "64M"]


# --- the echo guest on QEMU (the reference) and on pyemu ------------------------------------

def _echo_round_trip(s):
    s.expect(consolelib.READY)
    s.sendline("hello guest")
    s.expect("hello guest\n")
    s.send(b"\x01\x03z")                                 # any byte goes through the pipes
    s.expect(b"\x01\x03z")
    s.sendline("")
    s.sendline("reboot -f")
    s.expect("ECHO RESET")


def test_echo_guest_on_qemu(guest_session, echo_elf):
    qemu = shutil.which("qemu-system-i386")
    assert qemu, "qemu-system-i386 is needed (the reference emulator; .ci/run installs it)"
    s = guest_session.spawn([qemu, "-kernel", echo_elf, "-nodefaults", "-display", "none", "-serial", "stdio",
                             "-no-reboot"] + DEBUG_EXIT, timeout=60)
    _echo_round_trip(s)
    assert s.wait() == 0


def test_echo_guest_on_pyemu(guest_session, echo_elf):
    # needs the UART's receive path (LSR.DR / RBR fed from the back end's read())
    s = guest_session(kernel=echo_elf, extra_args=DEBUG_EXIT, timeout=consolelib.START_TIMEOUT)
    _echo_round_trip(s)
    assert s.wait() == 0
    assert "reset the machine" in s.stderr


def test_echo_guest_on_pyemu_poweroff_and_exit_status(guest_session, echo_elf):
    s = guest_session(kernel=echo_elf, extra_args=DEBUG_EXIT, timeout=consolelib.START_TIMEOUT,
                      wait_for=consolelib.READY)
    s.sendline("exit")
    assert s.wait() == consolelib.ECHO_EXIT_STATUS
    s2 = guest_session(kernel=echo_elf, extra_args=DEBUG_EXIT, timeout=consolelib.START_TIMEOUT,
                       wait_for=consolelib.READY)
    assert s2.poweroff() == 0
