"""PIIX3 (82371SB): the PCI-to-ISA bridge (function 0, 8086:7000) with its
PIRQ routing and reset control register, and the IDE controller (function 1,
8086:7010): the PCI side and its bus-master registers (ide_busmaster.py); the
two IDE channels themselves are ata.py, wired by the board.

Facts from the 82371FB/SB datasheet (Intel 290550):
- PIRQRC[A:D] (function 0, 0x60-0x63): bit 7 = 1 disables routing, bits 3:0
  name the ISA IRQ (3-7, 9-12, 14, 15) a PCI interrupt line is steered to.
  Routed PCI interrupts are level, active low and shareable: the OS must mark
  those IRQs level-triggered in the ELCR (0x4D0/0x4D1, in pic.py), otherwise
  the 8259 sees one edge for as long as the line stays asserted.
- The reset control register (I/O 0xCF9): a 0 -> 1 transition of bit 2
  (RCPU) resets the CPU; bit 1 (SRST) makes it a hard reset of the system.
- The IDE function in compatibility mode decodes the legacy ports
  (0x1F0/0x3F6, IRQ 14; 0x170/0x376, IRQ 15) and has no BAR0-3; BAR4 (BMIBA,
  0x20) holds the 16 bus-master I/O registers; IDETIM (0x40, 0x42) bit 15
  enables decoding of each channel.
"""
from .base import Device
from .i440fx import VENDOR_INTEL
from .ide_busmaster import IdeBusMaster
from .pci import COMMAND, STATUS, CMD_IO, CMD_MASTER, HEADER_MULTIFUNCTION, PciFunction

DEVICE_PIIX3_ISA = 0x7000
DEVICE_PIIX3_IDE = 0x7010
CLASS_ISA_BRIDGE = 0x060100
CLASS_IDE_LEGACY = 0x010180      # mass storage, IDE, prog-if 0x80: bus master, both channels legacy

PIRQRC = 0x60                    # PIRQRC[A:D] at 0x60-0x63
PIRQ_DISABLE = 0x80
VALID_PIRQ_IRQS = frozenset((3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15))
IORT, XBCS, TOM, MSTAT = 0x4C, 0x4E, 0x69, 0x6A
MBIRQ0, MBDMA0 = 0x70, 0x76
APICBASE, DLC, SMICNTL, SMIEN, SEE, FTMR, SMIREQ = 0x80, 0x82, 0xA0, 0xA2, 0xA4, 0xA8, 0xAA
RESET_CONTROL_PORT = 0xCF9

BMIBA = 0x20                     # BAR4
IDETIM_PRI, IDETIM_SEC, SIDETIM = 0x40, 0x42, 0x44


def pirq_of(slot, intx):
    """The PIRQ (0 = A .. 3 = D) a PCI device's INTx# is wired to on this board
    (intx 0 = INTA#): the usual rotation by slot, slot 1 INTA# on PIRQA."""
    return (intx + slot - 1) & 3


