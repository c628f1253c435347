"""python -m emu.translator.baseline build [-q]: build the common stencils (build.py)."""
import argparse
import sys

from .build import build_with_progress


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m emu.translator.baseline",
                                description="The baseline tier's stencils.")
    p.add_argument("command", choices=["build"], help="build the common stencils ahead of time")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    n = build_with_progress(args.quiet)
    if not args.quiet:
        print("%d stencils built" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
