"""Case generators, one per instruction family.

Each generator is `gen(rng, bits) -> Case`: it picks table rows of the
family, encodes them with random operand forms (emu/frontend/opcodes.py is
the source of the rows and of the flags the SDM leaves undefined), and says
how a random state must be bent for the fragment (prepare) and what the SDM
leaves undefined for a given state (masks).

Masks: only what the SDM leaves undefined may be ignored.
  * Flags: the row's `undef:` / `undef>1:` attributes, which transcribe the
    "Flags Affected" section of each instruction in Intel SDM Vol. 2
    (`form_mask`).  Count-dependent ones (undef>1) apply when the count,
    masked to 5 bits, is above 1.
  * Results, where the SDM says the destination itself is undefined: BSF/BSR
    with a zero source, SHLD/SHRD with a count above the operand size, BSWAP
    of a 16-bit register.  Each mask says why, next to the code that adds it.
"""
from emu.cpu import hflags as H
from emu.frontend import tables as T
from emu.frontend.opcodes import CONDITIONS

from .harness import LAYOUTS, Case, Mask, flag_bits, random_value, sub_flags
from .x86enc import (EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP, Mem, encode, forms, kinds, moffs_mem,
                     operand_bytes, random_mem)

ALL6 = flag_bits(("CF", "PF", "AF", "ZF", "SF", "OF"))

# Flags each condition code reads (SDM Vol. 1 Appendix B, Table B-1)
CC_FLAGS = {0: {"OF"}, 1: {"CF"}, 2: {"ZF"}, 3: {"CF", "ZF"}, 4: {"SF"}, 5: {"PF"},
            6: {"SF", "OF"}, 7: {"ZF", "SF", "OF"}}


def cc_reads(cc):
    return CC_FLAGS[cc >> 1]


def _uses_v(form):
    return any(s in (T.SZ_V, T.SZ_Z) for _, s, _ in form.operands)


def _default(bits):
    return 4 if bits == 32 else 2


def rand_opsize(rng, bits, form=None):
    if form is not None and not _uses_v(form):
        return _default(bits)
    return _default(bits) if rng.random() < 0.6 else 6 - _default(bits)


def rand_imm(rng, size):
    r = rng.random()
    bits = 8 * size
    if r < 0.3:
        v = rng.choice((0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                        0xFFFFFFFF, -1, -2, 0x10, 0x0F, 0x55, 0xAA))
    else:
        v = rng.getrandbits(bits)
    return v & ((1 << bits) - 1)


def rand_asize(rng, bits, p_other=0.15):
    return _default(bits) if rng.random() >= p_other else 6 - _default(bits)


def build(rng, bits, form, opsize=None, mem=None, avoid=(), mem_avoid=(), asize=None, reg=None, rm=None,
          zreg=None, cc=None, imm=None, imm2=None, rel=None, rep=None, lock=None, seg=None, disp_kind=None,
          premade_mem=None):
    """Encode `form` with random choices for whatever is not given.
    mem: True/False forces a memory/register r/m; None picks at random.
    avoid: registers the register operands must not be; mem_avoid: registers
    the memory operand must not use (the harness sets them itself)."""
    lay = LAYOUTS[bits]
    ks = kinds(form)
    opsize = opsize or rand_opsize(rng, bits, form)
    memop = premade_mem
    if memop is None and (T.K_M in ks or (T.K_E in ks and (mem if mem is not None else rng.random() < 0.5))):
        # [esp+d8] only where ESP is whole in the stack (16-bit code keeps
        # random upper bits above SP)
        no = tuple(mem_avoid) + ((ESP,) if rng.random() < 0.7 or bits == 16 else ())
        memop = random_mem(rng, asize or rand_asize(rng, bits), avoid=no, disp_kind=disp_kind)
        if memop.base == ESP and memop.index < 0 and memop.addrsize == 4:
            memop.disp = rng.randrange(-100, 100)       # [esp+d8] stays on the stack
        if not memop.regs():                            # an absolute address: in the data
            memop.disp = rng.randrange(lay.data + 0x100, lay.data_end - 0x100)
    if T.K_O in ks:
        a = asize or rand_asize(rng, bits)
        memop = moffs_mem(a, rng.randrange(lay.data + 0x100, lay.data_end - 0x100))
    regs_ok = [r for r in range(8) if r not in avoid] or list(range(8))
    if T.K_G in ks and reg is None:
        reg = rng.choice(regs_ok)
    if (T.K_E in ks or T.K_R in ks) and memop is None and rm is None:
        rm = rng.choice(regs_ok)
    if T.K_Z in ks and zreg is None:
        zreg = rng.choice(regs_ok)
    if cc is None and "+cc" in form.opcode:
        cc = rng.randrange(16)
    isizes = [s for k, s, _ in form.operands if k == T.K_I]
    if isizes and imm is None:
        imm = rand_imm(rng, operand_bytes(isizes[0], opsize))
    if len(isizes) > 1 and imm2 is None:
        imm2 = rand_imm(rng, 1)
    if lock is None:
        lock = (form.has(T.A_LOCK) and memop is not None and ks[0] in (T.K_E, T.K_M)
                and rng.random() < 0.2)
    if seg is None and memop is not None and rng.random() < 0.1:
        seg = rng.randrange(6)
    return encode(form, bits, opsize=opsize, addrsize=memop.addrsize if memop else None, reg=reg, rm=rm,
                  mem=memop, zreg=zreg, cc=cc, imm=imm, imm2=imm2, rel=rel, rep=rep, seg=seg, lock=lock)


# ---------------------------------------------------------------------------
# operands: sizes, values of the initial state

def op_size(b, n):
    """Size in bytes of operand n of a built instruction."""
    k, s, _ = b.form.operands[n]
    return operand_bytes(s, b.opsize)


def reg_get(regs, r, size):
    if size == 4:
        return regs[r]
    if size == 2:
        return regs[r] & 0xFFFF
    return (regs[r] >> 8 & 0xFF) if r >= 4 else regs[r] & 0xFF


def operand_value(b, n, st, info, lay):
    """The value of operand n in the initial state (register, memory or immediate)."""
    k, _, extra = b.form.operands[n]
    size = op_size(b, n)
    if k in (T.K_E, T.K_M, T.K_O) and b.mem is not None:
        return st.mem_read(lay, info["ea%d" % b.offset], size)
    if k in (T.K_E, T.K_R):
        return reg_get(st.regs, b.rm, size)
    if k == T.K_G:
        return reg_get(st.regs, b.reg, size)
    if k == T.K_Z:
        return reg_get(st.regs, b.zreg, size)
    if k == T.K_REG:
        return reg_get(st.regs, extra, size)
    if k == T.K_I:
        return b.imm if n == [kk for kk, _, _ in b.form.operands].index(T.K_I) else b.imm2
    if k == T.K_ONE:
        return 1
    raise ValueError(k)


