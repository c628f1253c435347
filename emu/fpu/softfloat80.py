"""The x87 80-bit extended format and IEEE 754 arithmetic on it, in integers.

A value travels as (se, m): se = sign << 15 | biased exponent (16 bits), m =
the 64-bit significand with its explicit integer bit 63 (Intel SDM Vol. 1
4.2.2, 8.2.2).  Operations return (se, m, flags), flags being the x87
exception bits (F_IE ... F_PE, the same bits as in the status word) plus F_C1
when the result was rounded up in magnitude (C1 as the "round-up" bit, SDM
Vol. 1 8.1.3.1).

Inside, a finite nonzero number is (sign, e, hi, lo): value = (hi:lo) / 2^127
* 2^e, hi having bit 63 set (normalised), e unbiased.  `round_finite` rounds
such a value to `prec` significand bits within an exponent range [emin, emax]
in rounding mode rc; the same routine serves the register format (precision
control 24/53/64 bits, the extended exponent range: SDM Vol. 1 8.1.5.2) and
the 32/64-bit memory formats.

Operand classes (SDM Vol. 1 8.2.2, Table 8-3): the 387 and later reject
unnormals, pseudo-NaNs and pseudo-infinities (exponent nonzero, integer bit
clear) as invalid operands (IE, QNaN indefinite); pseudo-denormals (exponent
0, integer bit set) are accepted as the value they denote, with #D.

Exceptions follow SDM Vol. 1 4.9.1-4.9.2: invalid operations and NaN
operands first, then the denormal operand (#D), division by zero, and from
the rounding: overflow, underflow (tininess detected after rounding with an
unbounded exponent, 4.9.1.5; reported when masked only if also inexact) and
precision.  `ue_masked`/`oe_masked` select the unmasked responses for
register destinations: the rounded result with its exponent biased by
+-24576 (8.5.4, 8.5.5).
"""
import numpy as np
from numba import njit

I64 = np.int64
from .u128 import (ALL, ONE, TOP, U64, Z, add128, clz, div128, isqrt128, lt128, mul64, shl,
                   shl128, shr, shr128_jam, sub128)

# exception flags (x87 status word bits 0-5) and the round-up indication
F_IE, F_DE, F_ZE, F_OE, F_UE, F_PE = 1, 2, 4, 8, 16, 32
F_C1 = 0x200

# rounding control (control word bits 10-11)
RC_NEAR, RC_DOWN, RC_UP, RC_ZERO = 0, 1, 2, 3

EXT_BIAS = 16383
EXT_EMIN, EXT_EMAX = -16382, 16383
BIAS_ADJUST = 24576          # SDM Vol. 1 8.5.4: unmasked overflow/underflow exponent bias

# operand classes
K_ZERO, K_NORMAL, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_INVALID = range(7)

QUIET = U64(1 << 62)
# the QNaN floating-point indefinite (SDM Vol. 1 Table 4-3): negative, 1.1000...
INDEF_SE = 0xFFFF
INDEF_M = U64(0xC000000000000000)


# --- classification and unpacking -------------------------------------------------------

@njit(cache=True, nogil=True)
def classify(se, m):
    exp = se & 0x7FFF
    if exp == 0:
        return K_ZERO if m == Z else K_DENORMAL
    if m & TOP == Z:
        return K_INVALID          # unnormal, pseudo-infinity, pseudo-NaN
    if exp == 0x7FFF:
        if (m << ONE) == Z:
            return K_INF
        return K_QNAN if m & QUIET else K_SNAN
    return K_NORMAL


@njit(cache=True, nogil=True)
def is_nan(k):
    return k == K_QNAN or k == K_SNAN


@njit(cache=True, nogil=True)
def unpack(se, m):
    """A finite nonzero (se, m) as (e, sig) with sig normalised: value = sig * 2^(e-63)."""
    exp = se & 0x7FFF
    if exp == 0:
        n = clz(m)
        return EXT_EMIN - n, m << U64(n)
    return exp - EXT_BIAS, m


