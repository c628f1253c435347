"""The soft-float against an exact rational model (tests/fpu/reference.py).

Finite operands only here (zeros, denormals, pseudo-denormals, the whole
exponent range, every precision and rounding mode); NaN, infinity and
invalid-encoding rules are tested case by case in test_softfloat_special.py.
Every result and flag (IE ... PE, and C1 as the round-up bit) must match.
"""
import random

import numpy as np
import pytest

from emu.fpu import softfloat80 as S

from . import reference as R
from .values import random_finite

N = 3000
PRECS = (24, 53, 64)


def cw_for(prec, rc):
    pc = {24: 0, 53: 2, 64: 3}[prec]
    return 0x3F | (pc << 8) | (rc << 10)


def got(r):
    se, m, f = r[0], r[1], r[2]
    return int(se), int(m), int(f)


def value_of(se, m):
    d = R.decode80(se, m)
    assert d[0] == "num"
    return d[1], d[3]


def expected_flags(exact_flags, denormal_operand):
    return exact_flags | (R.DE if denormal_operand else 0)


def show(se, m):
    return "%04x:%016x" % (se, m)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_arithmetic_matches_exact_rounding(op):
    rng = random.Random("sf-" + op)
    bad = []
    for i in range(N):
        a = random_finite(rng)
        b = random_finite(rng)
        if op in ("add", "sub") and rng.random() < 0.3:
            # nearby magnitudes: cancellation
            b = ((a[0] & 0x7FFF) | (b[0] & 0x8000), b[1] | (1 << 63 if a[0] & 0x7FFF else 0))
        prec = rng.choice(PRECS)
        rc = rng.randrange(4)
        cw = cw_for(prec, rc)
        va, da = value_of(*a)
        vb, db = value_of(*b)
        if op == "add":
            r = S.add80(a[0], np.uint64(a[1]), b[0], np.uint64(b[1]), 0, prec, cw)
            x = va + vb
        elif op == "sub":
            r = S.add80(a[0], np.uint64(a[1]), b[0], np.uint64(b[1]), 1, prec, cw)
            x = va - vb
        elif op == "mul":
            r = S.mul80(a[0], np.uint64(a[1]), b[0], np.uint64(b[1]), prec, cw)
            x = va * vb
        else:
            r = S.div80(a[0], np.uint64(a[1]), b[0], np.uint64(b[1]), prec, cw)
            x = va / vb
        if x == 0:
            zsign = 1 if rc == R.DOWN else 0
            if op in ("mul", "div"):
                zsign = (a[0] ^ b[0]) >> 15
            want = R.round80(x, prec, rc, zsign)
        else:
            want = R.round80(x, prec, rc)
        want = (want[0], want[1], expected_flags(want[2], da or db))
        if got(r) != want:
            bad.append("%s %s %s prec %d rc %d: got %s flags %#x, want %s flags %#x" % (
                show(*a), op, show(*b), prec, rc, show(*got(r)[:2]), got(r)[2], show(*want[:2]), want[2]))
    assert not bad, "%d of %d differ:\n%s" % (len(bad), N, "\n".join(bad[:10]))


def test_sqrt_matches_exact_rounding():
    rng = random.Random("sf-sqrt")
    bad = []
    for i in range(N):
        a = random_finite(rng)
        a = (a[0] & 0x7FFF, a[1])
        prec = rng.choice(PRECS)
        rc = rng.randrange(4)
        va, da = value_of(*a)
        r = S.sqrt80(a[0], np.uint64(a[1]), prec, cw_for(prec, rc))
        want = R.round80(R.sqrt_fraction(va), prec, rc)
        want = (want[0], want[1], expected_flags(want[2], da))
        if got(r) != want:
            bad.append("sqrt %s prec %d rc %d: got %s %#x want %s %#x" % (
                show(*a), prec, rc, show(*got(r)[:2]), got(r)[2], show(*want[:2]), want[2]))
    assert not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad[:10]))


@pytest.mark.parametrize("bits", [32, 64])
def test_store_to_memory_format_matches_exact_rounding(bits):
    """FST m32/m64: the memory format's range and precision, rounding control only."""
    rng = random.Random("sf-to%d" % bits)
    fb, eb = (23, 8) if bits == 32 else (52, 11)
    bias = (1 << (eb - 1)) - 1
    bad = []
    for i in range(N):
        a = random_finite(rng)
        if rng.random() < 0.7:
            # near the memory format's own range
            exp = 0x3FFF + rng.randrange(-bias - fb - 5, bias + 3)
            a = ((a[0] & 0x8000) | exp, a[1] | (1 << 63))
        rc = rng.randrange(4)
        cw = 0x37F | (rc << 10)
        va, da = value_of(*a)
        v, f = S.to_ieee(a[0], np.uint64(a[1]), cw, bits)
        r, wf = R.round_value(va, fb + 1, 1 - bias, bias, rc)
        sign = a[0] >> 15
        if isinstance(r, tuple):
            want = (sign << (bits - 1)) | (((1 << eb) - 1) << fb)
        else:
            mag = abs(r)
            if mag == 0:
                want = sign << (bits - 1)
            elif mag < R.Fraction(2) ** (1 - bias):
                want = (sign << (bits - 1)) | int(mag / R.Fraction(2) ** (1 - bias - fb))
            else:
                e = R.ilog2(mag)
                frac = int(mag / R.Fraction(2) ** (e - fb)) - (1 << fb)
                want = (sign << (bits - 1)) | ((e + bias) << fb) | frac
        if (int(v), int(f)) != (want, wf):
            bad.append("%s rc %d: got %x %#x want %x %#x" % (show(*a), rc, int(v), int(f), want, wf))
    assert not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad[:10]))


