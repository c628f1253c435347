"""An IDE channel: the ATA command and control block registers of two devices
(device 0, "master", and device 1, "slave"), PIO data transfer, the interrupt
line, software reset, and the hand-off of DMA commands to the bus master.

What each drive does with a command is in ata_disk.py (hard disks) and
atapi.py (CD-ROM); this file is the part both share.  Facts from ATA/ATAPI-6
(T13 1410D):

- Command block (7.1): data (16 bits; the PIIX also passes 32-bit accesses),
  error / features, sector count, LBA low, LBA mid, LBA high, device,
  status / command; control block: alternate status / device control.
- Every device latches what the host writes to the command block registers,
  but only the selected one (device register bit 4) answers reads and
  executes the command (7.1.2; writing the command register of a device that
  is not there does nothing).  Reads of an absent device return 0 here: the
  standard asks hosts for a pull-down on DD7 (BSY), and QEMU answers 0 too.
- 48-bit addressing (6.20): each of features, sector count and LBA low/mid/high
  is a two-deep FIFO, "previous content" and "most recently written"; with
  HOB (device control bit 7) set, reads return the previous content.  A write
  to any command block register clears HOB.
- The status register's read acknowledges the device's interrupt (INTRQ);
  reading alternate status does not (7.15, 7.2).  INTRQ reaches the host only
  while nIEN (device control bit 1) is 0 and only from the selected device.
- Software reset (9.2, 9.3): SRST set makes both devices busy; SRST cleared
  ends the reset: each device leaves its signature in its registers (sector
  count 01h, LBA low 01h, LBA mid/high 00h/00h for ATA, 14h/EBh for a PACKET
  device), error 01h (diagnostics passed), status DRDY for ATA and 00h for a
  PACKET device.

The drives finish a command at once (the host never sees BSY after it writes
a command); a data-in command raises INTRQ for each DRQ data block, a data-out
command after each block but the first and at the end, a DMA command when
the bus master has moved all the data (ATA/ATAPI-6 9.5-9.8).
"""
from .base import Device

# status register
BSY, DRDY, DF, DSC, DRQ, CORR, IDX, ERR = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
# error register
ABRT, IDNF, UNC = 0x04, 0x10, 0x40
# device control register
NIEN, SRST, HOB = 0x02, 0x04, 0x80
# device register
DEV, LBA_MODE = 0x10, 0x40

REG_DATA, REG_ERROR, REG_NSECT, REG_LBAL, REG_LBAM, REG_LBAH, REG_DEVICE, REG_STATUS = range(8)
FIFO_REGS = ("feature", "nsect", "lbal", "lbam", "lbah")

PRIMARY = (0x1F0, 0x3F6, 14)         # command block, control block, ISA IRQ (legacy mode)
SECONDARY = (0x170, 0x376, 15)


