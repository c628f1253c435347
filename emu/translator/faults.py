"""GuestFault: how Python helpers raise a guest exception."""


class GuestFault(Exception):
    """A guest exception raised by Python code (descriptor checks, page walks...).

    The helper trampoline (callbacks.py) records it in the CPU state and
    generated code leaves through the faulting instruction's fault exit."""

    def __init__(self, vector, error=None, address=None):
        super().__init__(vector, error)
        self.vector = vector
        self.error = error
        self.address = address

    def record(self, cpu):
        cpu.exc_vector = self.vector
        cpu.exc_error = 0 if self.error is None else self.error & 0xFFFFFFFF
        cpu.exc_flags = 0 if self.error is None else 2
        if self.vector == 14 and self.address is not None:
            cpu.exc_addr = self.address
            cpu.cr[2] = self.address

    def __str__(self):
        return "guest exception %d (error %s)" % (self.vector, self.error)
