"""x87 case generators for the Unicorn differential test (test_x87.py).

Each generator picks x87 table rows (emu/frontend/opcodes.py), encodes them
(register forms: opcode + ModRM byte; memory forms: a random ModRM memory
operand placed in the compared data region, holding an interesting value of
its format), and says how deep the register stack must be so that no
instruction meets an empty register or a full stack: Unicorn 2.1.4 (QEMU
5.0) has no stack-fault detection, so stack faults are tested against the
SDM in tests/fpu/test_x87_stack.py instead.

Masks (FpuMask) name what may differ, each with its reason:
  * exception flags, SF, ES, B: Unicorn's QEMU 5.0 x87 raises almost none of
    them (it predates QEMU's x87 exception work); they are compared with
    qemu-system-i386 in test_x87_qemu.py and with exact arithmetic in tests/fpu;
  * C1: the SDM's "round-up" bit after arithmetic, stores and transcendental
    ops, 0 after compares and FCHS/FABS/FXCH: QEMU leaves C1 alone in those;
  * C0, C2, C3 where the SDM lists them "undefined" for the instruction.
"""
import struct

from emu.frontend import tables as T

from tests.fpu.values import TOP, invalid80, random80, random_finite, random_sig

from .families import place_memory
from .harness import LAYOUTS, Mask, flag_bits
from .x86enc import SEG_PREFIX, Built, Mem, _modrm_mem, random_mem
from .x87_harness import SW_C0, SW_C1, SW_C2, SW_C3, SW_EXCEPTIONS, FpuMask, X87Case

from fractions import Fraction

UNDEF_C023 = SW_C0 | SW_C2 | SW_C3

EXC_WHY = "exception flags/SF/ES/B: not raised by Unicorn's QEMU 5.0 x87 (test_x87_qemu.py checks them)"
C1_WHY = "C1 round-up/stack indication: not modelled by QEMU"
UNDEF_WHY = "C0 C2 C3: undefined after this instruction (SDM Vol. 2 Flags Affected)"


def x87_forms(mnemonic, memory=None):
    out = [f for f in T.FORMS if f.mnemonic == mnemonic and f.has(T.A_X87)]
    if memory is not None:
        out = [f for f in out if f.operand_text.startswith("M") == memory]
    return out


def _modrm_base(form):
    """The fixed ModRM byte of a register form ('D9 E0') or the base of '+i'."""
    spec = form.opcode.split()[1]
    return int(spec[:-2] if spec.endswith("+i") else spec, 16)


def encode_reg(form, i=0):
    op = int(form.opcode.split()[0], 16)
    spec = form.opcode.split()[1]
    modrm = _modrm_base(form) + (i if spec.endswith("+i") else 0)
    b = Built(form=form, code=bytes([op, modrm]), opsize=4, addrsize=4)
    b.notes["st"] = i if spec.endswith("+i") else None
    return b


def encode_mem(rng, form, bits, mem=None, opsize=None, avoid=()):
    """A memory form with a random memory operand (address size, segment
    override) whose registers avoid `avoid` (and ESP)."""
    default = 4 if bits == 32 else 2
    asize = default if rng.random() < 0.85 else 6 - default
    mem = mem or random_mem(rng, asize, avoid=tuple(avoid) + ((4,) if asize == 4 else ()))
    if not mem.regs():
        # an absolute operand: point it into the data region now
        lay = LAYOUTS[bits]
        mem.disp = lay.data + rng.randrange(0x100, lay.data_size - 0x300)
    parts = form.opcode.split()
    prefixes = bytearray()
    if rng.random() < 0.1:
        prefixes.append(SEG_PREFIX[rng.choice((0, 3, 4, 5))])
    opsize = opsize or default
    if opsize != default:
        prefixes.append(0x66)
    if asize != default:
        prefixes.append(0x67)
    if parts[0] == "0F":
        op = bytes([0x0F, int(parts[1], 16)])
        digit = int(parts[2][1:])
    else:
        op = bytes([int(parts[0], 16)])
        digit = int(parts[1][1:])
    mr = bytearray(_modrm_mem(mem))
    mr[0] |= digit << 3
    return Built(form=form, code=bytes(prefixes) + op + bytes(mr), opsize=opsize, addrsize=asize, mem=mem,
                 reg=digit, prefixes=bytes(prefixes))


# --- memory values ----------------------------------------------------------------------------

