"""Kernel paths benchmark: system calls, page faults, fork, exec, pipes (issue [native-system]).

    python benchmarks/kernel_paths.py [--kernel tiny|debian] [--runs N] [--quick]

Builds tests/boot/kpaths/kpaths.c (a static i386 program without a C
library: gcc -m32 -nostdlib; tests/boot/test_kernel_paths.py runs it too), appends it to the guest's initramfs as
/kpaths (the kernel unpacks concatenated cpio archives), boots the guest on
qemu-system-i386 and on pyemu, and runs each row there and natively on the
host (where the host runs i386 programs).  Each row runs once to warm up
(pyemu translates its code, both kernels fault the program in), then N
times; the table shows the best of the N.

A row's time is taken on the host, between the moments its "KP B" and "KP E"
lines reach the console: pyemu spends time in Python that passes no guest
time, so the guest's own clock (shown beside, from the program's
CLOCK_MONOTONIC) leaves that out.  A row runs fewer iterations on pyemu
than on QEMU so that each takes seconds, not minutes; the figures are per
operation.  The shell row is `for i in $(seq 1000); do /bin/true; done`,
timed the same way.

Nothing is asserted; the figures are printed.  Progress goes to stderr.
"""
import argparse
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))      # the test package is "boot", as pytest imports it

from emu import images  # noqa: E402
from emu.session import GuestSession, pyemu_command  # noqa: E402
from boot.kpathslib import BuildError, build_kpaths, initrd_with_kpaths, row_pattern  # noqa: E402

QEMU = "qemu-system-i386"
QEMU_ARGS = ["-nodefaults", "-display", "none", "-serial", "stdio", "-m", "128", "-no-reboot"]

# row, what it does, iterations on QEMU and natively, iterations on pyemu
ROWS = [
    ("int80", "getppid through INT 0x80", 200000, 2000),
    ("vdso", "getppid through the vDSO (SYSENTER)", 200000, 2000),
    ("fault", "page fault on a fresh anonymous page", 20000, 1000),
    ("fork", "fork + wait", 1000, 50),
    ("exec", "fork + exec of /bin/true + wait", 300, 20),
    ("pipe", "pipe ping-pong (two context switches)", 20000, 300),
    ("zero", "read 16 MB from /dev/zero (64 KB reads)", 20, 2),
]
SHELL_ROW = ("shell", "for i in $(seq 1000); do /bin/true; done (per /bin/true)", 1000)
BOOT_TIMEOUT = 1800
ROW_TIMEOUT = 1200


def progress(text):
    print(text, file=sys.stderr, flush=True)


def start(emulator, img, initrd):
    if emulator == "qemu":
        argv = [QEMU, "-kernel", str(img.kernel), "-initrd", str(initrd), "-append", img.cmdline_hint] + QEMU_ARGS
        return GuestSession(argv, timeout=BOOT_TIMEOUT)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return GuestSession(pyemu_command(img.kernel, initrd, img.cmdline_hint), timeout=BOOT_TIMEOUT, env=env)


def timed_row(s, row, n):
    """(host seconds, guest seconds) of `kpaths row n` in a running guest."""
    s.sendline("/kpaths %s %d" % (row, n))
    s.expect(r"KP B %s\r?\n" % row, timeout=ROW_TIMEOUT)
    t0 = time.monotonic()
    m = s.expect(row_pattern(row, n), timeout=ROW_TIMEOUT)
    t1 = time.monotonic()
    if m.group(2) is None:
        raise RuntimeError(m.group(1).decode())
    s.expect(images.PROMPT_RE, timeout=ROW_TIMEOUT)
    return t1 - t0, int(m.group(2)) + int(m.group(3)) / 1e9


def timed_shell(s, n):
    # printf prints the markers from pieces, so the echoed command line never matches them
    s.sendline("printf 'K%%s B shell\\n' P; for i in $(seq %d); do /bin/true; done; printf 'K%%s E shell\\n' P" % n)
    s.expect(r"KP B shell\r?\n", timeout=ROW_TIMEOUT)
    t0 = time.monotonic()
    s.expect(r"KP E shell\r?\n", timeout=ROW_TIMEOUT)
    t1 = time.monotonic()
    s.expect(images.PROMPT_RE, timeout=ROW_TIMEOUT)
    return t1 - t0, None


