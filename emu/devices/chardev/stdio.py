"""The stdio back end: the guest's serial console on pyemu's own terminal, or on pipes.

Output goes to stdout through an OutputPump shared by every stdio back end (so
the serial port and the debug console keep their order).  If the reader of
stdout goes away (EPIPE, e.g. `pyemu ... | head`), the machine is stopped with
status 0 instead of running on unseen.

Input starts with start() (the guest is about to run):
  - stdin is a terminal and pyemu runs in the foreground: the terminal goes to
    raw mode for the guest's lifetime, as with QEMU -nographic.  Ctrl-C, Ctrl-Z
    and friends are bytes for the guest; Ctrl-A is the escape key:
        C-a h  help      C-a x  quit pyemu (status 0)
        C-a c  switch between the console and the human monitor (emu/debug/monitor.py)
        C-a C-a  a literal C-a
    The attributes saved before are put back by close(), at interpreter exit
    (atexit) and by the SIGTERM/SIGHUP handlers (emu/console.py), so the user's
    terminal is never left raw.
  - stdin is a pipe or a file: its bytes are typed into the guest unchanged (no
    escapes, so any byte can be sent); at EOF the input just stops.  Except
    with -monitor stdio (the monitor shares stdio with the console): then
    Ctrl-A is the escape key on a pipe too, as in QEMU's mux.
  - stdin is a terminal but pyemu is in the background: no input (reading the
    terminal would stop pyemu with SIGTTIN, changing it with SIGTTOU).
"""
import atexit
import os
import termios
import threading

from .base import CharBackend, OutputPump, StoppableReader, fd_sink

ESCAPE = 0x01               # Ctrl-A

HELP = ("\r\n"
        "C-a h    print this help\r\n"
        "C-a x    exit pyemu\r\n"
        "C-a c    switch between the console and the monitor\r\n"
        "C-a C-a  send C-a to the guest\r\n")

# --- the terminal ---------------------------------------------------------------------------

_term_lock = threading.Lock()
_saved = None               # (fd, attributes before raw mode) while pyemu holds the terminal


def raw_attributes(attrs):
    """Terminal attributes for a serial console (termios(3), cfmakeraw), from attrs.

    Input is raw: no line editing, no echo, no signals from Ctrl-C/Ctrl-Z/Ctrl-\\,
    no CR/NL translation, no XON/XOFF, 8 bits.  Output processing (OPOST) stays
    as it was, so pyemu's own messages still start their lines at column 0."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attrs
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
               | termios.IGNCR | termios.ICRNL | termios.IXON)
    cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    return [iflag, oflag, cflag, lflag, ispeed, ospeed, cc]


def enter_raw_mode(fd):
    """Save fd's terminal attributes and switch it to raw mode (restore_terminal undoes it)."""
    global _saved
    with _term_lock:
        if _saved is not None:
            return
        attrs = termios.tcgetattr(fd)
        _saved = (fd, attrs)
        termios.tcsetattr(fd, termios.TCSANOW, raw_attributes(attrs))


@atexit.register
def restore_terminal():
    """Put the terminal back as it was before raw mode (idempotent; safe in signal handlers)."""
    global _saved
    with _term_lock:
        if _saved is None:
            return
        fd, attrs = _saved
        _saved = None
        try:
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except (termios.error, OSError):
            pass            # the terminal is gone (hang-up): nothing left to restore


def terminal_is_raw():
    return _saved is not None


def _foreground_terminal(fd):
    try:
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


# --- stdout, shared by every stdio back end -------------------------------------------------

_pumps = {}                 # fd -> [OutputPump, number of open back ends using it]
_broken_listeners = []


def _stdout_pump(fd):
    entry = _pumps.get(fd)
    if entry is None:
        entry = _pumps[fd] = [OutputPump(fd_sink(fd), "stdout", on_broken=_stdout_broken), 0]
    entry[1] += 1
    return entry[0]


def _release_pump(fd, pump):
    entry = _pumps.get(fd)
    if entry is not None and entry[0] is pump:
        entry[1] -= 1
        if entry[1] <= 0:
            del _pumps[fd]


