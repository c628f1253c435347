"""MC146818 real-time clock and CMOS RAM (ports 0x70/0x71, IRQ 8).

Facts from the Motorola MC146818A datasheet:
- Port 0x70 selects a register (bit 7 of that write is the PC's NMI mask),
  port 0x71 reads or writes it.  0x00-0x09: seconds, seconds alarm, minutes,
  minutes alarm, hours, hours alarm, day of week (1 = Sunday), date, month,
  year; 0x0A-0x0D: registers A-D; the rest is battery-backed RAM.
- Register A: UIP (bit 7, read-only), divider DV2-0 (bits 6:4; 010 = the
  32.768 kHz time base, 11x holds the divider in reset, and the first update
  comes 500 ms after its release), rate RS3-0 (bits 3:0) of the periodic
  interrupt: none, 256 Hz, 128 Hz, then 8192 Hz halving down to 2 Hz
  (period 2^(RS-1) / 32768 s for RS >= 3).
- Register B: SET (updates stop; clears UIE), PIE, AIE, UIE, SQWE, DM (1 =
  binary, 0 = BCD), 24/12 (1 = 24-hour; in 12-hour mode bit 7 of the hour is
  PM), DSE.
- Register C: IRQF, PF, AF, UF; reading it clears them and releases IRQ 8.
  The flags are set whether or not their interrupt is enabled; IRQF (and the
  IRQ line) is set when a flag is set together with its enable bit.
- Register D: VRT (bit 7): the battery is good.
- Update cycle once a second: UIP rises 244 us before it starts and stays set
  through the 1984 us cycle; at its end the time registers hold the new
  second, UF is set and the alarm is compared (an alarm byte of 0xC0-0xFF
  matches any value).

The time is kept as a count of seconds that advances with the virtual clock,
so the guest's time follows the host (or -icount).  The registers are
rendered from it in the format register B asks for; changing DM or 24/12
re-renders the same time (a real chip would keep the old bytes, which then
read wrong until rewritten).  Writing day-of-week is ignored: it is computed
from the date.  Daylight saving (DSE) is not modelled.
"""
import calendar
import time

from .base import Device

SECONDS, SECONDS_ALARM, MINUTES, MINUTES_ALARM, HOURS, HOURS_ALARM = 0, 1, 2, 3, 4, 5
DAY_OF_WEEK, DATE, MONTH, YEAR = 6, 7, 8, 9
REG_A, REG_B, REG_C, REG_D = 0x0A, 0x0B, 0x0C, 0x0D
CENTURY = 0x32               # IBM PC convention, kept in the clock's format like the others

A_UIP = 0x80
B_SET, B_PIE, B_AIE, B_UIE, B_SQWE, B_DM, B_24H, B_DSE = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
C_IRQF, C_PF, C_AF, C_UF = 0x80, 0x40, 0x20, 0x10
D_VRT = 0x80

NS = 1_000_000_000
UPDATE_CYCLE_NS = 1_984_000          # tUC, 32.768 kHz time base
BEFORE_UPDATE_NS = 244_000           # tBUC: UIP is set this long before the cycle starts
UIP_NS = BEFORE_UPDATE_NS + UPDATE_CYCLE_NS
DIVIDER_32K = 0x20                   # DV2-0 = 010
CMOS_SIZE = 128


def periodic_ns(rate):
    """The periodic interrupt's period for RS3-0 = rate (32.768 kHz base), or None."""
    if rate == 0:
        return None
    if rate < 3:
        rate += 7                    # 1, 2 repeat rates 8, 9 (256 Hz, 128 Hz)
    return (1 << (rate - 1)) * NS // 32768


