"""Linux boot benchmark: pyemu and qemu-system-i386 side by side (issues 4, 9).

    python benchmarks/boot.py [--only tiny|debian] [--quick] [--runs N] [--boots-only]

For each kernel (the tiny 6.1 kernel and the stock Debian 686 kernel, from
emu.images, each with the busybox initramfs; the Debian kernel with KASLR
on, as Debian ships it, so it sits at another address at every boot) it
boots, one after the other on this machine with the same image and command
line:

  pyemu first    the translation cache is a fresh temporary directory
                 (PYEMU_OBJCACHE_DIR): every block is made cold; the
                 baseline tier's stencils and numba's cache are built
                 already (once per pyemu build: the figure of that one-off
                 build is printed apart, from `python -m emu.translator.baseline build`)
  pyemu second   the same translation cache directory again, and
  pyemu third    once more (N-1 further runs with --runs N)
  qemu           qemu-system-i386 -nodefaults -display none -serial stdio
                 -m 128 -no-reboot (N runs)

and prints seconds from process start ("power-on") to the guest's BOOT-OK
line, to the shell prompt, and to the emulator's exit after `reboot -f`;
the peak resident memory of the emulator's process (VmHWM, read at the
prompt); and pyemu's own counters (PYEMU_STATS, emu/debug/stats.py): guest
instructions, blocks made, of them by the baseline tier (stencils) and
by LLVM, O2 blocks taken from the translation cache, tier-ups, JIT seconds
(translation and tier-up on the run thread).  Boot runs do nothing but boot
and `reboot -f`, so the counters are the boot's.

Then, in one more warm pyemu session and one QEMU session, it makes the same
16 MB in the guest (the text of `seq 1 20000` doubled 8 times, cut to 16 MB
with dd: gzip has real work on it, see MAKE_DATA; the sha256 printed by both emulators and the host must agree)
and times `sha256sum /tmp/f` and `gzip -c /tmp/f > /dev/null` from the host
around each command (N runs: the first, and the fastest), plus the same
commands natively on the same bytes.

Nothing asserts anything about time; the figures are printed.  Progress
lines go to stderr, the tables to stdout.
"""
import argparse
import hashlib
import json
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

from emu import images  # noqa: E402
from emu.session import GuestSession, SessionError, pyemu_command  # noqa: E402

KERNELS = ("tiny", "debian")
PYEMU_RUNS = ("pyemu first", "pyemu second", "pyemu third")
QEMU = "qemu-system-i386"
QEMU_ARGS = ["-nodefaults", "-display", "none", "-serial", "stdio", "-m", "128", "-no-reboot"]
BOOT_OK_RE = r"BOOT-OK: Linux \S+ i686"
BOOT_TIMEOUT = 1800          # seconds; a cold pyemu boot of the Debian kernel takes minutes
COMMAND_TIMEOUT = 1800
SEQ_END = 20000              # seq 1 SEQ_END: 108894 bytes of text, doubled 8 times (27.9 MB)
# The data: a period longer than gzip's 32 KB window (so gzip finds no match
# across periods and does real work), made with tools that move big blocks:
# busybox `head -c` and a pipe from seq go a few bytes at a time, which took
# 10 s on QEMU, so the copies are cat and dd.
MAKE_DATA = ("mkdir -p /tmp && seq 1 {end} > /tmp/a && cp /tmp/a /tmp/g && "
             "for i in 1 2 3 4 5 6 7 8; do cat /tmp/g /tmp/g > /tmp/h && mv /tmp/h /tmp/g; done && "
             "dd if=/tmp/g of=/tmp/f bs=1048576 count={mb} 2>/dev/null && rm /tmp/a /tmp/g")
WORKLOADS = [("sha256sum", "sha256sum /tmp/f"), ("gzip -c", "gzip -c /tmp/f > /dev/null")]
T0 = time.monotonic()


def progress(text):
    sys.stderr.write("[%6.0fs] %s\n" % (time.monotonic() - T0, text))
    sys.stderr.flush()


def machine_description():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    qemu = subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout.splitlines()
    return "%s, %d cores (nproc), %s, Python %s; %s" % (
        model, os.cpu_count(), platform.platform(), platform.python_version(), qemu[0] if qemu else QEMU)


