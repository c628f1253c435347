"""Multiboot (version 1) loading of ELF kernels, as -kernel does in QEMU.

The header (Multiboot Specification 0.6.96, section 3.1) must sit in the
first 8 KB, 4-byte aligned: magic 0x1BADB002, flags, checksum.  The ELF
program headers say where each segment goes (or, with flag bit 16, the
header's own address fields do).  The machine state at entry (section 3.2):
EAX = 0x2BADB002, EBX = physical address of the multiboot information,
32-bit protected mode with flat 4 GB code and data segments, paging off,
interrupts disabled, A20 on.
"""
import io
import struct


from . import BootError

MAGIC = 0x1BADB002
BOOT_MAGIC = 0x2BADB002
HEADER_SEARCH = 8192

INFO_ADDR = 0x9000         # multiboot information and what it points to
CMDLINE_ADDR = 0x9400
MMAP_ADDR = 0x9800
MODS_ADDR = 0x9A00
LOADER_NAME_ADDR = 0x9C00
LOADER_NAME = b"pyemu\0"
# The spec leaves GDTR undefined; QEMU's loader enters with a GDT whose 0x08 is
# flat code and 0x10 flat data, and guests rely on it (an IDT gate naming
# selector 0x08, for one).  It goes in the reserved area below 640 KB.
GDT_ADDR = 0x9FF00
GDT = struct.pack("<QQQ", 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF)


class MultibootHeader:
    def __init__(self, offset, flags, fields):
        self.offset = offset
        self.flags = flags
        self.header_addr, self.load_addr, self.load_end_addr, self.bss_end_addr, self.entry_addr = fields


def find_header(data):
    """The multiboot header in the first 8 KB, or None."""
    limit = min(len(data), HEADER_SEARCH) - 12
    for off in range(0, limit + 1, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, off)
        if magic == MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            fields = (0, 0, 0, 0, 0)
            if flags & (1 << 16):
                if off + 32 > len(data):
                    raise BootError("multiboot header is truncated")
                fields = struct.unpack_from("<IIIII", data, off + 12)
            return MultibootHeader(off, flags, fields)
    return None


def is_multiboot(data):
    return find_header(data) is not None


def _load_elf(data, phys):
    # pyelftools only for an ELF kernel: importing it costs every pyemu start a tenth of a second
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    try:
        elf = ELFFile(io.BytesIO(data))
    except ELFError as e:
        raise BootError("not a valid ELF file: %s" % e) from None
    if elf.elfclass != 32 or elf["e_machine"] != "EM_386":
        raise BootError("multiboot ELF kernels must be 32-bit x86 (this one is %s, %d-bit)"
                        % (elf["e_machine"], elf.elfclass))
    end = 0
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
            continue
        addr, filesz, memsz = seg["p_paddr"], seg["p_filesz"], seg["p_memsz"]
        if seg["p_offset"] + filesz > len(data):
            raise BootError("ELF segment at %#x runs past the end of the file (truncated kernel?)" % addr)
        if not phys.is_ram(addr, memsz):
            raise BootError("ELF segment %#x-%#x is not in guest RAM (try a larger -m)" % (addr, addr + memsz))
        phys.write(addr, seg.data()[:filesz])
        if memsz > filesz:
            phys.write(addr + filesz, bytes(memsz - filesz))
        end = max(end, addr + memsz)
    return elf["e_entry"], end


def _load_aout_kludge(data, hdr, phys):
    """Flag bit 16: the header's address fields say where the image goes."""
    file_start = hdr.offset - (hdr.header_addr - hdr.load_addr)
    if file_start < 0:
        raise BootError("multiboot header address fields are inconsistent")
    load_end = hdr.load_end_addr or (hdr.load_addr + len(data) - file_start)
    size = load_end - hdr.load_addr
    if file_start + size > len(data):
        raise BootError("the kernel file is shorter than its multiboot header says (truncated?)")
    bss_end = max(hdr.bss_end_addr, load_end)
    if not phys.is_ram(hdr.load_addr, bss_end - hdr.load_addr):
        raise BootError("the kernel does not fit in guest RAM (try a larger -m)")
    phys.write(hdr.load_addr, data[file_start:file_start + size])
    if bss_end > load_end:
        phys.write(load_end, bytes(bss_end - load_end))
    return hdr.entry_addr, bss_end


def load(machine, data, cmdline="", modules=()):
    """Load a multiboot kernel image into the machine and set the CPU up to enter it.

    modules: [(bytes, command line)] loaded after the kernel, page aligned.
    """
    hdr = find_header(data)
    if hdr is None:
        raise BootError("no multiboot header in the first 8 KB")
    phys = machine.phys
    if hdr.flags & (1 << 16):
        entry, end = _load_aout_kludge(data, hdr, phys)
    elif data[:4] == b"\x7fELF":
        entry, end = _load_elf(data, phys)
    else:
        raise BootError("multiboot kernel is neither ELF nor has address fields (flag 16)")
    if hdr.flags & 0xFFF8:            # bits 3..15 are requirements nobody defined
        raise BootError("multiboot header asks for unsupported features (flags %#x)" % hdr.flags)
    ram = machine.phys.ram_size
    # modules, page aligned after the kernel
    mods = []
    addr = (end + 0xFFF) & ~0xFFF
    for k, (mdata, mcmd) in enumerate(modules):
        if not phys.is_ram(addr, max(len(mdata), 1)):
            raise BootError("module %d does not fit in guest RAM (try a larger -m)" % k)
        phys.write(addr, mdata)
        cmd_addr = MODS_ADDR + 0x100 + 64 * k
        phys.write(cmd_addr, mcmd.encode()[:63] + b"\0")
        mods.append(struct.pack("<IIII", addr, addr + len(mdata), cmd_addr, 0))
        addr = (addr + len(mdata) + 0xFFF) & ~0xFFF
    # memory map: low RAM below the EBDA, RAM above 1 MB
    mmap = b"".join(struct.pack("<IQQI", 20, base, length, kind) for base, length, kind in (
        (0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2), (0x100000, ram - 0x100000, 1)))
    phys.write(MMAP_ADDR, mmap)
    phys.write(CMDLINE_ADDR, cmdline.encode()[:1000] + b"\0")
    phys.write(LOADER_NAME_ADDR, LOADER_NAME)
    if mods:
        phys.write(MODS_ADDR, b"".join(mods))
    flags = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)
    # the information structure (spec 3.3), field by field at its offset
    info = struct.pack("<IIIIIII16xII12xI",
                       flags,                                  # 0
                       639, (ram - 0x100000) // 1024,          # 4 mem_lower, 8 mem_upper (KB)
                       0x8000FFFF,                             # 12 boot_device (none)
                       CMDLINE_ADDR,                           # 16 cmdline
                       len(mods), MODS_ADDR,                   # 20 mods_count, 24 mods_addr
                       # 28 syms (16 bytes, unused: flags bits 4/5 clear)
                       len(mmap), MMAP_ADDR,                   # 44 mmap_length, 48 mmap_addr
                       # 52 drives_length, 56 drives_addr, 60 config_table (unused)
                       LOADER_NAME_ADDR)                       # 64 boot_loader_name
    phys.write(INFO_ADDR, info)
    phys.write(GDT_ADDR, GDT)
    machine.enter_flat32(entry, regs={"eax": BOOT_MAGIC, "ebx": INFO_ADDR})
    machine.cpu.gdtr.base = GDT_ADDR
    machine.cpu.gdtr.limit = len(GDT) - 1
    return entry
