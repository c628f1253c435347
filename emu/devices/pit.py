"""Intel 8254 programmable interval timer (ports 0x40-0x43) and port 0x61
(channel 2 gate, speaker data, OUT2 and the refresh toggle), as a PC has them.

Counters are not stepped: a counter's value and output are computed from the
virtual clock since it was loaded (1.193182 MHz input clock, 8254 datasheet
mode descriptions).  Channel 0 raises IRQ 0 on each rising edge of its
output, through a timer scheduled at the next edge.

Lost ticks are delivered late rather than dropped.  A kernel that counts
ticks (Linux with a periodic tick keeps jiffies so) loses time when a tick
arrives while the one before is still waiting for the CPU: the 8259 merges
the two edges.  On pyemu that happens far more often than on hardware: a
guest that keeps interrupts off for a few milliseconds (printing on the
serial console, every byte an I/O exit) spans a 4 ms tick.  Such ticks are
counted, and each is delivered once the previous one has been taken, as
hypervisors reinject timer interrupts; at most CATCH_UP_MAX wait.
"""
from .base import Device

PIT_HZ = 1193182
NS = 1_000_000_000
RW_LATCH, RW_LSB, RW_MSB, RW_WORD = range(4)
CATCH_UP_MAX = 250           # lost ticks kept (a second at HZ=250); older ones are dropped
# How soon a lost tick is offered again: soon, since until it is taken a tick
# counting kernel's clock runs one tick behind the TSC (Linux's PIT clocksource
# is jiffies plus the counter, and its watchdog distrusts a TSC that is 4 ms off).
CATCH_UP_NS = 10_000


def _ticks(ns):
    return ns * PIT_HZ // NS