class Piix3Isa(PciFunction):
    """Function 0: the ISA bridge.  isa_irq(irq, level, source) is the board's
    ISA interrupt line input (PIRQs routed there are one of its sources)."""

    name = "piix3-isa"

    def __init__(self, isa_irq=None, apic_irq=None):
        self.isa_irq = isa_irq          # (irq, level, source) -> None
        self.apic_irq = apic_irq        # (pirq, level) -> None: PIRQA-D to the IOAPIC
        self.pirq_sources = [set(), set(), set(), set()]   # (devfn, intx) asserting each PIRQ
        self._routed = {}               # ISA irq -> level this bridge drives on it
        super().__init__(VENDOR_INTEL, DEVICE_PIIX3_ISA, CLASS_ISA_BRIDGE, header_type=HEADER_MULTIFUNCTION)

    def setup(self):
        self.put16(COMMAND, 0x0007)
        self.put16(STATUS, 0x0200)       # medium DEVSEL
        self.set_writable(COMMAND, 2, 0x0008)   # special cycle enable; the rest is fixed on
        self.put8(IORT, 0x4D)
        self.set_writable(IORT, 1, 0xFF)
        self.put16(XBCS, 0x0003)
        self.set_writable(XBCS, 2, 0x07FF)
        for k in range(4):
            self.put8(PIRQRC + k, PIRQ_DISABLE)
            self.set_writable(PIRQRC + k, 1, 0x8F)
        self.put8(TOM, 0x02)
        self.set_writable(TOM, 1, 0xFF)
        self.set_writable(MSTAT, 2, 0xFFFF)
        self.put8(MBIRQ0, 0x80)
        self.set_writable(MBIRQ0, 1, 0xCF)
        self.put8(MBIRQ0 + 1, 0x80)
        self.set_writable(MBIRQ0 + 1, 1, 0xCF)
        self.put8(MBDMA0, 0x0C)
        self.put8(MBDMA0 + 1, 0x0C)
        self.set_writable(MBDMA0, 2, 0x8F8F)
        self.put16(0x78, 0x0002)         # PCSC: programmable chip select
        self.set_writable(0x78, 2, 0xFFFF)
        self.set_writable(APICBASE, 1, 0x3F)
        self.set_writable(DLC, 1, 0x0F)
        self.put8(SMICNTL, 0x08)
        self.set_writable(SMICNTL, 1, 0x1F)
        self.set_writable(SMIEN, 2, 0x01FF)
        self.set_writable(SEE, 4, 0xFFFFFFFF)
        self.put8(FTMR, 0x0F)
        self.set_writable(FTMR, 1, 0xFF)
        self.set_writable(SMIREQ, 2, 0x01FF)

    # --- PCI interrupt routing -------------------------------------------------------------
    def pirq_route(self, pirq):
        """The ISA IRQ PIRQ n is steered to, or None when routing is disabled or invalid."""
        v = self.config[PIRQRC + pirq]
        irq = v & 0x0F
        if v & PIRQ_DISABLE or irq not in VALID_PIRQ_IRQS:
            return None
        return irq

    def pirq_level(self, pirq):
        return bool(self.pirq_sources[pirq])

    def set_pci_irq(self, slot, function, intx, level):
        """A PCI function drives its INTx# (intx 0 = INTA#) asserted (level 1) or not."""
        pirq = pirq_of(slot, intx)
        src = ((slot << 3) | function, intx)
        before = self.pirq_level(pirq)
        if level:
            self.pirq_sources[pirq].add(src)
        else:
            self.pirq_sources[pirq].discard(src)
        after = self.pirq_level(pirq)
        if after != before:
            if self.apic_irq is not None:
                self.apic_irq(pirq, after)
            self._update_routing()

    def _update_routing(self):
        levels = {}
        for pirq in range(4):
            irq = self.pirq_route(pirq)
            if irq is not None:
                levels[irq] = levels.get(irq, False) or self.pirq_level(pirq)
        for irq in set(levels) | set(self._routed):
            lv = levels.get(irq, False)
            if self._routed.get(irq, False) != lv and self.isa_irq is not None:
                self.isa_irq(irq, lv, "pirq")
            if lv:
                self._routed[irq] = True
            else:
                self._routed.pop(irq, None)

    def config_written(self, off, size):
        if off < PIRQRC + 4 and off + size > PIRQRC:
            self._update_routing()

    def save_state(self):
        d = super().save_state()
        d["pirq_sources"] = [sorted(s) for s in self.pirq_sources]
        return d

    def load_state(self, d):
        self.pirq_sources = [set(tuple(x) for x in s) for s in d.get("pirq_sources", [[], [], [], []])]
        super().load_state(d)


class ResetControl(Device):
    """The PIIX3 reset control register at I/O 0xCF9 (reached through the PCI
    bus device, which owns 0xCF8-0xCFF and passes byte accesses on)."""

    name = "piix3-rc"
    state_fields = ("value",)

    def __init__(self, reset):
        self.reset_system = reset
        self.value = 0

    def io_read(self, port, size):
        if port == RESET_CONTROL_PORT and size == 1:
            return self.value
        return (1 << (8 * size)) - 1

    def io_write(self, port, size, value):
        if port != RESET_CONTROL_PORT or size != 1:
            return
        old, self.value = self.value, value & 0x02   # RCPU reads back 0: it only acts on its edge
        if value & 0x04 and not old & 0x04:
            self.reset_system()

    def reset(self):
        self.value = 0


class Piix3Ide(PciFunction):
    """Function 1: IDE in compatibility mode.  The legacy ATA ports belong to the
    channels (ata.py); here the PCI side and the bus master at BAR4, which
    reaches memory through `memory` (the physical memory object) only while
    the command register allows bus mastering, and whose registers BAR4 maps
    on `io` (the I/O bus)."""

    name = "piix3-ide"

    def __init__(self, memory=None, io=None):
        self.bm = IdeBusMaster(memory, may_master=lambda: bool(self.command & CMD_MASTER))
        self.io = io
        self._mapped = None
        super().__init__(VENDOR_INTEL, DEVICE_PIIX3_IDE, CLASS_IDE_LEGACY)

    def setup(self):
        self.put16(STATUS, 0x0280)
        self.set_writable(COMMAND, 2, 0x0005)   # I/O space and bus master only
        self.add_bar(4, 16, io=True)
        self.set_writable(IDETIM_PRI, 2, 0xF377)
        self.set_writable(IDETIM_SEC, 2, 0xF377)
        self.set_writable(SIDETIM, 1, 0xFF)
        if hasattr(self, "bm"):
            self.bm.reset()

    def config_written(self, off, size):
        if self.io is None or not hasattr(self, "_mapped"):
            return
        base = self.bar_address(4) if 4 in self.bars else 0
        want = base if (self.command & CMD_IO and base) else None
        if want == self._mapped:
            return
        if self._mapped is not None:
            self.io.unmap_range(self.bm, self._mapped, 16)
        if want is not None:
            self.io.map_range(self.bm, want, 16)
        self._mapped = want

    def save_state(self):
        d = super().save_state()
        d["bm"] = self.bm.save_state()
        return d

    def load_state(self, d):
        if "bm" in d:
            self.bm.load_state(d["bm"])
        super().load_state(d)
