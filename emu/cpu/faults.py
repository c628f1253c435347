"""GuestFault: how Python code (descriptor checks, page walks, helpers) raises a guest exception."""
from .state import EXC_HAS_ERROR
from .vectors import Vector


class GuestFault(Exception):
    """A guest exception raised by Python code (descriptor checks, page walks...).

    The helper trampoline (emu/translator/callbacks.py) records it in the CPU
    state and generated code leaves through the faulting instruction's fault
    exit; interrupt delivery catches it to escalate to #DF."""

    def __init__(self, vector, error=None, address=None):
        super().__init__(vector, error)
        self.vector = vector
        self.error = error
        self.address = address     # a #PF's linear address, for CR2

    def record(self, cpu):
        cpu.exc_vector = self.vector
        cpu.exc_error = 0 if self.error is None else self.error & 0xFFFFFFFF
        cpu.exc_flags = 0 if self.error is None else EXC_HAS_ERROR
        if self.vector == Vector.PF and self.address is not None:
            cpu.exc_addr = self.address
            cpu.cr[2] = self.address

    def __str__(self):
        return "guest exception %d (error %s)" % (self.vector, self.error)
