"""Timer callbacks on the virtual clock, and the watchdog that ends a native run slice on time.

Devices call `timers.schedule(deadline_ns, callback)`; the run loop fires due
callbacks between native runs.  While native code runs, the watchdog thread
sets CpuState.exit_request at the next deadline, so a timer fires within a
block of its time without native code polling the clock.  (With -icount the
run loop instead limits the slice's instruction budget to the deadline.)
"""
import heapq
import itertools
import threading


class TimerHandle:
    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline, callback):
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class TimerQueue:
    def __init__(self, clock):
        self.clock = clock
        self._heap = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        # called with the deadline when a new timer is the earliest (a device
        # programmed from inside a native run: the run must end on time)
        self.became_first = None

    def schedule(self, deadline_ns, callback):
        h = TimerHandle(deadline_ns, callback)
        with self._lock:
            heapq.heappush(self._heap, (deadline_ns, next(self._seq), h))
            first = self._heap[0][2] is h
        if first and self.became_first is not None:
            self.became_first(deadline_ns)
        return h

    def after(self, delay_ns, callback):
        return self.schedule(self.clock.ns() + delay_ns, callback)

    def next_deadline(self):
        with self._lock:
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            return self._heap[0][0] if self._heap else None

    def run_due(self):
        """Fire every callback whose deadline has passed; returns how many fired."""
        fired = 0
        while True:
            now = self.clock.ns()
            with self._lock:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap or self._heap[0][0] > now:
                    return fired
                _, _, h = heapq.heappop(self._heap)
            h.callback()
            fired += 1


class Watchdog:
    """A thread that sets cpu.exit_request when the armed deadline arrives.

    The run loop arms it before every native run, mostly with the deadline it
    already waits for: only an earlier one wakes the thread (a wake-up is a
    futex call and a context switch, and the thread then wants the GIL), a
    later one is picked up when the thread wakes for the earlier."""

    def __init__(self, clock, cpu):
        self.clock = clock
        self.cpu = cpu
        self._deadline = None
        self._sleeping_until = None     # the deadline the thread waits for; None: any
        self._cond = threading.Condition()
        self._alive = True
        self._thread = threading.Thread(target=self._loop, name="pyemu-watchdog", daemon=True)
        self._thread.start()

    def arm(self, deadline_ns):
        with self._cond:
            self._deadline = deadline_ns
            until = self._sleeping_until
            if until is None or deadline_ns < until:
                self._cond.notify()

    def disarm(self):
        with self._cond:
            self._deadline = None

    def _loop(self):
        with self._cond:
            while self._alive:
                if self._deadline is None:
                    self._sleeping_until = None
                    self._cond.wait()
                    continue
                left = self._deadline - self.clock.ns()
                if left <= 0:
                    self.cpu.exit_request = 1
                    self._deadline = None
                    continue
                self._sleeping_until = self._deadline
                self._cond.wait(left / 1e9)

    def stop(self):
        with self._cond:
            self._alive = False
            self._cond.notify()


def sleep_until(clock, deadline_ns, wake_event):
    """Wait (without spinning) until deadline_ns or until wake_event is set."""
    left = deadline_ns - clock.ns() if deadline_ns is not None else None
    if left is not None and left <= 0:
        return
    wake_event.wait(None if left is None else min(left / 1e9, 1.0))
    wake_event.clear()


