"""i8254 PIT at the port level (8254 datasheet modes, latch and read-back,
channel 2 gate and output on port 0x61 as Linux's TSC calibration uses them)."""
import pytest

from emu.devices.pit import PIT_HZ, Pit8254, _ns

from .conftest import plug


@pytest.fixture
def pit(machine):
    return plug(machine, Pit8254(machine.ctx))


def ticks(n):
    return _ns(n)


def load(m, channel, mode, count, bcd=False):
    m.io.write(0x43, 1, (channel << 6) | (3 << 4) | (mode << 1) | int(bcd))
    m.io.write(0x40 + channel, 1, count & 0xFF)
    m.io.write(0x40 + channel, 1, count >> 8)


def latch_read(m, channel):
    m.io.write(0x43, 1, channel << 6)          # counter latch command
    lo = m.io.read(0x40 + channel, 1)
    return lo | (m.io.read(0x40 + channel, 1) << 8)


def test_mode2_counts_down_and_reloads(machine, pit):
    load(machine, 0, 2, 1000)
    machine.advance(ticks(1) + ticks(100))
    assert 899 <= latch_read(machine, 0) <= 901
    machine.advance(ticks(1000))               # one whole period later: same phase
    assert 899 <= latch_read(machine, 0) <= 901


def test_mode2_irq0_once_per_period(machine, pit):
    load(machine, 0, 2, 1193)                  # ~1 ms
    machine.advance(ticks(1193) * 10 + ticks(600))
    assert machine.rising_edges(0) == 10


def test_mode3_counts_by_two_and_gives_a_square_wave(machine, pit):
    load(machine, 2, 3, 1000)
    machine.io.write(0x61, 1, 0x01)            # gate 2 high
    machine.advance(ticks(10))
    v = latch_read(machine, 2)
    assert v % 2 == 0 and 970 <= v <= 990      # 2 counts per clock
    highs = 0
    for k in range(20):                        # sample one period: half high, half low
        if machine.io.read(0x61, 1) & 0x20:
            highs += 1
        machine.advance(ticks(50))
    assert 9 <= highs <= 11


def test_mode3_channel0_irq_rate(machine, pit):
    load(machine, 0, 3, 11932)                 # ~100 Hz
    machine.advance(1_000_000_000)
    assert 99 <= machine.rising_edges(0) <= 101


def test_latch_holds_the_value_until_read(machine, pit):
    load(machine, 0, 2, 5000)
    machine.advance(ticks(11))
    machine.io.write(0x43, 1, 0x00)
    machine.advance(ticks(1000))               # time passes; the latch does not move
    lo = machine.io.read(0x40, 1)
    v = lo | (machine.io.read(0x40, 1) << 8)
    assert 4988 <= v <= 4991
    assert latch_read(machine, 0) < 4000       # a new latch sees the new value


def test_read_back_status_and_count(machine, pit):
    load(machine, 2, 0, 0x1234)
    machine.io.write(0x61, 1, 0x01)
    machine.io.write(0x43, 1, 0xC0 | 0x08)     # read-back: count and status of channel 2
    st = machine.io.read(0x42, 1)
    assert st & 0x3F == (3 << 4) | (0 << 1)    # lobyte/hibyte, mode 0, binary
    assert not st & 0x40                       # null count: the count is loaded
    assert not st & 0x80                       # OUT low while counting in mode 0
    lo = machine.io.read(0x42, 1)
    v = lo | (machine.io.read(0x42, 1) << 8)
    assert 0x1200 <= v <= 0x1234
    machine.io.write(0x43, 1, 0xB0)            # a new control word: null count again
    machine.io.write(0x43, 1, 0xE0 | 0x08)     # status only
    assert machine.io.read(0x42, 1) & 0x40


def test_channel2_output_on_port61_mode0(machine, pit):
    """Linux's pit_calibrate_tsc: gate high, mode 0, wait for OUT2 in bit 5."""
    machine.io.write(0x61, 1, (machine.io.read(0x61, 1) & ~0x02) | 0x01)
    load(machine, 2, 0, 59659)                 # 50 ms
    assert not machine.io.read(0x61, 1) & 0x20
    machine.advance(ticks(59659) - 1000)
    assert not machine.io.read(0x61, 1) & 0x20
    machine.advance(ticks(3))
    assert machine.io.read(0x61, 1) & 0x20
    assert machine.io.read(0x61, 1) & 0x03 == 0x01   # gate on, speaker data off


def test_channel2_quick_calibration_msb_walk(machine, pit):
    """Linux's quick_pit_calibrate reads LSB, MSB pairs and expects the MSB to
    step down by one every 256 PIT clocks."""
    machine.io.write(0x61, 1, 0x01)
    machine.io.write(0x43, 1, 0xB0)
    machine.io.write(0x42, 1, 0xFF)
    machine.io.write(0x42, 1, 0xFF)
    seen = []
    for _ in range(40):
        machine.io.read(0x42, 1)
        seen.append(machine.io.read(0x42, 1))
        machine.advance(ticks(64))
    assert seen[0] == 0xFF
    steps = [a - b for a, b in zip(seen, seen[1:])]
    assert set(steps) <= {0, 1} and seen[-1] in (0xF6, 0xF7)


