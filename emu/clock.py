"""The virtual clock: host monotonic time, or executed instructions with -icount."""
import time

TSC_HZ = 1_000_000_000      # the virtual TSC ticks once per nanosecond


class Clock:
    def __init__(self, icount_shift=None, instructions=lambda: 0):
        """icount_shift: None follows the host clock; N makes each instruction 2**N ns."""
        self.icount_shift = icount_shift
        self.instructions = instructions
        self.idle_ns = 0            # -icount: virtual time that passed while the CPU was halted
        self._t0 = time.monotonic_ns()

    @property
    def deterministic(self):
        return self.icount_shift is not None

    def ns(self):
        if self.icount_shift is None:
            return time.monotonic_ns() - self._t0
        return (self.instructions() << self.icount_shift) + self.idle_ns

    def skip_to(self, deadline_ns):
        """-icount: a halted CPU lets virtual time jump to the next event."""
        now = self.ns()
        if deadline_ns > now:
            self.idle_ns += deadline_ns - now

    def instructions_until(self, deadline_ns):
        """-icount: instructions that can run before deadline_ns."""
        return max(0, (deadline_ns - self.ns()) >> self.icount_shift)

    def tsc(self):
        return self.ns() * TSC_HZ // 1_000_000_000
