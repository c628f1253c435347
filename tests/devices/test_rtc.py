"""MC146818 RTC at the port level: formats, the update cycle and UIP timing,
the periodic, alarm and update-ended interrupts, register C/D, CMOS RAM."""
import calendar

import pytest

from emu.devices.rtc import Rtc

from .conftest import plug

MS = 1_000_000
US = 1_000
START = calendar.timegm((2006, 6, 17, 16, 1, 21))     # a Saturday


@pytest.fixture
def rtc(machine):
    return plug(machine, Rtc(machine.ctx, irq=8, start=float(START)))


def reg(m, r):
    m.io.write(0x70, 1, r)
    return m.io.read(0x71, 1)


def setreg(m, r, v):
    m.io.write(0x70, 1, r)
    m.io.write(0x71, 1, v)


def test_power_on_time_in_bcd_24h(machine, rtc):
    got = [reg(machine, r) for r in (0, 2, 4, 6, 7, 8, 9, 0x32)]
    assert got == [0x21, 0x01, 0x16, 0x07, 0x17, 0x06, 0x06, 0x20]
    assert reg(machine, 0x0A) == 0x26 and reg(machine, 0x0B) == 0x02
    assert reg(machine, 0x0D) == 0x80                 # VRT: battery good


def test_binary_and_12_hour_modes(machine, rtc):
    setreg(machine, 0x0B, 0x02 | 0x04)                # binary
    assert (reg(machine, 0), reg(machine, 4), reg(machine, 9)) == (21, 16, 6)
    setreg(machine, 0x0B, 0x00)                       # BCD, 12-hour
    assert reg(machine, 4) == 0x80 | 0x04             # 4 PM
    setreg(machine, 0x0B, 0x04)                       # binary, 12-hour
    assert reg(machine, 4) == 0x80 | 4


def test_clock_advances_with_virtual_time(machine, rtc):
    machine.advance(2500 * MS)
    assert reg(machine, 0) == 0x23
    machine.advance(60 * 1000 * MS)
    assert (reg(machine, 0), reg(machine, 2)) == (0x23, 0x02)


def test_uip_is_set_just_before_each_update(machine, rtc):
    # updates end at whole seconds after power-on (the start time had no fraction)
    machine.advance(1000 * MS - 2300 * US)
    assert not reg(machine, 0x0A) & 0x80
    machine.advance(100 * US)                         # 2.2 ms before: tBUC + tUC window
    assert reg(machine, 0x0A) & 0x80
    assert reg(machine, 0) == 0x21                    # still the old second
    machine.advance(2200 * US)                        # the cycle has ended
    assert not reg(machine, 0x0A) & 0x80
    assert reg(machine, 0) == 0x22


def test_register_c_flags_clear_on_read(machine, rtc):
    reg(machine, 0x0C)
    machine.advance(1000 * MS)
    c = reg(machine, 0x0C)
    assert c & 0x10                                    # UF, though UIE is off
    assert not c & 0x80                                # no enabled flag: IRQF clear
    assert reg(machine, 0x0C) & 0x10 == 0


