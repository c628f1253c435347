"""The differential harness extended to the x87 FPU (pyemu vs Unicorn).

A case's state gains an FPU part: the eight physical registers (80-bit,
bit-exact), TOP, the tag word, the control word and the status word.  It is
set on both machines before the run (pyemu: the CpuState fpu_* fields;
Unicorn: UC_X86_REG_FP0..7 as (mantissa, sign|exponent), FPSW with TOP in
bits 11-13, FPTAG, FPCW) and read back after it.  Unicorn's FP0..7 are
physical registers and its FPTAG read computes the full tag word from the
contents, as pyemu keeps it.

What is compared is everything harness.compare compares, plus the FPU state
under an FpuMask: registers bit for bit (or, for transcendental results,
within a stated tolerance), TOP, tag word and control word always, the status
word except the bits the mask names with a reason.  The reasons are the
SDM's "undefined" and the places where Unicorn 2.1.4 does not model the x87
(its QEMU 5.0 FPU does not raise most exception flags, ES, SF, or the C1
round-up / stack-fault indication); those bits are checked elsewhere (the
soft-float against exact arithmetic in tests/fpu, the whole status word
against qemu-system-i386 in test_x87_qemu.py).
"""
import random
from dataclasses import dataclass, field
from fractions import Fraction

from unicorn import x86_const as UX

from emu.cpu import hflags as H

from .harness import (LAYOUTS, Case, Mask, PyemuRunner, State, UnicornRunner, _CachingSnippet, compare,
                      describe_state, random_state)

UC_FP = [UX.UC_X86_REG_FP0 + i for i in range(8)]

SW_EXCEPTIONS = 0x3F | 0x40 | 0x80 | 0x8000      # IE..PE, SF, ES, B
SW_C0, SW_C1, SW_C2, SW_C3 = 0x100, 0x200, 0x400, 0x4000


@dataclass
class FpuState:
    regs: list                 # 8 physical registers as (se, m)
    top: int
    tag: int                   # full tag word
    cw: int
    sw: int                    # status word without TOP

    def copy(self):
        return FpuState(list(self.regs), self.top, self.tag, self.cw, self.sw)

    def st(self, i):
        return self.regs[(self.top + i) & 7]

    def phys(self, i):
        return (self.top + i) & 7

    def status_word(self):
        return (self.sw & ~0x3800) | (self.top << 11)

    def describe(self):
        lines = ["  fpu: top=%d cw=%04x sw=%04x tag=%04x" % (self.top, self.cw, self.status_word(), self.tag)]
        for i in range(8):
            p = self.phys(i)
            se, m = self.regs[p]
            t = (self.tag >> (2 * p)) & 3
            lines.append("    st%d (r%d) %04x:%016x %s" % (i, p, se, m, "empty" if t == 3 else ""))
        return "\n".join(lines)


@dataclass
class X87State(State):
    fpu: FpuState = None

    def copy(self):
        return X87State(list(self.regs), self.eflags, bytearray(self.data), bytearray(self.stack),
                        self.fpu.copy())


@dataclass
class FpuMask:
    """What may differ in the FPU state, with the reason for each part."""
    sw: int = 0
    regs: set = field(default_factory=set)    # physical registers compared within tolerance
    rel_tol: Fraction = None
    why: list = field(default_factory=list)

    def add_sw(self, bits, why):
        if bits & ~self.sw:
            self.sw |= bits
            self.why.append("sw&%04x: %s" % (bits, why))

    def tolerate(self, phys, rel_tol, why):
        self.regs.add(phys)
        self.rel_tol = rel_tol
        self.why.append("r%d within %s: %s" % (phys, rel_tol, why))


@dataclass
class X87Case(Case):
    depth: tuple = (0, 8)      # (min, max) valid registers ST(0).. at the start
    fpu_masks: object = None   # (state, info) -> FpuMask
    cw_choice: object = None   # (rng) -> control word, default random_cw
    value: object = None       # (rng) -> (se, m) for the registers, instead of the family's


# --- random FPU states ------------------------------------------------------------------

