"""The Linux/x86 boot protocol (2.x) for -kernel bzImage, entering the kernel's
32-bit entry point directly, as QEMU's -kernel does.

Facts from the kernel's Documentation/arch/x86/boot.rst:
- The real-mode setup header sits at offset 0x1F1 of the image: boot_flag
  0xAA55 at 0x1FE, the "HdrS" magic at 0x202, the protocol version at 0x206.
  The header ends at 0x202 + the byte at 0x201 (the operand of its short jump).
- The protected-mode kernel starts at file offset (setup_sects + 1) * 512
  (setup_sects 0 means 4) and is loaded at 1 MB; it needs init_size bytes
  from there (protocol 2.10+) while it decompresses itself.
- The loader fills "struct boot_params" (the zero page): a copy of the setup
  header at 0x1F1 with the loader's fields set (type_of_loader, loadflags
  CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk_image/size), the E820
  memory map at 0x2D0 with its count at 0x1E8.
- 32-bit entry: flat 4 GB code and data segments with selectors __BOOT_CS
  (0x10) and __BOOT_DS (0x18) in a GDT, interrupts off, paging off,
  ESI = the zero page, EBP = EDI = EBX = 0, EIP = code32_start.
"""
import struct

from . import BootError
from .mptable import write_mp_table

SETUP_HEADER = 0x1F1
BOOT_FLAG = 0xAA55
HDRS = 0x53726448               # "HdrS"
MIN_VERSION = 0x0206            # 2.06: cmdline_size; every bzImage since Linux 2.6.22
LOADED_HIGH = 0x01              # loadflags: the protected-mode code goes at 1 MB (a bzImage)
CAN_USE_HEAP = 0x80
KEEP_SEGMENTS = 0x40

KERNEL_ADDR = 0x100000
# where the loader puts its own structures, all in low RAM the kernel leaves alone
GDT_ADDR = 0x1000
ZERO_PAGE = 0x10000
CMDLINE_ADDR = 0x20000
BOOT_CS, BOOT_DS = 0x10, 0x18
GDT = struct.pack("<QQQQ", 0, 0, 0x00CF9B000000FFFF, 0x00CF93000000FFFF)
LOADER_TYPE = 0xFF              # "undefined" boot loader id (no id was ever assigned to pyemu)

# PC memory below 1 MB (the E820 map and the BIOS data area describe it)
EBDA_BASE = 0x9FC00             # 1 KB extended BIOS data area below 640 KB (the MP table is there)
BIOS_AREA = (0xF0000, 0x100000)  # the BIOS ROM region: firmware tables (MP table) live here
E820_RAM, E820_RESERVED = 1, 2

# boot_params offsets (arch/x86/include/uapi/asm/bootparam.h)
BP_EXT_RAMDISK_IMAGE = 0x0C0
BP_EXT_RAMDISK_SIZE = 0x0C4
BP_EXT_CMD_LINE_PTR = 0x0C8
BP_E820_ENTRIES = 0x1E8
BP_E820_TABLE = 0x2D0
E820_MAX = 128


class SetupHeader:
    """The fields of the setup header the loader reads or writes, by name."""
    # name: (offset in the image / zero page, struct format)
    FIELDS = {
        "setup_sects": (0x1F1, "B"), "syssize": (0x1F4, "I"), "vid_mode": (0x1FA, "H"),
        "boot_flag": (0x1FE, "H"), "jump": (0x200, "H"), "header": (0x202, "I"), "version": (0x206, "H"),
        "type_of_loader": (0x210, "B"), "loadflags": (0x211, "B"), "code32_start": (0x214, "I"),
        "ramdisk_image": (0x218, "I"), "ramdisk_size": (0x21C, "I"), "heap_end_ptr": (0x224, "H"),
        "cmd_line_ptr": (0x228, "I"), "initrd_addr_max": (0x22C, "I"), "kernel_alignment": (0x230, "I"),
        "relocatable_kernel": (0x234, "B"), "cmdline_size": (0x238, "I"), "hardware_subarch": (0x23C, "I"),
        "init_size": (0x260, "I"),
    }

    def __init__(self, image):
        if len(image) < 0x264:
            raise BootError("the kernel file is too short to be a bzImage (%d bytes)" % len(image))
        self.raw = bytearray(image[SETUP_HEADER:0x202 + image[0x201]])

    def __getattr__(self, name):
        if name not in SetupHeader.FIELDS:
            raise AttributeError(name)
        off, fmt = SetupHeader.FIELDS[name]
        if off - SETUP_HEADER + struct.calcsize(fmt) > len(self.raw):
            return 0                    # older protocol: the field does not exist
        return struct.unpack_from("<" + fmt, self.raw, off - SETUP_HEADER)[0]

    def set(self, name, value):
        off, fmt = SetupHeader.FIELDS[name]
        struct.pack_into("<" + fmt, self.raw, off - SETUP_HEADER, value)


def is_bzimage(image):
    return (len(image) >= 0x206 and struct.unpack_from("<H", image, 0x1FE)[0] == BOOT_FLAG
            and struct.unpack_from("<I", image, 0x202)[0] == HDRS)