@njit(cache=True, nogil=True)
def sign_of(se):
    return (se >> 15) & 1


@njit(cache=True, nogil=True)
def rc_of(cw):
    return (cw >> 10) & 3


@njit(cache=True, nogil=True)
def prec_of(cw):
    """Precision control (SDM Vol. 1 8.1.5.2): 00 single, 10 double, 11 extended;
    the reserved 01 behaves as extended."""
    pc = (cw >> 8) & 3
    if pc == 0:
        return 24
    if pc == 2:
        return 53
    return 64


@njit(cache=True, nogil=True)
def masked(cw, flag):
    return (cw & flag) != 0


# --- rounding -------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def round_sig(sign, hi, lo, prec, rc):
    """Round the 128-bit significand hi:lo to its top `prec` bits (1..64).

    Returns (kept, carry, inexact, up): kept has its low 64-prec bits clear;
    carry: the increment overflowed 64 bits (kept is then 2^63, one binade up);
    up: the magnitude was increased."""
    if prec >= 64:
        kept = hi
        half = (lo >> U64(63)) != Z
        rest = (lo << ONE) != Z
        unit = ONE
    else:
        sh = 64 - prec
        unit = ONE << U64(sh)
        mask = unit - ONE
        half = (hi >> U64(sh - 1)) & ONE != Z
        rest = (hi & (mask >> ONE)) != Z or lo != Z
        kept = hi & ~mask
    inexact = half or rest
    if rc == RC_NEAR:
        inc = half and (rest or (kept & unit) != Z)
    elif rc == RC_ZERO:
        inc = False
    elif rc == RC_DOWN:
        inc = sign == 1 and inexact
    else:
        inc = sign == 0 and inexact
    carry = False
    if inc:
        kept = kept + unit
        if kept == Z:
            kept = TOP
            carry = True
    return kept, carry, inexact, inc


@njit(cache=True, nogil=True)
def max_sig(prec):
    return ALL << U64(64 - prec) if prec < 64 else ALL


@njit(cache=True, nogil=True)
def round_finite(sign, e, hi, lo, prec, emin, emax, rc, ue_masked, oe_masked):
    """Round value = (hi:lo)/2^127 * 2^e (hi normalised) into [emin, emax].

    Returns (e_out, kept, flags).  kept without bit 63 is a denormal or zero
    (e_out = emin then); e_out = emax + 1 with kept = 2^63 is an infinity.
    With an unmasked underflow/overflow the exponent is returned unbounded,
    biased by +-BIAS_ADJUST (the register-destination response)."""
    flags = 0
    if e < emin:
        tiny = True
        if e == emin - 1:
            _, carry, _, _ = round_sig(sign, hi, lo, prec, rc)
            tiny = not carry
        if tiny and not ue_masked:
            kept, carry, inexact, up = round_sig(sign, hi, lo, prec, rc)
            if carry:
                e += 1
            flags |= F_UE
            if inexact:
                flags |= F_PE
            if up:
                flags |= F_C1
            return e + BIAS_ADJUST, kept, flags
        hi, lo = shr128_jam(hi, lo, emin - e)
        kept, carry, inexact, up = round_sig(sign, hi, lo, prec, rc)
        if inexact:
            flags |= F_PE
            if tiny:
                flags |= F_UE
        if up:
            flags |= F_C1
        return emin, kept, flags
    kept, carry, inexact, up = round_sig(sign, hi, lo, prec, rc)
    if carry:
        e += 1
    if e > emax:
        flags |= F_OE
        if not oe_masked:
            if inexact:
                flags |= F_PE
            if up:
                flags |= F_C1
            return e - BIAS_ADJUST, kept, flags
        flags |= F_PE
        if rc == RC_NEAR or (rc == RC_UP and sign == 0) or (rc == RC_DOWN and sign == 1):
            return emax + 1, TOP, flags | F_C1
        return emax, max_sig(prec), flags
    if inexact:
        flags |= F_PE
    if up:
        flags |= F_C1
    return e, kept, flags


