"""Port 0x80: the POST-code / I/O delay port.

Firmware writes progress codes here and Linux writes to it as a short I/O
delay (io_delay=0x80, its default).  Nothing on the board decodes it, so a
read returns what an undriven ISA bus returns: all ones.  The last code
written is kept for a debugger to look at.
"""
from .base import Device


class Port80(Device):
    name = "port80"
    ports = ((0x80, 1),)
    state_fields = ("last_code",)

    def __init__(self):
        self.last_code = 0

    def io_read(self, port, size):
        return (1 << (8 * size)) - 1

    def io_write(self, port, size, value):
        self.last_code = value & 0xFF
