"""fw_cfg at the port level (QEMU's docs/specs/fw_cfg.rst): the selector and
data ports, the items firmware reads, the file directory and the DMA
interface, on the board as the guest sees it."""
import struct

import pytest

from emu.config import MachineConfig

from .conftest import BoardMachine

SEL, DATA, DMA_HI, DMA_LO = 0x510, 0x511, 0x514, 0x518


@pytest.fixture
def pc():
    return BoardMachine(MachineConfig(ram_mb=96, serial=["null"]))


def read_item(m, key, n):
    m.io.write(SEL, 2, key)
    return bytes(m.io.read(DATA, 1) for _ in range(n))


def files(m):
    data = read_item(m, 0x19, 4)
    count = struct.unpack(">I", data)[0]
    out = {}
    for _ in range(count):
        entry = bytes(m.io.read(DATA, 1) for _ in range(64))
        size, key = struct.unpack(">IH", entry[:6])
        out[entry[8:].rstrip(b"\0").decode()] = (key, size)
    return out


def test_signature_id_and_machine_items(pc):
    assert read_item(pc, 0x0000, 4) == b"QEMU"
    assert struct.unpack("<I", read_item(pc, 0x0001, 4))[0] == 0x3       # port + DMA interfaces
    assert struct.unpack("<H", read_item(pc, 0x0005, 2))[0] == 1         # CPUs
    assert struct.unpack("<H", read_item(pc, 0x000F, 2))[0] == 1         # max CPUs
    assert struct.unpack("<Q", read_item(pc, 0x0003, 8))[0] == 96 << 20


def test_reading_past_the_end_gives_zeros_and_selecting_rewinds(pc):
    assert read_item(pc, 0x0000, 8) == b"QEMU\0\0\0\0"
    assert read_item(pc, 0x0000, 2) == b"QE"
    assert read_item(pc, 0x1234, 4) == b"\0\0\0\0"                       # no such item


def test_file_directory_and_e820(pc):
    d = files(pc)
    key, size = d["etc/e820"]
    assert size == 20
    addr, length, kind = struct.unpack("<QQI", read_item(pc, key, size))
    assert (addr, length, kind) == (0, 96 << 20, 1)
    key, size = d["etc/sercon-port"]
    assert struct.unpack("<H", read_item(pc, key, size))[0] == 0x3F8


def dma(m, control, length, address, at=0x7000):
    m.phys.write(at, struct.pack(">IIQ", control, length, address))
    swap = lambda v: int.from_bytes(v.to_bytes(4, "big"), "little")        # noqa: E731 (port value of a be32)
    m.io.write(DMA_HI, 4, swap(0))
    m.io.write(DMA_LO, 4, swap(at))
    return struct.unpack(">I", m.phys.read(at, 4))[0]


def test_dma_select_read_skip(pc):
    assert dma(pc, (0x0000 << 16) | 0x08 | 0x02, 4, 0x8000) == 0
    assert pc.phys.read(0x8000, 4) == b"QEMU"
    assert dma(pc, (0x0003 << 16) | 0x08 | 0x04, 4, 0) == 0              # select RAM size, skip 4
    assert dma(pc, 0x02, 4, 0x8100) == 0                                  # then read the high half
    assert pc.phys.read(0x8100, 4) == b"\0\0\0\0"
    assert dma(pc, 0x10, 4, 0x8000) & 0x01                               # writes: error


def test_dma_register_signature(pc):
    assert pc.io.read(DMA_HI, 4) == int.from_bytes(b"QEMU", "big")
    assert pc.io.read(DMA_LO, 4) == int.from_bytes(b" CFG", "big")


def test_boot_order_in_cmos():
    m = BoardMachine(MachineConfig(ram_mb=16, serial=["null"], boot_order="dc"))
    assert m.board.rtc.cmos_read(0x3D) == 0x23
    assert m.board.rtc.cmos_read(0x38) & 0xF0 == 0


def test_kernel_items(pc):
    kernel = bytearray(4096)
    kernel[0x1F1] = 3
    kernel[0x202:0x206] = b"HdrS"
    pc.board.set_boot_files(bytes(kernel), b"initrd!", "console=ttyS0")
    assert struct.unpack("<I", read_item(pc, 0x17, 4))[0] == 4 * 512     # setup: (3 + 1) sectors
    assert struct.unpack("<I", read_item(pc, 0x08, 4))[0] == 4096 - 2048
    assert read_item(pc, 0x12, 7) == b"initrd!"
    assert read_item(pc, 0x15, 14) == b"console=ttyS0\0"


def test_pam_moves_the_bios_segment_between_rom_and_shadow_ram():
    """i440FX PAM0 (82441FX datasheet 3.2.18): 0xF0000-0xFFFFF reads the ROM until
    bits 5:4 send reads (and writes) to DRAM; read-only DRAM drops writes."""
    m = BoardMachine(MachineConfig(ram_mb=16, serial=["null"], bios="rom.bin"))
    m.phys.add_rom(0xF0000, b"\xEA" * 0x10000)
    bridge = m.board.host_bridge
    assert m.phys.read(0xFFFF0, 1) == b"\xEA"                            # PAM0 = 0: the ROM
    m.phys.write(0xF1000, b"x")
    assert m.phys.read(0xF1000, 1) == b"\xEA"
    bridge.config_write(0x59, 1, 0x30)                                    # read/write DRAM
    assert m.phys.read(0xF1000, 1) == b"\0"
    m.phys.write(0xF1000, b"copy")
    assert m.phys.read(0xF1000, 4) == b"copy"
    bridge.config_write(0x59, 1, 0x10)                                    # read-only DRAM
    m.phys.write(0xF1000, b"lost")
    assert m.phys.read(0xF1000, 4) == b"copy"
    bridge.config_write(0x59, 1, 0x00)
    assert m.phys.read(0xF1000, 1) == b"\xEA"
    bridge.config_write(0x5A, 1, 0x33)                                    # 0xC0000-0xC7FFF: RAM
    m.phys.write(0xC4000, b"vga")
    assert m.phys.read(0xC4000, 3) == b"vga"


def test_without_firmware_the_shadow_is_ram(pc):
    pc.phys.write(0xF0000, b"ram")
    assert pc.phys.read(0xF0000, 3) == b"ram"
