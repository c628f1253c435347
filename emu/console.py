"""The host side of a run: the machine's character back ends, and host signals as clean stops.

    with console.attached(machine):
        status = machine.run()

On entry every back end of the machine (serial ports, debug console) is
started with start(on_quit=machine.request_exit): the stdio console takes the
terminal (raw mode, Ctrl-A commands), a tcp server without nowait waits for its
client.  On exit, by any path, they are closed, which restores the terminal.

Signals (installed only in the main thread, and only for signals not ignored
when pyemu started, so `nohup pyemu ...` keeps ignoring SIGHUP):
  - SIGINT ends in KeyboardInterrupt, which emu/cli.py turns into
    "pyemu: interrupted" and status 130.
  - SIGTERM and SIGHUP restore the terminal at once, print "pyemu: terminating
    on signal N (NAME)" and leave with status 128 + N through SystemExit, so
    every `finally` on the way (machine.close, back ends) still runs.
Where these exceptions are raised matters: see _StopOnSignal.
Python runs signal handlers only when the main thread runs Python code, and
while the guest runs, the main thread is in native code that may not come
back for a whole slice (or ever, for a guest looping in chained blocks between
timer deadlines).  So the C-level handler's wake-up byte (signal.set_wakeup_fd)
is read by a thread that sets the CPU's exit_request: native code returns at
the next block entry and the handler runs a moment later.
"""
import contextlib
import os
import signal
import sys
import threading

from .devices.chardev import parse_spec
from .devices.chardev.stdio import restore_terminal

TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


MONITOR_SPECS = ("none", "null", "stdio", "mon:stdio")
DISPLAY_SPECS = ("none",)


def check_options(serial, debugcon=None, monitor=None, display=None):
    """Validate -serial/-debugcon specs, -monitor and -display without opening anything.

    -monitor none|stdio (the human monitor: emu/debug/monitor.py) and -display
    none are accepted as QEMU spells them; pyemu has no display.  Raises
    ValueError with a one-line message."""
    for spec in list(serial) + ([debugcon] if debugcon else []):
        parse_spec(spec)
    if monitor is not None and monitor not in MONITOR_SPECS:
        raise ValueError("-monitor %s: pyemu's human monitor is on stdio only (accepted: %s; "
                         "for a socket use -qmp)" % (monitor, ", ".join(MONITOR_SPECS)))
    if display is not None and display.split(",")[0] not in DISPLAY_SPECS:
        raise ValueError("-display %s: pyemu has no display (use -display none or -nographic; "
                         "the serial console is on the terminal)" % display)


def machine_backends(machine):
    """The character back ends a machine's devices use (serial ports first), each once."""
    seen, out = set(), []
    candidates = list(getattr(machine, "serial_backends", ()))
    candidates += [getattr(dev, "backend", None) for dev in machine.io.devices]
    for b in candidates:
        if b is not None and id(b) not in seen and hasattr(b, "start"):
            seen.add(id(b))
            out.append(b)
    return out


class _StopOnSignal:
    """The handler of SIGINT, SIGTERM and SIGHUP while a machine runs.

    It must not raise while native code may be on the stack: Python runs a
    handler at the next bytecode, which may be the first one of a ctypes
    callback (an I/O port read, or llvmlite's object cache asked for a block's
    code during a translation), and an exception escaping there is dropped by
    ctypes ("Exception ignored on calling ctypes callback function"), leaving
    the native caller with results it never got: LLVM then crashed on an
    unset buffer.  So while the machine is inside run() or step() (which look
    at the exit status every turn) the handler only asks it to stop
    (request_exit), and attached() raises once run() has returned; anywhere
    else (a debugger or monitor waiting for a client) it raises at once."""

    def __init__(self, machine):
        self.machine = machine
        self.signum = None

    def exception(self):
        if self.signum == signal.SIGINT:
            return KeyboardInterrupt()
        return SystemExit(128 + self.signum)

    def __call__(self, signum, frame):
        first = self.signum is None
        if first:
            self.signum = signum
            if signum != signal.SIGINT:
                restore_terminal()
                try:
                    sys.stderr.write("\npyemu: terminating on signal %d (%s)\n"
                                     % (signum, signal.Signals(signum).name))
                    sys.stderr.flush()
                except OSError:
                    pass        # stderr was the terminal that hung up
        if getattr(self.machine, "in_run", False):
            self.machine.request_exit(128 + self.signum)
            return
        if first or signum == signal.SIGINT:
            # the exception may land in a finalizer (an llvmlite object's __del__
            # run by the garbage collector), where Python prints and drops it:
            # the exit status set here still ends the next run
            if hasattr(self.machine, "request_exit"):
                self.machine.request_exit(128 + self.signum)
            raise self.exception()
        # a second SIGTERM/SIGHUP while leaving: let the cleanup finish

    def raise_pending(self):
        if self.signum is not None:
            raise self.exception()


class SignalWatch:
    """Installs _StopOnSignal and makes signals stop native code promptly (see the
    module docstring); does nothing outside the main thread."""

    def __init__(self, machine):
        self.machine = machine
        self.handler = _StopOnSignal(machine)
        self._prev_handlers = {}
        self._prev_fd = None
        self._r = self._w = None

    def install(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGINT,) + TERMINATING_SIGNALS:
            prev = signal.getsignal(sig)
            if prev is signal.SIG_IGN:
                continue
            self._prev_handlers[sig] = prev
            signal.signal(sig, self.handler)
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self._prev_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(self._r,), name="pyemu-signals", daemon=True).start()
        return self

    def _watch(self, r):
        try:
            while os.read(r, 64):
                self.machine.cpu.exit_request = 1
                self.machine.wake.set()
        except OSError:
            pass
        finally:
            os.close(r)

    def raise_pending(self):
        self.handler.raise_pending()

    def uninstall(self):
        if self._w is None:
            return
        signal.set_wakeup_fd(self._prev_fd if self._prev_fd is not None else -1)
        os.close(self._w)           # the watch thread sees EOF and ends
        self._w = None
        for sig, prev in self._prev_handlers.items():
            signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
        self._prev_handlers.clear()


@contextlib.contextmanager
def attached(machine):
    """Start the machine's back ends and signal handling for a run; undo both on exit."""
    watch = SignalWatch(machine).install()
    backends = machine_backends(machine)
    try:
        for b in backends:
            b.start(on_quit=machine.request_exit)
        yield backends
        watch.raise_pending()       # a signal that arrived while native code ran
    finally:
        try:
            for b in backends:
                b.close()
        finally:
            restore_terminal()
            watch.uninstall()
