"""The virtual clock (emu/clock.py): a device access costs the guest a fixed,
hardware-like time however long Python takes for it, and translation costs
the guest nothing."""
import time

from emu.clock import Clock


def _slow(seconds, seen, clock):
    seen.append(clock.ns())
    time.sleep(seconds)
    seen.append(clock.ns())
    return "value"


def test_a_device_access_costs_its_fixed_time_not_the_hosts():
    c = Clock()
    seen = []
    host_before = time.monotonic_ns()
    before = c.ns()
    assert c.charged(1000, _slow, 0.02, seen, c) == "value"
    after = c.ns()
    host_after = time.monotonic_ns()
    assert seen[0] == seen[1]                       # the clock stands still inside
    # at least 20 ms passed on the host inside the call; the guest saw 1 us of
    # it, and the host's time around the call (however loaded the host is)
    assert 1000 <= after - before <= host_after - host_before - 20_000_000 + 1000


def test_an_access_faster_than_its_cost_does_not_move_time_back():
    c = Clock()
    stamps = [c.ns()]
    for _ in range(100):
        c.charged(10_000_000, lambda: None)
        stamps.append(c.ns())
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] < 10_000_000 * 100   # never more than the host's time


def test_without_charging_host_time_passes():
    c = Clock()
    before = c.ns()
    time.sleep(0.02)
    assert c.ns() - before >= 20_000_000


def test_translation_inside_an_access_keeps_one_stop():
    """A device access while the clock is stopped (translation) passes its fixed
    cost and leaves the clock stopped.  Read inside the stop, so that how long
    the host takes to get there (a loaded CI machine: 6.5 ms once) is no part of it."""
    c = Clock()
    with c.stopped():
        before = c.ns()
        c.charged(1000, time.sleep, 0.01)
        time.sleep(0.01)
        assert c.ns() - before == 1000


def test_icount_time_follows_instructions_only():
    count = [0]
    c = Clock(icount_shift=3, instructions=lambda: count[0])
    count[0] = 100
    assert c.charged(1000, time.sleep, 0.01) is None
    assert c.ns() == 800


def test_translating_a_single_step_block_costs_the_guest_no_time(monkeypatch):
    """Single-instruction blocks (the instruction after STI, a debugger's
    step) are translated in the run loop too, and the guest must not see it."""
    from emu.snippet import CODE_ADDR, Snippet
    s = Snippet(bits=32)
    try:
        m = s.machine
        s.write(CODE_ADDR, bytes.fromhex("90 90 f4"))
        m.enter_flat32(CODE_ADDR)
        lookup = m.translator.lookup_with

        def slow_lookup(hflags):
            time.sleep(0.05)
            return lookup(hflags)
        monkeypatch.setattr(m.translator, "lookup_with", slow_lookup)
        host_before = time.monotonic_ns()
        before = m.clock.ns()
        m.step()
        after = m.clock.ns()
        host_after = time.monotonic_ns()
        assert m.cpu.eip == CODE_ADDR + 1
        # the 50 ms inside the look-up are not the guest's, whatever else the host did
        assert after - before <= host_after - host_before - 50_000_000
    finally:
        s.close()


def _spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_paused_clock_runs_only_while_the_guest_does():
    c = Clock()
    c.pause()
    before = c.ns()
    time.sleep(0.02)
    assert c.ns() == before                          # the run loop's own work
    host_before = time.monotonic_ns()
    with c.halted():
        time.sleep(0.02)                             # HLT waiting: host time
    host_after = time.monotonic_ns()
    mid = c.ns()
    assert 20_000_000 <= mid - before <= host_after - host_before
    c.charged(1000, time.sleep, 0.01)                # paused: just the fixed cost
    assert c.ns() == mid + 1000
    with c.running():
        c.charged(1000, time.sleep, 0.01)            # a device access from native code
    assert c.ns() - mid < 5_000_000


def test_native_code_time_is_the_run_threads_cpu_time():
    """A host that deschedules pyemu inside native code must not make the
    guest's time jump (Linux's clocksource watchdog would distrust the TSC)."""
    c = Clock()
    c.pause()
    before = c.ns()
    with c.running():
        time.sleep(0.05)                             # descheduled: no CPU time
    assert c.ns() - before < 5_000_000
    before = c.ns()
    with c.running():
        _spin(0.03)                                  # computing: CPU time
    assert 30_000_000 <= c.ns() - before < 60_000_000


