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


# --- other positions: the secondary channel, a slave ------------------------------------------
def patterned_image(tmp_path, name, seed, sectors):
    path = tmp_path / name
    path.write_bytes(bytes((k * seed + (k >> 9)) & 0xFF for k in range(sectors * 512)))
    return path, RawImage(path)


def identify_at(m, base, dev):
    """IDENTIFY DEVICE through the command block at `base`; its 256 words."""
    m.io.write(base + 6, 1, 0xA0 | (dev << 4))
    m.io.write(base + 7, 1, 0xEC)
    assert m.io.read(base + 7, 1) & (DRQ | ERR) == DRQ
    return struct.unpack("<256H", b"".join(m.io.read(base, 2).to_bytes(2, "little") for _ in range(256)))


def serial_of(words):
    return b"".join(struct.pack(">H", x) for x in words[10:20]).decode().strip()


def lba28_at(m, base, lba, count, dev=0):
    m.io.write(base + 2, 1, count)
    m.io.write(base + 3, 1, lba & 0xFF)
    m.io.write(base + 4, 1, (lba >> 8) & 0xFF)
    m.io.write(base + 5, 1, (lba >> 16) & 0xFF)
    m.io.write(base + 6, 1, 0xE0 | (dev << 4) | ((lba >> 24) & 0x0F))


def read_sectors_at(m, base, dev, lba, count):
    lba28_at(m, base, lba, count, dev)
    m.io.write(base + 7, 1, 0x20)
    out = b""
    for _ in range(count):
        assert m.io.read(base + 7, 1) & (DRQ | ERR) == DRQ
        out += b"".join(m.io.read(base, 2).to_bytes(2, "little") for _ in range(256))
    return out


def test_disk_on_the_secondary_channel(tmp_path):
    # -hdc: the secondary channel's device 0, at 0x170-0x177 / 0x376 on IRQ 15,
    # with the second bus master channel at BM + 8 (PIIX: legacy-mode ports)
    base, ctl, bm = 0x170, 0x376, BM + 8
    path, image = patterned_image(tmp_path, "hdc.img", 29, 512)
    m = BoardMachine(drives={2: (DriveSpec(file=str(path)), image)})
    assert m.io.read(STATUS, 1) == 0                        # the primary channel is empty
    assert [m.io.read(base + r, 1) for r in (2, 3, 4, 5)] == [1, 1, 0, 0]  # ATA signature
    w = identify_at(m, base, 0)
    assert serial_of(w) == "PYEMU0002" and w[60] | (w[61] << 16) == 512
    # INTRQ on IRQ 15 (never 14); alternate status does not acknowledge it
    m.io.write(base + 7, 1, 0xE7)                           # FLUSH CACHE
    assert m.irqs.get(15) and not irq14(m)
    assert m.io.read(ctl, 1) & (BSY | DRQ | ERR) == 0
    assert m.irqs.get(15)
    m.io.read(base + 7, 1)
    assert not m.irqs.get(15)
    with open(path, "rb") as f:
        f.seek(30 * 512)
        want = f.read(3 * 512)
    assert read_sectors_at(m, base, 0, 30, 2) == want[:1024]
    # READ DMA through the secondary bus master's own PRD pointer and status
    m.phys.write(0x1000, struct.pack("<II", 0x20000, 0x80000000 | 1536))
    m.io.write(bm + 4, 4, 0x1000)
    m.io.write(bm, 1, 0x08)
    lba28_at(m, base, 30, 3)
    m.io.write(base + 7, 1, 0xC8)
    m.io.write(bm, 1, 0x09)
    assert m.irqs.get(15)
    assert m.io.read(bm + 2, 1) & 0x05 == 0x04
    assert m.io.read(BM + 2, 1) & 0x04 == 0                 # the primary's status is untouched
    assert m.phys.read(0x20000, 1536) == want
    m.io.read(base + 7, 1)
    # nIEN on this channel's device control register masks IRQ 15
    m.io.write(ctl, 1, 0x02)
    m.io.write(base + 7, 1, 0xE7)
    assert not m.irqs.get(15)
    m.io.write(ctl, 1, 0x00)
    assert m.irqs.get(15)
    image.close()


@pytest.fixture
def master_and_slave(tmp_path):
    # -hda and -hdb: different sizes and contents, so every answer shows which drive gave it
    p0, i0 = patterned_image(tmp_path, "hda.img", 13, 1024)
    p1, i1 = patterned_image(tmp_path, "hdb.img", 7, 768)
    m = BoardMachine(drives={0: (DriveSpec(file=str(p0)), i0), 1: (DriveSpec(file=str(p1)), i1)})
    m.paths = (p0, p1)
    yield m
    i0.close()
    i1.close()


def test_present_slave_answers_when_selected(master_and_slave):
    m = master_and_slave
    # Linux's ata_sff_devchk: with device 1 selected, a present device keeps the
    # 55h/AAh patterns written to sector count and LBA low (an absent one reads 0)
    m.io.write(DEVICE, 1, 0xB0)
    for a, b in ((0x55, 0xAA), (0xAA, 0x55), (0x55, 0xAA)):
        m.io.write(NSECT, 1, a)
        m.io.write(LBAL, 1, b)
    assert (m.io.read(NSECT, 1), m.io.read(LBAL, 1)) == (0x55, 0xAA)
    assert status(m) & (BSY | DRDY) == DRDY
    # IDENTIFY goes to the selected device; device bit 4 picks it
    w1 = identify_at(m, BASE, 1)
    assert serial_of(w1) == "PYEMU0001" and w1[60] | (w1[61] << 16) == 768
    w0 = identify_at(m, BASE, 0)
    assert serial_of(w0) == "PYEMU0000" and w0[60] | (w0[61] << 16) == 1024
    for dev in (1, 0, 1):
        with open(m.paths[dev], "rb") as f:
            f.seek(700 * 512)
            assert read_sectors_at(m, BASE, dev, 700, 2) == f.read(1024)
    # a sector that only the master has is out of range on the slave
    lba28(m, 800, 1, dev=1)
    m.io.write(STATUS, 1, 0x20)
    assert status(m) & ERR and m.io.read(ERROR, 1) == 0x10   # IDNF



def test_slave_interrupt_shows_only_while_it_is_selected(master_and_slave):
    # ATA/ATAPI-6: only the selected device drives INTRQ; the other's request waits
    m = master_and_slave
    m.io.write(DEVICE, 1, 0xB0)
    m.io.write(STATUS, 1, 0xE7)                              # FLUSH CACHE on the slave
    assert irq14(m)
    m.io.write(DEVICE, 1, 0xA0)
    assert not irq14(m)
    m.io.write(DEVICE, 1, 0xB0)
    assert irq14(m)
    assert status(m) & (BSY | ERR) == 0
    assert not irq14(m)


def test_software_reset_leaves_both_signatures(master_and_slave):
    # ata_sff_softreset then classifies each device from its own registers
    m = master_and_slave
    m.io.write(DEVICE, 1, 0xB0)
    lba28(m, 5, 9, dev=1)
    m.io.write(CTL, 1, 0x04)
    m.io.write(CTL, 1, 0x00)
    for dev in (0, 1):
        m.io.write(DEVICE, 1, 0xA0 | (dev << 4))
        assert [m.io.read(p, 1) for p in (NSECT, LBAL, LBAM, LBAH)] == [1, 1, 0, 0], dev
        assert m.io.read(ERROR, 1) == 0x01
        assert status(m) & (BSY | DRDY) == DRDY
