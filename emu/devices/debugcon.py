"""The Bochs/QEMU debug console: bytes written to port 0xE9 go to a back end."""
from .base import Device


class DebugCon(Device):
    name = "debugcon"

    def __init__(self, backend, iobase=0xE9):
        self.ports = ((iobase, 1),)
        self.backend = backend

    def io_read(self, port, size):
        return 0xE9          # reads return the port number: guests use it to detect the console

    def io_write(self, port, size, value):
        self.backend.write(bytes([value & 0xFF]))