def test_another_thread_reads_the_run_threads_clock():
    """The watchdog thread reads guest time while native code runs."""
    import threading
    c = Clock()
    c.pause()
    seen = []
    with c.running():
        t = threading.Thread(target=lambda: (_spin(0.03), seen.append(c.ns())))
        before = c.ns()
        t.start()
        t.join()                                     # the other thread's CPU time is not ours
        seen.append(c.ns())
    assert seen[0] - before < 10_000_000, (before, seen)
    assert seen[1] - before < 10_000_000, (before, seen)


def test_a_machine_run_from_another_thread_follows_that_threads_clock():
    import threading
    c = Clock()
    c.pause()
    with c.running():
        _spin(0.005)
    seen = []

    def run():
        before = c.ns()
        with c.running():
            _spin(0.03)
        seen.append(c.ns() - before)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert 30_000_000 <= seen[0] < 60_000_000, seen


def test_a_halted_cpu_catches_up_with_the_host():
    c = Clock()
    c.pause()
    time.sleep(0.1)
    lag = c.behind()
    assert lag >= 100_000_000
    now = c.ns()
    assert c.catch_up(now + 10_000_000) is True      # the next timer is due at once
    assert c.ns() == now + 10_000_000
    host_before = time.monotonic_ns()
    assert c.catch_up(None) is False                 # no timer: all of the lag passes
    # behind by no more than the host's time since the catch-up began
    assert 0 <= c.behind() <= time.monotonic_ns() - host_before
    now = c.ns()
    assert c.catch_up(now + 1_000_000_000) is False  # caught up: the rest is slept
    assert c.ns() - now <= time.monotonic_ns() - host_before


def test_a_running_guest_makes_up_at_most_twice_the_hosts_pace():
    c = Clock()
    host_pause = time.monotonic_ns()
    c.pause()
    c.make_up(None, True)                    # the run loop's previous turn
    host_turn = time.monotonic_ns()
    time.sleep(0.2)                          # held back 200 ms (translating, say)
    assert c.behind() >= 200_000_000
    before = c.ns()
    host_before = time.monotonic_ns()
    assert c.make_up(None, True) is False
    host_after = time.monotonic_ns()
    # what passed since the previous turn may pass again, no more
    assert 200_000_000 <= c.ns() - before <= host_after - host_pause
    # left behind: what passed before the previous turn, and since this one began
    assert 0 <= c.behind() <= (host_turn - host_pause) + (time.monotonic_ns() - host_before)


def test_nothing_is_made_up_while_interrupts_are_disabled():
    """Linux measures clocks against each other with interrupts off: the
    time held back then (the host busy elsewhere) must not appear.  Once
    interrupts are enabled it is made up, one timer event at a time."""
    c = Clock()
    c.pause()
    c.make_up(None, False)
    time.sleep(0.1)
    before = c.ns()
    assert c.make_up(None, False) is False
    assert c.ns() == before
    deadline = before + 10_000_000
    assert c.make_up(deadline, True) is True        # stops at the timer
    assert c.ns() == deadline
    assert c.behind() >= 80_000_000                 # the rest waits for the next turns


def test_making_up_stops_at_the_next_timer():
    c = Clock()
    c.pause()
    c.make_up(None, True)
    time.sleep(0.05)
    deadline = c.ns() + 10_000_000
    assert c.make_up(deadline, True) is True         # the timer is due: fire it first
    assert c.ns() == deadline


def test_what_a_timer_cut_short_is_made_up_at_the_next_turns():
    """Timers every millisecond must not slow the making up: the time a turn
    could not make up (its step stopped at the timer) is made up next."""
    c = Clock()
    c.pause()
    c.make_up(None, True)
    time.sleep(0.1)                          # held back 100 ms
    due = 0
    for _ in range(150):
        now = c.ns()
        if c.make_up(now + 1_000_000, True):     # a timer 1 ms ahead at every turn
            due += 1
    assert due >= 95                         # the 100 ms passed, a millisecond at a time
    assert c.behind() < 10_000_000


