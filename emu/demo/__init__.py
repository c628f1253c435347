"""The bundled bare-metal demo (demo.S): its image, built on demand, and the
options that boot it; `pyemu demo` (emu/cli.py) builds and boots it.

The demo is kept as GNU as source next to this file.  The first run assembles
and links it (binutils: `as`, `ld`) into a multiboot ELF in the user's cache
directory (emu.cache_root() / "demo"); later runs reuse that image as long as
the source, the linker script and the tools are unchanged.  It then boots like

    pyemu -kernel demo.elf -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4

and succeeds when the guest leaves through isa-debug-exit with code 0
(exit status (0 << 1) | 1 = 1, as in QEMU).  Extra options are passed on:
`pyemu demo -d in_asm -D trace.log` shows what the translator saw.
"""
import hashlib
import os
import pathlib
import tempfile

from .. import cache_root
from ..boot.toolchain import build_elf, find_binutils

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE / "demo.S"
LINKER_SCRIPT = HERE / "link.ld"
DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"
EXPECTED_STATUS = 1          # the demo writes 0 to isa-debug-exit: (0 << 1) | 1

USAGE = """usage: pyemu demo [pyemu options...]

Build (once, into %s) and boot the bundled bare-metal demo: it prints
a banner, some primes and a Mandelbrot set on the serial port, then exits
through isa-debug-exit.  Extra options go to pyemu, e.g.
  pyemu demo -d in_asm -D trace.log
"""


def _build_key():
    """A hash of what the image is built from (the tools are not part of it, so
    an image already built keeps working if binutils is removed later)."""
    h = hashlib.sha256()
    for path in (SOURCE, LINKER_SCRIPT):
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def demo_image(cache_dir=None):
    """The path of the built demo ELF, building it if the source changed."""
    cache_dir = pathlib.Path(cache_dir) if cache_dir else cache_root() / "demo"
    key = _build_key()
    elf = cache_dir / "demo.elf"
    stamp = cache_dir / "demo.key"
    try:
        if elf.is_file() and stamp.read_text().strip() == key:
            return elf
    except OSError:
        pass
    find_binutils()                     # a clear message before anything is created
    cache_dir.mkdir(parents=True, exist_ok=True)
    # build in a private directory, then move into place: two first runs at once
    # must not see a half-written image
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="build-") as tmp:
        tmp_elf = build_elf(SOURCE, LINKER_SCRIPT, pathlib.Path(tmp) / "demo.elf")
        tmp_stamp = pathlib.Path(tmp) / "demo.key"
        tmp_stamp.write_text(key + "\n")
        os.replace(tmp_elf, elf)
        os.replace(tmp_stamp, stamp)
    return elf


def pyemu_args(elf):
    """The pyemu options that boot the built demo (extra options go after them)."""
    return ["-kernel", str(elf), "-nographic", "-no-reboot", "-device", DEBUG_EXIT]
