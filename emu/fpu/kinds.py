"""The operations of the native FPU: the `kind` argument of pyemu_x87
(emu/fpu/native.py), a name for every x87 operation the generated code asks for.

The first ones carry their operands in the other arguments (a, b, c, x, y):

    ARITH       op (OP_*), dst, src, npop           -> 0
    ARITH_MEM   op, fmt (FMT_*), -, value           -> 0
    COMPARE     kind (CMP_*), src, fmt, value, npop -> EFLAGS bits or NO_EFLAGS (as i32)
    LOAD        fmt, -, -, lo, hi                   -> 0
    STORE       fmt                                 -> the bits to store (bits 64-79: fpu_st_hi)
    STORE_DONE  npop                                -> 0
    REG         op (R_*), i, cond                   -> 0
    CONTROL     op (C_*), value                     -> 0

The others are the instructions of the D9 E0-FF group, which have no operand
but the stack: each is its function of the same name in x87.py.
"""
from enum import IntEnum


class Kind(IntEnum):
    ARITH = 0
    ARITH_MEM = 1
    COMPARE = 2
    LOAD = 3
    STORE = 4
    STORE_DONE = 5
    REG = 7
    CONTROL = 8
    FCHS = 9
    FABS = 10
    FTST = 11
    FXAM = 12
    FLD1 = 13
    FLDL2T = 14
    FLDL2E = 15
    FLDPI = 16
    FLDLG2 = 17
    FLDLN2 = 18
    FLDZ = 19
    F2XM1 = 20
    FYL2X = 21
    FPTAN = 22
    FPATAN = 23
    FXTRACT = 24
    FPREM1 = 25
    FDECSTP = 26
    FINCSTP = 27
    FPREM = 28
    FYL2XP1 = 29
    FSQRT = 30
    FSINCOS = 31
    FRNDINT = 32
    FSCALE = 33
    FSIN = 34
    FCOS = 35
