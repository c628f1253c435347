"""The x87 entry point generated code calls: one numba @cfunc over emu/fpu/x87.py.

    u64 pyemu_x87(CpuState*, i32 kind, i32 a, i32 b, i32 c, u64 x, u64 y)

`kind` selects the operation (kinds.py names them and their arguments); it
works on the state's fpu_* fields only.  Memory operands are loaded and stored by
generated code (so a fault is an ordinary, precise guest fault before
anything changed).  One entry point rather than one per operation: numba
compiles and optimises the soft-float once per entry point, and this is the
cost a fresh checkout pays on its first run.  runtime.py binds the address
under SYMBOL with llvm.add_symbol.
"""
import numpy as np
from numba import cfunc, types

from ..softmmu.native import state_view
from . import x87 as X
from .kinds import Kind

SYMBOL = "pyemu_x87"

_sig = types.uint64(types.voidptr, types.int32, types.int32, types.int32, types.int32, types.uint64,
                    types.uint64)


@cfunc(_sig, cache=True, nogil=True)
def pyemu_x87(sp, kind, a, b, c, x, y):
    s = state_view(sp)[0]
    r = np.uint64(0)
    if kind == Kind.ARITH:
        X.arith_reg(s, a, b, c, np.int64(x))
    elif kind == Kind.ARITH_MEM:
        X.arith_mem(s, a, b, x)
    elif kind == Kind.COMPARE:
        r = np.uint64(np.uint32(np.int32(X.compare(s, a, b, c, x, np.int64(y)))))
    elif kind == Kind.LOAD:
        X.load(s, a, x, y)
    elif kind == Kind.STORE:
        r = X.store_prepare(s, a)
    elif kind == Kind.STORE_DONE:
        X.store_done(s, a)
    elif kind == Kind.REG:
        X.reg_op(s, a, b, c)
    elif kind == Kind.CONTROL:
        X.control(s, a, b)
    # the D9 E0-FF group: the stack is the only operand
    elif kind == Kind.FCHS:
        X.fchs(s)
    elif kind == Kind.FABS:
        X.fabs(s)
    elif kind == Kind.FTST:
        X.ftst(s)
    elif kind == Kind.FXAM:
        X.fxam(s)
    elif kind == Kind.FLD1:
        X.fld1(s)
    elif kind == Kind.FLDL2T:
        X.fldl2t(s)
    elif kind == Kind.FLDL2E:
        X.fldl2e(s)
    elif kind == Kind.FLDPI:
        X.fldpi(s)
    elif kind == Kind.FLDLG2:
        X.fldlg2(s)
    elif kind == Kind.FLDLN2:
        X.fldln2(s)
    elif kind == Kind.FLDZ:
        X.fldz(s)
    elif kind == Kind.F2XM1:
        X.f2xm1(s)
    elif kind == Kind.FYL2X:
        X.fyl2x(s)
    elif kind == Kind.FPTAN:
        X.fptan(s)
    elif kind == Kind.FPATAN:
        X.fpatan(s)
    elif kind == Kind.FXTRACT:
        X.fxtract(s)
    elif kind == Kind.FPREM1:
        X.fprem1(s)
    elif kind == Kind.FDECSTP:
        X.fdecstp(s)
    elif kind == Kind.FINCSTP:
        X.fincstp(s)
    elif kind == Kind.FPREM:
        X.fprem(s)
    elif kind == Kind.FYL2XP1:
        X.fyl2xp1(s)
    elif kind == Kind.FSQRT:
        X.fsqrt(s)
    elif kind == Kind.FSINCOS:
        X.fsincos(s)
    elif kind == Kind.FRNDINT:
        X.frndint(s)
    elif kind == Kind.FSCALE:
        X.fscale(s)
    elif kind == Kind.FSIN:
        X.fsin(s)
    elif kind == Kind.FCOS:
        X.fcos(s)
    return r


def symbol_addresses():
    return {SYMBOL: pyemu_x87.address}
