"""The virtual clock: host monotonic time, or executed instructions with -icount.

A Machine pauses its clock and lets it run only while the guest does
(`running()`: native code, a halted CPU waiting for an interrupt).

In real-time mode the clock stands still while pyemu translates code
(`stopped()`): a real CPU never waits for a JIT, and a guest that measures
one clock against another (Linux calibrating its delay loop and TSC against
the PIT) would otherwise see time jump by whole milliseconds inside a short
loop the first time the loop is translated.  Work Python does for the guest
(a device access, a system instruction's helper, delivering an interrupt:
`charged()`) likewise takes a fixed, hardware-like time instead of the tens
of microseconds Python needs for it: Linux's clocksource watchdog reads the
PIT (three port accesses) around a TSC read and distrusts the TSC when that
takes longer than about 100 us.  The price of both: the guest's wall clock
falls behind the host's by the time they hid.
"""
import contextlib
import time

TSC_HZ = 1_000_000_000      # the virtual TSC ticks once per nanosecond


class Clock:
    def __init__(self, icount_shift=None, instructions=lambda: 0):
        """icount_shift: None follows the host clock; N makes each instruction 2**N ns."""
        self.icount_shift = icount_shift
        self.instructions = instructions
        self.idle_ns = 0            # -icount: virtual time that passed while the CPU was halted
        self._t0 = time.monotonic_ns()
        self._stopped_at = None     # host time the clock was stopped at (real-time mode)

    @property
    def deterministic(self):
        return self.icount_shift is not None

    def ns(self):
        if self.icount_shift is None:
            now = self._stopped_at
            return (time.monotonic_ns() if now is None else now) - self._t0
        return (self.instructions() << self.icount_shift) + self.idle_ns

    def pause(self):
        """Stop the clock until running(): a machine's clock runs only while its
        guest does (native code, a halted CPU waiting), so nothing the run loop
        does in Python passes guest time."""
        if self.icount_shift is None and self._stopped_at is None:
            self._stopped_at = time.monotonic_ns()

    @contextlib.contextmanager
    def running(self):
        """Guest time passes inside (a paused clock runs; a running one goes on)."""
        if self.icount_shift is not None or self._stopped_at is None:
            yield
            return
        self._t0 += time.monotonic_ns() - self._stopped_at
        self._stopped_at = None
        try:
            yield
        finally:
            self._stopped_at = time.monotonic_ns()

    @contextlib.contextmanager
    def stopped(self):
        """Time spent inside does not pass for the guest (translation)."""
        if self.icount_shift is not None or self._stopped_at is not None:
            yield
            return
        self._stopped_at = time.monotonic_ns()
        try:
            yield
        finally:
            self._t0 += time.monotonic_ns() - self._stopped_at
            self._stopped_at = None

    def charged(self, cost_ns, access, *args):
        """access(*args) with the clock stopped, then cost_ns of guest time
        (at most what it took on the host).  -icount time needs none of this."""
        if self.icount_shift is not None:
            return access(*args)
        if self._stopped_at is not None:
            try:
                return access(*args)
            finally:
                self._t0 -= cost_ns          # stopped: only the fixed cost passes
        start = time.monotonic_ns()
        self._stopped_at = start
        try:
            return access(*args)
        finally:
            took = time.monotonic_ns() - start
            self._t0 += took - min(took, cost_ns)
            self._stopped_at = None

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
