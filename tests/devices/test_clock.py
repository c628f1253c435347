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
    before = c.ns()
    assert c.charged(1000, _slow, 0.02, seen, c) == "value"
    after = c.ns()
    assert seen[0] == seen[1]                       # the clock stands still inside
    # 20 ms passed on the host; the guest saw 1 us (plus the few us around the call)
    assert 1000 <= after - before < 2_000_000


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
    c = Clock()
    before = c.ns()
    with c.stopped():
        c.charged(1000, time.sleep, 0.01)
        time.sleep(0.01)
    assert c.ns() - before < 2_000_000


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
        before = m.clock.ns()
        m.step()
        assert m.cpu.eip == CODE_ADDR + 1
        assert m.clock.ns() - before < 20_000_000
    finally:
        s.close()


def test_a_paused_clock_runs_only_inside_running():
    c = Clock()
    c.pause()
    before = c.ns()
    time.sleep(0.02)
    assert c.ns() == before                          # the run loop's own work
    with c.running():
        time.sleep(0.02)                             # native code, or HLT waiting
    mid = c.ns()
    assert 20_000_000 <= mid - before < 40_000_000
    c.charged(1000, time.sleep, 0.01)                # paused: just the fixed cost
    assert c.ns() == mid + 1000
    with c.running():
        c.charged(1000, time.sleep, 0.01)            # a device access from native code
    assert c.ns() - mid < 5_000_000


def test_a_machines_guest_time_stands_still_between_runs():
    from emu.snippet import Snippet
    s = Snippet(bits=32)
    try:
        before = s.machine.clock.ns()
        time.sleep(0.03)
        assert s.machine.clock.ns() == before
    finally:
        s.close()
