"""PCI configuration mechanism #1 and the functions on bus 0: identity,
header type, class codes, write masks, BAR sizing, the PIIX3 reset control
register and the IDE bus-master BAR (through the board, as the guest sees it)."""
import pytest

from emu.devices.pci import PciBus, PciFunction


def addr(dev, fn, reg, enable=True):
    return (0x80000000 if enable else 0) | (dev << 11) | (fn << 8) | (reg & 0xFC)


def cfg_read(m, dev, fn, reg, size=4):
    m.io.write(0xCF8, 4, addr(dev, fn, reg))
    return m.io.read(0xCFC + (reg & 3), size)


def cfg_write(m, dev, fn, reg, value, size=4):
    m.io.write(0xCF8, 4, addr(dev, fn, reg))
    m.io.write(0xCFC + (reg & 3), size, value)


@pytest.mark.parametrize("dev,fn,ids,cls", [
    (0, 0, 0x12378086, 0x060000),      # i440FX host bridge
    (1, 0, 0x70008086, 0x060100),      # PIIX3 ISA bridge
    (1, 1, 0x70108086, 0x010180),      # PIIX3 IDE, legacy mode, bus master
])
def test_identity_and_class(pc, dev, fn, ids, cls):
    assert cfg_read(pc, dev, fn, 0) == ids
    assert cfg_read(pc, dev, fn, 0x08) >> 8 == cls
    assert cfg_read(pc, dev, fn, 0x00, 2) == 0x8086
    assert cfg_read(pc, dev, fn, 0x02, 2) == ids >> 16       # word at an offset
    assert cfg_read(pc, dev, fn, 0x0B, 1) == cls >> 16       # byte at an offset


def test_header_types(pc):
    assert cfg_read(pc, 0, 0, 0x0E, 1) == 0x00
    assert cfg_read(pc, 1, 0, 0x0E, 1) == 0x80               # multifunction
    assert cfg_read(pc, 1, 1, 0x0E, 1) == 0x00


def test_absent_devices_read_all_ones(pc):
    assert cfg_read(pc, 2, 0, 0) == 0xFFFFFFFF
    assert cfg_read(pc, 0, 1, 0, 2) == 0xFFFF
    assert cfg_read(pc, 0x1F, 7, 0x3C, 1) == 0xFF
    pc.io.write(0xCF8, 4, addr(0, 0, 0, enable=False))       # enable bit clear
    assert pc.io.read(0xCFC, 4) == 0xFFFFFFFF


def test_config_address_register(pc):
    pc.io.write(0xCF8, 4, 0x80000000)
    assert pc.io.read(0xCF8, 4) == 0x80000000
    pc.io.write(0xCF8, 4, 0x8000_0843)
    assert pc.io.read(0xCF8, 4) == 0x8000_0840               # bits 1:0 read 0
    # Linux's pci_check_type1: a byte write to 0xCFB must not disturb CONFIG_ADDRESS
    pc.io.write(0xCFB, 1, 0x01)
    pc.io.write(0xCF8, 4, 0x80000000)
    assert pc.io.read(0xCF8, 4) == 0x80000000


def test_identity_is_read_only(pc):
    cfg_write(pc, 0, 0, 0, 0xDEADBEEF)
    assert cfg_read(pc, 0, 0, 0) == 0x12378086
    cfg_write(pc, 0, 0, 0x08, 0xFFFFFFFF)
    assert cfg_read(pc, 0, 0, 0x08) == 0x06000002


def test_bar_sizing(pc):
    """PCI 2.1 6.2.5.1: write all ones, read the size mask, restore."""
    old = cfg_read(pc, 1, 1, 0x20)
    assert old & 1 == 1                                       # I/O BAR
    cfg_write(pc, 1, 1, 0x20, 0xFFFFFFFF)
    size_mask = cfg_read(pc, 1, 1, 0x20)
    assert size_mask == 0xFFFFFFF1                            # 16 bytes of I/O
    assert (~(size_mask & ~0x3) & 0xFFFFFFFF) + 1 == 16
    cfg_write(pc, 1, 1, 0x20, old)
    assert cfg_read(pc, 1, 1, 0x20) == old
    for bar in range(0x10, 0x20, 4):                          # BAR0-3 do not exist in legacy mode
        cfg_write(pc, 1, 1, bar, 0xFFFFFFFF)
        assert cfg_read(pc, 1, 1, bar) == 0
    for bar in range(0x10, 0x28, 4):                          # the bridges have none
        cfg_write(pc, 0, 0, bar, 0xFFFFFFFF)
        assert cfg_read(pc, 0, 0, bar) == 0


