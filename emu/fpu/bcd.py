"""18-digit packed BCD (SDM Vol. 1 4.7, 8.2.1): FBLD and FBSTP.

Ten bytes: bytes 0-8 hold 18 digits, two per byte, least significant first;
byte 9 bit 7 is the sign.  A value travels as (lo, hi): bytes 0-7 and 8-9.
"""
import numpy as np
from numba import njit

from . import softfloat80 as S
from .u128 import ONE, U64, Z

I64 = np.int64

TEN18 = U64(10 ** 18)
# the packed BCD indefinite (SDM Vol. 1 Table 4-10): FFFF C000 0000 0000 0000
INDEF_LO = U64(0xC000000000000000)
INDEF_HI = 0xFFFF


@njit(cache=True, nogil=True)
def load(lo, hi):
    """FBLD: the value as (se, m), exact.  The SDM leaves digits above 9
    undefined; they weigh as their nibble value here (digit * 10 + digit)."""
    v = Z
    for i in range(8, -1, -1):
        byte = U64(hi & 0xFF) if i == 8 else (lo >> U64(8 * i)) & U64(0xFF)
        v = v * U64(100) + (byte >> U64(4)) * U64(10) + (byte & U64(15))
    se, m = S.from_int(v)
    if (hi >> 15) & 1:
        se |= 0x8000
    return se, m


@njit(cache=True, nogil=True)
def store(se, m, rc):
    """FBSTP: round to an integer in mode rc, then (lo, hi, flags).  NaNs,
    infinities and |values| of 10^18 or more store the BCD indefinite (#IA)."""
    v, flags = S.to_int(se, m, rc, 64)
    if flags & S.F_IE:
        return INDEF_LO, INDEF_HI, S.F_IE
    neg = (se >> 15) & 1
    mag = ((~v) + ONE) if (v >> U64(63)) else v
    if mag >= TEN18:
        return INDEF_LO, INDEF_HI, S.F_IE
    lo = Z
    hi = 0
    for i in range(9):
        two = mag % U64(100)
        mag = mag // U64(100)
        byte = ((two // U64(10)) << U64(4)) | (two % U64(10))
        if i < 8:
            lo |= byte << U64(8 * i)
        else:
            hi = I64(byte)
    if neg:
        hi |= 0x8000
    return lo, hi, flags
