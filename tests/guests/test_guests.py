"""Self-checking bare-metal programs, run on pyemu and on qemu-system-i386.

Each program in src/ prints what it computes, then "PASS <name>" and exits
through isa-debug-exit with its own code (or "FAIL <name>: ..." and code +
0x40).  Two tests per program:
  test_guest_passes_on_pyemu   pyemu runs it to "PASS" with the expected status
  test_guest_matches_qemu      the serial output is byte for byte QEMU's, and
                               so is the exit status (QEMU must pass too: it
                               is the reference the expected values came from)
Each runs on every translation tier of pyemu (tests/tiers.py: the baseline's
stencils, LLVM at O2, relocatable O2 code from the first entry), and the
passing test checks that the run's blocks came from that tier.
Run one by hand with `python tests/guests/run.py NAME` (shows both and a diff).
"""
import difflib

import pytest

from tiers import TIERS

from . import guestlib
from .tiered import check_tier

# program -> the code it writes to isa-debug-exit on success
PROGRAMS = {
    "alu": 0x11,         # add/adc/sub/sbb chains, inc/dec/neg, logic, cmp/test, flags
    "muldiv": 0x12,      # mul/imul (1/2/3 operands), div/idiv, a #DE-free 64/32 division
    "shift": 0x13,       # shl/shr/sar/rol/ror/rcl/rcr/shld/shrd, count 0 and masking
    "bcd": 0x14,         # daa/das/aaa/aas/aam/aad, a packed-BCD adder
    "bits": 0x15,        # bt/bts/btr/btc (memory bit strings), bsf/bsr, bswap, popcount
    "cond": 0x16,        # the 16 conditions via setcc, cmovcc (reg and mem), jcc
    "string": 0x17,      # movs/stos/lods/cmps/scas, rep/repe/repne, both directions
    "stack": 0x18,       # push/pop forms, pusha/popa, call/ret forms, enter/leave, recursion
    "checksum": 0x19,    # CRC-32 (bitwise, table), Adler-32, Fletcher-16 over 64 KB
    "smc_next": 0x1a,    # self-modifying code: patch the next instruction in the same block
    "smc_loop": 0x1b,    # self-modifying code: a loop body rewritten between iterations
    "mbinfo": 0x1d,      # the multiboot hand-over: EAX magic, the information structure
    "x87": 0x1e,         # x87 formats, rounding and precision control, compares, FNSAVE/FXSAVE, #MF, #NM
}


def _diff(expected, actual):
    a = expected.decode("latin-1").splitlines()
    b = actual.decode("latin-1").splitlines()
    return "\n".join(difflib.unified_diff(a, b, "qemu", "pyemu", lineterm="", n=2))


def check_clean_run(run, what):
    """The emulator process ended by itself, without a Python traceback."""
    assert not run.timed_out, "%s did not finish in time:\n%s" % (what, run.describe())
    assert "Traceback" not in run.stderr, "%s crashed with a Python traceback:\n%s" % (what, run.describe())
    assert run.status is not None and run.status >= 0, "%s died from signal %s:\n%s" % (
        what, -run.status if run.status else "?", run.describe())


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_guest_passes_on_pyemu(guest_runs, name, tier):
    run = guest_runs.pyemu(name, tier)
    check_clean_run(run, "pyemu")
    out = run.stdout.decode("latin-1")
    assert ("PASS %s\n" % name) in out and run.status == guestlib.exit_status(PROGRAMS[name]), (
        "%s did not pass on pyemu's %s tier (expected PASS and exit status %d):\n%s"
        % (name, tier, guestlib.exit_status(PROGRAMS[name]), run.describe()))
    check_tier(tier, run)


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_guest_matches_qemu(guest_runs, name, tier):
    ref = guest_runs.qemu(name)
    assert not ref.timed_out and ("PASS %s\n" % name).encode() in ref.stdout, (
        "the reference run on QEMU did not pass: the test program itself is wrong\n" + ref.describe())
    assert ref.status == guestlib.exit_status(PROGRAMS[name])
    run = guest_runs.pyemu(name, tier)
    check_clean_run(run, "pyemu")
    assert run.stdout == ref.stdout, "serial output differs from QEMU's (- qemu, + pyemu):\n%s\n%s" % (
        _diff(ref.stdout, run.stdout), run.stderr)
    assert run.status == ref.status, "exit status %r, QEMU's %r" % (run.status, ref.status)


# isa-debug-exit: (value, width of the OUT) -> status (value << 1) | 1, cut to 8 bits by the OS.
# Wide values check the truncation; an 8-bit OUT sends only AL.
EXITS = [(0, 4), (1, 4), (0x2a, 1), (0x3f, 2), (0x7f, 4), (0x80, 4), (0xff, 1), (0x1ff, 1),
         (0x1234, 2), (0xffffffff, 4)]


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("value,width", EXITS, ids=["%#x-out%d" % vw for vw in EXITS])
def test_exit_status_matches_qemu(guest_runs, value, width, tier):
    defsyms = (("EXIT_VALUE", "%#x" % value), ("EXIT_WIDTH", str(width)))
    sent = value & ((1 << (8 * width)) - 1)
    expected = guestlib.exit_status(sent)
    run = guest_runs.pyemu("exit", tier, defsyms)
    check_clean_run(run, "pyemu")
    check_tier(tier, run)
    line = b"exit value %08x width %d\n" % (value, width)
    assert run.stdout == b"== exit ==\n" + line, run.describe()
    assert run.status == expected, "pyemu exit status %r, expected (%#x << 1) | 1 = %d" % (
        run.status, sent, expected)
    ref = guest_runs.qemu("exit", defsyms)
    assert run.stdout == ref.stdout, _diff(ref.stdout, run.stdout)
    assert run.status == ref.status, "exit status %r, QEMU's %r" % (run.status, ref.status)