def shift_count(b, st):
    """The masked count of a shift/rotate/double shift (its last operand)."""
    n = len(b.form.operands) - 1
    k = b.form.operands[n][0]
    if k == T.K_ONE:
        return 1
    if k == T.K_I:
        return b.imm & 0x1F         # the first (only) immediate
    return st.regs[ECX] & 0x1F


def is_shift(b):
    return b.mnemonic in ("rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar", "shld", "shrd")


def form_mask(mask, b, st):
    """The flags the table row says are undefined (SDM Vol. 2 "Flags Affected")."""
    f = b.form
    if f.undefined:
        mask.add_flags(flag_bits(f.undefined), "undefined after %s (SDM Vol. 2, row %s)" % (f.mnemonic, f.opcode))
    if f.undefined_count:
        count = shift_count(b, st)
        if count > 1:
            mask.add_flags(flag_bits(f.undefined_count),
                           "undefined after a %d-bit %s (SDM: defined for 1-bit shifts only)" % (count, f.mnemonic))


# ---------------------------------------------------------------------------
# prepare: put memory operands into the compared memory

def mem_target(rng, lay, size, where="data", spread=0x100):
    if where == "stack":
        lo, hi = lay.stack + 0x40, lay.stack_end - 0x40 - size
    else:
        lo, hi = lay.data + spread, lay.data_end - spread - size
    t = rng.randrange(lo, hi)
    if rng.random() < 0.7:
        t &= ~(min(size, 4) - 1)
    return t


def needs_access(b):
    return b.mnemonic not in ("lea", "nop")


def place_memory(rng, st, lay, insns, fixed=(ESP,), info=None, size_of=None):
    """Point every memory operand of `insns` into the data region (or the stack,
    for [esp+d8]); info["ea<offset>"] = the offset reached."""
    info = {} if info is None else info
    for b in insns:
        if b.mem is None or not needs_access(b):
            continue
        if T.K_O in kinds(b.form):
            info["ea%d" % b.offset] = b.mem.disp
            continue
        size = size_of(b) if size_of else 8
        free = [r for r in b.mem.regs() if r not in fixed]
        if not free:
            ea = b.mem.effective(st.regs)
        else:
            ea = b.mem.solve(rng, st.regs, mem_target(rng, lay, size), fixed)
        info["ea%d" % b.offset] = ea
    return info


def mem_regs(insns):
    out = set()
    for b in insns:
        if b.mem is not None:
            out.update(b.mem.regs())
    return out


def single(family, bits, b, prepare_more=None, mask_more=None, fixed=(ESP,), extra_flags=0, max_steps=0,
           after=None, spread=0x100):
    """A one-instruction case with the standard prepare and masks.
    prepare_more(rng, st, info) runs before the memory operand is placed (it
    may fix registers: info["_fixed"]); after(rng, st, info) runs after."""
    lay = LAYOUTS[bits]

    def prepare(rng, st):
        info = {}
        if prepare_more:
            prepare_more(rng, st, info)
        fx = tuple(fixed) + tuple(info.pop("_fixed", ()))
        if b.mem is not None and needs_access(b):
            if T.K_O in kinds(b.form) or not [r for r in b.mem.regs() if r not in fx]:
                ea = b.mem.effective(st.regs)
            else:
                ea = b.mem.solve(rng, st.regs, mem_target(rng, lay, 8, spread=spread), fx)
            info["ea0"] = ea
        if after:
            after(rng, st, info)
        return info

    def masks(st, info):
        m = Mask()
        form_mask(m, b, st)
        if mask_more:
            mask_more(m, st, info)
        return m
    return Case(family, bits, [b], prepare, masks, extra_flags=extra_flags, max_steps=max_steps)


def pick(rng, mnemonics, pred=None):
    fs = [f for m in mnemonics for f in forms(m)]
    if pred:
        fs = [f for f in fs if pred(f)]
    return rng.choice(fs)


# ---------------------------------------------------------------------------
# families

def gen_mov(rng, bits):
    f = pick(rng, ["mov"])          # segment, control, debug registers: mov_sreg, mov_cr, mov_dr
    return single("mov", bits, build(rng, bits, f))


def gen_movx(rng, bits):
    f = pick(rng, ["movzx", "movsx"])
    return single("movx", bits, build(rng, bits, f))


def gen_lea(rng, bits):
    f = forms("lea")[0]
    b = build(rng, bits, f, asize=rand_asize(rng, bits, 0.3), disp_kind=rng.choice(("0", "8", None)))
    return single("lea", bits, b)


def gen_xchg(rng, bits):
    f = pick(rng, ["xchg"])
    return single("xchg", bits, build(rng, bits, f))


ALU = ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test")


def gen_alu(rng, bits):
    f = pick(rng, ALU)
    return single("alu", bits, build(rng, bits, f))


def unicorn_equivalent(case):
    """Where Unicorn (QEMU 5.0) deviates from the SDM, give it an equivalent
    encoding of the same length to run as the reference instead:

    * LOCK NEG: QEMU computes the flags from the old value instead of the
      result (its locked path leaves the cmpxchg's old value in T0 before
      gen_op_update_neg_cc).  LOCK changes nothing else for one CPU, so the
      reference runs with a DS override in the LOCK prefix's place (every
      segment base is 0 here).
    * F6 /1 and F7 /1: TEST Eb,Ib / Ev,Iz under ModRM.reg 1, an alias of /0
      on Intel and AMD processors (the table lists it), is #UD in QEMU.  The
      reference runs the /0 encoding.
    """
    out = []
    changed = False
    for b in case.insns:
        code = b.code
        if b.mnemonic == "neg" and 0xF0 in b.prefixes:
            code = code.replace(b"\xf0", b"\x3e", 1)
        if b.form.opcode in ("F6 /1", "F7 /1"):
            k = len(b.prefixes) + 1
            code = code[:k] + bytes([code[k] & ~0x38]) + code[k + 1:]
        changed |= code != b.code
        out.append(code)
    if changed:
        case.uc_code = b"".join(out)
    return case


def gen_incdec(rng, bits):
    f = pick(rng, ("inc", "dec", "neg", "not"))
    return single("incdec", bits, build(rng, bits, f))


SHIFTS = ("rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar")


def _count_imm(rng):
    return rng.choice((0, 1, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63)) if rng.random() < 0.6 else rng.randrange(256)


def _cl_prepare(rng, st, info):
    if rng.random() < 0.7:
        st.regs[ECX] = (st.regs[ECX] & ~0xFF) | rng.randrange(64)
    info["_fixed"] = (ECX,)


def gen_shift(rng, bits):
    f = pick(rng, SHIFTS)
    b = build(rng, bits, f, imm=_count_imm(rng), mem_avoid=(ECX,))
    return single("shift", bits, b, prepare_more=_cl_prepare)


