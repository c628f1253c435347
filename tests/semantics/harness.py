"""Differential harness: the same code and state on pyemu and on Unicorn.

A *case* is a short code fragment (one instruction under test, or a short
sequence) plus two functions: `prepare` bends a random initial state so the
fragment stays inside the compared memory (memory operands, string pointers,
return addresses...), and `masks` says what the SDM leaves undefined for
that state (flags, and rarely result bits).  Each case runs with several
random states: the same bytes hit pyemu's translation cache, so the JIT
compiles each fragment once.

Compared after the run: the 8 GPRs, EIP, the data and stack regions, EFLAGS
(CF PF AF ZF SF OF and DF; more for POPF cases) and the exception vector.
"""
import random
import struct
from dataclasses import dataclass, field

from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_16, UC_MODE_32, UC_HOOK_INTR
from unicorn import x86_const as UX
from unicorn.unicorn_const import UC_ERR_INSN_INVALID

from emu.cpu import hflags as H
from emu.frontend.disasm import format_listing
from emu.snippet import CODE_ADDR, Snippet
from tiers import Census, environment

from .x86enc import REG32

UC_REGS = (UX.UC_X86_REG_EAX, UX.UC_X86_REG_ECX, UX.UC_X86_REG_EDX, UX.UC_X86_REG_EBX,
           UX.UC_X86_REG_ESP, UX.UC_X86_REG_EBP, UX.UC_X86_REG_ESI, UX.UC_X86_REG_EDI)

FLAG_BITS = {"CF": H.CF, "PF": H.PF, "AF": H.AF, "ZF": H.ZF, "SF": H.SF, "OF": H.OF}
ARITH = H.ARITH_FLAGS
COMPARED_FLAGS = ARITH | H.DF


@dataclass(frozen=True)
class Layout:
    bits: int
    code: int
    data: int
    data_size: int
    stack: int
    stack_size: int

    @property
    def data_end(self):
        return self.data + self.data_size

    @property
    def stack_end(self):
        return self.stack + self.stack_size

    @property
    def stack_top(self):
        """The usual initial ESP: the middle of the stack region."""
        return self.stack + self.stack_size // 2


# Data and stack lie below 64 KB in both modes, so that 16-bit addressing (the
# 67 prefix in 32-bit code, real mode) reaches them too; 32-bit code sits
# where emu.snippet puts it, 16-bit code below 64 KB (segment bases are 0).
LAYOUT32 = Layout(32, CODE_ADDR, 0x4000, 0x2000, 0x8000, 0x1000)
LAYOUT16 = Layout(16, 0x1000, 0x4000, 0x2000, 0x8000, 0x1000)
LAYOUTS = {32: LAYOUT32, 16: LAYOUT16}


def flag_bits(names):
    v = 0
    for n in names:
        v |= FLAG_BITS[n]
    return v


def flag_names(bits):
    return ",".join(n for n, b in FLAG_BITS.items() if bits & b) or "-"