def pyemu_env(objdir, stats_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYEMU_OBJCACHE_DIR"] = str(objdir)
    env["PYEMU_STATS"] = str(stats_path)
    env.pop("PYEMU_CACHE", None)
    return env


def start(emulator, img, objdir=None, stats_path=None):
    if emulator == "qemu":
        argv = [QEMU, "-kernel", str(img.kernel), "-initrd", str(img.initrd), "-append", img.cmdline_hint]
        return GuestSession(argv + QEMU_ARGS, timeout=BOOT_TIMEOUT)
    argv = pyemu_command(img.kernel, img.initrd, img.cmdline_hint)
    return GuestSession(argv, timeout=BOOT_TIMEOUT, env=pyemu_env(objdir, stats_path))


def boot(s, t0):
    """Wait for BOOT-OK and the prompt: (seconds to BOOT-OK, seconds to the prompt)."""
    s.expect(BOOT_OK_RE, timeout=BOOT_TIMEOUT)
    t_ok = time.monotonic() - t0
    s.expect(images.PROMPT_RE, timeout=BOOT_TIMEOUT)
    return t_ok, time.monotonic() - t0


def peak_rss_mb(pid):
    """The peak resident memory of a running process (VmHWM), in MB."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def boot_run(emulator, img, objdir=None, tmp=None, label=""):
    """One boot to the prompt and `reboot -f`: a dict of figures."""
    stats_path = pathlib.Path(tmp) / ("stats-%s-%d.json" % (emulator, time.monotonic_ns())) if tmp else None
    progress("%s %s: booting%s" % (img.name, label or emulator, "" if emulator == "qemu" else
                                   " (object cache %s)" % objdir))
    t0 = time.monotonic()
    s = start(emulator, img, objdir, stats_path)
    try:
        t_ok, t_prompt = boot(s, t0)
        rss = peak_rss_mb(s.proc.pid)
        status = s.poweroff(timeout=120)
        t_exit = time.monotonic() - t0
    except SessionError as e:
        s.kill()
        raise SystemExit("benchmark failed: %s %s did not boot: %s" % (img.name, emulator, e))
    r = {"boot_ok": t_ok, "prompt": t_prompt, "exit": t_exit, "status": status, "peak_rss_mb": rss}
    if stats_path is not None:
        try:
            r["stats"] = json.loads(stats_path.read_text())
        except (OSError, ValueError) as e:
            progress("warning: no PYEMU_STATS figures (%s)" % e)
    progress("%s %s: BOOT-OK %.2f s, prompt %.2f s, exit %.2f s, peak RSS %s MB" % (
        img.name, label or emulator, t_ok, t_prompt, t_exit, "%.0f" % rss if rss else "?"))
    return r


def build_stencils():
    """The baseline tier's stencil library, built once per pyemu build (as pyemu's
    first run or `.ci/run` does) before the boots: what that took."""
    progress("the baseline tier's stencils (once per pyemu build)")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "emu.translator.baseline", "build"], cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit("benchmark failed: the stencil build failed:\n" + out.stderr)
    took = time.monotonic() - t0
    words = out.stdout.split()
    built = int(words[0]) if words and words[0].isdigit() else 0
    if built:
        return "%d built now, in %.0f s (once per pyemu build and host)" % (built, took)
    return "built earlier (once per pyemu build and host); checking took %.1f s" % took


def make_data(size):
    """The bytes the guest makes with MAKE_DATA: the text of seq 1 SEQ_END, doubled 8 times, cut to size."""
    text = "".join("%d\n" % i for i in range(1, SEQ_END + 1)).encode() * 256
    assert len(text) >= size, "SEQ_END too small for %d bytes" % size
    return text[:size]


def guest_workloads(emulator, img, size, runs, objdir=None, tmp=None):
    """Boot, make the data, time each workload runs times: {name: [seconds...]}, guest sha256."""
    stats_path = pathlib.Path(tmp) / ("work-%s.json" % emulator) if tmp else None
    progress("%s %s: booting for the in-guest workloads" % (img.name, emulator))
    s = start(emulator, img, objdir, stats_path)
    times = {}
    try:
        boot(s, time.monotonic())
        # kernel messages (e.g. the clocksource watchdog under load) would land in the output
        s.run("dmesg -n 1", check=True)
        t0 = time.monotonic()
        s.run(MAKE_DATA.format(end=SEQ_END, mb=size >> 20), timeout=COMMAND_TIMEOUT, check=True)
        times["make data"] = [time.monotonic() - t0]
        got = s.run("wc -c < /tmp/f", check=True).split()
        if got[-1:] != [str(size)]:
            raise SystemExit("benchmark failed: %s made %s bytes, not %d" % (emulator, got, size))
        digest = None
        for name, cmd in WORKLOADS:
            times[name] = []
            for i in range(runs):
                progress("%s %s: %s (run %d of %d)" % (img.name, emulator, cmd, i + 1, runs))
                t0 = time.monotonic()
                out = s.run(cmd, timeout=COMMAND_TIMEOUT, check=True)
                times[name].append(time.monotonic() - t0)
                if name == "sha256sum":
                    digest = [w for w in out.split() if len(w) == 64][-1:] or [out]
                    digest = digest[0]
            progress("%s %s: %s %s s" % (img.name, emulator, name, " ".join("%.2f" % t for t in times[name])))
        s.poweroff(timeout=120)
    except SessionError as e:
        raise SystemExit("benchmark failed: %s %s workloads: %s" % (img.name, emulator, e))
    finally:
        s.kill()        # no-op after the poweroff; else nothing keeps running (or writing the cache)
    return times, digest


def native_workloads(data, runs, tmp):
    path = pathlib.Path(tmp) / "f"
    path.write_bytes(data)
    times = {}
    for name, argv in (("sha256sum", ["sha256sum", str(path)]), ("gzip -c", ["gzip", "-c", str(path)])):
        times[name] = []
        for _ in range(runs):
            t0 = time.monotonic()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.monotonic() - t0)
    return times


# --- tables --------------------------------------------------------------------------------
def boot_table(results):
    head = ("kernel", "run", "BOOT-OK s", "prompt s", "exit s", "peak RSS MB", "start-up s", "guest insns",
            "blocks", "baseline", "LLVM", "O2 cached", "tier-ups", "JIT s")
    rows = []
    for kernel, runs in results.items():
        qemu_best = min(r["prompt"] for r in runs["qemu"])
        for label in PYEMU_RUNS + ("qemu",):
            for r in runs.get(label, []):
                st = r.get("stats")
                rss = r.get("peak_rss_mb")
                rows.append((kernel, label, "%.2f" % r["boot_ok"], "%.2f" % r["prompt"], "%.2f" % r["exit"],
                             "%.0f" % rss if rss else "-")
                            + (("%.2f" % st["startup_seconds"], "%d" % st["guest_instructions"],
                                "%d" % st["blocks_translated"], "%d" % st["baseline_blocks"],
                                "%d" % st["blocks_compiled"], "%d" % st["o2_blocks_from_cache"],
                                "%d" % st["tier_ups"], "%.1f" % st["jit_seconds"])
                               if st else ("-",) * 8))
        for label in PYEMU_RUNS:
            if runs.get(label):
                best = min(r["prompt"] for r in runs[label])
                rows.append((kernel, "%s / qemu" % label, "", "%.1fx" % (best / qemu_best)) + ("",) * 10)
    return format_table(head, rows)


def work_table(work, native):
    head = ("kernel", "command", "pyemu s (first)", "pyemu s (best)", "qemu s (best)", "pyemu/qemu",
            "native s", "pyemu/native")
    rows = []
    for kernel, w in work.items():
        for name in ["make data"] + [n for n, _ in WORKLOADS]:
            p, q = w["pyemu"][name], w["qemu"][name]
            nat = min(native[name]) if name in native else None
            rows.append((kernel, name, "%.2f" % p[0], "%.2f" % min(p), "%.2f" % min(q),
                         "%.1fx" % (min(p) / min(q)), "%.3f" % nat if nat is not None else "-",
                         "%.0fx" % (min(p) / nat) if nat else "-"))
    return format_table(head, rows)


def format_table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) if i > 1 else str(x).ljust(w)  # noqa: E731
                               for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def save(path, desc, results, work):
    if path:
        pathlib.Path(path).write_text(json.dumps({"machine": desc, "boots": results, "work": work}, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="The module docstring (benchmarks/boot.py) says what each figure is.")
    ap.add_argument("--only", choices=KERNELS, help="one kernel only")
    ap.add_argument("--quick", action="store_true", help="4 MB of data instead of 16 MB, one run")
    ap.add_argument("--runs", type=int, default=None, metavar="N",
                    help="QEMU boots and each in-guest command N times, pyemu's third boot N-1 times "
                         "(default 2; the first and second boots are one run by nature)")
    ap.add_argument("--save", metavar="FILE", help="also write the raw figures as JSON to FILE "
                                                   "(after each kernel, so a late failure keeps them)")
    ap.add_argument("--boots-only", action="store_true", help="the boots alone, no in-guest workloads")
    args = ap.parse_args(argv)
    runs = args.runs if args.runs is not None else (1 if args.quick else 2)
    if runs < 1:
        ap.error("--runs must be at least 1")
    if shutil.which(QEMU) is None:
        ap.error("%s not found on PATH (Debian/Ubuntu: apt install qemu-system-x86)" % QEMU)
    size = (4 if args.quick else 16) << 20
    kernels = [args.only] if args.only else list(KERNELS)
    imgs = {}
    for k in kernels:
        try:
            imgs[k] = images.ensure(k, quiet=True)
        except images.ImageError as e:
            raise SystemExit("cannot build the %s guest image: %s" % (k, e))
    desc = machine_description()
    progress("machine: " + desc)
    stencil_note = build_stencils()
    data = make_data(size)
    want = hashlib.sha256(data).hexdigest()
    results, work = {}, {}
    with tempfile.TemporaryDirectory(prefix="pyemu-bootbench-", ignore_cleanup_errors=True) as tmp:
        for k, img in imgs.items():
            objdir = pathlib.Path(tmp) / ("objects-" + k)       # fresh: the cold run compiles everything
            r = results[k] = {}
            r["pyemu first"] = [boot_run("pyemu", img, objdir, tmp, "pyemu first")]
            r["pyemu second"] = [boot_run("pyemu", img, objdir, tmp, "pyemu second")]
            r["pyemu third"] = [boot_run("pyemu", img, objdir, tmp, "pyemu third") for _ in range(max(1, runs - 1))]
            r["qemu"] = [boot_run("qemu", img) for _ in range(runs)]
            save(args.save, desc, results, work)
            if args.boots_only:
                continue
            work[k] = {}
            for emu in ("pyemu", "qemu"):
                times, digest = guest_workloads(emu, img, size, runs, objdir, tmp)
                if digest != want:
                    raise SystemExit("benchmark failed: %s %s sha256 %s, the host's %s" % (k, emu, digest, want))
                work[k][emu] = times
            save(args.save, desc, results, work)
        native = native_workloads(data, max(runs, 3), tmp)
    print("Linux boot, power-on (process start) to BOOT-OK / shell prompt / exit after `reboot -f`")
    print("date: %s" % time.strftime("%Y-%m-%d %H:%M %Z"))
    print("machine: %s" % desc)
    print("stencils: %s" % stencil_note)
    print("command: python benchmarks/boot.py%s" % ("" if argv is None and len(sys.argv) == 1 else
                                                    " " + " ".join(sys.argv[1:] if argv is None else argv)))
    print()
    print(boot_table(results))
    print()
    if work:
        print("In the guest: %d MB, the text of `seq 1 %d` doubled 8 times and cut with dd "
              "(sha256 %s..., the same on both emulators and the host)" % (size >> 20, SEQ_END, want[:16]))
        print()
        print(work_table(work, native))
        print()
    print("start-up: pyemu from parsing its options to the first guest instruction (numba's cache, the "
          "machine, the kernel load), included in the boot seconds.  JIT s: translation and tier-up "
          "seconds on the run thread (the O2 thread's work is not in it).  Boot seconds are from the "
          "host's clock around the process.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
