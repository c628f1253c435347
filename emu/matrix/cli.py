"""pyemu-test: run a matrix of guest tests on Dask distributed.

    pyemu-test run MATRIX.toml [--scheduler ADDRESS] [--workers N] [--timeout S]
                               [--junit FILE] [--logs DIR]
    pyemu-test list MATRIX.toml

Exit status: 0 when every case passed, 1 when one did not, 2 for a bad
command line or matrix file, 130 when interrupted.
"""
import argparse
import sys
import time

from . import report
from .spec import MatrixError, load_matrix

EPILOG = """\
The matrix file (TOML) lists [[config]] entries (a guest: kernel and initrd, or a
pyemu image; append, memory, args, ready, boot_timeout) and [[test]] entries (a
command or a script, expect_status, expect_output, timeout, configs); every test
runs on every configuration it allows.  See README.md, "Test matrices".

Without --scheduler, a local Dask cluster of N worker processes (one thread each:
one guest at a time) is started and stopped; with it, the tasks go to that
cluster's workers, which must have pyemu installed and see the kernel and initrd
paths (or use `image =`, resolved from each worker's own image cache).
"""


def _parser():
    p = argparse.ArgumentParser(prog="pyemu-test", description="Run guest-test matrices on Dask distributed.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    r = sub.add_parser("run", help="run a matrix", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("matrix", metavar="MATRIX.toml")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786) instead of a local cluster")
    r.add_argument("--workers", "-j", type=int, metavar="N",
                   help="worker processes of the local cluster (default: one per CPU)")
    r.add_argument("--timeout", type=float, metavar="S",
                   help="time limit (seconds) of tests that set none (overrides [defaults] timeout; "
                        "default 60)")
    r.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    r.add_argument("--logs", metavar="DIR", help="write each case's console log to DIR/CONFIG/TEST.log")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress line, only failures and the summary")
    ls = sub.add_parser("list", help="print the cases of a matrix")
    ls.add_argument("matrix", metavar="MATRIX.toml")
    return p


class _Progress:
    def __init__(self, stream, enabled):
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, done, total, failed, running):
        if not self.enabled:
            return
        self.stream.write("\r\x1b[K[%d/%d] %d failed, %d running, %ds" % (
            done, total, failed, running, time.monotonic() - self.t0))
        self.stream.flush()
        self.shown = True

    def clear(self):
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "list":
        try:
            matrix = load_matrix(args.matrix)
        except MatrixError as e:
            print("pyemu-test: %s" % e, file=sys.stderr)
            return 2
        for case in matrix.cases():
            print(case.name)
        return 0

    if args.workers is not None and args.workers < 1:
        print("pyemu-test: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers is not None and args.scheduler:
        print("pyemu-test: --workers is for the local cluster; it cannot be used with --scheduler",
              file=sys.stderr)
        return 2
    try:
        matrix = load_matrix(args.matrix, timeout=args.timeout)
    except MatrixError as e:
        print("pyemu-test: %s" % e, file=sys.stderr)
        return 2

    # deferred: --help and a wrong matrix file answer before the runner imports the guests' machinery
    from .runner import run_matrix
    progress = _Progress(sys.stderr, not args.quiet)
    t0 = time.monotonic()
    try:
        results = run_matrix(matrix, scheduler=args.scheduler, workers=args.workers, logs=args.logs,
                             progress=progress)
    except KeyboardInterrupt:
        progress.clear()
        print("pyemu-test: interrupted", file=sys.stderr)
        return 130
    except (OSError, RuntimeError) as e:
        progress.clear()
        print("pyemu-test: %s" % e, file=sys.stderr)
        return 2
    wall = time.monotonic() - t0
    progress.clear()

    for r in results:
        if not r.ok:
            print(report.failure_report(r))
    if args.junit:
        report.write_junit(results, args.junit)
    print(report.summary_line(results, wall))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
