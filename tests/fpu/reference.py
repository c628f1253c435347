"""An independent model of x87 rounding, in exact rational arithmetic.

Values are fractions.Fraction; rounding follows IEEE 754 and the x87 rules
(SDM Vol. 1 4.8, 4.9.1.5: tininess after rounding with an unbounded
exponent; masked underflow reported only when inexact; C1 = rounded up).
It shares no code with emu/fpu: the soft-float tests compare the two.
"""
import math
from fractions import Fraction

IE, DE, ZE, OE, UE, PE, C1 = 1, 2, 4, 8, 16, 32, 0x200
NEAR, DOWN, UP, ZERO = 0, 1, 2, 3
BIAS = 16383


def decode80(se, m):
    """(se, m) as ('num', Fraction, sign) / ('inf', sign) / ('nan', ...) / ('invalid',)."""
    sign = se >> 15
    exp = se & 0x7FFF
    if exp == 0x7FFF:
        if not m >> 63:
            return ("invalid",)
        if m << 1 & (2**64 - 1) == 0:
            return ("inf", sign)
        return ("snan" if not (m >> 62) & 1 else "qnan", sign)
    if exp != 0 and not m >> 63:
        return ("invalid",)
    e = (exp if exp else 1) - BIAS - 63
    v = Fraction(m) * Fraction(2) ** e
    return ("num", -v if sign else v, sign, exp == 0 and m != 0)


def _round_int(x, rc, negative):
    """x >= 0 rational -> integer per the rounding mode (negative: the sign of the value)."""
    n = math.floor(x)
    f = x - n
    if f == 0:
        return n
    if rc == NEAR:
        if f > Fraction(1, 2) or (f == Fraction(1, 2) and n % 2 == 1):
            return n + 1
        return n
    if rc == ZERO:
        return n
    if rc == DOWN:
        return n + 1 if negative else n
    return n if negative else n + 1


def ilog2(a):
    """floor(log2(a)) for a positive Fraction."""
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    if Fraction(2) ** (e + 1) <= a:
        e += 1
    return e


def round_value(x, prec, emin, emax, rc):
    """Round the nonzero rational x (masked exceptions): (result Fraction or
    'inf', flags).  The result is exact in the format: prec bits, exponents
    emin..emax, denormals below 2^emin."""
    neg = x < 0
    a = -x if neg else x
    e = ilog2(a)
    q = max(e, emin) - (prec - 1)
    n = _round_int(a / Fraction(2) ** q, rc, neg)
    r = n * Fraction(2) ** q
    flags = 0
    inexact = r != a
    # tininess after rounding with an unbounded exponent
    q2 = e - (prec - 1)
    r2 = _round_int(a / Fraction(2) ** q2, rc, neg) * Fraction(2) ** q2
    tiny = r2 < Fraction(2) ** emin
    if inexact:
        flags |= PE
        if tiny:
            flags |= UE
    if r > a:
        flags |= C1
    if r >= Fraction(2) ** (emax + 1):
        flags = OE | PE
        to_inf = rc == NEAR or (rc == UP and not neg) or (rc == DOWN and neg)
        if to_inf:
            return ("inf", neg), flags | C1
        r = (Fraction(2) ** prec - 1) * Fraction(2) ** (emax - prec + 1)
    return (-r if neg else r), flags


def encode80(v, sign=None):
    """An exact rational (or ('inf', neg)) as (se, m) in the register format."""
    if isinstance(v, tuple):
        return ((1 << 15) if v[1] else 0) | 0x7FFF, 1 << 63
    if v == 0:
        return (1 << 15 if sign else 0), 0
    s = 1 if v < 0 else 0
    a = -v if s else v
    e = ilog2(a)
    if e < 1 - BIAS:
        m = a / Fraction(2) ** (1 - BIAS - 63)
        assert m.denominator == 1
        return s << 15, int(m)
    m = a / Fraction(2) ** (e - 63)
    assert m.denominator == 1 and int(m) >> 63 == 1
    return (s << 15) | (e + BIAS), int(m)


def round80(x, prec, rc, zero_sign=0):
    """Round x to the register format with `prec` bits: (se, m, flags)."""
    if x == 0:
        se, m = encode80(Fraction(0), zero_sign)
        return se, m, 0
    r, flags = round_value(x, prec, 1 - BIAS, BIAS, rc)
    se, m = encode80(r, x < 0)
    return se, m, flags


def sqrt_fraction(x, bits=200):
    """sqrt(x) for x > 0 to `bits` significant bits, plus an inexact nudge below
    the last of them (a square root is never exactly half-way)."""
    k = max(0, (2 * bits - ilog2(x)) // 2 + 1)
    n = x * Fraction(2) ** (2 * k)
    s = math.isqrt(n.numerator // n.denominator)
    r = Fraction(s, 2 ** k)
    if Fraction(s * s) != n:
        r += Fraction(1, 2 ** (k + 2))
    return r