@dataclass
class State:
    regs: list
    eflags: int
    data: bytearray
    stack: bytearray

    def copy(self):
        return State(list(self.regs), self.eflags, bytearray(self.data), bytearray(self.stack))

    def mem_read(self, layout, addr, size):
        for base, buf in ((layout.data, self.data), (layout.stack, self.stack)):
            if base <= addr and addr + size <= base + len(buf):
                return int.from_bytes(buf[addr - base:addr - base + size], "little")
        raise ValueError("address %#x outside the compared memory" % addr)

    def mem_write(self, layout, addr, size, value):
        for base, buf in ((layout.data, self.data), (layout.stack, self.stack)):
            if base <= addr and addr + size <= base + len(buf):
                buf[addr - base:addr - base + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
                return
        raise ValueError("address %#x outside the compared memory" % addr)


@dataclass
class Mask:
    """What the SDM leaves undefined for one run (bits to ignore)."""
    flags: int = 0
    regs: dict = field(default_factory=dict)    # register number -> bits
    mem: dict = field(default_factory=dict)     # address -> bits of that byte
    why: list = field(default_factory=list)

    def add_flags(self, bits, why):
        if bits:
            self.flags |= bits
            self.why.append("%s: %s" % (flag_names(bits), why))

    def add_reg(self, r, bits, why):
        self.regs[r] = self.regs.get(r, 0) | bits
        self.why.append("%s&%#x: %s" % (REG32[r], bits, why))

    def add_mem(self, addr, size, why, bits=None):
        for k in range(size):
            self.mem[addr + k] = 0xFF if bits is None else (bits >> (8 * k)) & 0xFF
        self.why.append("mem[%#x..+%d]: %s" % (addr, size, why))


@dataclass
class Case:
    family: str
    bits: int
    insns: list
    prepare: object = None          # (rng, state) -> info dict
    masks: object = None            # (state, info) -> Mask
    max_steps: int = 0              # >0: may loop; bound Unicorn's instruction count
    extra_flags: int = 0            # EFLAGS bits compared beyond COMPARED_FLAGS
    name: str = ""
    uc_code: bytes = None           # what Unicorn runs instead, where it deviates (see its user)
    uc_fault: object = None         # (state, info) -> vector: the SDM's fault, where Unicorn cannot run it
    uc_fix: object = None           # (outcome, state): correct a known Unicorn deviation (see its user)
    compare_segs: bool = False      # compare the segment selectors too

    def __post_init__(self):
        off = 0
        for ins in self.insns:
            ins.offset = off
            off += ins.length

    @property
    def code(self):
        return b"".join(i.code for i in self.insns)


@dataclass
class Outcome:
    regs: list
    eip: int
    eflags: int
    exception: object
    data: bytes
    stack: bytes
    segs: list = None       # ES CS SS DS FS GS selectors


# The GDT both machines use in 32-bit mode: the selectors emu.snippet's flat
# mode loads (0x08 code, 0x10 data), so segment instructions agree
GDT_ADDR = 0x3000
FLAT_CS, FLAT_DS = 0x08, 0x10


def _descriptor(base, limit, access, flags):
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                       ((limit >> 16) & 0xF) | flags << 4, base >> 24)


GDT = (_descriptor(0, 0, 0, 0) + _descriptor(0, 0xFFFFF, 0x9B, 0xC) + _descriptor(0, 0xFFFFF, 0x93, 0xC))
SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")
UC_SEGS = (UX.UC_X86_REG_ES, UX.UC_X86_REG_CS, UX.UC_X86_REG_SS, UX.UC_X86_REG_DS, UX.UC_X86_REG_FS,
           UX.UC_X86_REG_GS)


def sub_flags(a, b, size):
    """CF PF AF ZF SF OF of a - b (size bytes), computed here as the SDM says."""
    bits = 8 * size
    m = (1 << bits) - 1
    a, b = a & m, b & m
    r = (a - b) & m
    f = 0
    if a < b:
        f |= H.CF
    if bin(r & 0xFF).count("1") % 2 == 0:
        f |= H.PF
    if (a ^ b ^ r) & 0x10:
        f |= H.AF
    if r == 0:
        f |= H.ZF
    if r >> (bits - 1):
        f |= H.SF
    if ((a ^ b) & (a ^ r)) >> (bits - 1) & 1:
        f |= H.OF
    return f


# ---------------------------------------------------------------------------
# random states

SPECIAL = (0, 1, 2, 3, 7, 8, 9, 15, 16, 31, 32, 33, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0x7FFF, 0x8000,
           0x8001, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE,
           0xFFFFFF80, 0xFFFF8000, 0x99, 0x9999, 0x0F0F0F0F)


def random_value(rng):
    r = rng.random()
    if r < 0.2:
        return rng.choice(SPECIAL)
    if r < 0.3:
        return rng.randrange(0x100)
    if r < 0.35:
        return -rng.randrange(1, 0x100) & 0xFFFFFFFF
    v = rng.getrandbits(32)
    r = rng.random()
    if r < 0.15:       # interesting low byte / word under random upper bits
        v = (v & ~0xFF) | rng.choice(SPECIAL) & 0xFF
    elif r < 0.25:
        v = (v & ~0xFFFF) | rng.choice(SPECIAL) & 0xFFFF
    return v


