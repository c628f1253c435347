"""The guest physical address space: RAM, ROM and MMIO, page by page.

RAM is one host buffer (an anonymous mmap, so untouched RAM costs nothing).
Two tables, one entry per 4 KB physical page of the 32-bit space, tell the
native slow paths what a page is: `host` holds the host address of a RAM or
ROM page (0 otherwise) and `flags` holds PAGE_* bits.  Generated code only
ever touches host memory through a TLB entry filled from these tables, so an
access can never leave the RAM and ROM buffers.
"""
import bisect
import mmap

import numpy as np

PAGE_SIZE = 4096
PAGE_SHIFT = 12
PHYS_PAGES = 1 << 20          # the 4 GB physical space; above it nothing is mapped

PAGE_RAM = 1 << 0
PAGE_ROM = 1 << 1
PAGE_CODE = 1 << 2            # holds translated code: writes take the slow path
PAGE_MMIO = 1 << 3            # a device region
PAGE_PT = 1 << 4              # holds paging structures: writes take the slow path (paging.py)

# The legacy VGA window stays unassigned: PC software probes it.
VGA_HOLE = (0xA0000, 0xC0000)


class MmioRegion:
    def __init__(self, base, size, read, write, name):
        self.base, self.size, self.read, self.write, self.name = base, size, read, write, name

    def __repr__(self):
        return "<MMIO %s %#x+%#x>" % (self.name, self.base, self.size)


