"""x87 floating point (Intel SDM Vol. 1 ch. 8, Vol. 2 "F..." pages).

The FPU state lives in CpuState (fpu_*), outside the block's register cache;
the arithmetic is the soft-float of emu/fpu, reached through the native
entry point of emu/fpu/native.py (`pyemu_x87`).  Generated code does what
can fault first: it loads a memory operand and passes its bits, or asks for
the bits to store, stores them, then lets the FPU finish; so a #PF or #GP
leaves the FPU untouched.  The state images (FNSAVE, FXSAVE, ...) are Python
helpers (helpers/x87.py).

Every instruction except the non-waiting control ones (FNINIT FNCLEX FNSTCW
FNSTSW FNSTENV FNSAVE, and FXSAVE/FXRSTOR) first checks for a pending
unmasked exception (status word ES): with CR0.NE = 1 it raises #MF at this
instruction, with NE = 0 it signals FERR# (IRQ 13 through the board) and goes
on (SDM Vol. 1 8.7, Vol. 3A 2.5 CR0.NE).  CR0.EM/TS (#NM) is checked by
block.py from the table row's x87 attribute.  Non-control instructions
record their address, CS, opcode and data address (FIP FCS FOP FDP FDS) for
the exception handler (SDM Vol. 1 8.1.8-8.1.9).
"""
from ...cpu import hflags as H
from ...cpu.state import CS, EAX
from ...cpu.vectors import Vector
from ...fpu import control as C
from ...fpu import native as N
from ...fpu import x87 as X
from ...fpu.kinds import Kind
from ..irstate import I16, I32, I64, PTR, c32, c64, load_field, store_field
from .. import callbacks

# memory operand text (opcodes.py) -> (format, bytes)
MEM_FORMATS = {"Mfs": (X.FMT_F32, 4), "Mfd": (X.FMT_F64, 8), "Mft": (X.FMT_F80, 10),
               "Mwi": (X.FMT_I16, 2), "Mdi": (X.FMT_I32, 4), "Mqi": (X.FMT_I64, 8),
               "Mbcd": (X.FMT_BCD, 10)}

def _call(g, kind, *args):
    """A call of the native FPU (emu/fpu/native.py, bound by runtime.py): it
    reads and writes only fpu_* fields, which the block does not cache.
    args: up to three i32 then up to two i64 (Python ints or IR values)."""
    ints = [c32(a) if isinstance(a, int) else g.zext(a, 4) for a in args if not _is64(a)]
    longs = [c64(a) if isinstance(a, int) else a for a in args if _is64(a)]
    ints += [c32(0)] * (3 - len(ints))
    longs += [c64(0)] * (2 - len(longs))
    return g.call_native(N.SYMBOL, I64, [g.s, c32(int(kind))] + ints + longs)


class _U64(int):
    """An integer argument passed in a 64-bit slot."""


def _is64(a):
    return isinstance(a, _U64) or (not isinstance(a, int) and a.type.width == 64)


# --- the common parts --------------------------------------------------------------------

def _wait(g):
    """The pending-exception check of a waiting instruction."""
    b = g.b
    sw = load_field(b, g.s, "fpu_sw")
    with g.when(b.icmp_unsigned("!=", b.and_(sw, c32(C.SW_ES)), c32(0))):
        cr0 = load_field(b, g.s, "cr", 0)
        ne = b.icmp_unsigned("!=", b.and_(cr0, c64(H.CR0_NE)), c64(0))
        g.fault_if(ne, Vector.MF)
        # NE = 0: FERR#.  The helper only signals the board (it reads no CPU
        # state), so it is called without writing the register cache back.
        f = g.decl("pyemu_py_helper", I32, [PTR, I32, I64, I64, I64])
        b.call(f, [g.s, c32(callbacks.helper_id("helper_x87_ferr")), c64(0), c64(0), c64(0)])


def _memory(insn):
    return insn.mod != 3 and insn.form.operand_text.startswith("M")


def _pointers(g, insn):
    """FIP FCS FOP, and FDP FDS for a memory operand (a non-control instruction)."""
    b = g.b
    store_field(b, g.s, g.value(insn.eip, 4), "fpu_ip")
    store_field(b, g.s, b.zext(g.seg_selector(CS), I32), "fpu_cs")
    store_field(b, g.s, g.value(insn.fop, 4), "fpu_op")
    if _memory(insn):
        store_field(b, g.s, g.ea(insn), "fpu_dp")
        store_field(b, g.s, b.zext(g.seg_selector(insn.seg), I32), "fpu_ds")


