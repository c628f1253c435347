"""From process start to a shell command's answer: boot or restore (issue [guest-testing]).

    python benchmarks/restore.py [--only tiny|debian] [--runs N]

For each guest (the tiny 6.1 kernel; the Debian 686 kernel, KASLR on), one
after the other on this machine:

  pyemu cold boot     a fresh, empty translation cache (PYEMU_OBJCACHE_DIR)
  pyemu warm boot     that cache again
  pyemu restore       `-loadvm` of a snapshot of the booted guest at its prompt
                      (taken once, through QMP, by emu.booted), N runs
  qemu boot           qemu-system-i386, same kernel, initrd, command line, N runs

Each figure is host seconds from starting the emulator's process to the
answer of `echo $((6*7))` typed on its console (the boot runs type it at the
prompt).  The fastest of N runs and the first are printed; nothing asserts
anything about time.  Progress lines go to stderr, the table to stdout.
"""
import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emu import images  # noqa: E402
from emu.booted import booted_snapshot  # noqa: E402
from emu.session import GuestSession, pyemu_command  # noqa: E402

QEMU_ARGS = ["qemu-system-i386", "-nodefaults", "-display", "none", "-serial", "stdio", "-m", "128", "-no-reboot"]
TIMEOUT = 1800
T0 = time.monotonic()


def progress(text):
    sys.stderr.write("[%6.0fs] %s\n" % (time.monotonic() - T0, text))
    sys.stderr.flush()


def answer(s, t0, boot):
    """Seconds from t0 to the answer of a command typed at the prompt."""
    if boot:
        s.expect(images.PROMPT_RE, timeout=TIMEOUT)
    out = s.run("echo $((6*7))", timeout=TIMEOUT)
    took = time.monotonic() - t0
    if out != "42":
        raise SystemExit("benchmark failed: the guest answered %r" % out)
    return took


def one(img, how, objdir=None, snapshot=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    if objdir is not None:
        env["PYEMU_OBJCACHE_DIR"] = str(objdir)
    t0 = time.monotonic()
    if how == "qemu":
        s = GuestSession(QEMU_ARGS + ["-kernel", str(img.kernel), "-initrd", str(img.initrd),
                                      "-append", img.cmdline_hint], timeout=TIMEOUT)
    elif how == "restore":
        s = GuestSession.start(img.kernel, img.initrd, img.cmdline_hint, loadvm=snapshot, timeout=TIMEOUT, env=env)
    else:
        s = GuestSession(pyemu_command(img.kernel, img.initrd, img.cmdline_hint), timeout=TIMEOUT, env=env)
    try:
        return answer(s, t0, boot=how != "restore")
    finally:
        s.kill()


def measure(img, runs):
    rows = {}
    objdir = pathlib.Path(tempfile.mkdtemp(prefix="pyemu-bench-objcache-"))
    try:
        for label, how, n in (("pyemu cold boot", "boot", 1), ("pyemu warm boot", "boot", runs)):
            rows[label] = []
            for _ in range(n):
                rows[label].append(one(img, how, objdir))
                progress("%s %s: %.2f s" % (img.name, label, rows[label][-1]))
        progress("%s: taking the snapshot of the booted guest (once per configuration)" % img.name)
        snap = booted_snapshot(img.kernel, img.initrd, img.cmdline_hint, ready=images.PROMPT_RE)
        progress("%s: snapshot %s, %.1f MB" % (img.name, snap, snap.stat().st_size / 1e6))
        for label, how in (("pyemu restore", "restore"), ("qemu boot", "qemu")):
            rows[label] = []
            for _ in range(runs):
                rows[label].append(one(img, how, objdir, snap))
                progress("%s %s: %.2f s" % (img.name, label, rows[label][-1]))
    finally:
        shutil.rmtree(objdir, ignore_errors=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("tiny", "debian"))
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    names = [args.only] if args.only else ["tiny", "debian"]
    results = {}
    for name in names:
        img = images.ensure(name)
        results[name] = measure(img, args.runs)
    print("seconds from process start to the answer of a command (first / fastest of the runs)")
    print("%-8s %-18s %8s %8s" % ("guest", "how", "first", "fastest"))
    for name, rows in results.items():
        for label, times in rows.items():
            print("%-8s %-18s %8.2f %8.2f" % (name, label, times[0], min(times)))


if __name__ == "__main__":
    main()
