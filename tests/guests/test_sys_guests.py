"""System-level guests (src/sys_*.S), run on pyemu and on qemu-system-i386.

Each program sets up its own descriptor tables (sys.inc) and checks one area
of the system architecture: it prints every value it observes, then "PASS
<name>" and exits through isa-debug-exit with its code (or FAIL, code +
0x40).  The -bios ones (sys_bios.inc) start at the reset vector.  As in
test_guests.py, two tests per program:
  test_sys_guest_passes_on_pyemu   pyemu runs it to "PASS" with the expected status
  test_sys_guest_matches_qemu      the serial output is byte for byte QEMU's, and
                                   so is the exit status (QEMU must pass too)
Each runs on every translation tier of pyemu (tests/tiers.py), and the
passing test checks that the run's blocks came from that tier.
By hand: `python tests/guests/syslib.py NAME` shows both runs and a diff.
"""
import pytest

from tiers import TIERS

from . import guestlib, syslib, tiered
from .shared import SharedRuns, session_dir
from .test_guests import _diff, check_clean_run
from .tiered import check_tier

# program -> the code it writes to isa-debug-exit on success
PROGRAMS = {
    "sys_reset": 0x30,       # -bios: power-on state, real mode, IVT, A20 through port 92h
    "sys_segments": 0x31,    # segment loads: descriptor checks, #GP/#SS/#NP error codes, LDT, TR, LAR..ARPL
    "sys_modes": 0x32,       # -bios: real <-> protected mode, 16-bit code/stack segments and gates
    "sys_rings": 0x33,       # CPL 3: privileged insns, IOPL/bitmap, INT DPL, call gates, TSS stacks, SYSENTER
    "sys_tasks": 0x34,       # task switches: JMP/CALL/INT/IRET, task gates, busy bits, back link, #DF task
    "sys_exceptions": 0x35,  # faults vs traps, error codes, IDT checks, #DF, IF in gates, TF single-step
    "sys_paging": 0x36,      # #PF codes/CR2, WP, U/S, A/D, PSE, global pages, INVLPG/CR3, REP fault, SMC alias
    "sys_pae": 0x37,         # PAE: 2 MB pages, NX and the I/D bit, reserved bits (RSVD), A/D
    "sys_accept": 0x38,      # -bios, issue 3's acceptance: reset -> PM -> paging, #PF, PIT/PIC IRQ 0 in HLT
                             # and in ring 3, INT 0x80 / IRET, SYSENTER / SYSEXIT
    "sys_vm86": 0x39,        # virtual-8086 mode: IRET in, IOPL-sensitive insns, I/O bitmap, the v86 frame
    "sys_nmi": 0x3e,         # NMI through the local APIC, blocked until the handler's IRET
    "sys_biosmap": 0x3d,     # -bios with a 256 KB image: mapped below 4 GB, last 128 KB at E0000, read-only
}

# programs whose expected values are the SDM's where QEMU 7.2 departs from it:
# run on pyemu only (each documents the QEMU difference in its header)
# ("name+SYM": src/name.S assembled with --defsym SYM=1)
PYEMU_ONLY = {
    "sys_sdm": 0x3a,         # EXT bit in error codes, call gate to conforming code, LOCK #UD
    "sys_pae+SDM_EXACT": 0x37,   # the P bit of reserved-bit #PF error codes
}


def _source_and_defsyms(key):
    name, _, sym = key.partition("+")
    return name, ((sym, "1"),) if sym else ()


class SysRuns:
    def __init__(self, tmp_path_factory):
        self.dir = tmp_path_factory.mktemp("sysguests")
        self._images = {}
        self._runs = SharedRuns(session_dir(tmp_path_factory, "sysguests"))

    def image(self, key):
        if key not in self._images:
            name, defsyms = _source_and_defsyms(key)
            self._images[key] = syslib.build(name, self.dir, defsyms=defsyms)
        return self._images[key]

    def run(self, emulator, name, tier=None):
        """A run on QEMU, or on pyemu's tier (tests/tiers.py)."""
        def make():
            image, kind = self.image(name)
            if emulator == "pyemu":
                return tiered.run(syslib.pyemu_command(image, kind), tier, self.dir, timeout=120)
            return syslib.run_qemu(image, kind, extra=syslib.qemu_extra_args(_source_and_defsyms(name)[0]))
        return self._runs.get((emulator, name, tier), make)


@pytest.fixture(scope="module")
def sys_runs(tmp_path_factory):
    return SysRuns(tmp_path_factory)


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("name", sorted(PROGRAMS) + sorted(PYEMU_ONLY))
def test_sys_guest_passes_on_pyemu(sys_runs, name, tier):
    run = sys_runs.run("pyemu", name, tier)
    check_clean_run(run, "pyemu")
    out = run.stdout.decode("latin-1")
    code = PROGRAMS.get(name, PYEMU_ONLY.get(name))
    assert ("PASS %s\n" % _source_and_defsyms(name)[0]) in out and run.status == guestlib.exit_status(code), (
        "%s did not pass on pyemu's %s tier (expected PASS and exit status %d):\n%s"
        % (name, tier, guestlib.exit_status(code), run.describe()))
    check_tier(tier, run)


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_sys_guest_matches_qemu(sys_runs, name, tier):
    ref = sys_runs.run("qemu", name)
    assert not ref.timed_out and ("PASS %s\n" % name).encode() in ref.stdout, (
        "the reference run on QEMU did not pass: the test program itself is wrong\n" + ref.describe())
    assert ref.status == guestlib.exit_status(PROGRAMS[name])
    run = sys_runs.run("pyemu", name, tier)
    check_clean_run(run, "pyemu")
    assert run.stdout == ref.stdout, "serial output differs from QEMU's (- qemu, + pyemu):\n%s\n%s" % (
        _diff(ref.stdout, run.stdout), run.stderr)
    assert run.status == ref.status, "exit status %r, QEMU's %r" % (run.status, ref.status)


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_triple_fault_exits_like_qemu(sys_runs, tier):
    """sys_triple: an exception while delivering #DF shuts the CPU down; with
    -no-reboot pyemu exits (status 0, as QEMU) with a message saying why."""
    run = sys_runs.run("pyemu", "sys_triple", tier)
    check_clean_run(run, "pyemu")
    check_tier(tier, run)
    assert run.stdout == b"== sys_triple ==\nabout to triple fault\n", run.describe()
    assert run.status == 0 and "triple fault" in run.stderr, run.describe()
    ref = sys_runs.run("qemu", "sys_triple")
    assert run.stdout == ref.stdout, _diff(ref.stdout, run.stdout)
    assert run.status == ref.status, "exit status %r, QEMU's %r" % (run.status, ref.status)
