"""Character back ends: where a serial port's (or the debug console's) bytes go and come from.

Every back end has the same interface; the UART and the debug console use only it:

    write(data)            guest output.  Never blocks the emulator for long and never
                           drops data: fd and socket back ends hand it to an OutputPump
                           thread; only when the reader has fallen megabytes behind does
                           write() wait for it.
    read(n) -> bytes       non-blocking: up to n bytes of input already received, b"" if
                           none.  Bytes not taken stay queued (the UART takes what its
                           FIFO has room for, so piped input is never lost).
    set_input_notify(cb)   cb() is called, from any thread, when new input arrives
                           (spurious calls are allowed).
    start(on_quit=None)    the guest is about to run: take the terminal, wait for a TCP
                           client, ...  on_quit(status, message) stops the machine (Ctrl-A x
                           on the console, the reader of stdout gone).
    flush()                wait (a bounded time) until written output has left pyemu.
    close()                release everything (restores the terminal); idempotent.

Specs use QEMU's spellings (see open_backend); a bad one is a ChardevError (a
ValueError) with a one-line message listing the valid forms.

The package: base.py holds what back ends are made of (and null, file:PATH and
BufferBackend); fd.py (pipe:PATH, pty), tcp.py and stdio.py are the others.
This module maps a spec to its back end's class (BACKENDS).
"""
from .base import (BufferBackend, CharBackend, ChardevError, FileBackend, InputQueue, NullBackend,
                   OutputPump, fd_reader, fd_sink)
from .fd import PipeBackend, PtyBackend
from .stdio import StdioBackend
from .tcp import TcpBackend, parse_tcp

__all__ = ["BACKENDS", "VALID_SPECS", "BufferBackend", "CharBackend", "ChardevError", "FileBackend",
           "InputQueue", "NullBackend", "OutputPump", "PipeBackend", "PtyBackend", "StdioBackend",
           "TcpBackend", "fd_reader", "fd_sink", "open_backend", "parse_spec"]

VALID_SPECS = ("stdio, mon:stdio, null, none, file:PATH, pipe:PATH, pty, "
               "tcp:[HOST]:PORT[,server][,nowait]")

# a spec's kind (parse_spec) -> its back end's class, called with the spec's options
BACKENDS = {
    "stdio": StdioBackend,
    "null": NullBackend,
    "file": FileBackend,
    "pipe": PipeBackend,
    "pty": PtyBackend,
    "tcp": TcpBackend,
}


# --- specs ----------------------------------------------------------------------------------

def parse_spec(spec):
    """A QEMU-style spec -> (kind, options) without opening anything (ChardevError if bad)."""
    if not isinstance(spec, str) or not spec:
        raise ChardevError("empty character device spec (valid: %s)" % VALID_SPECS)
    if spec in ("stdio", "mon:stdio"):
        return "stdio", {}
    if spec in ("null", "none"):
        return "null", {}
    if spec == "pty":
        return "pty", {}
    for prefix in ("file:", "pipe:"):
        if spec.startswith(prefix):
            path = spec[len(prefix):]
            if not path:
                raise ChardevError("'%s' needs a path (valid: %s)" % (spec, VALID_SPECS))
            return prefix[:-1], {"path": path}
    if spec.startswith("tcp:"):
        return "tcp", parse_tcp(spec)
    raise ChardevError("unknown character device '%s' (valid: %s)" % (spec, VALID_SPECS))


def open_backend(spec):
    """Open the back end a spec names: stdio (mon:stdio), null (none), file:PATH,
    pipe:PATH (PATH.in/PATH.out if they exist), pty, tcp:HOST:PORT[,server][,nowait]."""
    kind, opts = parse_spec(spec)
    return BACKENDS[kind](**opts)