def random_cw(rng):
    """Random precision and rounding control; exceptions masked (Unicorn's QEMU
    5.0 FPU, like QEMU 7, writes results even for unmasked exceptions, which
    the x87 does not: see test_x87_qemu.py and tests/fpu for those)."""
    pc = rng.choice((0, 2, 3, 3, 1))
    return 0x40 | 0x3F | (pc << 8) | (rng.randrange(4) << 10)


def random_fpu(rng, depth, value):
    regs = [value(rng) for _ in range(8)]
    top = rng.randrange(8)
    tag = 0
    for p in range(8):
        i = (p - top) & 7
        t = 3 if i >= depth else _tag_of(*regs[p])
        tag |= t << (2 * p)
    # condition codes random; no exception flag set, so nothing is pending
    sw = rng.getrandbits(16) & (SW_C0 | SW_C1 | SW_C2 | SW_C3)
    return FpuState(regs, top, tag, random_cw(rng), sw)


def _tag_of(se, m):
    exp = se & 0x7FFF
    if exp == 0:
        return 1 if m == 0 else 2
    if exp == 0x7FFF or not m >> 63:
        return 2
    return 0


def random_x87_state(rng, layout, case, value):
    st = random_state(rng, layout)
    lo, hi = case.depth
    fpu = random_fpu(rng, rng.randint(lo, hi), case.value or value)
    if case.cw_choice is not None:
        fpu.cw = case.cw_choice(rng)
    return X87State(st.regs, st.eflags, st.data, st.stack, fpu)


# --- the two machines ----------------------------------------------------------------------

class _FpuSnippet(_CachingSnippet):
    """Sets the FPU state after the Snippet has entered its mode (entering
    real mode resets the CPU, FPU included)."""
    fpu = None

    def _enter(self, eip):
        super()._enter(eip)
        cpu = self.cpu
        f = self.fpu
        for p in range(8):
            cpu.fpu_se[p], cpu.fpu_mant[p] = f.regs[p]
        cpu.fpu_top, cpu.fpu_tag, cpu.fpu_cw, cpu.fpu_sw = f.top, f.tag, f.cw, f.sw


def read_pyemu_fpu(cpu):
    return FpuState([(cpu.fpu_se[p], cpu.fpu_mant[p]) for p in range(8)], cpu.fpu_top & 7,
                    cpu.fpu_tag & 0xFFFF, cpu.fpu_cw & 0xFFFF, cpu.fpu_sw & ~0x3800 & 0xFFFF)


class X87PyemuRunner(PyemuRunner):
    snippet_class = _FpuSnippet

    def run(self, case, st):
        self.snip.fpu = st.fpu
        out = super().run(case, st)
        out.fpu = read_pyemu_fpu(self.snip.cpu)
        return out


class X87UnicornRunner(UnicornRunner):
    def run(self, case, st, info=None):
        uc = self.uc
        uc.context_restore(self.ctx)
        f = st.fpu
        for p in range(8):
            se, m = f.regs[p]
            uc.reg_write(UC_FP[p], (m, se))
        uc.reg_write(UX.UC_X86_REG_FPCW, f.cw)
        uc.reg_write(UX.UC_X86_REG_FPSW, f.status_word())
        uc.reg_write(UX.UC_X86_REG_FPTAG, f.tag)
        saved = self.ctx
        self.ctx = uc.context_save()
        try:
            out = super().run(case, st, info)
        finally:
            self.ctx = saved
        regs = []
        for p in range(8):
            m, se = uc.reg_read(UC_FP[p])
            regs.append((se & 0xFFFF, m & 0xFFFFFFFFFFFFFFFF))
        sw = uc.reg_read(UX.UC_X86_REG_FPSW) & 0xFFFF
        out.fpu = FpuState(regs, (sw >> 11) & 7, uc.reg_read(UX.UC_X86_REG_FPTAG) & 0xFFFF,
                           uc.reg_read(UX.UC_X86_REG_FPCW) & 0xFFFF, sw & ~0x3800)
        return out


# --- comparison ----------------------------------------------------------------------------

def value80(se, m):
    """A finite register value as a Fraction, or a class name."""
    exp = se & 0x7FFF
    if exp == 0x7FFF:
        return "inf" if (m << 1) & (2 ** 64 - 1) == 0 else "nan"
    if exp and not m >> 63:
        return "invalid"
    v = Fraction(m) * Fraction(2) ** ((exp or 1) - 16383 - 63)
    return -v if se >> 15 else v


