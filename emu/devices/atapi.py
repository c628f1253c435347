"""An ATAPI CD-ROM drive (-cdrom): the PACKET command protocol of ATA/ATAPI-6
(section 9.10-9.11) carrying the SCSI commands Linux's sr driver and El
Torito boot code send (SPC-3 and MMC: TEST UNIT READY, REQUEST SENSE,
INQUIRY, READ CAPACITY, READ (10)/(12), READ TOC, GET CONFIGURATION, MODE
SENSE (10), START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL).

The protocol: the host writes PACKET (A0h) with features bit 0 = DMA; the
drive asks for the 12-byte command packet (DRQ, sector count = 01h: CoD=1,
I/O=0); data then moves by DMA, or by PIO in DRQ blocks no larger than the
byte count the host put in LBA mid/high, each announced by INTRQ with sector
count = 02h (I/O=1) and the block's length in LBA mid/high; at the end sector
count = 03h (CoD=1, I/O=1), status DRDY, INTRQ.  A command that fails ends
with CHECK CONDITION: ERR in status, the sense key in error bits 7:4, the
sense data kept for REQUEST SENSE.

Sense keys and codes (SPC-3 4.5.6): NOT READY 02h / 3Ah "medium not
present"; ILLEGAL REQUEST 05h / 20h "invalid command operation code", 24h
"invalid field in CDB", 21h "logical block address out of range".
"""
import struct

from .ata import ABRT
from .ata_identify import cdrom_identify

BLOCK = 2048

NO_SENSE, NOT_READY, ILLEGAL_REQUEST = 0x00, 0x02, 0x05
ASC_NO_MEDIUM, ASC_INVALID_OPCODE, ASC_LBA_RANGE, ASC_INVALID_FIELD = 0x3A, 0x20, 0x21, 0x24

# ATA commands a PACKET device takes
DEVICE_RESET, PACKET, IDENTIFY_PACKET = 0x08, 0xA0, 0xA1
IDENTIFY_DEVICE, SET_FEATURES, CHECK_POWER_MODE, EXECUTE_DIAGNOSTIC = 0xEC, 0xEF, 0xE5, 0x90
IDLE_IMMEDIATE, STANDBY_IMMEDIATE, NOP, FLUSH_CACHE = 0xE1, 0xE0, 0x00, 0xE7

# interrupt reason (sector count register)
REASON_COMMAND, REASON_DATA_IN, REASON_DONE = 0x01, 0x02, 0x03


class CheckCondition(Exception):
    def __init__(self, key, asc, ascq=0):
        super().__init__(key, asc, ascq)
        self.key, self.asc, self.ascq = key, asc, ascq


