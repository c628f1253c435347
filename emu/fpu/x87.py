"""The x87 FPU's architectural state and its instructions, on CpuState fields.

`s` is the CpuState record (numba): fpu_mant/fpu_se hold the eight physical
registers, fpu_top is TOP, fpu_tag the full tag word (2 bits per physical
register, kept equal to what the register holds: valid, zero, special,
empty), fpu_sw the status word without TOP, fpu_cw the control word.

Stack handling is here and only here: ST(i) is physical (TOP + i) & 7; a
push writes (TOP - 1) & 7.  A read of an empty register is a stack underflow
and a push onto a full one a stack overflow (SDM Vol. 1 8.5.1.1): #IS, that
is IE and SF, with C1 = 0 (underflow) or 1 (overflow).  Masked, the
destination receives the QNaN indefinite; unmasked, nothing changes.

Every instruction reports its exception flags through `report`, which also
sets C1 (round-up, SDM Vol. 1 8.1.3.1) and the summary bits ES and B when a
flag is unmasked (the exception is then pending until the next waiting
instruction, which the translator checks).  An unmasked invalid-operation,
denormal-operand or divide-by-zero exception stops the instruction before it
writes anything or pops (SDM Vol. 1 8.5.1-8.5.3); overflow and underflow
deliver the exponent-biased result to a register (8.5.4-8.5.5) and nothing to
memory; precision delivers the result.
"""
import numpy as np
from numba import njit

from . import bcd, transcend as T
from . import control as C
from . import softfloat80 as S
from .control import SW_B, SW_ES, TAG_EMPTY, tag_for
from .u128 import ONE, TOP, U64, Z

I64 = np.int64

SW_SF = 0x40
SW_C0 = 0x100
SW_C1 = 0x200
SW_C2 = 0x400
SW_C3 = 0x4000
SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3
EXC = 0x3F
BLOCKING = S.F_IE | S.F_DE | S.F_ZE      # pre-computation exceptions

# memory operand formats
FMT_F32, FMT_F64, FMT_I16, FMT_I32, FMT_I64, FMT_F80, FMT_BCD = range(7)

# arithmetic operations: the ModRM reg field of D8/DC/DA/DE
OP_ADD, OP_MUL, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR = 0, 1, 4, 5, 6, 7

# compare kinds (bits)
CMP_QUIET = 1        # FUCOM*: only SNaNs are invalid
CMP_EFLAGS = 2       # FCOMI*: the result goes to ZF PF CF
CMP_MEM = 4          # the operand is a memory value (fmt, v)
CMP_ZERO = 8         # FTST: against +0.0
NO_EFLAGS = -1       # compare result: leave EFLAGS alone

# register operations
R_FLD, R_FST, R_FSTP, R_FXCH, R_FFREE, R_FFREEP, R_FCMOV = range(7)

# control operations
C_FNINIT, C_FNCLEX, C_FLDCW = range(3)


# --- the register stack ----------------------------------------------------------------

@njit(cache=True, nogil=True)
def phys(s, i):
    return (I64(s.fpu_top) + i) & 7


@njit(cache=True, nogil=True)
def set_tag(s, p, t):
    s.fpu_tag = (I64(s.fpu_tag) & ~(3 << (2 * p))) | (t << (2 * p))


@njit(cache=True, nogil=True)
def empty(s, i):
    return (I64(s.fpu_tag) >> (2 * phys(s, i))) & 3 == TAG_EMPTY


@njit(cache=True, nogil=True)
def read(s, i):
    p = phys(s, i)
    return I64(s.fpu_se[p]), s.fpu_mant[p]


@njit(cache=True, nogil=True)
def write(s, i, se, m):
    p = phys(s, i)
    s.fpu_se[p] = se & 0xFFFF
    s.fpu_mant[p] = m
    set_tag(s, p, tag_for(se & 0xFFFF, m))


@njit(cache=True, nogil=True)
def push(s, se, m):
    s.fpu_top = (I64(s.fpu_top) - 1) & 7
    write(s, 0, se, m)


