"""The x87 entry points generated code calls: numba @cfuncs over emu/fpu/x87.py.

Each takes the CpuState pointer first and works on its fpu_* fields only;
memory operands are loaded and stored by generated code (so a fault is an
ordinary, precise guest fault before anything changed).  `SYMBOLS` maps the
names the IR declares (emu/translator/semantics/x87.py) to these functions;
the runtime binds their addresses with llvm.add_symbol.
"""
from numba import cfunc, types

from ..softmmu.native import state_view
from . import x87 as X

_vp, _i32, _u64 = types.voidptr, types.int32, types.uint64


@cfunc(types.void(_vp, _i32, _i32, _i32, _i32), cache=True, nogil=True)
def pyemu_x87_arith(sp, op, dst, src, npop):
    X.arith_reg(state_view(sp)[0], op, dst, src, npop)


@cfunc(types.void(_vp, _i32, _i32, _u64), cache=True, nogil=True)
def pyemu_x87_arith_mem(sp, op, fmt, v):
    X.arith_mem(state_view(sp)[0], op, fmt, v)


@cfunc(_i32(_vp, _i32, _i32, _i32, _u64, _i32), cache=True, nogil=True)
def pyemu_x87_compare(sp, kind, src, fmt, v, npop):
    return X.compare(state_view(sp)[0], kind, src, fmt, v, npop)


@cfunc(types.void(_vp, _i32, _u64, _u64), cache=True, nogil=True)
def pyemu_x87_load(sp, fmt, lo, hi):
    X.load(state_view(sp)[0], fmt, lo, hi)


@cfunc(_u64(_vp, _i32), cache=True, nogil=True)
def pyemu_x87_store_prepare(sp, fmt):
    return X.store_prepare(state_view(sp)[0], fmt)


@cfunc(types.void(_vp, _i32), cache=True, nogil=True)
def pyemu_x87_store_done(sp, npop):
    X.store_done(state_view(sp)[0], npop)


@cfunc(types.void(_vp, _i32), cache=True, nogil=True)
def pyemu_x87_unary(sp, op):
    X.unary(state_view(sp)[0], op)


@cfunc(types.void(_vp, _i32, _i32, _i32), cache=True, nogil=True)
def pyemu_x87_reg(sp, op, i, cond):
    X.reg_op(state_view(sp)[0], op, i, cond)


@cfunc(types.void(_vp, _i32, _i32), cache=True, nogil=True)
def pyemu_x87_control(sp, op, value):
    X.control(state_view(sp)[0], op, value)


SYMBOLS = {f.__name__ if hasattr(f, "__name__") else name: f for name, f in (
    ("pyemu_x87_arith", pyemu_x87_arith),
    ("pyemu_x87_arith_mem", pyemu_x87_arith_mem),
    ("pyemu_x87_compare", pyemu_x87_compare),
    ("pyemu_x87_load", pyemu_x87_load),
    ("pyemu_x87_store_prepare", pyemu_x87_store_prepare),
    ("pyemu_x87_store_done", pyemu_x87_store_done),
    ("pyemu_x87_unary", pyemu_x87_unary),
    ("pyemu_x87_reg", pyemu_x87_reg),
    ("pyemu_x87_control", pyemu_x87_control),
)}


def symbol_addresses():
    return {name: f.address for name, f in SYMBOLS.items()}
