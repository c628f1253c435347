"""Back ends on host file descriptors: pipe:PATH (named pipes) and pty (a new pseudo-terminal).

pipe:PATH, as QEMU: input from PATH.in and output to PATH.out when both exist,
else PATH for both ways.  They are opened read-write, so opening a FIFO never
waits for the other side and a peer closing its end is not an end of input.

pty: a new pseudo-terminal; its name is printed on stderr ("pyemu: serial on
/dev/pts/N") for `screen /dev/pts/N` or `minicom -p`.  pyemu keeps the slave
side open (in raw mode) so the guest can run before anyone attaches; output
nobody reads is dropped once the pty's buffer is full.
"""
import errno
import os
import sys
import termios

from .base import CharBackend, ChardevError, OutputPump, StoppableReader, fd_sink
from .stdio import raw_attributes


def _open_rdwr(path):
    try:
        return os.open(path, os.O_RDWR | os.O_NOCTTY)
    except OSError as e:
        raise ChardevError("cannot open '%s' for -serial pipe: %s" % (path, e.strerror)) from None


class PumpedFdBackend(CharBackend):
    """Input read from one host fd on a thread, output written through an OutputPump:
    what pipe and pty share.  Subclasses open their fds, then call _connect()."""

    flush_timeout = 5.0

    def _connect(self, in_fd, sink, name):
        self.pump = OutputPump(sink, name)
        self.reader = StoppableReader(in_fd, self.input)
        self._closed = False

    def write(self, data):
        self.pump.write(data)

    def flush(self):
        self.pump.flush(timeout=self.flush_timeout)

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.pump.close(timeout=self.flush_timeout)
        self.reader.stop()
        self.release()
        super().close()

    def release(self):
        """What the back end holds besides its streams; closed once, after them."""


class PipeBackend(PumpedFdBackend):
    def __init__(self, path):
        super().__init__()
        self.spec = "pipe:" + path
        if os.path.exists(path + ".in") and os.path.exists(path + ".out"):
            self.in_fd = _open_rdwr(path + ".in")
            self.out_fd = _open_rdwr(path + ".out")
        else:
            self.in_fd = self.out_fd = _open_rdwr(path)
        self._connect(self.in_fd, fd_sink(self.out_fd), "pipe")


def _dropping_sink(fd):
    """Write to a non-blocking pty master; when nobody reads and its buffer is full, drop."""
    def sink(data):
        try:
            return os.write(fd, data)
        except BlockingIOError:
            return len(data)
        except OSError as e:
            if e.errno == errno.EIO:
                return len(data)
            raise
    return sink


class PtyBackend(PumpedFdBackend):
    spec = "pty"
    flush_timeout = 1.0         # nobody need be attached: a full pty drops output anyway

    def __init__(self):
        super().__init__()
        self.master, self.slave = os.openpty()
        attrs = raw_attributes(termios.tcgetattr(self.slave))
        attrs[1] &= ~termios.OPOST          # the line itself is raw both ways, like a serial cable
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        os.set_blocking(self.master, False)
        self.name = os.ttyname(self.slave)
        sys.stderr.write("pyemu: serial on %s\n" % self.name)
        self._connect(self.master, _dropping_sink(self.master), "pty")

    def release(self):
        os.close(self.slave)
