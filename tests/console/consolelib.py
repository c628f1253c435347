"""Helpers for the console tests: the echo guest, pyemu's command line, pyemu under a pty.

The echo guest (src/echo.S) prints "ECHO READY" and echoes what it receives on
COM1; a line "exit" ends it through isa-debug-exit (status 0x43), a line
"reboot -f" resets the machine (pyemu exits under -no-reboot).
"""
import fcntl
import os
import pathlib
import select
import signal
import subprocess
import sys
import termios
import time

from guests import guestlib

HERE = pathlib.Path(__file__).resolve().parent
ECHO_SOURCE = HERE / "src" / "echo.S"
ECHO_EXIT_STATUS = guestlib.exit_status(0x21)
READY = b"ECHO READY"
REPO = guestlib.REPO
# the first pyemu of a session may compile numba's caches (a minute or more on a
# loaded 2-core machine); the guests print their READY line right after
START_TIMEOUT = 300


def build_echo(outdir):
    return guestlib.build(str(ECHO_SOURCE), outdir)


def pyemu_argv(kernel, extra=()):
    """pyemu as a user types it for a serial console: -nographic, -no-reboot, isa-debug-exit."""
    return guestlib.pyemu_command(kernel, extra)


def pyemu_env():
    return guestlib._pyemu_env()


def _make_controlling_tty():
    # runs in the child after setsid(): the pty slave (fd 0) becomes its controlling
    # terminal, so pyemu is the terminal's foreground process group, as in a shell
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyRun:
    """A process whose stdin, stdout and stderr are the slave side of a new pty.

    The test holds the master (what a terminal emulator sees) and keeps the slave
    open too, so it can read the slave's attributes before and after."""

    def __init__(self, argv, env=None, controlling=True):
        """controlling=False: the pty is not the child's controlling terminal (as for a
        program started in the background), so pyemu must leave it alone."""
        self.master, self.slave = os.openpty()
        self.attrs_before = termios.tcgetattr(self.slave)
        self.output = bytearray()
        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     cwd=str(REPO), env=env, start_new_session=True,
                                     preexec_fn=_make_controlling_tty if controlling else None)

    def attrs(self):
        return termios.tcgetattr(self.slave)

    def write(self, data):
        os.write(self.master, data)

    def _pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return False
            self.output += data
            return bool(data)
        return False

    def expect(self, needle, timeout=60):
        """Read until needle appears after what earlier expects consumed; returns the text read."""
        deadline = time.monotonic() + timeout
        start = getattr(self, "_pos", 0)
        while True:
            k = self.output.find(needle, start)
            if k >= 0:
                self._pos = k + len(needle)
                return bytes(self.output[start:self._pos])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%r not seen in %ss; pty output so far:\n%s" % (
                    needle, timeout, bytes(self.output[-2000:]).decode("latin-1")))
            if self.proc.poll() is not None and not self._pump(0.2):
                raise AssertionError("pyemu exited (status %s) before %r; pty output:\n%s" % (
                    self.proc.returncode, needle, bytes(self.output[-2000:]).decode("latin-1")))
            self._pump(min(left, 0.5))

    def wait_raw(self, timeout=30):
        """Wait until the terminal is in raw mode (pyemu took it); True if it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.attrs()[3] & termios.ICANON:
                return True
            self._pump(0.05)
        return False

    def wait(self, timeout=30):
        """Wait for the process to end, collecting its output; returns the exit status."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._pump(0.1)
        if self.proc.poll() is None:
            self.kill()
            raise AssertionError("pyemu did not exit within %ss; pty output:\n%s" % (
                timeout, bytes(self.output[-2000:]).decode("latin-1")))
        while self._pump(0.1):
            pass
        return self.proc.returncode

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()

    def close(self):
        self.kill()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def python_argv(code):
    """A Python child running code with this checkout importable (for back-end tests)."""
    return [sys.executable, "-c", code]


class PipeRun:
    """A process with stdin, stdout and stderr on pipes (no terminal anywhere), its
    output collected by threads."""

    def __init__(self, argv, env=None, stdin=subprocess.PIPE):
        import threading
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=str(REPO), env=env, start_new_session=True)
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._collect, args=(f, buf), daemon=True)
                         for f, buf in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))]
        for t in self._threads:
            t.start()

    def _collect(self, f, buf):
        while True:
            try:
                data = f.read1(4096)
            except (OSError, ValueError):
                data = b""          # the test closed this pipe on purpose
            with self._cond:
                if not data:
                    self._cond.notify_all()
                    return
                buf += data
                self._cond.notify_all()

    def expect(self, needle, timeout=60):
        with self._cond:
            ok = self._cond.wait_for(lambda: needle in self.stdout or self.proc.poll() is not None, timeout)
            if not ok or needle not in self.stdout:
                raise AssertionError("%r not seen in %ss (status %s); stdout:\n%s\nstderr:\n%s" % (
                    needle, timeout, self.proc.poll(), self.stdout[-2000:].decode("latin-1"),
                    self.stderr[-2000:].decode("latin-1")))

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, timeout=30):
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("process did not exit within %ss; stdout:\n%s\nstderr:\n%s" % (
                timeout, self.stdout[-2000:].decode("latin-1"), self.stderr[-2000:].decode("latin-1")))
        for t in self._threads:
            t.join(5)
        return status

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
