"""The PC board: IRQ routing to the PIC and the IOAPIC, PCI INTx through the
PIIX3 PIRQ registers, the CPU-side interrupt controller, apic=off, the
firmware's CMOS bytes, and reset."""
import pytest

from emu.config import MachineConfig
from emu.devices.pci import PciFunction

from .conftest import BoardMachine


def init_pic(m, base=0x20):
    """ICW1-4 on both 8259s, all lines unmasked."""
    for port, vec, icw3 in ((0x20, base, 0x04), (0xA0, base + 8, 0x02)):
        m.io.write(port, 1, 0x11)
        m.io.write(port + 1, 1, vec)
        m.io.write(port + 1, 1, icw3)
        m.io.write(port + 1, 1, 0x01)
        m.io.write(port + 1, 1, 0x00)


def ioapic_route(m, pin, vector, level=False):
    io = m.board.ioapic
    io.write_register(0x11 + 2 * pin, 0)
    io.write_register(0x10 + 2 * pin, vector | (int(level) << 15))


class NicLike(PciFunction):
    def setup(self):
        self.config[0x3D] = 1                 # INTA#


@pytest.fixture
def pc128():
    return BoardMachine(MachineConfig(ram_mb=128, serial=["null"]))


def test_cmos_memory_bytes_and_checksum(pc128):
    rtc = pc128.board.rtc
    b = rtc.cmos_read
    assert b(0x15) | b(0x16) << 8 == 640
    assert b(0x17) | b(0x18) << 8 == 0xFFFF           # capped at 64 MB
    assert b(0x30) | b(0x31) << 8 == 0xFFFF
    assert b(0x34) | b(0x35) << 8 == (128 - 16) * 16  # 64 KB units above 16 MB
    assert (b(0x5B), b(0x5C), b(0x5D)) == (0, 0, 0)
    assert b(0x14) == 0x06
    assert (b(0x2E) << 8 | b(0x2F)) == sum(b(k) for k in range(0x10, 0x2E))


def test_cmos_small_memory():
    m = BoardMachine(MachineConfig(ram_mb=8, serial=["null"]))
    b = m.board.rtc.cmos_read
    assert b(0x17) | b(0x18) << 8 == 7 * 1024
    assert b(0x34) | b(0x35) << 8 == 0


def test_isa_irq_reaches_pic_and_ioapic(pc):
    init_pic(pc)
    ioapic_route(pc, 2, 0x60)                 # the PIT's pin
    pc.board.lapic.mmio_write(0xF0, 4, 0x1FF)
    pc.board.lapic.mmio_write(0x350, 4, 0x10700)   # LINT0 masked: only the IOAPIC path
    pc.board.set_irq(0, True)
    assert pc.board.pic.master.irr & 1
    assert pc.board.lapic.irr >> 0x60 & 1
    assert pc.intc.acknowledge() == 0x60


def test_pic_interrupt_through_lint0_before_the_apic_is_enabled(pc):
    init_pic(pc, base=0x20)
    assert pc.intc is pc.board.lapic and pc.board.lapic.passthrough()
    pc.board.set_irq(4, True)
    assert pc.intr
    assert pc.intc.acknowledge() == 0x24


def test_pic_interrupt_as_extint_in_virtual_wire_mode(pc):
    init_pic(pc, base=0x30)
    pc.board.lapic.mmio_write(0xF0, 4, 0x1FF)  # software enabled; LINT0 = ExtINT (firmware)
    pc.board.set_irq(1, True)
    assert pc.intr and pc.intc.acknowledge() == 0x31


def test_uart_irq_goes_through_the_board(pc):
    init_pic(pc)
    pc.io.write(0x3FC, 1, 0x08)               # OUT2
    pc.io.write(0x3F9, 1, 0x02)               # THRE interrupt
    assert pc.board.line_level(4)
    assert pc.intr and pc.intc.acknowledge() == 0x24


def test_pci_intx_through_pirq_routing(pc):
    board = pc.board
    nic = board.pci.add(2, 0, NicLike(0x10EC, 0x8139, 0x020000))
    board.firmware_setup()
    assert nic.config[0x3C] == 10             # slot 2 INTA# -> PIRQB -> IRQ 10
    init_pic(pc)
    ioapic_route(pc, 17, 0x71, level=True)
    board.set_pci_irq(2, 0, 0, True)
    assert board.line_level(10)
    assert board.pic.slave.irr & (1 << 2)     # IRQ 10, level-triggered per the ELCR
    assert board.lapic.irr >> 0x71 & 1        # and IOAPIC pin 16 + PIRQB
    board.set_pci_irq(2, 0, 0, False)
    assert not board.line_level(10)
    assert not board.pic.slave.irr & (1 << 2)
    board.set_pci_irq(2, 0, 0, True)
    board.isa_bridge.config_write(0x61, 1, 0x80)   # routing of PIRQB disabled
    assert not board.line_level(10)
    board.isa_bridge.config_write(0x61, 1, 0x0B)   # steered to IRQ 11 instead
    assert board.line_level(11) and not board.line_level(10)


def test_shared_line_is_the_or_of_its_sources(pc):
    board = pc.board
    board.set_irq(10, True)                   # an ISA device
    board.set_irq(10, True, "pirq")
    board.set_irq(10, False)
    assert board.line_level(10)
    board.set_irq(10, False, "pirq")
    assert not board.line_level(10)


def test_apic_msr_and_cpuid_flag(pc):
    read, write = pc.msr_hooks[0x1B]
    assert read() == 0xFEE00900 and pc.apic_enabled()
    assert write(0xFEE00100)                  # globally disabled
    assert not pc.apic_enabled()
    assert pc.phys.mmio_read(0xFEE00030, 4) == 0xFFFFFFFF
    assert not write(1 << 40)                 # reserved bits: #GP
    assert write(0xFEE00900)
    assert pc.phys.mmio_read(0xFEE00030, 4) == 0x50014


def test_apic_off():
    m = BoardMachine(MachineConfig(serial=["null"], apic=False))
    assert m.board.lapic is None and m.board.ioapic is None
    assert m.intc is m.board.pic and not m.apic_enabled()
    assert 0x1B not in m.msr_hooks
    assert m.phys.mmio_read(0xFEE00030, 4) == 0xFFFFFFFF
    init_pic(m)
    m.board.set_irq(3, True)
    assert m.intr and m.intc.acknowledge() == 0x23


def test_devices_and_ports_present(pc):
    assert pc.io.read(0x64, 1) & 0x10         # i8042 status
    assert pc.io.read(0x80, 1) == 0xFF        # port 0x80 reads like a floating bus
    pc.io.write(0x80, 1, 0x42)
    assert pc.board.port80.last_code == 0x42
    assert pc.io.read(0x92, 1) == 0x02        # A20 on
    pc.io.write(0x70, 1, 0x0D)
    assert pc.io.read(0x71, 1) == 0x80
    assert pc.io.read(0x2FD, 1) == 0xFF       # only COM1 with one back end


def test_reset_restores_power_on_state(pc):
    init_pic(pc)
    lapic = pc.board.lapic
    lapic.mmio_write(0xF0, 4, 0x1FF)
    pc.io.write(0x64, 1, 0x60)
    pc.io.write(0x60, 1, 0x00)
    pc.board.isa_bridge.config_write(0x60, 1, 0x85)
    pc.board.reset()
    assert lapic.svr == 0xFF and lapic.lvt[3] == 0x700
    assert pc.board.pic.master.imr == 0 and pc.board.pic.master.base == 0
    assert pc.board.kbc.ccb & 0x01
    assert pc.board.isa_bridge.config[0x60] == 10
