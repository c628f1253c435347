"""The virtual clock: host time, or executed instructions with -icount.

In real-time mode guest time passes only while the guest does something:

- `running()`: native code runs; time follows the run thread's CPU clock, so
  a host that deschedules pyemu (a loaded machine) stops the guest's time
  with it, the way a real CPU never loses milliseconds in the middle of a
  loop.  Linux's clocksource watchdog compares the TSC with the PIT and
  with jiffies and marks the TSC unstable when they disagree by a few
  milliseconds, and it would see exactly such a jump.
- `halted()`: the CPU waits in HLT for an interrupt; time follows the host's
  monotonic clock.

Everything else the run loop does in Python passes no guest time: translating
code (`stopped()`) and between native runs (`pause()`).  Work Python does for
the guest (a device access, a system instruction's helper, delivering an
interrupt: `charged()`) takes a fixed, hardware-like time instead of the tens
of microseconds Python needs for it: the watchdog reads the PIT (three port
accesses) around a TSC read and distrusts the TSC when that takes longer
than about 100 us.

Nor does the time native code or a halted CPU overshoots the next timer
event by (`limit`): the guest sees every timer on time.

What that hides leaves the guest behind the host (`behind()`).  The guest
makes it up as soon as it can without noticing:

- `make_up()`: before every native run with interrupts enabled (EFLAGS.IF),
  guest time moves on by what it is behind, at most by the host time that
  has passed since it began to make up, and by one timer event per native
  run: while it makes up, guest time runs at most about twice as fast as
  the host's, and a guest that was held for seconds (a long stretch with
  interrupts disabled) gets to run its own code between two timer ticks
  instead of being flooded with them.  Nothing is made up while an
  interrupt waits to be taken (in the shadow of an STI, Linux's idle loop
  is `sti; hlt`): a jump would reach the next tick first, and the PIC would
  merge the two.  Nor while interrupts are disabled: that is where Linux measures one clock against another
  (the clocksource watchdog, TSC calibration against the PIT), always with
  interrupts off, and it must see only the guest's own work.
- `catch_up()`: a halted CPU (an idle guest) makes everything up at once, up
  to its next timer event.

So guest time stays within a run-loop turn or two of the host's (a
millisecond or so) while interrupts are enabled, the guest's date is the
host's, and a guest `sleep 10` takes ten seconds of host time, however busy
the host is.  Every device clock (TSC, PIT, APIC timer, RTC) reads the same
virtual time, and a jump never passes a timer event (`limit`).
"""
import contextlib
import threading
import time

TSC_HZ = 1_000_000_000      # the virtual TSC ticks once per nanosecond


def thread_cpu_clock():
    """A function returning the calling thread's CPU time in ns, readable from
    any thread (the watchdog reads the run thread's).  Falls back to the
    monotonic clock where the host has no per-thread CPU clocks."""
    try:
        clock_id = time.pthread_getcpuclockid(threading.get_ident())
        time.clock_gettime_ns(clock_id)
    except (AttributeError, OSError):
        return time.monotonic_ns
    return lambda: time.clock_gettime_ns(clock_id)