@njit(cache=True, nogil=True)
def pack80(sign, e, kept):
    if kept & TOP == Z:
        return sign << 15, kept
    return (sign << 15) | ((e + EXT_BIAS) & 0x7FFF), kept


@njit(cache=True, nogil=True)
def norm_round80(sign, e, hi, lo, prec, rc, cw):
    """Normalise hi:lo (value = (hi:lo)/2^127 * 2^e), round to the register
    format with `prec` bits, pack.  Returns (se, m, flags)."""
    if hi == Z and lo == Z:
        return sign << 15, Z, 0
    n = clz(hi) if hi != Z else 64 + clz(lo)
    hi, lo = shl128(hi, lo, n)
    e -= n
    e2, kept, flags = round_finite(sign, e, hi, lo, prec, EXT_EMIN, EXT_EMAX, rc,
                                   masked(cw, F_UE), masked(cw, F_OE))
    se, m = pack80(sign, e2, kept)
    return se, m, flags


# --- special results --------------------------------------------------------------------

@njit(cache=True, nogil=True)
def indefinite():
    return INDEF_SE, INDEF_M


@njit(cache=True, nogil=True)
def inf80(sign):
    return (sign << 15) | 0x7FFF, TOP


@njit(cache=True, nogil=True)
def propagate_nan(a_se, a_m, ka, b_se, b_m, kb):
    """The NaN result of a two-operand operation with a NaN operand (SDM Vol. 1
    Table 4-7): a QNaN beats an SNaN; two of a kind: the larger significand,
    on a tie the positive one; an SNaN is returned quieted, with #IA."""
    flags = F_IE if (ka == K_SNAN or kb == K_SNAN) else 0
    a_nan = is_nan(ka)
    b_nan = is_nan(kb)
    pick_a = True
    if a_nan and b_nan:
        if ka != kb:
            pick_a = ka == K_QNAN
        elif a_m != b_m:
            pick_a = a_m > b_m
        else:
            pick_a = sign_of(a_se) == 0 and sign_of(b_se) == 1
    elif b_nan:
        pick_a = False
    if pick_a:
        return a_se, a_m | QUIET, flags
    return b_se, b_m | QUIET, flags


@njit(cache=True, nogil=True)
def _special2(a_se, a_m, ka, b_se, b_m, kb):
    """Invalid encodings and NaNs of a two-operand operation: (done, se, m, flags)."""
    if ka == K_INVALID or kb == K_INVALID:
        return True, INDEF_SE, INDEF_M, F_IE
    if is_nan(ka) or is_nan(kb):
        se, m, f = propagate_nan(a_se, a_m, ka, b_se, b_m, kb)
        return True, se, m, f
    return False, 0, Z, (F_DE if (ka == K_DENORMAL or kb == K_DENORMAL) else 0)