@njit(cache=True, nogil=True)
def pop(s):
    set_tag(s, phys(s, 0), TAG_EMPTY)
    s.fpu_top = (I64(s.fpu_top) + 1) & 7


@njit(cache=True, nogil=True)
def full(s):
    """A push would overflow: the register below ST(0) is in use."""
    return not empty(s, -1)


# --- status word ----------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def summary(s):
    """ES and B follow the unmasked exception flags."""
    sw = I64(s.fpu_sw)
    if sw & ~I64(s.fpu_cw) & EXC:
        sw |= SW_ES | SW_B
    s.fpu_sw = sw


@njit(cache=True, nogil=True)
def report(s, flags):
    """Record exception flags (F_*, SF) and set C1 from F_C1."""
    sw = (I64(s.fpu_sw) | (flags & (EXC | SW_SF))) & ~SW_C1
    if flags & S.F_C1:
        sw |= SW_C1
    s.fpu_sw = sw
    summary(s)


@njit(cache=True, nogil=True)
def set_cc(s, c0, c1, c2, c3):
    sw = I64(s.fpu_sw) & ~SW_CC
    if c0:
        sw |= SW_C0
    if c1:
        sw |= SW_C1
    if c2:
        sw |= SW_C2
    if c3:
        sw |= SW_C3
    s.fpu_sw = sw


@njit(cache=True, nogil=True)
def blocked(s, flags):
    """An unmasked pre-computation exception: the instruction changes nothing."""
    return (flags & ~I64(s.fpu_cw) & BLOCKING) != 0


@njit(cache=True, nogil=True)
def ie_masked(s):
    return (I64(s.fpu_cw) & S.F_IE) != 0


@njit(cache=True, nogil=True)
def underflow(s, dst, npop):
    """Stack underflow of an instruction writing ST(dst), then popping npop times."""
    if ie_masked(s):
        write(s, dst, S.INDEF_SE, S.INDEF_M)
        for _ in range(npop):
            pop(s)
    report(s, S.F_IE | SW_SF)


@njit(cache=True, nogil=True)
def overflow(s):
    """Stack overflow of a push."""
    if ie_masked(s):
        push(s, S.INDEF_SE, S.INDEF_M)
    report(s, S.F_IE | SW_SF | S.F_C1)


@njit(cache=True, nogil=True)
def finish(s, dst, se, m, flags, npop):
    """Deliver an arithmetic result to ST(dst) (unless an unmasked
    pre-computation exception stops it), pop npop times, report."""
    if not blocked(s, flags):
        write(s, dst, se, m)
        for _ in range(npop):
            pop(s)
    report(s, flags)


# --- operands ----------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def sext(v, bits):
    """Sign-extend the low `bits` of a uint64 to 64 bits."""
    if bits < 64 and (v >> U64(bits - 1)) & ONE:
        return v | (~U64(0) << U64(bits))
    return v & ((ONE << U64(bits)) - ONE) if bits < 64 else v


@njit(cache=True, nogil=True)
def mem_operand(fmt, v):
    """A memory source operand of an arithmetic or compare instruction:
    (se, m, flags); SNaNs stay signaling for the operation's NaN rules."""
    if fmt == FMT_F32:
        return S.from_ieee(v, 32)
    if fmt == FMT_F64:
        return S.from_ieee(v, 64)
    if fmt == FMT_I16:
        se, m = S.from_int(sext(v, 16))
    else:
        se, m = S.from_int(sext(v, 32))
    return se, m, 0


@njit(cache=True, nogil=True)
def binop(op, a_se, a_m, b_se, b_m, cw):
    """dest op src for the arithmetic opcodes (SUBR/DIVR: src op dest)."""
    prec = S.prec_of(cw)
    if op == OP_ADD:
        return S.add80(a_se, a_m, b_se, b_m, 0, prec, cw)
    if op == OP_MUL:
        return S.mul80(a_se, a_m, b_se, b_m, prec, cw)
    if op == OP_SUB:
        return S.add80(a_se, a_m, b_se, b_m, 1, prec, cw)
    if op == OP_SUBR:
        return S.add80(b_se, b_m, a_se, a_m, 1, prec, cw)
    if op == OP_DIV:
        return S.div80(a_se, a_m, b_se, b_m, prec, cw)
    return S.div80(b_se, b_m, a_se, a_m, prec, cw)


