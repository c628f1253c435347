"""An ATA hard disk: the command set of ATA/ATAPI-6 that PC firmware and
Linux's libata use, on a disk image (emu/block).

Addressing: LBA (device register bit 6) or CHS through the current geometry
(INITIALIZE DEVICE PARAMETERS; 6.2.1: LBA = (cylinder x heads + head) x
sectors per track + sector - 1); the 48-bit commands take the LBA and count
from both halves of the register FIFOs (6.20).  A command reaching past the
end of the disk fails with IDNF and the first unreachable address in the LBA
registers; an unknown command fails with ABRT (6.2.2).

Writes reach the image (and so the host's page cache) before the command
completes; FLUSH CACHE fsyncs the image, and with the write cache turned off
(SET FEATURES 82h) every write is followed by an fsync (docs/disks.md).
"""
from .ata import ABRT, IDNF, LBA_MODE
from .ata_identify import MAX_MULTIPLE, default_geometry, disk_identify

SECTOR = 512

# command opcodes (ATA/ATAPI-6 table 48; 2xh/3xh retry variants are the same)
READ_SECTORS, READ_SECTORS_EXT, READ_DMA_EXT, READ_MULTIPLE_EXT = 0x20, 0x24, 0x25, 0x29
READ_NATIVE_MAX_EXT = 0x27
WRITE_SECTORS, WRITE_SECTORS_EXT, WRITE_DMA_EXT, WRITE_MULTIPLE_EXT = 0x30, 0x34, 0x35, 0x39
READ_VERIFY, READ_VERIFY_EXT = 0x40, 0x42
SEEK, EXECUTE_DIAGNOSTIC, INITIALIZE_PARAMETERS = 0x70, 0x90, 0x91
READ_MULTIPLE, WRITE_MULTIPLE, SET_MULTIPLE = 0xC4, 0xC5, 0xC6
READ_DMA, WRITE_DMA = 0xC8, 0xCA
STANDBY_IMMEDIATE, IDLE_IMMEDIATE, STANDBY, IDLE, CHECK_POWER_MODE, SLEEP = 0xE0, 0xE1, 0xE2, 0xE3, 0xE5, 0xE6
FLUSH_CACHE, FLUSH_CACHE_EXT, IDENTIFY_DEVICE, SET_FEATURES = 0xE7, 0xEA, 0xEC, 0xEF
READ_NATIVE_MAX = 0xF8

# SET FEATURES subcommands (8.37)
SF_WRITE_CACHE_ON, SF_TRANSFER_MODE, SF_WRITE_CACHE_OFF = 0x02, 0x03, 0x82
SF_ACCEPTED = frozenset((0x55, 0xAA, 0x66, 0xCC, 0x05, 0x85, 0x42, 0xC2))   # look-ahead, defaults, APM, AAM


