"""System control port A (0x92): bit 1 is the A20 gate, bit 0 a fast CPU reset."""
from .base import Device


class Port92(Device):
    name = "port92"
    ports = ((0x92, 1),)
    state_fields = ("value",)

    def __init__(self, set_a20, reset):
        self.set_a20 = set_a20
        self.reset_cpu = reset
        self.value = 0x02          # A20 on, as the firmware leaves it

    def io_read(self, port, size):
        return self.value

    def io_write(self, port, size, value):
        old = self.value
        self.value = value & 0x03
        if (old ^ value) & 0x02:
            self.set_a20(bool(value & 0x02))
        if value & 0x01 and not old & 0x01:
            self.reset_cpu()
