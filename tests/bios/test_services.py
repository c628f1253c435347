"""BIOS services as boot loaders and Linux's setup call them: a boot-sector
program (src/services.S, assembled here) calls INT 11h, 12h, 13h (02h, 08h,
15h, 41h-48h), 15h (E820h, E801h, 88h, 24h, C0h, 86h), 16h, 1Ah and 10h and
prints what comes back on COM1.  It runs on pyemu's BIOS, and on Debian's
SeaBIOS under qemu-system-i386 (the reference, which also shows the program
itself is right); values where the two differ (each BIOS's choice, not the
interface's) are checked on each BIOS apart."""
import pathlib
import re
import shutil
import struct
import subprocess
import sys

import pytest

from emu.boot.toolchain import build_elf
from emu.session import REPO

SRC = pathlib.Path(__file__).resolve().parent / "src"
SEABIOS = "/usr/share/seabios/bios.bin"
SECTORS = 8192                            # 4 MB: 8 cylinders of 16 heads x 63 sectors
RTC = "2024-03-05T10:20:30"
ARGS = ["-m", "32", "-rtc", "base=" + RTC, "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
EXIT_STATUS = (0x31 << 1) | 1

# the interfaces' answers for this machine and disk, the same on any BIOS
COMMON = {
    "boot.dl": "80",
    "int12.ax": "027F",                   # 639 KB below the EBDA
    "e801.ax": "3C00", "e801.cx": "3C00",  # 15 MB between 1 MB and 16 MB
    "e820.first.base": "00000000", "e820.first.type": "00000001",
    "a20.status": "01",
    "c0.model": "FC",
    "int13.41.cf": "00", "int13.41.bx": "AA55", "int13.41.cx.fixed": "0001",
    "int13.08.dx": "0F01",                # last head 15, one disk
    "int13.15.ah": "03",
    "int13.48.cf": "00", "int13.48.sectors": "%08X" % SECTORS, "int13.48.bps": "0200",
    "int13.42.cf": "00", "int13.42.sector": "00000014",
    "int13.02.cf": "00", "int13.02.sector": "00000011",
    "int13.02.sector0.cf": "01",
    "int13.43.cf": "00", "int13.43.readback": "57524954",
    # verify and seek: a sector on the disk, and the first one past its end
    "int13.44.cf": "00", "int13.44.end.cf": "01",
    "int13.47.cf": "00", "int13.47.end.cf": "01",
    "int13.46.cf": "01",                  # a fixed disk cannot be ejected
    "int11.serial.x87": "0202",           # equipment: one serial port, an x87
    "int15.86.cf": "00",
    "rtc.century.year": "2024", "rtc.month.day": "0305",
    "ticks.advance": "01",
    "int16.01.nokey": "01",
}
# SeaBIOS claims EDD's removable-media subset for every disk (41h CX bit 1), and
# for a fixed disk the subset's answers are: lock succeeds, eject says B2h
# "volume not removable" (EDD-4, T13/2132-D, 8.18 and 8.19)
SEABIOS_ONLY = {"int13.45.cf": "00", "int13.45.ah": "00", "int13.46.ah": "B2"}
# pyemu's BIOS's own choices
PYEMU_ONLY = {
    # SeaBIOS keeps the top of RAM for itself and reports less
    "e801.bx": "0100", "e801.dx": "0100",  # 16 MB above 16 MB, in 64 KB blocks
    "e820.ram1m.length": "01F00000",      # RAM from 1 MB to 32 MB
    "int88.ax": "7C00",                   # KB above 1 MB (SeaBIOS caps it at 63 MB)
    "int13.15.sectors": "%08X" % SECTORS,
    "int13.08.cx": "073F",                # last cylinder 7, 63 sectors (SeaBIOS keeps back the
                                          # last cylinder, as old BIOSes did for diagnostics: 063F)
    "int13.44.end.ah": "04", "int13.47.end.ah": "04",  # sector not found (SeaBIOS: 01h)
    # it does not claim the removable-media subset: lock and eject are bad commands
    "int13.45.cf": "01", "int13.45.ah": "01", "int13.46.ah": "01",
    "int11.ax": "0222",                   # and 80x25 colour (SeaBIOS: a PS/2 mouse, no video mode)
}
# INT 15h 86h waits 1 s, 18.2 ticks of the tick count; a third of that shows the
# BIOS waited, without an upper bound that a loaded host could break
WAIT_TICKS_AT_LEAST = 6


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    d = tmp_path_factory.mktemp("bios-services")
    program = build_elf(SRC / "services.S", SRC / "link.ld", d / "services.bin", include_dirs=[SRC]).read_bytes()
    assert len(program) <= 16 * 512
    image = bytearray(program.ljust(16 * 512, b"\0"))
    for n in range(16, SECTORS):
        image += (b"SECTOR" + struct.pack("<I", n)).ljust(512, b"\0")
    path = d / "disk.img"
    path.write_bytes(bytes(image))
    return path


def results(stdout):
    text = stdout.decode("latin-1")
    assert "BIOS-TEST-START" in text and "BIOS-TEST-DONE" in text, text[-3000:]
    # SeaBIOS's serial console flushes the end of its "Booting from Hard Disk..." line
    # late, in the middle of the program's output; the program itself never sends CR
    body = re.sub(r"\.*\r\n", "", text[text.index("BIOS-TEST-START"):])
    return dict(line.split("=", 1) for line in body.splitlines() if "=" in line), body


def run(argv, timeout=600):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, cwd=str(REPO))
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def copy(disk, tmp_path):
    target = tmp_path / "disk.img"
    shutil.copyfile(disk, target)
    return target


def check(values, expected):
    wrong = {k: (values.get(k), v) for k, v in expected.items() if values.get(k) != v}
    assert not wrong, "name: (got, expected) %r" % wrong


def check_waited(values):
    assert int(values["int15.86.ticks"], 16) >= WAIT_TICKS_AT_LEAST, values["int15.86.ticks"]


def test_services_on_seabios_in_qemu(disk, tmp_path):
    qemu = shutil.which("qemu-system-i386")
    assert qemu, "qemu-system-i386 is needed (Debian: qemu-system-x86)"
    status, out, err = run([qemu, "-nodefaults", "-display", "none", "-serial", "stdio",
                            "-drive", "file=%s,format=raw,if=ide,index=0" % copy(disk, tmp_path)] + ARGS)
    values, body = results(out)
    assert status == EXIT_STATUS, err
    check(values, COMMON)
    check(values, SEABIOS_ONLY)
    check_waited(values)
    assert values["rtc.hour.minute"] in ("1020", "1021")


def test_services_on_pyemus_bios(disk, tmp_path):
    status, out, err = run([sys.executable, "-m", "emu.cli", "-hda", str(copy(disk, tmp_path)), "-nographic"]
                           + ARGS)
    values, body = results(out)
    assert status == EXIT_STATUS, err
    check(values, COMMON)
    check(values, PYEMU_ONLY)
    check_waited(values)
    assert values["rtc.hour.minute"] in ("1020", "1021")
    assert "<>" in body                   # INT 10h teletype reached the serial console
    assert out.startswith(b"pyemu BIOS\r\n")


def test_services_on_seabios_in_pyemu(disk, tmp_path):
    status, out, err = run([sys.executable, "-m", "emu.cli", "-bios", SEABIOS, "-hda", str(copy(disk, tmp_path)),
                            "-nographic"] + ARGS)
    values, body = results(out)
    assert status == EXIT_STATUS, err
    check(values, COMMON)
    check(values, SEABIOS_ONLY)
    check_waited(values)
