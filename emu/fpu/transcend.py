"""x87 transcendental instructions: F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS.

Accuracy: the core function is evaluated in IEEE double (libm through
numba's math module), so a result is within about one double ulp of the
exact function of the operand rounded to double; that is what QEMU does
for FSIN/FCOS/FPTAN/FSINCOS (its results are the oracle the tests compare
with), and no program can rely on more, since real x87 hardware reduces
trigonometric arguments with a 66-bit pi.  The double result converts to the
register format exactly.  Where a double would lose range the computation
is arranged to stay exact: log2 of an extended value is its exponent plus
log2 of the significand, the products by ST(1) and small quotients in FPATAN
use the extended soft-float, and F2XM1 uses expm1 (no cancellation near 0).

Special operands (NaN, infinities, zeros, invalid encodings) follow the
tables of SDM Vol. 2 for each instruction; every result that is not exact
raises #P.  Each function returns (se, m, flags) like softfloat80.
"""
import math

import numpy as np
from numba import njit

from . import softfloat80 as S
from .u128 import ONE, TOP, U64, Z

I64 = np.int64

TWO63 = 9223372036854775808.0
LN2 = 0.6931471805599453
LOG2E = 1.4426950408889634

SIN, COS, TAN = 0, 1, 2         # trig's `which`

# pi, pi/2, pi/4, 3pi/4 rounded to the register format (to nearest)
PI_SE, PI_M = 0x4000, U64(0xC90FDAA22168C235)
PI2_SE, PI2_M = 0x3FFF, U64(0xC90FDAA22168C235)
PI4_SE, PI4_M = 0x3FFE, U64(0xC90FDAA22168C235)
PI34_SE, PI34_M = 0x4000, U64(0x96CBE3F9990E91A8)
ONE_SE, ONE_M = 0x3FFF, TOP
LN2_SE, LN2_M = 0x3FFE, U64(0xB17217F7D1CF79AC)

# FYL2XP1's operand range, as QEMU takes it from AMD's manuals: sqrt(2)/2 - 1
# <= x <= sqrt(2) - 1 (Intel documents |x| < 1 - sqrt(2)/2), outside: #IA
L2P1_NEG = U64(0x95F619980C4336F7)
L2P1_POS = U64(0xD413CCCFE7799211)


@njit(cache=True, nogil=True)
def to_double(se, m, rc):
    """A finite (se, m) rounded to a double in rounding mode rc."""
    bits, _ = S.to_ieee(se, m, 0x3F | (rc << 10), 64)
    sign = -1.0 if (bits >> U64(63)) else 1.0
    exp = I64((bits >> U64(52)) & U64(0x7FF))
    frac = bits & U64((1 << 52) - 1)
    if exp == 0x7FF:
        return sign * math.inf
    if exp == 0:
        return sign * math.ldexp(float(frac), -1074)
    return sign * math.ldexp(float(frac | U64(1 << 52)), exp - 1075)


@njit(cache=True, nogil=True)
def from_double(d):
    """A double as (se, m), exactly (a NaN becomes the indefinite)."""
    if d != d:
        return S.INDEF_SE, S.INDEF_M
    s = 0
    if d < 0.0 or (d == 0.0 and math.copysign(1.0, d) < 0.0):
        s = 1
        d = -d
    if d == 0.0:
        return s << 15, Z
    if d == math.inf:
        return (s << 15) | 0x7FFF, TOP
    mant, e = math.frexp(d)
    return (s << 15) | (e - 1 + S.EXT_BIAS), U64(mant * 18446744073709551616.0)


@njit(cache=True, nogil=True)
def _nan1(se, m, k):
    """One operand that is a NaN or an invalid encoding: (done, se, m, flags)."""
    if k == S.K_INVALID:
        return True, S.INDEF_SE, S.INDEF_M, S.F_IE
    if k == S.K_SNAN:
        return True, se, m | S.QUIET, S.F_IE
    if k == S.K_QNAN:
        return True, se, m, 0
    return False, se, m, (S.F_DE if k == S.K_DENORMAL else 0)


@njit(cache=True, nogil=True)
def _inexact(se, m, flags):
    """A computed result: #P, and #U when it lies below the normal range."""
    flags |= S.F_PE
    if (se & 0x7FFF) == 0 and m != Z:
        flags |= S.F_UE
    return se, m, flags


@njit(cache=True, nogil=True)
def out_of_range(se, m):
    """FSIN/FCOS/FSINCOS/FPTAN: |x| >= 2^63 leaves ST(0) alone with C2 set."""
    k = S.classify(se, m)
    if k != S.K_NORMAL:
        return False
    return (se & 0x7FFF) >= S.EXT_BIAS + 63


