"""QEMU's firmware configuration device (fw_cfg), as QEMU's documentation
(docs/specs/fw_cfg.rst) describes it for the PC:

- I/O port 0x510: the selector (16 bits, written); port 0x511: the data
  register, read a byte at a time from the selected item (past its end it
  reads 0).  Writing the selector starts the item from its first byte.
- Ports 0x514-0x51B: the DMA address register, 64 bits big-endian, written
  as two 32-bit halves (high at 0x514, low at 0x518; the low write starts
  the transfer).  It points at a FWCfgDmaAccess in guest memory:
  be32 control, be32 length, be64 address.  Control bits: 0x01 error,
  0x02 read, 0x04 skip, 0x08 select (the selector in bits 31:16), 0x10
  write.  When done the device writes control back as 0 (or with the error
  bit).  Writes to items are not supported here (an error, as for a
  read-only item in QEMU).
- Items: 0x0000 signature "QEMU", 0x0001 ID (bit 0 the port interface, bit 1
  DMA), 0x0003 RAM size (le64), 0x0005 number of CPUs (le16), 0x000F
  maximum CPUs, the kernel/initrd/command line items (0x07-0x18), 0x0019
  the file directory (be32 count, then per file be32 size, be16 selector,
  be16 reserved, 56-byte name), files from selector 0x0020 on.
"""
import struct

from .base import Device

PORT_SELECTOR, PORT_DATA, PORT_DMA = 0x510, 0x511, 0x514

SIGNATURE, ID, UUID, RAM_SIZE, NOGRAPHIC, NB_CPUS, MACHINE_ID = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
KERNEL_ADDR, KERNEL_SIZE, KERNEL_CMDLINE, INITRD_ADDR, INITRD_SIZE = 0x07, 0x08, 0x09, 0x0A, 0x0B
BOOT_DEVICE, NUMA, BOOT_MENU, MAX_CPUS, KERNEL_ENTRY, KERNEL_DATA, INITRD_DATA = (
    0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12)
CMDLINE_ADDR, CMDLINE_SIZE, CMDLINE_DATA, SETUP_ADDR, SETUP_SIZE, SETUP_DATA = 0x13, 0x14, 0x15, 0x16, 0x17, 0x18
FILE_DIR, FILE_FIRST = 0x19, 0x20
IRQ0_OVERRIDE, E820_TABLE = 0x8002, 0x8003

ID_TRADITIONAL, ID_DMA = 0x01, 0x02
DMA_ERROR, DMA_READ, DMA_SKIP, DMA_SELECT, DMA_WRITE = 0x01, 0x02, 0x04, 0x08, 0x10
NAME_SIZE = 56


class FwCfg(Device):
    """memory: the physical memory object (read(phys, n), write(phys, data)) the
    DMA interface moves bytes through."""

    name = "fw_cfg"
    ports = ((PORT_SELECTOR, 2), (PORT_DMA, 8))
    state_fields = ("selector", "offset", "dma_high")

    def __init__(self, memory=None):
        self.memory = memory
        self.items = {SIGNATURE: b"QEMU", ID: struct.pack("<I", ID_TRADITIONAL | ID_DMA)}
        self.files = {}                  # name -> selector
        self.selector = 0
        self.offset = 0
        self.dma_high = 0

    # --- contents (the board fills them) -------------------------------------------------
    def add(self, key, data):
        self.items[key] = bytes(data)

    def add_i16(self, key, value):
        self.add(key, struct.pack("<H", value))

    def add_i32(self, key, value):
        self.add(key, struct.pack("<I", value))

    def add_i64(self, key, value):
        self.add(key, struct.pack("<Q", value))

    def add_file(self, name, data):
        if len(name.encode()) >= NAME_SIZE:
            raise ValueError("fw_cfg file name '%s' is longer than %d bytes" % (name, NAME_SIZE - 1))
        key = self.files.get(name)
        if key is None:
            key = FILE_FIRST + len(self.files)
            self.files[name] = key
        self.items[key] = bytes(data)
        self._directory()

    def _directory(self):
        out = struct.pack(">I", len(self.files))
        for name, key in sorted(self.files.items(), key=lambda kv: kv[1]):
            out += struct.pack(">IHH", len(self.items[key]), key, 0) + name.encode().ljust(NAME_SIZE, b"\0")
        self.items[FILE_DIR] = out

    def item(self, key):
        return self.items.get(key, b"")

    # --- the port interface --------------------------------------------------------------------
    def io_read(self, port, size):
        if port == PORT_DATA:
            return int.from_bytes(self._read_bytes(size), "little")
        if port == PORT_SELECTOR:
            return 0                        # the selector does not read back
        if PORT_DMA <= port < PORT_DMA + 8:
            # the DMA register reads "QEMU CFG" (big-endian), so firmware can find it
            sig = b"QEMU CFG"
            off = port - PORT_DMA
            return int.from_bytes(sig[off:off + size].ljust(size, b"\0"), "big")
        return (1 << (8 * size)) - 1

    def io_write(self, port, size, value):
        if port == PORT_SELECTOR and size >= 2:
            self.select(value & 0xFFFF)
        elif port == PORT_DMA and size == 4:
            self.dma_high = value
        elif port == PORT_DMA + 4 and size == 4:
            self._dma(_be32(self.dma_high) << 32 | _be32(value))
            self.dma_high = 0

    def select(self, key):
        self.selector = key
        self.offset = 0

    def _read_bytes(self, n):
        data = self.item(self.selector)[self.offset:self.offset + n]
        self.offset += n
        return data.ljust(n, b"\0")

    # --- DMA ---------------------------------------------------------------------------------
    def _dma(self, addr):
        if self.memory is None:
            return
        control, length, address = struct.unpack(">IIQ", self.memory.read(addr, 16))
        if control & DMA_SELECT:
            self.select(control >> 16)
        status = 0
        if control & DMA_WRITE:
            status = DMA_ERROR              # items are read-only here
        elif control & DMA_READ:
            self.memory.write(address, self._read_bytes(length))
        elif control & DMA_SKIP:
            self.offset += length
        self.memory.write(addr, struct.pack(">I", status))


def _be32(port_value):
    """A 32-bit port write carries the big-endian register bytes in memory order."""
    return int.from_bytes(port_value.to_bytes(4, "little"), "big")


def e820_entries(entries):
    """etc/e820: (address, length, type) records, le64 le64 le32 each."""
    return b"".join(struct.pack("<QQI", a, n, t) for a, n, t in entries)
