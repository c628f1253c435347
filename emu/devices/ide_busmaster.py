"""The PIIX's bus-master IDE function: DMA between memory and the IDE drives
through a table of physical region descriptors (PRDs).

Facts from the 82371FB/SB datasheet (Intel 290550) 2.7 and 3.3, and the
"Programming Interface for Bus Master IDE Controller" (SFF-8038i):
- 16 I/O registers at BMIBA (BAR4), 8 per channel (primary +0, secondary +8):
  command (+0: bit 0 start/stop, bit 3 read/write control, 1 = the bus master
  writes memory), status (+2: bit 0 active, read-only; bit 1 error and bit 2
  interrupt, write 1 to clear; bits 5 and 6 "drive 0/1 DMA capable", storage
  for the BIOS), PRD table pointer (+4, dword aligned).
- A PRD is 8 bytes: the physical address of a memory region (even), its byte
  count in bits 15:0 of the second dword (even; 0 means 64 KB) and, in bit 31,
  end of table (EOT).
- Active is set when start is written 1 and cleared when start is written 0 or
  when the region marked EOT has been transferred; if the drive's data ends
  before the table does, active stays set (SFF-8038i 3.1).  The interrupt
  bit is set by the rising edge of the channel's IDE interrupt, whatever the
  command; the error bit when the table ends before the drive's data does.
Memory is reached only through the physical memory object the board gives
(reads and writes of RAM; anything else is ignored or reads all ones).
"""
import struct

from .base import Device

START, TO_MEMORY = 0x01, 0x08
ACTIVE, ERROR, INTERRUPT, CAPABLE = 0x01, 0x02, 0x04, 0x60
MAX_PRDS = 8192                  # a 64 KB table


class BusMasterChannel:
    """One channel's bus-master registers and its DMA engine."""

    def __init__(self, memory, may_master=lambda: True):
        self.memory = memory            # read(phys, n) -> bytes, write(phys, data)
        self.may_master = may_master    # PCI command register bit 2 (bus master enable)
        self.channel = None             # the AtaChannel it serves (serve())
        self.reset()

    def serve(self, channel):
        """The AtaChannel whose DMA commands this engine carries out (the
        channel calls it when it is built with this bus master)."""
        self.channel = channel

    def reset(self):
        self.command = 0
        self.status = 0
        self.prd_table = 0

    # --- registers ---------------------------------------------------------------------------
    def read_byte(self, reg):
        if reg == 0:
            return self.command
        if reg == 2:
            return self.status
        if 4 <= reg <= 7:
            return (self.prd_table >> (8 * (reg - 4))) & 0xFF
        return 0

    def write_byte(self, reg, b):
        if reg == 0:
            old, self.command = self.command, b & (START | TO_MEMORY)
            if b & START and not old & START:
                self.status |= ACTIVE
                self._run()
            elif not b & START and old & START:
                self.status &= ~ACTIVE
        elif reg == 2:
            self.status = (self.status & ACTIVE) | (b & CAPABLE) | (self.status & (ERROR | INTERRUPT) & ~b)
        elif 4 <= reg <= 7:
            shift = 8 * (reg - 4)
            value = (self.prd_table & ~(0xFF << shift)) | (b << shift)
            self.prd_table = value & 0xFFFFFFFC

    # --- what the channel calls -------------------------------------------------------------
    def device_interrupt(self):
        self.status |= INTERRUPT

    def dma_ready(self):
        self._run()

    # --- the transfer -----------------------------------------------------------------------------
    def _regions(self):
        """The PRD table's (address, length, eot) entries, up to and including EOT."""
        addr = self.prd_table
        for _ in range(MAX_PRDS):
            base, count = struct.unpack("<II", self.memory.read(addr, 8))
            length = (count & 0xFFFE) or 0x10000       # bit 0 is reserved: even counts
            eot = bool(count & 0x80000000)
            yield base & 0xFFFFFFFE, length, eot
            if eot:
                return
            addr = (addr + 8) & 0xFFFFFFFF

    def _run(self):
        ch = self.channel
        if not self.command & START or ch is None or ch.dma is None or not self.may_master():
            return
        request = ch.dma
        left = request.length
        pos = 0
        out = bytearray()
        ended_at_eot = False
        for base, length, eot in self._regions():
            n = min(length, left)
            if request.to_memory:
                self.memory.write(base, request.data[pos:pos + n])
            else:
                out += self.memory.read(base, n)
            pos += n
            left -= n
            if left == 0:
                ended_at_eot = eot and n == length
                break
        if left:
            self.status |= ERROR          # the table ended before the drive's data
            out += bytes(left)
        if ended_at_eot or left:
            self.status &= ~ACTIVE
        ch.dma_done(None if request.to_memory else bytes(out))


class IdeBusMaster(Device):
    """The 16 registers at BMIBA: two BusMasterChannels (primary, secondary)."""

    name = "piix3-ide-bm"
    state_version = 2

    def __init__(self, memory=None, may_master=lambda: True):
        self.channels = (BusMasterChannel(memory, may_master), BusMasterChannel(memory, may_master))
        self.ports = ()

    def io_read(self, port, size):
        off = port & 0xF
        v = 0
        for k in range(size):
            o = (off + k) & 0xF
            v |= self.channels[o >> 3].read_byte(o & 7) << (8 * k)
        return v

    def io_write(self, port, size, value):
        off = port & 0xF
        # the PRD pointer first, the command register last, so a dword write that
        # sets both starts with the new table
        for k in sorted(range(size), key=lambda k: ((off + k) & 7) == 0):
            o = (off + k) & 0xF
            self.channels[o >> 3].write_byte(o & 7, (value >> (8 * k)) & 0xFF)

    def reset(self):
        for c in self.channels:
            c.reset()

    def save_state(self):
        return {"version": self.state_version,
                "channels": [{"command": c.command, "status": c.status, "prd_table": c.prd_table}
                             for c in self.channels]}

    def load_state(self, d):
        for c, saved in zip(self.channels, d.get("channels", ())):
            c.command, c.status, c.prd_table = saved["command"], saved["status"], saved["prd_table"]
