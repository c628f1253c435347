"""x87 cases run in bulk on pyemu and on qemu-system-i386 (test_x87_qemu.py).

Unicorn 2.1.4's FPU is QEMU 5.0's, which lacks most of the x87 exception
model; qemu-system-i386 (QEMU 7.2 here) raises the exception flags, handles
pseudo-denormals, invalid encodings and NaN quieting as the SDM says, and
computes FPREM, FSCALE, FXTRACT, F2XM1, FYL2X, FPATAN in full extended
precision.  So every case here runs on both as one bare-metal guest
(x87_qemu/batch.S): the guest loads each case's FPU state with FRSTOR, runs
the fragment, and dumps the state with FNSAVE plus the operand memory, EFLAGS
and EAX to the debug console.  The whole state is compared except the
masked parts, each masked for a stated reason:

  * DE: QEMU 7.2 never raises the denormal-operand exception (its softfloat
    only reports input denormals when it flushes them); pyemu follows the SDM;
  * C1: QEMU does not set the round-up bit, nor clear C1 where the SDM says
    "set to 0"; compared where QEMU defines it (FXAM, FPREM*);
  * C0 C2 C3 where the SDM leaves them undefined;
  * the FOP field of the saved environment, which QEMU does not store, and
    FIP after FNOP and FNSTSW (QEMU records FNSTSW, a control instruction,
    and not FNOP);
  * transcendental results: within 2^-60 where QEMU computes in extended
    precision (F2XM1 FYL2X FYL2XP1 FPATAN; pyemu evaluates in double, within
    about 2^-52: the mask is stated per case), the double ones (FSIN FCOS
    FPTAN FSINCOS, both in host double) within 2^-50;
  * CW after FNSTENV: the SDM masks every exception after storing the
    environment (pyemu does), QEMU does not;
  * EFLAGS OF SF AF after FCOMI*: the SDM clears them, QEMU keeps them.

Stack faults do not occur in these cases (QEMU detects none); they are
tested against the SDM in tests/fpu/test_x87_stack.py.
"""
import random
import struct
from dataclasses import dataclass, field
from fractions import Fraction

from tests.fpu.values import TOP, invalid80, random80, random_finite, random_sig

from .x87_families import random_bcd, random_int, random_real, x87_forms
from .x87_harness import FpuState, _tag_of, close80

REC = 300
OUT = 276
MEM = 160
CODE_MAX = 23

SW_DE = 0x02
SW_C0, SW_C1, SW_C2, SW_C3 = 0x100, 0x200, 0x400, 0x4000
UNDEF = SW_C0 | SW_C2 | SW_C3
ARITH_FLAGS = 0x8D5


@dataclass
class BatchCase:
    kind: str
    code: bytes
    fpu: FpuState
    mem: bytes
    eflags: int
    eax: int = 0
    sw_mask: int = SW_DE | SW_C1
    cw_mask: int = 0
    flags_mask: int = 0
    tolerant: dict = field(default_factory=dict)    # ST index after the run -> relative tolerance
    mem_mask: dict = field(default_factory=dict)    # operand-area byte -> bits that may differ
    skip_fip: bool = False      # the saved FIP/FCS/FDP/FDS may differ (see its why)
    why: list = field(default_factory=list)
    notes: str = ""

    def record(self):
        f = self.fpu
        env = struct.pack("<IIIIIII", f.cw, f.status_word(), f.tag, 0, 0, 0, 0)
        regs = b"".join(struct.pack("<QH", f.st(i)[1], f.st(i)[0]) for i in range(8))
        code = self.code + b"\xc3"
        assert len(code) <= 24, self.code.hex()
        rec = env + regs + self.mem + struct.pack("<II", self.eflags, self.eax) + code.ljust(24, b"\xcc")
        assert len(rec) == REC
        return rec


# --- encoding (EBX = the operand area) ----------------------------------------------------