@pytest.mark.parametrize("bits", [16, 32, 64])
def test_to_integer_matches_exact_rounding(bits):
    rng = random.Random("sf-int%d" % bits)
    bad = []
    for i in range(N):
        a = random_finite(rng)
        exp = 0x3FFF + rng.randrange(-3, bits + 2)
        a = ((a[0] & 0x8000) | exp, a[1] | (1 << 63))
        rc = rng.randrange(4)
        va, _ = value_of(*a)
        n = R._round_int(abs(va), rc, va < 0)
        n = -n if va < 0 else n
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if lo <= n <= hi:
            want = (n & ((1 << 64) - 1), (R.PE if n != va else 0) | (R.C1 if abs(n) > abs(va) else 0))
        else:
            want = (1 << (bits - 1), R.IE)
        v, f = S.to_int(a[0], np.uint64(a[1]), rc, bits)
        if (int(v), int(f)) != want:
            bad.append("%s rc %d: got %x %#x want %x %#x" % (show(*a), rc, int(v), int(f), *want))
    assert not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad[:10]))


def test_round_to_integer_matches_exact_rounding():
    rng = random.Random("sf-rndint")
    bad = []
    for i in range(N):
        a = random_finite(rng, denormals=0.05)
        if rng.random() < 0.8:
            a = ((a[0] & 0x8000) | (0x3FFF + rng.randrange(-3, 66)), a[1] | (1 << 63))
        rc = rng.randrange(4)
        va, da = value_of(*a)
        n = R._round_int(abs(va), rc, va < 0)
        want_v = R.Fraction(-n if va < 0 else n)
        se, m = R.encode80(want_v, a[0] >> 15)
        want = (se, m, (R.PE if n != abs(va) else 0) | (R.C1 if n > abs(va) else 0) | (R.DE if da else 0))
        r = got(S.round_int80(a[0], np.uint64(a[1]), 0x37F | (rc << 10)))
        if r != want:
            bad.append("%s rc %d: got %s %#x want %s %#x" % (show(*a), rc, show(*r[:2]), r[2], show(*want[:2]), want[2]))
    assert not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad[:10]))


@pytest.mark.parametrize("ieee", [False, True])
def test_remainder_is_exact(ieee):
    """FPREM/FPREM1 with exponents less than 64 apart: r = a - q*b exactly, q
    truncated (FPREM) or rounded to nearest even (FPREM1), low quotient bits."""
    rng = random.Random("sf-rem%d" % ieee)
    bad = []
    for i in range(N):
        a = random_finite(rng)
        b = random_finite(rng)
        d = rng.randrange(-3, 64)
        ea = (b[0] & 0x7FFF) + d
        if not 0 < ea < 0x7FFF:
            continue
        a = ((a[0] & 0x8000) | ea, a[1] | (1 << 63))
        va, da = value_of(*a)
        vb, db = value_of(*b)
        dtrue = R.ilog2(abs(va)) - R.ilog2(abs(vb))
        partial = dtrue >= 64
        if partial:
            # the partial reduction: by a multiple of b * 2^(d - n), truncated
            n = 32 + dtrue % 32
            vb = vb * R.Fraction(2) ** (dtrue - n)
        qx = va / vb
        if ieee and not partial:
            q = R._round_int(abs(qx), R.NEAR, False)
        else:
            q = int(abs(qx))
        q = -q if qx < 0 else q
        rem = va - q * vb
        se, m = R.encode80(rem, a[0] >> 15)
        want = (se, m, R.DE if (da or db) else 0, 0 if partial else abs(q) & 7, partial)
        r = S.rem80(a[0], np.uint64(a[1]), b[0], np.uint64(b[1]), ieee, 0x37F)
        gotv = (int(r[0]), int(r[1]), int(r[2]), 0 if r[4] else int(r[3]), bool(r[4]))
        if gotv != want:
            bad.append("%s rem %s: got %s %#x q%d %s want %s %#x q%d %s" % (
                show(*a), show(*b), show(*gotv[:2]), gotv[2], gotv[3], gotv[4], show(*want[:2]), want[2],
                want[3], want[4]))
    assert not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad[:10]))