@njit(cache=True, nogil=True)
def _operand_de(a_se, a_m, bflags, flags):
    """#D of a converted memory operand, unless a NaN or invalid operand took precedence."""
    ka = S.classify(a_se, a_m)
    if flags & S.F_IE or S.is_nan(ka) or ka == S.K_INVALID:
        return flags
    return flags | (bflags & S.F_DE)


# --- instructions ------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def arith_reg(s, op, dst, src, npop):
    """FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR ST(dst), ST(src) and the P forms."""
    if empty(s, dst) or empty(s, src):
        underflow(s, dst, npop)
        return
    a_se, a_m = read(s, dst)
    b_se, b_m = read(s, src)
    se, m, flags = binop(op, a_se, a_m, b_se, b_m, I64(s.fpu_cw))
    finish(s, dst, se, m, flags, npop)


@njit(cache=True, nogil=True)
def arith_mem(s, op, fmt, v):
    """ST(0) = ST(0) op m32real/m64real/m16int/m32int."""
    if empty(s, 0):
        underflow(s, 0, 0)
        return
    a_se, a_m = read(s, 0)
    b_se, b_m, bflags = mem_operand(fmt, v)
    se, m, flags = binop(op, a_se, a_m, b_se, b_m, I64(s.fpu_cw))
    finish(s, 0, se, m, _operand_de(a_se, a_m, bflags, flags), 0)


@njit(cache=True, nogil=True)
def compare(s, kind, src, fmt, v, npop):
    """FCOM/FCOMP/FCOMPP/FUCOM*/FICOM*/FTST (C3 C2 C0) and FCOMI*/FUCOMI*
    (ZF PF CF, returned as EFLAGS bits; NO_EFLAGS: leave them)."""
    if empty(s, 0) or (kind & (CMP_MEM | CMP_ZERO) == 0 and empty(s, src)):
        flags = S.F_IE | SW_SF
        rel = S.REL_UNORDERED
    else:
        a_se, a_m = read(s, 0)
        if kind & CMP_ZERO:
            b_se, b_m, bflags = 0, Z, 0
        elif kind & CMP_MEM:
            b_se, b_m, bflags = mem_operand(fmt, v)
        else:
            b_se, b_m = read(s, src)
            bflags = 0
        rel, flags = S.compare80(a_se, a_m, b_se, b_m, (kind & CMP_QUIET) != 0)
        flags = _operand_de(a_se, a_m, bflags, flags)
    result = NO_EFLAGS
    if not blocked(s, flags):
        if kind & CMP_EFLAGS:
            if rel == S.REL_LESS:
                result = 0x01                  # CF
            elif rel == S.REL_EQUAL:
                result = 0x40                  # ZF
            elif rel == S.REL_GREATER:
                result = 0
            else:
                result = 0x45                  # ZF PF CF
        else:
            set_cc(s, rel == S.REL_LESS or rel == S.REL_UNORDERED, False, rel == S.REL_UNORDERED,
                   rel == S.REL_EQUAL or rel == S.REL_UNORDERED)
        for _ in range(npop):
            pop(s)
    report(s, flags)
    return result


@njit(cache=True, nogil=True)
def load(s, fmt, lo, hi):
    """FLD m32/m64/m80real, FILD m16/m32/m64int, FBLD: push the value."""
    if full(s):
        overflow(s)
        return
    flags = 0
    if fmt == FMT_F32 or fmt == FMT_F64:
        se, m, flags = S.from_ieee(lo, 32 if fmt == FMT_F32 else 64)
        if flags & S.F_IE:
            m |= S.QUIET
    elif fmt == FMT_F80:
        se, m = I64(hi) & 0xFFFF, lo
    elif fmt == FMT_BCD:
        se, m = bcd.load(lo, I64(hi))
    else:
        se, m = S.from_int(sext(lo, 16 if fmt == FMT_I16 else (32 if fmt == FMT_I32 else 64)))
    if not blocked(s, flags):
        push(s, se, m)
    report(s, flags)


