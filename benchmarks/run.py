"""Side-by-side benchmark: bare-metal compute workloads on pyemu, qemu-system-i386 (TCG) and natively.

    python benchmarks/run.py [--quick] [--only NAME]

Each workload is C (or assembly) built twice: as a multiboot guest (gcc -m32
-ffreestanding) and, where it is C, as a host program.  Per workload it
prints guest instructions (counted by pyemu), wall seconds and MIPS on pyemu
and on QEMU, the pyemu/QEMU time ratio, blocks translated, blocks moved up to
tier 2, the mean translation time per block with an empty object cache
("cold") and on a second run with it filled ("warm"), and the native time.
Each workload gets an object cache of its own (PYEMU_OBJCACHE_DIR), so
"cold" really compiles everything; the MIPS are those of the cold run.  Startup (process start,
firmware, first translations) is measured with the same binary built with a
zero workload and subtracted, so the seconds are the workload's own; the
startup figures are printed too.  Nothing here asserts anything about time.
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
SRC = HERE / "workloads"
sys.path.insert(0, str(HERE.parent))

# name -> (source file, scale for the full run, scale for --quick)
WORKLOADS = {
    "sieve": ("sieve.c", 12, 2),
    "crc32": ("crc32.c", 60, 8),
    "flags": ("flags.S", 20, 3),
}
CFLAGS = ["-O2", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables"]


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def build_guest(name, scale, out):
    src, _, _ = WORKLOADS[name]
    objs = []
    for f in ("crt0.S", "main.c", src):
        o = out / ("%s_%s_%d.o" % (name, pathlib.Path(f).stem, scale))
        if f.endswith(".S"):
            sh(["gcc", "-m32", "-c", str(SRC / f), "-o", str(o)])
        else:
            sh(["gcc", "-m32", "-ffreestanding", "-nostdlib", *CFLAGS, "-DSCALE=%d" % scale,
                "-c", str(SRC / f), "-o", str(o)])
        objs.append(str(o))
    elf = out / ("%s_%d.elf" % (name, scale))
    sh(["ld", "-m", "elf_i386", "--no-warn-rwx-segments", "-T", str(SRC / "link.ld"), "-o", str(elf), *objs])
    return elf


def build_native(name, scale, out):
    src = WORKLOADS[name][0]
    if not src.endswith(".c"):
        return None
    exe = out / ("%s_native_%d" % (name, scale))
    sh(["gcc", "-O2", "-DNATIVE", "-DSCALE=%d" % scale, str(SRC / "main.c"), str(SRC / src), "-o", str(exe)])
    return exe


def run_pyemu(elf, cache_dir):
    """In-process run: (wall seconds of the run, whole run, instructions, blocks,
    translation seconds, output, status, tier-ups)."""
    os.environ["PYEMU_OBJCACHE_DIR"] = str(cache_dir)
    from emu.cli import parse_args
    from emu.boot import multiboot
    from emu.devices.chardev import BufferBackend
    from emu.machine import Machine
    cfg = parse_args(["-kernel", str(elf), "-nographic", "-no-reboot",
                      "-device", "isa-debug-exit,iobase=0xf4,iosize=4"])
    out = BufferBackend()
    t0 = time.perf_counter()
    m = Machine(cfg, serial_backends=[out])
    multiboot.load(m, elf.read_bytes())
    t1 = time.perf_counter()
    status = m.run()
    t2 = time.perf_counter()
    tr = m.translator
    res = (t2 - t1, t2 - t0, m.instructions, tr.blocks_translated, tr.translate_seconds, out.data.decode(), status,
           tr.tier_ups)
    m.close()
    return res


def run_qemu(elf):
    qemu = shutil.which("qemu-system-i386")
    if not qemu:
        return None
    cmd = [qemu, "-kernel", str(elf), "-display", "none", "-vga", "none", "-nodefaults", "-no-reboot",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-m", "128"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, timeout=600)
    return time.perf_counter() - t0, p.stdout.decode(errors="replace"), p.returncode


def run_native(exe):
    if exe is None:
        return None
    t0 = time.perf_counter()
    p = subprocess.run([str(exe)], capture_output=True, check=True)
    return time.perf_counter() - t0, p.stdout.decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small scales (a smoke run)")
    ap.add_argument("--only", action="append", help="run only these workloads")
    args = ap.parse_args()
    names = args.only or list(WORKLOADS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        for name in names:
            scale = WORKLOADS[name][2 if args.quick else 1]
            full, empty = build_guest(name, scale, out), build_guest(name, 0, out)
            cache = out / ("objcache-" + name)
            py_run, py_total, insns, blocks, tsec, py_out, _, ups = run_pyemu(full, cache)
            py0_run, py0_total, insns0, _, _, _, _, _ = run_pyemu(empty, out / ("objcache0-" + name))
            _, _, _, wblocks, wtsec, _, _, _ = run_pyemu(full, cache)     # the same again: cache warm
            q = run_qemu(full)
            q0 = run_qemu(empty)
            nat = run_native(build_native(name, scale, out))
            nat0 = run_native(build_native(name, 0, out))
            work_insns = insns - insns0
            py_work = py_run - py0_run
            row = {"name": name, "insns": work_insns, "py": py_work, "py_startup": py0_total,
                   "blocks": blocks, "tms": 1000 * tsec / max(blocks, 1), "out": py_out.strip(),
                   "ups": ups, "warm_tms": 1000 * wtsec / max(wblocks, 1)}
            if q and q0:
                row["qemu"] = q[0] - q0[0]
                row["qemu_startup"] = q0[0]
                row["qemu_out"] = q[1].strip()
            if nat and nat0:
                row["native"] = nat[0] - nat0[0]
                row["native_out"] = nat[1].strip()
            rows.append(row)
            print_row(row, header=len(rows) == 1)
    print()
    for r in rows:
        agree = "agrees" if r.get("qemu_out", r["out"]) == r["out"] else "DIFFERS from QEMU (%s)" % r.get("qemu_out")
        print("%-6s guest output: %s (%s)" % (r["name"], r["out"], agree))
    print("startup (zero workload, whole run): pyemu %s; qemu %s" % (
        ", ".join("%s %.2fs" % (r["name"], r["py_startup"]) for r in rows),
        ", ".join("%s %.2fs" % (r["name"], r.get("qemu_startup", float("nan"))) for r in rows)))


def print_row(r, header):
    if header:
        print("%-7s %12s %9s %8s %9s %8s %8s %7s %6s %9s %9s %9s" % (
            "load", "guest insns", "pyemu s", "MIPS", "qemu s", "MIPS", "py/qemu", "blocks", "tier2",
            "ms/block", "warm ms", "native s"))
        print("%-7s %12s %9s %8s %9s %8s %8s %7s %6s %9s %9s %9s" % (
            "", "", "", "", "", "", "", "", "", "(cold)", "(/block)", ""))
    q = r.get("qemu")
    n = r.get("native")
    print("%-7s %12d %9.2f %8.0f %9s %8s %8s %7d %6d %9.2f %9.2f %9s" % (
        r["name"], r["insns"], r["py"], r["insns"] / r["py"] / 1e6 if r["py"] > 0 else 0,
        "%.2f" % q if q is not None else "n/a",
        "%.0f" % (r["insns"] / q / 1e6) if q else "n/a",
        "%.2fx" % (r["py"] / q) if q else "n/a",
        r["blocks"], r["ups"], r["tms"], r["warm_tms"], "%.2f" % n if n is not None else "n/a"), flush=True)


if __name__ == "__main__":
    main()
