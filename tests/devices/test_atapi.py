"""The ATAPI CD-ROM at the port level: the PACKET protocol (ATA/ATAPI-6 9.10,
9.11) by PIO and DMA, the signature, and the SCSI commands Linux's sr driver
and El Torito boot code use (SPC-3, MMC)."""
import struct

import pytest

from emu.block.drive import DriveSpec
from emu.block.image import RawImage

from .conftest import BoardMachine

BASE, CTL, BM = 0x170, 0x376, 0xC008            # secondary channel, as -cdrom puts it
DATA, ERROR, NSECT, LBAL, LBAM, LBAH, DEVICE, STATUS = range(BASE, BASE + 8)
BSY, DRDY, DRQ, ERR = 0x80, 0x40, 0x08, 0x01
BLOCKS = 40


@pytest.fixture
def cd(tmp_path):
    path = tmp_path / "cd.iso"
    path.write_bytes(b"".join(bytes([k]) * 2048 for k in range(BLOCKS)))
    image = RawImage(path, readonly=True, sector_size=2048)
    m = BoardMachine(drives={2: (DriveSpec(file=str(path), media="cdrom"), image)})
    yield m
    image.close()


def irq15(m):
    return m.irqs.get(15, False)


def packet(m, cdb, dma=False, limit=0xFFFE):
    """Send a PACKET command; returns the status after the packet went out."""
    m.io.write(DEVICE, 1, 0xA0)
    m.io.write(ERROR, 1, 1 if dma else 0)
    m.io.write(LBAM, 1, limit & 0xFF)
    m.io.write(LBAH, 1, limit >> 8)
    m.io.write(STATUS, 1, 0xA0)
    assert not irq15(m)                                   # DRQ for the packet without INTRQ
    assert m.io.read(CTL, 1) & (DRQ | BSY) == DRQ
    assert m.io.read(NSECT, 1) & 3 == 1                    # CoD = 1, I/O = 0
    cdb = bytes(cdb).ljust(12, b"\0")
    for k in range(0, 12, 2):
        m.io.write(DATA, 2, cdb[k] | (cdb[k + 1] << 8))