def parse(image):
    """Validate a bzImage; returns (header, protected-mode kernel bytes)."""
    if not is_bzimage(image):
        raise BootError("not a Linux bzImage (no boot flag 0xAA55 and 'HdrS' setup header)")
    hdr = SetupHeader(image)
    if hdr.version < MIN_VERSION:
        raise BootError("Linux boot protocol %d.%02d is too old (pyemu needs 2.06 or later)"
                        % (hdr.version >> 8, hdr.version & 0xFF))
    if not hdr.loadflags & LOADED_HIGH:
        raise BootError("this is a zImage (loaded below 1 MB); pyemu boots bzImages only")
    setup_sects = hdr.setup_sects or 4
    start = (setup_sects + 1) * 512
    size = hdr.syssize * 16          # rounded up to 16 bytes: the file may be up to 15 shorter
    if start + size - 15 > len(image):
        raise BootError("the bzImage is truncated: %d bytes, its header says at least %d"
                        % (len(image), start + size))
    return hdr, bytes(image[start:])


def e820_map(ram_size):
    """The PC memory map (base, length, type) the kernel gets."""
    return [(0, EBDA_BASE, E820_RAM),
            (EBDA_BASE, 0xA0000 - EBDA_BASE, E820_RESERVED),
            (BIOS_AREA[0], BIOS_AREA[1] - BIOS_AREA[0], E820_RESERVED),
            (KERNEL_ADDR, ram_size - KERNEL_ADDR, E820_RAM)]


def _bios_data_area(phys, ram_size):
    """The few BIOS data area words Linux reads even when booted at its 32-bit entry:
    the EBDA segment (0x40E) and the base memory size in KB (0x413)."""
    phys.write(0x40E, struct.pack("<H", EBDA_BASE >> 4))
    phys.write(0x413, struct.pack("<H", EBDA_BASE >> 10))


def load_address(hdr, address):
    """Where the protected-mode kernel goes: 1 MB, or `address` for a
    relocatable kernel, as a boot loader may place one anywhere aligned to
    its kernel_alignment (boot protocol 2.05+); the kernel then unpacks and
    runs itself at another address, as KASLR makes it."""
    if address is None:
        return KERNEL_ADDR
    if not hdr.relocatable_kernel:
        raise BootError("this kernel is not relocatable: it loads at 1 MB only")
    align = hdr.kernel_alignment or 1
    if address < KERNEL_ADDR or address % align:
        raise BootError("a kernel load address must be at least 1 MB and a multiple of its alignment %#x, "
                        "not %#x" % (align, address))
    return address


def load(machine, image, cmdline="", initrd=None, address=None):
    """Put the kernel, its command line and initrd in memory and set the CPU up
    at the 32-bit entry point.  address: see load_address.  Returns the header
    (for messages and tests)."""
    hdr, kernel = parse(image)
    phys = machine.phys
    ram = phys.ram_size
    kernel_addr = load_address(hdr, address)
    init_size = max(hdr.init_size, len(kernel))
    kernel_end = kernel_addr + init_size
    if kernel_end > ram:
        raise BootError("the kernel needs %d MB of RAM to unpack itself; give more with -m (have %d MB)"
                        % (-(-kernel_end // (1 << 20)), ram >> 20))
    cmd = cmdline.encode()
    limit = hdr.cmdline_size or 255
    if len(cmd) > limit:
        raise BootError("the kernel command line is %d bytes; this kernel takes at most %d" % (len(cmd), limit))

    phys.write(kernel_addr, kernel)
    hdr.set("code32_start", kernel_addr)
    phys.write(CMDLINE_ADDR, cmd + b"\0")
    hdr.set("type_of_loader", LOADER_TYPE)
    hdr.set("loadflags", (hdr.loadflags | CAN_USE_HEAP) & ~KEEP_SEGMENTS)
    # heap_end_ptr is an offset from the real-mode code; 32-bit entry has none,
    # but the field must be sane for CAN_USE_HEAP
    hdr.set("heap_end_ptr", 0xFE00)
    hdr.set("cmd_line_ptr", CMDLINE_ADDR)
    hdr.set("vid_mode", 0xFFFF)                # "normal" text mode
    if initrd is not None:
        addr = _place_initrd(hdr, len(initrd), kernel_end, ram)
        phys.write(addr, initrd)
        hdr.set("ramdisk_image", addr)
        hdr.set("ramdisk_size", len(initrd))

    zero = bytearray(4096)
    zero[SETUP_HEADER:SETUP_HEADER + len(hdr.raw)] = hdr.raw
    entries = e820_map(ram)
    zero[BP_E820_ENTRIES] = len(entries)
    for k, (base, length, kind) in enumerate(entries):
        struct.pack_into("<QQI", zero, BP_E820_TABLE + 20 * k, base, length, kind)
    phys.write(ZERO_PAGE, bytes(zero))
    _bios_data_area(phys, ram)
    # the MP table (in the EBDA the e820 map reserves) tells the kernel where
    # the local APIC and IOAPIC are
    write_mp_table(phys, machine.board)
    phys.write(GDT_ADDR, GDT)

    machine.enter_flat32(kernel_addr, code_selector=BOOT_CS, data_selector=BOOT_DS,
                         regs={"esi": ZERO_PAGE})
    machine.cpu.gdtr.base = GDT_ADDR
    machine.cpu.gdtr.limit = len(GDT) - 1
    return hdr


def _place_initrd(hdr, size, kernel_end, ram):
    """The initrd goes as high as the kernel allows (initrd_addr_max), page aligned,
    above everything the kernel unpacks into."""
    top = min(hdr.initrd_addr_max or 0x37FFFFFF, ram - 1) + 1
    addr = (top - size) & ~0xFFF
    if addr < kernel_end:
        need = -(-(kernel_end + size + 0xFFF) // (1 << 20))
        raise BootError("the kernel and a %d KB initrd do not fit in %d MB of RAM; give -m %d or more"
                        % (size // 1024, ram >> 20, need))
    return addr
