"""`pyemu demo`: build the bundled bare-metal demo (demo.S) and boot it.

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
import platform
import shutil
import subprocess
import sys
import tempfile

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


class ToolchainError(Exception):
    """The GNU assembler/linker is missing or failed (the message says what to do)."""


def find_binutils():
    """(as, ld) paths of a GNU binutils that can build 32-bit x86 ELF files.

    On an x86 host the native `as`/`ld` do (with --32 / -m elf_i386); on
    another host (pyemu runs wherever llvmlite does) a cross binutils is needed.
    """
    native_x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86")
    candidates = [("as", "ld")] if native_x86 else []
    candidates += [("x86_64-linux-gnu-as", "x86_64-linux-gnu-ld"), ("i686-linux-gnu-as", "i686-linux-gnu-ld")]
    for as_name, ld_name in candidates:
        as_path, ld_path = shutil.which(as_name), shutil.which(ld_name)
        if as_path and ld_path:
            return as_path, ld_path
    if native_x86:
        hint = "install binutils (e.g. 'apt install binutils' or 'dnf install binutils')"
    else:
        hint = ("install an x86 cross binutils (e.g. 'apt install binutils-x86-64-linux-gnu'); "
                "the native 'as' of a %s host cannot assemble x86 code" % platform.machine())
    raise ToolchainError("the GNU assembler and linker ('as', 'ld') were not found: " + hint)


def build_elf(source, linker_script, out_elf, include_dirs=(), defsyms=(), workdir=None):
    """Assemble one GNU as source (--32) and link it with linker_script into out_elf.

    include_dirs: searched by .include and .incbin.  defsyms: (name, value)
    pairs for --defsym.  Raises ToolchainError with the tools' messages."""
    as_path, ld_path = find_binutils()
    out_elf = pathlib.Path(out_elf)
    workdir = pathlib.Path(workdir) if workdir else out_elf.parent
    obj = workdir / (out_elf.stem + ".o")
    as_cmd = [as_path, "--32", "-o", str(obj)]
    for d in include_dirs:
        as_cmd += ["-I", str(d)]
    for name, value in defsyms:
        as_cmd += ["--defsym", "%s=%s" % (name, value)]
    as_cmd.append(str(source))
    ld_cmd = [ld_path, "-m", "elf_i386", "-nostdlib", "-static", "--build-id=none",
              "-T", str(linker_script), "-o", str(out_elf), str(obj)]
    for cmd in (as_cmd, ld_cmd):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise ToolchainError("%s failed (exit status %d):\n%s"
                                 % (os.path.basename(cmd[0]), p.returncode, p.stdout.rstrip()))
    return out_elf


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
    from .. import cache_root
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


def main(argv):
    """`pyemu demo [options]`: returns 0 when the demo ran and exited as expected."""
    from .. import cache_root
    from ..cli import parse_args, run_config
    argv = list(argv)
    if any(a in ("-h", "-help", "--help") for a in argv):
        sys.stdout.write(USAGE % (cache_root() / "demo"))
        return 0
    try:
        elf = demo_image()
    except ToolchainError as e:
        sys.stderr.write("pyemu demo: %s\n" % e)
        return 1
    except OSError as e:
        sys.stderr.write("pyemu demo: cannot build the demo in %s: %s\n" % (cache_root() / "demo", e))
        return 1
    cfg = parse_args(["-kernel", str(elf), "-nographic", "-no-reboot", "-device", DEBUG_EXIT] + argv)
    status = run_config(cfg)
    if status == EXPECTED_STATUS:
        return 0
    sys.stderr.write("pyemu demo: the demo ended with status %r instead of %d (it did not finish as expected)\n"
                     % (status, EXPECTED_STATUS))
    return status if isinstance(status, int) and status not in (0, EXPECTED_STATUS) else 1