class CdRom:
    atapi = True

    def __init__(self, image, serial="PYEMU0003"):
        self.image = image               # None: no disc in the drive
        self.serial = serial
        self.sense = (NO_SENSE, 0, 0)
        self.mwdma = self.udma = None

    @property
    def blocks(self):
        return self.image.size // BLOCK if self.image is not None else 0

    def reset(self):
        pass

    # --- ATA commands ------------------------------------------------------------------------
    def execute(self, ch, cmd):
        if cmd == PACKET:
            dma = bool(ch.regs.feature & 0x01)
            ch.regs.nsect = REASON_COMMAND
            ch.data_out(12, lambda cdb: self._packet(ch, cdb, dma), interrupt=False)
        elif cmd == IDENTIFY_PACKET:
            ch.data_in(cdrom_identify(self.serial, self.mwdma, self.udma),
                       lambda: ch.complete(interrupt=False))
        elif cmd == DEVICE_RESET:
            ch.reset_device()
        elif cmd == EXECUTE_DIAGNOSTIC:
            ch.execute_diagnostic()
        elif cmd == SET_FEATURES:
            if ch.regs.feature == 0x03:
                mode = ch.regs.nsect
                if mode >> 3 == 4:
                    self.mwdma, self.udma = mode & 7, None
                elif mode >> 3 == 8:
                    self.udma, self.mwdma = mode & 7, None
            ch.complete()
        elif cmd == CHECK_POWER_MODE:
            ch.regs.nsect = 0xFF
            ch.complete()
        elif cmd in (IDLE_IMMEDIATE, STANDBY_IMMEDIATE, FLUSH_CACHE):
            ch.complete()
        else:
            # IDENTIFY DEVICE and the rest: abort, leaving the PACKET signature in
            # the registers, so software tells this device from a disk (ATA/ATAPI-6 8.15)
            r = ch.regs
            r.nsect, r.lbal, r.lbam, r.lbah = 1, 1, 0x14, 0xEB
            ch.fail(ABRT)

    # --- the packet -----------------------------------------------------------------------------
    def _packet(self, ch, cdb, dma):
        try:
            data = self.scsi(cdb)
        except CheckCondition as e:
            self.sense = (e.key, e.asc, e.ascq)
            ch.regs.nsect = REASON_DONE
            ch.fail(error=(e.key << 4) | (ABRT if e.key == ILLEGAL_REQUEST else 0))
            return
        self.sense = (NO_SENSE, 0, 0)
        if not data:
            self._done(ch)
        elif dma:
            ch.dma_in(data, lambda: self._done(ch))
        else:
            self._pio(ch, data)

    def _done(self, ch):
        ch.regs.nsect = REASON_DONE
        ch.complete()

    def _pio(self, ch, data):
        r = ch.regs
        limit = (r.lbah << 8) | r.lbam
        if limit == 0 or limit == 0xFFFF:
            limit = 0xFFFE                       # 0 is not allowed; an odd limit is rounded down
        limit &= ~1
        state = {"pos": 0}

        def next_block():
            pos = state["pos"]
            if pos >= len(data):
                self._done(ch)
                return
            chunk = data[pos:pos + limit]
            state["pos"] = pos + len(chunk)
            r.nsect = REASON_DATA_IN
            r.lbam, r.lbah = len(chunk) & 0xFF, len(chunk) >> 8
            ch.data_in(chunk, next_block)

        next_block()

    # --- SCSI commands ---------------------------------------------------------------------------
    def scsi(self, cdb):
        """Run one command descriptor block; the data to return (possibly empty), or
        CheckCondition."""
        op = cdb[0]
        handler = SCSI_COMMANDS.get(op)
        if handler is None:
            raise CheckCondition(ILLEGAL_REQUEST, ASC_INVALID_OPCODE)
        return handler(self, cdb)

    def _need_medium(self):
        if self.image is None:
            raise CheckCondition(NOT_READY, ASC_NO_MEDIUM)

    def test_unit_ready(self, cdb):
        self._need_medium()
        return b""

    def request_sense(self, cdb):
        key, asc, ascq = self.sense
        data = bytearray(18)
        data[0] = 0x70                           # current error, fixed format
        data[2] = key
        data[7] = 10                             # additional sense length
        data[12], data[13] = asc, ascq
        return bytes(data[:cdb[4]])

    def inquiry(self, cdb):
        if cdb[1] & 0x01:                        # vital product data pages: none
            raise CheckCondition(ILLEGAL_REQUEST, ASC_INVALID_FIELD)
        data = bytearray(36)
        data[0] = 0x05                           # CD/DVD device
        data[1] = 0x80                           # removable medium
        data[2] = 0x05                           # SPC-3
        data[3] = 0x02                           # response data format 2
        data[4] = 31                             # additional length
        data[8:16] = b"PYEMU   "
        data[16:32] = b"DVD-ROM         "
        data[32:36] = b"1.0 "
        return bytes(data[:struct.unpack(">H", cdb[3:5])[0]])

    def read_capacity(self, cdb):
        self._need_medium()
        return struct.pack(">II", max(self.blocks - 1, 0), BLOCK)

    def _read(self, lba, count):
        self._need_medium()
        if lba + count > self.blocks:
            raise CheckCondition(ILLEGAL_REQUEST, ASC_LBA_RANGE)
        return self.image.read(lba * BLOCK, count * BLOCK)

    def read10(self, cdb):
        lba, count = struct.unpack(">I", cdb[2:6])[0], struct.unpack(">H", cdb[7:9])[0]
        return self._read(lba, count)

    def read12(self, cdb):
        lba, count = struct.unpack(">II", cdb[2:10])
        return self._read(lba, count)

    def read_toc(self, cdb):
        """READ TOC/PMA/ATIP (MMC 6.26) formats 0 (the TOC: track 1 from LBA 0 and
        the lead-out) and 1 (session information); MSF (byte 1 bit 1) or LBA."""
        self._need_medium()
        msf = bool(cdb[1] & 0x02)
        fmt = cdb[2] & 0x0F or (cdb[9] >> 6)
        alloc = struct.unpack(">H", cdb[7:9])[0]

        def address(lba):
            if not msf:
                return struct.pack(">I", lba)
            frames = lba + 150
            return bytes((0, frames // (75 * 60), (frames // 75) % 60, frames % 75))

        if fmt == 0:
            body = bytes((0, 0x14, 1, 0)) + address(0)               # track 1: data, ADR 1
            body += bytes((0, 0x16, 0xAA, 0)) + address(self.blocks)  # lead-out
            data = struct.pack(">HBB", len(body) + 2, 1, 1) + body
        elif fmt == 1:
            body = bytes((0, 0x14, 1, 0)) + address(0)
            data = struct.pack(">HBB", len(body) + 2, 1, 1) + body
        else:
            raise CheckCondition(ILLEGAL_REQUEST, ASC_INVALID_FIELD)
        return data[:alloc]

    def get_configuration(self, cdb):
        """GET CONFIGURATION (MMC 6.6): the feature header, current profile CD-ROM
        (0008h) with a disc in, and the profile list feature."""
        alloc = struct.unpack(">H", cdb[7:9])[0]
        profile = 0x0008 if self.image is not None else 0
        feature = struct.pack(">HBB", 0x0000, 0x03, 4) + struct.pack(">HBB", 0x0008, 0x01 if profile else 0, 0)
        data = struct.pack(">IHH", 4 + len(feature), 0, profile) + feature
        return data[:alloc]

    def mode_sense10(self, cdb):
        """MODE SENSE (10): the CD capabilities page 2Ah (MMC-2 5.5.10): reads CD-R,
        audio play, eject, 2048-byte blocks; other pages are not there."""
        page = cdb[2] & 0x3F
        alloc = struct.unpack(">H", cdb[7:9])[0]
        if page not in (0x2A, 0x3F):
            raise CheckCondition(ILLEGAL_REQUEST, ASC_INVALID_FIELD)
        caps = bytearray(20)
        caps[0], caps[1] = 0x2A, 18
        caps[2] = 0x01                           # reads CD-R
        caps[4] = 0x01                           # audio play
        caps[6] = 0x29                           # lock, eject, tray loading mechanism
        struct.pack_into(">H", caps, 8, 706)     # maximum read speed (KB/s): 4x
        struct.pack_into(">H", caps, 14, 706)    # current read speed
        data = struct.pack(">HBBHH", 6 + len(caps), 0x70 if self.image is None else 0x01, 0, 0, 0)
        return (data + bytes(caps))[:alloc]

    def nothing(self, cdb):
        return b""


SCSI_COMMANDS = {
    0x00: CdRom.test_unit_ready,
    0x03: CdRom.request_sense,
    0x12: CdRom.inquiry,
    0x1B: CdRom.nothing,                         # START STOP UNIT
    0x1E: CdRom.nothing,                         # PREVENT ALLOW MEDIUM REMOVAL
    0x25: CdRom.read_capacity,
    0x28: CdRom.read10,
    0x2B: CdRom.nothing,                         # SEEK (10)
    0x43: CdRom.read_toc,
    0x46: CdRom.get_configuration,
    0x5A: CdRom.mode_sense10,
    0xA8: CdRom.read12,
    0xBB: CdRom.nothing,                         # SET CD SPEED
}