# --- arithmetic -------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def add80(a_se, a_m, b_se, b_m, negate_b, prec, cw):
    """a + b (negate_b: a - b), rounded to prec bits in the rounding mode of cw."""
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    done, se, m, flags = _special2(a_se, a_m, ka, b_se, b_m, kb)
    if done:
        return se, m, flags
    rc = rc_of(cw)
    sa = sign_of(a_se)
    sb = sign_of(b_se) ^ negate_b
    if ka == K_INF:
        if kb == K_INF and sa != sb:
            return INDEF_SE, INDEF_M, F_IE
        se, m = inf80(sa)
        return se, m, flags
    if kb == K_INF:
        se, m = inf80(sb)
        return se, m, flags
    if ka == K_ZERO and kb == K_ZERO:
        if sa == sb:
            return sa << 15, Z, flags
        return (1 << 15) if rc == RC_DOWN else 0, Z, flags
    if kb == K_ZERO:
        ea, ma = unpack(a_se, a_m)
        se, m, f = norm_round80(sa, ea, ma, Z, prec, rc, cw)
        return se, m, flags | f
    if ka == K_ZERO:
        eb, mb = unpack(b_se, b_m)
        se, m, f = norm_round80(sb, eb, mb, Z, prec, rc, cw)
        return se, m, flags | f
    ea, ma = unpack(a_se, a_m)
    eb, mb = unpack(b_se, b_m)
    if eb > ea or (eb == ea and mb > ma):
        ea, ma, sa, eb, mb, sb = eb, mb, sb, ea, ma, sa
    bh, bl = shr128_jam(mb, Z, ea - eb)
    if sa == sb:
        rh, rl = add128(ma, Z, bh, bl)
        if rh < ma:
            # carry out of 128 bits: the sum is in [2, 4)
            rh, rl = shr128_jam(rh, rl, 1)
            rh |= TOP
            ea += 1
        se, m, f = norm_round80(sa, ea, rh, rl, prec, rc, cw)
        return se, m, flags | f
    rh, rl = sub128(ma, Z, bh, bl)
    if rh == Z and rl == Z:
        return (1 << 15) if rc == RC_DOWN else 0, Z, flags
    se, m, f = norm_round80(sa, ea, rh, rl, prec, rc, cw)
    return se, m, flags | f


@njit(cache=True, nogil=True)
def mul80(a_se, a_m, b_se, b_m, prec, cw):
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    done, se, m, flags = _special2(a_se, a_m, ka, b_se, b_m, kb)
    if done:
        return se, m, flags
    s = sign_of(a_se) ^ sign_of(b_se)
    if ka == K_INF or kb == K_INF:
        if ka == K_ZERO or kb == K_ZERO:
            return INDEF_SE, INDEF_M, F_IE
        se, m = inf80(s)
        return se, m, flags
    if ka == K_ZERO or kb == K_ZERO:
        return s << 15, Z, flags
    ea, ma = unpack(a_se, a_m)
    eb, mb = unpack(b_se, b_m)
    hi, lo = mul64(ma, mb)
    se, m, f = norm_round80(s, ea + eb + 1, hi, lo, prec, rc_of(cw), cw)
    return se, m, flags | f


@njit(cache=True, nogil=True)
def div_sig(ma, mb):
    """ma / mb for normalised significands: (hi, lo, adjust) with
    ma/mb = (hi:lo)/2^127 * 2^adjust, hi normalised, lo's bit 0 sticky."""
    if ma >= mb:
        nh, nl = ma >> ONE, ma << U64(63)
        adjust = 0
    else:
        nh, nl = ma, Z
        adjust = -1
    q1, r1 = div128(nh, nl, mb)
    q2, r2 = div128(r1, Z, mb)
    if r2 != Z:
        q2 |= ONE
    return q1, q2, adjust


@njit(cache=True, nogil=True)
def div80(a_se, a_m, b_se, b_m, prec, cw):
    """a / b."""
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    done, se, m, flags = _special2(a_se, a_m, ka, b_se, b_m, kb)
    if done:
        return se, m, flags
    s = sign_of(a_se) ^ sign_of(b_se)
    if ka == K_INF:
        if kb == K_INF:
            return INDEF_SE, INDEF_M, F_IE
        se, m = inf80(s)
        return se, m, flags
    if kb == K_INF:
        return s << 15, Z, flags
    if kb == K_ZERO:
        if ka == K_ZERO:
            return INDEF_SE, INDEF_M, F_IE
        se, m = inf80(s)
        return se, m, flags | F_ZE
    if ka == K_ZERO:
        return s << 15, Z, flags
    ea, ma = unpack(a_se, a_m)
    eb, mb = unpack(b_se, b_m)
    hi, lo, adj = div_sig(ma, mb)
    se, m, f = norm_round80(s, ea - eb + adj, hi, lo, prec, rc_of(cw), cw)
    return se, m, flags | f