def gen_shxd(rng, bits):
    f = pick(rng, ("shld", "shrd"))
    b = build(rng, bits, f, imm=_count_imm(rng), mem_avoid=(ECX,))

    def more(m, st, info):
        count = shift_count(b, st)
        if b.opsize == 2 and count > 16:
            # SDM Vol. 2B SHLD/SHRD: "If the count is greater than the operand
            # size, the result is undefined" and "the flags are undefined".
            m.add_flags(ALL6, "SHLD/SHRD count %d > 16: flags undefined (SDM)" % count)
            if b.mem is not None:
                m.add_mem(info["ea0"], 2, "SHLD/SHRD count > 16: result undefined (SDM)")
            else:
                m.add_reg(b.rm, 0xFFFF, "SHLD/SHRD count > 16: result undefined (SDM)")
    return single("shxd", bits, b, prepare_more=_cl_prepare, mask_more=more)


def gen_mul(rng, bits):
    f = pick(rng, ("mul", "imul"))
    return single("mul", bits, build(rng, bits, f))


def _div_after(b, bits):
    lay = LAYOUTS[bits]

    def after(rng, st, info):
        # Bias the operands towards quotients that fit, and towards the edges.
        size = op_size(b, 0)
        nbits = 8 * size
        mask = (1 << nbits) - 1
        r = rng.random()
        divisor = operand_value(b, 0, st, info, lay)
        if r < 0.1:
            divisor = 0
        elif r < 0.2:
            divisor = mask              # -1
        elif r < 0.5:
            divisor = rng.randrange(1, 1 << rng.randrange(1, nbits + 1)) & mask or 1
        if b.mem is not None:
            st.mem_write(lay, info["ea0"], size, divisor)
        elif size == 1 and b.rm >= 4:
            st.regs[b.rm - 4] = st.regs[b.rm - 4] & ~0xFF00 | divisor << 8
        else:
            st.regs[b.rm] = st.regs[b.rm] & ~mask | divisor
        # the dividend's high half: below the divisor (DIV fits), the sign of
        # the low half (IDIV fits), the most negative value, or random (#DE)
        r = rng.random()
        if r < 0.3:
            hi = rng.randrange(divisor or 1) if b.mnemonic == "div" else 0
        elif r < 0.6:
            lo = reg_get(st.regs, EAX, size)
            hi = mask if lo >> (nbits - 1) else 0
            if rng.random() < 0.3:
                hi = 1 << (nbits - 1)
                st.regs[EAX] = st.regs[EAX] & ~mask & 0xFFFFFFFF
        else:
            hi = rng.getrandbits(nbits)
        if size == 1:
            st.regs[EAX] = st.regs[EAX] & ~0xFF00 | hi << 8
        else:
            st.regs[EDX] = st.regs[EDX] & ~mask | hi
    return after


def gen_div(rng, bits):
    f = pick(rng, ("div", "idiv"))
    b = build(rng, bits, f, mem_avoid=(EAX, EDX))
    case = single("div", bits, b, after=_div_after(b, bits))
    if f.mnemonic == "idiv" and op_size(b, 0) > 1:
        lay = LAYOUTS[bits]
        size = op_size(b, 0)

        def host_trap(st, info):
            # QEMU 5.0's helper_idivw/idivl divide INT_MIN by -1 in C, which
            # kills the whole process (SIGFPE) instead of raising #DE.  The
            # SDM's answer is #DE (the quotient does not fit): expect that.
            m = (1 << 8 * size) - 1
            if operand_value(b, 0, st, info, lay) == m and reg_get(st.regs, EAX, size) == 0 \
                    and reg_get(st.regs, EDX, size) == 1 << (8 * size - 1):
                return 0
            return None
        case.uc_fault = host_trap
    return case


def gen_bcd(rng, bits):
    f = pick(rng, ("daa", "das", "aaa", "aas", "aam", "aad"))
    imm = None
    if f.mnemonic in ("aam", "aad"):
        imm = rng.choice((10, 10, 10, 0, 1, 16, 0xFF, 7)) if rng.random() < 0.7 else rng.randrange(256)
    b = build(rng, bits, f, imm=imm)

    def prep(rng2, st, info):
        if rng2.random() < 0.5:         # packed/unpacked BCD-looking AL and AH
            al = rng2.randrange(10) << 4 | rng2.randrange(16)
            st.regs[EAX] = st.regs[EAX] & ~0xFFFF | rng2.randrange(10) << 8 | al
    return single("bcd", bits, b, prepare_more=prep)


def gen_bittest(rng, bits):
    f = pick(rng, ("bt", "bts", "btr", "btc"))
    imm = rng.randrange(256) if rng.random() < 0.5 else rng.randrange(64)
    while True:
        b = build(rng, bits, f, imm=imm)
        if b.mem is None or b.reg is None or b.reg not in b.mem.regs():
            break
    reg_offset = kinds(f)[1] == T.K_G
    lay = LAYOUTS[bits]

    def after(rng2, st, info):
        if reg_offset and b.mem is not None:
            # A register bit offset reaches outside the operand (SDM Vol. 2A
            # BT: a signed offset, in words/dwords from the operand): keep
            # the bit it names inside the data region.
            ea = info["ea0"]
            start, end = (lay.data, lay.data_end) if ea < lay.stack else (lay.stack, lay.stack_end)
            lo = max((start - ea) * 8, -0x8000 if b.opsize == 2 else -(1 << 31))
            hi = min((end - 8 - ea) * 8, 0x7FFF if b.opsize == 2 else (1 << 31) - 1)
            off = rng2.randrange(lo, hi)
            r = b.reg
            if b.opsize == 2:
                st.regs[r] = st.regs[r] & 0xFFFF0000 | off & 0xFFFF
            else:
                st.regs[r] = off & 0xFFFFFFFF
    return single("bittest", bits, b, after=after, spread=0x800)


def gen_bitscan(rng, bits):
    f = pick(rng, ("bsf", "bsr"))
    b = build(rng, bits, f)
    lay = LAYOUTS[bits]

    def after(rng2, st, info):
        if rng2.random() < 0.2:         # a zero source
            if b.mem is not None:
                st.mem_write(lay, info["ea0"], b.opsize, 0)
            elif b.rm != b.reg:
                st.regs[b.rm] &= ~((1 << (8 * b.opsize)) - 1) & 0xFFFFFFFF

    def more(m, st, info):
        if operand_value(b, 1, st, info, lay) == 0:
            # SDM Vol. 2A BSF/BSR: "If the content of the source operand is 0,
            # the content of the destination operand is undefined."
            m.add_reg(b.reg, (1 << (8 * b.opsize)) - 1, "%s with a zero source: destination undefined (SDM)"
                      % b.mnemonic.upper())
    return single("bitscan", bits, b, after=after, mask_more=more)


def gen_setcc(rng, bits):
    return single("setcc", bits, build(rng, bits, forms("setcc")[0]))