@njit(cache=True, nogil=True)
def trig(se, m, cw, which):
    """which: SIN, COS or TAN (C2 handling is the caller's)."""
    k = S.classify(se, m)
    done, rse, rm, flags = _nan1(se, m, k)
    if done:
        return rse, rm, flags
    if k == S.K_INF:
        return S.INDEF_SE, S.INDEF_M, S.F_IE
    if k == S.K_ZERO:
        if which == COS:
            return ONE_SE, ONE_M, 0
        return se, m, 0
    x = to_double(se, m, S.rc_of(cw))
    if which == SIN:
        r = math.sin(x)
    elif which == COS:
        r = math.cos(x)
    else:
        r = math.tan(x)
    rse, rm = from_double(r)
    return _inexact(rse, rm, flags)


@njit(cache=True, nogil=True)
def f2xm1(se, m, cw):
    """2^x - 1.  The SDM defines it for -1 <= x <= +1 and leaves other
    operands undefined; they are #IA (QEMU does the same)."""
    k = S.classify(se, m)
    done, rse, rm, flags = _nan1(se, m, k)
    if done:
        return rse, rm, flags
    if k == S.K_ZERO:
        return se, m, 0
    exp = se & 0x7FFF
    if exp > S.EXT_BIAS or (exp == S.EXT_BIAS and m != TOP):
        return S.INDEF_SE, S.INDEF_M, S.F_IE
    if exp == S.EXT_BIAS:
        if S.sign_of(se):
            return 0xBFFE, TOP, 0          # 2^-1 - 1 = -0.5
        return se, m, 0                    # 2^1 - 1 = 1
    if exp < S.EXT_BIAS - 79:
        # 2^x - 1 = x ln 2 to far below an ulp (and x may lie beyond double range)
        rse, rm, f = S.mul80(se, m, LN2_SE, LN2_M, 64, cw)
        return _inexact(rse, rm, flags | (f & ~S.F_PE))
    x = to_double(se, m, S.rc_of(cw))
    rse, rm = from_double(math.expm1(x * LN2))
    return _inexact(rse, rm, flags)


@njit(cache=True, nogil=True)
def _log2_parts(se, m):
    """log2 of a finite positive value, as a double: from the exponent and
    significand, or, within [1/2, 2), from log1p of x - 1 (exact in the
    extended format), so that x near 1 keeps its relative accuracy."""
    e, sig = S.unpack(se, m)
    if e == 0 or e == -1:
        tse, tm, _ = S.add80(se, m, ONE_SE, ONE_M, 1, 64, 0x37F)
        return math.log1p(to_double(tse, tm, S.RC_NEAR)) * LOG2E
    f = float(sig >> U64(11)) * (1.0 / 4503599627370496.0)    # [1, 2)
    return float(e) + math.log2(f)


@njit(cache=True, nogil=True)
def _times(y_se, y_m, d, cw, flags):
    """y * d (d a double) in the extended format, the result marked inexact."""
    dse, dm = from_double(d)
    rse, rm, f = S.mul80(y_se, y_m, dse, dm, 64, cw)
    return _inexact(rse, rm, flags | (f & ~S.F_PE))


@njit(cache=True, nogil=True)
def _nan2(x_se, x_m, kx, y_se, y_m, ky):
    """FYL2X, FYL2XP1, FPATAN: x = ST(0), y = ST(1); the result replaces ST(1)."""
    if kx == S.K_SNAN:
        return True, x_se, x_m | S.QUIET, S.F_IE
    if ky == S.K_SNAN:
        return True, y_se, y_m | S.QUIET, S.F_IE
    if kx == S.K_INVALID or ky == S.K_INVALID:
        return True, S.INDEF_SE, S.INDEF_M, S.F_IE
    if kx == S.K_QNAN:
        return True, x_se, x_m, 0
    if ky == S.K_QNAN:
        return True, y_se, y_m, 0
    f = S.F_DE if (kx == S.K_DENORMAL or ky == S.K_DENORMAL) else 0
    return False, 0, Z, f


@njit(cache=True, nogil=True)
def fyl2x(x_se, x_m, y_se, y_m, cw):
    """y * log2(x)."""
    kx = S.classify(x_se, x_m)
    ky = S.classify(y_se, y_m)
    done, rse, rm, flags = _nan2(x_se, x_m, kx, y_se, y_m, ky)
    if done:
        return rse, rm, flags
    xs = S.sign_of(x_se)
    ys = S.sign_of(y_se)
    if xs and kx != S.K_ZERO:
        return S.INDEF_SE, S.INDEF_M, S.F_IE
    rel, _ = S.compare80(x_se, x_m, ONE_SE, ONE_M, True)
    if ky == S.K_INF:
        if rel == S.REL_LESS:
            return y_se ^ 0x8000, y_m, flags
        if rel == S.REL_GREATER:
            return y_se, y_m, flags
        return S.INDEF_SE, S.INDEF_M, S.F_IE
    if kx == S.K_INF:
        if ky == S.K_ZERO:
            return S.INDEF_SE, S.INDEF_M, S.F_IE
        return x_se ^ (0x8000 if ys else 0), x_m, flags
    if kx == S.K_ZERO:
        if ky == S.K_ZERO:
            return S.INDEF_SE, S.INDEF_M, S.F_IE
        ise, im = S.inf80(1 - ys)
        return ise, im, flags | S.F_ZE
    if ky == S.K_ZERO:
        if rel == S.REL_LESS:
            return y_se ^ 0x8000, y_m, flags
        return y_se, y_m, flags
    if rel == S.REL_EQUAL:
        return ys << 15, Z, flags
    e, sig = S.unpack(x_se, x_m)
    if sig == TOP:
        # an exact power of two: log2 is the exponent, the product may be exact
        ese, em = S.from_small_int(e)
        return S.mul80(ese, em, y_se, y_m, 64, cw)
    return _times(y_se, y_m, _log2_parts(x_se, x_m), cw, flags)


