"""Character back ends for -serial and -debugcon: stdio, file:PATH, null."""
import os
import sys


class CharBackend:
    def write(self, data):
        pass

    def flush(self):
        pass

    def close(self):
        pass


class NullBackend(CharBackend):
    pass


class StdioBackend(CharBackend):
    def __init__(self):
        self.fd = sys.stdout.fileno()

    def write(self, data):
        try:
            os.write(self.fd, data)
        except BlockingIOError:
            pass


class FileBackend(CharBackend):
    def __init__(self, path):
        self.f = open(path, "ab", buffering=0)

    def write(self, data):
        self.f.write(data)

    def close(self):
        self.f.close()


class BufferBackend(CharBackend):
    """Collects output in memory (the session API and tests read it)."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data):
        self.data += data


def open_backend(spec):
    """A back end from a QEMU-style spec: stdio, null, file:PATH."""
    if spec in ("stdio", "mon:stdio"):
        return StdioBackend()
    if spec in ("null", "none"):
        return NullBackend()
    if spec.startswith("file:"):
        return FileBackend(spec[5:])
    raise ValueError("unsupported character device '%s' (use stdio, null or file:PATH)" % spec)