def test_channel2_gate_low_does_not_start_mode0(machine, pit):
    machine.io.write(0x61, 1, 0x00)
    load(machine, 2, 0, 100)
    machine.advance(ticks(500))
    assert not machine.io.read(0x61, 1) & 0x20


def test_channel2_mode0_counts_from_the_gate_rising(machine, pit):
    machine.io.write(0x61, 1, 0x00)
    load(machine, 2, 0, 1000)
    machine.advance(ticks(5000))
    machine.io.write(0x61, 1, 0x01)
    assert not machine.io.read(0x61, 1) & 0x20
    machine.advance(ticks(990))
    assert not machine.io.read(0x61, 1) & 0x20
    machine.advance(ticks(20))
    assert machine.io.read(0x61, 1) & 0x20


def test_port61_refresh_toggles(machine, pit):
    seen = set()
    for _ in range(8):
        seen.add(machine.io.read(0x61, 1) & 0x10)
        machine.advance(7_000)
    assert seen == {0, 0x10}


def test_bcd_count(machine, pit):
    load(machine, 0, 2, 0x1000, bcd=True)      # 1000 in BCD
    machine.advance(ticks(1001) * 5 + ticks(10))
    assert machine.rising_edges(0) == 5


def test_input_clock_is_1193182_hz(machine, pit):
    assert PIT_HZ == 1193182


# --- lost ticks (see emu/devices/pit.py) -------------------------------------------------------
def _irq0_edges(m):
    return m.irq_log.count((0, True))


def test_ticks_the_cpu_did_not_take_are_delivered_later(pc):
    from .test_board import init_pic
    m = pc
    m.board.lapic.mmio_write(0x350, 4, 0x10700)    # LINT0 masked: the PIC drives INTR directly
    init_pic(m, base=0x20)
    load(m, 0, 2, 4773)                            # ~4 ms, HZ=250
    m.advance(ticks(4773) + ticks(2))
    assert _irq0_edges(m) == 1 and m.board.pic.master.irr & 1
    # the CPU keeps interrupts off for three more periods: the 8259 could only
    # merge those edges into the one it holds
    m.advance(3 * ticks(4773))
    assert _irq0_edges(m) == 1 and m.board.pit.lost_ticks == 3
    for k in range(3):
        assert m.intc.acknowledge() == 0x20
        m.io.write(0x20, 1, 0x20)                  # EOI
        m.advance(100_000)                         # the catch-up delay
        assert _irq0_edges(m) == 2 + k
    assert m.board.pit.lost_ticks == 0
    assert m.intc.acknowledge() == 0x20
    m.io.write(0x20, 1, 0x20)
    m.advance(ticks(4773))                         # back to one tick a period
    assert _irq0_edges(m) == 5


def test_ticks_through_the_ioapic_wait_for_the_local_apic(pc):
    """Linux routes IRQ 0 through IOAPIC pin 2 and masks it at the 8259: an edge
    while the local APIC still holds the timer vector in its IRR would merge
    there, so the PIT keeps it for later in the same way."""
    from .test_board import init_pic, ioapic_route
    m = pc
    init_pic(m, base=0x20)
    m.io.write(0x21, 1, 0x01)                      # IRQ 0 masked at the 8259
    ioapic_route(m, 2, 0x30)
    m.board.lapic.mmio_write(0xF0, 4, 0x1FF)       # APIC software-enabled
    m.board.lapic.mmio_write(0x350, 4, 0x10700)    # LINT0 masked
    load(m, 0, 2, 4773)
    m.advance(ticks(4773) + ticks(2))
    assert _irq0_edges(m) == 1 and m.board.lapic.requested(0x30)
    m.advance(3 * ticks(4773))
    assert _irq0_edges(m) == 1 and m.board.pit.lost_ticks == 3
    for k in range(3):
        assert m.intc.acknowledge() == 0x30
        m.board.lapic.mmio_write(0xB0, 4, 0)       # EOI
        m.advance(100_000)
        assert _irq0_edges(m) == 2 + k and m.board.lapic.requested(0x30)
    assert m.board.pit.lost_ticks == 0


def test_reprogramming_drops_lost_ticks(pc):
    from .test_board import init_pic
    m = pc
    init_pic(m, base=0x20)
    load(m, 0, 2, 4773)
    m.advance(4 * ticks(4773) + ticks(2))
    assert m.board.pit.lost_ticks == 3
    load(m, 0, 2, 1193)
    assert m.board.pit.lost_ticks == 0
