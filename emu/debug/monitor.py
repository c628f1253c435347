"""The monitor: QEMU's human monitor (-monitor stdio, C-a c on the console) and the
run loop driver that QMP (emu/debug/qmp.py) shares with it.

Threads.  The guest runs on the main thread, inside Machine.run().  The
monitor's terminal and socket I/O runs on threads of its own, and nothing
there touches the machine: a command that needs it (registers, memory, reset,
savevm/loadvm, stop, cont, quit) is queued with Monitor.call(), which asks the
running guest to stop (machine.pause_requested and cpu.exit_request, as the
gdb stub's Ctrl-C does) and waits.  Monitor.serve(), the driver loop on the
main thread, calls machine.run(); when it returns "paused" it runs the queued
requests with the guest outside run(), then calls run() again if the
monitor's state is running.  `stop` leaves the guest out of run(): its clock
is paused there (emu/clock.py), and `cont` rebases the clock so that the time
it was stopped is not made up afterwards either: guest time does not pass
while the guest is stopped.

The human monitor speaks QEMU's command syntax for the commands it knows
(HELP below); lines end with CR LF, as QEMU's do.  On -monitor stdio without
a serial port on stdio it reads stdin by lines.  When the console is on stdio
too (-serial stdio, the default, or -nographic) the two share the terminal as
QEMU's mux does: the console has the input first, C-a c gives it to the
monitor and C-a c again gives it back; output of both goes to stdout.
"""
import os
import queue
import re
import threading
import time

from .. import __version__
from ..console import machine_backends
from ..cpu.state import CS, REG_NAMES32
from ..devices.chardev.stdio import StdioBackend, set_mux_monitor
from ..snapshot import SnapshotError, load_snapshot, save_snapshot

PROMPT = "(qemu) "          # QEMU's, so that scripts which wait for it work unchanged
NL = "\r\n"                 # QEMU's monitor ends its lines so, on terminals and in QMP answers

HELP = [
    ("help|?", "", "this list"),
    ("info", "registers|status", "the CPU registers; whether the guest runs"),
    ("stop", "", "stop the guest (guest time stops with it)"),
    ("cont|c", "", "resume the guest"),
    ("system_reset", "", "reset the machine (with -no-reboot: end pyemu, as QEMU does)"),
    ("system_powerdown", "", "not supported: pyemu's PC has no ACPI power button"),
    ("savevm", "FILE", "save the whole machine to FILE (QEMU: a tag in a qcow2 image)"),
    ("loadvm", "FILE", "restore the machine from FILE"),
    ("x", "/FMT ADDR", "memory at a linear address, through the guest's paging"),
    ("xp", "/FMT ADDR", "memory at a physical address"),
    ("quit|q", "", "end pyemu (status 0)"),
]
FMT_HELP = ("/FMT is /[COUNT][FORMAT][SIZE]: FORMAT x (hex), d (signed), u (unsigned),\n"
            "  o (octal), c (char); SIZE b (8 bits), h (16), w (32), g (64); default /1xw.\n"
            "ADDR is a number or $REG (eax..edi, eip, pc = CS base + EIP), with + and -.")

MAX_DUMP = 1 << 16          # bytes one x/xp command shows at most


class MonitorError(Exception):
    """A command that cannot be done: its message is for the user.  klass is the
    QMP error class (GenericError, CommandNotFound)."""

    def __init__(self, message, klass="GenericError"):
        super().__init__(message)
        self.klass = klass


class _Request:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn):
        self.fn = fn
        self.done = threading.Event()
        self.result = None
        self.error = None