@pytest.mark.parametrize("rate,hz", [(15, 2), (6, 1024), (3, 8192), (1, 256)])
def test_periodic_interrupt_rate(machine, rtc, rate, hz):
    setreg(machine, 0x0A, 0x20 | rate)
    setreg(machine, 0x0B, 0x02 | 0x40)                # PIE
    reg(machine, 0x0C)
    period = 1_000_000_000 // hz
    machine.advance(period - period // 10)
    assert not machine.irqs.get(8)
    machine.advance(period // 5)
    assert machine.irqs[8] is True
    assert reg(machine, 0x0C) == 0xC0                  # IRQF | PF
    assert machine.irqs[8] is False
    count = 0
    for _ in range(10):                                # the guest's handler: read C at each IRQ
        machine.advance(period)
        if machine.irqs.get(8):
            count += 1
            reg(machine, 0x0C)
    assert count == 10


def test_no_periodic_interrupt_at_rate_zero(machine, rtc):
    setreg(machine, 0x0A, 0x20)
    setreg(machine, 0x0B, 0x42)
    machine.advance(2000 * MS)
    assert not machine.irqs.get(8) and not reg(machine, 0x0C) & 0x40


def test_update_ended_interrupt(machine, rtc):
    setreg(machine, 0x0B, 0x12)                       # UIE
    machine.advance(999 * MS)
    assert not machine.irqs.get(8)
    machine.advance(2 * MS)
    assert machine.irqs[8] is True
    assert reg(machine, 0x0C) & 0xB0 == 0x90          # IRQF | UF (PF is set too: rate 6 runs)


def test_alarm_interrupt(machine, rtc):
    setreg(machine, 0x01, 0x24)                       # 16:01:24
    setreg(machine, 0x03, 0x01)
    setreg(machine, 0x05, 0x16)
    setreg(machine, 0x0B, 0x22)                       # AIE
    reg(machine, 0x0C)
    machine.advance(2500 * MS)
    assert not machine.irqs.get(8)
    machine.advance(1000 * MS)
    assert machine.irqs[8] is True
    assert reg(machine, 0x0C) & 0xA0 == 0xA0          # IRQF | AF


def test_alarm_dont_care_fires_every_second(machine, rtc):
    for r in (1, 3, 5):
        setreg(machine, r, 0xC0)
    setreg(machine, 0x0B, 0x22)
    hits = 0
    for _ in range(3):
        machine.advance(1000 * MS)
        if machine.irqs.get(8):
            hits += 1
            reg(machine, 0x0C)
    assert hits == 3


def test_set_bit_stops_updates_and_sets_time(machine, rtc):
    setreg(machine, 0x0B, 0x82 | 0x10)                # SET (clears UIE)
    assert reg(machine, 0x0B) == 0x82
    setreg(machine, 0, 0x59)
    setreg(machine, 2, 0x59)
    setreg(machine, 4, 0x23)
    setreg(machine, 7, 0x31)
    setreg(machine, 8, 0x12)
    setreg(machine, 9, 0x99)
    setreg(machine, 0x32, 0x19)
    machine.advance(5000 * MS)
    assert reg(machine, 0) == 0x59                    # frozen
    setreg(machine, 0x0B, 0x02)
    machine.advance(1000 * MS)
    got = [reg(machine, r) for r in (0, 2, 4, 7, 8, 9, 0x32, 6)]
    assert got == [0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x20, 0x07]   # 2000-01-01, a Saturday


def test_divider_reset_and_first_update_half_a_second_later(machine, rtc):
    machine.advance(300 * MS)
    setreg(machine, 0x0A, 0x70 | 0x06)                # divider held in reset
    machine.advance(3000 * MS)
    assert reg(machine, 0) == 0x21
    setreg(machine, 0x0A, 0x26)
    machine.advance(499 * MS)
    assert reg(machine, 0) == 0x21
    machine.advance(2 * MS)
    assert reg(machine, 0) == 0x22


def test_cmos_ram_and_nmi_mask(machine, rtc):
    setreg(machine, 0x40, 0xA5)
    setreg(machine, 0x7F, 0x5A)
    assert reg(machine, 0x40) == 0xA5 and reg(machine, 0x7F) == 0x5A
    machine.io.write(0x70, 1, 0x80 | 0x40)
    assert rtc.nmi_masked and machine.io.read(0x71, 1) == 0xA5
    assert machine.io.read(0x70, 1) == 0xFF           # the index port is write-only
    setreg(machine, 0x0C, 0xFF)
    setreg(machine, 0x0D, 0x00)
    assert reg(machine, 0x0D) == 0x80


def test_state_round_trip(machine, rtc):
    setreg(machine, 0x50, 7)
    d = rtc.save_state()
    assert d["version"] == 1 and d["cmos"][0x50] == 7
    fresh = machine.__class__()
    other = plug(fresh, Rtc(fresh.ctx, start=0.0))
    other.load_state(d)
    assert other.cmos[0x50] == 7 and other.now_seconds() == rtc.now_seconds()
