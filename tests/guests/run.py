"""Run one guest program by hand on pyemu and/or QEMU and show both outputs.

    python tests/guests/run.py alu            # both, with a diff
    python tests/guests/run.py alu --qemu     # QEMU only
    python tests/guests/run.py alu --pyemu    # pyemu only
    python tests/guests/run.py alu --keep DIR # keep the ELF in DIR
    python tests/guests/run.py alu --update-from-qemu
        rewrite the expected values of the checks that failed on QEMU
        (for writing new checks: review every changed value against the SDM)
"""
import argparse
import difflib
import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import guestlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--qemu", action="store_true")
    ap.add_argument("--pyemu", action="store_true")
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--defsym", action="append", default=[], metavar="SYM=VALUE")
    ap.add_argument("--update-from-qemu", action="store_true")
    args = ap.parse_args()
    if args.update_from_qemu:
        args.qemu = True
    both = not (args.qemu or args.pyemu)
    with tempfile.TemporaryDirectory() as tmp:
        outdir = pathlib.Path(args.keep or tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        defsyms = [tuple(d.split("=", 1)) for d in args.defsym]
        elf = guestlib.build(args.name, outdir, defsyms=defsyms)
        runs = {}
        if args.qemu or both:
            runs["qemu"] = guestlib.run_qemu(elf)
        if args.pyemu or both:
            runs["pyemu"] = guestlib.run_pyemu(elf)
        for name, r in runs.items():
            print("===== %s: %s" % (name, r.describe()))
        if both:
            a = runs["qemu"].stdout.decode("latin-1").splitlines()
            b = runs["pyemu"].stdout.decode("latin-1").splitlines()
            diff = list(difflib.unified_diff(a, b, "qemu", "pyemu", lineterm=""))
            print("\n".join(diff) if diff else "===== serial output identical")
            same = runs["qemu"].status == runs["pyemu"].status
            print("===== exit status %s" % ("identical" if same else "DIFFERS"))
        if args.update_from_qemu:
            update(args.name, runs["qemu"].stdout.decode("latin-1"))


def update(name, output):
    path = guestlib.source(name)
    text = path.read_text()
    for m in re.finditer(r"^(\S+)=([0-9a-f]{8}) <-- FAIL, expected [0-9a-f]{8}$", output, re.M):
        check, value = m.group(1), m.group(2)
        pat = re.compile(r'("%s"\s*,\s*)(\S+)' % re.escape(check))
        text, n = pat.subn(lambda mm: mm.group(1) + "0x" + value, text)
        print("%s: %s -> 0x%s%s" % (check, "updated" if n else "NOT FOUND", value, "" if n == 1 else " (%d)" % n))
    path.write_text(text)


if __name__ == "__main__":
    main()