class Clock:
    def __init__(self, icount_shift=None, instructions=lambda: 0):
        """icount_shift: None follows the host clock; N makes each instruction 2**N ns."""
        self.icount_shift = icount_shift
        self.instructions = instructions
        self.idle_ns = 0            # -icount: virtual time that passed while the CPU was halted
        # real-time mode: (guest ns when the source was last started or stopped,
        # the source guest time follows or None when stopped, the source's
        # reading then); one tuple, so the watchdog thread reads a consistent one
        start = time.monotonic_ns()
        self._host_t0 = start
        self._state = (0, time.monotonic_ns, start)
        # the CPU clock of the thread that ran native code last, by its Thread
        # object (kept alive here, so a later thread cannot be taken for it as
        # a reused ident could)
        self._cpu_thread = (None, None)
        # Real-time mode: guest time stops here (the next timer event) until the
        # run loop moves it.  The watchdog thread that ends a native run at a
        # deadline, or the host waking a halted CPU, can be late by milliseconds
        # on a loaded host; the guest must still see its timer on time (Linux
        # keeps jiffies by the PIT's ticks and compares them with the TSC).
        self.limit = None
        self._turn = start          # host time of the run loop's previous make_up() turn
        self._credit = 0            # host time since then that guest time may still make up

    @property
    def deterministic(self):
        return self.icount_shift is not None

    def ns(self):
        if self.icount_shift is None:
            base, source, start = self._state
            return base if source is None else self._capped(base, base + source() - start)
        return (self.instructions() << self.icount_shift) + self.idle_ns

    def _capped(self, base, now):
        limit = self.limit
        return now if limit is None or now <= limit else max(limit, base)

    def rebase(self):
        """The guest starts now: what pyemu did before (building the machine,
        loading the kernel) is not time the guest is behind by."""
        if self.icount_shift is None:
            self._host_t0 = time.monotonic_ns() - self.ns()
            self._turn = time.monotonic_ns()
            self._credit = 0

    def behind(self):
        """How far guest time is behind the host's monotonic time since power-on (ns)."""
        if self.icount_shift is not None:
            return 0
        return time.monotonic_ns() - self._host_t0 - self.ns()

    # --- what guest time follows (real-time mode) -------------------------------------------
    def pause(self):
        """Stop the clock until running() or halted(): a machine's clock runs
        only while its guest does, so nothing the run loop does in Python
        passes guest time."""
        if self.icount_shift is None and self._state[1] is not None:
            self._state = (self.ns(), None, 0)

    def running(self):
        """Native code runs inside: guest time follows this thread's CPU time."""
        thread, source = self._cpu_thread
        current = threading.current_thread()        # no system call, unlike get_native_id
        if thread is not current:
            source = thread_cpu_clock()
            self._cpu_thread = (current, source)
        return _Following(self, source)

    def halted(self):
        """The CPU waits for an interrupt inside: guest time follows the host's."""
        return _Following(self, time.monotonic_ns)

    @contextlib.contextmanager
    def stopped(self):
        """Time spent inside does not pass for the guest (translation)."""
        source = self._state[1]
        if self.icount_shift is not None or source is None:
            yield
            return
        self._state = (self.ns(), None, 0)
        try:
            yield
        finally:
            self._state = (self._state[0], source, source())

    def charged(self, cost_ns, access, *args):
        """access(*args) with the clock stopped, then cost_ns of guest time
        (at most what it took on the host).  -icount time needs none of this."""
        if self.icount_shift is not None:
            return access(*args)
        base, source, start = self._state
        # only the fixed cost passes, and not past the limit: a timer due
        # meanwhile is fired by the run loop before guest time goes beyond it
        if source is None:
            try:
                return access(*args)
            finally:
                after = self._state[0]
                self._state = (self._capped(after, after + cost_ns), None, 0)
        began = source()
        self._state = (self._capped(base, base + began - start), None, 0)
        try:
            return access(*args)
        finally:
            end = source()
            after = self._state[0]
            self._state = (self._capped(after, after + min(end - began, cost_ns)), source, end)

    def catch_up(self, deadline_ns):
        """Real-time mode, the CPU halted with the clock paused: let guest time
        jump towards deadline_ns (the next timer event; None: no timer) by as
        much as it is behind the host.  Returns True when the deadline came."""
        self._turn = time.monotonic_ns()
        self._credit = 0
        return self._advance(self.behind(), deadline_ns)[1]

    def make_up(self, deadline_ns, quiet):
        """Real-time mode, the run loop's turn before a native run (clock
        paused): when quiet (interrupts enabled and none waiting to be taken),
        guest time moves on by what it is
        behind, at most by the host time that passed since the time it was
        behind began to be made up (less what was made up since), and never
        past deadline_ns.  The run loop takes one such step per native run, so
        the guest's code runs between two timer events however far behind it
        is.  Returns True when the deadline came (fire the timer before running)."""
        now = time.monotonic_ns()
        elapsed, self._turn = now - self._turn, now
        if self.icount_shift is not None:
            return False
        self._credit = min(self._credit + elapsed, max(self.behind(), 0))
        if not quiet:
            return False
        moved, due = self._advance(self._credit, deadline_ns)
        self._credit -= moved
        return due

    def _advance(self, step, deadline_ns):
        """Guest time jumps by step, never past deadline_ns: (ns moved, deadline came)."""
        base, source, _ = self._state
        if step <= 0 or source is not None:
            return 0, False
        target = base + step if deadline_ns is None else min(deadline_ns, base + step)
        if target <= base:
            return 0, deadline_ns is not None and base >= deadline_ns
        self._state = (target, None, 0)
        return target - base, deadline_ns is not None and target >= deadline_ns

    # --- -icount ----------------------------------------------------------------------------
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


class _Following:
    """running() / halted(): a paused clock follows `source` inside.  A class
    rather than a generator: the run loop enters one per native run."""
    __slots__ = ("clock", "source", "started")

    def __init__(self, clock, source):
        self.clock = clock
        self.source = source
        self.started = False

    def __enter__(self):
        c = self.clock
        base, current, _ = c._state
        if c.icount_shift is None and current is None:
            c._state = (base, self.source, self.source())
            self.started = True

    def __exit__(self, *exc):
        if self.started:
            c = self.clock
            c._state = (c.ns(), None, 0)
