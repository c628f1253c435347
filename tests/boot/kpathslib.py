"""The kpaths program (kpaths/kpaths.c) and a guest initramfs that holds it:
shared by tests/boot/test_kernel_paths.py and benchmarks/kernel_paths.py."""
import pathlib
import subprocess

from emu.images.cpio import NewcWriter

SOURCE = pathlib.Path(__file__).resolve().parent / "kpaths" / "kpaths.c"
CFLAGS = ["-m32", "-O2", "-ffreestanding", "-fno-builtin", "-fno-pic", "-no-pie", "-nostdlib", "-static",
          "-fno-stack-protector", "-fno-asynchronous-unwind-tables"]
ROW_NAMES = ("int80", "vdso", "fault", "fork", "exec", "pipe", "zero")


class BuildError(RuntimeError):
    pass


def build_kpaths(directory):
    """Compile kpaths.c into directory (gcc -m32 without a C library): the executable's path."""
    exe = pathlib.Path(directory) / "kpaths"
    r = subprocess.run(["gcc"] + CFLAGS + ["-o", str(exe), str(SOURCE)], capture_output=True, text=True)
    if r.returncode:
        raise BuildError("cannot build %s with gcc -m32 (Debian: apt install gcc):\n%s"
                         % (SOURCE, r.stderr.strip()))
    return exe


def initrd_with_kpaths(initrd, exe, directory):
    """initrd with /kpaths appended as a second (gzipped) cpio archive: Linux
    unpacks concatenated archives, each starting on a 4-byte boundary."""
    w = NewcWriter()
    w.add_file("kpaths", pathlib.Path(exe).read_bytes(), mode=0o755)
    out = pathlib.Path(directory) / (pathlib.Path(initrd).name + "+kpaths")
    data = pathlib.Path(initrd).read_bytes()
    out.write_bytes(data + b"\0" * ((-len(data)) % 4) + w.getvalue_gzip())
    return out


def row_pattern(row, n):
    """What `kpaths row n` prints at its end: the guest-clock seconds and nanoseconds as groups 2, 3;
    an error line instead matches with group 2 None."""
    return r"(KP E %s %d (\d+) (\d+)|kpaths: [^\r\n]*)\r?\n" % (row, n)