MEM_SIZE = {"Mfs": 4, "Mfd": 8, "Mft": 10, "Mwi": 2, "Mdi": 4, "Mqi": 8, "Mbcd": 10, "Mcw": 2,
            "Menv": 28, "Mst": 108, "M": 512}


def _f80_to_f(bits, se, m):
    """An 80-bit value's nearest 32/64-bit encoding (by truncation; only used to make inputs)."""
    fb, eb = (23, 8) if bits == 32 else (52, 11)
    bias = (1 << (eb - 1)) - 1
    exp = (se & 0x7FFF) - 16383 + bias
    sign = se >> 15
    if exp <= 0:
        return (sign << (bits - 1)) | ((m >> (64 - fb + 1 - exp)) if -exp < 64 else 0)
    if exp >= (1 << eb) - 1:
        exp = (1 << eb) - 2
    return (sign << (bits - 1)) | (exp << fb) | ((m >> (63 - fb)) & ((1 << fb) - 1))


def random_real(rng, bits):
    """An interesting 32/64-bit real encoding."""
    fb, eb = (23, 8) if bits == 32 else (52, 11)
    emax = (1 << eb) - 1
    sign = rng.getrandbits(1) << (bits - 1)
    r = rng.random()
    if r < 0.05:
        return sign
    if r < 0.1:
        return sign | (emax << fb)                        # infinity
    if r < 0.15:
        return sign | (emax << fb) | (rng.getrandbits(fb) or 1)   # NaN (quiet or signaling)
    if r < 0.25:
        return sign | (rng.getrandbits(fb) or 1)          # denormal
    if r < 0.5:
        exp = (emax >> 1) + rng.randrange(-40, 40)
    else:
        exp = rng.randrange(1, emax)
    return sign | (exp << fb) | rng.getrandbits(fb)


def random_int(rng, nbytes):
    bits = 8 * nbytes
    r = rng.random()
    if r < 0.2:
        v = rng.choice((0, 1, -1, 2, -2, 3, 10, 100, (1 << (bits - 1)) - 1, -(1 << (bits - 1))))
    elif r < 0.5:
        v = rng.randrange(-1000, 1000)
    else:
        v = rng.getrandbits(bits)
    return v & ((1 << bits) - 1)


def random_bcd(rng):
    digits = [rng.randrange(10) for _ in range(18)]
    if rng.random() < 0.3:
        k = rng.randrange(18)
        digits[k:] = [0] * (18 - k)          # a shorter number
    v = 0
    for k in range(9):
        v |= (digits[2 * k] | digits[2 * k + 1] << 4) << (8 * k)
    sign = rng.getrandbits(1) << 79
    return v | sign


def random_mem_value(rng, text):
    if text == "Mfs":
        return random_real(rng, 32)
    if text == "Mfd":
        return random_real(rng, 64)
    if text == "Mft":
        se, m = random80(rng)
        return m | se << 64
    if text == "Mbcd":
        return random_bcd(rng)
    return random_int(rng, MEM_SIZE[text])


def register_value(rng):
    """Register contents: mostly valid operands of every class, some invalid
    encodings.  No pseudo-denormals: QEMU 5.0 reads them with exponent 0
    instead of 1 (the SDM and QEMU 7: test_x87_qemu.py, tests/fpu)."""
    if rng.random() < 0.02:
        return invalid80(rng)
    return random80(rng, pseudo=False)


def moderate_value(rng):
    """Finite values of moderate magnitude (integer conversions, BCD...), and
    specials other than SNaNs (QEMU 5.0 stores those unquieted)."""
    r = rng.random()
    if r < 0.1:
        return random80(rng, snan=False, pseudo=False)
    sign = rng.getrandbits(1) << 15
    return sign | (0x3FFF + rng.randrange(-4, 70)), random_sig(rng)


# --- case construction -----------------------------------------------------------------------

def _prepare(bits, insns, values=None, more=None):
    """Place memory operands in the data region and fill them with values of their format."""
    lay = LAYOUTS[bits]

    def prepare(rng, st):
        info = place_memory(rng, st, lay, insns, size_of=lambda b: MEM_SIZE[b.form.operand_text])
        for b in insns:
            if b.mem is None:
                continue
            text = b.form.operand_text
            n = MEM_SIZE[text]
            if n <= 16:
                st.mem_write(lay, info["ea%d" % b.offset], n, (values or random_mem_value)(rng, text))
        if more:
            more(rng, st, info)
        return info
    return prepare


