"""Guest sessions: boot a machine in a pyemu subprocess and talk to its serial console.

    from emu.session import GuestSession

    with GuestSession.start(kernel="bzImage", initrd="initrd.gz",
                            append="console=ttyS0 panic=-1", timeout=120) as s:
        s.expect(r"BOOT-OK")                    # regex (str or bytes) on the console output
        print(s.run("uname -a"))                # the command's output, no echo, no prompt
        assert s.run("echo $((6*7))") == "42"
        assert s.poweroff() == 0                # `reboot -f`; pyemu runs with -no-reboot

Each session is its own pyemu process (`python -m emu.cli ... -nographic
-serial stdio -monitor none -no-reboot`) with the console on pipes, so many
guests can run at once and a crash or hang of one cannot take the caller down.
expect() is pexpect's (emu/session_spawn.py: the console output fed to a
pexpect spawn by a reader thread that never stops reading, so a guest never
waits for its caller).  The whole console output is kept (`s.log`, bytes;
`s.text`, str).  When
expect() or run() fails, the error carries the last ~2 KB of it and the log is
written to a file (`log_path`, or a new file in the temporary directory) whose
name the error gives.

run() does not depend on a particular shell prompt.  It types one line

    echo '__PYEMU''_B7__'; CMD; echo "__PYEMU""_E7__ $?"

and takes what appears between the marker lines: the quotes keep the echo of
the typed line from ever containing a marker, so neither the terminal's echo
nor the prompt can be mistaken for output, and the second marker carries the
exit status (`s.last_status`, or check=True to raise on non-zero).

The pytest fixture `guest_session` (emu/testing.py) starts sessions and kills
them when the test ends.  GuestSession(argv) runs any other command the same
way (another emulator, or a plain shell in tests of this module).
"""
import ctypes
import itertools
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pexpect

from .session_spawn import ConsoleSpawn

REPO = pathlib.Path(__file__).resolve().parents[1]
TAIL = 2048                  # bytes of console output an error message shows


class SessionError(Exception):
    """Base of the errors a session raises; str() includes the console's tail."""


class SessionTimeout(SessionError):
    """expect()/run()/wait() did not see what it waited for in time."""


class SessionExited(SessionError):
    """The emulator exited while something was still expected."""


class CommandFailed(SessionError):
    """run(..., check=True) and the command's exit status was not 0."""


def _compile(pattern):
    if isinstance(pattern, re.Pattern):
        if isinstance(pattern.pattern, bytes):
            return pattern
        return re.compile(pattern.pattern.encode(), pattern.flags & ~re.UNICODE)
    if isinstance(pattern, str):
        return re.compile(pattern.encode())
    if isinstance(pattern, (bytes, bytearray)):
        return re.compile(bytes(pattern))
    raise TypeError("expect() takes a str or bytes regex, or a compiled one, not %r" % type(pattern).__name__)


