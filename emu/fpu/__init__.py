"""The x87 FPU, in software, for any host.

* u128.py       128-bit unsigned arithmetic on pairs of uint64 (numba)
* softfloat80.py the 80-bit extended format and its IEEE 754 arithmetic: add,
                sub, mul, div, sqrt, remainder, round to integer, scale,
                compare, conversions to and from the 32/64-bit formats and
                integers, with the x87 rounding and precision control and
                exception flags (numba; no host floating point involved)
* transcend.py  F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS
* bcd.py        18-digit packed BCD (FBLD, FBSTP)
* control.py    the rules the numba FPU and the Python helpers share: the
                state FNINIT leaves, the status word with TOP, the full and
                abridged tag words
* x87.py        the register stack, tags, status word and exception
                responses: one function per instruction (fsin, fchs, ...)
                or family (arith_reg, compare, load, ...), operating on
                the CpuState fields fpu_* (numba)
* kinds.py      Kind: the operations native.py dispatches on
* native.py     the @cfunc entry point generated code calls
* layouts.py    FNSTENV/FNSAVE/FXSAVE memory images (Python helpers)

Generated code never uses the host's x87 or LLVM's x86_fp80 type: every
result is computed with integer arithmetic, so it is the same on every host.
"""
