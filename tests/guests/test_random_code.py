"""Robustness: the guest loads random register values and jumps into random
bytes.  Whatever those bytes do, pyemu must stop cleanly: a one-line
"pyemu: ..." report on stderr (exception, triple fault, halt, unimplemented
instruction) or a debug-exit status, and a normal exit status; for code that
loops forever, a clean stop on Ctrl-C (status 130).  Never a signal death,
a Python traceback or a hang.

The bytes come from random.Random(seed), so a failure names everything needed
to reproduce it: `python tests/guests/test_random_code.py SEED` writes the
ELF and prints the pyemu command line.  Each seed runs on every translation
tier of pyemu (tests/tiers.py).
"""
import random
import struct
import sys

import pytest

if __name__ == "__main__":      # run by hand (below): tests/ holds tiers.py
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tiers import TIERS  # noqa: E402

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
CODE_BYTES = 4096
TIMEOUT = 20          # seconds before Ctrl-C: random code can legitimately loop forever
STACK = 0x180000      # inside guest RAM, away from the image at 1 MB


def random_image(seed):
    """random.bin for src/random.S: POPA block, ESP, code.  Odd seeds also get a
    random ESP (pushes to anywhere in the 4 GB address space)."""
    r = random.Random(seed)
    regs = bytes(r.getrandbits(8) for _ in range(32))
    esp = r.getrandbits(32) if seed % 2 else STACK
    code = bytes(r.getrandbits(8) for _ in range(CODE_BYTES))
    return regs + struct.pack("<I", esp) + code


def build_random(seed, outdir):
    from . import guestlib
    d = outdir / ("seed%d" % seed)
    d.mkdir(parents=True, exist_ok=True)
    (d / "random.bin").write_bytes(random_image(seed))
    return guestlib.build("random", d, include_dirs=[d])


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_random_code_stops_cleanly(tmp_path, seed, tier):
    from . import guestlib, tiered
    elf = build_random(seed, tmp_path)
    run = tiered.run(guestlib.pyemu_command(elf), tier, tmp_path, timeout=TIMEOUT, interrupt_on_timeout=True)
    where = "seed %d on the %s tier (first code bytes %s)" % (seed, tier, random_image(seed)[36:52].hex(" "))
    assert run.status is not None, "pyemu ignored Ctrl-C and had to be killed, %s:\n%s" % (where, run.describe())
    assert run.status >= 0, "pyemu died from signal %d, %s:\n%s" % (-run.status, where, run.describe())
    assert "Traceback" not in run.stderr, "pyemu crashed with a Python traceback, %s:\n%s" % (
        where, run.describe())
    assert run.stdout.startswith(b"== random ==\njumping into random bytes\n"), run.describe()
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    if run.interrupted:
        assert run.status == 130 and lines == ["pyemu: interrupted"], (
            "the guest looped for %ds; Ctrl-C must stop pyemu with status 130 and "
            "'pyemu: interrupted', %s:\n%s" % (TIMEOUT, where, run.describe()))
    elif not lines:
        # the random code wrote to isa-debug-exit: a status (v << 1) | 1, nothing to report
        assert run.status & 1, "pyemu stopped silently with status %d, %s:\n%s" % (
            run.status, where, run.describe())
    else:
        assert len(lines) == 1 and lines[0].startswith("pyemu: "), (
            "expected one 'pyemu: ...' line on stderr, %s:\n%s" % (where, run.describe()))
        assert run.status < 128, "status %d looks like a crash, %s" % (run.status, where)
    tiered.check_tier(tier, run)


if __name__ == "__main__":
    # reproduce one seed by hand: python tests/guests/test_random_code.py SEED [DIR]
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import guestlib
    seed = int(sys.argv[1])
    out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "random-seed%d" % seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "random.bin").write_bytes(random_image(seed))
    elf = guestlib.build("random", out, include_dirs=[out])
    print(" ".join(["pyemu", "-kernel", str(elf)] + guestlib.PYEMU_ARGS))