def random_bytes(rng, n):
    out = bytearray(rng.getrandbits(8 * n).to_bytes(n, "little"))
    for _ in range(n // 64):     # sprinkle interesting values
        k = rng.randrange(n - 4)
        out[k:k + 4] = rng.choice(SPECIAL).to_bytes(4, "little")
    return out


def random_state(rng, layout):
    regs = [random_value(rng) for _ in range(8)]
    sp = layout.stack_top + rng.randrange(-64, 64) * 4
    if rng.random() < 0.1:
        sp += rng.randrange(1, 4)               # a misaligned stack works too
    if layout.bits == 16:
        regs[4] = (regs[4] & 0xFFFF0000) | sp
    else:
        regs[4] = sp
    eflags = H.FIXED_ONE | (rng.getrandbits(12) & ARITH)
    if rng.random() < 0.3:
        eflags |= H.DF
    return State(regs, eflags, random_bytes(rng, layout.data_size), random_bytes(rng, layout.stack_size))


# ---------------------------------------------------------------------------
# the two machines

class _CachingSnippet(Snippet):
    """A Snippet that leaves unchanged code bytes alone, so that running the
    same fragment again hits the translation cache instead of invalidating it."""

    def write(self, addr, data):
        if self.read(addr, len(data)) != bytes(data):
            super().write(addr, data)


class PyemuRunner:
    snippet_class = _CachingSnippet

    def __init__(self, bits, ir_opt=2, env=None):
        self.bits = bits
        self.ir_opt = ir_opt
        self.env = dict(env or {})      # PYEMU_* switches the machines are made under (tests/tiers.py)
        self.layout = LAYOUTS[bits]
        self.compiles = 0
        self.retired = Census()         # what the machines recycled so far translated
        self._new()

    def census(self):
        """The blocks every machine of this runner made (tests/tiers.py)."""
        return self.retired + Census.of(self.snip.machine.translator)

    def _new(self):
        with environment(self.env):
            self.snip = self.snippet_class(bits=self.bits, ir_opt=self.ir_opt)
        if self.bits == 32:
            # the descriptors behind the flat selectors (emu.snippet only
            # loads the descriptor caches), for the segment-register cases
            self.snip.write(GDT_ADDR, GDT)
            self.snip.cpu.gdtr.base = GDT_ADDR
            self.snip.cpu.gdtr.limit = len(GDT) - 1

    def maybe_recycle(self, limit=3000):
        """A translation never frees its code: start a fresh machine now and then."""
        n = self.snip.machine.translator.blocks_translated
        if n > limit:
            self.compiles += n
            self.retired = self.census()
            self.snip.close()
            self._new()

    def run(self, case, st):
        lay = self.layout
        s = self.snip
        s.write(lay.data, bytes(st.data))
        s.write(lay.stack, bytes(st.stack))
        regs = {n: st.regs[k] for k, n in enumerate(REG32)}
        r = s.run(case.code, regs=regs, eflags=st.eflags, addr=lay.code)
        eip = r.eip
        if r.exception is None:
            eip -= 1                    # past the HLT that ends every snippet
        return Outcome([r.regs[n] for n in REG32], eip, r.eflags, r.exception,
                       s.read(lay.data, lay.data_size), s.read(lay.stack, lay.stack_size),
                       [s.cpu.seg[k].selector & 0xFFFF for k in range(6)])

    def close(self):
        self.snip.close()


class UnicornRunner:
    def __init__(self, bits):
        self.bits = bits
        self.layout = LAYOUTS[bits]
        self.uc = Uc(UC_ARCH_X86, UC_MODE_32 if bits == 32 else UC_MODE_16)
        # only what a case may touch: a stray access shows as a fault
        lay = self.layout
        for base, size in ((lay.code & ~0xFFF, 0x2000), (lay.data, lay.data_size), (lay.stack, lay.stack_size)):
            self.uc.mem_map(base, size)
        if bits == 32:
            self.uc.mem_map(GDT_ADDR, 0x1000)
            self.uc.mem_write(GDT_ADDR, GDT)
            self.uc.reg_write(UX.UC_X86_REG_GDTR, (0, GDT_ADDR, len(GDT) - 1, 0))
            for r, sel in zip(UC_SEGS, (FLAT_DS, FLAT_CS, FLAT_DS, FLAT_DS, FLAT_DS, FLAT_DS)):
                self.uc.reg_write(r, sel)
        # QEMU remembers an exception "in flight" (for double-fault detection)
        # when the hook below stops it before delivery; restoring this context
        # before each run forgets it.
        self.ctx = self.uc.context_save()
        self.initial_segs = [self.uc.reg_read(r) & 0xFFFF for r in UC_SEGS]
        self.exc = None
        self.last_code = None
        self.uc.hook_add(UC_HOOK_INTR, self._intr)

    def _intr(self, uc, intno, user):
        self.exc = intno
        uc.emu_stop()

    def run(self, case, st, info=None):
        uc, lay = self.uc, self.layout
        if case.uc_fault is not None:
            vector = case.uc_fault(st, info or {})
            if vector is not None:
                # a fault of the first instruction: nothing changes
                return Outcome(list(st.regs), lay.code, st.eflags, vector, bytes(st.data), bytes(st.stack),
                               list(self.initial_segs))
        uc.context_restore(self.ctx)
        self.exc = None
        code = case.uc_code or case.code
        if code != self.last_code:
            uc.mem_write(lay.code, code + b"\xf4")
            # Unicorn does not drop translations when memory is written
            uc.ctl_remove_cache(lay.code, lay.code + 0x1000)
            self.last_code = code
        uc.mem_write(lay.data, bytes(st.data))
        uc.mem_write(lay.stack, bytes(st.stack))
        for k, r in enumerate(UC_REGS):
            uc.reg_write(r, st.regs[k])
        uc.reg_write(UX.UC_X86_REG_EFLAGS, st.eflags)
        err = None
        try:
            uc.emu_start(lay.code, lay.code + len(code), count=case.max_steps)
        except UcError as e:
            err = e
        exc = self.exc
        if err is not None and exc is None:
            exc = 6 if err.errno == UC_ERR_INSN_INVALID else "unicorn: %s" % err
        regs = [uc.reg_read(r) & 0xFFFFFFFF for r in UC_REGS]
        eip = uc.reg_read(UX.UC_X86_REG_EIP) & 0xFFFFFFFF
        out = Outcome(regs, eip, uc.reg_read(UX.UC_X86_REG_EFLAGS) & 0xFFFFFFFF, exc,
                      bytes(uc.mem_read(lay.data, lay.data_size)), bytes(uc.mem_read(lay.stack, lay.stack_size)),
                      [uc.reg_read(r) & 0xFFFF for r in UC_SEGS])
        if case.uc_fix is not None:
            case.uc_fix(out, st)
        return out


# ---------------------------------------------------------------------------
# comparison and reports

def compare(case, a, b, mask):
    """Differences between pyemu (a) and Unicorn (b), as text lines."""
    lay = LAYOUTS[case.bits]
    out = []
    if a.exception != b.exception:
        out.append("exception: pyemu %s, unicorn %s" % (a.exception, b.exception))
    for k, n in enumerate(REG32):
        m = ~mask.regs.get(k, 0) & 0xFFFFFFFF
        if a.regs[k] & m != b.regs[k] & m:
            out.append("%s: pyemu %08x, unicorn %08x" % (n, a.regs[k], b.regs[k]))
    if case.compare_segs and a.segs != b.segs:
        out.append("segments: pyemu %s, unicorn %s" % (
            " ".join("%s=%04x" % x for x in zip(SEG_NAMES, a.segs)),
            " ".join("%s=%04x" % x for x in zip(SEG_NAMES, b.segs))))
    if a.eip != b.eip:
        out.append("eip: pyemu %08x, unicorn %08x" % (a.eip, b.eip))
    fm = (COMPARED_FLAGS | case.extra_flags) & ~mask.flags
    if a.eflags & fm != b.eflags & fm:
        d = (a.eflags ^ b.eflags) & fm
        out.append("eflags: pyemu %08x, unicorn %08x (differ: %s%s)" % (
            a.eflags, b.eflags, flag_names(d), " DF" if d & H.DF else ""))
    for name, base, x, y in (("data", lay.data, a.data, b.data), ("stack", lay.stack, a.stack, b.stack)):
        if x != y:
            bad = [k for k in range(len(x)) if (x[k] ^ y[k]) & ~mask.mem.get(base + k, 0)]
            if bad:
                lo = bad[0]
                hi = min(bad[-1] + 1, lo + 32)
                out.append("%s memory differs at %d bytes, first %#x: pyemu %s, unicorn %s" % (
                    name, len(bad), base + lo, x[lo:hi].hex(), y[lo:hi].hex()))
    return out


def describe_state(case, st, info):
    lay = LAYOUTS[case.bits]
    lines = ["  " + " ".join("%s=%08x" % (n, st.regs[k]) for k, n in enumerate(REG32)),
             "  eflags=%08x (%s%s)" % (st.eflags, flag_names(st.eflags), " DF" if st.eflags & H.DF else "")]
    for k, v in sorted((info or {}).items()):
        if isinstance(v, int) and k.startswith("ea"):
            try:
                mem = st.mem_read(lay, v, 8)
                lines.append("  %s=%#x: %016x (8 bytes, little-endian)" % (k, v, mem))
            except ValueError:
                lines.append("  %s=%#x" % (k, v))
        else:
            lines.append("  %s=%r" % (k, v))
    return "\n".join(lines)


def format_failure(case, st, info, a, b, mask, diffs, where):
    lay = LAYOUTS[case.bits]
    listing = format_listing(case.code, lay.code, case.bits)
    return "\n".join([
        "--- %s [%s-bit] %s" % (case.family, case.bits, where),
        "code: %s" % case.code.hex(" "),
        listing,
    ] + (["unicorn ran instead: %s" % case.uc_code.hex(" ")] if case.uc_code else []) + [
        "initial state:",
        describe_state(case, st, info),
        "masked: %s" % ("; ".join(mask.why) if mask.why else "nothing"),
        "differences:",
    ] + ["  " + d for d in diffs])


# ---------------------------------------------------------------------------
# the driver

class Machines:
    """One pyemu Snippet and one Unicorn per mode, reused by every case."""

    def __init__(self, ir_opt=2, env=None):
        self.ir_opt = ir_opt
        self.env = env
        self._py = {}
        self._uc = {}

    def py(self, bits, ir_opt=None):
        key = (bits, self.ir_opt if ir_opt is None else ir_opt)
        if key not in self._py:
            self._py[key] = PyemuRunner(bits, key[1], self.env)
        return self._py[key]

    def uc(self, bits):
        if bits not in self._uc:
            self._uc[bits] = UnicornRunner(bits)
        return self._uc[bits]

    def close(self):
        for p in self._py.values():
            p.close()


@dataclass
class Stats:
    cases: int = 0
    runs: int = 0
    failures: list = field(default_factory=list)
    failed_runs: int = 0


def run_family(machines, name, generator, n_runs, seed, bits, states_per_case=6, ir_opt=None,
               max_reports=8, stats=None):
    """Run about n_runs random (case, state) pairs of one family."""
    rng = random.Random("%s/%s/%d" % (seed, name, bits))
    lay = LAYOUTS[bits]
    py = machines.py(bits, ir_opt)
    uc = machines.uc(bits)
    stats = stats or Stats()
    case_no = 0
    while stats.runs < n_runs:
        case = generator(rng, bits)
        case_no += 1
        stats.cases += 1
        py.maybe_recycle()
        for k in range(states_per_case):
            st = random_state(rng, lay)
            info = case.prepare(rng, st) if case.prepare else {}
            info = info or {}
            a = py.run(case, st)
            b = uc.run(case, st, info)
            mask = case.masks(st, info) if case.masks else Mask()
            if a.exception is not None and a.exception == b.exception:
                mask = Mask(why=["(faulted: nothing is undefined)"])
            diffs = compare(case, a, b, mask)
            stats.runs += 1
            if diffs:
                stats.failed_runs += 1
                if len(stats.failures) < max_reports:
                    where = "seed %s, case %d, state %d" % (seed, case_no, k)
                    stats.failures.append(format_failure(case, st, info, a, b, mask, diffs, where))
    return stats
