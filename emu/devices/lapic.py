"""Local APIC (xAPIC, one CPU): registers at 0xFEE00000, IA32_APIC_BASE (MSR 0x1B).

Facts from the Intel SDM Vol. 3A, chapter 10 ("Advanced Programmable
Interrupt Controller"; chapter 11 in newer editions):
- Version register 0x00050014: an integrated APIC (version 0x14) with six
  LVT entries (max LVT = 5): timer, thermal, performance counters, LINT0,
  LINT1, error.  No EOI-broadcast suppression, no TSC-deadline timer.
- Priorities (10.8.3.1): a vector's priority class is its bits 7:4.  PPR is
  TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0 (ISRV = the highest
  vector in service).  The highest vector requested in IRR is delivered
  when its class is above PPR's; the CPU's acknowledge moves it from IRR to
  ISR.  EOI clears the highest ISR bit and, for a level-triggered vector (its
  TMR bit), broadcasts the EOI to the IOAPICs (10.8.5).
- Logical destinations (10.6.2.2): flat model (DFR[31:28] = 1111) matches
  when LDR[31:24] AND the destination is not zero; cluster model (0000)
  compares the high nibble and ANDs the low one; 0xFF is a broadcast.
- ESR (10.5.3): errors are collected internally; a write to ESR moves them
  into the readable register.  A new error raises the LVT error interrupt.
- Software disable (SVR bit 8 = 0, the state after reset, 10.4.7.2): every
  LVT entry is masked and cannot be unmasked; pending IRR/ISR bits are held.
  Global disable (IA32_APIC_BASE bit 11 = 0, 10.4.3): the processor behaves
  as one without an APIC (CPUID.1:EDX.APIC reads 0); re-enabling it brings
  the APIC back in its power-up state.
- Timer (10.5.4): the current count decrements from the initial count at the
  bus clock divided by the divide configuration (bits 0, 1, 3: divide by
  2, 4, 8, 16, 32, 64, 128 or 1); at zero the LVT timer vector is requested
  and a periodic timer reloads.  Writing the initial count (re)starts it,
  writing 0 stops it.  pyemu's "bus clock" is 1 GHz of virtual time.

How it connects to the rest of the PC:
- The 8259 pair's INTR output reaches LINT0 (set_lint0).  With LINT0 in
  ExtINT mode (virtual wire, MP Specification 1.4 section 3.6.2.2) the PIC
  supplies the vector at the CPU's acknowledge.  While the APIC is software
  or globally disabled, the PIC's INTR goes straight to the CPU.
- The board leaves LINT0 = ExtINT and LINT1 = NMI, as PC firmware leaves
  the boot processor (virtual wire mode), on top of the reset values.
- The CPU side (the machine's `intc` protocol): this APIC calls the
  set_intr(level) it was made with when "an interrupt can be delivered"
  changes, nmi() for an NMI, and answers acknowledge() with the vector (or
  None if the request went away).
- The APIC bus (ApicBus) carries the IOAPIC's messages to the local APICs
  and a level-triggered vector's EOI back to the IOAPICs.
- IPIs: one CPU, so only destinations that name this APIC (self, all,
  its ID, a logical match or broadcast) do anything; fixed and lowest
  priority IPIs request the vector here, NMI raises an NMI.  INIT and
  start-up IPIs to itself are ignored (the boot processor does not take
  part in the INIT-SIPI sequence); to other IDs there is nobody to receive.
"""
from .base import Device

DEFAULT_BASE = 0xFEE00000
APIC_VERSION = 0x00050014
MAX_LVT = 5

MSR_BSP, MSR_ENABLE = 1 << 8, 1 << 11
MSR_BASE_MASK = 0x0000000FFFFFF000          # MAXPHYADDR 36 (PAE)

