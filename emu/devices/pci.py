"""PCI bus 0 and configuration mechanism #1 (ports 0xCF8 / 0xCFC-0xCFF).

PCI Local Bus Specification 2.1, 3.2.2.3.2: a dword write to 0xCF8 sets
CONFIG_ADDRESS (bit 31 enable, bus 23:16, device 15:11, function 10:8,
register 7:2); accesses to 0xCFC-0xCFF then reach that dword of the selected
function's configuration space, at byte offset (port & 3) and with the
access's own width.  Only dword accesses address CONFIG_ADDRESS itself; byte
and word accesses to 0xCF8-0xCFB go to the ISA bus (and 0xCF9 is the PIIX's
reset control register, handled by the ISA bridge).

A function's configuration space is 256 bytes with a per-bit write mask and
a write-one-to-clear mask (the status register).  Base address registers are
sized the way the specification says (6.2.5.1): the bits below the region's
size read as zero, so writing all ones and reading back gives the size mask.
A configuration read of a device that does not exist returns all ones, so
its vendor ID reads 0xFFFF.
"""
import struct

from .base import Device

CONFIG_ADDRESS = 0xCF8
CONFIG_DATA = 0xCFC

# type 0 header offsets (PCI 2.1, 6.1)
VENDOR_ID, DEVICE_ID, COMMAND, STATUS = 0x00, 0x02, 0x04, 0x06
REVISION, PROG_IF, SUBCLASS, CLASS = 0x08, 0x09, 0x0A, 0x0B
CACHE_LINE, LATENCY, HEADER_TYPE = 0x0C, 0x0D, 0x0E
BAR0 = 0x10
SUBSYS_VENDOR, SUBSYS_ID = 0x2C, 0x2E
ROM_BAR = 0x30
INTERRUPT_LINE, INTERRUPT_PIN = 0x3C, 0x3D

CMD_IO, CMD_MEMORY, CMD_MASTER = 0x1, 0x2, 0x4
HEADER_MULTIFUNCTION = 0x80


class Bar:
    """One base address register: an I/O or 32-bit memory region of `size` bytes."""

    def __init__(self, index, size, io):
        if size & (size - 1) or size < (4 if io else 16):
            raise ValueError("a BAR's size is a power of two, at least 4 (I/O) or 16 (memory) bytes")
        self.index = index
        self.size = size
        self.io = io

    @property
    def offset(self):
        return BAR0 + 4 * self.index

    @property
    def type_bits(self):
        return 0x1 if self.io else 0x0       # memory: 32-bit, not prefetchable


class PciFunction:
    """Configuration space of one PCI function; devices subclass it.

    Subclasses set the identity in __init__ (vendor, device, class code...),
    declare writable bits with set_writable, add BARs with add_bar, and may
    override config_written(offset, size) to react to writes."""

    name = "pci-function"
    state_version = 1

    def __init__(self, vendor, device, class_code, revision=0, header_type=0):
        self.identity = (vendor, device, class_code, revision, header_type)
        self.bus = None
        self.devfn = None
        self.reset()

    def reset(self):
        """Power-on configuration space: the identity, the common writable
        registers, then the subclass's own registers (setup)."""
        vendor, device, class_code, revision, header_type = self.identity
        self.config = bytearray(256)
        self.wmask = bytearray(256)         # 1 bits: the guest may change them
        self.w1cmask = bytearray(256)       # 1 bits: writing 1 clears them
        self.bars = {}
        self.put16(VENDOR_ID, vendor)
        self.put16(DEVICE_ID, device)
        self.config[REVISION] = revision
        self.config[PROG_IF] = class_code & 0xFF
        self.config[SUBCLASS] = (class_code >> 8) & 0xFF
        self.config[CLASS] = (class_code >> 16) & 0xFF
        self.config[HEADER_TYPE] = header_type
        # I/O, memory and bus-master enables, SERR# and parity response; the
        # latency timer, cache line size and interrupt line are storage the OS
        # uses (PCI 2.1, 6.2.4)
        self.set_writable(COMMAND, 2, CMD_IO | CMD_MEMORY | CMD_MASTER | 0x0100 | 0x0040)
        self.set_writable(LATENCY, 1, 0xFF)
        self.set_writable(CACHE_LINE, 1, 0xFF)
        self.set_writable(INTERRUPT_LINE, 1, 0xFF)
        # status: parity, SERR, master/target abort bits are write-1-to-clear
        self.set_w1c(STATUS, 2, 0xF900)
        self.setup()
        self.config_written(0, 256)

    def setup(self):
        """Subclasses: default values, write masks and BARs of their own registers."""

    # --- helpers for subclasses -----------------------------------------------------
    def put8(self, off, v):
        self.config[off] = v & 0xFF

    def put16(self, off, v):
        struct.pack_into("<H", self.config, off, v & 0xFFFF)

    def put32(self, off, v):
        struct.pack_into("<I", self.config, off, v & 0xFFFFFFFF)

    def get16(self, off):
        return struct.unpack_from("<H", self.config, off)[0]

    def get32(self, off):
        return struct.unpack_from("<I", self.config, off)[0]

    def set_writable(self, off, size, mask):
        for k in range(size):
            self.wmask[off + k] = (mask >> (8 * k)) & 0xFF

    def set_w1c(self, off, size, mask):
        for k in range(size):
            self.w1cmask[off + k] = (mask >> (8 * k)) & 0xFF

    def add_bar(self, index, size, io):
        bar = Bar(index, size, io)
        self.bars[index] = bar
        mask = (~(size - 1)) & (0xFFFFFFFC if io else 0xFFFFFFF0)
        self.set_writable(bar.offset, 4, mask)
        self.put32(bar.offset, bar.type_bits)
        return bar

    def bar_address(self, index):
        """The base address the OS programmed in BAR index (type bits removed)."""
        bar = self.bars[index]
        return self.get32(bar.offset) & (0xFFFFFFFC if bar.io else 0xFFFFFFF0)

    @property
    def command(self):
        return self.get16(COMMAND)

    @property
    def interrupt_pin(self):
        """0: none, 1..4: INTA#..INTD#."""
        return self.config[INTERRUPT_PIN]

    # --- configuration accesses -----------------------------------------------------
    def config_read(self, off, size):
        return int.from_bytes(self.config[off:off + size], "little")

    def config_write(self, off, size, value):
        for k in range(size):
            o = off + k
            b = (value >> (8 * k)) & 0xFF
            wm, cm = self.wmask[o], self.w1cmask[o]
            old = self.config[o]
            new = (old & ~wm) | (b & wm)
            new &= ~(b & cm)
            self.config[o] = new & 0xFF
        self.config_written(off, size)

    def config_written(self, off, size):
        """React to a configuration write (BAR moved, decode enabled, ...)."""

    # --- state ---------------------------------------------------------------------------
    def save_state(self):
        return {"version": self.state_version, "config": bytes(self.config)}

    def load_state(self, d):
        self.config[:] = d["config"]
        self.config_written(0, 256)