def _ns(ticks):
    return -(-ticks * NS // PIT_HZ)        # round up: an event never fires early


class Channel:
    FIELDS = ("mode", "rw", "bcd", "count", "gate", "load_ns", "latch", "latched", "status_latched",
              "status", "read_msb", "write_msb", "write_lsb", "null_count", "armed")

    def __init__(self, index, clock):
        self.index = index
        self.clock = clock
        self.mode = 3 if index == 0 else 0
        self.rw = RW_WORD
        self.bcd = False
        self.count = 0x10000
        self.gate = index != 2
        self.load_ns = 0
        self.latch = 0
        self.latched = 0             # bytes of the latched count still to read
        self.status_latched = False
        self.status = 0
        self.read_msb = False
        self.write_msb = False
        self.write_lsb = 0
        self.null_count = True
        self.armed = False           # the count has been written (modes 0/4 wait for it)

    def elapsed(self, now_ns):
        return _ticks(now_ns - self.load_ns) if now_ns > self.load_ns else 0

    def value(self, now_ns):
        """The counter's current value (datasheet: count decrements per input clock)."""
        n = self.count
        d = self.elapsed(now_ns)
        if self.mode in (0, 1, 4, 5):
            return (n - d) & 0xFFFF
        if self.mode == 3:
            return (n - ((2 * d) % n)) & 0xFFFE if n > 1 else 0
        return n - (d % n) if n else 0             # mode 2

    def output(self, now_ns):
        n = self.count
        d = self.elapsed(now_ns)
        if not self.armed:
            return self.mode != 0
        if self.mode == 0:
            return d >= n
        if self.mode == 1:
            return d >= n
        if self.mode == 2:
            return d % n != n - 1 if n > 1 else True
        if self.mode == 3:
            return d % n < (n + 1) // 2
        return d != n                               # modes 4, 5: a one-clock low strobe

    def next_rising_edge(self, now_ns):
        """Virtual time of the next low -> high transition of OUT, or None."""
        if not self.armed or not self.gate:
            return None
        n = self.count
        d = self.elapsed(now_ns)
        if self.mode == 0:
            return self.load_ns + _ns(n) if d < n else None
        if self.mode == 2:
            k = d // n
            return self.load_ns + _ns((k + 1) * n)
        if self.mode == 3:
            k = d // n
            return self.load_ns + _ns((k + 1) * n)
        if self.mode in (4, 5):
            return self.load_ns + _ns(n + 1) if d <= n else None
        return None


class Pit8254(Device):
    name = "pit"
    ports = ((0x40, 4), (0x61, 1))
    state_version = 2

    def __init__(self, ctx, irq0_waiting=lambda: False):
        """irq0_waiting() (the board's): True while the last IRQ 0 edge still
        waits for the CPU."""
        self.clock = ctx.clock
        self.timers = ctx.timers
        self.irq0 = ctx.irq(0)
        self.irq0_waiting = irq0_waiting
        self.speaker = 0             # port 0x61 bits 0 (gate 2) and 1 (speaker data)
        self._timer = None
        self.lost_ticks = 0          # IRQ 0 edges not delivered yet (see the module docstring)
        self._edges = (None, 0)      # (channel 0 load time, rising edges counted since)
        self._power_on_channels()

    def _power_on_channels(self):
        self.channels = [Channel(k, self.clock) for k in range(3)]
        self.channels[2].gate = False

    def reset(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.lost_ticks = 0
        self._edges = (None, 0)
        self.speaker = 0
        self._power_on_channels()

    def _now(self):
        return self.clock.ns()

    # --- channel 0 -> IRQ 0 ------------------------------------------------------------------
    def migrate_state(self, d):
        if d.get("version", 1) < 2:       # version 1 kept no tick accounting: none owed
            d.setdefault("lost_ticks", 0)
            d.setdefault("edges", [None, 0])
        return d

    def _reschedule(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._now()
        edge = self.channels[0].next_rising_edge(now)
        if self.lost_ticks and edge is not None:
            edge = min(edge, now + CATCH_UP_NS)
        if edge is not None:
            self._timer = self.timers.schedule(edge, self._fire)

    def _edges_passed(self, now):
        """Rising edges of a periodic channel 0 since the last call (0 for other modes)."""
        ch = self.channels[0]
        if ch.mode not in (2, 3) or not ch.armed:
            self._edges = (None, 0)
            return 0
        total = ch.elapsed(now) // ch.count
        load, seen = self._edges
        self._edges = (ch.load_ns, total)
        return total - seen if load == ch.load_ns else min(total, 1)

    def _fire(self):
        self._timer = None
        now = self._now()
        ticks = self._edges_passed(now) + self.lost_ticks
        if not self.channels[0].armed or self.channels[0].mode not in (2, 3):
            ticks = 1                              # one-shot modes: this edge only
        if ticks and not self.irq0_waiting():
            self.irq0.pulse()
            ticks -= 1
        self.lost_ticks = min(ticks, CATCH_UP_MAX) if self.channels[0].mode in (2, 3) else 0
        self._reschedule()

    # --- ports -----------------------------------------------------------------------------------
    def io_write(self, port, size, value):
        value &= 0xFF
        if port == 0x61:
            self._set_gate2(value & 1)
            self.speaker = value & 3
            return
        if port == 0x43:
            self._control(value)
            return
        ch = self.channels[port - 0x40]
        if ch.rw == RW_LSB:
            self._load(ch, value)
        elif ch.rw == RW_MSB:
            self._load(ch, value << 8)
        elif ch.rw == RW_WORD:
            if not ch.write_msb:
                ch.write_lsb = value
                ch.write_msb = True
                if ch.mode == 0:
                    ch.armed = False           # writing the first byte stops a mode 0 count
            else:
                ch.write_msb = False
                self._load(ch, ch.write_lsb | value << 8)

    def _load(self, ch, count):
        if ch.bcd:
            count = int("%x" % (count & 0xFFFF)) if count else 10000
        ch.count = count if count else 0x10000
        ch.load_ns = self._now() + _ns(1)        # the count takes effect on the next clock
        ch.null_count = False
        ch.armed = ch.gate or ch.mode in (1, 5)
        if ch.mode in (1, 5):
            ch.armed = False                      # hardware-triggered modes wait for a gate edge
        if ch.index == 0:
            self.lost_ticks = 0                   # a new period: earlier ticks are void
            self._reschedule()

    def _control(self, value):
        sel = value >> 6
        if sel == 3:                               # read-back command
            for k in range(3):
                if not value & (2 << k):
                    continue
                ch = self.channels[k]
                if not value & 0x20:
                    self._latch_count(ch)
                if not value & 0x10 and not ch.status_latched:
                    out = ch.output(self._now())
                    ch.status = ((0x80 if out else 0) | (0x40 if ch.null_count else 0) | (ch.rw << 4)
                                 | (ch.mode << 1) | (1 if ch.bcd else 0))
                    ch.status_latched = True
            return
        ch = self.channels[sel]
        rw = (value >> 4) & 3
        if rw == RW_LATCH:
            self._latch_count(ch)
            return
        ch.rw = rw
        mode = (value >> 1) & 7
        ch.mode = mode - 4 if mode >= 6 else mode
        ch.bcd = bool(value & 1)
        ch.write_msb = False
        ch.read_msb = False
        ch.null_count = True
        ch.armed = False
        if ch.index == 0:
            self._reschedule()

    def _latch_count(self, ch):
        if ch.latched:
            return                                 # a second latch before reading is ignored
        ch.latch = ch.value(self._now())
        ch.latched = 2 if ch.rw == RW_WORD else 1

    def _set_gate2(self, level):
        ch = self.channels[2]
        level = bool(level)
        if level and not ch.gate and ch.mode in (1, 5):
            ch.load_ns = self._now()
            ch.armed = True                        # rising gate triggers modes 1 and 5
        elif level and not ch.gate and ch.mode in (2, 3):
            ch.load_ns = self._now()               # and reloads modes 2 and 3
        if level and not ch.gate and ch.mode in (0, 4) and not ch.armed and not ch.null_count:
            ch.load_ns = self._now()               # a count written while the gate was low starts now
        ch.gate = level
        if level and ch.mode in (0, 2, 3, 4) and not ch.null_count:
            ch.armed = True

    def io_read(self, port, size):
        now = self._now()
        if port == 0x61:
            out2 = self.channels[2].output(now)
            refresh = (now // 15085) & 1           # DRAM refresh toggles every ~15 us
            return self.speaker | (refresh << 4) | (0x20 if out2 else 0)
        if port == 0x43:
            return 0xFF
        ch = self.channels[port - 0x40]
        if ch.status_latched:
            ch.status_latched = False
            return ch.status
        if ch.latched:
            v = ch.latch
            if ch.rw == RW_MSB or (ch.rw == RW_WORD and ch.latched == 1):
                byte = (v >> 8) & 0xFF
            else:
                byte = v & 0xFF
            ch.latched -= 1
            return byte
        v = ch.value(now)
        if ch.rw == RW_LSB:
            return v & 0xFF
        if ch.rw == RW_MSB:
            return (v >> 8) & 0xFF
        ch.read_msb = not ch.read_msb
        return (v & 0xFF) if ch.read_msb else (v >> 8) & 0xFF

    def save_state(self):
        # the IRQ 0 edges counted and owed are state too: without them a restored
        # PIT would count the edges since its load again, or skip ticks it owes
        return {"version": self.state_version, "speaker": self.speaker,
                "channels": [{f: getattr(c, f) for f in Channel.FIELDS} for c in self.channels],
                "lost_ticks": self.lost_ticks, "edges": list(self._edges)}

    def load_state(self, d):
        d = self.migrate_state(dict(d))
        self.speaker = d["speaker"]
        self.lost_ticks = d["lost_ticks"]
        self._edges = tuple(d["edges"])
        for c, cd in zip(self.channels, d["channels"]):
            for f in Channel.FIELDS:
                setattr(c, f, cd[f])
        self._reschedule()