REG_ID, REG_VERSION, REG_TPR, REG_APR, REG_PPR, REG_EOI, REG_RRD = 0x20, 0x30, 0x80, 0x90, 0xA0, 0xB0, 0xC0
REG_LDR, REG_DFR, REG_SVR = 0xD0, 0xE0, 0xF0
REG_ISR, REG_TMR, REG_IRR = 0x100, 0x180, 0x200
REG_ESR, REG_ICR_LO, REG_ICR_HI = 0x280, 0x300, 0x310
REG_LVT = 0x320                              # timer, thermal, perf, LINT0, LINT1, error: 0x320-0x370
REG_TIMER_INIT, REG_TIMER_CUR, REG_TIMER_DIV = 0x380, 0x390, 0x3E0

LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR = range(6)
LVT_NAMES = ("timer", "thermal", "perf", "lint0", "lint1", "error")
LVT_MASKED = 1 << 16
LVT_LEVEL = 1 << 15
LVT_REMOTE_IRR = 1 << 14
LVT_PERIODIC = 1 << 17
LVT_WRITABLE = (0x300FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF)

DM_FIXED, DM_LOWEST, DM_SMI, DM_NMI, DM_INIT, DM_STARTUP, DM_EXTINT = 0, 1, 2, 4, 5, 6, 7

SVR_ENABLE = 1 << 8
SVR_WRITABLE = 0x3FF

ESR_SEND_ILLEGAL_VECTOR, ESR_RECV_ILLEGAL_VECTOR, ESR_ILLEGAL_REGISTER = 1 << 5, 1 << 6, 1 << 7

ICR_WRITABLE = 0xCCFFF                       # vector, mode, dest mode, level, trigger, shorthand
SH_NONE, SH_SELF, SH_ALL, SH_OTHERS = 0, 1, 2, 3

BUS_HZ = 1_000_000_000
KNOWN_REGS = frozenset([REG_ID, REG_VERSION, REG_TPR, REG_APR, REG_PPR, REG_EOI, REG_RRD, REG_LDR,
                        REG_DFR, REG_SVR, REG_ESR, REG_ICR_LO, REG_ICR_HI, REG_TIMER_INIT,
                        REG_TIMER_CUR, REG_TIMER_DIV]
                       + [REG_ISR + 0x10 * k for k in range(8)] + [REG_TMR + 0x10 * k for k in range(8)]
                       + [REG_IRR + 0x10 * k for k in range(8)] + [REG_LVT + 0x10 * k for k in range(6)])


def _highest(bits):
    return bits.bit_length() - 1 if bits else -1


def timer_divisor(dcr):
    """The divide configuration register's divisor (SDM Figure 10-10)."""
    v = (dcr & 3) | ((dcr >> 1) & 4)
    return 1 << ((v + 1) & 7)


class ApicBus:
    """The APIC bus: interrupt messages from IOAPICs (and IPIs) to the local
    APICs, and the EOI of a level-triggered vector back to the IOAPICs
    (10.8.5).  Each APIC joins the bus it is made with."""

    def __init__(self):
        self.local_apics = []
        self.io_apics = []

    def deliver(self, vector, mode, level_triggered, dest, logical):
        for lapic in self.local_apics:
            lapic.deliver(vector, mode, level_triggered, dest, logical)

    def eoi(self, vector):
        for io in self.io_apics:
            io.eoi(vector)


