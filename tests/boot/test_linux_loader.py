"""The Linux boot protocol loader (emu/boot/linux.py) on synthetic bzImages:
what it puts where, and the one-line errors for images it cannot boot."""
import struct
import subprocess
import sys

import pytest

from emu.boot import BootError, linux
from emu.config import MachineConfig
from emu.cpu.state import CS, DS, SS
from emu.machine import Machine

from tests.guests.guestlib import REPO


def make_bzimage(version=0x020F, setup_sects=4, payload=b"\x90" * 5000, loadflags=0x01,
                 init_size=0x200000, initrd_addr_max=0x37FFFFFF, cmdline_size=2047, truncate=0,
                 relocatable=0, alignment=0x200000):
    """A file with a setup header of the given protocol version and a payload
    as the protected-mode kernel."""
    setup = bytearray((setup_sects + 1) * 512)
    struct.pack_into("<B", setup, 0x1F1, setup_sects)
    struct.pack_into("<I", setup, 0x1F4, (len(payload) + 15) // 16)
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    struct.pack_into("<BB", setup, 0x200, 0xEB, 0x6A)            # jmp: header ends at 0x26C
    struct.pack_into("<IH", setup, 0x202, 0x53726448, version)
    struct.pack_into("<B", setup, 0x211, loadflags)
    struct.pack_into("<I", setup, 0x214, 0x100000)
    struct.pack_into("<I", setup, 0x22C, initrd_addr_max)
    struct.pack_into("<IB", setup, 0x230, alignment, relocatable)
    struct.pack_into("<I", setup, 0x238, cmdline_size)
    struct.pack_into("<I", setup, 0x260, init_size)
    image = bytes(setup) + payload
    return image[:len(image) - truncate] if truncate else image


@pytest.fixture
def machine():
    m = Machine(MachineConfig(ram_mb=32, serial=["null"]))
    yield m
    m.close()


def test_kernel_header_and_entry_state(machine):
    payload = bytes(range(256)) * 20
    linux.load(machine, make_bzimage(payload=payload), "console=ttyS0 quiet", initrd=b"R" * 10000)
    phys, cpu = machine.phys, machine.cpu
    assert phys.read(0x100000, len(payload)) == payload
    zp = phys.read(linux.ZERO_PAGE, 4096)
    hdr = zp[0x1F1:]
    assert struct.unpack_from("<H", zp, 0x1FE)[0] == 0xAA55
    assert zp[0x210] == 0xFF                                       # type_of_loader
    assert zp[0x211] & 0x80                                        # CAN_USE_HEAP
    cmd_ptr = struct.unpack_from("<I", zp, 0x228)[0]
    assert phys.read(cmd_ptr, 20) == b"console=ttyS0 quiet\0"
    rd_addr, rd_size = struct.unpack_from("<II", zp, 0x218)
    assert rd_size == 10000 and rd_addr % 4096 == 0
    assert rd_addr >= 0x100000 + 0x200000 and rd_addr + rd_size <= 32 << 20
    assert phys.read(rd_addr, 4) == b"RRRR"
    # the E820 map: RAM at 0 and from 1 MB to the end of RAM
    n = zp[0x1E8]
    table = [struct.unpack_from("<QQI", zp, 0x2D0 + 20 * k) for k in range(n)]
    assert (0, linux.EBDA_BASE, 1) in table
    assert (0x100000, (32 << 20) - 0x100000, 1) in table
    assert hdr[0x202 - 0x1F1:0x206 - 0x1F1] == b"HdrS"
    # 32-bit entry state of the boot protocol
    assert cpu.eip == 0x100000
    assert cpu.regs[6] == linux.ZERO_PAGE                          # ESI
    assert all(cpu.regs[r] == 0 for r in (3, 5, 7))                # EBX EBP EDI
    assert cpu.seg[CS].selector == 0x10 and cpu.seg[DS].selector == 0x18 and cpu.seg[SS].selector == 0x18
    assert cpu.cr[0] & 1 and not cpu.cr[0] & 0x80000000
    assert not machine.eflags() & 0x200
    gdt = phys.read(cpu.gdtr.base, cpu.gdtr.limit + 1)
    assert struct.unpack_from("<Q", gdt, 0x10)[0] == 0x00CF9B000000FFFF
    assert struct.unpack_from("<Q", gdt, 0x18)[0] == 0x00CF93000000FFFF


def test_a_relocatable_kernel_loads_where_asked(machine):
    """PYEMU_KERNEL_ADDR's loader side: the kernel, code32_start and the entry
    point at the address; the initrd above the kernel's unpacked end."""
    payload = bytes(range(256)) * 20
    linux.load(machine, make_bzimage(payload=payload, relocatable=1), initrd=b"R" * 10000, address=0x600000)
    phys = machine.phys
    assert phys.read(0x600000, len(payload)) == payload
    assert phys.read(0x100000, len(payload)) != payload
    zp = phys.read(linux.ZERO_PAGE, 4096)
    assert struct.unpack_from("<I", zp, 0x214)[0] == 0x600000       # code32_start
    assert machine.cpu.eip == 0x600000
    assert struct.unpack_from("<I", zp, 0x218)[0] >= 0x600000 + 0x200000


@pytest.mark.parametrize("relocatable, address, message", [
    (0, 0x600000, "not relocatable"),
    (1, 0x500000, "multiple of its alignment 0x200000"),
    (1, 0x80000, "at least 1 MB"),
])
def test_load_addresses_it_refuses(machine, relocatable, address, message):
    with pytest.raises(BootError, match=message):
        linux.load(machine, make_bzimage(relocatable=relocatable), address=address)


def test_initrd_stays_below_initrd_addr_max(machine):
    linux.load(machine, make_bzimage(initrd_addr_max=0x00FFFFFF), "", initrd=b"x" * 5000)
    rd_addr, rd_size = struct.unpack_from("<II", machine.phys.read(linux.ZERO_PAGE + 0x218, 8))
    assert rd_addr + rd_size <= 0x01000000


@pytest.mark.parametrize("image,message", [
    (b"\x7fELF" + bytes(4000), "not a Linux bzImage"),
    (make_bzimage(version=0x0204), "too old"),
    (make_bzimage(loadflags=0), "zImage"),
    (make_bzimage(truncate=1000), "truncated"),
    (make_bzimage()[:0x300], "truncated"),
])
def test_images_it_cannot_boot(machine, image, message):
    with pytest.raises(BootError, match=message):
        linux.load(machine, image, "")


def test_too_little_ram(machine):
    with pytest.raises(BootError, match="-m"):
        linux.load(machine, make_bzimage(init_size=40 << 20), "")
    with pytest.raises(BootError, match="-m"):
        linux.load(machine, make_bzimage(), "", initrd=bytes(30 << 20))


def test_command_line_too_long(machine):
    with pytest.raises(BootError, match="command line"):
        linux.load(machine, make_bzimage(cmdline_size=16), "x" * 17)


def _pyemu(*args):
    return subprocess.run([sys.executable, "-m", "emu.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("make,args,message", [
    (lambda d: d / "notkernel", ["-kernel", "{f}"], "neither a Linux bzImage"),
    (lambda d: d / "trunc", ["-kernel", "{f}"], "truncated"),
    (lambda d: d / "ok", ["-kernel", "{f}", "-initrd", "{d}/missing.gz"], "cannot read initrd"),
    (lambda d: d / "ok", ["-kernel", "{f}", "-m", "2"], "-m"),
    (lambda d: d / "ok", ["-kernel", "{f}", "-bogus"], "unknown option"),
])
def test_bad_input_gets_a_one_line_error(tmp_path, make, args, message):
    (tmp_path / "notkernel").write_bytes(b"hello" * 100)
    (tmp_path / "trunc").write_bytes(make_bzimage(truncate=2000))
    (tmp_path / "ok").write_bytes(make_bzimage())
    f = make(tmp_path)
    p = _pyemu(*[a.format(f=f, d=tmp_path) for a in args], "-nographic")
    assert p.returncode != 0
    err = p.stderr.strip()
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err


def _scan_mp(phys, start, length):
    data = phys.read(start, length)
    return [start + k for k in range(0, length, 16) if data[k:k + 4] == b"_MP_"]


def test_mp_table_in_the_ebda_where_linux_scans(machine):
    linux.load(machine, make_bzimage(), "")
    ebda = struct.unpack("<H", machine.phys.read(0x40E, 2))[0] << 4
    found = _scan_mp(machine.phys, ebda, 1024)
    assert found, "no MP floating pointer in the first KB of the EBDA"
    zp = machine.phys.read(linux.ZERO_PAGE, 4096)
    table = [struct.unpack_from("<QQI", zp, 0x2D0 + 20 * k) for k in range(zp[0x1E8])]
    # the kernel must not take the table's memory as RAM
    assert not any(kind == 1 and base <= found[0] < base + length for base, length, kind in table)


def test_no_mp_table_without_an_apic():
    m = Machine(MachineConfig(ram_mb=32, serial=["null"], apic=False))
    try:
        linux.load(m, make_bzimage(), "")
        assert not _scan_mp(m.phys, linux.EBDA_BASE, 1024)
        assert not _scan_mp(m.phys, 0xF0000, 0x10000)
    finally:
        m.close()