def close80(a, b, rel_tol):
    """Within rel_tol of each other (relative to the larger magnitude); specials must be equal."""
    if a == b:
        return True
    va, vb = value80(*a), value80(*b)
    if isinstance(va, str) or isinstance(vb, str):
        return va == vb and va != "invalid" and (a[0] >> 15) == (b[0] >> 15)
    big = max(abs(va), abs(vb))
    return abs(va - vb) <= rel_tol * big


def compare_fpu(a, b, fmask):
    out = []
    for p in range(8):
        if a.regs[p] == b.regs[p]:
            continue
        if p in fmask.regs and close80(a.regs[p], b.regs[p], fmask.rel_tol):
            continue
        out.append("r%d: pyemu %04x:%016x, unicorn %04x:%016x" % (p, *a.regs[p], *b.regs[p]))
    if a.top != b.top:
        out.append("top: pyemu %d, unicorn %d" % (a.top, b.top))
    if a.tag != b.tag:
        out.append("tag word: pyemu %04x, unicorn %04x" % (a.tag, b.tag))
    if a.cw != b.cw:
        out.append("control word: pyemu %04x, unicorn %04x" % (a.cw, b.cw))
    m = ~fmask.sw & 0xFFFF & ~0x3800
    if a.sw & m != b.sw & m:
        out.append("status word: pyemu %04x, unicorn %04x (compared bits %04x)" % (
            a.status_word(), b.status_word(), m))
    return out


def format_failure(case, st, info, a, b, mask, fmask, diffs, where):
    from emu.frontend.disasm import format_listing
    lay = LAYOUTS[case.bits]
    return "\n".join([
        "--- %s [%s-bit] %s" % (case.family, case.bits, where),
        "code: %s" % case.code.hex(" "),
        format_listing(case.code, lay.code, case.bits),
        "initial state:",
        describe_state(case, st, info),
        st.fpu.describe(),
        "pyemu after:",
        a.fpu.describe(),
        "masked: %s" % ("; ".join(mask.why + fmask.why) or "nothing"),
        "differences:",
    ] + ["  " + d for d in diffs])


@dataclass
class Stats:
    cases: int = 0
    runs: int = 0
    failures: list = field(default_factory=list)
    failed_runs: int = 0


class X87Machines:
    def __init__(self, env=None):
        self.env = env
        self._py = {}
        self._uc = {}

    def py(self, bits):
        if bits not in self._py:
            self._py[bits] = X87PyemuRunner(bits, env=self.env)
        return self._py[bits]

    def uc(self, bits):
        if bits not in self._uc:
            self._uc[bits] = X87UnicornRunner(bits)
        return self._uc[bits]

    def close(self):
        for p in self._py.values():
            p.close()


def run_x87_family(machines, name, generator, value, n_runs, seed, bits, states_per_case=4, max_reports=6):
    rng = random.Random("%s/x87-%s/%d" % (seed, name, bits))
    lay = LAYOUTS[bits]
    py = machines.py(bits)
    uc = machines.uc(bits)
    stats = Stats()
    case_no = 0
    while stats.runs < n_runs:
        case = generator(rng, bits)
        case_no += 1
        stats.cases += 1
        py.maybe_recycle()
        for k in range(states_per_case):
            st = random_x87_state(rng, lay, case, value)
            info = (case.prepare(rng, st) if case.prepare else {}) or {}
            a = py.run(case, st)
            b = uc.run(case, st, info)
            mask = case.masks(st, info) if case.masks else Mask()
            fmask = case.fpu_masks(st, info) if case.fpu_masks else FpuMask()
            if a.exception is not None and a.exception == b.exception:
                mask, fmask = Mask(why=["(faulted)"]), FpuMask()
            diffs = compare(case, a, b, mask) + compare_fpu(a.fpu, b.fpu, fmask)
            stats.runs += 1
            if diffs:
                stats.failed_runs += 1
                if len(stats.failures) < max_reports:
                    where = "seed %s, case %d, state %d" % (seed, case_no, k)
                    stats.failures.append(format_failure(case, st, info, a, b, mask, fmask, diffs, where))
    return stats