class LocalApic(Device):
    name = "lapic"
    state_version = 1
    state_fields = ("apic_base", "apic_id", "tpr", "ldr", "dfr", "svr", "isr", "tmr", "irr", "esr",
                    "esr_pending", "icr_lo", "icr_hi", "lvt", "timer_initial", "timer_dcr", "timer_start",
                    "timer_deadline", "lint_levels", "extint_requested")

    def __init__(self, ctx, set_intr, nmi, extint=None, bus=None, apic_id=0, bsp=True):
        """set_intr(level) and nmi(): the CPU's INTR and NMI inputs; extint():
        the INTA cycle of an ExtINT interrupt, answered with a vector by the
        8259 pair; bus: the ApicBus to the IOAPICs (None: one of its own)."""
        self.initial_id = apic_id
        self.bsp = bsp
        self.clock = ctx.clock
        self.timers = ctx.timers
        self._set_intr = set_intr
        self._nmi = nmi
        self._extint = extint
        self.bus = ApicBus() if bus is None else bus
        self.bus.local_apics.append(self)
        self._timer = None
        self._intr = False
        self.apic_base = DEFAULT_BASE | MSR_ENABLE | (MSR_BSP if bsp else 0)
        self.lint_levels = [False, False]
        self.power_up()

    # --- reset ------------------------------------------------------------------------------
    def power_up(self):
        """The state after RESET (SDM 10.4.7.1)."""
        self._cancel_timer()
        self.apic_id = self.initial_id
        self.tpr = 0
        self.ldr = 0
        self.dfr = 0xFFFFFFFF
        self.svr = 0xFF
        self.isr = self.tmr = self.irr = 0
        self.esr = self.esr_pending = 0
        self.icr_lo = self.icr_hi = 0
        self.lvt = [LVT_MASKED] * 6
        self.timer_initial = 0
        self.timer_dcr = 0
        self.timer_start = 0
        self.timer_deadline = None
        self.extint_requested = False

    def virtual_wire(self):
        """What PC firmware leaves on the boot processor: LINT0 ExtINT, LINT1 NMI
        (and the CPU's INTR as that makes it)."""
        if self.bsp:
            self.lvt[LVT_LINT0] = DM_EXTINT << 8
            self.lvt[LVT_LINT1] = DM_NMI << 8
        self._update()

    def reset(self):
        self.apic_base = DEFAULT_BASE | MSR_ENABLE | (MSR_BSP if self.bsp else 0)
        self.power_up()
        self.virtual_wire()

    # --- enable state -----------------------------------------------------------------------
    @property
    def base(self):
        return self.apic_base & MSR_BASE_MASK

    @property
    def globally_enabled(self):
        return bool(self.apic_base & MSR_ENABLE)

    @property
    def software_enabled(self):
        return bool(self.svr & SVR_ENABLE)

    def passthrough(self):
        """The PIC's INTR reaches the CPU directly (APIC disabled either way)."""
        return not (self.globally_enabled and self.software_enabled)

    # --- IA32_APIC_BASE ---------------------------------------------------------------------
    def read_base_msr(self):
        return self.apic_base

    def write_base_msr(self, value):
        """Returns False for a value the SDM makes #GP (reserved bits, x2APIC)."""
        if value & ~(MSR_BASE_MASK | MSR_ENABLE | MSR_BSP):
            return False
        was = self.globally_enabled
        self.apic_base = (value & (MSR_BASE_MASK | MSR_ENABLE)) | (self.apic_base & MSR_BSP)
        if was and not self.globally_enabled:
            self.power_up()              # the APIC loses its programming (SDM 10.4.3)
        self._update()
        return True

    # --- priorities --------------------------------------------------------------------------
    def ppr(self):
        isrv = max(_highest(self.isr), 0)
        if (self.tpr >> 4) >= (isrv >> 4):
            return self.tpr
        return isrv & 0xF0

    def apr(self):
        irrv = max(_highest(self.irr), 0)
        isrv = max(_highest(self.isr), 0)
        if (self.tpr >> 4) >= (irrv >> 4) and (self.tpr >> 4) > (isrv >> 4):
            return self.tpr
        return max(self.tpr & 0xF0, isrv & 0xF0, irrv & 0xF0)

    def _deliverable_vector(self):
        v = _highest(self.irr)
        if v >= 0 and (v >> 4) > (self.ppr() >> 4):
            return v
        return None

    def _extint_wanted(self):
        lvt = self.lvt[LVT_LINT0]
        wire = not lvt & LVT_MASKED and (lvt >> 8) & 7 == DM_EXTINT and self.lint_levels[0]
        return self.extint_requested or wire

    def intr(self):
        """The CPU's INTR input as this APIC drives it."""
        if self.passthrough():
            return self.lint_levels[0]
        return self._deliverable_vector() is not None or self._extint_wanted()

    def _update(self):
        level = self.intr()
        if level != self._intr or level:
            self._set_intr(level)
        self._intr = level

    # --- the CPU side ------------------------------------------------------------------------
    def acknowledge(self):
        """INTA: the vector the CPU takes now, or None when nothing is left."""
        if self.passthrough():
            vector = self._extint() if self._extint is not None and self.lint_levels[0] else None
            self._update()
            return vector
        v = self._deliverable_vector()
        if v is not None:
            self.irr &= ~(1 << v)
            self.isr |= 1 << v
            self._update()
            return v
        if self._extint_wanted() and self._extint is not None:
            self.extint_requested = False
            vector = self._extint()
            self._update()
            return vector
        self._update()
        return None

    # --- interrupt sources -------------------------------------------------------------------
    def accept(self, vector, level_triggered=False):
        """A fixed interrupt for this APIC (IOAPIC message, LVT, IPI)."""
        if vector < 16:
            self._error(ESR_RECV_ILLEGAL_VECTOR)
            return
        bit = 1 << vector
        self.irr |= bit
        if level_triggered:
            self.tmr |= bit
        else:
            self.tmr &= ~bit
        self._update()

    def requested(self, vector):
        """Whether vector waits in the IRR (accepted, not yet taken by the CPU)."""
        return bool(self.irr >> vector & 1)

    def matches(self, dest, logical):
        """Whether a message for destination `dest` (8 bits) is for this APIC."""
        if not logical:
            return dest == 0xFF or dest == self.apic_id
        if dest == 0xFF:
            return True
        logical_id = self.ldr >> 24
        if self.dfr >> 28 == 0xF:
            return bool(logical_id & dest)
        return (logical_id >> 4) == (dest >> 4) and bool(logical_id & dest & 0x0F)

    def deliver(self, vector, mode, level_triggered, dest, logical):
        """An interrupt message on the APIC bus (from an IOAPIC or an IPI)."""
        if not self.globally_enabled or not self.matches(dest, logical):
            return
        self._deliver_local(vector, mode, level_triggered)

    def _deliver_local(self, vector, mode, level_triggered):
        if mode in (DM_FIXED, DM_LOWEST):
            self.accept(vector, level_triggered)
        elif mode == DM_NMI:
            self._nmi()
        elif mode == DM_EXTINT:
            self.extint_requested = True
            self._update()
        # SMI: no system management mode; INIT/start-up: see the module docstring

    def set_lint0(self, level):
        """The 8259's INTR output (wired to LINT0)."""
        self._set_lint(0, level)

    def set_lint1(self, level):
        self._set_lint(1, level)

    def _set_lint(self, n, level):
        level = bool(level)
        rising = level and not self.lint_levels[n]
        self.lint_levels[n] = level
        lvt = self.lvt[LVT_LINT0 + n]
        if not self.passthrough() and rising and not lvt & LVT_MASKED:
            mode = (lvt >> 8) & 7
            if mode == DM_FIXED:
                self.accept(lvt & 0xFF, False)
            elif mode == DM_NMI:
                self._nmi()
        elif self.passthrough() and n == 1 and rising:
            self._nmi()                  # LINT1 is the NMI pin without the APIC
        self._update()

    def _error(self, bit):
        self.esr_pending |= bit
        lvt = self.lvt[LVT_ERROR]
        if not lvt & LVT_MASKED and (lvt & 0xFF) >= 16:
            bitv = 1 << (lvt & 0xFF)
            self.irr |= bitv
            self.tmr &= ~bitv
        self._update()

    def eoi(self):
        v = _highest(self.isr)
        if v < 0:
            return
        self.isr &= ~(1 << v)
        if self.tmr & (1 << v):
            self.bus.eoi(v)
        self._update()

    # --- timer --------------------------------------------------------------------------------
    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick_ns(self):
        return timer_divisor(self.timer_dcr) * 1_000_000_000 // BUS_HZ

    def timer_current(self, now=None):
        if self.timer_initial == 0 or self.timer_deadline is None and not self._periodic():
            return 0
        now = self.clock.ns() if now is None else now
        elapsed = max(0, now - self.timer_start) // self._tick_ns()
        if self._periodic():
            return self.timer_initial - (elapsed % self.timer_initial)
        return max(0, self.timer_initial - elapsed)

    def _periodic(self):
        return bool(self.lvt[LVT_TIMER] & LVT_PERIODIC)

    def _start_timer(self, now, initial_remaining=None):
        """(Re)start counting down from the initial count (or from a remaining count)."""
        self._cancel_timer()
        if self.timer_initial == 0:
            self.timer_deadline = None
            return
        tick = self._tick_ns()
        done = 0 if initial_remaining is None else self.timer_initial - initial_remaining
        self.timer_start = now - done * tick
        self.timer_deadline = self.timer_start + self.timer_initial * tick
        self._schedule()

    def _schedule(self):
        self._cancel_timer()
        if self.timer_deadline is not None:
            self._timer = self.timers.schedule(self.timer_deadline, self._timer_fired)

    def _timer_fired(self):
        self._timer = None
        lvt = self.lvt[LVT_TIMER]
        if not lvt & LVT_MASKED:
            self.accept(lvt & 0xFF, False)
        if self._periodic():
            # the next period starts where this one ended, so late service does not drift
            self.timer_start = self.timer_deadline
            self.timer_deadline = self.timer_start + self.timer_initial * self._tick_ns()
            self._schedule()
        else:
            self.timer_deadline = None

    # --- registers ----------------------------------------------------------------------------
    def read_register(self, reg):
        if reg == REG_ID:
            return self.apic_id << 24
        if reg == REG_VERSION:
            return APIC_VERSION
        if reg == REG_TPR:
            return self.tpr
        if reg == REG_APR:
            return self.apr()
        if reg == REG_PPR:
            return self.ppr()
        if reg == REG_LDR:
            return self.ldr
        if reg == REG_DFR:
            return self.dfr | 0x0FFFFFFF
        if reg == REG_SVR:
            return self.svr
        if REG_ISR <= reg < REG_ISR + 0x80:
            return (self.isr >> (2 * (reg - REG_ISR))) & 0xFFFFFFFF
        if REG_TMR <= reg < REG_TMR + 0x80:
            return (self.tmr >> (2 * (reg - REG_TMR))) & 0xFFFFFFFF
        if REG_IRR <= reg < REG_IRR + 0x80:
            return (self.irr >> (2 * (reg - REG_IRR))) & 0xFFFFFFFF
        if reg == REG_ESR:
            return self.esr
        if reg == REG_ICR_LO:
            return self.icr_lo                # delivery status (bit 12) always idle
        if reg == REG_ICR_HI:
            return self.icr_hi
        if REG_LVT <= reg < REG_LVT + 0x60:
            return self.lvt[(reg - REG_LVT) >> 4]
        if reg == REG_TIMER_INIT:
            return self.timer_initial
        if reg == REG_TIMER_CUR:
            return self.timer_current()
        if reg == REG_TIMER_DIV:
            return self.timer_dcr
        if reg in (REG_EOI, REG_RRD):
            return 0
        self._error(ESR_ILLEGAL_REGISTER)
        return 0

    def write_register(self, reg, value):
        value &= 0xFFFFFFFF
        if reg == REG_ID:
            self.apic_id = value >> 24
        elif reg == REG_TPR:
            self.tpr = value & 0xFF
        elif reg == REG_EOI:
            self.eoi()
        elif reg == REG_LDR:
            self.ldr = value & 0xFF000000
        elif reg == REG_DFR:
            self.dfr = value | 0x0FFFFFFF
        elif reg == REG_SVR:
            self.svr = value & SVR_WRITABLE
            if not self.software_enabled:
                self.lvt = [v | LVT_MASKED for v in self.lvt]
        elif reg == REG_ESR:
            self.esr, self.esr_pending = self.esr_pending, 0
        elif reg == REG_ICR_LO:
            self.icr_lo = value & ICR_WRITABLE
            self._send_ipi()
        elif reg == REG_ICR_HI:
            self.icr_hi = value & 0xFF000000
        elif REG_LVT <= reg < REG_LVT + 0x60:
            self._write_lvt((reg - REG_LVT) >> 4, value)
        elif reg == REG_TIMER_INIT:
            self.timer_initial = value
            self._start_timer(self.clock.ns())
        elif reg == REG_TIMER_DIV:
            now = self.clock.ns()
            remaining = self.timer_current(now)
            self.timer_dcr = value & 0x0B
            if self.timer_deadline is not None and remaining:
                self._start_timer(now, remaining)
        elif reg not in KNOWN_REGS:
            self._error(ESR_ILLEGAL_REGISTER)
        # the rest (version, APR, PPR, ISR, TMR, IRR, current count) is read-only
        self._update()

    def _write_lvt(self, n, value):
        old = self.lvt[n]
        keep = LVT_REMOTE_IRR if n in (LVT_LINT0, LVT_LINT1) else 0
        new = (value & LVT_WRITABLE[n]) | (old & keep)
        if not self.software_enabled:
            new |= LVT_MASKED
        self.lvt[n] = new
        if n == LVT_TIMER and (old ^ new) & LVT_PERIODIC and self.timer_initial:
            now = self.clock.ns()
            if self._periodic() and self.timer_deadline is None:
                self._start_timer(now)        # an expired one-shot count starts over
            elif not self._periodic() and self.timer_deadline is not None:
                pass                          # the running period becomes the last one

    def _send_ipi(self):
        lo = self.icr_lo
        vector, mode = lo & 0xFF, (lo >> 8) & 7
        logical = bool(lo & (1 << 11))
        level_assert = bool(lo & (1 << 14))
        trigger_level = bool(lo & (1 << 15))
        shorthand = (lo >> 18) & 3
        if mode == DM_INIT and trigger_level and not level_assert:
            return                            # INIT level de-assert: a bus synchronisation
        if mode in (DM_FIXED, DM_LOWEST) and vector < 16:
            self._error(ESR_SEND_ILLEGAL_VECTOR)
            return
        if shorthand == SH_OTHERS:
            return
        if shorthand == SH_NONE and not self.matches(self.icr_hi >> 24, logical):
            return
        if mode in (DM_INIT, DM_STARTUP):
            return
        self._deliver_local(vector, mode, trigger_level)

    # --- MMIO ----------------------------------------------------------------------------------
    def mmio_read(self, offset, size):
        if not self.globally_enabled:
            return (1 << (8 * size)) - 1
        reg = offset & 0xFF0
        word = 0 if offset & 0xC else self.read_register(reg)
        shift = 8 * (offset & 3)
        return (word >> shift) & ((1 << (8 * size)) - 1)

    def mmio_write(self, offset, size, value):
        if not self.globally_enabled or offset & 0xC:
            return
        reg = offset & 0xFF0
        if size == 4 and not offset & 3:
            self.write_register(reg, value)
            return
        # narrower than a dword (the SDM requires dword accesses): merge into the register
        shift = 8 * (offset & 3)
        mask = ((1 << (8 * size)) - 1) << shift
        old = 0 if reg in (REG_EOI, REG_ICR_LO) else self.read_register(reg)
        self.write_register(reg, (old & ~mask) | ((value << shift) & mask))

    # --- state -----------------------------------------------------------------------------------
    def load_state(self, d):
        super().load_state(d)
        self.lvt = list(self.lvt)
        self.lint_levels = list(self.lint_levels)
        self._schedule()
        self._intr = None
        self._update()
