"""What character back ends are made of, and the back ends that need nothing else.

The pieces (InputQueue, OutputPump, fd_sink, fd_reader) and CharBackend, the
interface every back end has (described in emu/devices/chardev/__init__.py);
null, file:PATH and the in-memory BufferBackend.  The back ends on host file
descriptors, sockets and pyemu's own terminal are in fd.py, tcp.py and
stdio.py; __init__.py maps a spec to its back end.
"""
import atexit
import os
import select
import sys
import threading
import weakref

class ChardevError(ValueError):
    """A character device spec that is wrong or cannot be opened (one-line message)."""


# --- the pieces back ends are made of ---------------------------------------------------------

class InputQueue:
    """Received bytes waiting for the device: filled by a reader thread, taken by read().

    The producer waits (wait_room) while `limit` bytes are queued, so a large
    piped file is read only as fast as the guest consumes it."""

    def __init__(self, limit=1 << 16):
        self.limit = limit
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._notify = None
        self.closed = False

    def put(self, data):
        if not data:
            return
        with self._cond:
            self._buf += data
            notify = self._notify
        if notify is not None:
            notify()

    def take(self, n):
        with self._cond:
            if not self._buf or n <= 0:
                return b""
            data = bytes(self._buf[:n])
            del self._buf[:n]
            self._cond.notify_all()
        return data

    def pending(self):
        with self._cond:
            return len(self._buf)

    def set_notify(self, callback):
        with self._cond:
            self._notify = callback
            waiting = bool(self._buf)
        if waiting and callback is not None:
            callback()

    def wait_room(self):
        """Block the producer until fewer than `limit` bytes are queued; False once closed."""
        with self._cond:
            while len(self._buf) >= self.limit and not self.closed:
                self._cond.wait(0.5)
            return not self.closed

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()


_pumps = weakref.WeakSet()


class OutputPump:
    """Writes output on its own thread so that a slow or stalled reader does not stall the guest.

    sink(data) -> bytes written; it may block.  If it raises BrokenPipeError or
    ConnectionError the pump calls on_broken(exc) once and drops all further
    output.  write() waits only when `limit` bytes are already pending."""

    def __init__(self, sink, name, limit=4 << 20, on_broken=None):
        self.sink = sink
        self.name = name
        self.limit = limit
        self.on_broken = on_broken
        self.broken = None
        self._buf = bytearray()
        self._busy = False
        self._cond = threading.Condition()
        self._thread = None
        self._stop = False
        _pumps.add(self)

    def write(self, data):
        with self._cond:
            if self.broken is not None or self._stop:
                return
            while len(self._buf) >= self.limit and self.broken is None and not self._stop:
                self._cond.wait(0.1)        # back-pressure instead of losing data
            self._buf += data
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pyemu-out-" + self.name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout=5.0):
        """Wait until everything written so far has gone to the sink (True) or timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: (not self._buf and not self._busy) or self.broken is not None,
                                       timeout)

    def close(self, timeout=5.0):
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                while not self._buf and not self._stop:
                    self._cond.wait()
                if not self._buf:
                    return
                chunk = bytes(self._buf[:1 << 16])
                self._busy = True
            try:
                n = self.sink(chunk)
            except (BrokenPipeError, ConnectionError, OSError) as e:
                with self._cond:
                    self.broken = e
                    self._buf.clear()
                    self._busy = False
                    self._cond.notify_all()
                if self.on_broken is not None:
                    self.on_broken(e)
                return
            with self._cond:
                del self._buf[:n]
                self._busy = False
                self._cond.notify_all()


def fd_sink(fd):
    """A sink writing to a file descriptor; EAGAIN (someone made it non-blocking) waits, never drops."""
    def sink(data):
        while True:
            try:
                return os.write(fd, data)
            except BlockingIOError:
                select.select([], [fd], [], 1.0)
            except InterruptedError:
                continue
    return sink


@atexit.register
def _flush_all_pumps():
    for pump in list(_pumps):
        pump.flush(timeout=2.0)


def fd_reader(fd, queue, on_data=None, on_eof=None, stop_fd=None):
    """A daemon thread that reads fd into queue until EOF, an error, or a byte on stop_fd.

    on_data(bytes) -> bytes may transform (or swallow) what was read (the console's
    Ctrl-A escapes); on_eof() is called when the input ends.  The thread closes
    stop_fd when it ends."""
    def loop():
        try:
            _loop()
        finally:
            if stop_fd is not None:
                os.close(stop_fd)

    def _loop():
        watch = [fd] + ([stop_fd] if stop_fd is not None else [])
        while queue.wait_room():
            try:
                ready, _, _ = select.select(watch, [], [])
            except InterruptedError:
                continue
            except (OSError, ValueError):
                break
            if stop_fd is not None and stop_fd in ready:
                return
            try:
                data = os.read(fd, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""          # EIO: the terminal hung up
            if not data:
                break
            if on_data is not None:
                data = on_data(data)
            queue.put(data)
        if on_eof is not None:
            on_eof()
    t = threading.Thread(target=loop, name="pyemu-in-%d" % fd, daemon=True)
    t.start()
    return t


class StoppableReader:
    """fd_reader that another thread can end: stop() sends a byte down its stop pipe
    (closing the fd being read would not wake a thread blocked on it)."""

    def __init__(self, fd, queue, on_data=None, on_eof=None):
        stop_r, self._stop_w = os.pipe()
        fd_reader(fd, queue, on_data=on_data, on_eof=on_eof, stop_fd=stop_r)

    def stop(self):
        if self._stop_w is None:
            return
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass        # the reader ended already (EOF) and closed its end
        os.close(self._stop_w)
        self._stop_w = None


# --- back ends ------------------------------------------------------------------------------

class CharBackend:
    """A back end with no input; subclasses override what they do."""

    spec = "null"

    def __init__(self):
        self.input = InputQueue()
        self.on_quit = None

    def write(self, data):
        pass

    def read(self, n):
        return self.input.take(n)

    def set_input_notify(self, callback):
        self.input.set_notify(callback)

    def start(self, on_quit=None):
        self.on_quit = on_quit

    def quit(self, status, message=None):
        """Ask the machine to stop (the back end's user said so, or its peer is gone)."""
        if self.on_quit is not None:
            self.on_quit(status, message)

    def flush(self):
        pass

    def close(self):
        self.input.close()


class NullBackend(CharBackend):
    """null / none: output is discarded, there is never input."""


class FileBackend(CharBackend):
    """file:PATH: output goes to PATH (truncated first, as QEMU does); no input."""

    def __init__(self, path):
        super().__init__()
        self.spec = "file:" + path
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        except OSError as e:
            raise ChardevError("cannot open '%s' for -serial file: %s" % (path, e.strerror)) from None
        self.failed = False

    def write(self, data):
        if self.fd is None or self.failed:
            return
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as e:
            # a full disk must not stop the guest: say so once and keep running
            self.failed = True
            sys.stderr.write("pyemu: writing %s failed (%s); its further output is discarded\n"
                             % (self.spec, e.strerror))

    def close(self):
        super().close()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class BufferBackend(CharBackend):
    """Output collected in memory, input fed from Python: for tests and the Python API."""

    spec = "buffer"

    def __init__(self):
        super().__init__()
        self.data = bytearray()

    def write(self, data):
        self.data += data

    def feed(self, data):
        """Input as if typed: the device can read() it."""
        self.input.put(bytes(data))