class TaskFile:
    """One device's registers (what it latched), with the 48-bit "previous" copies."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.feature = self.nsect = self.lbal = self.lbam = self.lbah = 0
        self.hob_feature = self.hob_nsect = self.hob_lbal = self.hob_lbam = self.hob_lbah = 0
        self.device = 0
        self.status = 0
        self.error = 0
        self.pending = False             # the device asserts INTRQ

    def write(self, name, value):
        setattr(self, "hob_" + name, getattr(self, name))
        setattr(self, name, value)

    def lba28(self):
        return ((self.device & 0x0F) << 24) | (self.lbah << 16) | (self.lbam << 8) | self.lbal

    def lba48(self):
        return ((self.hob_lbah << 40) | (self.hob_lbam << 32) | (self.hob_lbal << 24)
                | (self.lbah << 16) | (self.lbam << 8) | self.lbal)

    def count28(self):
        return self.nsect or 256

    def count48(self):
        return ((self.hob_nsect << 8) | self.nsect) or 65536

    def set_lba(self, lba, lba48):
        """Write an LBA back (the address of an error, READ NATIVE MAX ADDRESS)."""
        self.lbal, self.lbam, self.lbah = lba & 0xFF, (lba >> 8) & 0xFF, (lba >> 16) & 0xFF
        if lba48:
            self.hob_lbal, self.hob_lbam, self.hob_lbah = (lba >> 24) & 0xFF, (lba >> 32) & 0xFF, (lba >> 40) & 0xFF
        else:
            self.device = (self.device & 0xF0) | ((lba >> 24) & 0x0F)


class Transfer:
    """A PIO data block in progress: the host reads `data` (data-in) or fills
    `data` (data-out) through the data register; `then` runs when it is done."""

    def __init__(self, data, then, out):
        self.data = data
        self.pos = 0
        self.then = then
        self.out = out


class DmaRequest:
    """A DMA command waiting for the bus master: data-in carries the bytes for
    memory, data-out the number of bytes wanted; `then` gets the data-out bytes
    (or nothing) once the bus master has moved them."""

    def __init__(self, to_memory, data, length, then):
        self.to_memory = to_memory
        self.data = data
        self.length = length
        self.then = then


class AtaChannel(Device):
    """One IDE channel.  irq(level) drives its interrupt line; drives is
    (device 0, device 1), each a drive object or None; bus_master (the
    controller's BusMasterChannel for this channel, or None) is told when a
    DMA command is ready, and moves its data."""

    state_version = 1

    def __init__(self, cmd_base, ctl_base, irq, drives=(None, None), name="ide", bus_master=None):
        self.name = name
        self.cmd_base, self.ctl_base = cmd_base, ctl_base
        self.ports = ((cmd_base, 8), (ctl_base, 1))
        self.irq = irq
        self.drives = list(drives)
        self.bus_master = bus_master
        if bus_master is not None:
            bus_master.serve(self)
        self.tf = [TaskFile(), TaskFile()]
        self.control = 0
        self.selected = 0
        self.transfer = None
        self.dma = None
        self._line = False
        self.reset()

    # --- the selected device -------------------------------------------------------------
    @property
    def drive(self):
        return self.drives[self.selected]

    @property
    def regs(self):
        """The selected device's task file (what a drive's command works on)."""
        return self.tf[self.selected]

    def reset(self):
        """Power-on / hardware reset: both devices reset, device 0 selected."""
        self.control = 0
        self.selected = 0
        self.transfer = None
        self.dma = None
        for k in range(2):
            self.tf[k].clear()
            self._signature(k)
        self._update_line()

    def _signature(self, k):
        tf, d = self.tf[k], self.drives[k]
        if d is None:
            return
        tf.nsect, tf.lbal = 1, 1
        tf.lbam, tf.lbah = (0x14, 0xEB) if d.atapi else (0, 0)
        tf.device = 0
        tf.error = 0x01
        tf.status = 0 if d.atapi else DRDY | DSC
        d.reset()

    def reset_device(self):
        """DEVICE RESET (ATA/ATAPI-6 8.7): the selected PACKET device resets itself
        and leaves its signature; no interrupt."""
        self.transfer = None
        self.dma = None
        self._signature(self.selected)
        self.tf[self.selected].device = self.selected << 4

    def execute_diagnostic(self):
        """EXECUTE DEVICE DIAGNOSTIC (ATA/ATAPI-6 8.11, 9.10): both devices run their
        diagnostics and leave their signatures, device 0 is selected and interrupts."""
        for k in range(2):
            self._signature(k)
        self.selected = 0
        self.raise_irq()

    # --- interrupt ---------------------------------------------------------------------------------
    def raise_irq(self):
        """The selected device asserts INTRQ (ATA/ATAPI-6 5.2.9)."""
        self.regs.pending = True
        if self.bus_master is not None:
            self.bus_master.device_interrupt()
        self._update_line()

    def _update_line(self):
        level = self.regs.pending and not self.control & NIEN and self.drive is not None
        if level != self._line:
            self._line = level
            if self.irq is not None:
                self.irq(level)

    # --- what drives call to finish or move data -----------------------------------------------
    def complete(self, status=0, interrupt=True):
        """The command ended without error: DRDY (plus `status` bits), INTRQ."""
        self.transfer = None
        self.dma = None
        r = self.regs
        r.status = DRDY | DSC | status
        r.error = 0
        if interrupt:
            self.raise_irq()

    def fail(self, error=ABRT, status=0):
        """The command ended with an error: ERR set, the error register says why."""
        self.transfer = None
        self.dma = None
        r = self.regs
        r.status = DRDY | DSC | ERR | status
        r.error = error
        self.raise_irq()

    def data_in(self, data, then, interrupt=True):
        """A data-in DRQ block: the host reads `data`, then `then()` runs."""
        self.transfer = Transfer(bytearray(data), then, out=False)
        self.regs.status = (self.regs.status & ~(BSY | ERR)) | DRQ | DRDY | DSC
        if interrupt:
            self.raise_irq()

    def data_out(self, length, then, interrupt):
        """A data-out DRQ block of `length` bytes: then(data) runs when the host has
        written them (INTRQ now for every block but the first, ATA/ATAPI-6 9.8)."""
        self.transfer = Transfer(bytearray(length), then, out=True)
        self.regs.status = (self.regs.status & ~(BSY | ERR)) | DRQ | DRDY | DSC
        if interrupt:
            self.raise_irq()

    def dma_in(self, data, then):
        """Device to memory: the bus master takes `data`; then() finishes the command."""
        self._start_dma(DmaRequest(True, bytes(data), len(data), lambda _: then()))

    def dma_out(self, length, then):
        """Memory to device: then(data) gets `length` bytes from the bus master."""
        self._start_dma(DmaRequest(False, None, length, then))

    def _start_dma(self, request):
        self.dma = request
        self.regs.status = (self.regs.status & ~ERR) | DRQ | DRDY | DSC
        if self.bus_master is not None:
            self.bus_master.dma_ready()

    def dma_done(self, data):
        """The bus master moved the data (data: what it read from memory, for data-out)."""
        request, self.dma = self.dma, None
        if request is not None:
            request.then(data)

    # --- register access ------------------------------------------------------------------
    def io_read(self, port, size):
        if port == self.ctl_base:
            return self.regs.status if self.drive is not None else 0
        reg = port - self.cmd_base
        if reg == REG_DATA:
            return self._data_read(size)
        if self.drive is None:
            return 0
        tf = self.regs
        hob = bool(self.control & HOB)
        if reg == REG_ERROR:
            return tf.error                   # not a FIFO: HOB does not matter
        if reg == REG_NSECT:
            return tf.hob_nsect if hob else tf.nsect
        if reg == REG_LBAL:
            return tf.hob_lbal if hob else tf.lbal
        if reg == REG_LBAM:
            return tf.hob_lbam if hob else tf.lbam
        if reg == REG_LBAH:
            return tf.hob_lbah if hob else tf.lbah
        if reg == REG_DEVICE:
            return tf.device | 0xA0            # bits 7 and 5 are obsolete and read 1 on most drives
        # REG_STATUS: reading it acknowledges the interrupt
        status = tf.status
        if tf.pending:
            tf.pending = False
            self._update_line()
        return status

    def io_write(self, port, size, value):
        if port == self.ctl_base:
            self._control_write(value & 0xFF)
            return
        reg = port - self.cmd_base
        if reg == REG_DATA:
            self._data_write(size, value)
            return
        value &= 0xFF
        self.control &= ~HOB
        if REG_ERROR <= reg <= REG_LBAH:
            name = FIFO_REGS[reg - REG_ERROR]
            for tf in self.tf:
                tf.write(name, value)
        elif reg == REG_DEVICE:
            for tf in self.tf:
                tf.device = value & 0x5F
            self.selected = (value >> 4) & 1
            self._update_line()
        else:
            self._command(value)

    def _control_write(self, value):
        old, self.control = self.control, value
        if value & SRST and not old & SRST:
            self.transfer = None
            self.dma = None
            for k in range(2):
                if self.drives[k] is not None:
                    self.tf[k].status = BSY
                self.tf[k].pending = False
        elif old & SRST and not value & SRST:
            for k in range(2):
                self._signature(k)
            self.selected = 0
        self._update_line()

    def _command(self, cmd):
        drive = self.drive
        if drive is None:
            return
        if self.regs.status & BSY and not (drive.atapi and cmd == 0x08):
            return                              # busy: only DEVICE RESET gets through
        self.transfer = None
        self.dma = None
        self.regs.pending = False
        self._update_line()
        drive.execute(self, cmd)

    # --- the data register ---------------------------------------------------------------------------
    def _data_read(self, size):
        t = self.transfer
        if t is None or t.out or self.drive is None:
            return (1 << (8 * size)) - 1
        chunk = t.data[t.pos:t.pos + size]
        t.pos += size
        value = int.from_bytes(chunk.ljust(size, b"\xff"), "little")
        if t.pos >= len(t.data):
            self._block_done(t)
        return value

    def _data_write(self, size, value):
        t = self.transfer
        if t is None or not t.out or self.drive is None:
            return
        n = min(size, len(t.data) - t.pos)
        t.data[t.pos:t.pos + n] = value.to_bytes(size, "little")[:n]
        t.pos += size
        if t.pos >= len(t.data):
            self._block_done(t)

    def _block_done(self, t):
        self.transfer = None
        self.regs.status &= ~DRQ
        if t.out:
            t.then(bytes(t.data))
        else:
            t.then()

    # --- state ----------------------------------------------------------------------------------
    def save_state(self):
        return {"version": self.state_version, "control": self.control, "selected": self.selected,
                "tf": [dict(vars(tf)) for tf in self.tf]}

    def load_state(self, d):
        self.control = d["control"]
        self.selected = d["selected"]
        for tf, saved in zip(self.tf, d["tf"]):
            vars(tf).update(saved)
        self._update_line()