class PhysicalMemory:
    """RAM, ROMs and MMIO regions, with the page tables the native code reads."""

    def __init__(self, ram_size):
        if ram_size % PAGE_SIZE:
            raise ValueError("RAM size must be a multiple of 4 KB")
        self.ram_size = ram_size
        self._ram_map = mmap.mmap(-1, ram_size)
        self.ram = np.frombuffer(self._ram_map, dtype=np.uint8)
        self.ram_addr = self.ram.ctypes.data
        self.host = np.zeros(PHYS_PAGES, dtype=np.uint64)
        self.flags = np.zeros(PHYS_PAGES, dtype=np.uint8)
        self._roms = []               # (base, numpy array) kept alive
        self._rom_host = {}           # pfn -> host address of the ROM page add_rom mapped there
        self._mmio = []               # sorted by base
        self._mmio_bases = []
        self.code_write_hook = None   # called with (phys, size) when code pages are written
        self.page_table_hook = None   # called when a page holding paging structures is written
        ram_pages = min(ram_size // PAGE_SIZE, PHYS_PAGES)
        pfns = np.arange(ram_pages, dtype=np.uint64)
        self.host[:ram_pages] = np.uint64(self.ram_addr) + pfns * np.uint64(PAGE_SIZE)
        self.flags[:ram_pages] = PAGE_RAM
        lo, hi = VGA_HOLE[0] >> PAGE_SHIFT, VGA_HOLE[1] >> PAGE_SHIFT
        self.host[lo:hi] = 0
        self.flags[lo:hi] = 0

    # --- layout ---------------------------------------------------------
    def add_rom(self, base, data):
        """Map read-only `data` at `base` (page aligned, padded to a page)."""
        if base % PAGE_SIZE:
            raise ValueError("ROM base must be page aligned")
        npages = (len(data) + PAGE_SIZE - 1) // PAGE_SIZE
        buf = np.zeros(npages * PAGE_SIZE, dtype=np.uint8)
        buf[:len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
        self._roms.append((base, buf))
        first = base >> PAGE_SHIFT
        for k in range(npages):
            if first + k < PHYS_PAGES:
                self.host[first + k] = buf.ctypes.data + k * PAGE_SIZE
                self.flags[first + k] = PAGE_ROM
                self._rom_host[first + k] = buf.ctypes.data + k * PAGE_SIZE
        return buf

    def set_shadow(self, base, size, read_ram, write_ram):
        """Shadow RAM below 1 MB (the i440FX's PAM registers): with read_ram the pages
        of [base, base+size) show the RAM there (written only with write_ram, else
        read-only); without, they show the ROM add_rom put there (or nothing).
        Reads from ROM with writes to RAM (PAM "write only") is taken as ROM here:
        writes are dropped.  The caller flushes TLBs and translations."""
        for pfn in range(base >> PAGE_SHIFT, (base + size) >> PAGE_SHIFT):
            code = self.flags[pfn] & PAGE_CODE
            if read_ram and pfn * PAGE_SIZE < self.ram_size:
                self.host[pfn] = self.ram_addr + pfn * PAGE_SIZE
                self.flags[pfn] = (PAGE_RAM if write_ram else PAGE_ROM) | code
            elif pfn in self._rom_host:
                self.host[pfn] = self._rom_host[pfn]
                self.flags[pfn] = PAGE_ROM | code
            else:
                self.host[pfn] = 0
                self.flags[pfn] = 0

    def add_mmio(self, base, size, read, write, name="mmio"):
        """Route accesses to [base, base+size) to read(offset, size) / write(offset, size, value)."""
        region = MmioRegion(base, size, read, write, name)
        i = bisect.bisect(self._mmio_bases, base)
        self._mmio.insert(i, region)
        self._mmio_bases.insert(i, base)
        first, last = base >> PAGE_SHIFT, (base + size - 1) >> PAGE_SHIFT
        self.host[first:last + 1] = 0
        self.flags[first:last + 1] = PAGE_MMIO
        return region

    def mmio_region(self, phys):
        i = bisect.bisect(self._mmio_bases, phys) - 1
        if i >= 0:
            r = self._mmio[i]
            if r.base <= phys < r.base + r.size:
                return r
        return None

    # --- device-side accesses (MMIO that native code hands to Python) --------
    def mmio_read(self, phys, size):
        r = self.mmio_region(phys)
        if r is None:
            return (1 << (8 * size)) - 1      # unassigned: the bus floats high
        return r.read(phys - r.base, size) & ((1 << (8 * size)) - 1)

    def mmio_write(self, phys, size, value):
        r = self.mmio_region(phys)
        if r is not None:
            r.write(phys - r.base, size, value)

    # --- Python-side accesses (loaders, devices, DMA, debugger) ---------------
    def _page_view(self, pfn):
        """The numpy array holding physical page pfn, and the offset of the page in it."""
        f = self.flags[pfn]
        if f & PAGE_RAM:
            return self.ram, pfn * PAGE_SIZE
        if f & PAGE_ROM:
            base_addr = int(self.host[pfn])
            if self.ram_addr <= base_addr < self.ram_addr + self.ram_size:
                return self.ram, base_addr - self.ram_addr      # read-only shadow RAM
            for base, buf in self._roms:
                if buf.ctypes.data <= base_addr < buf.ctypes.data + len(buf):
                    return buf, base_addr - buf.ctypes.data
        return None, 0

    def read(self, phys, length):
        """Read guest physical memory; unassigned and MMIO bytes read as 0xFF."""
        out = bytearray()
        while length > 0:
            pfn = phys >> PAGE_SHIFT
            off = phys & (PAGE_SIZE - 1)
            n = min(length, PAGE_SIZE - off)
            if pfn >= PHYS_PAGES:
                out += b"\xff" * n
            else:
                buf, start = self._page_view(pfn)
                if buf is None:
                    out += b"\xff" * n
                else:
                    out += buf[start + off:start + off + n].tobytes()
            phys += n
            length -= n
        return bytes(out)

    def write(self, phys, data, allow_rom=False):
        """Write guest physical memory (RAM only unless allow_rom); code on those pages is invalidated."""
        data = memoryview(bytes(data))
        pos = 0
        while pos < len(data):
            pfn = phys >> PAGE_SHIFT
            off = phys & (PAGE_SIZE - 1)
            n = min(len(data) - pos, PAGE_SIZE - off)
            if pfn < PHYS_PAGES:
                f = self.flags[pfn]
                if f & PAGE_RAM or (allow_rom and f & PAGE_ROM):
                    if f & PAGE_CODE and self.code_write_hook:
                        self.code_write_hook(phys, n)
                    buf, start = self._page_view(pfn)
                    buf[start + off:start + off + n] = np.frombuffer(data[pos:pos + n], dtype=np.uint8)
                    if f & PAGE_PT and self.page_table_hook:
                        self.page_table_hook(phys)
            phys += n
            pos += n

    def is_ram(self, phys, length=1):
        first, last = phys >> PAGE_SHIFT, (phys + length - 1) >> PAGE_SHIFT
        if last >= PHYS_PAGES:
            return False
        return bool(np.all(self.flags[first:last + 1] & PAGE_RAM))