@njit(cache=True, nogil=True)
def _indefinite(fmt):
    """(lo, hi) of the indefinite value of a memory format (SDM Vol. 1 4.8.3.7, 4.2.2)."""
    if fmt == FMT_F32:
        return U64(0xFFC00000), 0
    if fmt == FMT_F64:
        return U64(0xFFF8000000000000), 0
    if fmt == FMT_I16:
        return U64(0x8000), 0
    if fmt == FMT_I32:
        return U64(0x80000000), 0
    if fmt == FMT_I64:
        return TOP, 0
    if fmt == FMT_BCD:
        return bcd.INDEF_LO, bcd.INDEF_HI
    return S.INDEF_M, S.INDEF_SE


@njit(cache=True, nogil=True)
def store_prepare(s, fmt):
    """FST/FSTP/FIST/FISTP/FBSTP, first step: compute what ST(0) stores as
    (returned: bits 0-63; fpu_st_hi: bits 64-79) without changing the FPU.
    Generated code stores it when fpu_st_ok, then calls store_done."""
    cw = I64(s.fpu_cw)
    if empty(s, 0):
        lo, hi = _indefinite(fmt)
        flags = S.F_IE | SW_SF
    else:
        se, m = read(s, 0)
        hi = 0
        flags = 0
        if fmt == FMT_F32 or fmt == FMT_F64:
            lo, flags = S.to_ieee(se, m, cw, 32 if fmt == FMT_F32 else 64)
        elif fmt == FMT_F80:
            lo, hi = m, se
        elif fmt == FMT_BCD:
            lo, hi, flags = bcd.store(se, m, S.rc_of(cw))
        else:
            lo, flags = S.to_int(se, m, S.rc_of(cw), 16 if fmt == FMT_I16 else (32 if fmt == FMT_I32 else 64))
    s.fpu_st_hi = U64(hi)
    s.fpu_st_flags = flags
    # SDM Vol. 1 8.5.1, 8.5.4, 8.5.5: an unmasked #IA, #O or #U stores nothing
    s.fpu_st_ok = 0 if (flags & ~cw & (S.F_IE | S.F_OE | S.F_UE)) else 1
    return lo


@njit(cache=True, nogil=True)
def store_done(s, npop):
    """The store happened (or was suppressed): pop and report."""
    if s.fpu_st_ok:
        for _ in range(npop):
            pop(s)
    report(s, I64(s.fpu_st_flags))


# --- the D9 E0-FF group: one function per instruction, no operand -------------------------------

@njit(cache=True, nogil=True)
def _push_value(s, se, m):
    """Push an exact value (or the stack overflow)."""
    if full(s):
        overflow(s)
        return
    push(s, se, m)
    report(s, 0)


@njit(cache=True, nogil=True)
def _push_constant(s, se, m, nearest_up):
    """Push a constant that lies between (se, m) and the next value up, rounded
    in the control word's mode; nearest_up: round to nearest goes up (SDM Vol. 1
    8.3.8: the constants are held to 66 bits and rounded as results are)."""
    rc = S.rc_of(I64(s.fpu_cw))
    if rc == S.RC_UP or (rc == S.RC_NEAR and nearest_up):
        m += ONE
    _push_value(s, se, m)


@njit(cache=True, nogil=True)
def fld1(s):
    _push_value(s, 0x3FFF, TOP)


@njit(cache=True, nogil=True)
def fldz(s):
    _push_value(s, 0, Z)


@njit(cache=True, nogil=True)
def fldl2t(s):
    _push_constant(s, 0x4000, U64(0xD49A784BCD1B8AFE), False)     # log2(10) = D49A784BCD1B8AFE 492B...


@njit(cache=True, nogil=True)
def fldl2e(s):
    _push_constant(s, 0x3FFF, U64(0xB8AA3B295C17F0BB), True)      # log2(e) = B8AA3B295C17F0BB BE87...


@njit(cache=True, nogil=True)
def fldpi(s):
    _push_constant(s, 0x4000, U64(0xC90FDAA22168C234), True)      # pi = C90FDAA22168C234 C4C6...