class Monitor:
    """The run state seen by the monitors, and the main-thread driver loop."""

    def __init__(self, machine, start_running=True):
        self.m = machine
        self.running = start_running
        self.launched = start_running       # false until the first cont after -S ("prelaunch")
        self._requests = queue.Queue()
        self._quit = None                   # the exit status `quit` asked for
        self._rebase = False                # the guest was stopped: cont starts its clock afresh
        self.finished = False               # serve() has returned: no more requests
        self.exit_status = None
        self._listeners = []
        self._lock = threading.Lock()
        machine.on_reset = self._reset_happened

    # --- what the monitors see ----------------------------------------------------------
    @property
    def status(self):
        """QEMU's RunState names for the states pyemu has."""
        if self.finished:
            return "shutdown"
        if self.running:
            return "running"
        return "paused" if self.launched else "prelaunch"

    def add_listener(self, callback):
        """callback(event, data) for every event (called from any thread)."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback):
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def emit(self, event, data=None):
        with self._lock:
            listeners = list(self._listeners)
        for cb in listeners:
            try:
                cb(event, data if data is not None else {})
            except Exception:       # a client gone: its session notices on its own
                pass

    # --- requests from monitor threads ----------------------------------------------------
    def call(self, fn, timeout=None):
        """Run fn() on the main thread with the guest outside run(); its result,
        or its exception raised here.  From a monitor thread only."""
        if self.finished:
            raise MonitorError("pyemu is shutting down")
        req = _Request(fn)
        self._requests.put(req)
        self._kick()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not req.done.wait(0.1):
            if self.finished:
                raise MonitorError("pyemu is shutting down")
            if deadline is not None and time.monotonic() > deadline:
                raise MonitorError("the machine did not stop in time")
        if req.error is not None:
            raise req.error
        return req.result

    def request_quit(self, status=0):
        """End pyemu with status (returns at once; serve() returns it)."""
        def quit_now():
            self._quit = status
        self._requests.put(_Request(quit_now))
        self._kick()

    def _kick(self):
        m = self.m
        m.pause_requested = True
        m.cpu.exit_request = 1
        m.wake.set()

    # --- the main thread --------------------------------------------------------------------
    def _run_requests(self):
        while True:
            try:
                req = self._requests.get_nowait()
            except queue.Empty:
                return
            self._execute(req)

    @staticmethod
    def _execute(req):
        try:
            req.result = req.fn()
        except MonitorError as e:
            req.error = e
        except Exception as e:          # a bug: tell the client, keep the machine
            req.error = MonitorError("internal error: %s: %s" % (type(e).__name__, e))
        finally:
            req.done.set()

    def serve(self):
        """Run the guest and the monitors' requests until pyemu ends; returns the exit status."""
        m = self.m
        status = None
        try:
            while True:
                self._run_requests()
                if self._quit is not None:
                    m.request_exit(self._quit)
                    status = self._quit
                    break
                if m.exit_status is not None:       # C-a x, a signal, EPIPE while stopped
                    status = m.exit_status
                    break
                if not self.running:
                    try:
                        req = self._requests.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    self._execute(req)
                    continue
                if self._rebase:
                    self._rebase = False
                    m.clock.rebase()                # the stopped time is not made up
                # (pause_requested is left as it is: a request queued since the
                # queue was emptied above has set it, and run() returns at once)
                result = m.run()
                if result != "paused":
                    status = result
                    break
                if m.paused == "breakpoint":        # (no breakpoints without gdb; be safe)
                    self._stop_now()
        finally:
            self.finished = True
            self.exit_status = status
            # a request that came too late: its caller sees "shutting down"
            self.emit("SHUTDOWN", {"guest": self._quit is None, "reason":
                                   "host-qmp-quit" if self._quit is not None else "guest-shutdown"})
        return status

    # --- commands (main thread, guest stopped) ------------------------------------------------
    def _stop_now(self):
        if self.running:
            self.running = False
            self._rebase = True
            self.emit("STOP")

    def stop(self):
        """Stop the guest; when this returns it is outside run()."""
        self.call(self._stop_now)

    def cont(self):
        def go():
            if not self.running:
                self.running = True
                self.launched = True
                self.emit("RESUME")
        self.call(go)

    def system_reset(self):
        # -no-reboot: the reset asks pyemu to exit instead, as QEMU does
        self.call(lambda: self.m.reset("host-qmp-system-reset"))

    def _reset_happened(self, reason):
        """Machine.on_reset: every reset, the guest's too, is a RESET event."""
        self.emit("RESET", {"guest": reason.startswith("guest"), "reason": reason})

    def system_powerdown(self):
        raise MonitorError("system_powerdown: pyemu's PC has no ACPI power button the guest could "
                           "act on; use quit, or shut the guest down from inside")

    def savevm(self, path):
        self._snapshot(save_snapshot, "savevm", path)

    def loadvm(self, path):
        self._snapshot(load_snapshot, "loadvm", path)

    def _snapshot(self, action, what, path):
        if not path:
            raise MonitorError("%s needs a file name" % what)

        def work():
            try:
                action(self.m, path)
            except SnapshotError as e:
                raise MonitorError("%s %s: %s" % (what, path, e)) from None
            except OSError as e:
                raise MonitorError("%s %s: %s" % (what, path, e.strerror or e)) from None
        self.call(work)

    def registers(self):
        return self.call(self.m.format_registers)

    def read_memory(self, expr, length, physical):
        """(address, bytes) at an address expression; MonitorError if not mapped."""
        def work():
            addr = evaluate(self.m, expr) & (0xFFFFFFFF if not physical else 0xFFFFFFFFF)
            if physical:
                return addr, self.m.phys.read(addr, length)
            data = self.m.mem.peek(addr, length)
            if data is None:
                raise MonitorError("Cannot access memory at address %#x (not mapped)" % addr)
            return addr, data
        return self.call(work)


# --- address expressions and /FMT ---------------------------------------------------------------

