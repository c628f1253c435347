"""The x87 error latch of the PC/AT: FERR# -> IRQ 13, cleared by a write to port 0xF0.

With CR0.NE clear, an unmasked x87 exception does not raise #MF; the FPU
asserts FERR#, which the chipset latches onto IRQ 13 (the DOS-compatible
scheme, Intel SDM Vol. 1 Appendix D).  The handler writes any value to port
0xF0 to clear the latch (and IGNNE#, so the FPU may go on); the IRQ line
drops then.
"""
from .base import Device

FERR_IRQ = 13


class FerrLatch(Device):
    name = "ferr"
    ports = ((0xF0, 1),)
    state_fields = ("latched",)

    def __init__(self, ctx):
        self.line = ctx.irq(FERR_IRQ)
        self.latched = False

    def fpu_error(self):
        """The FPU asserted FERR#."""
        if not self.latched:
            self.latched = True
            self.line.set(1)

    def io_write(self, port, size, value):
        if self.latched:
            self.latched = False
            self.line.set(0)

    def reset(self):
        if self.latched:
            self.line.set(0)
        self.latched = False