@njit(cache=True, nogil=True)
def sqrt80(a_se, a_m, prec, cw):
    ka = classify(a_se, a_m)
    if ka == K_INVALID:
        return INDEF_SE, INDEF_M, F_IE
    if ka == K_SNAN:
        return a_se, a_m | QUIET, F_IE
    if ka == K_QNAN or ka == K_ZERO:
        return a_se, a_m, 0
    if sign_of(a_se):
        return INDEF_SE, INDEF_M, F_IE
    if ka == K_INF:
        return a_se, a_m, 0
    flags = F_DE if ka == K_DENORMAL else 0
    e, sig = unpack(a_se, a_m)
    if e & 1:
        nh, nl = sig, Z                   # N = sig * 2^64
        er = (e - 127) // 2 + 63
    else:
        nh, nl = sig >> ONE, sig << U64(63)   # N = sig * 2^63
        er = (e - 126) // 2 + 63
    root, rh, rl = isqrt128(nh, nl)
    # sqrt(N) = root + f, 0 <= f < 1; f > 1/2 exactly when N - root^2 > root
    half = rh != Z or rl > root
    lo = U64(0)
    if half:
        lo = TOP
    if rh != Z or rl != Z:
        lo |= ONE
    se, m, f = norm_round80(0, er, root, lo, prec, rc_of(cw), cw)
    return se, m, flags | f


# --- comparison -----------------------------------------------------------------------------

REL_LESS, REL_EQUAL, REL_GREATER, REL_UNORDERED = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def compare80(a_se, a_m, b_se, b_m, quiet):
    """The relation of a to b and the flags: NaN operands are #IA for an ordered
    compare (FCOM, FCOMI, FTST, FICOM), only SNaNs for FUCOM/FUCOMI."""
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    if ka == K_INVALID or kb == K_INVALID:
        return REL_UNORDERED, F_IE
    if is_nan(ka) or is_nan(kb):
        if not quiet or ka == K_SNAN or kb == K_SNAN:
            return REL_UNORDERED, F_IE
        return REL_UNORDERED, 0
    flags = F_DE if (ka == K_DENORMAL or kb == K_DENORMAL) else 0
    if ka == K_ZERO and kb == K_ZERO:
        return REL_EQUAL, flags
    sa = sign_of(a_se)
    sb = sign_of(b_se)
    if ka == K_ZERO:
        return (REL_GREATER if sb else REL_LESS), flags
    if kb == K_ZERO:
        return (REL_LESS if sa else REL_GREATER), flags
    if sa != sb:
        return (REL_LESS if sa else REL_GREATER), flags
    # same sign, both nonzero: compare magnitudes (infinities have the top exponent)
    if ka == K_INF or kb == K_INF:
        if ka == kb:
            return REL_EQUAL, flags
        bigger_a = ka == K_INF
    else:
        ea, ma = unpack(a_se, a_m)
        eb, mb = unpack(b_se, b_m)
        if ea == eb and ma == mb:
            return REL_EQUAL, flags
        bigger_a = ea > eb or (ea == eb and ma > mb)
    if bigger_a != (sa == 1):
        return REL_GREATER, flags
    return REL_LESS, flags


# --- rounding to an integer (FRNDINT, FIST, FBSTP) ---------------------------------------------

@njit(cache=True, nogil=True)
def round_int_parts(sign, e, sig, rc):
    """Round sig * 2^(e-63) (normalised, nonzero) to an integer.
    Returns (is_zero, e, sig, flags) of the integer value."""
    if e >= 63:
        return False, e, sig, 0
    if e < 0:
        if rc == RC_NEAR:
            up = e == -1 and sig > TOP
        elif rc == RC_DOWN:
            up = sign == 1
        elif rc == RC_UP:
            up = sign == 0
        else:
            up = False
        if up:
            return False, 0, TOP, F_PE | F_C1
        return True, 0, Z, F_PE
    kept, carry, inexact, up = round_sig(sign, sig, Z, e + 1, rc)
    if carry:
        e += 1
    flags = 0
    if inexact:
        flags |= F_PE
    if up:
        flags |= F_C1
    return False, e, kept, flags