def gen_cmovcc(rng, bits):
    return single("cmovcc", bits, build(rng, bits, forms("cmovcc")[0]))


def gen_xchgops(rng, bits):
    f = pick(rng, ("xadd", "cmpxchg", "cmpxchg8b", "bswap"))
    lay = LAYOUTS[bits]
    b = build(rng, bits, f, mem_avoid=(EAX, EDX))

    def after(rng2, st, info):
        if rng2.random() < 0.5:         # make the comparison succeed
            if f.mnemonic == "cmpxchg8b":
                v = st.mem_read(lay, info["ea0"], 8)
                st.regs[EAX], st.regs[EDX] = v & 0xFFFFFFFF, v >> 32
            elif f.mnemonic == "cmpxchg":
                size = op_size(b, 0)
                v = operand_value(b, 0, st, info, lay)
                st.regs[EAX] = st.regs[EAX] & ~((1 << 8 * size) - 1) & 0xFFFFFFFF | v

    def more(m, st, info):
        if f.mnemonic == "bswap" and b.opsize == 2:
            # SDM Vol. 2A BSWAP: "When the BSWAP instruction references a
            # 16-bit register, the result is undefined."
            m.add_reg(b.zreg, 0xFFFF, "BSWAP of a 16-bit register: result undefined (SDM)")
    return single("xchgops", bits, b, after=after, mask_more=more)


def gen_flagops(rng, bits):
    f = pick(rng, ("lahf", "sahf", "clc", "stc", "cmc", "cld", "std", "salc"))
    return single("flagops", bits, build(rng, bits, f))


def gen_convert(rng, bits):
    f = pick(rng, ("cbw", "cwd"))
    return single("convert", bits, build(rng, bits, f, opsize=rand_opsize(rng, bits)))


def gen_xlat(rng, bits):
    f = forms("xlat")[0]
    asize = rand_asize(rng, bits, 0.3)
    seg = rng.randrange(6) if rng.random() < 0.2 else None
    b = encode(f, bits, addrsize=asize, seg=seg)
    lay = LAYOUTS[bits]

    def prep(rng2, st, info):
        base = rng2.randrange(lay.data, lay.data_end - 0x100)
        if asize == 2:
            st.regs[EBX] = st.regs[EBX] & 0xFFFF0000 | base
        else:
            st.regs[EBX] = base
    return single("xlat", bits, b, prepare_more=prep)


# --- stack -------------------------------------------------------------------

def _sp_set(st, bits, value):
    if bits == 16:
        st.regs[ESP] = st.regs[ESP] & 0xFFFF0000 | value & 0xFFFF
    else:
        st.regs[ESP] = value


def gen_stack(rng, bits):
    lay = LAYOUTS[bits]
    f = pick(rng, ("push", "pop"), lambda f: T.K_SEG not in kinds(f))     # segments: gen_segments
    b = build(rng, bits, f)
    return single("stack", bits, b)


def gen_stackframe(rng, bits):
    lay = LAYOUTS[bits]
    f = pick(rng, ("pusha", "popa", "enter", "leave", "pushf", "popf"))
    opsize = rand_opsize(rng, bits)
    imm = imm2 = None
    if f.mnemonic == "enter":
        imm = rng.choice((0, 4, 8, 0x10, 0x100, rng.randrange(0x200)))
        imm2 = rng.choice((0, 1, 2, 3)) if rng.random() < 0.9 else rng.choice((4, 32, 33))
    b = encode(f, bits, opsize=opsize, imm=imm, imm2=imm2)
    extra = 0

    def prep(rng2, st, info):
        if f.mnemonic in ("enter", "leave"):
            bp = rng2.randrange(lay.stack + 0x200, lay.stack_end - 0x200)
            if bits == 16:              # a 16-bit stack uses BP only
                st.regs[EBP] = st.regs[EBP] & 0xFFFF0000 | bp
            else:
                st.regs[EBP] = bp
        if f.mnemonic == "popf":
            # the popped image: any flags except TF (a trap would follow)
            v = rng2.getrandbits(32) & ~(H.TF | H.VM | H.RF) & 0xFFFFFFFF
            sp = st.regs[ESP] & (0xFFFF if bits == 16 else 0xFFFFFFFF)
            st.mem_write(lay, sp, opsize, v)
    extra = (H.IF | H.NT | H.IOPL_MASK | H.AC | H.ID | H.TF) if f.mnemonic == "popf" else 0
    c = single("stackframe", bits, b, prepare_more=prep, extra_flags=extra)
    if f.mnemonic == "enter" and opsize == 4 and bits == 16:
        def fix(out, st):
            # A 32-bit ENTER on a 16-bit stack: FrameTemp is the whole ESP
            # after the push of EBP (SDM Vol. 2A ENTER: "FrameTemp <- ESP",
            # "EBP <- FrameTemp"; Bochs does the same), so EBP gets ESP's
            # upper half.  QEMU 5.0 writes FrameTemp at the stack size,
            # keeping EBP's upper half.
            if out.exception is None:
                out.regs[EBP] = st.regs[ESP] & 0xFFFF0000 | out.regs[EBP] & 0xFFFF
        c.uc_fix = fix
    return c


def _selector(rng, bits):
    if bits == 16:
        return rng.getrandbits(16)      # real mode: any value (base = selector * 16)
    # flat GDT (harness.GDT): null, code 0x08, data 0x10; RPL > CPL, past
    # the limit, the code segment into SS...
    return rng.choice((0, 0x08, 0x10, 0x10, 0x10, 0x0B, 0x11, 0x13, 0x18, 0x20, 0x04, rng.getrandbits(16)))


def gen_segments(rng, bits):
    """PUSH/POP of segment registers, MOV Sreg,Ew and MOV Ev,Sreg."""
    lay = LAYOUTS[bits]
    f = pick(rng, ("push", "pop", "mov_sreg"), lambda f: T.K_SEG in kinds(f) or T.K_S in kinds(f))
    ks = kinds(f)
    if T.K_S in ks:
        sreg = rng.choice((0, 1, 2, 3, 4, 5) * 4 + (6, 7)) if ks[1] == T.K_S else \
            rng.choice((0, 2, 3, 4, 5) * 4 + (1, 6, 7))
        b = build(rng, bits, f, reg=sreg, opsize=rand_opsize(rng, bits))
    else:
        b = encode(f, bits, opsize=rand_opsize(rng, bits))
    loads = f.mnemonic == "pop" or (f.mnemonic == "mov_sreg" and ks[0] == T.K_S)

    def after(rng2, st, info):
        if not loads:
            return
        sel = _selector(rng2, bits)
        if f.mnemonic == "pop":
            sp = st.regs[ESP] & (0xFFFF if bits == 16 else 0xFFFFFFFF)
            st.mem_write(lay, sp, b.opsize, sel | rng2.getrandbits(16) << 16)
        else:
            _set_operand(b, 1, st, info, lay, sel)
    c = single("segments", bits, b, after=after)
    c.compare_segs = True
    return c