def reg_form(mnemonic, text=None):
    fs = [f for f in x87_forms(mnemonic, False) if text is None or f.operand_text == text]
    return fs[0]


def enc_reg(form, i=0):
    op = int(form.opcode.split()[0], 16)
    spec = form.opcode.split()[1]
    base = int(spec[:-2] if spec.endswith("+i") else spec, 16)
    return bytes([op, base + (i if spec.endswith("+i") else 0)])


def enc_mem(form, disp=0, opsize16=False):
    parts = form.opcode.split()
    pre = b"\x66" if opsize16 else b""
    if parts[0] == "0F":
        op, digit = bytes([0x0F, int(parts[1], 16)]), int(parts[2][1:])
    else:
        op, digit = bytes([int(parts[0], 16)]), int(parts[1][1:])
    if disp:
        return pre + op + bytes([0x43 | digit << 3, disp])      # [ebx + disp8]
    return pre + op + bytes([0x03 | digit << 3])                 # [ebx]


MEM_TEXT_SIZE = {"Mfs": 4, "Mfd": 8, "Mft": 10, "Mwi": 2, "Mdi": 4, "Mqi": 8, "Mbcd": 10, "Mcw": 2}


def mem_value(rng, text):
    if text == "Mfs":
        return random_real(rng, 32)
    if text == "Mfd":
        return random_real(rng, 64)
    if text == "Mft":
        se, m = value80(rng)
        return m | se << 64
    if text == "Mbcd":
        return random_bcd(rng)
    return random_int(rng, MEM_TEXT_SIZE[text])


def value80(rng):
    """Register contents of every class, pseudo-denormals and invalid encodings included."""
    r = rng.random()
    if r < 0.04:
        return invalid80(rng)
    return random80(rng, specials=0.25)


def moderate80(rng):
    r = rng.random()
    if r < 0.15:
        return value80(rng)
    return (rng.getrandbits(1) << 15) | (0x3FFF + rng.randrange(-4, 70)), random_sig(rng)


def pc_cw(rng, pc_ok=True):
    """A control word, exceptions masked.  Precision control other than 64 bits
    only where the SDM applies it (pc_ok): QEMU 7.2 also rounds to it the
    64-bit and integer operands it converts, FBLD, FPREM/FPREM1 and FRNDINT
    results (the SDM: those are exact, or rounded to 64 bits)."""
    pc = rng.choice((0, 2, 3, 3, 1)) if pc_ok else rng.choice((3, 1))
    return 0x40 | 0x3F | (pc << 8) | (rng.randrange(4) << 10)


def random_state(rng, depth, value=value80, cw=None):
    regs = [value(rng) for _ in range(8)]
    top = rng.randrange(8)
    tag = 0
    for p in range(8):
        t = 3 if ((p - top) & 7) >= depth else _tag_of(*regs[p])
        tag |= t << (2 * p)
    if cw is None:
        cw = pc_cw(rng, False)
    sw = rng.getrandbits(16) & (SW_C0 | SW_C1 | SW_C2 | SW_C3)
    return FpuState(regs, top, tag, cw, sw)


# --- case kinds -----------------------------------------------------------------------------

ARITH = ("fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr", "faddp", "fmulp", "fsubp", "fsubrp", "fdivp",
         "fdivrp", "fiadd", "fimul", "fisub", "fisubr", "fidiv", "fidivr")


