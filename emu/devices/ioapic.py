"""I/O APIC (82093AA-compatible) at 0xFEC00000: 24 interrupt pins.

Facts from the Intel 82093AA I/O APIC datasheet (290566):
- Two registers in the MMIO window: IOREGSEL at offset 0x00 selects an
  internal register, IOWIN at 0x10 reads or writes it (32 bits).
- Internal registers: 0x00 IOAPICID (bits 27:24), 0x01 IOAPICVER (0x00170011:
  version 0x11, maximum redirection entry 23), 0x02 IOAPICARB (arbitration
  ID, reads the APIC ID), 0x10 + 2n / 0x11 + 2n the low / high dword of
  redirection entry n.
- A redirection entry: vector (7:0), delivery mode (10:8: fixed, lowest
  priority, SMI, NMI, INIT, ExtINT), destination mode (11: 0 physical,
  1 logical), delivery status (12, read-only), polarity (13), remote IRR
  (14, read-only), trigger mode (15: 1 level), mask (16), destination
  (63:56).  Entries come out of reset masked.
- Edge-triggered pins deliver on each rising edge while unmasked.  A level
  pin delivers while asserted and remote IRR is clear, then sets remote IRR;
  the local APIC's EOI for that vector clears it, and a line still asserted
  then delivers again.

Pins carry the logical "asserted" level the board gives them: polarity is
kept for the OS to read back but the board already reports PCI INTx# (active
low on the wire) as asserted = 1, as the MP table describes them.
"""
from .base import Device

DEFAULT_BASE = 0xFEC00000
PINS = 24
VERSION = 0x11 | ((PINS - 1) << 16)

IOREGSEL, IOWIN = 0x00, 0x10
REG_ID, REG_VERSION, REG_ARB, REG_REDTBL = 0x00, 0x01, 0x02, 0x10

RTE_DELIVERY_STATUS = 1 << 12
RTE_REMOTE_IRR = 1 << 14
RTE_LEVEL = 1 << 15
RTE_MASKED = 1 << 16
RTE_WRITABLE = 0xFF000000_0001AFFF     # everything but delivery status and remote IRR


class IoApic(Device):
    name = "ioapic"
    state_version = 1
    state_fields = ("apic_id", "ioregsel", "redtbl", "levels")

    def __init__(self, bus, apic_id=1):
        """bus: the APIC bus (lapic.ApicBus) to the local APICs."""
        self.initial_id = apic_id
        self.bus = bus
        bus.io_apics.append(self)
        self.reset()

    def reset(self):
        self.apic_id = self.initial_id
        self.ioregsel = 0
        self.redtbl = [RTE_MASKED] * PINS
        self.levels = [False] * PINS

    # --- pins ----------------------------------------------------------------------------------
    def set_irq(self, pin, level):
        if not 0 <= pin < PINS:
            return
        level = bool(level)
        rising = level and not self.levels[pin]
        self.levels[pin] = level
        rte = self.redtbl[pin]
        if rte & RTE_LEVEL:
            if level:
                self._service(pin)
        elif rising:
            self._service(pin)

    def _service(self, pin):
        """Send pin's interrupt message if its entry lets it."""
        rte = self.redtbl[pin]
        if rte & RTE_MASKED:
            return
        level = bool(rte & RTE_LEVEL)
        if level:
            if rte & RTE_REMOTE_IRR or not self.levels[pin]:
                return
            self.redtbl[pin] = rte | RTE_REMOTE_IRR
        vector, mode = rte & 0xFF, (rte >> 8) & 7
        logical = bool(rte & (1 << 11))
        dest = (rte >> 56) & 0xFF
        self.bus.deliver(vector, mode, level, dest, logical)

    def fixed_vector(self, pin):
        """The vector pin's unmasked entry sends as a fixed or lowest-priority
        interrupt, else None (masked, or an NMI/SMI/INIT/ExtINT entry)."""
        rte = self.redtbl[pin]
        if rte & RTE_MASKED or (rte >> 8) & 7 not in (0, 1):
            return None
        return rte & 0xFF

    def eoi(self, vector):
        """A local APIC's EOI for a level-triggered vector (the EOI broadcast)."""
        for pin in range(PINS):
            rte = self.redtbl[pin]
            if rte & RTE_REMOTE_IRR and rte & 0xFF == vector:
                self.redtbl[pin] = rte & ~RTE_REMOTE_IRR
                self._service(pin)

    # --- registers ---------------------------------------------------------------------------
    def read_register(self, reg):
        if reg == REG_ID:
            return (self.apic_id & 0x0F) << 24
        if reg == REG_VERSION:
            return VERSION
        if reg == REG_ARB:
            return (self.apic_id & 0x0F) << 24
        if REG_REDTBL <= reg < REG_REDTBL + 2 * PINS:
            rte = self.redtbl[(reg - REG_REDTBL) >> 1]
            return (rte >> 32) if reg & 1 else rte & 0xFFFFFFFF
        return 0

    def write_register(self, reg, value):
        value &= 0xFFFFFFFF
        if reg == REG_ID:
            self.apic_id = (value >> 24) & 0x0F
        elif REG_REDTBL <= reg < REG_REDTBL + 2 * PINS:
            pin = (reg - REG_REDTBL) >> 1
            old = self.redtbl[pin]
            if reg & 1:
                new = (old & 0xFFFFFFFF) | (value << 32)
            else:
                new = (old & ~0xFFFFFFFF) | value
            new = (new & RTE_WRITABLE) | (old & RTE_REMOTE_IRR)
            if not new & RTE_LEVEL:
                new &= ~RTE_REMOTE_IRR        # remote IRR means nothing for an edge entry
            self.redtbl[pin] = new
            if new & RTE_LEVEL and self.levels[pin]:
                self._service(pin)            # unmasking a held level line delivers it

    # --- MMIO ------------------------------------------------------------------------------------
    def mmio_read(self, offset, size):
        off = offset & 0xFF
        if off < 4:
            v = self.ioregsel
            return (v >> (8 * off)) & ((1 << (8 * size)) - 1)
        if IOWIN <= off < IOWIN + 4:
            v = self.read_register(self.ioregsel)
            return (v >> (8 * (off - IOWIN))) & ((1 << (8 * size)) - 1)
        return 0

    def mmio_write(self, offset, size, value):
        off = offset & 0xFF
        if off == IOREGSEL:
            self.ioregsel = value & 0xFF
        elif off == IOWIN and size == 4:
            self.write_register(self.ioregsel, value)
        elif IOWIN <= off < IOWIN + 4:
            shift = 8 * (off - IOWIN)
            mask = ((1 << (8 * size)) - 1) << shift
            old = self.read_register(self.ioregsel)
            self.write_register(self.ioregsel, (old & ~mask) | ((value << shift) & mask))

    def load_state(self, d):
        super().load_state(d)
        self.redtbl = list(self.redtbl)
        self.levels = list(self.levels)