# --- strings -----------------------------------------------------------------

def gen_string(rng, bits):
    lay = LAYOUTS[bits]
    f = pick(rng, ("movs", "cmps", "scas", "lods", "stos"))
    opsize = rand_opsize(rng, bits, f)
    # 16-bit addressing in 32-bit code works too: the data lies below 64 KB
    asize = rand_asize(rng, bits, 0.2)
    rep = None
    r = rng.random()
    if r < 0.6:
        rep = rng.choice((0xF3, 0xF2))
    seg = rng.randrange(6) if rng.random() < 0.15 else None
    b = encode(f, bits, opsize=opsize, addrsize=asize, rep=rep, seg=seg)
    size = op_size(b, 0) if kinds(f)[0] in (T.K_X, T.K_Y) else op_size(b, 1)

    def prep(rng2, st, info):
        amask = 0xFFFF if asize == 2 else 0xFFFFFFFF
        n = rng2.choice((0, 1, 2, 3, 5, 8, 16)) if rep else 1
        if rep:
            c = n if rng2.random() < 0.8 else n | rng2.getrandbits(16) << 16 if asize == 2 else n
            st.regs[ECX] = st.regs[ECX] & ~amask & 0xFFFFFFFF | c & amask
        span = (n + 1) * size
        for r_ in (ESI, EDI):
            p = rng2.randrange(lay.data + span + 8, lay.data_end - span - 8)
            if asize == 2:
                st.regs[r_] = st.regs[r_] & 0xFFFF0000 | p
            else:
                st.regs[r_] = p
        if f.mnemonic in ("cmps", "scas") and rng2.random() < 0.5:
            # equal runs, so REPE/REPNE stop on the data, not only on ECX
            src = st.regs[ESI] & amask
            dst = st.regs[EDI] & amask
            k = rng2.randrange(n + 1) if n else 0
            d = -1 if st.eflags & H.DF else 1
            if f.mnemonic == "cmps":
                for i in range(k * size):
                    st.mem_write(lay, dst + d * i, 1, st.mem_read(lay, src + d * i, 1))
            else:
                v = st.regs[EAX] & ((1 << 8 * size) - 1)
                for i in range(k):
                    st.mem_write(lay, dst + d * i * size, size, v)
    return single("string", bits, b, prepare_more=prep, fixed=(ESP, ESI, EDI, ECX), max_steps=200)


# --- control -----------------------------------------------------------------

def _marker(bits, reg=ESI, value=0x5A5A5A5A):
    """mov reg, imm: an instruction that leaves the flags alone and shows it ran."""
    return encode(forms("mov")[[f.opcode for f in forms("mov")].index("B8+r")], bits, zreg=reg,
                  imm=value)


def _jmp_short(bits, rel):
    return encode([f for f in forms("jmp") if f.opcode == "EB"][0], bits, rel=rel)


def gen_branch(rng, bits):
    """Jcc / JMP / CALL with relative targets, forward or backward."""
    lay = LAYOUTS[bits]
    d = _default(bits)
    f = pick(rng, ("jcc", "jmp", "call"), lambda f: kinds(f)[0] == T.K_J)
    # 32-bit code: a 16-bit operand size would truncate EIP below the code
    opsize = d if bits == 32 else rand_opsize(rng, bits)
    cc = rng.randrange(16) if "+cc" in f.opcode else None
    marker = _marker(bits, ESI, rng.getrandbits(32))
    probe = encode(f, bits, opsize=opsize, cc=cc, rel=0)
    if rng.random() < 0.6:
        # forward: branch over a marker
        skip = rng.choice((0, marker.length)) if f.mnemonic == "jcc" else marker.length
        b = encode(f, bits, opsize=opsize, cc=cc, rel=skip)
        insns = [b, marker]
    else:
        # backward: jmp B; A: marker; jmp end; B: branch A
        m2 = _marker(bits, EDI, rng.getrandbits(32))
        back = -(marker.length + 2 + probe.length)
        b = encode(f, bits, opsize=opsize, cc=cc, rel=back)
        j_end = _jmp_short(bits, b.length + m2.length)
        j_b = _jmp_short(bits, marker.length + j_end.length)
        insns = [j_b, marker, j_end, b, m2]
    c = Case("branch", bits, insns, None, None)

    def masks(st, info):
        return Mask()
    c.masks = masks
    c.prepare = lambda rng2, st: {}
    return c


def gen_indirect(rng, bits):
    """JMP/CALL through a register or memory, RET and RET imm16."""
    lay = LAYOUTS[bits]
    d = _default(bits)
    opsize = d if bits == 32 else rand_opsize(rng, bits)
    f = pick(rng, ("jmp", "call", "ret"), lambda f: f.mnemonic == "ret" or kinds(f)[0] == T.K_E)
    marker = _marker(bits, ESI, rng.getrandbits(32))
    if f.mnemonic == "ret":
        imm = rng.choice((0, 4, 8, 2, 0x100, rng.randrange(0x10000))) if f.operands else None
        b = encode(f, bits, opsize=opsize, imm=imm)
    else:
        b = build(rng, bits, f, opsize=opsize, avoid=(ESP,))
    insns = [b, marker]
    target_off = b.length + rng.choice((0, marker.length))
    ret_imm_fix = None
    if f.mnemonic == "ret" and f.operands and b.imm >= 0x8000 and bits == 32:
        def ret_imm_fix(out, st):
            # QEMU 5.0 reads RET's imm16 sign-extended (x86_ldsw_code); the
            # SDM adds it to ESP as the unsigned byte count it is (RET: "ESP
            # <- ESP + SRC", SRC an imm16).  With a 32-bit stack that is
            # 0x10000 more than QEMU's ESP.
            if out.exception is None:
                out.regs[ESP] = (out.regs[ESP] + 0x10000) & 0xFFFFFFFF

    def prep(rng2, st):
        info = {}
        target = lay.code + target_off
        if f.mnemonic == "ret":
            sp = st.regs[ESP] & (0xFFFF if bits == 16 else 0xFFFFFFFF)
            st.mem_write(lay, sp, opsize, target)
        else:
            place_memory(rng2, st, lay, [b], info=info)
            if b.mem is not None:
                st.mem_write(lay, info["ea0"], opsize, target | (rng2.getrandbits(16) << 16 if opsize == 2 else 0))
            else:
                r = b.rm
                st.regs[r] = (st.regs[r] & 0xFFFF0000 | target) if opsize == 2 else target
        return info
    return Case("indirect", bits, insns, prep, lambda st, info: Mask(), uc_fix=ret_imm_fix)


