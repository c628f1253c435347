"""Build and run the system-level guests (src/sys_*.S) on pyemu and qemu-system-i386.

Two kinds of image:
  multiboot  src/sys_NAME.S includes sys.inc: a multiboot ELF like the other
             guests (guestlib.build), started in flat 32-bit protected mode.
  bios       src/sys_NAME.S includes sys_bios.inc: linked with sys_bios.ld and
             turned into a flat 64 KB ROM image (objcopy -O binary) that both
             emulators map below 4 GB and below 1 MB (`-bios FILE`); the CPU
             starts at the reset vector in real mode.
The kind is read from the source (which include it uses).  A run is the same
(serial output, exit status) pair as for guestlib.

By hand:  python tests/guests/syslib.py sys_reset [--qemu|--pyemu] [--keep DIR]
          [--defsym SYM=VALUE] [--update-from-qemu] [-- extra pyemu options]
"""
import os
import pathlib
import shutil
import struct
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parents[1]))
    sys.path.insert(0, str(HERE))
    import guestlib  # noqa: E402
else:
    from . import guestlib

SRC = guestlib.SRC
BIOS_LINKER_SCRIPT = SRC / "sys_bios.ld"
BIOS_SIZE = 64 * 1024


def is_bios(name):
    return '.include "sys_bios.inc"' in guestlib.source(name).read_text()


def qemu_extra_args(name):
    """QEMU options a guest asks for with a line `qemu-args: ...` in its source,
    e.g. `-cpu qemu32,+nx` where it tests a feature QEMU's default CPU lacks."""
    args = []
    for line in guestlib.source(name).read_text().splitlines():
        if "qemu-args:" in line:
            args += line.split("qemu-args:", 1)[1].replace("*/", "").split()
    return args


def _objcopy():
    for name in ("objcopy", "x86_64-linux-gnu-objcopy", "i686-linux-gnu-objcopy"):
        path = shutil.which(name)
        if path:
            return path
    raise guestlib.ToolchainError("objcopy (binutils) was not found: install binutils")


def build(name, outdir, defsyms=()):
    """The image to boot: (path, "kernel" or "bios")."""
    outdir = pathlib.Path(outdir)
    if not is_bios(name):
        return guestlib.build(name, outdir, defsyms=defsyms), "kernel"
    src = guestlib.source(name)
    stem = src.stem + "".join("-%s%s" % (k, v) for k, v in defsyms)
    elf = guestlib.build_elf(src, BIOS_LINKER_SCRIPT, outdir / (stem + ".elf"),
                             include_dirs=[SRC], defsyms=defsyms)
    image = outdir / (stem + ".bin")
    p = subprocess.run([_objcopy(), "-O", "binary", str(elf), str(image)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise guestlib.ToolchainError("objcopy failed:\n" + p.stdout)
    size = image.stat().st_size
    if size != BIOS_SIZE:
        raise guestlib.ToolchainError("%s: the ROM image is %d bytes, not %d (check sys_bios.ld)"
                                      % (image, size, BIOS_SIZE))
    total = bios_size(name)
    if total > BIOS_SIZE:
        # pad in front: each 4 KB page of the padding starts with its offset in the image
        pad = b"".join(struct.pack("<I", off).ljust(4096, b"\0") for off in range(0, total - BIOS_SIZE, 4096))
        image.write_bytes(pad + image.read_bytes())
    return image, "bios"


def bios_size(name):
    """The -bios image size a guest asks for (`bios-size: KB` in its source), 64 KB by default."""
    for line in guestlib.source(name).read_text().splitlines():
        if "bios-size:" in line:
            return int(line.split("bios-size:", 1)[1].split()[0]) * 1024
    return BIOS_SIZE


def pyemu_command(image, kind, extra=()):
    return [sys.executable, "-m", "emu.cli", "-" + kind, str(image)] + guestlib.PYEMU_ARGS + list(extra)


def run_pyemu(image, kind, timeout=120, extra=()):
    return guestlib._run(pyemu_command(image, kind, extra), timeout, env=guestlib._pyemu_env())


def run_qemu(image, kind, timeout=60, extra=()):
    qemu = guestlib.qemu_path()
    if qemu is None:
        raise AssertionError(guestlib.QEMU_MISSING)
    return guestlib._run([qemu, "-" + kind, str(image)] + guestlib.QEMU_ARGS + list(extra), timeout)


def main(argv):
    import argparse
    import difflib
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--qemu", action="store_true")
    ap.add_argument("--pyemu", action="store_true")
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--update-from-qemu", action="store_true")
    ap.add_argument("--defsym", action="append", default=[], metavar="SYM=VALUE")
    ap.add_argument("extra", nargs="*", help="extra pyemu options (after --)")
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.extra = extra
    both = not (args.qemu or args.pyemu or args.update_from_qemu)
    with tempfile.TemporaryDirectory() as tmp:
        outdir = pathlib.Path(args.keep or tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        image, kind = build(args.name, outdir, defsyms=[tuple(d.split("=", 1)) for d in args.defsym])
        runs = {}
        if args.qemu or args.update_from_qemu or both:
            runs["qemu"] = run_qemu(image, kind, extra=qemu_extra_args(args.name))
        if args.pyemu or both:
            runs["pyemu"] = run_pyemu(image, kind, extra=args.extra)
        for name, r in runs.items():
            print("===== %s: %s" % (name, r.describe()))
        if both:
            a = runs["qemu"].stdout.decode("latin-1").splitlines()
            b = runs["pyemu"].stdout.decode("latin-1").splitlines()
            diff = list(difflib.unified_diff(a, b, "qemu", "pyemu", lineterm=""))
            print("\n".join(diff) if diff else "===== serial output identical")
            same = runs["qemu"].status == runs["pyemu"].status
            print("===== exit status %s" % ("identical" if same else "DIFFERS"))
        if args.update_from_qemu:
            import run as run_tool
            run_tool.update(args.name, runs["qemu"].stdout.decode("latin-1"))


if __name__ == "__main__":
    os.chdir(str(guestlib.REPO))
    main(sys.argv[1:])