@njit(cache=True, nogil=True)
def round_int80(a_se, a_m, cw):
    """FRNDINT: round to an integer in the rounding mode of cw (not affected by
    precision control)."""
    ka = classify(a_se, a_m)
    if ka == K_INVALID:
        return INDEF_SE, INDEF_M, F_IE
    if ka == K_SNAN:
        return a_se, a_m | QUIET, F_IE
    if ka == K_QNAN or ka == K_ZERO or ka == K_INF:
        return a_se, a_m, 0
    flags = F_DE if ka == K_DENORMAL else 0
    s = sign_of(a_se)
    e, sig = unpack(a_se, a_m)
    zero, e2, kept, f = round_int_parts(s, e, sig, rc_of(cw))
    if zero:
        return s << 15, Z, flags | f
    return (s << 15) | (e2 + EXT_BIAS), kept, flags | f


@njit(cache=True, nogil=True)
def to_int(a_se, a_m, rc, bits):
    """Convert to a `bits`-bit signed integer (FIST, FISTP): (value as uint64
    two's complement, flags).  NaN, infinity and out-of-range values are #IA
    with the integer indefinite (the most negative integer) as the result."""
    indef = ONE << U64(bits - 1)
    ka = classify(a_se, a_m)
    if ka == K_ZERO:
        return Z, 0
    if ka == K_INVALID or ka == K_INF or is_nan(ka):
        return indef, F_IE
    flags = F_DE if ka == K_DENORMAL else 0
    s = sign_of(a_se)
    e, sig = unpack(a_se, a_m)
    zero, e2, kept, f = round_int_parts(s, e, sig, rc)
    if zero:
        return Z, flags | f
    if e2 > 63:
        return indef, F_IE
    mag = kept >> U64(63 - e2)
    limit = indef if s else indef - ONE
    if mag > limit:
        return indef, F_IE
    if s:
        return (~mag) + ONE, flags | f
    return mag, flags | f


@njit(cache=True, nogil=True)
def from_int(v):
    """A signed 64-bit integer (its two's complement bits as uint64) exactly as (se, m)."""
    if v == Z:
        return 0, Z
    s = I64(v >> U64(63))
    mag = ((~v) + ONE) if s else v
    n = clz(mag)
    return (s << 15) | (EXT_BIAS + 63 - n), mag << U64(n)


@njit(cache=True, nogil=True)
def from_small_int(v):
    """A Python/numba int of magnitude below 2^62 as (se, m)."""
    if v < 0:
        return from_int((~U64(-v)) + ONE)
    return from_int(U64(v))


# --- the 32- and 64-bit memory formats --------------------------------------------------------

@njit(cache=True, nogil=True)
def _fmt(bits):
    """(exponent bits, fraction bits, bias) of the 32- or 64-bit format."""
    if bits == 32:
        return 8, 23, 127
    return 11, 52, 1023


@njit(cache=True, nogil=True)
def from_ieee(v, bits):
    """A 32- or 64-bit real (v: its bits as uint64) as (se, m, flags), exactly.
    A denormal gives #D; an SNaN stays signaling (flags #IA): a load quiets
    it, an arithmetic operation hands it to the NaN rules."""
    ebits, fbits, bias = _fmt(bits)
    s = I64((v >> U64(bits - 1)) & ONE)
    exp = I64((v >> U64(fbits)) & U64((1 << ebits) - 1))
    frac = v & U64((1 << fbits) - 1)
    if exp == (1 << ebits) - 1:
        if frac == Z:
            se, m = inf80(s)
            return se, m, 0
        m = TOP | (frac << U64(63 - fbits))
        return (s << 15) | 0x7FFF, m, (F_IE if m & QUIET == Z else 0)
    if exp == 0:
        if frac == Z:
            return s << 15, Z, 0
        n = clz(frac)
        # value = frac * 2^(1 - bias - fbits) = (frac << n) * 2^(1 - bias - fbits - n)
        e = 1 - bias - fbits + 63 - n
        return (s << 15) | (e + EXT_BIAS), frac << U64(n), F_DE
    return (s << 15) | (exp - bias + EXT_BIAS), TOP | (frac << U64(63 - fbits)), 0