def gen_loop(rng, bits):
    lay = LAYOUTS[bits]
    f = pick(rng, ("loop", "loope", "loopne", "jcxz"))
    asize = rand_asize(rng, bits, 0.3)
    body = []
    if f.mnemonic != "jcxz" and rng.random() < 0.5:
        # backward: body; loop body  (ECX small)
        lea = encode(forms("lea")[0], bits, reg=EDX, mem=Mem(4, EDX, -1, 0, 1))
        body = [lea]
        if f.mnemonic != "loop" and rng.random() < 0.7:
            cmp_ = encode([x for x in forms("cmp") if x.opcode == "38"][0], bits, rm=EDX, reg=EBX)
            body.append(cmp_)
        blen = sum(x.length for x in body)
        probe = encode(f, bits, addrsize=asize, rel=0)
        b = encode(f, bits, addrsize=asize, rel=-(blen + probe.length))
        insns = body + [b]
        backward = True
    else:
        marker = _marker(bits, ESI, rng.getrandbits(32))
        b = encode(f, bits, addrsize=asize, rel=marker.length)
        insns = [b, marker]
        backward = False

    def prep(rng2, st):
        amask = 0xFFFF if asize == 2 else 0xFFFFFFFF
        if backward:
            c = rng2.randrange(1, 20)
        else:
            c = rng2.choice((0, 1, 2, 0x10000, 0x10001, random_value(rng2)))
        st.regs[ECX] = st.regs[ECX] & ~amask & 0xFFFFFFFF | c & amask
        if backward and len(body) > 1 and rng2.random() < 0.5:
            st.regs[EBX] = st.regs[EBX] & ~0xFF | (st.regs[EDX] + rng2.randrange(1, 25)) & 0xFF
        return {}
    case = Case("loop", bits, insns, prep, lambda st, info: Mask(), max_steps=200)
    if f.mnemonic in ("loope", "loopne"):
        def fix(out, st):
            # QEMU 5.0 bug: when LOOPE/LOOPNE ends because the count reaches
            # 0, the exit path skips the flags computation its translation
            # assumed (gen_jcc1 after gen_op_jz_ecx), so EFLAGS become stale
            # CC_SRC bits, in execution too (a PUSHF after it agrees).  LOOPcc
            # changes no flag (SDM Vol. 2A LOOP/LOOPcc): the reference flags
            # are those before it, the CMP of the body's last pass or the
            # initial ones.
            amask = 0xFFFF if asize == 2 else 0xFFFFFFFF
            if out.exception is None and out.regs[ECX] & amask == 0:
                if len(body) > 1:
                    arith = sub_flags(out.regs[EDX], out.regs[EBX], 1)
                else:
                    arith = st.eflags & H.ARITH_FLAGS
                out.eflags = st.eflags & ~H.ARITH_FLAGS | arith
        case.uc_fix = fix
    return case


def gen_nop(rng, bits):
    f = pick(rng, ("nop", "xchg"), lambda f: f.mnemonic == "nop" or f.opcode == "90")
    if f.opcode == "90":
        rep = 0xF3 if rng.random() < 0.3 else None   # PAUSE
        b = encode(f, bits, opsize=rand_opsize(rng, bits), rep=rep)
    else:
        b = build(rng, bits, f)
    return single("nop", bits, b)


# --- lazy flags across and within blocks -----------------------------------------

SETTERS = ("add", "adc", "sub", "sbb", "cmp", "and", "or", "xor", "test", "inc", "dec", "neg",
           "shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "mul", "imul", "bt", "bts", "bsf", "bsr",
           "daa", "das", "aaa", "aas", "aam", "aad", "sahf", "clc", "stc", "cmc", "shld", "shrd",
           "popf", "xadd", "cmpxchg")
ALL6_NAMES = frozenset(("CF", "PF", "AF", "ZF", "SF", "OF"))
NO_FLAGS = ("mov", "lea", "not", "setcc", "cmovcc", "jcc", "jmp", "push", "pop", "nop", "salc", "lahf",
            "pushf", "xchg", "movzx", "movsx", "loop", "loope", "loopne", "jcxz", "bswap")


def flag_effect(b, st):
    """(flags written, flags left undefined) by one instruction that starts
    in state st (the counts of shifts by CL are read from it)."""
    m = b.mnemonic
    und = set(b.form.undefined)
    if m in NO_FLAGS:
        return set(), set()
    if is_shift(b):
        count = shift_count(b, st)
        if count == 0:
            return set(), set()                 # a zero count changes nothing
        if count > 1:
            und |= set(b.form.undefined_count)
        if m in ("rcl", "rcr") and count % (8 * op_size(b, 0) + 1) == 0:
            return {"OF"}, und & {"OF"}         # nothing rotates; CF stays, OF undefined
        if m in ("shld", "shrd") and op_size(b, 0) == 2 and count > 16:
            und |= ALL6_NAMES
        written = {"CF", "OF"} if m in ("rol", "ror", "rcl", "rcr") else set(ALL6_NAMES)
        return written, und
    if m in ("inc", "dec"):
        return ALL6_NAMES - {"CF"}, und
    if m in ("bt", "bts", "btr", "btc"):
        return {"CF", "OF", "SF", "AF", "PF"}, und
    if m in ("clc", "stc", "cmc"):
        return {"CF"}, und
    if m == "sahf":
        return ALL6_NAMES - {"OF"}, und
    return set(ALL6_NAMES), und


def flag_reads(b):
    """Flags an instruction reads."""
    m = b.mnemonic
    if m in ("jcc", "setcc", "cmovcc"):
        return cc_reads(b.cc)
    if m in ("adc", "sbb", "rcl", "rcr", "salc", "cmc"):
        return {"CF"}
    if m == "lahf":
        return {"SF", "ZF", "AF", "PF", "CF"}
    if m == "pushf":
        return set(ALL6_NAMES)
    if m in ("daa", "das"):
        return {"CF", "AF"}
    if m in ("aaa", "aas"):
        return {"AF"}
    if m in ("loope", "loopne"):
        return {"ZF"}
    return set()


def static_undefined(insns, undefined=frozenset()):
    """Flags possibly undefined after insns, whatever the state: counts may be
    zero (nothing written) or large (everything the row allows undefined)."""
    undefined = set(undefined)
    for b in insns:
        und = set(b.form.undefined) | set(b.form.undefined_count)
        if b.mnemonic in ("shld", "shrd") and op_size(b, 0) == 2:
            und |= ALL6_NAMES
        if is_shift(b):
            written = set()
        elif b.mnemonic in ("bsf", "bsr"):
            written = set(ALL6_NAMES)
        else:
            written = flag_effect(b, None)[0]
        undefined = (undefined - written) | und
    return undefined


# in sequences the register operands leave ECX (counts), ESP (the stack) and
# EBP (the only memory base: nothing else may move a memory operand) alone
SEQ_AVOID = (ECX, ESP, EBP)
SEQ_MEM_AVOID = (EAX, ECX, EDX, EBX, ESP, ESI, EDI)