class PciBus(Device):
    """Bus 0 with configuration mechanism #1.  Functions are added at a
    (device, function) slot; other slots read as absent (all ones)."""

    name = "pci"
    ports = ((CONFIG_ADDRESS, 8),)
    state_version = 1

    def __init__(self, isa_fallback=None):
        self.functions = {}              # devfn -> PciFunction
        self.address = 0
        self.isa_fallback = isa_fallback  # byte/word accesses to 0xCF8-0xCFB (the PIIX's 0xCF9)

    def add(self, device, function, fn):
        devfn = (device << 3) | function
        if devfn in self.functions:
            raise ValueError("PCI slot %02x.%d is taken" % (device, function))
        fn.bus = self
        fn.devfn = devfn
        self.functions[devfn] = fn
        return fn

    def function(self, device, function=0):
        return self.functions.get((device << 3) | function)

    # --- mechanism #1 -------------------------------------------------------------------
    def _target(self):
        a = self.address
        if not a & 0x80000000:
            return None, 0
        bus = (a >> 16) & 0xFF
        if bus != 0:
            return None, 0
        return self.functions.get((a >> 8) & 0xFF), a & 0xFC

    def io_read(self, port, size):
        if port < CONFIG_DATA:
            if port == CONFIG_ADDRESS and size == 4:
                return self.address
            if self.isa_fallback is not None:
                return self.isa_fallback.io_read(port, size)
            return (1 << (8 * size)) - 1
        if not self.address & 0x80000000:
            return (1 << (8 * size)) - 1
        fn, reg = self._target()
        if fn is None:
            return (1 << (8 * size)) - 1
        off = reg + (port & 3)
        size = min(size, 256 - off)
        return fn.config_read(off, size)

    def io_write(self, port, size, value):
        if port < CONFIG_DATA:
            if port == CONFIG_ADDRESS and size == 4:
                # bits 1:0 are reserved and read as 0; bits 30:24 reserved too
                self.address = value & 0x80FFFFFC
            elif self.isa_fallback is not None:
                self.isa_fallback.io_write(port, size, value)
            return
        if not self.address & 0x80000000:
            return
        fn, reg = self._target()
        if fn is None:
            return
        off = reg + (port & 3)
        fn.config_write(off, min(size, 256 - off), value)

    # --- helpers for firmware setup and tests ----------------------------------------------
    def read_config(self, device, function, off, size):
        fn = self.function(device, function)
        if fn is None:
            return (1 << (8 * size)) - 1
        return fn.config_read(off, size)

    def write_config(self, device, function, off, size, value):
        fn = self.function(device, function)
        if fn is not None:
            fn.config_write(off, size, value)

    def reset(self):
        self.address = 0
        for fn in self.functions.values():
            fn.reset()

    def save_state(self):
        return {"version": self.state_version, "address": self.address,
                "functions": {"%02x.%d" % (k >> 3, k & 7): fn.save_state() for k, fn in self.functions.items()}}

    def load_state(self, d):
        self.address = d["address"]
        for key, fd in d.get("functions", {}).items():
            dev, func = key.split(".")
            fn = self.function(int(dev, 16), int(func))
            if fn is not None:
                fn.load_state(fd)
