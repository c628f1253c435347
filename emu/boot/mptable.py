"""The Intel MultiProcessor Specification 1.4 table for the board: one CPU, the
PCI and ISA buses, the IOAPIC and every interrupt assignment, so an OS finds
the APICs as it does on any PC since the Pentium.

    from emu.boot.mptable import write_mp_table
    written = write_mp_table(machine.phys, machine.board)   # None without an APIC
    written.start, written.end     # reserve [start, end) in the e820 map

Where: the floating pointer structure must be in the first KB of RAM, the
last KB of base memory or the BIOS area 0xF0000-0xFFFFF (spec 4.1; Linux
scans exactly those, plus the EBDA).  pyemu puts the floating pointer and
the configuration table in the last KB below 640 KB, at MP_TABLE_BASE =
0x9FC00, and keeps them below 0x9FF00 (where the multiboot loader puts its
GDT).  The loader must report 0x9FC00-0x9FFFF as reserved, not RAM, in the
e820 map (as PC BIOSes do for their EBDA).

Layout (spec chapter 4): the 16-byte floating pointer ("_MP_", the table's
address, length 1, revision 4, checksum, feature byte 1 = 0: a table is
present, feature byte 2 bit 7 = 0: no IMCR, virtual wire mode), then the
table header ("PCMP", 44 bytes) and its entries in type order: processor
(20 bytes), buses, IOAPIC, I/O interrupt assignments, local interrupt
assignments (8 bytes each).  Both structures checksum to zero.

Interrupt assignments:
- ISA IRQ n -> IOAPIC INTIN n for every IRQ but 2 (the 8259 cascade), with
  ISA IRQ 0 on INTIN 2: the PIT's usual interrupt source override.  Flags
  "conforms to the bus" (ISA: edge, active high).
- PCI: every function with an interrupt pin, source IRQ (device << 2) |
  (pin - 1), to INTIN 16 + its PIRQ (board wiring), level, active low.
- LINTIN0 of every local APIC is ExtINT (the 8259s), LINTIN1 is NMI.
"""
import struct
from dataclasses import dataclass

from ..board import IOAPIC_BASE, isa_irq_to_ioapic_pin
from ..cpu import model
from ..devices.lapic import APIC_VERSION
from ..devices.ioapic import VERSION as IOAPIC_VERSION
from ..devices.piix import pirq_of

MP_TABLE_BASE = 0x9FC00
MP_TABLE_LIMIT = 0x9FF00           # the multiboot GDT lives at 0x9FF00

ENTRY_PROCESSOR, ENTRY_BUS, ENTRY_IOAPIC, ENTRY_IO_INTERRUPT, ENTRY_LOCAL_INTERRUPT = range(5)
INT_INT, INT_NMI, INT_SMI, INT_EXTINT = range(4)
CPU_ENABLED, CPU_BSP = 1, 2
FLAGS_CONFORM = 0x0
FLAGS_PCI = 0x3 | (0x3 << 2)       # active low, level triggered
PCI_BUS_ID, ISA_BUS_ID = 0, 1
OEM_ID = b"PYEMU   "
PRODUCT_ID = b"PC i440FX   "


@dataclass
class MpTable:
    floating: int          # address of the floating pointer structure
    table: int             # address of the configuration table
    end: int               # first byte after it
    data: bytes            # what was written at floating

    @property
    def start(self):
        return self.floating


def _checksum(data):
    return (-sum(data)) & 0xFF


def table_entries(board):
    """The configuration table's entries, in the spec's order."""
    lapic, ioapic = board.lapic, board.ioapic
    signature = (model.FAMILY << 8) | (model.MODEL << 4) | model.STEPPING
    features = model.cpuid(1, apic=True)[3]
    out = [struct.pack("<BBBBII8x", ENTRY_PROCESSOR, lapic.apic_id, APIC_VERSION & 0xFF,
                       CPU_ENABLED | CPU_BSP, signature, features)]
    out.append(struct.pack("<BB6s", ENTRY_BUS, PCI_BUS_ID, b"PCI   "))
    out.append(struct.pack("<BB6s", ENTRY_BUS, ISA_BUS_ID, b"ISA   "))
    out.append(struct.pack("<BBBBI", ENTRY_IOAPIC, ioapic.apic_id, IOAPIC_VERSION & 0xFF, 1,
                           IOAPIC_BASE))
    for irq in range(16):
        pin = isa_irq_to_ioapic_pin(irq)
        if pin is None:
            continue
        out.append(struct.pack("<BBHBBBB", ENTRY_IO_INTERRUPT, INT_INT, FLAGS_CONFORM, ISA_BUS_ID, irq,
                               ioapic.apic_id, pin))
    for devfn, fn in sorted(board.pci.functions.items()):
        if fn.interrupt_pin:
            slot, intx = devfn >> 3, fn.interrupt_pin - 1
            out.append(struct.pack("<BBHBBBB", ENTRY_IO_INTERRUPT, INT_INT, FLAGS_PCI, PCI_BUS_ID,
                                   (slot << 2) | intx, ioapic.apic_id, 16 + pirq_of(slot, intx)))
    out.append(struct.pack("<BBHBBBB", ENTRY_LOCAL_INTERRUPT, INT_EXTINT, FLAGS_CONFORM, ISA_BUS_ID, 0, 0xFF, 0))
    out.append(struct.pack("<BBHBBBB", ENTRY_LOCAL_INTERRUPT, INT_NMI, FLAGS_CONFORM, ISA_BUS_ID, 0, 0xFF, 1))
    return out


def build_mp_table(board, base=MP_TABLE_BASE):
    """The floating pointer at `base` followed by the configuration table, as bytes."""
    if board.lapic is None or board.ioapic is None:
        raise ValueError("the board has no APIC: there is no MP table to build")
    entries = table_entries(board)
    body = b"".join(entries)
    table_addr = base + 16
    length = 44 + len(body)
    header = bytearray(struct.pack("<4sHBB8s12sIHHIHBB", b"PCMP", length, 4, 0, OEM_ID, PRODUCT_ID, 0, 0,
                                   len(entries), board.lapic.base, 0, 0, 0))
    table = header + body
    table[7] = _checksum(table)
    floating = bytearray(struct.pack("<4sIBBBBB3x", b"_MP_", table_addr, 1, 4, 0, 0, 0))
    floating[10] = _checksum(floating)
    return bytes(floating + table)


def write_mp_table(phys, board, base=MP_TABLE_BASE, limit=MP_TABLE_LIMIT):
    """Write the MP table into guest memory at `base`; returns an MpTable
    (its [start, end) range must be reserved in the e820 map), or None when
    the board has no APIC (-machine apic=off: the OS then uses the 8259s)."""
    if board.lapic is None:
        return None
    data = build_mp_table(board, base)
    if base + len(data) > limit:
        raise ValueError("the MP table (%d bytes) does not fit below %#x" % (len(data), limit))
    if not phys.is_ram(base, len(data)):
        raise ValueError("the MP table at %#x is not in RAM" % base)
    phys.write(base, data)
    return MpTable(floating=base, table=base + 16, end=base + len(data), data=data)