def make_case(family, bits, insns, depth, fpu_masks, masks=None, cw_choice=None, values=None, more=None,
              regs=None):
    """values: (rng, operand text) -> memory operand value; regs: (rng) -> register value."""
    off = 0
    for b in insns:
        b.offset = off
        off += b.length
    return X87Case(family, bits, insns, _prepare(bits, insns, values, more), masks, depth=depth,
                   fpu_masks=fpu_masks, cw_choice=cw_choice, value=regs)


def std_mask(c1=True, undef=True, extra=None):
    def masks(st, info):
        m = FpuMask()
        m.add_sw(SW_EXCEPTIONS, EXC_WHY)
        if c1:
            m.add_sw(SW_C1, C1_WHY)
        if undef:
            m.add_sw(UNDEF_C023, UNDEF_WHY)
        if extra:
            extra(m, st, info)
        return m
    return masks


# --- families ---------------------------------------------------------------------------------

ARITH = ("fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr", "faddp", "fmulp", "fsubp", "fsubrp", "fdivp",
         "fdivrp", "fiadd", "fimul", "fisub", "fisubr", "fidiv", "fidivr")


def _pick(rng, names, memory=None):
    fs = [f for n in names for f in x87_forms(n, memory)]
    return rng.choice(fs)


def _build(rng, bits, form):
    if form.operand_text.startswith("M"):
        return encode_mem(rng, form, bits), 1
    i = rng.randrange(8)
    return encode_reg(form, i), i + 1


def gen_arith(rng, bits):
    f = _pick(rng, ARITH)
    b, need = _build(rng, bits, f)
    return make_case("x87_arith", bits, [b], (need, 8), std_mask())


def gen_load(rng, bits):
    names = ("fld", "fild", "fbld", "fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz")
    f = _pick(rng, names)
    if f.operand_text.startswith("M"):
        b, need = encode_mem(rng, f, bits), 0
    elif f.operand_text == "STi":
        i = rng.randrange(7)        # ST(7) valid means the push overflows
        b, need = encode_reg(f, i), i + 1
    else:
        b, need = encode_reg(f), 0
    # Unicorn's QEMU 5.0 loads the constants rounded to nearest whatever RC says
    # (QEMU 7 follows RC): those run under round-to-nearest here, and under
    # every mode in test_x87_qemu.py
    cw = _cw_near if f.operand_text == "" else None
    # a push needs a free register below ST(0)
    return make_case("x87_load", bits, [b], (need, 7), std_mask(), cw_choice=cw, values=_quiet_mem_value)


def _quiet_mem_value(rng, text):
    """No 32/64-bit SNaNs: QEMU 5.0 loads them unquieted (the SDM, and QEMU 7:
    quieted, #IA; test_x87_qemu.py)."""
    while True:
        v = random_mem_value(rng, text)
        if text == "Mft":
            se, m = v >> 64, v & ((1 << 64) - 1)
            if (se & 0x7FFF) == 0x7FFF and m >> 63 and not (m >> 62) & 1 and m << 2 & ((1 << 64) - 1):
                continue            # an 80-bit SNaN: loaded as is, then stored unquieted by QEMU 5.0
            return v
        fb, eb = {"Mfs": (23, 8), "Mfd": (52, 11)}.get(text, (0, 0))
        if not fb:
            return v
        exp = (v >> fb) & ((1 << eb) - 1)
        if exp != (1 << eb) - 1 or not v & ((1 << fb) - 1) or v >> (fb - 1) & 1:
            return v


def bcd_range_value(rng):
    """|x| in [1, 10^18): QEMU 5.0 stores garbage instead of the BCD indefinite
    beyond that, and +0 for a negative value that rounds to 0 (QEMU 7 and the
    SDM: the indefinite, -0; compared in test_x87_qemu.py)."""
    return (rng.getrandbits(1) << 15) | (0x3FFF + rng.randrange(0, 59)), random_sig(rng)


def gen_store(rng, bits):
    f = _pick(rng, ("fst", "fstp", "fist", "fistp", "fbstp"))
    b, need = _build(rng, bits, f)
    need = max(need, 1)
    regs = bcd_range_value if f.mnemonic == "fbstp" else None
    return make_case("x87_store", bits, [b], (need, 8), std_mask(), regs=regs)


def _fcomi_flags(m, st, info):
    m.why.append("(EFLAGS OF SF AF after FCOMI: QEMU keeps them, the SDM clears them: tests/fpu)")