def test_a_busy_machine_on_a_slow_host_keeps_the_hosts_time():
    """A guest that keeps running with interrupts enabled while the host holds
    pyemu back (a quarter of the time here) keeps the host's time: what is
    held back is made up at the next turns, so at the end the guest is
    behind by at most a few timer periods (the last ones: a loaded host can
    deschedule pyemu for a while, which the guest does not see until then)."""
    from emu.snippet import CODE_ADDR, Snippet
    from emu.cpu import hflags as H
    s = Snippet(bits=32)
    try:
        m = s.machine
        s.write(CODE_ADDR, bytes.fromhex("eb fe"))   # jmp $
        m.enter_flat32(CODE_ADDR)
        m.cpu.eflags |= H.IF
        # first the loop is translated, turns hot and gets its O2 code: in a
        # fresh process (CI) that also compiles the translator's own numba code
        # on the run thread, a second or more once, which guest time would make
        # up, twice as fast as the host's, during the measurement; what is
        # measured here is the make-up of work held back at every turn
        for _ in range(200):
            m.timers.after(10_000_000, lambda: setattr(m, "pause_requested", True))
            assert m.run() == "paused"
            if m.translator.tier_ups:
                break
        m.clock.catch_up(None)
        ticks = []

        def tick():
            ticks.append(m.clock.ns())
            time.sleep(0.005)                        # the run loop's Python work, held back
            if len(ticks) < 25:
                m.timers.after(20_000_000, tick)
            else:
                m.request_exit(0)
        m.timers.after(20_000_000, tick)
        t0 = time.monotonic_ns()
        g0 = m.clock.ns()
        m.run()
        host, guest = time.monotonic_ns() - t0, m.clock.ns() - g0
        # without making up, the guest would be 25 x 5 ms = 125 ms behind
        assert -5_000_000 < host - guest < 60_000_000, (host, guest)
        assert ticks == sorted(ticks) and ticks[-1] - ticks[0] >= 480_000_000
    finally:
        s.close()


def test_icount_time_never_catches_up():
    c = Clock(icount_shift=0)
    time.sleep(0.01)
    assert c.behind() == 0
    assert c.catch_up(1000) is False and c.ns() == 0


def test_a_halted_machine_behind_the_host_skips_to_its_timer():
    from emu.snippet import Snippet
    from emu.cpu import hflags as H
    s = Snippet(bits=32)
    try:
        m = s.machine
        m.cpu.eflags |= H.IF
        m.cpu.halted = 1
        fired = []
        deadline = m.clock.ns() + 500_000_000
        m.timers.schedule(deadline, lambda: fired.append(m.clock.ns()))
        time.sleep(0.6)                               # pyemu busy elsewhere: the guest is behind
        t0 = time.monotonic()
        m._wait_while_halted()
        assert time.monotonic() - t0 < 0.1            # not slept: made up
        assert m.clock.ns() == deadline
        m.timers.run_due()
        assert fired == [deadline]
        m.clock.catch_up(None)                        # (what setting up the machine took)
        deadline = m.clock.ns() + 100_000_000
        m.timers.schedule(deadline, lambda: None)
        t0 = time.monotonic()
        m._wait_while_halted()                        # caught up: sleeps
        assert time.monotonic() - t0 >= 0.05
    finally:
        s.close()


def test_a_machines_guest_time_stands_still_between_runs():
    from emu.snippet import Snippet
    s = Snippet(bits=32)
    try:
        before = s.machine.clock.ns()
        time.sleep(0.03)
        assert s.machine.clock.ns() == before
    finally:
        s.close()


def test_guest_time_stops_at_the_limit():
    c = Clock()
    c.pause()
    start = c.ns()
    c.limit = start + 5_000_000
    with c.running():
        _spin(0.03)
        assert c.ns() == start + 5_000_000            # held at the next timer event
    assert c.ns() == start + 5_000_000
    c.limit = start                                   # a limit in the past never moves time back
    with c.running():
        _spin(0.01)
        assert c.ns() == start + 5_000_000
    c.limit = None
    with c.running():
        _spin(0.01)
    assert c.ns() > start + 10_000_000