def guest_rows(emulator, img, initrd, runs, quick):
    """{row: (best host s per op, guest s per op of that run)} on one emulator."""
    progress("%s %s: booting" % (img.name, emulator))
    results = {}
    with start(emulator, img, initrd) as s:
        s.expect(images.PROMPT_RE, timeout=BOOT_TIMEOUT)
        for row, _, n_fast, n_slow in ROWS:
            n = n_slow if emulator == "pyemu" else n_fast
            n = max(1, n // 10) if quick else n
            timed_row(s, row, max(1, n // 10))          # warm: translate, fault the program in
            best = None
            for k in range(runs):
                host, guest = timed_row(s, row, n)
                progress("%s %s: %s x%d: %.3f s (guest clock %.3f s)" % (img.name, emulator, row, n, host, guest))
                if best is None or host < best[0]:
                    best = (host, guest)
            results[row] = (best[0] / n, best[1] / n)
        n = SHELL_ROW[2] // 10 if quick or emulator == "pyemu" else SHELL_ROW[2]
        timed_shell(s, max(1, n // 10))
        best = min(timed_shell(s, n)[0] for _ in range(runs))
        progress("%s %s: shell x%d: %.3f s" % (img.name, emulator, n, best))
        results["shell"] = (best / n, None)
        s.sendline("reboot -f")
        s.wait(timeout=120)
    return results


def native_rows(exe, runs, quick):
    """The same rows run on the host, timed the same way (None where it cannot run i386 code)."""
    results = {}
    for row, _, n, _ in ROWS:
        n = max(1, n // 10) if quick else n
        best = None
        for _ in range(runs + 1):
            try:
                p = subprocess.Popen([str(exe), row, str(n)], stdout=subprocess.PIPE)
            except OSError:
                return None
            first = p.stdout.readline()
            t0 = time.monotonic()
            last = p.stdout.readline()
            t1 = time.monotonic()
            if p.wait() != 0 or not first.startswith(b"KP B") or not last.startswith(b"KP E"):
                return None
            best = t1 - t0 if best is None else min(best, t1 - t0)
        results[row] = (best / n, None)
    return results


def us(v):
    return "-" if v is None else ("%.2f" % (v * 1e6) if v < 1e-4 else "%.0f" % (v * 1e6))


def table(kernel, results, native):
    head = ("row", "native us", "QEMU us", "pyemu us", "pyemu/QEMU", "pyemu us, guest clock")
    rows = []
    for row, what, _, _ in ROWS + [SHELL_ROW + (None,)]:
        q, p = results["qemu"].get(row), results["pyemu"].get(row)
        n = native.get(row) if native else None
        rows.append(("%s: %s" % (row, what), us(n[0] if n else None), us(q[0]), us(p[0]),
                     "%.0fx" % (p[0] / q[0]) if q[0] else "-", us(p[1])))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    lines = ["%s kernel, per operation, host-timed (best of the runs):" % kernel,
             "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", choices=("tiny", "debian"), default="tiny")
    ap.add_argument("--runs", type=int, default=2, help="timed runs of each row after the warm-up (best shown)")
    ap.add_argument("--quick", action="store_true", help="a tenth of the iterations")
    args = ap.parse_args(argv)
    if not shutil.which(QEMU):
        ap.error("%s not found on PATH (Debian/Ubuntu: apt install qemu-system-x86)" % QEMU)
    img = images.ensure(args.kernel)
    with tempfile.TemporaryDirectory(prefix="kpaths-") as tmp:
        try:
            exe = build_kpaths(tmp)
        except BuildError as e:
            sys.exit("kernel_paths: %s" % e)
        initrd = initrd_with_kpaths(img.initrd, exe, tmp)
        native = native_rows(exe, args.runs, args.quick)
        if native is None:
            progress("this host does not run i386 programs: no native column")
        results = {emu: guest_rows(emu, img, initrd, args.runs, args.quick) for emu in ("qemu", "pyemu")}
    print("%s, %d cores, %s, Python %s" % (platform.processor() or platform.machine(), os.cpu_count(),
                                           platform.platform(), platform.python_version()))
    print(table(args.kernel, results, native))


if __name__ == "__main__":
    main()
