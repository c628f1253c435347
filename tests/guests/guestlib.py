"""Build bare-metal guest programs and run them on pyemu and on qemu-system-i386.

A guest is a GNU as source in tests/guests/src (it includes src/guest.inc and
is linked with src/link.ld) assembled into a multiboot ELF in a temporary
directory.  It prints on COM1 and leaves through isa-debug-exit, so a run is
(serial output bytes, exit status), and the same image gives the same pair on
QEMU.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

from emu.boot.toolchain import ToolchainError, build_elf  # noqa: F401  (re-exported for the tests)

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE / "src"
REPO = HERE.parents[1]
LINKER_SCRIPT = SRC / "link.ld"

DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"

# pyemu exactly as a user types it (see the brief and emu/cli.py).  It is run as
# `python -m emu.cli` with this checkout first on PYTHONPATH, rather than through
# the `pyemu` console script, so the tests exercise this tree even when the
# installed script points at another checkout.
PYEMU_ARGS = ["-nographic", "-no-reboot", "-device", DEBUG_EXIT]

# QEMU with the same machine, but a clean serial port.  With -nographic QEMU
# tells SeaBIOS to run its serial console (fw_cfg "etc/sercon-port"), so the
# BIOS banner, screen-clearing escapes and the iPXE option-ROM messages land on
# COM1 before the guest's first byte.  Instead:
#   -display none     no window and no sercon (SeaBIOS then prints only to the
#                     absent VGA)
#   -nodefaults       no default VGA card, NIC (so no iPXE ROM), floppy, CD-ROM,
#                     parallel port or monitor
#   -serial stdio     COM1 (port 0x3f8) on stdout, as pyemu -nographic does
#   -m 128            pyemu's default RAM size (QEMU's default too, stated anyway)
# With these the serial output is exactly what the guest wrote, so the two
# runs are compared byte for byte with no stripping.  stdin is /dev/null so
# QEMU never touches a terminal.
QEMU_ARGS = ["-nodefaults", "-display", "none", "-serial", "stdio", "-m", "128",
             "-no-reboot", "-device", DEBUG_EXIT]

QEMU = "qemu-system-i386"
QEMU_MISSING = ("qemu-system-i386 was not found on PATH: the guest tests compare pyemu with QEMU, "
                "install it (Debian/Ubuntu: 'apt install qemu-system-x86', Fedora: "
                "'dnf install qemu-system-x86')")


@dataclass
class Run:
    """One run of a guest: serial output, stderr text, exit status (None: killed on timeout)."""
    stdout: bytes
    stderr: str
    status: int
    timed_out: bool = False
    interrupted: bool = False      # timed out, then stopped with SIGINT (Ctrl-C)
    stats: dict = None             # pyemu's PYEMU_STATS figures, when asked for (tiered.py)

    def describe(self):
        out = self.stdout.decode("latin-1")
        if len(out) > 3000:
            out = out[:1500] + "\n[...]\n" + out[-1500:]
        return "status %r%s\n--- serial output ---\n%s\n--- stderr ---\n%s" % (
            self.status, " (timed out)" if self.timed_out else "", out, self.stderr[-3000:])


def source(name):
    path = SRC / (name if name.endswith(".S") else name + ".S")
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def build(name, outdir, defsyms=(), include_dirs=()):
    """Assemble and link src/<name>.S into outdir/<stem>.elf (outdir: a temporary directory).

    defsyms: (symbol, value) pairs for --defsym; include_dirs: extra -I
    directories (searched first, e.g. for a generated .incbin file)."""
    src = source(name) if not os.path.isabs(str(name)) else pathlib.Path(name)
    outdir = pathlib.Path(outdir)
    stem = src.stem + "".join("-%s%s" % (k, v) for k, v in defsyms)
    return build_elf(src, LINKER_SCRIPT, outdir / (stem + ".elf"),
                     include_dirs=list(include_dirs) + [SRC], defsyms=defsyms)


def _pyemu_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def pyemu_command(elf, extra=()):
    return [sys.executable, "-m", "emu.cli", "-kernel", str(elf)] + PYEMU_ARGS + list(extra)


def _run(cmd, timeout, env=None, interrupt_on_timeout=False):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=str(REPO), env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return Run(out, err.decode("utf-8", "replace"), p.returncode)
    except subprocess.TimeoutExpired:
        pass
    if interrupt_on_timeout:
        # a guest that loops forever is legal; pyemu must then still stop cleanly on Ctrl-C
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=15)
            return Run(out, err.decode("utf-8", "replace"), p.returncode, timed_out=True, interrupted=True)
        except subprocess.TimeoutExpired:
            pass
    p.kill()
    out, err = p.communicate()
    return Run(out, err.decode("utf-8", "replace"), None, timed_out=True)


def run_pyemu(elf, timeout=60, extra=(), interrupt_on_timeout=False):
    return _run(pyemu_command(elf, extra), timeout, env=_pyemu_env(), interrupt_on_timeout=interrupt_on_timeout)


def qemu_path():
    return shutil.which(QEMU)


def run_qemu(elf, timeout=60):
    qemu = qemu_path()
    if qemu is None:
        raise AssertionError(QEMU_MISSING)
    return _run([qemu, "-kernel", str(elf)] + QEMU_ARGS, timeout)


def exit_status(code):
    """The process exit status for a write of code to isa-debug-exit (QEMU: (code << 1) | 1)."""
    return ((code << 1) | 1) & 0xFF