def _begin(g, insn):
    _wait(g)


def _load_mem(g, insn, nbytes):
    """(lo, hi) as i64 of a 2/4/8/10-byte memory operand."""
    ea = g.ea(insn)
    if nbytes <= 8:
        return g.zext(g.load(insn.seg, ea, nbytes), 8), c64(0)
    lo = g.load(insn.seg, ea, 8)
    hi = g.load(insn.seg, g.addr_mask(g.b.add(ea, c32(8)), insn.addrsize), 2)
    return lo, g.zext(hi, 8)


def _mem_format(insn):
    return MEM_FORMATS[insn.form.operand_text]


# --- arithmetic -----------------------------------------------------------------------------

def _arith(g, insn, op, npop=0):
    _begin(g, insn)
    if _memory(insn):
        fmt, nbytes = _mem_format(insn)
        v, _ = _load_mem(g, insn, nbytes)
        _call(g, Kind.ARITH_MEM, op, fmt, v)
    elif insn.form.operand_text == "ST,STi":
        _call(g, Kind.ARITH, op, 0, insn.rm, _U64(npop))
    else:                                   # STi,ST
        _call(g, Kind.ARITH, op, insn.rm, 0, _U64(npop))
    _pointers(g, insn)


def op_fadd(g, insn):
    _arith(g, insn, X.OP_ADD)


def op_fmul(g, insn):
    _arith(g, insn, X.OP_MUL)


def op_fsub(g, insn):
    _arith(g, insn, X.OP_SUB)


def op_fsubr(g, insn):
    _arith(g, insn, X.OP_SUBR)


def op_fdiv(g, insn):
    _arith(g, insn, X.OP_DIV)


def op_fdivr(g, insn):
    _arith(g, insn, X.OP_DIVR)


def op_faddp(g, insn):
    _arith(g, insn, X.OP_ADD, 1)


def op_fmulp(g, insn):
    _arith(g, insn, X.OP_MUL, 1)


def op_fsubp(g, insn):
    _arith(g, insn, X.OP_SUB, 1)


def op_fsubrp(g, insn):
    _arith(g, insn, X.OP_SUBR, 1)


def op_fdivp(g, insn):
    _arith(g, insn, X.OP_DIV, 1)


def op_fdivrp(g, insn):
    _arith(g, insn, X.OP_DIVR, 1)


op_fiadd, op_fimul, op_fisub, op_fisubr, op_fidiv, op_fidivr = (
    op_fadd, op_fmul, op_fsub, op_fsubr, op_fdiv, op_fdivr)


# --- comparisons ----------------------------------------------------------------------------

def _compare(g, insn, kind, npop, src=None):
    _begin(g, insn)
    v = c64(0)
    fmt = 0
    if _memory(insn):
        fmt, nbytes = _mem_format(insn)
        v, _ = _load_mem(g, insn, nbytes)
        kind |= X.CMP_MEM
    if src is None:
        src = 0 if _memory(insn) else insn.rm      # ST(i); unused with a memory operand
    r = g.trunc(_call(g, Kind.COMPARE, kind, src, fmt, v, _U64(npop)), 4)
    if kind & X.CMP_EFLAGS:
        # ZF PF CF from the comparison; OF SF AF cleared (SDM Vol. 2A FCOMI)
        b = g.b
        mask = H.ZF | H.PF | H.CF | H.OF | H.SF | H.AF
        keep = b.icmp_signed("==", r, c32(X.NO_EFLAGS))
        g.set_eflags(b.select(keep, g.eflags(), r), mask)
    _pointers(g, insn)


def op_fcom(g, insn):
    _compare(g, insn, 0, 0)


def op_fcomp(g, insn):
    _compare(g, insn, 0, 1)


def op_fcompp(g, insn):
    _compare(g, insn, 0, 2, src=1)


def op_fucom(g, insn):
    _compare(g, insn, X.CMP_QUIET, 0)


def op_fucomp(g, insn):
    _compare(g, insn, X.CMP_QUIET, 1)


def op_fucompp(g, insn):
    _compare(g, insn, X.CMP_QUIET, 2, src=1)


op_ficom, op_ficomp = op_fcom, op_fcomp


def op_fcomi(g, insn):
    _compare(g, insn, X.CMP_EFLAGS, 0)