def gen_compare(rng, bits):
    names = ("fcom", "fcomp", "fcompp", "fucom", "fucomp", "fucompp", "ficom", "ficomp", "ftst", "fxam",
             "fcomi", "fcomip", "fucomi", "fucomip")
    f = _pick(rng, names)
    if f.operand_text.startswith("M"):
        b, need = encode_mem(rng, f, bits), 1
    elif f.operand_text in ("STi", "ST,STi"):
        b, need = _build(rng, bits, f)
    else:
        b, need = encode_reg(f), (2 if f.mnemonic.endswith("pp") else 1)
    insns = [b]
    eflags_mask = None
    if f.mnemonic.startswith(("fcomi", "fucomi")):
        def eflags_mask(st, info):
            m = Mask()
            m.add_flags(flag_bits(("OF", "SF", "AF")), "QEMU keeps OF SF AF after FCOMI; the SDM "
                        "clears them (pyemu does; tests/fpu/test_x87_ops.py checks it)")
            return m
        c1 = True
    else:
        # FNSTSW AX after the compare, as compilers emit it (and a check of FNSTSW)
        insns.append(encode_reg(x87_forms("fnstsw", False)[0]))
        c1 = f.mnemonic != "fxam"
    def fmask(st, info):
        m = FpuMask()
        m.add_sw(SW_EXCEPTIONS, EXC_WHY)
        if c1:
            m.add_sw(SW_C1, "C1 after a compare: the SDM sets it to 0, QEMU leaves it")
        return m

    def gmask(st, info):
        m = eflags_mask(st, info) if eflags_mask else Mask()
        if len(insns) > 1:
            bits_ = (SW_EXCEPTIONS | (SW_C1 if c1 else 0))
            m.add_reg(0, bits_, "AX = the status word: its exception bits and C1 as masked above")
        return m
    # valid encodings only: QEMU 5.0's FXAM calls a pseudo-NaN a NaN (the SDM
    # and QEMU 7: "unsupported"; test_x87_qemu.py)
    return make_case("x87_compare", bits, insns, (need, 8), fmask, masks=gmask,
                     regs=lambda r: random80(r, pseudo=False))


def gen_fcmov(rng, bits):
    names = ("fcmovb", "fcmove", "fcmovbe", "fcmovu", "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu")
    f = _pick(rng, names)
    b, need = _build(rng, bits, f)
    return make_case("x87_fcmov", bits, [b], (need, 8), std_mask())


def gen_misc(rng, bits):
    # FPREM, FPREM1 and FSCALE are left to test_x87_qemu.py: QEMU 5.0 computes
    # them in host double precision
    names = ("fchs", "fabs", "fsqrt", "frndint", "fxtract", "fincstp", "fdecstp", "ffree", "ffreep",
             "fxch", "fnop")
    f = _pick(rng, names)
    if f.operand_text == "STi":
        b, need = _build(rng, bits, f)
    else:
        b, need = encode_reg(f), (2 if f.mnemonic in ("fscale", "fprem", "fprem1") else 1)
    hi = 7 if f.mnemonic == "fxtract" else 8
    if f.mnemonic in ("fincstp", "fdecstp", "fnop", "ffree", "ffreep"):
        need = 0
    # QEMU 5.0's FXTRACT takes NaNs, zeros and infinities for numbers
    # and leaves denormals unnormalised
    regs = (lambda r: random_finite(r, denormals=0)) if f.mnemonic == "fxtract" else None
    return make_case("x87_misc", bits, [b], (need, hi), std_mask(), regs=regs)


def gen_control(rng, bits):
    """FLDCW/FNSTCW round trips, FNCLEX, FNINIT, FNSTSW to memory."""
    names = ("fldcw", "fnstcw", "fnclex", "fninit", "fnstsw")
    f = _pick(rng, names)
    if f.operand_text.startswith("M"):
        b = encode_mem(rng, f, bits)
    else:
        b = encode_reg(f)

    def cw_value(rng_, text):
        return 0x40 | 0x3F | (rng_.choice((0, 2, 3)) << 8) | (rng_.randrange(4) << 10)
    fm = std_mask(c1=f.mnemonic == "fnclex", undef=f.mnemonic == "fnclex")

    def gmask(st, info):
        m = Mask()
        if f.mnemonic == "fnstsw" and b.mem is not None:
            m.add_mem(info["ea0"], 2, "the stored status word: its exception bits as masked",
                      bits=SW_EXCEPTIONS)
        return m
    return make_case("x87_control", bits, [b], (0, 8), fm, masks=gmask, values=cw_value)


