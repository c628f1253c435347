"""The virtual clock: host monotonic time, or executed instructions with -icount."""
import time

TSC_HZ = 1_000_000_000      # the virtual TSC ticks once per nanosecond


class Clock:
    def __init__(self, icount_shift=None, instructions=lambda: 0):
        """icount_shift: None follows the host clock; N makes each instruction 2**N ns."""
        self.icount_shift = icount_shift
        self.instructions = instructions
        self._t0 = time.monotonic_ns()

    def ns(self):
        if self.icount_shift is None:
            return time.monotonic_ns() - self._t0
        return self.instructions() << self.icount_shift

    def tsc(self):
        return self.ns() * TSC_HZ // 1_000_000_000