def test_memory_bar_sizing():
    class Dev(PciFunction):
        def setup(self):
            self.add_bar(0, 0x1000, io=False)

    bus = PciBus()
    bus.add(3, 0, Dev(0x1234, 0x5678, 0x020000))
    bus.io_write(0xCF8, 4, addr(3, 0, 0x10))
    bus.io_write(0xCFC, 4, 0xFFFFFFFF)
    assert bus.io_read(0xCFC, 4) == 0xFFFFF000
    bus.io_write(0xCFC, 4, 0xFEBF1234)
    assert bus.io_read(0xCFC, 4) == 0xFEBF1000


def test_status_bits_are_write_one_to_clear(pc):
    fn = pc.board.host_bridge
    fn.put16(0x06, fn.get16(0x06) | 0x2000)                   # master abort seen
    cfg_write(pc, 0, 0, 0x06, 0x0000, 2)
    assert cfg_read(pc, 0, 0, 0x06, 2) & 0x2000
    cfg_write(pc, 0, 0, 0x06, 0x2000, 2)
    assert not cfg_read(pc, 0, 0, 0x06, 2) & 0x2000
    assert cfg_read(pc, 0, 0, 0x06, 2) == 0x0280


def test_host_bridge_registers(pc):
    assert cfg_read(pc, 0, 0, 0x72, 1) == 0x02               # SMRAM
    cfg_write(pc, 0, 0, 0x59, 0x30, 1)                       # PAM0: storage only
    assert cfg_read(pc, 0, 0, 0x59, 1) == 0x30
    assert cfg_read(pc, 0, 0, 0x60, 1) == 2                  # DRB: 16 MB in 8 MB rows


def test_piix_defaults_and_pirq_registers(pc):
    assert cfg_read(pc, 1, 0, 0x4C, 1) == 0x4D               # IORT
    assert cfg_read(pc, 1, 0, 0x4E, 2) == 0x0003             # XBCS
    assert cfg_read(pc, 1, 0, 0x69, 1) == 0x02               # TOM
    # firmware_setup routed PIRQA-D to 10, 10, 11, 11
    assert [cfg_read(pc, 1, 0, 0x60 + k, 1) for k in range(4)] == [10, 10, 11, 11]
    cfg_write(pc, 1, 0, 0x60, 0xFFFFFFFF)
    assert cfg_read(pc, 1, 0, 0x60) == 0x8F8F8F8F             # bits 6:4 reserved


def test_reset_control_register(pc):
    pc.io.write(0xCF9, 1, 0x02)                               # SRST alone does nothing
    assert pc.resets == 0
    pc.io.write(0xCF9, 1, 0x06)                               # RCPU 0 -> 1
    assert pc.resets == 1
    assert pc.io.read(0xCF9, 1) == 0x02


def test_ide_bus_master_bar_maps_its_registers(pc):
    assert cfg_read(pc, 1, 1, 0x20) == 0xC001                # firmware's assignment
    assert cfg_read(pc, 1, 1, 0x04, 2) & 0x5 == 0x5
    pc.io.write(0xC004, 4, 0x12345678)                        # primary PRD pointer
    assert pc.io.read(0xC004, 4) == 0x12345678 & ~3
    pc.io.write(0xC002, 1, 0x66)                              # status: W1C bits 1, 2; RW 5, 6
    assert pc.io.read(0xC002, 1) == 0x60
    cfg_write(pc, 1, 1, 0x20, 0xD000)                         # moved by the OS
    assert pc.io.read(0xC004, 4) == 0xFFFFFFFF
    assert pc.io.read(0xD004, 4) == 0x12345678 & ~3
    cfg_write(pc, 1, 1, 0x04, 0x0000, 2)                      # I/O decode off
    assert pc.io.read(0xD004, 4) == 0xFFFFFFFF