def test_a_late_end_of_slice_does_not_make_a_timer_late():
    """The watchdog thread that ends a native run at a timer's deadline can
    be late on a loaded host; the guest must still see the timer on time."""
    from keystone import Ks, KS_ARCH_X86, KS_MODE_32
    from emu.snippet import Snippet, CODE_ADDR
    code = bytes(Ks(KS_ARCH_X86, KS_MODE_32).asm(
        "mov ecx, 30000000; top: dec ecx; jnz top; hlt", CODE_ADDR)[0])
    s = Snippet(bits=32)
    try:
        m = s.machine
        m.watchdog.arm = lambda deadline: None        # a watchdog that never comes in time
        s.write(CODE_ADDR, code)
        m.enter_flat32(CODE_ADDR)
        fired = []
        deadline = m.clock.ns() + 1_000_000
        m.timers.schedule(deadline, lambda: fired.append(m.clock.ns()))
        start = m.clock.ns()
        assert m.run(stop_on_hlt=True) == "hlt"
        m.timers.run_due()
        assert fired == [deadline]
        assert m.clock.ns() - start > 2_000_000       # the loop itself took longer
    finally:
        s.close()


def test_a_timer_set_from_native_code_ends_the_run_on_time():
    """A device programmed inside a native run (a port write) schedules a
    timer earlier than the run's deadline: the run ends there."""
    from emu.snippet import Snippet
    s = Snippet(bits=32)
    try:
        m = s.machine
        m.clock.limit = m.clock.ns() + 1_000_000_000
        armed = []
        m.watchdog.arm = armed.append
        m._running = True
        deadline = m.clock.ns() + 1000
        m.timers.schedule(deadline, lambda: None)
        assert armed == [deadline] and m.clock.limit == deadline
        m.timers.schedule(deadline + 5, lambda: None)   # not the first: nothing changes
        assert armed == [deadline] and m.clock.limit == deadline
    finally:
        m._running = False
        s.close()


def test_the_rtc_counts_from_the_hosts_time_as_of_guest_time():
    """A guest behind the host reads an RTC that is behind by as much; once
    it has caught up, its date is the host's."""
    from emu.snippet import Snippet
    s = Snippet(bits=32)
    try:
        m = s.machine
        rtc = m.board.rtc
        time.sleep(1.2)                               # pyemu busy outside the guest
        rtc.power_on()
        assert abs(rtc.now_seconds() - (time.time() - m.clock.behind() / 1e9)) <= 1.01
        assert rtc.now_seconds() <= time.time() - 0.9
        m.clock.catch_up(None)
        assert abs(rtc.now_seconds() - time.time()) <= 1.01
    finally:
        s.close()


def test_a_charged_access_never_carries_time_past_the_limit():
    """Device accesses cost fixed guest time, but guest time still stops at
    the next timer event until the run loop has fired it."""
    c = Clock()
    c.pause()
    start = c.ns()
    c.limit = start + 2500
    with c.running():
        for _ in range(5):
            c.charged(1000, time.sleep, 0.001)
        assert c.ns() == start + 2500
    assert c.ns() == start + 2500
    c.limit = None
    c.charged(1000, lambda: None)                     # paused: the cost passes again
    assert c.ns() == start + 3500


def test_time_is_not_made_up_while_an_interrupt_waits_to_be_taken():
    """In the shadow of an STI (Linux idles with `sti; hlt`) an interrupt can
    wait for one more instruction.  Making up time then would reach the next
    tick before the CPU has taken this one, and the PIC would merge the two:
    the guest's jiffies fall a tick behind its TSC."""
    from emu.cpu import hflags as H
    from emu.snippet import Snippet
    s = Snippet(bits=32)
    try:
        m = s.machine
        m.cpu.eflags |= H.IF
        m.clock.pause()
        m._make_up(None)
        time.sleep(0.03)                                # the guest falls 30 ms behind
        before = m.clock.ns()
        m.cpu.irq_pending = 1
        assert m._make_up(before + 4_000_000) is False
        assert m.clock.ns() == before
        m.cpu.irq_pending = 0                           # taken: now the time passes
        assert m._make_up(before + 4_000_000) is True
        assert m.clock.ns() == before + 4_000_000
        m.cpu.eflags &= ~H.IF
        m.cpu.irq_pending = 0
        assert m._make_up(before + 8_000_000) is False  # nor with interrupts off
        assert m.clock.ns() == before + 4_000_000
    finally:
        s.close()