@njit(cache=True, nogil=True)
def fldlg2(s):
    _push_constant(s, 0x3FFD, U64(0x9A209A84FBCFF798), True)      # log10(2) = 9A209A84FBCFF798 8F89...


@njit(cache=True, nogil=True)
def fldln2(s):
    _push_constant(s, 0x3FFE, U64(0xB17217F7D1CF79AB), True)      # ln(2) = B17217F7D1CF79AB C9E3...


@njit(cache=True, nogil=True)
def fdecstp(s):
    s.fpu_top = (I64(s.fpu_top) - 1) & 7
    s.fpu_sw = I64(s.fpu_sw) & ~SW_C1


@njit(cache=True, nogil=True)
def fincstp(s):
    s.fpu_top = (I64(s.fpu_top) + 1) & 7
    s.fpu_sw = I64(s.fpu_sw) & ~SW_C1


@njit(cache=True, nogil=True)
def fxam(s):
    se, m = read(s, 0)
    sign = (se >> 15) & 1
    if empty(s, 0):
        set_cc(s, True, sign, False, True)
        return
    k = S.classify(se, m)
    if k == S.K_INVALID:
        set_cc(s, False, sign, False, False)
    elif S.is_nan(k):
        set_cc(s, True, sign, False, False)
    elif k == S.K_NORMAL:
        set_cc(s, False, sign, True, False)
    elif k == S.K_INF:
        set_cc(s, True, sign, True, False)
    elif k == S.K_ZERO:
        set_cc(s, False, sign, False, True)
    else:
        set_cc(s, False, sign, True, True)


@njit(cache=True, nogil=True)
def ftst(s):
    compare(s, CMP_ZERO, 0, 0, Z, 0)


@njit(cache=True, nogil=True)
def _st0(s):
    """(ok, se, m) of ST(0); not ok: it is empty, the stack underflow of an
    instruction replacing ST(0) has happened."""
    se, m = read(s, 0)
    if empty(s, 0):
        underflow(s, 0, 0)
        return False, se, m
    return True, se, m


@njit(cache=True, nogil=True)
def fchs(s):
    ok, se, m = _st0(s)
    if ok:
        write(s, 0, se ^ 0x8000, m)
        report(s, 0)


@njit(cache=True, nogil=True)
def fabs(s):
    ok, se, m = _st0(s)
    if ok:
        write(s, 0, se & 0x7FFF, m)
        report(s, 0)


@njit(cache=True, nogil=True)
def _trig_in_range(s):
    """FSIN FCOS FPTAN FSINCOS: |ST(0)| >= 2^63 is left alone with C2 = 1;
    otherwise C2 = 0 and the instruction goes on."""
    se, m = read(s, 0)
    if T.out_of_range(se, m):
        s.fpu_sw = I64(s.fpu_sw) | SW_C2
        return False
    s.fpu_sw = I64(s.fpu_sw) & ~SW_C2
    return True


_SQRT, _RNDINT, _2XM1, _SIN, _COS = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def _into_st0(s, which):
    """FSQRT, FRNDINT, F2XM1, FSIN, FCOS: ST(0) = f(ST(0))."""
    ok, se, m = _st0(s)
    if not ok:
        return
    cw = I64(s.fpu_cw)
    if which == _SQRT:
        se, m, f = S.sqrt80(se, m, S.prec_of(cw), cw)
    elif which == _RNDINT:
        se, m, f = S.round_int80(se, m, cw)
    elif which == _2XM1:
        se, m, f = T.f2xm1(se, m, cw)
    else:
        if not _trig_in_range(s):
            return
        se, m, f = T.trig(se, m, cw, T.SIN if which == _SIN else T.COS)
    finish(s, 0, se, m, f, 0)


@njit(cache=True, nogil=True)
def fsqrt(s):
    _into_st0(s, _SQRT)


@njit(cache=True, nogil=True)
def frndint(s):
    _into_st0(s, _RNDINT)


@njit(cache=True, nogil=True)
def f2xm1(s):
    _into_st0(s, _2XM1)


@njit(cache=True, nogil=True)
def fsin(s):
    _into_st0(s, _SIN)