def evaluate(m, expr):
    """NUM | $REG, joined with + and - (main thread: reads registers)."""
    text = expr.replace(" ", "")
    if not text:
        raise MonitorError("an address is needed")
    parts = re.split(r"([+-])", text)
    if parts[0] == "":
        parts = ["0"] + parts       # -4 is 0 - 4
    total, sign = 0, 1
    for k, term in enumerate(parts):
        if k % 2:
            sign = 1 if term == "+" else -1
            continue
        if not term:
            raise MonitorError("'%s': a term is missing" % expr)
        if term.startswith("$"):
            name = term[1:].lower()
            cpu = m.cpu
            if name in REG_NAMES32:
                value = cpu.regs[REG_NAMES32.index(name)] & 0xFFFFFFFF
            elif name == "eip":
                value = cpu.eip & 0xFFFFFFFF
            elif name == "pc":
                value = (cpu.seg[CS].base + cpu.eip) & 0xFFFFFFFF
            else:
                raise MonitorError("unknown register '%s'" % term)
        else:
            try:
                value = int(term, 0)
            except ValueError:
                raise MonitorError("'%s' is not an address" % term) from None
        total += sign * value
    return total


SIZES = {"b": 1, "h": 2, "w": 4, "g": 8}


def parse_format(fmt):
    """'/4xw' -> (count, format, size)."""
    count, form, size = 1, "x", 4
    text = fmt[1:] if fmt.startswith("/") else fmt
    digits = ""
    while text and text[0].isdigit():
        digits, text = digits + text[0], text[1:]
    if digits:
        count = int(digits)
    for ch in text:
        if ch in SIZES:
            size = SIZES[ch]
        elif ch in "xduoc":
            form = ch
            if ch == "c":
                size = 1
        elif ch in "ias":
            raise MonitorError("format '%s' is not supported by pyemu (x, d, u, o, c are)" % ch)
        else:
            raise MonitorError("invalid format '%s' (/[COUNT][x|d|u|o|c][b|h|w|g])" % fmt)
    if count < 1:
        raise MonitorError("invalid count in '%s'" % fmt)
    return count, form, size


def format_dump(addr, data, form, size, physical):
    """QEMU-like lines: an address, then up to 16 bytes' worth of values."""
    per_line = 16 // size if form != "c" else 16
    lines = []
    n_items = len(data) // size
    for first in range(0, n_items, per_line):
        at = addr + first * size
        head = ("%016x:" % at) if physical else ("%08x:" % (at & 0xFFFFFFFF))
        items = []
        for k in range(first, min(n_items, first + per_line)):
            raw = int.from_bytes(data[k * size:(k + 1) * size], "little")
            if form == "x":
                items.append("0x%0*x" % (size * 2, raw))
            elif form == "u":
                items.append("%u" % raw)
            elif form == "d":
                items.append("%d" % (raw - (1 << (8 * size)) if raw >> (8 * size - 1) else raw))
            elif form == "o":
                items.append("%#o" % raw)
            else:
                items.append(repr(chr(raw)) if 0x20 <= raw < 0x7F else "'\\x%02x'" % raw)
        lines.append(head + " " + " ".join(items))
    return NL.join(lines) + NL


# --- the human monitor --------------------------------------------------------------------------

class HumanMonitor:
    """QEMU's human monitor commands, as text in and text out.  execute() runs on
    a monitor thread (never the main one); so does human-monitor-command."""

    def __init__(self, monitor):
        self.mon = monitor

    def execute(self, line):
        """One command line -> its output (lines ending CR LF; "" for none)."""
        line = line.strip()
        if not line:
            return ""
        cmd, _, rest = line.partition(" ")
        fmt = ""
        if "/" in cmd:                      # x/4xw ADDR
            cmd, slash, more = cmd.partition("/")
            fmt = slash + more
        rest = rest.strip()
        try:
            return self._dispatch(cmd, fmt, rest)
        except MonitorError as e:
            return "Error: %s%s" % (e, NL)

    def _dispatch(self, cmd, fmt, rest):
        mon = self.mon
        if cmd in ("help", "?", "h"):
            return self.help_text()
        if cmd == "info":
            what = rest.split()[0] if rest else ""
            if what == "registers":
                return mon.registers().replace("\n", NL) + NL
            if what == "status":
                status = mon.status
                return "VM status: %s%s" % ("paused (prelaunch)" if status == "prelaunch" else status, NL)
            if what == "version":
                return "pyemu %s%s" % (__version__, NL)
            return "info registers|status|version%s" % NL if not what else \
                "Error: unknown info '%s' (pyemu knows: registers, status, version)%s" % (what, NL)
        if cmd == "stop":
            mon.stop()
            return ""
        if cmd in ("cont", "c"):
            mon.cont()
            return ""
        if cmd == "system_reset":
            mon.system_reset()
            return ""
        if cmd == "system_powerdown":
            mon.system_powerdown()
            return ""
        if cmd == "savevm":
            mon.savevm(rest)
            return ""
        if cmd == "loadvm":
            mon.loadvm(rest)
            return ""
        if cmd in ("quit", "q"):
            mon.request_quit(0)
            return ""
        if cmd in ("x", "xp"):
            if not fmt and rest.startswith("/"):
                fmt, _, rest = rest.partition(" ")
            count, form, size = parse_format(fmt or "/1xw")
            length = count * size
            if length > MAX_DUMP:
                raise MonitorError("at most %d bytes at a time" % MAX_DUMP)
            addr, data = mon.read_memory(rest, length, physical=(cmd == "xp"))
            return format_dump(addr, data, form, size, physical=(cmd == "xp"))
        return "unknown command: '%s'%s" % (cmd, NL)

    @staticmethod
    def help_text():
        lines = ["%-16s %-18s %s" % (name, args, what) for name, args, what in HELP]
        return NL.join(lines + FMT_HELP.split("\n")) + NL