def _transcend_mask(results, rel_tol, why):
    def masks(st, info):
        m = std_mask()(st, info)
        f = st.fpu
        for i in results:
            m.tolerate((f.top + i) & 7, rel_tol, why)
        return m
    return masks


def transcend_value(rng):
    """Finite, moderate operands: QEMU goes through host doubles, so beyond the
    double range, and for infinities (#IA by the SDM, "out of range" in QEMU),
    it differs from the SDM; test_x87_qemu.py and tests/fpu cover those."""
    sign = rng.getrandbits(1) << 15
    if rng.random() < 0.05:
        return sign, 0
    return sign | (0x3FFF + rng.randrange(-20, 8)), random_sig(rng)


def f2xm1_value(rng):
    """-1 <= x <= 1, |x| >= 1/16 (outside, F2XM1 is undefined or QEMU 5.0's
    pow(2, x) - 1 loses too much to cancellation)."""
    return (rng.getrandbits(1) << 15) | (0x3FFF - rng.randrange(1, 5)), random_sig(rng)


def positive_value(rng):
    """FYL2X's x > 0 (a negative x is #IA; QEMU 5.0 takes the log anyway),
    outside [1/2, 2): near 1, rounding x to double first (as QEMU 5.0 does)
    costs the result about 2^-53 / |ln x| of relative accuracy, while pyemu
    takes log1p of the exact x - 1 there."""
    offset = rng.choice([k for k in range(-30, 31) if k not in (0, -1)])
    return 0x3FFF + offset, random_sig(rng)


DOUBLE_TOL = Fraction(1, 2 ** 50)
DOUBLE_WHY = "both evaluate in double precision: a few double ulps apart at most"


def gen_transcend(rng, bits):
    names = ("fsin", "fcos", "fptan", "fsincos", "fpatan", "fyl2x", "f2xm1")
    f = _pick(rng, names)
    b = encode_reg(f)
    n = f.mnemonic
    need = 2 if n in ("fpatan", "fyl2x") else 1
    hi = 7 if n in ("fptan", "fsincos") else 8
    # results, as ST(i) before the instruction (pushes land at -1)
    res = {"fptan": (-1, 0), "fsincos": (-1, 0), "fpatan": (1,), "fyl2x": (1,)}.get(n, (0,))
    tol, why, regs = DOUBLE_TOL, DOUBLE_WHY, None
    if n == "f2xm1":
        tol = Fraction(1, 2 ** 44)
        why = "QEMU 5.0 computes pow(2, x) - 1 in double: for |x| >= 1/16 within 2^-44"
        regs = f2xm1_value
    elif n == "fyl2x":
        regs = positive_value
    return make_case("x87_transcend", bits, [b], (need, hi), _transcend_mask(res, tol, why),
                     cw_choice=_cw_near, regs=regs)


def _cw_near(rng):
    # double-based evaluation rounds once in the current mode on both; keep to nearest
    return 0x37F | (rng.choice((0, 2, 3)) << 8)


X87_FAMILIES = {
    "x87_arith": (gen_arith, 6, register_value),
    "x87_load": (gen_load, 3, register_value),
    "x87_store": (gen_store, 4, moderate_value),
    "x87_compare": (gen_compare, 4, register_value),
    "x87_fcmov": (gen_fcmov, 1, register_value),
    "x87_misc": (gen_misc, 4, moderate_value),
    "x87_control": (gen_control, 1, register_value),
    "x87_transcend": (gen_transcend, 2, transcend_value),
}


# --- chains: several instructions in one block --------------------------------------------

_encode_mem = encode_mem

def chain_value(rng):
    """Register values every instruction of a chain takes the same way on both
    machines (see the single-instruction families for the exclusions)."""
    if rng.random() < 0.3:
        return moderate_value(rng)
    return random80(rng, snan=False, pseudo=False)