@njit(cache=True, nogil=True)
def fcos(s):
    _into_st0(s, _COS)


@njit(cache=True, nogil=True)
def _two_results(s, a_se, a_m, b_se, b_m, flags):
    """FPTAN, FSINCOS, FXTRACT: ST(0) = a, then push b."""
    if not blocked(s, flags):
        write(s, 0, a_se, a_m)
        push(s, b_se, b_m)
    report(s, flags)


@njit(cache=True, nogil=True)
def _push_fault(s):
    """A stack fault of FPTAN/FSINCOS/FXTRACT (ST(0) empty, or no room for the
    push): masked, both results are the indefinite."""
    over = not empty(s, 0) and full(s)
    if ie_masked(s):
        write(s, 0, S.INDEF_SE, S.INDEF_M)
        push(s, S.INDEF_SE, S.INDEF_M)
    report(s, S.F_IE | SW_SF | (S.F_C1 if over else 0))


@njit(cache=True, nogil=True)
def _two_results_fault(s, trig):
    """ST(0) empty, or (a trig instruction's operand in range) no room for the
    second result: the stack fault.  False when the instruction goes on."""
    if empty(s, 0):
        _push_fault(s)
        return True
    if trig and not _trig_in_range(s):
        return True
    if full(s):
        _push_fault(s)
        return True
    return False


@njit(cache=True, nogil=True)
def fptan(s):
    """ST(0) = tan(ST(0)), then push 1.0."""
    if _two_results_fault(s, True):
        return
    se, m = read(s, 0)
    se, m, f = T.trig(se, m, I64(s.fpu_cw), T.TAN)
    _two_results(s, se, m, 0x3FFF, TOP, f)


@njit(cache=True, nogil=True)
def fsincos(s):
    """ST(0) = sin(ST(0)), then push the cosine."""
    if _two_results_fault(s, True):
        return
    a_se, a_m = read(s, 0)
    cw = I64(s.fpu_cw)
    sse, sm, f1 = T.trig(a_se, a_m, cw, T.SIN)
    cse, cm, f2 = T.trig(a_se, a_m, cw, T.COS)
    _two_results(s, sse, sm, cse, cm, f1 | f2)


@njit(cache=True, nogil=True)
def fxtract(s):
    """ST(0) = the exponent, then push the significand."""
    if _two_results_fault(s, False):
        return
    a_se, a_m = read(s, 0)
    ese, em, sse, sm, f = S.extract80(a_se, a_m)
    _two_results(s, ese, em, sse, sm, f)


@njit(cache=True, nogil=True)
def _st01(s, dst, npop):
    """(ok, ST(0), ST(1)) as (ok, a_se, a_m, b_se, b_m); not ok: one is empty,
    the stack underflow of an instruction writing ST(dst), then popping npop
    times, has happened."""
    a_se, a_m = read(s, 0)
    b_se, b_m = read(s, 1)
    if empty(s, 0) or empty(s, 1):
        underflow(s, dst, npop)
        return False, a_se, a_m, b_se, b_m
    return True, a_se, a_m, b_se, b_m


@njit(cache=True, nogil=True)
def _partial_remainder(s, ieee):
    """FPREM (ieee False: truncating quotient) and FPREM1 (round to nearest)."""
    if empty(s, 0) or empty(s, 1):
        set_cc(s, False, False, False, False)
        underflow(s, 0, 0)
        return
    a_se, a_m = read(s, 0)
    b_se, b_m = read(s, 1)
    se, m, f, q, partial = S.rem80(a_se, a_m, b_se, b_m, ieee, I64(s.fpu_cw))
    if not blocked(s, f):
        if partial:
            set_cc(s, False, False, True, False)
        else:
            set_cc(s, q & 4, q & 1, False, q & 2)
        write(s, 0, se, m)
    sw = I64(s.fpu_sw)
    report(s, f)
    s.fpu_sw = (I64(s.fpu_sw) & ~SW_C1) | (sw & SW_C1)    # C1 is a quotient bit here


@njit(cache=True, nogil=True)
def fprem(s):
    _partial_remainder(s, False)


@njit(cache=True, nogil=True)
def fprem1(s):
    _partial_remainder(s, True)