class LineMonitor:
    """A human monitor on a byte stream: collects lines, runs them on its own
    thread, writes the answers and the prompt with write(bytes).  echo: the
    terminal is raw (the mux), so typed characters are echoed here."""

    def __init__(self, monitor, write, echo=False):
        self.hmp = HumanMonitor(monitor)
        self.write = write
        self.echo = echo
        self._line = bytearray()
        self._lines = queue.Queue()
        self._thread = None
        self._greeted = False

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pyemu-monitor", daemon=True)
            self._thread.start()

    def greet(self):
        if not self._greeted:
            self._greeted = True
            self.write(("pyemu %s monitor - type 'help' for more information%s" % (__version__, NL)).encode())
        self.write(PROMPT.encode())

    def feed(self, data):
        """Bytes typed at the monitor (from the input thread)."""
        for b in data:
            if b in (0x0D, 0x0A):
                if b == 0x0A and self._last_cr:
                    self._last_cr = False
                    continue
                self._last_cr = b == 0x0D
                if self.echo:
                    self.write(b"\r\n")
                done = threading.Event()
                self._lines.put((self._line.decode("utf-8", "replace"), done))
                self._line = bytearray()
                # what is typed after this line waits for its answer, so that
                # echo and answers keep their order (typed ahead or piped)
                while not done.wait(0.5):
                    if self.hmp.mon.finished or not self._thread.is_alive():
                        break
                continue
            self._last_cr = False
            if b in (0x7F, 0x08):
                if self._line:
                    self._line = self._line[:-1]
                    if self.echo:
                        self.write(b"\b \b")
            elif b == 0x15:                 # C-u: the line goes
                if self.echo and self._line:
                    self.write(b"\b \b" * len(self._line))
                self._line = bytearray()
            elif b >= 0x20 or b == 0x09:
                self._line.append(b)
                if self.echo:
                    self.write(bytes([b]))
    _last_cr = False

    def end(self):
        """The input ended (EOF): lines already typed still run."""
        self._lines.put(None)

    def _run(self):
        while True:
            item = self._lines.get()
            if item is None:
                return
            line, done = item
            try:
                if not self._answer(line):
                    return
            finally:
                done.set()

    def _answer(self, line):
        """Run one line, write its answer and the next prompt; False after quit."""
        try:
            out = self.hmp.execute(line)
        except Exception as e:          # never let the monitor thread die silently
            out = "Error: internal error: %s: %s%s" % (type(e).__name__, e, NL)
        if self.hmp.mon.finished:
            return False
        if out:
            self.write(out.encode())
        if line.strip().split(" ")[0] in ("quit", "q"):
            return False
        self.write(PROMPT.encode())
        return True


def _stdout_writer(fd=1):
    lock = threading.Lock()

    def write(data):
        with lock:
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:
                pass            # stdout gone: the monitor goes quiet
    return write


def attach_stdio(monitor, machine, mode):
    """Put a human monitor on stdio.  mode "own": it reads stdin by lines (no
    console on stdio); "mux": it shares the console's stdio back end, which
    hands it the input between two C-a c.  Returns the LineMonitor."""
    if mode == "mux":
        backend = next(b for b in machine_backends(machine) if isinstance(b, StdioBackend))
        lm = LineMonitor(monitor, backend.write, echo=True)
        set_mux_monitor(lm)
        lm.start()
        return lm
    lm = LineMonitor(monitor, _stdout_writer(), echo=False)
    lm.start()
    lm.greet()

    def reader():
        while True:
            try:
                data = os.read(0, 4096)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                lm.end()
                return
            lm.feed(data)
    threading.Thread(target=reader, name="pyemu-monitor-in", daemon=True).start()
    return lm


def detach_stdio():
    set_mux_monitor(None)
