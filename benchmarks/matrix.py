"""Guest-test matrix benchmark: 40 short tests on a local Dask cluster of 1 and of 2 workers.

    python benchmarks/matrix.py [--tests 40] [--workers 1,2] [--restore] [--save FILE]

The matrix is two configurations of the tiny guest (128 MB and 64 MB of RAM)
times N/2 short commands (arithmetic, uname, /proc reads, a small pipeline),
each checked by its exit status and an output regex.  Every case boots its own
guest from power-on (warm translation cache), runs its command and powers off;
with --restore every case starts from its configuration's booted snapshot
instead (`restore = true`: emu/booted.py; the one boot per configuration is
in the first run's time).
Before the timed runs one guest is booted alone to warm the caches (its
seconds are printed).  For each cluster size it prints the wall time of the
whole run_matrix call (the LocalCluster's start and stop included), the sum
of the cases' own durations, the mean per case, the cases that passed, and
the speed-up over the first size.  Nothing asserts anything about time.
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from emu import images  # noqa: E402
from emu.matrix import load_matrix, run_matrix  # noqa: E402
from emu.session import GuestSession  # noqa: E402

COMMANDS = [
    ("echo $((%d*%d))", lambda i: "^%d$" % (i * i)),
    ("uname -sm", lambda i: "^Linux i686$"),
    ("grep -c ^processor /proc/cpuinfo", lambda i: "^1$"),
    ("seq 1 %d | wc -l", lambda i: "^ *%d$" % (100 + i)),
    ("cat /proc/meminfo | head -1", lambda i: "^MemTotal: +[0-9]+ kB$"),
]


def make_matrix(directory, n_tests, restore=False):
    lines = ["[defaults]", "timeout = 60", "boot_timeout = 600", "restore = %s" % str(restore).lower(), ""]
    for name, memory in (("tiny-128M", 128), ("tiny-64M", 64)):
        lines += ["[[config]]", 'name = "%s"' % name, 'image = "tiny"', "memory = %d" % memory, ""]
    per_config = n_tests // 2
    for i in range(per_config):
        cmd, rx = COMMANDS[i % len(COMMANDS)]
        if "%d*%d" in cmd:
            cmd = cmd % (i, i)
        elif "%d" in cmd:
            cmd = cmd % (100 + i)
        lines += ["[[test]]", 'name = "t%02d"' % i, "command = %s" % json.dumps(cmd),
                  "expect_output = %s" % json.dumps(rx(i)), ""]
    path = pathlib.Path(directory) / "bench-matrix.toml"
    path.write_text("\n".join(lines))
    return path


def warm_up():
    img = images.ensure("tiny", quiet=True)
    t0 = time.monotonic()
    with GuestSession.start(kernel=img.kernel, initrd=img.initrd, append=img.cmdline_hint, timeout=900) as s:
        s.expect(images.PROMPT_RE)
        s.run("true")
        s.poweroff(60)
    return time.monotonic() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", type=int, default=40, help="cases in the matrix (even; default 40)")
    ap.add_argument("--workers", default="1,2", help="cluster sizes to run, comma-separated (default 1,2)")
    ap.add_argument("--restore", action="store_true", help="start every case from a booted snapshot")
    ap.add_argument("--save", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args(argv)
    sizes = [int(w) for w in args.workers.split(",")]

    print("host: %d CPUs; warm-up boot (one guest alone, boot + `true` + poweroff): %.1fs"
          % (os.cpu_count(), warm_up()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyemu-bench-matrix-") as tmp:
        matrix = load_matrix(make_matrix(tmp, args.tests, args.restore))
        n = len(matrix.cases())
        for w in sizes:
            print("running %d cases on %d worker%s ..." % (n, w, "" if w == 1 else "s"), file=sys.stderr,
                  flush=True)
            t0 = time.monotonic()
            results = run_matrix(matrix, workers=w)
            wall = time.monotonic() - t0
            passed = sum(r.ok for r in results)
            for r in results:
                if not r.ok:
                    print("  %s %s: %s" % (r.status, r.name, r.message), file=sys.stderr)
            rows.append({"workers": w, "cases": n, "passed": passed, "wall": wall,
                         "case_seconds": sum(r.duration for r in results),
                         "mean_case": sum(r.duration for r in results) / n})

    base = rows[0]["wall"]
    print()
    print("%-8s %6s %7s %9s %12s %10s %9s" % ("workers", "cases", "passed", "wall s", "sum cases s",
                                              "mean s", "speed-up"))
    for r in rows:
        r["speedup"] = base / r["wall"]
        print("%-8d %6d %7d %9.1f %12.1f %10.2f %8.2fx" % (r["workers"], r["cases"], r["passed"], r["wall"],
                                                          r["case_seconds"], r["mean_case"], r["speedup"]))
    if args.save:
        pathlib.Path(args.save).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["passed"] == r["cases"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