def pio_read_all(m):
    out = b""
    while True:
        assert irq15(m)
        s = m.io.read(STATUS, 1)
        if not s & DRQ:
            return out, s
        assert m.io.read(NSECT, 1) & 3 == 2                 # I/O = 1, CoD = 0: data
        n = m.io.read(LBAM, 1) | (m.io.read(LBAH, 1) << 8)
        out += b"".join(m.io.read(DATA, 2).to_bytes(2, "little") for _ in range(n // 2))


def test_signature_and_identify(cd):
    m = cd
    assert [m.io.read(p, 1) for p in (NSECT, LBAL, LBAM, LBAH)] == [1, 1, 0x14, 0xEB]
    m.io.write(STATUS, 1, 0xEC)                            # IDENTIFY DEVICE: aborted
    assert m.io.read(STATUS, 1) & ERR and m.io.read(ERROR, 1) & 0x04
    assert (m.io.read(LBAM, 1), m.io.read(LBAH, 1)) == (0x14, 0xEB)
    m.io.write(STATUS, 1, 0xA1)                            # IDENTIFY PACKET DEVICE
    m.io.read(STATUS, 1)
    w = struct.unpack("<256H", b"".join(m.io.read(DATA, 2).to_bytes(2, "little") for _ in range(256)))
    assert w[0] >> 14 == 2 and (w[0] >> 8) & 0x1F == 5    # ATAPI, CD-ROM
    assert w[0] & 0x80                                     # removable


def test_read10_by_pio_in_byte_count_blocks(cd):
    m = cd
    packet(m, [0x28, 0, 0, 0, 0, 3, 0, 0, 2], limit=3000)  # READ (10): 2 blocks at LBA 3
    data, status = pio_read_all(m)
    assert data == bytes([3]) * 2048 + bytes([4]) * 2048
    assert not status & ERR
    assert m.io.read(NSECT, 1) & 3 == 3                    # done: CoD = 1, I/O = 1


def test_read10_by_dma(cd):
    m = cd
    m.phys.write(0x1000, struct.pack("<II", 0x20000, 0x80000000 | 4096))
    m.io.write(BM + 4, 4, 0x1000)
    m.io.write(BM, 1, 0x08)
    packet(m, [0x28, 0, 0, 0, 0, 7, 0, 0, 2], dma=True)
    assert not irq15(m)
    m.io.write(BM, 1, 0x09)
    assert irq15(m)
    assert m.io.read(BM + 2, 1) & 0x04
    assert not m.io.read(STATUS, 1) & (ERR | DRQ)
    assert m.phys.read(0x20000, 4096) == bytes([7]) * 2048 + bytes([8]) * 2048


def test_read_capacity_inquiry_toc(cd):
    m = cd
    packet(m, [0x25])
    data, _ = pio_read_all(m)
    assert struct.unpack(">II", data) == (BLOCKS - 1, 2048)
    packet(m, [0x12, 0, 0, 0, 36])
    data, _ = pio_read_all(m)
    assert data[0] == 0x05 and data[1] & 0x80 and data[8:16] == b"PYEMU   "
    packet(m, [0x43, 0, 0, 0, 0, 0, 0, 0, 20])             # READ TOC, format 0, LBA
    data, _ = pio_read_all(m)
    length, first, last = struct.unpack(">HBB", data[:4])
    assert (length, first, last) == (18, 1, 1)
    assert data[6] == 1 and struct.unpack(">I", data[8:12])[0] == 0
    assert data[14] == 0xAA and struct.unpack(">I", data[16:20])[0] == BLOCKS


def test_errors_and_request_sense(cd):
    m = cd
    packet(m, [0x28, 0, 0, 0, 0, BLOCKS, 0, 0, 1])          # past the end
    assert irq15(m)
    s = m.io.read(STATUS, 1)
    assert s & ERR and not s & DRQ
    assert m.io.read(ERROR, 1) >> 4 == 0x05                  # ILLEGAL REQUEST
    packet(m, [0x03, 0, 0, 0, 18])
    data, _ = pio_read_all(m)
    assert (data[2], data[12]) == (0x05, 0x21)               # LBA out of range
    packet(m, [0xFF])                                        # unknown command
    m.io.read(STATUS, 1)
    packet(m, [0x03, 0, 0, 0, 18])
    data, _ = pio_read_all(m)
    assert (data[2], data[12]) == (0x05, 0x20)


def test_empty_drive_is_not_ready():
    m = BoardMachine(drives={2: (DriveSpec(media="cdrom"), None)})
    packet(m, [0x00])                                        # TEST UNIT READY
    assert m.io.read(STATUS, 1) & ERR
    assert m.io.read(ERROR, 1) >> 4 == 0x02                  # NOT READY
    packet(m, [0x03, 0, 0, 0, 18])
    data, _ = pio_read_all(m)
    assert data[12] == 0x3A                                  # medium not present


def test_get_configuration_as_the_cdrom_layer_asks_for_the_profile(cd):
    # drivers/cdrom/cdrom.c (cdrom_mmc3_profile) sends GET CONFIGURATION, RT 0,
    # starting feature 0, allocation length 32, and takes the current profile
    # from bytes 6-7 of the feature header (MMC-3, GET CONFIGURATION)
    m = cd
    packet(m, [0x46, 0, 0, 0, 0, 0, 0, 0, 32])
    data, status = pio_read_all(m)
    assert not status & ERR
    length, current = struct.unpack(">I2xH", data[:8])
    assert length == len(data) - 4                          # bytes after the length field
    assert current == 0x0008                                # CD-ROM
    # the first descriptor is the Profile List feature (0000h): persistent and
    # current, its additional length a multiple of 4, one 4-byte descriptor per profile
    code, flags, add = struct.unpack(">HBB", data[8:12])
    assert code == 0x0000 and flags & 0x03 == 0x03 and add % 4 == 0 and add >= 4
    profiles = {struct.unpack(">H", data[k:k + 2])[0]: data[k + 2] & 0x01 for k in range(12, 12 + add, 4)}
    assert profiles.get(0x0008) == 1                        # CD-ROM, CurrentP set
    # a short allocation length cuts the data, not the length field
    packet(m, [0x46, 0, 0, 0, 0, 0, 0, 0, 8])
    short, _ = pio_read_all(m)
    assert short == data[:8]


def test_get_configuration_without_a_disc_has_no_current_profile():
    # a drive answers it with no medium too (MMC-3: with no current profile the
    # field is 0000h), and then no profile is marked current
    m = BoardMachine(drives={2: (DriveSpec(media="cdrom"), None)})
    packet(m, [0x46, 0, 0, 0, 0, 0, 0, 0, 32])
    data, status = pio_read_all(m)
    assert not status & ERR
    assert struct.unpack(">H", data[6:8])[0] == 0
    add = data[11]
    assert all(not data[k + 2] & 0x01 for k in range(12, 12 + add, 4))


def test_get_configuration_claims_no_mrw_or_defect_management(cd):
    # cdrom_is_mrw and cdrom_has_defect_mgt ask from feature 0028h (MRW) and 0024h
    # (hardware defect management) and believe the drive has it when the first
    # descriptor carries that code: a read-only drive must not have it there
    m = cd
    for feature in (0x0028, 0x0024):
        packet(m, [0x46, 0, feature >> 8, feature & 0xFF, 0, 0, 0, 0, 16])
        data, status = pio_read_all(m)
        assert not status & ERR
        assert len(data) < 10 or struct.unpack(">H", data[8:10])[0] != feature


def mode_sense_2a(m, alloc=128):
    """MODE SENSE (10) for page 2Ah as drivers/scsi/scsi_lib.c scsi_mode_sense sends
    it for sr's get_capabilities (DBD 0, PC 0, 128-byte allocation length)."""
    packet(m, [0x5A, 0, 0x2A, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF])
    return pio_read_all(m)


def check_capabilities_page(data):
    # the mode parameter header (10) (SPC-3): mode data length counts the
    # bytes after itself; no block descriptors, so the page starts at byte 8
    assert struct.unpack(">H", data[:2])[0] + 2 == len(data)
    assert struct.unpack(">H", data[6:8])[0] == 0
    page = data[8:]
    assert page[0] & 0x3F == 0x2A and page[1] == len(page) - 2 and page[1] >= 18
    # what sr.c reads at n = 8 (MMC-2 5.5.10, CD capabilities and mechanical status):
    assert page[2] & 0x01                                   # reads CD-R
    assert page[3] == 0                                     # writes nothing: a read-only drive
    assert page[6] >> 5 == 1                                # tray loading mechanism
    assert page[6] & 0x08                                   # eject (else sr masks CDC_OPEN_TRAY)
    assert page[6] & 0x01                                   # lock (PREVENT ALLOW MEDIUM REMOVAL works)
    assert struct.unpack(">H", page[8:10])[0] // 176 >= 1   # maximum read speed, in 176 kB/s units
    assert struct.unpack(">H", page[14:16])[0] // 176 >= 1  # current read speed


def test_mode_sense10_capabilities_page_as_sr_reads_it(cd):
    m = cd
    data, status = mode_sense_2a(m)
    assert not status & ERR
    check_capabilities_page(data)
    # all pages (3Fh) include it; a short allocation length keeps the length field
    packet(m, [0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 128])
    every, _ = pio_read_all(m)
    assert every == data
    packet(m, [0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 8])
    short, _ = pio_read_all(m)
    assert short == data[:8]


def test_mode_sense10_works_without_a_disc():
    # sr probes the drive when it may be empty: a failure here would make it
    # report a "scsi-1 drive" without its capabilities
    m = BoardMachine(drives={2: (DriveSpec(media="cdrom"), None)})
    data, status = mode_sense_2a(m)
    assert not status & ERR
    check_capabilities_page(data)


def test_mode_sense10_unsupported_page_is_an_invalid_field(cd):
    # SPC-3, MODE SENSE: a page the drive does not have is ILLEGAL REQUEST, INVALID FIELD
    # IN CDB (24h); an invalid opcode (20h) would instead make scsi_mode_sense
    # retry with MODE SENSE (6), which a PACKET device need not take
    m = cd
    packet(m, [0x5A, 0, 0x1D, 0, 0, 0, 0, 0, 128])
    assert irq15(m)
    s = m.io.read(STATUS, 1)
    assert s & ERR and not s & DRQ
    assert m.io.read(ERROR, 1) >> 4 == 0x05
    packet(m, [0x03, 0, 0, 0, 18])
    sense, _ = pio_read_all(m)
    assert (sense[2] & 0x0F, sense[12]) == (0x05, 0x24)
