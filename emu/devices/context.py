"""What a device is given when it is made: its interrupt lines, the virtual
clock and the timer queue on it, and a way to run work on the run loop's
thread.  A device sees nothing else of the machine; whatever more it is wired
to (the A20 gate, a reset line, another interrupt controller) its constructor
names, and the board passes.
"""


class IrqLine:
    """One interrupt line as a device drives it."""

    __slots__ = ("number", "_drive")

    def __init__(self, number, drive):
        self.number = number
        self._drive = drive             # (number, level) -> None: the board's routing

    def set(self, level):
        self._drive(self.number, level)

    def pulse(self):
        """An edge: high, then low again (the 8254's channel 0 on IRQ 0)."""
        self._drive(self.number, 1)
        self._drive(self.number, 0)


class DeviceContext:
    """clock: ns() (virtual time) and behind() (how far guest time lags the
    host's, emu/clock.py); timers: schedule(deadline, fn) and after(ns, fn),
    each giving a handle with cancel() (emu/timers.py); call_soon(fn): fn runs
    on the run loop's thread at its next turn, asked from any thread (a back
    end's input); irq(n): ISA interrupt line n."""

    def __init__(self, clock, timers, set_irq, call_soon):
        self.clock = clock
        self.timers = timers
        self.call_soon = call_soon
        self._set_irq = set_irq

    def irq(self, n):
        return IrqLine(n, self._set_irq)