def _seq_build(rng, bits, f, mem=None, **kw):
    """build() for sequences: a memory operand is [ebp+d8] (or [bp+d8])."""
    kw.setdefault("avoid", SEQ_AVOID)
    ks = kinds(f)
    if f.mnemonic in ("bt", "bts", "btr", "btc") and ks[1] == T.K_G:
        mem = False             # a register bit offset would leave the data region
    if T.K_M in ks or (T.K_E in ks and (mem if mem is not None else rng.random() < 0.5)):
        d = rng.randrange(-128, 128) or 1
        memop = Mem(4, EBP, -1, 0, d) if rand_asize(rng, bits) == 4 else Mem(2, EBP, -1, 0, d, 6)
        return build(rng, bits, f, premade_mem=memop, **kw)
    return build(rng, bits, f, mem=False, **kw)


def _reader(rng, bits, undefined):
    """An instruction that reads flags which are defined now (LAHF and PUSHF
    may copy undefined ones: the mask covers where they land)."""
    ok_cc = [cc for cc in range(16) if not cc_reads(cc) & undefined]
    choices = ["lahf", "pushf", "inc", "dec"]
    if ok_cc:
        choices += ["setcc", "setcc", "cmovcc", "cmovcc"]
    if "CF" not in undefined:
        choices += ["adc", "sbb", "rcl", "rcr", "salc", "cmc"]
    if not {"CF", "AF"} & undefined:
        choices += ["daa", "das"]
    if "AF" not in undefined:
        choices += ["aaa", "aas"]
    m = rng.choice(choices)
    if m in ("setcc", "cmovcc"):
        return _seq_build(rng, bits, forms(m)[0], cc=rng.choice(ok_cc))
    if m in ("rcl", "rcr"):
        f = [x for x in forms(m) if kinds(x)[1] != T.K_REG]
        return _seq_build(rng, bits, rng.choice(f), imm=rng.choice((1, 1, 2, 5, 9, 17, 33)))
    if m in ("adc", "sbb", "inc", "dec"):
        return _seq_build(rng, bits, pick(rng, [m]))
    return encode(forms(m)[0], bits)


def _setter(rng, bits, first):
    while True:
        m = rng.choice(SETTERS)
        f = pick(rng, [m])
        if f.operands and kinds(f)[-1] == T.K_REG and f.operands[-1][2] == ECX and not first:
            continue        # a count in CL: CL must be the initial one
        if m == "popf" and not first:
            continue        # the popped image is placed at the initial ESP
        break
    if m == "popf":
        return encode(f, bits, opsize=_default(bits))
    if m in ("shld", "shrd") and kinds(f)[-1] == T.K_REG:
        f = [x for x in forms(m) if kinds(x)[-1] == T.K_I][0]
    imm = _count_imm(rng) if is_shift_form(f) else None
    imm2 = None
    if m in ("shld", "shrd"):
        imm = rng.randrange(17)     # a 16-bit form must not leave its result undefined
    if m in ("daa", "das", "aaa", "aas", "aam", "aad", "sahf", "clc", "stc", "cmc"):
        return encode(f, bits, imm=rng.choice((10, 10, 16, 7)) if m in ("aam", "aad") else None)
    return _seq_build(rng, bits, f, imm=imm, imm2=imm2)


def is_shift_form(f):
    return f.mnemonic in ("rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar", "shld", "shrd")


def gen_lazyflags(rng, bits):
    """A flag-setting instruction, then one that reads the flags: in the same
    block (the static formulas of lazyflags.py) or across a block end (a
    `jmp $+2`: the reader's block evaluates cc_op at run time); sometimes
    with instructions that leave the flags alone in between, or a Jcc that
    reads them first."""
    insns = []
    for k in range(1 if rng.random() < 0.7 else 2):
        while True:
            s = _setter(rng, bits, first=(k == 0))
            if not flag_reads(s) & static_undefined(insns):
                break
        insns.append(s)
    mode = rng.choice(("same", "split", "filler", "jcc"))
    if mode == "split":
        insns.append(_jmp_short(bits, 0))
    elif mode == "filler":
        insns.append(_marker(bits, rng.choice((ESI, EDI)), rng.getrandbits(32)))
        if rng.random() < 0.5:
            insns.append(_jmp_short(bits, 0))
    undefined = static_undefined(insns)
    if mode == "jcc":
        ok_cc = [cc for cc in range(16) if not cc_reads(cc) & undefined]
        if ok_cc:
            marker = _marker(bits, ESI, rng.getrandbits(32))
            j = encode(pick(rng, ["jcc"], lambda f: f.opcode == "70+cc"), bits, cc=rng.choice(ok_cc),
                       rel=marker.length)
            insns += [j, marker]
    insns.append(_reader(rng, bits, undefined))
    if rng.random() < 0.3:
        insns.append(_reader(rng, bits, static_undefined(insns)))
    return _sequence_case("lazyflags", bits, insns)


def _sequence_case(family, bits, insns):
    lay = LAYOUTS[bits]
    case = Case(family, bits, insns)
    popf = [b for b in insns if b.mnemonic == "popf"]

    def prepare(rng, st):
        info = {}
        if popf:
            # the popped image sets the arithmetic flags and DF only
            v = rng.getrandbits(32) & (H.ARITH_FLAGS | H.DF) | H.FIXED_ONE
            sp = st.regs[ESP] & (0xFFFF if bits == 16 else 0xFFFFFFFF)
            st.mem_write(lay, sp, popf[0].opsize, v)
        placed = False
        for b in insns:
            if b.mem is not None and needs_access(b):
                if not placed and EBP in b.mem.regs():
                    b.mem.solve(rng, st.regs, mem_target(rng, lay, 8, spread=0x200), (ESP,))
                    st.regs[EBP] &= 0xFFFF      # the same place for 16- and 32-bit addressing
                    placed = True
                info["ea%d" % b.offset] = b.mem.effective(st.regs)
        if any(is_shift(b) and kinds(b.form)[-1] == T.K_REG for b in insns) and rng.random() < 0.7:
            st.regs[ECX] = (st.regs[ECX] & ~0xFF) | rng.randrange(64)
        return info

    def masks(st, info):
        m = Mask()
        undefined = set()
        for b in insns:
            copied = flag_reads(b) & undefined
            if copied:
                _mask_copied(m, b, copied, st, lay)
            w, u = flag_effect(b, st)
            undefined = (undefined - w) | u
        if undefined:
            m.add_flags(flag_bits(undefined), "left undefined by the sequence (SDM Vol. 2 via the table rows)")
        return m
    case.prepare, case.masks = prepare, masks
    return case