def op_fcomip(g, insn):
    _compare(g, insn, X.CMP_EFLAGS, 1)


def op_fucomi(g, insn):
    _compare(g, insn, X.CMP_EFLAGS | X.CMP_QUIET, 0)


def op_fucomip(g, insn):
    _compare(g, insn, X.CMP_EFLAGS | X.CMP_QUIET, 1)


# --- loads and stores -----------------------------------------------------------------------

def op_fld(g, insn):
    _begin(g, insn)
    if _memory(insn):
        fmt, nbytes = _mem_format(insn)
        lo, hi = _load_mem(g, insn, nbytes)
        _call(g, Kind.LOAD, fmt, lo, hi)
    else:
        _call(g, Kind.REG, X.R_FLD, insn.rm, 0)
    _pointers(g, insn)


op_fild = op_fbld = op_fld


def _store(g, insn, npop):
    _begin(g, insn)
    if not _memory(insn):
        _call(g, Kind.REG, X.R_FSTP if npop else X.R_FST, insn.rm, 0)
        _pointers(g, insn)
        return
    fmt, nbytes = _mem_format(insn)
    b = g.b
    ea = g.ea(insn)             # here, so that the value dominates its later uses
    lo = _call(g, Kind.STORE, fmt)
    ok = load_field(b, g.s, "fpu_st_ok")
    with g.when(b.icmp_unsigned("!=", ok, c32(0))):
        if nbytes <= 8:
            g.store(insn.seg, ea, nbytes, g.trunc(lo, nbytes))
        else:
            hi = load_field(b, g.s, "fpu_st_hi")
            g.store(insn.seg, ea, 8, lo)
            g.store(insn.seg, g.addr_mask(b.add(ea, c32(8)), insn.addrsize), 2, b.trunc(hi, I16))
    _call(g, Kind.STORE_DONE, npop)
    _pointers(g, insn)


def op_fst(g, insn):
    _store(g, insn, 0)


def op_fstp(g, insn):
    _store(g, insn, 1)


op_fist, op_fistp, op_fbstp = op_fst, op_fstp, op_fstp


# --- register operations --------------------------------------------------------------------

def _reg(g, insn, op, cond=None):
    _begin(g, insn)
    _call(g, Kind.REG, op, insn.rm, g.zext(cond, 4) if cond is not None else 0)
    _pointers(g, insn)


def op_fxch(g, insn):
    _reg(g, insn, X.R_FXCH)


def op_ffree(g, insn):
    _reg(g, insn, X.R_FFREE)


def op_ffreep(g, insn):
    _reg(g, insn, X.R_FFREEP)


# FCMOVcc ST(0), ST(i): the EFLAGS conditions B E BE U (SDM Vol. 2A FCMOVcc)
_CC_B, _CC_E, _CC_BE, _CC_P = 2, 4, 6, 10


def _fcmov(g, insn, cc, negate):
    c = g.cond(cc)
    _reg(g, insn, X.R_FCMOV, g.b.not_(c) if negate else c)


def op_fcmovb(g, insn):
    _fcmov(g, insn, _CC_B, False)


def op_fcmove(g, insn):
    _fcmov(g, insn, _CC_E, False)


def op_fcmovbe(g, insn):
    _fcmov(g, insn, _CC_BE, False)


def op_fcmovu(g, insn):
    _fcmov(g, insn, _CC_P, False)


def op_fcmovnb(g, insn):
    _fcmov(g, insn, _CC_B, True)


def op_fcmovne(g, insn):
    _fcmov(g, insn, _CC_E, True)


def op_fcmovnbe(g, insn):
    _fcmov(g, insn, _CC_BE, True)


def op_fcmovnu(g, insn):
    _fcmov(g, insn, _CC_P, True)


# --- the D9 E0-FF group: the stack is the only operand; each its own kind ---------------------

def _stack_only(g, insn, kind):
    _begin(g, insn)
    _call(g, kind)
    _pointers(g, insn)


def op_fchs(g, insn):
    _stack_only(g, insn, Kind.FCHS)


def op_fabs(g, insn):
    _stack_only(g, insn, Kind.FABS)


def op_ftst(g, insn):
    _stack_only(g, insn, Kind.FTST)


def op_fxam(g, insn):
    _stack_only(g, insn, Kind.FXAM)


def op_fld1(g, insn):
    _stack_only(g, insn, Kind.FLD1)