def _bcd(v):
    return ((v // 10) << 4) | (v % 10)


def _unbcd(v):
    return (v >> 4) * 10 + (v & 0x0F)


class Rtc(Device):
    name = "rtc"
    ports = ((0x70, 2),)
    state_version = 1
    state_fields = ("cmos", "index", "nmi_masked", "reg_a", "reg_b", "flags", "seconds", "origin_ns",
                    "divider_ns", "accounted_ns", "running", "frozen")

    def __init__(self, ctx, irq=8, start=None):
        """start: the time at power-on, seconds since 1970 as the guest's clock
        shows it (UTC by default); None takes the host's UTC time."""
        self.irq = irq
        self.start = start
        self.line = ctx.irq(irq)
        self.clock = ctx.clock
        self.timers = ctx.timers
        self._timer = None
        self._irq_level = False
        self.cmos = bytearray(CMOS_SIZE)
        self.index = 0
        self.nmi_masked = False
        self.reg_a = DIVIDER_32K | 0x06        # 32.768 kHz, 1024 Hz periodic rate
        self.reg_b = B_24H                     # 24-hour, BCD
        self.flags = 0
        self.seconds = 0
        self.origin_ns = 0
        self.divider_ns = 0
        self.accounted_ns = 0
        self.running = True
        self.frozen = None                     # the time fields while SET holds the clock
        self.power_on()

    def power_on(self):
        # the host's time as of the guest's now: the guest is behind the host by
        # what pyemu spent outside it since power-on (emu/clock.py), and makes
        # that up later, so its date then matches the host's
        t = time.time() - self.clock.behind() / NS if self.start is None else self.start
        now = self.clock.ns()
        whole = int(t // 1)
        frac_ns = int((t - whole) * NS)
        self.seconds = whole
        self.origin_ns = now - frac_ns         # updates keep the source's phase
        self.divider_ns = self.origin_ns
        self.accounted_ns = now
        self.running = True
        self.frozen = None
        self.flags = 0
        self._set_irq(False)

    # --- the clock --------------------------------------------------------------------------
    def _updates_before(self, t):
        """How many update cycles have ended at or before virtual time t."""
        if t < self.origin_ns:
            return 0
        return (t - self.origin_ns) // NS

    def _divider_running(self):
        return (self.reg_a & 0x70) == DIVIDER_32K

    def _counting(self):
        return self.running and self._divider_running()

    def now_seconds(self, now=None):
        if not self._counting():
            return self.seconds
        now = self.clock.ns() if now is None else now
        return self.seconds + self._updates_before(now)

    def _set_seconds(self, value, now):
        """Make the clock show `value` now, keeping the update phase."""
        self.seconds = value - (self._updates_before(now) if self._counting() else 0)

    def _freeze(self, now):
        self.seconds = self.now_seconds(now)
        k = self._updates_before(now)
        self.origin_ns += k * NS               # keep the phase for the restart
        self.running = False

    def _set_bit(self, now):
        """SET: updates stop and the registers hold what the guest writes, byte
        by byte (so writing date 31 before month 12 is fine)."""
        self._freeze(now)
        self.frozen = self._fields(self.seconds)

    def _thaw(self, now):
        f, self.frozen = self.frozen, None
        if f is not None:
            self.seconds = self._seconds_of(f)
        self.origin_ns += self._updates_before(now) * NS
        self.running = True

    def uip(self, now):
        """UIP: from tBUC before an update cycle to its end."""
        if not self._counting():
            return False
        nxt = self.origin_ns + (self._updates_before(now) + 1) * NS
        return nxt - now <= UIP_NS

    # --- register rendering -----------------------------------------------------------------
    def _enc(self, v):
        return v if self.reg_b & B_DM else _bcd(v)

    def _dec(self, v):
        return v if self.reg_b & B_DM else _unbcd(v)

    def _enc_hour(self, h):
        if self.reg_b & B_24H:
            return self._enc(h)
        pm = 0x80 if h >= 12 else 0
        return self._enc(h % 12 or 12) | pm

    def _dec_hour(self, v):
        if self.reg_b & B_24H:
            return self._dec(v)
        h = self._dec(v & 0x7F) % 12
        return h + 12 if v & 0x80 else h

    def _fields(self, secs):
        t = time.gmtime(secs)
        return {SECONDS: t.tm_sec, MINUTES: t.tm_min, HOURS: t.tm_hour, DAY_OF_WEEK: (t.tm_wday + 1) % 7 + 1,
                DATE: t.tm_mday, MONTH: t.tm_mon, YEAR: t.tm_year % 100, CENTURY: t.tm_year // 100}

    def _current_fields(self, now):
        if self.frozen is not None:
            return self.frozen
        return self._fields(self.now_seconds(now))

    @staticmethod
    def _seconds_of(f):
        """Fields -> seconds; out-of-range values roll over as a calendar would."""
        year = f[CENTURY] * 100 + f[YEAR]
        return calendar.timegm((year, max(1, f[MONTH]), max(1, f[DATE]), f[HOURS], f[MINUTES], f[SECONDS]))

    def _read_time_reg(self, reg, now):
        f = self._current_fields(now)
        if reg == HOURS:
            return self._enc_hour(f[HOURS])
        return self._enc(f[reg])

    def _write_time_reg(self, reg, value, now):
        f = dict(self._current_fields(now))
        if reg == HOURS:
            f[HOURS] = self._dec_hour(value)
        elif reg == DAY_OF_WEEK:
            return
        else:
            f[reg] = self._dec(value)
        if self.frozen is not None:
            self.frozen = f
        else:
            self._set_seconds(self._seconds_of(f), now)

    # --- flags and interrupts ----------------------------------------------------------------
    def _alarm_matches(self, secs):
        f = self._fields(secs)
        for reg, field in ((SECONDS_ALARM, SECONDS), (MINUTES_ALARM, MINUTES), (HOURS_ALARM, HOURS)):
            a = self.cmos[reg]
            if a >= 0xC0:
                continue
            want = self._enc_hour(f[HOURS]) if field == HOURS else self._enc(f[field])
            if a != want:
                return False
        return True

    def _catch_up(self, now):
        """Set the flags for the events in (accounted_ns, now]."""
        last = self.accounted_ns
        if now <= last:
            return
        if self._counting():
            first_k, last_k = self._updates_before(last) + 1, self._updates_before(now)
            if last_k >= first_k:
                self.flags |= C_UF
                # a whole day of updates has seen every time of day: check at most that many
                for k in range(max(first_k, last_k - 86399), last_k + 1):
                    if self._alarm_matches(self.seconds + k):
                        self.flags |= C_AF
                        break
        period = periodic_ns(self.reg_a & 0x0F)
        if period and self._divider_running():
            if (now - self.divider_ns) // period > (last - self.divider_ns) // period:
                self.flags |= C_PF
        self.accounted_ns = now
        self._update_irqf()

    def _enabled_flags(self):
        b = self.reg_b
        return (C_PF if b & B_PIE else 0) | (C_AF if b & B_AIE else 0) | (C_UF if b & B_UIE else 0)

    def _update_irqf(self):
        if self.flags & self._enabled_flags() & (C_PF | C_AF | C_UF):
            self.flags |= C_IRQF
        self._set_irq(bool(self.flags & C_IRQF))

    def _set_irq(self, level):
        if level != self._irq_level:
            self._irq_level = level
            self.line.set(level)

    def _next_event(self, now):
        """When an enabled flag can next be set (None: no interrupt can come)."""
        if self.flags & C_IRQF:
            return None                        # IRQ 8 stays asserted until register C is read
        times = []
        b = self.reg_b
        if b & (B_UIE | B_AIE) and self._counting():
            times.append(self.origin_ns + (self._updates_before(now) + 1) * NS)
        period = periodic_ns(self.reg_a & 0x0F)
        if b & B_PIE and period and self._divider_running():
            times.append(self.divider_ns + ((now - self.divider_ns) // period + 1) * period)
        return min(times) if times else None

    def _reschedule(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        t = self._next_event(self.clock.ns())
        if t is not None:
            self._timer = self.timers.schedule(t, self._fire)

    def _fire(self):
        self._timer = None
        self._catch_up(self.clock.ns())
        self._reschedule()

    # --- ports -----------------------------------------------------------------------------
    def io_read(self, port, size):
        if port == 0x70:
            return 0xFF                        # the index register is write-only
        return self.read_register(self.index)

    def io_write(self, port, size, value):
        value &= 0xFF
        if port == 0x70:
            self.index = value & 0x7F
            self.nmi_masked = bool(value & 0x80)
        else:
            self.write_register(self.index, value)

    def read_register(self, reg):
        now = self.clock.ns()
        if reg in (SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DATE, MONTH, YEAR, CENTURY):
            return self._read_time_reg(reg, now)
        if reg == REG_A:
            return self.reg_a | (A_UIP if self.uip(now) else 0)
        if reg == REG_B:
            return self.reg_b
        if reg == REG_C:
            self._catch_up(now)
            v = self.flags
            self.flags = 0
            self._set_irq(False)
            self._reschedule()
            return v
        if reg == REG_D:
            return D_VRT
        return self.cmos[reg]

    def write_register(self, reg, value):
        now = self.clock.ns()
        self._catch_up(now)
        if reg in (SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DATE, MONTH, YEAR, CENTURY):
            self._write_time_reg(reg, value, now)
        elif reg == REG_A:
            self._write_a(value, now)
        elif reg == REG_B:
            self._write_b(value, now)
        elif reg in (REG_C, REG_D):
            return                             # read-only
        else:
            self.cmos[reg] = value
        self._update_irqf()
        self._reschedule()

    def _write_a(self, value, now):
        was_running = self._divider_running()
        if was_running and self.running:
            self._freeze(now)
            self.running = True
        self.reg_a = value & 0x7F
        if self._divider_running() and not was_running:
            # the divider leaves reset: the first update cycle ends 500 ms later
            self.origin_ns = now - NS // 2
            self.divider_ns = now
        elif not self._divider_running() and was_running:
            pass                               # time holds while the divider is in reset

    def _write_b(self, value, now):
        old = self.reg_b
        if value & B_SET:
            value &= ~B_UIE                    # SET clears UIE (datasheet)
            if not old & B_SET and self.running:
                self._set_bit(now)
        elif old & B_SET:
            self._thaw(now)
        self.reg_b = value

    # --- CMOS memory (firmware and tests) ---------------------------------------------------
    def cmos_write(self, reg, value):
        self.cmos[reg] = value & 0xFF

    def cmos_read(self, reg):
        return self.cmos[reg]

    def reset(self):
        """The RESET pin clears the interrupt enables and flags (the clock keeps time)."""
        self.reg_b &= ~(B_PIE | B_AIE | B_UIE | B_SQWE)
        self.flags = 0
        self._set_irq(False)
        self._reschedule()

    def load_state(self, d):
        super().load_state(d)
        self.cmos = bytearray(self.cmos)
        self._irq_level = None
        self._set_irq(bool(self.flags & C_IRQF))
        self._reschedule()

    def save_state(self):
        d = super().save_state()
        d["cmos"] = bytes(self.cmos)
        return d
