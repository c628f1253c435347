"""IOAPIC through IOREGSEL/IOWIN (82093AA datasheet facts), delivering to a
real local APIC."""
import pytest

from emu.devices.ioapic import IoApic
from emu.devices.lapic import ApicBus, LocalApic



@pytest.fixture
def pair(machine):
    bus = ApicBus()
    # ExtINT: an 8259 pair that answers the INTA cycle with vector 0x28
    lapic = LocalApic(machine.ctx, machine.set_intr, machine.nmi, extint=lambda: 0x28, bus=bus)
    lapic.reset()
    lapic.mmio_write(0xF0, 4, 0x1FF)              # software enable
    io = IoApic(bus, apic_id=1)
    return io, lapic


def rd(io, reg):
    io.mmio_write(0x00, 4, reg)
    return io.mmio_read(0x10, 4)


def wr(io, reg, v):
    io.mmio_write(0x00, 4, reg)
    io.mmio_write(0x10, 4, v)


def route(io, pin, vector, level=False, masked=False, dest=0, logical=False, mode=0):
    lo = vector | (mode << 8) | (int(logical) << 11) | (int(level) << 15) | (int(masked) << 16)
    wr(io, 0x11 + 2 * pin, dest << 24)
    wr(io, 0x10 + 2 * pin, lo)


def irr(lapic, v):
    return bool(lapic.irr >> v & 1)


def test_id_version_and_reset_state(pair):
    io, _ = pair
    assert rd(io, 0x00) == 1 << 24
    assert rd(io, 0x01) == 0x00170011            # version 0x11, 24 entries
    assert rd(io, 0x02) == 1 << 24
    for pin in range(24):
        assert rd(io, 0x10 + 2 * pin) & 0x10000  # masked out of reset
    wr(io, 0x00, 0x0F000000)
    assert rd(io, 0x00) == 0x0F000000
    io.mmio_write(0x00, 4, 0x13)
    assert io.mmio_read(0x00, 4) == 0x13         # IOREGSEL reads back


def test_read_only_bits(pair):
    io, _ = pair
    wr(io, 0x10, 0xFFFFFFFF)
    assert rd(io, 0x10) == 0x0001AFFF            # delivery status and remote IRR are read-only
    wr(io, 0x11, 0xFFFFFFFF)
    assert rd(io, 0x11) == 0xFF000000


def test_edge_delivery(machine, pair):
    io, lapic = pair
    route(io, 4, 0x34)
    io.set_irq(4, True)
    assert irr(lapic, 0x34) and machine.intr
    assert lapic.acknowledge() == 0x34
    lapic.mmio_write(0xB0, 4, 0)
    io.set_irq(4, True)                          # no new edge
    assert not irr(lapic, 0x34)
    io.set_irq(4, False)
    io.set_irq(4, True)
    assert irr(lapic, 0x34)


def test_masked_pin_delivers_nothing(pair):
    io, lapic = pair
    route(io, 5, 0x35, masked=True)
    io.set_irq(5, True)
    io.set_irq(5, False)
    assert not irr(lapic, 0x35)
    route(io, 5, 0x35)                           # an edge while masked is gone
    assert not irr(lapic, 0x35)


def test_level_remote_irr_and_eoi(pair):
    io, lapic = pair
    route(io, 17, 0x51, level=True)
    io.set_irq(17, True)
    assert irr(lapic, 0x51)
    assert rd(io, 0x10 + 34) & (1 << 14)         # remote IRR
    assert lapic.acknowledge() == 0x51
    io.set_irq(17, True)
    assert not irr(lapic, 0x51)                  # held until the EOI
    lapic.mmio_write(0xB0, 4, 0)                 # EOI of a level vector -> broadcast
    assert irr(lapic, 0x51)                      # still asserted: delivered again
    assert lapic.acknowledge() == 0x51
    io.set_irq(17, False)
    lapic.mmio_write(0xB0, 4, 0)
    assert not rd(io, 0x10 + 34) & (1 << 14) and not irr(lapic, 0x51)


def test_unmasking_a_held_level_line_delivers(pair):
    io, lapic = pair
    route(io, 9, 0x59, level=True, masked=True)
    io.set_irq(9, True)
    assert not irr(lapic, 0x59)
    route(io, 9, 0x59, level=True)
    assert irr(lapic, 0x59)


def test_destination_matching(pair):
    io, lapic = pair
    lapic.mmio_write(0xD0, 4, 0x01000000)        # logical ID 1, flat
    route(io, 3, 0x43, logical=True, dest=0x01)
    io.set_irq(3, True)
    assert irr(lapic, 0x43)
    route(io, 6, 0x46, logical=True, dest=0x02)
    io.set_irq(6, True)
    assert not irr(lapic, 0x46)
    route(io, 7, 0x47, dest=0x05)                # physical ID 5: nobody
    io.set_irq(7, True)
    assert not irr(lapic, 0x47)
    route(io, 8, 0x48, dest=0xFF)                # physical broadcast
    io.set_irq(8, True)
    assert irr(lapic, 0x48)


def test_nmi_and_extint_delivery_modes(machine, pair):
    io, lapic = pair
    route(io, 10, 0, mode=4)                     # NMI
    io.set_irq(10, True)
    assert machine.nmis == 1
    route(io, 11, 0, mode=7)                     # ExtINT: the PIC supplies the vector
    io.set_irq(11, True)
    assert machine.intr and lapic.acknowledge() == 0x28


def test_byte_access_to_the_window(pair):
    io, _ = pair
    io.mmio_write(0x00, 1, 0x01)
    assert io.mmio_read(0x12, 1) == 0x17