def _mask_copied(m, b, flags, st, lay):
    bits_ = flag_bits(flags)
    if b.mnemonic == "lahf":
        m.add_reg(EAX, bits_ << 8 & 0xFF00, "LAHF copies flags the SDM left undefined")
    elif b.mnemonic == "pushf":
        # nothing before it in a sequence moves the stack pointer
        smask = 0xFFFF if lay.bits == 16 else 0xFFFFFFFF
        sp = (st.regs[ESP] - b.opsize) & smask
        m.add_mem(sp, b.opsize, "PUSHF stores flags the SDM left undefined", bits=bits_)
    else:
        raise AssertionError("%s reads undefined flags %s" % (b.mnemonic, flags))


def gen_alu_chain(rng, bits):
    """Several ALU operations back to back, then readers: the static formula
    of one kind feeding the next (ADC/SBB read the CF of the previous one,
    INC/DEC keep it)."""
    insns = []
    for _ in range(rng.randrange(2, 5)):
        m = rng.choice(("add", "adc", "sub", "sbb", "cmp", "inc", "dec", "neg", "and", "xor", "test"))
        insns.append(_seq_build(rng, bits, pick(rng, [m]), mem=False if rng.random() < 0.6 else None))
        if rng.random() < 0.2:
            insns.append(_jmp_short(bits, 0))
    insns.append(_reader(rng, bits, static_undefined(insns)))
    return _sequence_case("alu_chain", bits, insns)


COND_SETTERS = ("cmp", "cmp", "sub", "sub", "test", "and", "or", "xor", "add", "adc", "sbb", "inc", "dec",
                "neg", "shl", "shr", "sar", "imul", "bt", "bsf", "sahf", "popf", "cmpxchg", "xadd")


def gen_condition(rng, bits):
    """Every condition code after the flag producers, read in the same block
    (lazyflags.condition's direct comparisons for SUB and LOGIC results, the
    per-flag formulas otherwise) or in the next one (run-time cc_op), with
    operands biased to equal, adjacent and sign-boundary values."""
    m = rng.choice(COND_SETTERS)
    f = pick(rng, [m])
    if f.operands and kinds(f)[-1] == T.K_REG and f.operands[-1][2] == ECX:
        f = [x for x in forms(m) if kinds(x)[-1] != T.K_REG][0]
    if m == "popf":
        setter = encode(f, bits, opsize=_default(bits))
    elif m in ("sahf",):
        setter = encode(f, bits)
    else:
        setter = _seq_build(rng, bits, f, imm=rng.choice((1, 2, 7, 31)) if is_shift_form(f) else None)
    undefined = static_undefined([setter])
    ok_cc = [cc for cc in range(16) if not cc_reads(cc) & undefined]
    cc = rng.choice(ok_cc)
    insns = [setter]
    if rng.random() < 0.3:
        insns.append(_jmp_short(bits, 0))
    what = rng.choice(("jcc", "setcc", "cmovcc"))
    if what == "jcc":
        marker = _marker(bits, ESI, rng.getrandbits(32))
        j = encode(pick(rng, ["jcc"]), bits, cc=cc, rel=marker.length)
        insns += [j, marker]
    else:
        insns.append(_seq_build(rng, bits, forms(what)[0], cc=cc))
    case = _sequence_case("condition", bits, insns)
    prepare = case.prepare
    lay = LAYOUTS[bits]

    def biased(rng2, st):
        info = prepare(rng2, st)
        ks = kinds(setter.form)
        if len(ks) >= 2 and ks[1] in (T.K_G, T.K_E, T.K_REG, T.K_I) and rng2.random() < 0.6:
            size = op_size(setter, 0)
            mask = (1 << 8 * size) - 1
            other = operand_value(setter, 1, st, info, lay) & mask
            v = rng2.choice((other, other + 1, other - 1, other ^ (1 << 8 * size - 1),
                             (1 << 8 * size - 1), (1 << 8 * size - 1) - 1, 0, mask))
            _set_operand(setter, 0, st, info, lay, v & mask)
        return info
    case.prepare = biased
    return case


def _set_operand(b, n, st, info, lay, value):
    """Give operand n of b this value in the initial state (register or memory)."""
    k, _, extra = b.form.operands[n]
    size = op_size(b, n)
    if k in (T.K_E, T.K_M) and b.mem is not None:
        st.mem_write(lay, info["ea%d" % b.offset], size, value)
        return
    r = {T.K_E: b.rm, T.K_R: b.rm, T.K_G: b.reg, T.K_Z: b.zreg, T.K_REG: extra}[k]
    if size == 1 and r >= 4:
        st.regs[r - 4] = st.regs[r - 4] & ~0xFF00 | value << 8
    else:
        m = (1 << 8 * size) - 1
        st.regs[r] = st.regs[r] & ~m & 0xFFFFFFFF | value


def _finished(gen):
    def wrapped(rng, bits):
        return unicorn_equivalent(gen(rng, bits))
    wrapped.__name__ = gen.__name__
    wrapped.__doc__ = gen.__doc__
    return wrapped


# family name -> (generator, share of the runs, modes)
FAMILIES = {
    "mov": (gen_mov, 3, (32, 16)),
    "movx": (gen_movx, 2, (32, 16)),
    "lea": (gen_lea, 2, (32, 16)),
    "xchg": (gen_xchg, 2, (32, 16)),
    "alu": (gen_alu, 8, (32, 16)),
    "incdec": (gen_incdec, 3, (32, 16)),
    "shift": (gen_shift, 8, (32, 16)),
    "shxd": (gen_shxd, 4, (32, 16)),
    "mul": (gen_mul, 4, (32, 16)),
    "div": (gen_div, 4, (32, 16)),
    "bcd": (gen_bcd, 3, (32, 16)),
    "bittest": (gen_bittest, 4, (32, 16)),
    "bitscan": (gen_bitscan, 2, (32, 16)),
    "setcc": (gen_setcc, 2, (32, 16)),
    "cmovcc": (gen_cmovcc, 2, (32, 16)),
    "xchgops": (gen_xchgops, 3, (32, 16)),
    "flagops": (gen_flagops, 2, (32, 16)),
    "convert": (gen_convert, 1, (32, 16)),
    "xlat": (gen_xlat, 1, (32, 16)),
    "stack": (gen_stack, 3, (32, 16)),
    "stackframe": (gen_stackframe, 3, (32, 16)),
    "segments": (gen_segments, 2, (32, 16)),
    "string": (gen_string, 5, (32, 16)),
    "branch": (gen_branch, 3, (32, 16)),
    "indirect": (gen_indirect, 2, (32, 16)),
    "loop": (gen_loop, 2, (32, 16)),
    "nop": (gen_nop, 1, (32, 16)),
    "lazyflags": (gen_lazyflags, 10, (32, 16)),
    "condition": (gen_condition, 8, (32, 16)),
    "alu_chain": (gen_alu_chain, 4, (32, 16)),
}
FAMILIES = {name: (_finished(g), w, modes) for name, (g, w, modes) in FAMILIES.items()}
