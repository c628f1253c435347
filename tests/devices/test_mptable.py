"""The MP Specification 1.4 table (emu/boot/mptable.py): found where Linux
scans, checksums right, and describing the board's CPU, buses, IOAPIC and
interrupt wiring."""
import struct

from emu.board import IOAPIC_BASE, isa_irq_to_ioapic_pin
from emu.boot.mptable import MP_TABLE_BASE, build_mp_table, write_mp_table
from emu.config import MachineConfig
from emu.devices.pci import PciFunction

from .conftest import BoardMachine


def scan(mem, start, length):
    """Linux's smp_scan_config: '_MP_' on a 16-byte boundary, length 1, checksum 0."""
    for off in range(0, length, 16):
        p = mem[start + off:start + off + 16]
        if p[:4] == b"_MP_" and p[8] == 1 and sum(p) & 0xFF == 0 and p[9] in (1, 4):
            return start + off
    return None


def parse(mem, table):
    hdr = mem[table:table + 44]
    sig, length, rev, _, oem, product, _, _, count, lapic, ext_len, _, _ = struct.unpack(
        "<4sHBB8s12sIHHIHBB", hdr)
    assert sig == b"PCMP" and rev == 4 and ext_len == 0
    assert sum(mem[table:table + length]) & 0xFF == 0
    entries, off = [], table + 44
    for _ in range(count):
        kind = mem[off]
        size = 20 if kind == 0 else 8
        entries.append(bytes(mem[off:off + size]))
        off += size
    assert off == table + length
    return lapic, entries


def test_table_is_found_and_valid():
    m = BoardMachine(MachineConfig(ram_mb=32, serial=["null"]))
    written = write_mp_table(m.phys, m.board)
    assert written.start == MP_TABLE_BASE and written.end <= 0x9FF00
    mem = m.phys.read(0, 0xA0000)
    fp = scan(mem, 639 * 1024, 1024)
    assert fp == MP_TABLE_BASE
    table, feature1, feature2 = struct.unpack_from("<I", mem, fp + 4)[0], mem[fp + 11], mem[fp + 12]
    assert feature1 == 0 and not feature2 & 0x80          # a table, virtual wire mode (no IMCR)
    lapic_addr, entries = parse(mem, table)
    assert lapic_addr == 0xFEE00000
    kinds = [e[0] for e in entries]
    assert kinds == sorted(kinds)                         # entries in type order

    cpu = [e for e in entries if e[0] == 0]
    assert len(cpu) == 1
    _, apic_id, version, flags, sig, features = struct.unpack_from("<BBBBII", cpu[0])
    assert (apic_id, version, flags) == (0, 0x14, 3)      # enabled, boot processor
    assert features & (1 << 9)                            # the APIC flag
    buses = {e[1]: e[2:8] for e in entries if e[0] == 1}
    assert buses == {0: b"PCI   ", 1: b"ISA   "}
    ioapics = [struct.unpack_from("<BBBBI", e) for e in entries if e[0] == 2]
    assert ioapics == [(2, 1, 0x11, 1, IOAPIC_BASE)]

    isa = {}
    for e in entries:
        if e[0] == 3 and e[4] == 1:
            _, itype, flags, bus, irq, dst, pin = struct.unpack("<BBHBBBB", e)
            assert itype == 0 and dst == 1 and flags == 0
            isa[irq] = pin
    assert isa[0] == 2                                    # the interrupt source override
    assert 2 not in isa and len(isa) == 15
    assert all(isa[i] == isa_irq_to_ioapic_pin(i) for i in isa)
    local = [struct.unpack("<BBHBBBB", e) for e in entries if e[0] == 4]
    assert [(l[1], l[5], l[6]) for l in local] == [(3, 0xFF, 0), (1, 0xFF, 1)]   # ExtINT LINT0, NMI LINT1


def test_pci_interrupt_entries():
    class Nic(PciFunction):
        def setup(self):
            self.config[0x3D] = 2             # INTB#

    m = BoardMachine(MachineConfig(ram_mb=32, serial=["null"]))
    m.board.pci.add(3, 0, Nic(0x8086, 0x100E, 0x020000))
    data = build_mp_table(m.board)
    mem = bytearray(MP_TABLE_BASE) + bytearray(data)
    _, entries = parse(mem, MP_TABLE_BASE + 16)
    pci = [struct.unpack("<BBHBBBB", e) for e in entries if e[0] == 3 and e[4] == 0]
    assert pci == [(3, 0, 0x0F, 0, (3 << 2) | 1, 1, 16 + ((1 + 3 - 1) & 3))]


def test_no_table_without_apic():
    m = BoardMachine(MachineConfig(ram_mb=32, serial=["null"], apic=False))
    assert write_mp_table(m.phys, m.board) is None
    assert scan(m.phys.read(0, 0xA0000), 639 * 1024, 1024) is None
