"""Disk benchmark: sequential reads and writes of 64 MB in the guest, on
/dev/sda with O_DIRECT (busybox dd iflag=direct / oflag=direct, so the guest's
page cache is out of the way and every byte crosses the emulated IDE
controller), pyemu next to qemu-system-i386 (issue [disk-bios]).

    python benchmarks/disk.py [--runs N] [--mb 64]

Both emulators boot the tiny kernel with an empty raw image as the first
disk (/dev/sda, the one measured) and the tiny-disk image as the second
(root=/dev/sdb1); the dd commands are timed from the host around each command (N
runs; the first and the fastest are printed).  pyemu runs with a warm object
cache.  Nothing asserts anything about time; the table goes to stdout.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from emu import images  # noqa: E402
from emu.session import GuestSession, pyemu_command  # noqa: E402

APPEND = "console=ttyS0 root=/dev/sdb1 panic=-1"
QEMU = "qemu-system-i386"
TIMEOUT = 1800


def progress(text):
    sys.stderr.write("disk.py: %s\n" % text)
    sys.stderr.flush()


def start(emulator, img, disk, scratch):
    drives = ["-drive", "file=%s,format=raw,if=ide,index=0" % scratch,
              "-drive", "file=%s,format=raw,if=ide,index=1" % disk]
    if emulator == "qemu":
        argv = [QEMU, "-kernel", str(img.kernel), "-append", APPEND, "-nodefaults", "-display", "none",
                "-serial", "stdio", "-m", "128", "-no-reboot"] + drives
    else:
        argv = pyemu_command(img.kernel, None, APPEND, extra_args=drives)
    s = GuestSession(argv, timeout=TIMEOUT, cwd=str(REPO))
    s.expect(r"BOOT-OK: Linux \S+ i686 from disk")
    s.expect(img.prompt_re)
    return s


def timed(s, cmd):
    t0 = time.monotonic()
    s.run(cmd, check=True)
    return time.monotonic() - t0


def measure(emulator, img, mb, runs, tmp):
    disk = tmp / ("%s-disk.img" % emulator)
    scratch = tmp / ("%s-scratch.img" % emulator)
    shutil.copyfile(img.disk, disk)
    with open(scratch, "wb") as f:
        f.truncate((mb + 8) << 20)
    progress("%s: booting" % emulator)
    s = start(emulator, img, disk, scratch)
    try:
        write = "dd if=/dev/zero of=/dev/sda bs=1M count=%d oflag=direct 2>/dev/null" % mb
        read = "dd if=/dev/sda of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null" % mb
        out = {"write": [], "read": []}
        for k in range(runs):
            progress("%s: run %d" % (emulator, k + 1))
            out["write"].append(timed(s, write))
            out["read"].append(timed(s, read))
        s.poweroff()
        return out
    finally:
        s.kill()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=64)
    args = ap.parse_args(argv)
    if shutil.which(QEMU) is None:
        ap.error("%s not found on PATH (Debian/Ubuntu: apt install qemu-system-x86)" % QEMU)
    img = images.ensure("tiny-disk")
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        results = {e: measure(e, img, args.mb, args.runs, tmp) for e in ("pyemu", "qemu")}
    print("| %d MB, dd bs=1M, O_DIRECT on /dev/sda | pyemu s (first) | pyemu s (best) | MB/s | "
          "QEMU s (best) | MB/s | pyemu/QEMU |" % args.mb)
    print("|---|---|---|---|---|---|---|")
    for op in ("write", "read"):
        p, q = results["pyemu"][op], results["qemu"][op]
        print("| sequential %s | %.2f | %.2f | %.0f | %.2f | %.0f | %.1fx |" % (
            op, p[0], min(p), args.mb / min(p), min(q), args.mb / min(q), min(p) / min(q)))


if __name__ == "__main__":
    sys.exit(main())
