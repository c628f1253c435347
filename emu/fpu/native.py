"""The x87 entry point generated code calls: one numba @cfunc over emu/fpu/x87.py.

    u64 pyemu_x87(CpuState*, i32 kind, i32 a, i32 b, i32 c, u64 x, u64 y)

`kind` selects the operation (the K_* below, with their arguments); it works
on the state's fpu_* fields only.  Memory operands are loaded and stored by
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

SYMBOL = "pyemu_x87"

# kinds: arguments (a, b, c, x, y) -> result
K_ARITH = 0         # op, dst, src, npop        -> 0
K_ARITH_MEM = 1     # op, fmt, -, value          -> 0
K_COMPARE = 2       # kind, src, fmt, value, npop -> EFLAGS bits or NO_EFLAGS (as i32)
K_LOAD = 3          # fmt, -, -, lo, hi          -> 0
K_STORE = 4         # fmt                        -> the bits to store (bits 64-79: fpu_st_hi)
K_STORE_DONE = 5    # npop                       -> 0
K_UNARY = 6         # ModRM byte of D9 E0-FF     -> 0
K_REG = 7           # op, i, cond                -> 0
K_CONTROL = 8       # op, value                  -> 0

_sig = types.uint64(types.voidptr, types.int32, types.int32, types.int32, types.int32, types.uint64,
                    types.uint64)


@cfunc(_sig, cache=True, nogil=True)
def pyemu_x87(sp, kind, a, b, c, x, y):
    s = state_view(sp)[0]
    r = np.uint64(0)
    if kind == K_ARITH:
        X.arith_reg(s, a, b, c, np.int64(x))
    elif kind == K_ARITH_MEM:
        X.arith_mem(s, a, b, x)
    elif kind == K_COMPARE:
        r = np.uint64(np.uint32(np.int32(X.compare(s, a, b, c, x, np.int64(y)))))
    elif kind == K_LOAD:
        X.load(s, a, x, y)
    elif kind == K_STORE:
        r = X.store_prepare(s, a)
    elif kind == K_STORE_DONE:
        X.store_done(s, a)
    elif kind == K_UNARY:
        X.unary(s, a)
    elif kind == K_REG:
        X.reg_op(s, a, b, c)
    else:
        X.control(s, a, b)
    return r


def symbol_addresses():
    return {SYMBOL: pyemu_x87.address}