def _chain_step(rng, bits, depth, avoid):
    """One random instruction that is valid at this stack depth: (Built list,
    new depth, notes).  Memory operands use no register of `avoid`."""
    def encode_mem(rng_, f, bits_):
        return _encode_mem(rng_, f, bits_, avoid=avoid)
    while True:
        kind = rng.choice(("arith", "arith", "load", "store", "reg", "unary", "compare", "fcomi", "fcmov"))
        if kind == "arith":
            f = _pick(rng, ARITH)
            if f.operand_text.startswith("M"):
                if depth < 1:
                    continue
                return [encode_mem(rng, f, bits)], depth, ""
            i = rng.randrange(depth) if depth else 0
            pops = f.mnemonic.endswith("p")
            if depth < max(1, i + 1) or (pops and depth < 2):
                continue
            return [encode_reg(f, i)], depth - pops, ""
        if kind == "load":
            if depth >= 7:
                continue
            f = _pick(rng, ("fld", "fild"))
            if f.operand_text.startswith("M"):
                return [encode_mem(rng, f, bits)], depth + 1, ""
            if depth < 1:
                continue
            return [encode_reg(f, rng.randrange(depth))], depth + 1, ""
        if kind == "store":
            if depth < 1:
                continue
            f = _pick(rng, ("fst", "fstp", "fist", "fistp"))
            pops = f.mnemonic.endswith("p")
            if f.operand_text.startswith("M"):
                return [encode_mem(rng, f, bits)], depth - pops, ""
            return [encode_reg(f, rng.randrange(depth))], depth - pops, ""
        if kind == "reg":
            if depth < 1:
                continue
            return [encode_reg(x87_forms("fxch")[0], rng.randrange(depth))], depth, ""
        if kind == "unary":
            if depth < 1:
                continue
            f = _pick(rng, ("fchs", "fabs", "fsqrt", "frndint"))
            return [encode_reg(f)], depth, ""
        if kind == "compare":
            f = _pick(rng, ("fcom", "fcomp", "fucom", "fucomp", "fcompp", "fucompp"))
            n = 2 if f.mnemonic.endswith("pp") else (1 if f.mnemonic.endswith("p") else 0)
            if f.operand_text.startswith("M"):
                if depth < 1:
                    continue
                b = encode_mem(rng, f, bits)
            elif f.operand_text == "STi":
                i = rng.randrange(depth) if depth else 0
                if depth < max(1, i + 1, n):
                    continue
                b = encode_reg(f, i)
            else:
                if depth < 2:
                    continue
                b = encode_reg(f)
            return [b, encode_reg(x87_forms("fnstsw", False)[0])], depth - n, "fnstsw"
        if kind == "fcomi":
            if depth < 1:
                continue
            f = _pick(rng, ("fcomi", "fcomip", "fucomi", "fucomip"))
            i = rng.randrange(depth)
            pops = f.mnemonic.endswith("p")
            if pops and depth < 2:
                continue
            return [encode_reg(f, i)], depth - pops, "fcomi"
        if kind == "fcmov":
            if depth < 1:
                continue
            names = ("fcmovb", "fcmove", "fcmovbe", "fcmovu", "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu")
            return [encode_reg(_pick(rng, names), rng.randrange(depth))], depth, ""


def gen_chain(rng, bits):
    """2 to 5 instructions: the stack, the flags (FCOMI then FCMOV) and the
    block's register cache (FNSTSW AX) carried from one to the next.  Each
    memory operand gets registers of its own (the harness points each one into
    the data region), none of them EAX (FNSTSW AX changes it)."""
    depth0 = rng.randint(1, 6)
    depth = depth0
    insns = []
    notes = set()
    avoid = {0}
    for _ in range(rng.randint(2, 5)):
        more, depth, note = _chain_step(rng, bits, depth, tuple(sorted(avoid)))
        insns += more
        notes.add(note)
        for b in more:
            if b.mem is not None:
                avoid.update(b.mem.regs())
    if sum(b.length for b in insns) > 60:
        insns = insns[:4]

    def gmask(st, info):
        m = Mask()
        if "fcomi" in notes:
            m.add_flags(flag_bits(("OF", "SF", "AF")), "QEMU keeps OF SF AF after FCOMI (tests/fpu checks the clear)")
        if "fnstsw" in notes:
            m.add_reg(0, SW_EXCEPTIONS | SW_C1 | UNDEF_C023,
                      "AX = a status word: exception bits and C1 as masked, C0 C2 C3 of a later instruction")
        return m
    # no constants or FBSTP in chains: round-to-nearest is not needed, any RC goes
    return make_case("x87_chain", bits, insns, (depth0, depth0), std_mask(), masks=gmask,
                     values=_quiet_mem_value, regs=chain_value)


X87_FAMILIES["x87_chain"] = (gen_chain, 5, chain_value)