@njit(cache=True, nogil=True)
def fscale(s):
    ok, a_se, a_m, b_se, b_m = _st01(s, 0, 0)
    if ok:
        se, m, f = S.scale80(a_se, a_m, b_se, b_m, I64(s.fpu_cw))
        finish(s, 0, se, m, f, 0)


_YL2X, _PATAN, _YL2XP1 = 0, 1, 2


@njit(cache=True, nogil=True)
def _into_st1_and_pop(s, which):
    """FYL2X, FPATAN, FYL2XP1: ST(1) = f(ST(0), ST(1)), then pop."""
    ok, a_se, a_m, b_se, b_m = _st01(s, 1, 1)
    if not ok:
        return
    cw = I64(s.fpu_cw)
    if which == _YL2X:
        se, m, f = T.fyl2x(a_se, a_m, b_se, b_m, cw)
    elif which == _PATAN:
        se, m, f = T.fpatan(a_se, a_m, b_se, b_m, cw)
    else:
        se, m, f = T.fyl2xp1(a_se, a_m, b_se, b_m, cw)
    finish(s, 1, se, m, f, 1)


@njit(cache=True, nogil=True)
def fyl2x(s):
    _into_st1_and_pop(s, _YL2X)


@njit(cache=True, nogil=True)
def fpatan(s):
    _into_st1_and_pop(s, _PATAN)


@njit(cache=True, nogil=True)
def fyl2xp1(s):
    _into_st1_and_pop(s, _YL2XP1)


@njit(cache=True, nogil=True)
def reg_op(s, op, i, cond):
    """FLD ST(i), FST/FSTP ST(i), FXCH, FFREE, FFREEP, FCMOVcc (cond: taken)."""
    if op == R_FLD:
        if full(s):
            overflow(s)
            return
        if empty(s, i):
            if ie_masked(s):
                push(s, S.INDEF_SE, S.INDEF_M)
            report(s, S.F_IE | SW_SF)
            return
        se, m = read(s, i)
        push(s, se, m)
        report(s, 0)
        return
    if op == R_FST or op == R_FSTP:
        npop = 1 if op == R_FSTP else 0
        if empty(s, 0):
            underflow(s, i, npop)
            return
        se, m = read(s, 0)
        write(s, i, se, m)
        for _ in range(npop):
            pop(s)
        report(s, 0)
        return
    if op == R_FXCH:
        e0 = empty(s, 0)
        ei = empty(s, i)
        if e0 or ei:
            if not ie_masked(s):
                report(s, S.F_IE | SW_SF)
                return
            if e0:
                write(s, 0, S.INDEF_SE, S.INDEF_M)
            if ei:
                write(s, i, S.INDEF_SE, S.INDEF_M)
        a_se, a_m = read(s, 0)
        b_se, b_m = read(s, i)
        write(s, 0, b_se, b_m)
        write(s, i, a_se, a_m)
        report(s, (S.F_IE | SW_SF) if (e0 or ei) else 0)
        return
    if op == R_FFREE or op == R_FFREEP:
        set_tag(s, phys(s, i), TAG_EMPTY)
        if op == R_FFREEP:
            pop(s)
        return
    # FCMOVcc ST(0), ST(i)
    if empty(s, 0) or empty(s, i):
        underflow(s, 0, 0)
        return
    if cond:
        se, m = read(s, i)
        write(s, 0, se, m)


_fninit = njit(cache=True, nogil=True)(C.fninit)


@njit(cache=True, nogil=True)
def control(s, op, value):
    """FNINIT, FNCLEX, FLDCW."""
    if op == C_FNINIT:
        _fninit(s)
    elif op == C_FNCLEX:
        s.fpu_sw = I64(s.fpu_sw) & ~(EXC | SW_SF | SW_ES | SW_B)
    else:
        s.fpu_cw = value & 0xFFFF
        # a pending exception follows its mask (SDM Vol. 1 8.6: unmasking a
        # raised flag makes it pending for the next waiting instruction)
        sw = I64(s.fpu_sw) & ~(SW_ES | SW_B)
        s.fpu_sw = sw
        summary(s)