def _die_with_parent():
    """In the child: be killed if the parent thread dies (Linux prctl PR_SET_PDEATHSIG),
    so a test process that is killed cannot leave guests running."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def pyemu_command(kernel, initrd=None, append="console=ttyS0 panic=-1", extra_args=(), memory=None,
                  no_reboot=True):
    """The pyemu command line of a session (the console on stdio, no monitor)."""
    argv = [sys.executable, "-m", "emu.cli", "-kernel", str(kernel)]
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    if append is not None:
        argv += ["-append", append]
    if memory is not None:
        argv += ["-m", str(memory)]
    argv += ["-nographic", "-serial", "stdio", "-monitor", "none"]
    if no_reboot:
        argv.append("-no-reboot")
    return argv + [str(a) for a in extra_args]


class GuestSession:
    """One running emulator with its serial console on pipes (see the module docstring)."""

    _counter = itertools.count(1)

    def __init__(self, argv, timeout=120, log_path=None, env=None, cwd=None, newline="\n",
                 prompt=None, die_with_parent=True):
        """Start argv.  timeout: the default for expect/run/wait (seconds).  prompt: an
        optional regex run() waits for after each command (the markers make it
        unnecessary).  die_with_parent: the child is killed if the thread that
        started it ends (Linux), so start sessions from a long-lived thread."""
        self.argv = [str(a) for a in argv]
        self.timeout = timeout
        self.log_path = pathlib.Path(log_path) if log_path else None
        self.newline = newline
        self.prompt = _compile(prompt) if prompt is not None else None
        self.last_status = None
        self._qmp_dir = self._qmp_path = None
        self._log = bytearray()
        self._stderr = bytearray()
        self._lock = threading.Lock()
        self.console = ConsoleSpawn(timeout)   # pexpect's expect on the console output
        if env is None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=str(cwd or REPO), env=env,
                                     start_new_session=True,
                                     preexec_fn=_die_with_parent if die_with_parent else None)
        self._readers = [threading.Thread(target=self._collect, args=(self.proc.stdout, self._log, True),
                                          name="session-out-%d" % self.proc.pid, daemon=True),
                         threading.Thread(target=self._collect, args=(self.proc.stderr, self._stderr, False),
                                          name="session-err-%d" % self.proc.pid, daemon=True)]
        for t in self._readers:
            t.start()

    @classmethod
    def start(cls, kernel, initrd=None, append="console=ttyS0 panic=-1", extra_args=(), timeout=120,
              memory=None, wait_for=None, log_path=None, loadvm=None, **kwargs):
        """Boot kernel (a bzImage or multiboot ELF) in pyemu; with wait_for, also wait
        (timeout) for that pattern on the console before returning.  loadvm: start
        from this snapshot instead (taken with the same arguments, by snapshot()).
        The session's pyemu has a QMP socket (`qmp()`, `snapshot()`)."""
        qmp_dir = tempfile.mkdtemp(prefix="pyemu-qmp-")
        qmp_path = os.path.join(qmp_dir, "qmp.sock")
        extra = list(extra_args) + ["-qmp", "unix:%s,server,nowait" % qmp_path]
        if loadvm is not None:
            extra += ["-loadvm", str(loadvm)]
        try:
            s = cls(pyemu_command(kernel, initrd, append, extra, memory), timeout=timeout,
                    log_path=log_path, **kwargs)
        except BaseException:
            shutil.rmtree(qmp_dir, ignore_errors=True)
            raise
        s._qmp_dir, s._qmp_path = qmp_dir, qmp_path
        if wait_for is not None:
            try:
                s.expect(wait_for)
            except BaseException:
                s.kill()
                raise
        return s

    # --- the monitor --------------------------------------------------------------------------
    def qmp(self, command, **arguments):
        """Run one QMP command in the session's pyemu (qemu.qmp's synchronous
        client); returns its result, raises SessionError with the monitor's
        answer when it fails."""
        from qemu.qmp import ExecuteError     # deferred: qemu.qmp (asyncio), only for sessions that use QMP
        from qemu.qmp.legacy import QEMUMonitorProtocol
        if self._qmp_path is None:
            raise SessionError("this session's emulator has no QMP socket (start it with GuestSession.start)")
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(self._qmp_path):          # pyemu is still starting
            if not self.alive() or time.monotonic() > deadline:
                raise self._failure(SessionExited if not self.alive() else SessionTimeout,
                                    "no QMP socket at %s" % self._qmp_path)
            time.sleep(0.02)
        client = QEMUMonitorProtocol(self._qmp_path)
        try:
            client.connect()
            return client.cmd(command, **arguments)
        except ExecuteError as e:
            raise SessionError("QMP %s failed: %s" % (command, e.error.desc)) from None
        finally:
            client.close()

    def snapshot(self, path):
        """Save the whole machine to path (QMP savevm); the guest goes on running.
        GuestSession.start(..., loadvm=path) with the same arguments starts from it."""
        self.qmp("savevm", file=str(path))
        return pathlib.Path(path)

    # --- output -----------------------------------------------------------------------------
    def _collect(self, f, buf, is_console):
        """A reader thread: keeps all of f's output in buf and, for the console,
        passes it on to the pexpect spawn; reading all the time, so a guest that
        prints while the caller does something else never waits."""
        while True:
            try:
                data = f.read1(65536)
            except (OSError, ValueError):
                data = b""
            with self._lock:
                buf += data
            if is_console:
                if data:
                    self.console.feed(data)
                else:
                    self.console.feed_eof()
            if not data:
                return

    @property
    def log(self):
        """Everything the guest printed on the console so far (bytes)."""
        with self._lock:
            return bytes(self._log)

    @property
    def text(self):
        return self.log.decode("utf-8", "replace")

    @property
    def stderr(self):
        """What pyemu itself printed (its messages, never the guest's)."""
        with self._lock:
            return self._stderr.decode("utf-8", "replace")

    @property
    def returncode(self):
        return self.proc.poll()

    def alive(self):
        return self.proc.poll() is None

    def save_log(self, path=None):
        """Write the console log (and pyemu's stderr after it) to path / log_path / a temp file."""
        path = pathlib.Path(path) if path else self.log_path
        if path is None:
            fd, name = tempfile.mkstemp(prefix="pyemu-console-", suffix=".log")
            os.close(fd)
            path = self.log_path = pathlib.Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(self.log)
            err = self.stderr
            if err:
                f.write(b"\n--- pyemu stderr ---\n" + err.encode())
        return path

    def _failure(self, cls, what):
        path = self.save_log()
        tail = self.log[-TAIL:].decode("utf-8", "replace")
        status = self.proc.poll()
        state = "still running" if status is None else "exited with status %s" % status
        err = self.stderr.strip()
        return cls("%s (emulator %s; full console log: %s)\n--- last %d bytes of the console ---\n%s%s" % (
            what, state, path, TAIL, tail,
            "\n--- pyemu stderr ---\n" + err[-TAIL:] if err else ""))

    def expect(self, pattern, timeout=None):
        """Wait for pattern (a regex, str or bytes) in console output not consumed by an
        earlier expect; returns the re.Match (on bytes) and consumes up to its end.
        What came between the two is `self.console.before` (pexpect's)."""
        rx = _compile(pattern)
        timeout = self.timeout if timeout is None else timeout
        try:
            self.console.expect([rx], timeout=timeout)
        except pexpect.EOF:
            try:
                self.proc.wait(5)       # the console closed: the exit status follows
            except subprocess.TimeoutExpired:
                pass
            raise self._failure(SessionExited, "the console ended before %r appeared" % rx.pattern) from None
        except pexpect.TIMEOUT:
            raise self._failure(SessionTimeout, "%r did not appear within %gs" % (rx.pattern, timeout)) from None
        return self.console.match

    # --- input ------------------------------------------------------------------------------
    def send(self, data):
        """Type data (str or bytes) on the console."""
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise self._failure(SessionExited, "cannot type %r: the emulator's input is closed" % data[:40]) from None

    def sendline(self, text=""):
        self.send(text + self.newline if isinstance(text, str) else bytes(text) + self.newline.encode())

    def run(self, cmd, timeout=None, check=False):
        """Run one shell command line in the guest; returns its output (str, CR LF as
        LF, without the final newline).  Its exit status is in last_status;
        check=True raises CommandFailed when it is not 0."""
        if "\n" in cmd or "\r" in cmd:
            raise ValueError("run() takes one command line; join commands with ';' or '&&'")
        n = next(self._counter)
        self.sendline("echo '__PYEMU''_B%d__'; %s; echo \"__PYEMU\"\"_E%d__ $?\"" % (n, cmd, n))
        self.expect(rb"__PYEMU_B%d__\r*\n" % n, timeout)
        end = self.expect(rb"__PYEMU_E%d__ (\d+)\r*\n" % n, timeout)
        out = self.console.before.decode("utf-8", "replace").replace("\r\n", "\n")
        if out.endswith("\n"):
            out = out[:-1]
        self.last_status = int(end.group(1))
        if self.prompt is not None:
            self.expect(self.prompt, timeout)
        if check and self.last_status != 0:
            raise self._failure(CommandFailed, "%r exited with status %d; its output:\n%s"
                                % (cmd, self.last_status, out))
        return out

    # --- the end ----------------------------------------------------------------------------
    def wait(self, timeout=None):
        """Wait for the emulator to exit; returns its exit status."""
        timeout = self.timeout if timeout is None else timeout
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise self._failure(SessionTimeout, "the emulator did not exit within %gs" % timeout) from None
        for t in self._readers:
            t.join(5)
        return status

    def poweroff(self, timeout=None):
        """`reboot -f` in the guest; with -no-reboot pyemu then exits: returns its status."""
        self.sendline("reboot -f")
        return self.wait(timeout)

    def kill(self):
        """Stop the emulator now (SIGKILL to its process group); idempotent."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin,):
            try:
                f.close()
            except OSError:
                pass
        for t in self._readers:
            t.join(5)
        if self._qmp_dir is not None:
            shutil.rmtree(self._qmp_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not isinstance(exc, SessionError):
            self.save_log()         # a SessionError saved it already and names the file
        self.kill()
        return False

    def __repr__(self):
        return "<GuestSession pid %d %s>" % (self.proc.pid, "running" if self.alive() else
                                             "exited %s" % self.proc.returncode)