@njit(cache=True, nogil=True)
def to_ieee(a_se, a_m, cw, bits):
    """Round to the 32- or 64-bit format (FST, FSTP m32/m64): (bits as uint64,
    flags).  The rounding mode applies, precision control does not."""
    ebits, fbits, bias = _fmt(bits)
    emax = bias
    emin = 1 - bias
    expmask = U64((1 << ebits) - 1)
    fmask = U64((1 << fbits) - 1)
    ka = classify(a_se, a_m)
    s = sign_of(a_se)
    sbit = U64(s) << U64(bits - 1)
    if ka == K_INVALID:
        # the default NaN of the memory format: negative, quiet, fraction 100...
        return (ONE << U64(bits - 1)) | (expmask << U64(fbits)) | (ONE << U64(fbits - 1)), F_IE
    if is_nan(ka):
        frac = (a_m >> U64(63 - fbits)) & fmask
        frac |= ONE << U64(fbits - 1)
        return sbit | (expmask << U64(fbits)) | frac, (F_IE if ka == K_SNAN else 0)
    if ka == K_INF:
        return sbit | (expmask << U64(fbits)), 0
    if ka == K_ZERO:
        return sbit, 0
    e, sig = unpack(a_se, a_m)
    e2, kept, flags = round_finite(s, e, sig, Z, fbits + 1, emin, emax, rc_of(cw),
                                   masked(cw, F_UE), masked(cw, F_OE))
    # an unmasked overflow/underflow stores nothing (the caller checks the flags)
    if kept & TOP == Z:
        return sbit | (kept >> U64(63 - fbits)), flags
    field = e2 + bias
    if field < 0 or field > (1 << ebits) - 1:
        return Z, flags
    return sbit | (U64(field) << U64(fbits)) | ((kept >> U64(63 - fbits)) & fmask), flags


# --- FPREM / FPREM1, FSCALE, FXTRACT --------------------------------------------------------------

@njit(cache=True, nogil=True)
def rem80(a_se, a_m, b_se, b_m, ieee, cw):
    """Partial remainder of a by b (FPREM; ieee: FPREM1, quotient rounded to
    nearest).  Returns (se, m, flags, quotient low bits, incomplete).

    The remainder is exact.  When the exponents differ by 64 or more the
    instruction only reduces a (SDM Vol. 2 FPREM: C2 set, "partial
    remainder"): by a multiple of b * 2^(d - n) with n = 32 + d mod 32, the
    reduction AMD documents and Intel processors follow, so that a loop of
    FPREMs ends with the true quotient bits."""
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    done, se, m, flags = _special2(a_se, a_m, ka, b_se, b_m, kb)
    if done:
        return se, m, flags, 0, False
    if ka == K_INF or kb == K_ZERO:
        return INDEF_SE, INDEF_M, F_IE, 0, False
    if ka == K_ZERO:
        return a_se, a_m, flags, 0, False
    sa = sign_of(a_se)
    if kb == K_INF:
        ea, ma = unpack(a_se, a_m)
        se, m, f = norm_round80(sa, ea, ma, Z, 64, RC_NEAR, cw)
        return se, m, flags | f, 0, False
    ea, ma = unpack(a_se, a_m)
    eb, mb = unpack(b_se, b_m)
    d = ea - eb
    partial = False
    if d >= 64:
        n = 32 + d % 32
        eb = ea - n             # b scaled by 2^(d - n)
        d = n
        partial = True
        ieee = False            # the partial step truncates
    q = Z
    rsign = sa
    if d < 0:
        r = ma
        rexp = ea
        if ieee and d == -1 and ma > mb:
            # |a| > |b|/2: the nearest quotient is 1, the remainder a - b flips sign
            r = mb - (ma - mb)
            rsign ^= 1
            q = ONE
    else:
        nh = shr(ma, 64 - d)
        nl = shl(ma, d)
        q, r = div128(nh, nl, mb)
        rexp = eb
        if ieee:
            other = mb - r
            if r > other or (r == other and q & ONE):
                q += ONE
                r = other
                rsign ^= 1
    if r == Z:
        return sa << 15, Z, flags, I64(q & U64(7)), partial
    se, m, f = norm_round80(rsign, rexp, r, Z, 64, RC_NEAR, cw)
    return se, m, flags | f, I64(q & U64(7)), partial


