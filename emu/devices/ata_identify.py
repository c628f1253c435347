"""The 512-byte IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data (ATA/ATAPI-6,
8.15 and 8.16; word numbers below are that standard's).

Strings (serial number, firmware revision, model) are ASCII with the two bytes
of each word swapped (ATA/ATAPI-6 3.2.9), padded with spaces.  Word 255 is the
integrity word: 0xA5 in its low byte and, in its high byte, the value that
makes the 512 bytes sum to 0 modulo 256 (Linux checks it when the 0xA5 is
there).
"""
import struct

MAX_MULTIPLE = 16              # sectors per DRQ block READ/WRITE MULTIPLE allows (word 47)


def ata_string(text, words):
    raw = text.encode("ascii")[:2 * words].ljust(2 * words, b" ")
    return [(raw[2 * k] << 8) | raw[2 * k + 1] for k in range(words)]


def _put_string(w, first, text, words):
    w[first:first + words] = ata_string(text, words)


def _finish(w):
    w[255] = 0x00A5
    data = bytearray(struct.pack("<256H", *w))
    data[511] = (-sum(data[:511])) & 0xFF
    return bytes(data)


def disk_identify(sectors, geometry, current_geometry, serial, multiple, write_cache,
                  mwdma_selected, udma_selected, pio_mode, model="PYEMU HARDDISK"):
    """IDENTIFY DEVICE for a hard disk of `sectors` 512-byte sectors.

    geometry / current_geometry: (cylinders, heads, sectors per track), the
    default and the one INITIALIZE DEVICE PARAMETERS chose; multiple: the
    current READ/WRITE MULTIPLE block size (0: not set); mwdma_selected /
    udma_selected: the DMA mode SET FEATURES chose (or None)."""
    w = [0] * 256
    cyls, heads, spt = geometry
    w[0] = 0x0040                        # fixed, not removable, ATA device
    w[1], w[3], w[6] = cyls, heads, spt
    _put_string(w, 10, serial, 10)
    _put_string(w, 23, "1.0", 4)
    _put_string(w, 27, model, 20)
    w[47] = 0x8000 | MAX_MULTIPLE
    w[49] = (1 << 9) | (1 << 8)          # LBA, DMA
    w[50] = 0x4000
    w[51] = 0x0200                       # PIO timing mode 2 (obsolete field)
    w[53] = 0x0007                       # words 54-58, 64-70 and 88 are valid
    ccyls, cheads, cspt = current_geometry
    w[54], w[55], w[56] = ccyls, cheads, cspt
    chs_capacity = min(ccyls * cheads * cspt, sectors)
    w[57], w[58] = chs_capacity & 0xFFFF, chs_capacity >> 16
    w[59] = (0x100 | multiple) if multiple else 0
    lba28 = min(sectors, 0x0FFFFFFF)
    w[60], w[61] = lba28 & 0xFFFF, lba28 >> 16
    w[63] = 0x0007 | ((1 << (8 + mwdma_selected)) if mwdma_selected is not None else 0)
    w[64] = 0x0003                       # PIO modes 3 and 4
    w[65] = w[66] = w[67] = w[68] = 120  # cycle times in ns (mode 2 DMA, PIO 4)
    w[80] = 0x007E                       # ATA-1 .. ATA-6
    # command sets supported (82-84) and enabled (85-87): write cache (82.5),
    # NOP is not claimed; 83: 48-bit LBA (10), FLUSH CACHE (12), FLUSH CACHE
    # EXT (13), bit 14 always one; 84: bit 14 always one
    w[82] = 1 << 5
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)
    w[84] = 1 << 14
    w[85] = (1 << 5) if write_cache else 0
    w[86] = (1 << 13) | (1 << 12) | (1 << 10)
    w[87] = 1 << 14
    w[88] = 0x003F | ((1 << (8 + udma_selected)) if udma_selected is not None else 0)   # UDMA 0-5
    w[93] = 0x6001 | (1 << 14)           # hardware reset result: device 0, CBLID- above VIH (80 wires)
    w[100], w[101] = sectors & 0xFFFF, (sectors >> 16) & 0xFFFF
    w[102], w[103] = (sectors >> 32) & 0xFFFF, (sectors >> 48) & 0xFFFF
    return _finish(w)


def cdrom_identify(serial, mwdma_selected, udma_selected, model="PYEMU DVD-ROM"):
    """IDENTIFY PACKET DEVICE for a CD-ROM drive (ATA/ATAPI-6 8.16): word 0 says
    ATAPI (bits 15:14 = 10), device type 05h (CD-ROM), removable (bit 7),
    12-byte packets, DRQ within 50 us of the PACKET command (bits 6:5 = 10)."""
    w = [0] * 256
    w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5)
    _put_string(w, 10, serial, 10)
    _put_string(w, 23, "1.0", 4)
    _put_string(w, 27, model, 20)
    w[49] = (1 << 9) | (1 << 8)          # LBA, DMA
    w[53] = 0x0007
    w[63] = 0x0007 | ((1 << (8 + mwdma_selected)) if mwdma_selected is not None else 0)
    w[64] = 0x0003
    w[65] = w[66] = w[67] = w[68] = 120
    w[71], w[72] = 30, 30                # packet and service release times (ns)
    w[80] = 0x007E
    w[82] = (1 << 14) | (1 << 4)         # NOP, PACKET command set
    w[83] = 1 << 14
    w[84] = 1 << 14
    w[85] = (1 << 14) | (1 << 4)
    w[86] = 0
    w[87] = 1 << 14
    w[88] = 0x003F | ((1 << (8 + udma_selected)) if udma_selected is not None else 0)
    w[93] = 0x6001 | (1 << 14)
    return _finish(w)


def default_geometry(sectors):
    """The CHS geometry a disk reports (IDENTIFY words 1, 3, 6): 16 heads and 63
    sectors per track, as many cylinders as fit, at most 16383 (ATA/ATAPI-6
    6.2.1: larger disks report 16383/16/63); tiny disks get fewer heads."""
    spt = 63
    heads = 16
    if sectors < 16 * 63:
        heads = max(1, sectors // spt) if sectors >= spt else 1
        spt = min(spt, sectors) or 1
    cyls = max(1, min(16383, sectors // (heads * spt)))
    return cyls, heads, spt