def _stdout_broken(exc):
    for backend in list(_broken_listeners):
        backend.quit(0, "pyemu: the reader of the serial output went away (%s); exiting"
                     % (exc.strerror or exc))


# --- the escape key -------------------------------------------------------------------------

_mux_monitor = None         # the human monitor sharing stdio with the console (a LineMonitor)


def set_mux_monitor(monitor):
    """monitor.feed(bytes) gets the input between two C-a c; greet() is called
    on each switch to it (None: C-a c says there is no monitor)."""
    global _mux_monitor
    _mux_monitor = monitor


class ConsoleEscapes:
    """QEMU's Ctrl-A commands on an interactive console; everything else goes to the guest."""

    def __init__(self, backend):
        self.backend = backend
        self.pending = False
        self.quitting = False
        self.to_monitor = False     # C-a c gave the input to the monitor

    def filter(self, data):
        out = bytearray()
        for b in data:
            if self.quitting:
                break
            if self.pending:
                self.pending = False
                self._command(b, out)
            elif b == ESCAPE:
                self.pending = True
            elif self.to_monitor and _mux_monitor is not None:
                _mux_monitor.feed(bytes([b]))
            else:
                out.append(b)
        return bytes(out)

    def _command(self, b, out):
        key = chr(b).lower() if b < 0x80 else ""
        if b == ESCAPE:
            out.append(ESCAPE)
        elif key == "x":
            self.quitting = True
            self.backend.quit(0, "\r\npyemu: Terminated")      # on a line of its own, as QEMU's
        elif key == "h" or b == 0x08:
            self.backend.write(HELP.encode())
        elif key == "c":
            if _mux_monitor is None:
                self.backend.write(b"\r\npyemu: no monitor in this run (-monitor none, -gdb; C-a h for help)\r\n")
            else:
                self.to_monitor = not self.to_monitor
                self.backend.write(b"\r\n")
                if self.to_monitor:
                    _mux_monitor.greet()
        # other keys after C-a do nothing, as in QEMU


# --- the back end ---------------------------------------------------------------------------

class StdioBackend(CharBackend):
    spec = "stdio"
    _stdin_taken = False

    def __init__(self, stdin_fd=0, stdout_fd=1):
        super().__init__()
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.pump = _stdout_pump(stdout_fd)
        self.mode = None            # after start(): "terminal", "pipe", "background" or "none"
        self.escapes = None
        self.reader = None              # stdin's, once start() takes it
        self._closed = False

    def write(self, data):
        self.pump.write(data)

    def flush(self):
        self.pump.flush()

    def start(self, on_quit=None):
        super().start(on_quit)
        if self not in _broken_listeners:
            _broken_listeners.append(self)
        if self.mode is not None:
            return
        if StdioBackend._stdin_taken:
            self.mode = "none"      # a second stdio back end: only the first one gets input
            return
        try:
            os.fstat(self.stdin_fd)
        except OSError:
            self.mode = "none"      # stdin closed
            return
        if os.isatty(self.stdin_fd):
            if not _foreground_terminal(self.stdin_fd):
                self.mode = "background"
                return
            enter_raw_mode(self.stdin_fd)
            self.escapes = ConsoleEscapes(self)
            self.mode = "terminal"
        else:
            self.mode = "pipe"
            if _mux_monitor is not None:
                self.escapes = ConsoleEscapes(self)     # -monitor stdio: C-a c on a pipe too
        StdioBackend._stdin_taken = True
        self.reader = StoppableReader(self.stdin_fd, self.input,
                                      on_data=self.escapes.filter if self.escapes else None)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.reader is not None:
            self.reader.stop()
            self.reader = None
            StdioBackend._stdin_taken = False
        if self.mode == "terminal":
            restore_terminal()
        if self in _broken_listeners:
            _broken_listeners.remove(self)
        self.pump.flush()
        _release_pump(self.stdout_fd, self.pump)
        super().close()
