"""Unsigned 128-bit arithmetic on (hi, lo) pairs of uint64, for numba code.

Every value is an np.uint64; shift counts are Python ints and may be 0 or
at least 64 (LLVM leaves a 64-bit shift by 64 undefined, so these helpers
test for it).
"""
import numpy as np
from numba import njit

U64 = np.uint64
Z = U64(0)
ONE = U64(1)
ALL = U64(0xFFFFFFFFFFFFFFFF)
TOP = U64(0x8000000000000000)
LO32 = U64(0xFFFFFFFF)
S32 = U64(32)
S63 = U64(63)


@njit(cache=True, nogil=True)
def shl(x, n):
    if n <= 0:
        return x
    if n >= 64:
        return Z
    return x << U64(n)


@njit(cache=True, nogil=True)
def shr(x, n):
    if n <= 0:
        return x
    if n >= 64:
        return Z
    return x >> U64(n)


@njit(cache=True, nogil=True)
def clz(x):
    """Leading zero bits of a uint64 (64 for 0)."""
    if x == Z:
        return 64
    n = 0
    while x & TOP == Z:
        # 8 bits at a time where possible
        if x >> U64(56) == Z:
            x = x << U64(8)
            n += 8
        else:
            x = x << ONE
            n += 1
    return n


@njit(cache=True, nogil=True)
def shl128(hi, lo, n):
    if n <= 0:
        return hi, lo
    if n >= 128:
        return Z, Z
    if n >= 64:
        return shl(lo, n - 64), Z
    return (hi << U64(n)) | (lo >> U64(64 - n)), lo << U64(n)


@njit(cache=True, nogil=True)
def shr128_jam(hi, lo, n):
    """(hi:lo) >> n, with every bit shifted out OR-ed into the lowest bit."""
    if n <= 0:
        return hi, lo
    if n >= 128:
        return Z, U64(1) if (hi | lo) != Z else Z
    if n >= 64:
        lost = lo | shl(hi, 128 - n)
        nlo = shr(hi, n - 64)
        if lost != Z:
            nlo |= ONE
        return Z, nlo
    lost = lo << U64(64 - n)
    nlo = (lo >> U64(n)) | (hi << U64(64 - n))
    if lost != Z:
        nlo |= ONE
    return hi >> U64(n), nlo


@njit(cache=True, nogil=True)
def add128(ah, al, bh, bl):
    lo = al + bl
    carry = ONE if lo < al else Z
    return ah + bh + carry, lo


@njit(cache=True, nogil=True)
def sub128(ah, al, bh, bl):
    lo = al - bl
    borrow = ONE if al < bl else Z
    return ah - bh - borrow, lo


@njit(cache=True, nogil=True)
def lt128(ah, al, bh, bl):
    return ah < bh or (ah == bh and al < bl)


@njit(cache=True, nogil=True)
def mul64(a, b):
    """The full 128-bit product of two uint64."""
    a0, a1 = a & LO32, a >> S32
    b0, b1 = b & LO32, b >> S32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> S32) + (p01 & LO32) + (p10 & LO32)
    lo = (p00 & LO32) | (mid << S32)
    hi = p11 + (p01 >> S32) + (p10 >> S32) + (mid >> S32)
    return hi, lo


@njit(cache=True, nogil=True)
def div128(nh, nl, d):
    """(nh:nl) // d and the remainder, for nh < d (the quotient fits 64 bits)."""
    q = Z
    r = nh
    for _ in range(64):
        carry = r >> S63
        r = (r << ONE) | (nl >> S63)
        nl = nl << ONE
        q = q << ONE
        if carry != Z or r >= d:
            r = r - d
            q = q | ONE
    return q, r


@njit(cache=True, nogil=True)
def isqrt128(nh, nl):
    """floor(sqrt(nh:nl)) and the remainder (rem_hi, rem_lo), digit by digit."""
    root = Z
    rh = Z
    rl = Z
    for _ in range(64):
        two = nh >> U64(62)
        nh = (nh << U64(2)) | (nl >> U64(62))
        nl = nl << U64(2)
        rh = (rh << U64(2)) | (rl >> U64(62))
        rl = (rl << U64(2)) | two
        th = root >> U64(62)
        tl = (root << U64(2)) | ONE
        if not lt128(rh, rl, th, tl):
            rh, rl = sub128(rh, rl, th, tl)
            root = (root << ONE) | ONE
        else:
            root = root << ONE
    return root, rh, rl