def _mem_bytes(rng, text, value=None):
    n = MEM_TEXT_SIZE.get(text, 0)
    v = (mem_value(rng, text) if value is None else value) if n else 0
    mem = bytearray(rng.getrandbits(8 * MEM).to_bytes(MEM, "little"))
    if n:
        mem[:n] = (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")
    return bytes(mem)


def _one(rng, names, need_extra=0, push=False):
    """One instruction of the given mnemonics: (code, depth range, form, memory text or None)."""
    forms = [f for n in names for f in x87_forms(n)]
    f = rng.choice(forms)
    if f.operand_text.startswith("M"):
        return enc_mem(f), f, f.operand_text, 1 + need_extra
    if "STi" in f.operand_text:
        i = rng.randrange(7 if push else 8)
        return enc_reg(f, i), f, None, max(i + 1, 1 + need_extra)
    return enc_reg(f), f, None, 1 + need_extra


def kind_arith(rng):
    code, f, text, need = _one(rng, ARITH)
    st = random_state(rng, rng.randint(need, 8), cw=pc_cw(rng, text in (None, "Mfs")))
    return BatchCase("arith", code, st, _mem_bytes(rng, text), _eflags(rng),
                     sw_mask=SW_DE | SW_C1 | UNDEF)


def kind_load(rng):
    names = ("fld", "fild", "fbld", "fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz")
    code, f, text, need = _one(rng, names, push=True)
    if text is None and f.operand_text == "":
        need = 0
    st = random_state(rng, rng.randint(need if "STi" in f.operand_text else 0, 7))
    return BatchCase("load", code, st, _mem_bytes(rng, text), _eflags(rng), sw_mask=SW_DE | SW_C1 | UNDEF)


def kind_store(rng):
    code, f, text, need = _one(rng, ("fst", "fstp", "fist", "fistp", "fbstp"))
    value = moderate80 if f.mnemonic in ("fist", "fistp", "fbstp") else value80
    st = random_state(rng, rng.randint(need, 8), value=value)
    return BatchCase("store", code, st, _mem_bytes(rng, None), _eflags(rng), sw_mask=SW_DE | SW_C1 | UNDEF)


def kind_compare(rng):
    names = ("fcom", "fcomp", "fcompp", "fucom", "fucomp", "fucompp", "ficom", "ficomp", "ftst", "fxam",
             "fcomi", "fcomip", "fucomi", "fucomip")
    code, f, text, need = _one(rng, names)
    if f.mnemonic.endswith("pp"):
        need = 2
    c = BatchCase("compare", code, random_state(rng, rng.randint(need, 8)), _mem_bytes(rng, text),
                  _eflags(rng), sw_mask=SW_DE | SW_C1)
    if f.mnemonic == "fxam":
        c.sw_mask = SW_DE
    if f.mnemonic.startswith(("fcomi", "fucomi")):
        c.flags_mask = 0x890          # OF SF AF
        c.sw_mask = SW_DE | SW_C1 | UNDEF
    else:
        c.code += enc_reg(reg_form("fnstsw", "AX"))
        c.skip_fip = True
        c.why.append("FIP after FNSTSW: QEMU records FNSTSW's address, the SDM counts it a "
                     "control instruction that leaves the pointers alone")
    return c


def kind_misc(rng):
    names = ("fchs", "fabs", "fsqrt", "frndint", "fscale", "fxtract", "fprem", "fprem1", "fincstp",
             "fdecstp", "ffree", "ffreep", "fxch", "fnop", "fcmovb", "fcmove", "fcmovbe", "fcmovu",
             "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu")
    code, f, text, need = _one(rng, names)
    n = f.mnemonic
    if n in ("fscale", "fprem", "fprem1"):
        need = 2
    if n in ("fincstp", "fdecstp", "ffree", "ffreep", "fnop"):
        need = 0
    hi = 7 if n == "fxtract" else 8
    value = moderate80 if n in ("fprem", "fprem1", "fscale", "frndint") and rng.random() < 0.5 else value80
    st = random_state(rng, rng.randint(need, hi), value=value, cw=pc_cw(rng, n == "fsqrt"))
    if n in ("fprem", "fprem1") and rng.random() < 0.5:
        # close exponents: complete remainders with quotient bits
        a, b = st.st(0), st.st(1)
        if (a[0] & 0x7FFF) and (b[0] & 0x7FFF) and a[1] >> 63 and b[1] >> 63:
            e = (b[0] & 0x7FFF) + rng.randrange(-2, 70)
            if 0 < e < 0x7FFF:
                st.regs[st.phys(0)] = ((a[0] & 0x8000) | e, a[1])
                st.tag = _retag(st)
    mask = SW_DE | SW_C1 | UNDEF
    why = []
    skip_fip = n == "fnop"
    if skip_fip:
        why.append("FIP after FNOP: QEMU does not record it (the SDM lists FNOP with the non-control "
                   "instructions)")
    if n == "fprem":
        mask = SW_DE
    if n == "fprem1":
        # QEMU 7.2 often reports FPREM1's quotient bits as 0 (seen with |q| of
        # 543, 1036, 5.6e8...); pyemu's match exact arithmetic (tests/fpu)
        mask = SW_DE | SW_C0 | SW_C1 | SW_C3
        why.append("FPREM1 quotient bits C0 C1 C3: QEMU 7.2 often leaves them 0")
    return BatchCase("misc", code, st, _mem_bytes(rng, None), _eflags(rng), sw_mask=mask, why=why,
                     skip_fip=skip_fip)


def _retag(st):
    tag = st.tag
    for p in range(8):
        if (tag >> (2 * p)) & 3 != 3:
            tag = (tag & ~(3 << (2 * p))) | (_tag_of(*st.regs[p]) << (2 * p))
    return tag


def kind_constant_rc(rng):
    """The constants under every rounding mode (QEMU 5.0 ignores RC here; QEMU 7 and the SDM do not)."""
    names = ("fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz")
    f = reg_form(rng.choice(names))
    st = random_state(rng, rng.randint(0, 7))
    return BatchCase("constant", enc_reg(f), st, _mem_bytes(rng, None), _eflags(rng),
                     sw_mask=SW_DE | SW_C1 | UNDEF)


def trans_value(rng):
    r = rng.random()
    sign = rng.getrandbits(1) << 15
    if r < 0.15:
        se, m = value80(rng)
        if (se & 0x7FFF) == 0x7FFF and m == TOP:
            return sign, 0         # no infinities: QEMU calls them out of range, the SDM #IA
        return se, m
    return sign | (0x3FFF + rng.randrange(-30, 10)), random_sig(rng)


def kind_transcend(rng):
    names = ("fsin", "fcos", "fptan", "fsincos", "fpatan", "fyl2x", "fyl2xp1", "f2xm1")
    n = rng.choice(names)
    f = reg_form(n)
    need = 2 if n in ("fpatan", "fyl2x", "fyl2xp1") else 1
    hi = 7 if n in ("fptan", "fsincos") else 8
    st = random_state(rng, rng.randint(need, hi), value=trans_value, cw=0x37F | (rng.choice((0, 2, 3)) << 8))
    if n == "f2xm1" and rng.random() < 0.8:
        st.regs[st.phys(0)] = ((rng.getrandbits(1) << 15) | (0x3FFF - rng.randrange(1, 40)), random_sig(rng))
    if n == "fyl2xp1" and rng.random() < 0.8:
        st.regs[st.phys(0)] = ((rng.getrandbits(1) << 15) | (0x3FFD - rng.randrange(0, 40)), random_sig(rng))
    if n == "fyl2x" and rng.random() < 0.8:
        st.regs[st.phys(0)] = (0x3FFF + rng.randrange(-40, 40), random_sig(rng))
    st.tag = _retag(st)
    c = BatchCase("transcend", enc_reg(f), st, _mem_bytes(rng, None), _eflags(rng),
                  sw_mask=SW_DE | SW_C1 | UNDEF | 0x20 | 0x10)
    c.why.append("PE/UE of transcendental results: pyemu reports #P for every inexact "
                 "result; QEMU's double-based FSIN/FCOS/FPTAN/FSINCOS report nothing")
    if n in ("fsin", "fcos", "fptan", "fsincos"):
        tol = Fraction(1, 2 ** 50)
        c.sw_mask |= 0x01
        c.why.append("IE of FSIN etc.: QEMU's double-based helpers report no flags")
    else:
        tol = Fraction(1, 2 ** 50)
    res = {"fptan": (0, 1), "fsincos": (0, 1)}.get(n, (0,))
    for i in res:
        c.tolerant[i] = tol
    return c


def kind_env(rng):
    """FNSTENV/FLDENV (32/16-bit), FNSAVE/FRSTOR, FLDCW/FNSTCW/FNSTSW m16, FNCLEX, FNINIT, FXSAVE/FXRSTOR."""
    n = rng.choice(("fnstenv", "fldenv", "fnsave", "frstor", "fldcw", "fnstcw", "fnstsw", "fnclex",
                    "fninit", "fxsave", "fxrstor"))
    f = x87_forms(n)[0] if n in ("fnclex", "fninit") else [x for x in x87_forms(n) if
                                                            x.operand_text.startswith("M")][0]
    o16 = n in ("fnstenv", "fldenv", "fnsave", "frstor") and rng.random() < 0.4
    code = enc_reg(f) if n in ("fnclex", "fninit") else enc_mem(f, opsize16=o16)
    st = random_state(rng, rng.randint(0, 8))
    mem = bytearray(_mem_bytes(rng, None))
    if n in ("fldenv", "frstor"):
        img = _env_image(rng, o16)
        mem[:len(img)] = img
        if n == "frstor":
            for i in range(8):
                se, m = value80(rng)
                off = len(img) + 10 * i
                mem[off:off + 10] = struct.pack("<QH", m, se)
    if n == "fldcw":
        mem[:2] = struct.pack("<H", 0x40 | 0x3F | (rng.choice((0, 2, 3)) << 8) | (rng.randrange(4) << 10))
    if n == "fxrstor":
        mem[:32] = struct.pack("<HHBBHIHHIHHII", 0x40 | 0x3F | rng.randrange(4) << 10 | 3 << 8,
                               rng.getrandbits(16) & 0x4700 | rng.randrange(8) << 11, rng.getrandbits(8), 0,
                               0, 0, 0, 0, 0, 0, 0, 0x1F80, 0)
        for i in range(8):
            se, m = value80(rng)
            mem[32 + 16 * i:42 + 16 * i] = struct.pack("<QH", m, se)
    c = BatchCase("env", code, st, bytes(mem), _eflags(rng), sw_mask=SW_DE | SW_C1 | UNDEF)
    c.notes = n + (" o16" if o16 else "")
    if n == "fnstenv":
        c.cw_mask = 0x3F
        c.why.append("CW exception masks after FNSTENV: set by the SDM (pyemu), kept by QEMU")
    if n in ("fnstenv", "fnsave"):
        c.why.append("the stored FOP (QEMU does not keep it)")
    if n == "fxsave":
        c.mem_mask = {6: 0xFF, 7: 0xFF}
        c.why.append("FXSAVE bytes 6-7, FOP: QEMU does not store it")
    return c


def _env_image(rng, o16):
    cw = 0x40 | 0x3F | (rng.choice((0, 2, 3)) << 8) | (rng.randrange(4) << 10)
    sw = (rng.getrandbits(16) & 0x4700) | (rng.randrange(8) << 11)
    tw = rng.getrandbits(16)
    if o16:
        return struct.pack("<HHHHHHH", cw, sw, tw, 0, 0, 0, 0)
    return struct.pack("<IIIIIII", cw, sw, tw, 0, 0, 0, 0)


def _eflags(rng):
    return (rng.getrandbits(12) & ARITH_FLAGS) | 2


KINDS = (
    (kind_arith, 8), (kind_load, 3), (kind_store, 4), (kind_compare, 4), (kind_misc, 6),
    (kind_constant_rc, 1), (kind_transcend, 3), (kind_env, 2),
)


def generate(seed, n):
    rng = random.Random("x87-qemu/%s" % seed)
    kinds = [k for k, w in KINDS for _ in range(w)]
    return [rng.choice(kinds)(rng) for _ in range(n)]


def cases_bin(cases):
    return struct.pack("<I", len(cases)) + b"".join(c.record() for c in cases)


# --- comparison ------------------------------------------------------------------------------

def parse_out(blob, i):
    r = blob[OUT * i:OUT * (i + 1)]
    if len(r) < OUT:
        return None
    env = struct.unpack("<IIIIIII", r[:28])
    regs = [struct.unpack("<QH", r[28 + 10 * k:38 + 10 * k]) for k in range(8)]
    return {"cw": env[0] & 0xFFFF, "sw": env[1] & 0xFFFF, "tw": env[2] & 0xFFFF, "fip": env[3],
            "fcs": env[4] & 0xFFFF, "fop": (env[4] >> 16) & 0x7FF, "fdp": env[5], "fds": env[6] & 0xFFFF,
            "regs": [(se, m) for m, se in regs], "mem": r[108:268],
            "eflags": struct.unpack("<I", r[268:272])[0], "eax": struct.unpack("<I", r[272:276])[0]}


def compare(case, a, b):
    """Differences between pyemu (a) and QEMU (b) for one case."""
    out = []
    if a["cw"] & ~case.cw_mask != b["cw"] & ~case.cw_mask:
        out.append("cw: pyemu %04x, qemu %04x" % (a["cw"], b["cw"]))
    m = ~case.sw_mask & 0xFFFF
    if a["sw"] & m != b["sw"] & m:
        out.append("sw: pyemu %04x, qemu %04x (compared %04x)" % (a["sw"], b["sw"], m))
    if a["tw"] != b["tw"]:
        out.append("tag word: pyemu %04x, qemu %04x" % (a["tw"], b["tw"]))
    for i in range(8):
        x, y = a["regs"][i], b["regs"][i]
        if x != y and not (i in case.tolerant and close80(x, y, case.tolerant[i])):
            out.append("st%d: pyemu %04x:%016x, qemu %04x:%016x" % (i, x[0], x[1], y[0], y[1]))
    if not case.skip_fip:
        for name in ("fip", "fcs", "fdp", "fds"):
            if a[name] != b[name]:
                out.append("%s: pyemu %x, qemu %x" % (name, a[name], b[name]))
    bad = [k for k in range(MEM) if (a["mem"][k] ^ b["mem"][k]) & ~case.mem_mask.get(k, 0)]
    if bad:
        out.append("memory differs at %d bytes from %d: pyemu %s, qemu %s" % (
            len(bad), bad[0], a["mem"][bad[0]:bad[0] + 16].hex(), b["mem"][bad[0]:bad[0] + 16].hex()))
    fm = ARITH_FLAGS & ~case.flags_mask
    if a["eflags"] & fm != b["eflags"] & fm:
        out.append("eflags: pyemu %08x, qemu %08x" % (a["eflags"], b["eflags"]))
    if a["eax"] & 0xFFFF0000 != b["eax"] & 0xFFFF0000 or (a["eax"] ^ b["eax"]) & 0xFFFF & m:
        out.append("eax: pyemu %08x, qemu %08x" % (a["eax"], b["eax"]))
    return out


def describe(case, i):
    from emu.frontend.disasm import format_listing
    f = case.fpu
    lines = ["--- case %d (%s%s): %s" % (i, case.kind, " " + case.notes if case.notes else "", case.code.hex(" ")),
             format_listing(case.code, 0, 32),
             "  cw=%04x sw=%04x tag=%04x top=%d eflags=%08x" % (f.cw, f.status_word(), f.tag, f.top, case.eflags)]
    for k in range(8):
        se, m = f.st(k)
        lines.append("    st%d %04x:%016x%s" % (k, se, m, " empty" if (f.tag >> (2 * f.phys(k))) & 3 == 3 else ""))
    lines.append("  mem[0:16] %s" % case.mem[:16].hex())
    if case.why:
        lines.append("  also masked: " + "; ".join(case.why))
    return "\n".join(lines)