class HardDisk:
    atapi = False

    def __init__(self, image, serial="PYEMU0001"):
        self.image = image
        self.sectors = image.size // SECTOR
        self.geometry = default_geometry(self.sectors)
        self.serial = serial
        self.reset()
        self.write_cache = True
        self.mwdma = self.udma = None

    def reset(self):
        """What a reset sets back: the translation INITIALIZE DEVICE PARAMETERS chose
        stays (ATA/ATAPI-6 9.2 lets a soft reset keep it), so only the power-on values
        are given here the first time."""
        if not hasattr(self, "current_geometry"):
            self.current_geometry = self.geometry
            self.multiple = 0

    def identify(self):
        return disk_identify(self.sectors, self.geometry, self.current_geometry, self.serial,
                             self.multiple, self.write_cache, self.mwdma, self.udma, None)

    # --- addressing ----------------------------------------------------------------------------
    def _address(self, ch, ext):
        """(first LBA, sector count) of the command in the task file, or None (bad CHS)."""
        r = ch.regs
        if ext:
            return r.lba48(), r.count48()
        count = r.count28()
        if r.device & LBA_MODE:
            return r.lba28(), count
        cyls, heads, spt = self.current_geometry
        cyl, head, sector = (r.lbah << 8) | r.lbam, r.device & 0x0F, r.lbal
        if sector == 0 or sector > spt or head >= heads:
            return None
        return (cyl * heads + head) * spt + sector - 1, count

    def _check(self, ch, ext):
        """(lba, count) if the whole range is on the disk; else fail the command (IDNF)."""
        addr = self._address(ch, ext)
        if addr is None:
            ch.fail(IDNF)
            return None
        lba, count = addr
        if lba + count > self.sectors:
            ch.regs.set_lba(min(lba, self.sectors), ext)
            ch.fail(IDNF)
            return None
        return addr

    def _read(self, lba, count):
        return self.image.read(lba * SECTOR, count * SECTOR)

    def _write(self, lba, data):
        self.image.write(lba * SECTOR, data)
        if not self.write_cache:
            self.image.flush()

    # --- commands -------------------------------------------------------------------------------
    def execute(self, ch, cmd):
        handler = COMMANDS.get(cmd)
        if handler is None:
            ch.fail(ABRT)
            return
        handler(self, ch, cmd)

    def cmd_read_pio(self, ch, cmd):
        ext = cmd in (READ_SECTORS_EXT, READ_MULTIPLE_EXT)
        multiple = cmd in (READ_MULTIPLE, READ_MULTIPLE_EXT)
        if multiple and not self.multiple:
            ch.fail(ABRT)
            return
        addr = self._check(ch, ext)
        if addr is None:
            return
        lba, count = addr
        block = self.multiple if multiple else 1
        state = {"lba": lba, "left": count}

        def next_block():
            if state["left"] == 0:
                ch.complete(interrupt=False)     # data-in: no interrupt after the last block
                return
            n = min(block, state["left"])
            data = self._read(state["lba"], n)
            state["lba"] += n
            state["left"] -= n
            ch.regs.set_lba(state["lba"] - 1, ext)
            ch.data_in(data, next_block)

        next_block()

    def _read_only(self, ch):
        """A read-only image (readonly=on): writes fail with ABRT (a fixed ATA disk has
        no write protection of its own to report; the guest sees an I/O error)."""
        if self.image.readonly:
            ch.fail(ABRT)
            return True
        return False

    def cmd_write_pio(self, ch, cmd):
        if self._read_only(ch):
            return
        ext = cmd in (WRITE_SECTORS_EXT, WRITE_MULTIPLE_EXT)
        multiple = cmd in (WRITE_MULTIPLE, WRITE_MULTIPLE_EXT)
        if multiple and not self.multiple:
            ch.fail(ABRT)
            return
        addr = self._check(ch, ext)
        if addr is None:
            return
        lba, count = addr
        block = self.multiple if multiple else 1
        state = {"lba": lba, "left": count}

        def want_block(first):
            n = min(block, state["left"])
            ch.data_out(n * SECTOR, got_block, interrupt=not first)

        def got_block(data):
            self._write(state["lba"], data)
            n = len(data) // SECTOR
            state["lba"] += n
            state["left"] -= n
            ch.regs.set_lba(state["lba"] - 1, ext)
            if state["left"]:
                want_block(False)
            else:
                ch.complete()

        want_block(True)

    def cmd_read_dma(self, ch, cmd):
        ext = cmd == READ_DMA_EXT
        addr = self._check(ch, ext)
        if addr is None:
            return
        lba, count = addr
        data = self._read(lba, count)

        def done():
            ch.regs.set_lba(lba + count - 1, ext)
            ch.complete()

        ch.dma_in(data, done)

    def cmd_write_dma(self, ch, cmd):
        if self._read_only(ch):
            return
        ext = cmd == WRITE_DMA_EXT
        addr = self._check(ch, ext)
        if addr is None:
            return
        lba, count = addr

        def done(data):
            self._write(lba, data)
            ch.regs.set_lba(lba + count - 1, ext)
            ch.complete()

        ch.dma_out(count * SECTOR, done)

    def cmd_verify(self, ch, cmd):
        if self._check(ch, cmd == READ_VERIFY_EXT) is not None:
            ch.complete()

    def cmd_identify(self, ch, cmd):
        ch.data_in(self.identify(), lambda: ch.complete(interrupt=False))

    def cmd_set_multiple(self, ch, cmd):
        n = ch.regs.nsect
        # 8.39: a count that is not a supported block size (a power of two up to
        # IDENTIFY word 47) is aborted; 0 turns multiple mode off
        if n and (n > MAX_MULTIPLE or n & (n - 1)):
            ch.fail(ABRT)
            return
        self.multiple = n
        ch.complete()

    def cmd_initialize_parameters(self, ch, cmd):
        r = ch.regs
        heads, spt = (r.device & 0x0F) + 1, r.nsect
        if spt == 0:
            ch.fail(ABRT)
            return
        cyls = max(1, min(65535, self.sectors // (heads * spt)))
        self.current_geometry = (cyls, heads, spt)
        ch.complete()

    def cmd_set_features(self, ch, cmd):
        r = ch.regs
        sub = r.feature
        if sub == SF_WRITE_CACHE_ON:
            self.write_cache = True
        elif sub == SF_WRITE_CACHE_OFF:
            self.write_cache = False
            self.image.flush()
        elif sub == SF_TRANSFER_MODE:
            mode = r.nsect
            kind, n = mode >> 3, mode & 7
            if kind in (0, 1) and n <= 4:             # PIO default / PIO mode n
                pass
            elif kind == 4 and n <= 2:                # multiword DMA n
                self.mwdma, self.udma = n, None
            elif kind == 8 and n <= 5:                # Ultra DMA n
                self.udma, self.mwdma = n, None
            else:
                ch.fail(ABRT)
                return
        elif sub not in SF_ACCEPTED:
            ch.fail(ABRT)
            return
        ch.complete()

    def cmd_flush(self, ch, cmd):
        self.image.flush()
        ch.complete()

    def cmd_native_max(self, ch, cmd):
        ext = cmd == READ_NATIVE_MAX_EXT
        ch.regs.set_lba(self.sectors - 1, ext)
        ch.complete()

    def cmd_check_power(self, ch, cmd):
        ch.regs.nsect = 0xFF                         # active or idle (8.6)
        ch.complete()

    def cmd_nothing(self, ch, cmd):
        ch.complete()

    def cmd_diagnostic(self, ch, cmd):
        ch.execute_diagnostic()


COMMANDS = {}
for _op in (READ_SECTORS, READ_SECTORS + 1, READ_SECTORS_EXT, READ_MULTIPLE, READ_MULTIPLE_EXT):
    COMMANDS[_op] = HardDisk.cmd_read_pio
for _op in (WRITE_SECTORS, WRITE_SECTORS + 1, WRITE_SECTORS_EXT, WRITE_MULTIPLE, WRITE_MULTIPLE_EXT):
    COMMANDS[_op] = HardDisk.cmd_write_pio
for _op in (READ_DMA, READ_DMA + 1, READ_DMA_EXT):
    COMMANDS[_op] = HardDisk.cmd_read_dma
for _op in (WRITE_DMA, WRITE_DMA + 1, WRITE_DMA_EXT):
    COMMANDS[_op] = HardDisk.cmd_write_dma
for _op in (READ_VERIFY, READ_VERIFY + 1, READ_VERIFY_EXT):
    COMMANDS[_op] = HardDisk.cmd_verify
for _op in list(range(0x10, 0x20)) + [SEEK, STANDBY_IMMEDIATE, IDLE_IMMEDIATE, STANDBY, IDLE, SLEEP]:
    COMMANDS[_op] = HardDisk.cmd_nothing          # recalibrate, seek, power management
COMMANDS.update({
    IDENTIFY_DEVICE: HardDisk.cmd_identify,
    SET_MULTIPLE: HardDisk.cmd_set_multiple,
    INITIALIZE_PARAMETERS: HardDisk.cmd_initialize_parameters,
    SET_FEATURES: HardDisk.cmd_set_features,
    FLUSH_CACHE: HardDisk.cmd_flush,
    FLUSH_CACHE_EXT: HardDisk.cmd_flush,
    READ_NATIVE_MAX: HardDisk.cmd_native_max,
    READ_NATIVE_MAX_EXT: HardDisk.cmd_native_max,
    CHECK_POWER_MODE: HardDisk.cmd_check_power,
    EXECUTE_DIAGNOSTIC: HardDisk.cmd_diagnostic,
})