@njit(cache=True, nogil=True)
def fyl2xp1(x_se, x_m, y_se, y_m, cw):
    """y * log2(x + 1)."""
    kx = S.classify(x_se, x_m)
    ky = S.classify(y_se, y_m)
    done, rse, rm, flags = _nan2(x_se, x_m, kx, y_se, y_m, ky)
    if done:
        return rse, rm, flags
    xexp = x_se & 0x7FFF
    bound = L2P1_NEG if S.sign_of(x_se) else L2P1_POS
    if kx == S.K_INF or xexp > 0x3FFD or (xexp == 0x3FFD and x_m > bound):
        return S.INDEF_SE, S.INDEF_M, S.F_IE
    if kx == S.K_ZERO or ky == S.K_ZERO or ky == S.K_INF:
        rse, rm, f = S.mul80(x_se, x_m, y_se, y_m, 64, cw)
        return rse, rm, f | flags
    e, _ = S.unpack(x_se, x_m)
    if e < -1000:
        # log2(1 + x) = x * log2(e) to far below a double ulp, and x is beyond double range
        lse, lm = from_double(LOG2E)
        pse, pm, f = S.mul80(x_se, x_m, lse, lm, 64, cw)
        rse, rm, f2 = S.mul80(pse, pm, y_se, y_m, 64, cw)
        return _inexact(rse, rm, flags | ((f | f2) & ~S.F_PE))
    x = to_double(x_se, x_m, S.RC_NEAR)
    return _times(y_se, y_m, math.log1p(x) * LOG2E, cw, flags)


@njit(cache=True, nogil=True)
def fpatan(x_se, x_m, y_se, y_m, cw):
    """atan2(y, x) = the angle of (x, y), in [-pi, pi]."""
    kx = S.classify(x_se, x_m)
    ky = S.classify(y_se, y_m)
    done, rse, rm, flags = _nan2(x_se, x_m, kx, y_se, y_m, ky)
    if done:
        return rse, rm, flags
    xs = S.sign_of(x_se)
    ys = S.sign_of(y_se)
    sgn = ys << 15
    if ky == S.K_ZERO and not xs:
        return y_se, y_m, flags
    ex = 0
    ey = 0
    if kx != S.K_ZERO and kx != S.K_INF:
        ex, _ = S.unpack(x_se, x_m)
    if ky != S.K_ZERO and ky != S.K_INF:
        ey, _ = S.unpack(y_se, y_m)
    finite = kx != S.K_ZERO and kx != S.K_INF and ky != S.K_ZERO and ky != S.K_INF
    if not xs and ((kx == S.K_INF and ky != S.K_INF) or (finite and ex - ey >= 80)):
        # y/x is the result up to rounding, and stays inexact
        rse, rm, f = S.div80(y_se, y_m, x_se, x_m, 64, cw)
        return _inexact(rse, rm, flags | (f & ~S.F_PE))
    if ky == S.K_ZERO:
        return _inexact(sgn | PI_SE, PI_M, flags)
    if ky == S.K_INF:
        if kx == S.K_INF:
            if xs:
                return _inexact(sgn | PI34_SE, PI34_M, flags)
            return _inexact(sgn | PI4_SE, PI4_M, flags)
        return _inexact(sgn | PI2_SE, PI2_M, flags)
    if kx == S.K_ZERO or ey - ex >= 80:
        return _inexact(sgn | PI2_SE, PI2_M, flags)
    if kx == S.K_INF or ex - ey >= 80:
        return _inexact(sgn | PI_SE, PI_M, flags)
    # both finite and nonzero, exponents close: scale both into double range
    shift = max(ex, ey)
    xd = math.ldexp(_mant(x_se, x_m), ex - shift)
    yd = math.ldexp(_mant(y_se, y_m), ey - shift)
    rse, rm = from_double(math.atan2(yd, xd))
    return _inexact(rse, rm, flags)


@njit(cache=True, nogil=True)
def _mant(se, m):
    """The signed significand of a finite nonzero value as a double in [1, 2), rounded."""
    e, sig = S.unpack(se, m)
    # round the 64-bit significand to 53 bits, to nearest even
    kept, carry, _, _ = S.round_sig(0, sig, Z, 53, S.RC_NEAR)
    f = 2.0 if carry else float(kept >> U64(11)) * (1.0 / 4503599627370496.0)
    return -f if S.sign_of(se) else f