@njit(cache=True, nogil=True)
def trunc_int32(se, m):
    """A finite value truncated to int32, saturating (FSCALE's scale factor)."""
    k = classify(se, m)
    if k == K_ZERO:
        return 0
    e, sig = unpack(se, m)
    if e < 0:
        return 0
    if e >= 31:
        return -(1 << 31) if sign_of(se) else (1 << 31) - 1
    mag = I64(sig >> U64(63 - e))
    return -mag if sign_of(se) else mag


@njit(cache=True, nogil=True)
def scale80(a_se, a_m, b_se, b_m, cw):
    """FSCALE: a * 2^trunc(b), rounded to 64 bits (precision control does not
    apply).  NaN handling as QEMU's and hardware's: a NaN in b wins."""
    ka = classify(a_se, a_m)
    kb = classify(b_se, b_m)
    if ka == K_INVALID or kb == K_INVALID:
        return INDEF_SE, INDEF_M, F_IE
    if is_nan(kb):
        flags = F_IE if (ka == K_SNAN or kb == K_SNAN) else 0
        return b_se, b_m | QUIET, flags
    if is_nan(ka):
        return a_se, a_m | QUIET, (F_IE if ka == K_SNAN else 0)
    flags = F_DE if (ka == K_DENORMAL or kb == K_DENORMAL) else 0
    sa = sign_of(a_se)
    if kb == K_INF:
        if sign_of(b_se):
            if ka == K_INF:
                return INDEF_SE, INDEF_M, F_IE
            return sa << 15, Z, flags
        if ka == K_ZERO:
            return INDEF_SE, INDEF_M, F_IE
        se, m = inf80(sa)
        return se, m, flags
    if ka == K_ZERO or ka == K_INF:
        return a_se, a_m, flags
    n = trunc_int32(b_se, b_m)
    ea, ma = unpack(a_se, a_m)
    se, m, f = norm_round80(sa, ea + n, ma, Z, 64, rc_of(cw), cw)
    return se, m, flags | f


@njit(cache=True, nogil=True)
def extract80(a_se, a_m):
    """FXTRACT: (exponent se, m, significand se, m, flags)."""
    ka = classify(a_se, a_m)
    if ka == K_INVALID:
        return INDEF_SE, INDEF_M, INDEF_SE, INDEF_M, F_IE
    if is_nan(ka):
        f = F_IE if ka == K_SNAN else 0
        return a_se, a_m | QUIET, a_se, a_m | QUIET, f
    s = sign_of(a_se)
    if ka == K_ZERO:
        # SDM Vol. 2 FXTRACT: a zero gives exponent -infinity and #Z
        ise, im = inf80(1)
        return ise, im, a_se, a_m, F_ZE
    if ka == K_INF:
        ise, im = inf80(0)
        return ise, im, a_se, a_m, 0
    flags = F_DE if ka == K_DENORMAL else 0
    e, sig = unpack(a_se, a_m)
    ese, em = from_small_int(e)
    return ese, em, (s << 15) | EXT_BIAS, sig, flags
