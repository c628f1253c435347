"""The IDE channels at the port level, as firmware and Linux's ata_piix drive
them (ATA/ATAPI-6): register behaviour, status bits and the interrupt line,
PIO and DMA transfers through PRD tables, 28- and 48-bit addressing, CHS,
error bits for a sector out of range, software reset and absent devices."""
import struct

import pytest

from emu.block.drive import DriveSpec
from emu.block.image import RawImage

from .conftest import BoardMachine

BASE, CTL, BM = 0x1F0, 0x3F6, 0xC000
DATA, ERROR, NSECT, LBAL, LBAM, LBAH, DEVICE, STATUS = range(BASE, BASE + 8)
BSY, DRDY, DSC, DRQ, ERR = 0x80, 0x40, 0x10, 0x08, 0x01
SECTORS = 2048


class CountingImage(RawImage):
    flushes = 0

    def flush(self):
        CountingImage.flushes += 1
        super().flush()


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(bytes((k * 13 + (k >> 9)) & 0xFF for k in range(SECTORS * 512)))
    image = CountingImage(path)
    m = BoardMachine(drives={0: (DriveSpec(file=str(path)), image)})
    m.path = path
    yield m
    image.close()


def content(m, lba, count=1):
    with open(m.path, "rb") as f:
        f.seek(lba * 512)
        return f.read(count * 512)


def status(m):
    return m.io.read(STATUS, 1)


