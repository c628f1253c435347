"""isa-debug-exit: a write of V ends the emulator with exit status (V << 1) | 1, as QEMU."""
from .base import Device


class DebugExit(Device):
    name = "isa-debug-exit"

    def __init__(self, on_exit, iobase=0xF4, iosize=4):
        self.ports = ((iobase, iosize),)
        self.on_exit = on_exit

    def io_read(self, port, size):
        return 0xFFFFFFFF

    def io_write(self, port, size, value):
        self.on_exit((value << 1) | 1)