def op_fldl2t(g, insn):
    _stack_only(g, insn, Kind.FLDL2T)


def op_fldl2e(g, insn):
    _stack_only(g, insn, Kind.FLDL2E)


def op_fldpi(g, insn):
    _stack_only(g, insn, Kind.FLDPI)


def op_fldlg2(g, insn):
    _stack_only(g, insn, Kind.FLDLG2)


def op_fldln2(g, insn):
    _stack_only(g, insn, Kind.FLDLN2)


def op_fldz(g, insn):
    _stack_only(g, insn, Kind.FLDZ)


def op_f2xm1(g, insn):
    _stack_only(g, insn, Kind.F2XM1)


def op_fyl2x(g, insn):
    _stack_only(g, insn, Kind.FYL2X)


def op_fptan(g, insn):
    _stack_only(g, insn, Kind.FPTAN)


def op_fpatan(g, insn):
    _stack_only(g, insn, Kind.FPATAN)


def op_fxtract(g, insn):
    _stack_only(g, insn, Kind.FXTRACT)


def op_fprem1(g, insn):
    _stack_only(g, insn, Kind.FPREM1)


def op_fdecstp(g, insn):
    _stack_only(g, insn, Kind.FDECSTP)


def op_fincstp(g, insn):
    _stack_only(g, insn, Kind.FINCSTP)


def op_fprem(g, insn):
    _stack_only(g, insn, Kind.FPREM)


def op_fyl2xp1(g, insn):
    _stack_only(g, insn, Kind.FYL2XP1)


def op_fsqrt(g, insn):
    _stack_only(g, insn, Kind.FSQRT)


def op_fsincos(g, insn):
    _stack_only(g, insn, Kind.FSINCOS)


def op_frndint(g, insn):
    _stack_only(g, insn, Kind.FRNDINT)


def op_fscale(g, insn):
    _stack_only(g, insn, Kind.FSCALE)


def op_fsin(g, insn):
    _stack_only(g, insn, Kind.FSIN)


def op_fcos(g, insn):
    _stack_only(g, insn, Kind.FCOS)


def op_fnop(g, insn):
    _begin(g, insn)
    _pointers(g, insn)


def op_fwait(g, insn):
    """WAIT/FWAIT: only the pending-exception check (CR0.MP/TS: block.py)."""
    _wait(g)


# --- control ------------------------------------------------------------------------------------

def _status_word(g):
    """control.status_word(fpu_sw, fpu_top), in IR."""
    b = g.b
    sw = load_field(b, g.s, "fpu_sw")
    top = b.and_(load_field(b, g.s, "fpu_top"), c32(7))
    return b.trunc(b.or_(b.and_(sw, c32(~C.SW_TOP & 0xFFFF)), b.shl(top, c32(C.TOP_SHIFT))), I16)


def op_fnstsw(g, insn):
    if _memory(insn):
        g.store(insn.seg, g.ea(insn), 2, _status_word(g))
    else:
        g.set_reg(EAX, 2, _status_word(g))


def op_fnstcw(g, insn):
    g.store(insn.seg, g.ea(insn), 2, g.b.trunc(load_field(g.b, g.s, "fpu_cw"), I16))


def op_fldcw(g, insn):
    _begin(g, insn)
    v = g.zext(g.load(insn.seg, g.ea(insn), 2), 4)
    _call(g, Kind.CONTROL, X.C_FLDCW, v)


def op_fninit(g, insn):
    _call(g, Kind.CONTROL, X.C_FNINIT, 0)


def op_fnclex(g, insn):
    _call(g, Kind.CONTROL, X.C_FNCLEX, 0)


# --- state images (Python helpers) --------------------------------------------------------------

def _image(g, insn, helper, waiting):
    if waiting:
        _wait(g)
    lin = g.linear(insn.seg, g.ea(insn))
    g.call_python(helper, lin, c32(insn.opsize))


def op_fnstenv(g, insn):
    _image(g, insn, "helper_x87_fnstenv", False)


def op_fldenv(g, insn):
    _image(g, insn, "helper_x87_fldenv", True)


def op_fnsave(g, insn):
    _image(g, insn, "helper_x87_fnsave", False)


def op_frstor(g, insn):
    _image(g, insn, "helper_x87_frstor", True)


def op_fxsave(g, insn):
    _image(g, insn, "helper_x87_fxsave", False)


def op_fxrstor(g, insn):
    _image(g, insn, "helper_x87_fxrstor", False)