def read_data(m, nbytes, width=2):
    return b"".join(m.io.read(DATA, width).to_bytes(width, "little") for _ in range(nbytes // width))


def write_data(m, data, width=2):
    for k in range(0, len(data), width):
        m.io.write(DATA, width, int.from_bytes(data[k:k + width], "little"))


def lba28(m, lba, count, dev=0):
    m.io.write(NSECT, 1, count & 0xFF)
    m.io.write(LBAL, 1, lba & 0xFF)
    m.io.write(LBAM, 1, (lba >> 8) & 0xFF)
    m.io.write(LBAH, 1, (lba >> 16) & 0xFF)
    m.io.write(DEVICE, 1, 0xE0 | (dev << 4) | ((lba >> 24) & 0x0F))


def lba48(m, lba, count):
    for port, hi, lo in ((NSECT, count >> 8, count), (LBAL, lba >> 24, lba), (LBAM, lba >> 32, lba >> 8),
                         (LBAH, lba >> 40, lba >> 16)):
        m.io.write(port, 1, hi & 0xFF)
        m.io.write(port, 1, lo & 0xFF)
    m.io.write(DEVICE, 1, 0x40)


def irq14(m):
    return m.irqs.get(14, False)


def test_identify_device(disk):
    m = disk
    m.io.write(DEVICE, 1, 0xA0)
    m.io.write(STATUS, 1, 0xEC)
    assert irq14(m)
    assert m.io.read(CTL, 1) & (BSY | DRQ | ERR) == DRQ     # alternate status: no acknowledge
    assert irq14(m)
    assert status(m) & (BSY | DRQ | DRDY) == DRQ | DRDY
    assert not irq14(m)                                     # reading status acknowledged it
    ident = read_data(m, 512)
    assert status(m) & (DRQ | ERR | BSY) == 0
    w = struct.unpack("<256H", ident)
    model = b"".join(struct.pack(">H", x) for x in w[27:47]).decode().strip()
    assert model == "PYEMU HARDDISK"
    assert w[60] | (w[61] << 16) == SECTORS
    assert w[100] | (w[101] << 16) == SECTORS
    assert w[83] & (1 << 10)                                # 48-bit addressing
    assert w[49] & (1 << 9)                                 # LBA
    assert w[255] & 0xFF == 0xA5 and sum(ident) % 256 == 0  # integrity word


def test_read_sectors_pio_interrupt_per_sector(disk):
    m = disk
    lba28(m, 100, 3)
    m.io.write(STATUS, 1, 0x20)
    got = b""
    for k in range(3):
        assert irq14(m), "INTRQ before DRQ block %d" % k
        assert status(m) & (DRQ | ERR) == DRQ
        got += read_data(m, 512)
    assert not irq14(m)                                     # no interrupt after the last data-in block
    assert status(m) & (DRQ | ERR | BSY) == 0
    assert got == content(m, 100, 3)
    # the LBA registers hold the last sector transferred
    assert (m.io.read(LBAL, 1), m.io.read(LBAM, 1)) == (102, 0)


def test_read_with_32_bit_data_accesses(disk):
    m = disk
    lba28(m, 7, 1)
    m.io.write(STATUS, 1, 0x20)
    status(m)
    assert read_data(m, 512, width=4) == content(m, 7)


def test_write_sectors_pio(disk):
    m = disk
    new = bytes(range(256)) * 4
    lba28(m, 50, 2)
    m.io.write(STATUS, 1, 0x30)
    assert not irq14(m)                                      # no interrupt before the first block
    assert status(m) & DRQ
    write_data(m, new[:512])
    assert irq14(m) and status(m) & DRQ                      # the second block
    write_data(m, new[512:])
    assert irq14(m)                                          # completion
    assert status(m) & (DRQ | ERR | BSY) == 0
    assert content(m, 50, 2) == new                          # in the file before any flush


def test_read_write_multiple(disk):
    m = disk
    lba28(m, 0, 4)
    m.io.write(STATUS, 1, 0xC4)                              # multiple mode not set yet
    assert status(m) & ERR and m.io.read(ERROR, 1) == 0x04   # ABRT
    m.io.write(NSECT, 1, 3)
    m.io.write(STATUS, 1, 0xC6)                              # not a power of two
    assert status(m) & ERR
    m.io.write(NSECT, 1, 4)
    m.io.write(STATUS, 1, 0xC6)
    assert status(m) & ERR == 0
    lba28(m, 20, 6)
    m.io.write(STATUS, 1, 0xC4)
    assert irq14(m)
    status(m)
    first = read_data(m, 4 * 512)                            # one DRQ block of 4 sectors
    assert irq14(m)
    status(m)
    second = read_data(m, 2 * 512)
    assert first + second == content(m, 20, 6)
    new = bytes([0x5A]) * 5 * 512
    lba28(m, 40, 5)
    m.io.write(STATUS, 1, 0xC5)
    write_data(m, new[:2048])
    assert irq14(m)
    status(m)
    write_data(m, new[2048:])
    assert content(m, 40, 5) == new


def test_lba48_and_hob_readback(disk):
    m = disk
    lba48(m, 0x0000_0000_0123, 2)
    m.io.write(STATUS, 1, 0x24)                              # READ SECTORS EXT
    status(m)
    got = read_data(m, 512)
    status(m)
    got += read_data(m, 512)
    assert got == content(m, 0x123, 2)
    # the FIFO: HOB set reads the previous content
    lba48(m, 0x0000_5566_7788, 0x0102)                     # bits 31:24 = 0x55
    assert m.io.read(LBAL, 1) == 0x88
    m.io.write(CTL, 1, 0x80)
    assert m.io.read(LBAL, 1) == 0x55 and m.io.read(NSECT, 1) == 0x01
    m.io.write(NSECT, 1, 0)                                  # a register write clears HOB
    assert m.io.read(LBAL, 1) == 0x88


def test_sector_out_of_range_sets_idnf(disk):
    m = disk
    lba28(m, SECTORS - 1, 2)
    m.io.write(STATUS, 1, 0x20)
    assert irq14(m)
    s = status(m)
    assert s & ERR and not s & DRQ
    assert m.io.read(ERROR, 1) == 0x10                       # IDNF
    lba48(m, 1 << 40, 1)
    m.io.write(STATUS, 1, 0x25)                              # READ DMA EXT
    assert status(m) & ERR and m.io.read(ERROR, 1) == 0x10


def test_unknown_command_aborts(disk):
    m = disk
    m.io.write(STATUS, 1, 0xFF)
    assert irq14(m)
    assert status(m) & ERR and m.io.read(ERROR, 1) == 0x04


def test_chs_addressing(disk):
    m = disk
    # default geometry of a 2048-sector disk: 16 heads, 63 sectors per track
    cyl, head, sector = 1, 3, 5
    lba = (cyl * 16 + head) * 63 + sector - 1
    m.io.write(NSECT, 1, 1)
    m.io.write(LBAL, 1, sector)
    m.io.write(LBAM, 1, cyl)
    m.io.write(LBAH, 1, 0)
    m.io.write(DEVICE, 1, 0xA0 | head)
    m.io.write(STATUS, 1, 0x20)
    status(m)
    assert read_data(m, 512) == content(m, lba)
    m.io.write(LBAL, 1, 0)                                   # sector 0 does not exist
    m.io.write(STATUS, 1, 0x20)
    assert status(m) & ERR


def prd_table(m, at, regions):
    table = b""
    for k, (addr, length) in enumerate(regions):
        eot = 0x80000000 if k == len(regions) - 1 else 0
        table += struct.pack("<II", addr, (length & 0xFFFF) | eot)
    m.phys.write(at, table)
    m.io.write(BM + 4, 4, at)


def test_read_dma_through_a_prd_table(disk):
    m = disk
    prd_table(m, 0x1000, [(0x20000, 1024), (0x30000, 512)])
    m.io.write(BM, 1, 0x08)                                  # direction: to memory
    lba28(m, 9, 3)
    m.io.write(STATUS, 1, 0xC8)                              # READ DMA: waits for the start bit
    assert not irq14(m)
    m.io.write(BM, 1, 0x09)                                  # start
    assert irq14(m)
    bm_status = m.io.read(BM + 2, 1)
    assert bm_status & 0x04                                  # interrupt
    assert not bm_status & 0x01                              # active cleared: the EOT region was filled
    assert not bm_status & 0x02
    m.io.write(BM, 1, 0x00)
    m.io.write(BM + 2, 1, 0x04)                              # write 1 to clear
    assert m.io.read(BM + 2, 1) & 0x04 == 0
    assert status(m) & (ERR | DRQ | BSY) == 0
    assert m.phys.read(0x20000, 1024) + m.phys.read(0x30000, 512) == content(m, 9, 3)


def test_write_dma_start_before_command(disk):
    m = disk
    new = bytes([0xC3, 0x3C]) * 512
    m.phys.write(0x40000, new)
    prd_table(m, 0x2000, [(0x40000, 1024)])
    m.io.write(BM, 1, 0x01)                                  # start first (direction: from memory)
    lba28(m, 200, 2)
    m.io.write(STATUS, 1, 0xCA)                              # WRITE DMA
    assert irq14(m)
    assert m.io.read(BM + 2, 1) & 0x05 == 0x04
    assert content(m, 200, 2) == new


def test_prd_table_shorter_than_the_data_sets_the_error_bit(disk):
    m = disk
    prd_table(m, 0x1000, [(0x20000, 512)])
    lba28(m, 0, 2)
    m.io.write(STATUS, 1, 0xC8)
    m.io.write(BM, 1, 0x09)
    assert m.io.read(BM + 2, 1) & 0x02


def test_prd_table_longer_than_the_data_leaves_active_set(disk):
    m = disk
    prd_table(m, 0x1000, [(0x20000, 4096)])
    lba28(m, 0, 1)
    m.io.write(STATUS, 1, 0xC8)
    m.io.write(BM, 1, 0x09)
    assert m.io.read(BM + 2, 1) & 0x05 == 0x05
    m.io.write(BM, 1, 0x00)                                  # stop clears it
    assert m.io.read(BM + 2, 1) & 0x01 == 0


def test_no_dma_without_bus_master_enable(disk):
    m = disk
    m.board.ide.config_write(0x04, 2, 0x0001)                 # I/O on, bus master off
    m.phys.write(0x20000, b"\0" * 512)
    prd_table(m, 0x1000, [(0x20000, 512)])
    lba28(m, 1, 1)
    m.io.write(STATUS, 1, 0xC8)
    m.io.write(BM, 1, 0x09)
    assert not irq14(m)
    assert m.phys.read(0x20000, 512) == b"\0" * 512


def test_software_reset_and_signature(disk):
    m = disk
    lba28(m, 5, 9)
    m.io.write(CTL, 1, 0x04)                                 # SRST
    assert m.io.read(CTL, 1) & BSY
    m.io.write(CTL, 1, 0x00)
    assert [m.io.read(p, 1) for p in (NSECT, LBAL, LBAM, LBAH)] == [1, 1, 0, 0]
    assert m.io.read(ERROR, 1) == 0x01
    assert status(m) & (BSY | DRDY) == DRDY


def test_absent_slave(disk):
    m = disk
    m.io.write(NSECT, 1, 0x55)
    m.io.write(DEVICE, 1, 0xB0)                              # device 1: not there
    assert status(m) == 0
    assert m.io.read(NSECT, 1) == 0
    m.io.write(STATUS, 1, 0xEC)                              # ignored
    assert not irq14(m)
    m.io.write(DEVICE, 1, 0xA0)
    assert m.io.read(NSECT, 1) == 0x55                       # device 0 latched the write too


def test_nien_masks_the_line(disk):
    m = disk
    m.io.write(CTL, 1, 0x02)
    m.io.write(STATUS, 1, 0xE7)                              # FLUSH CACHE
    assert not irq14(m)
    m.io.write(CTL, 1, 0x00)
    assert irq14(m)                                          # still pending: now it shows


def test_flush_cache_and_write_cache_off(disk):
    m = disk
    before = CountingImage.flushes
    m.io.write(STATUS, 1, 0xE7)
    assert status(m) & ERR == 0
    assert CountingImage.flushes == before + 1
    m.io.write(ERROR, 1, 0x82)                               # SET FEATURES: write cache off
    m.io.write(STATUS, 1, 0xEF)
    status(m)
    lba28(m, 3, 1)
    m.io.write(STATUS, 1, 0x30)
    flushes = CountingImage.flushes
    write_data(m, b"\1" * 512)
    assert CountingImage.flushes == flushes + 1              # written through


def test_empty_channel_reads_zero(disk):
    m = disk
    assert m.io.read(0x177, 1) == 0                          # secondary channel: no drives


def test_read_only_image_aborts_writes(tmp_path):
    path = tmp_path / "ro.img"
    path.write_bytes(b"\x77" * 512 * 64)
    image = RawImage(path, readonly=True)
    m = BoardMachine(drives={0: (DriveSpec(file=str(path), readonly=True), image)})
    lba28(m, 1, 1)
    m.io.write(STATUS, 1, 0x30)
    assert status(m) & ERR and m.io.read(ERROR, 1) == 0x04
    lba28(m, 1, 1)
    m.io.write(STATUS, 1, 0x20)                              # reads still work
    status(m)
    assert read_data(m, 512) == b"\x77" * 512
    image.close()
