"""Random 80-bit operands that reach the interesting corners of the format."""

TOP = 1 << 63
M64 = (1 << 64) - 1


def random_sig(rng):
    r = rng.random()
    if r < 0.15:
        return TOP | rng.choice((0, 1, M64 >> 1, (M64 >> 1) ^ 1, 1 << 10, (1 << 11) - 1, (1 << 40) - 1))
    if r < 0.3:
        # a few significant bits: exact results, ties
        return TOP | (rng.getrandbits(8) << rng.randrange(0, 56))
    if r < 0.4:
        # long runs of ones below the rounding points of 24/53/64 bits
        k = rng.choice((24, 53, 64))
        return (M64 << (64 - k + rng.randrange(0, 3))) & M64 | TOP | rng.getrandbits(64 - k)
    return TOP | rng.getrandbits(63)


def random_finite(rng, denormals=0.1):
    """A valid finite nonzero (se, m): normal over the whole range, or denormal."""
    sign = rng.getrandbits(1) << 15
    r = rng.random()
    if r < denormals:
        m = rng.getrandbits(rng.randrange(1, 64)) or 1
        return sign, m
    r = rng.random()
    if r < 0.5:
        exp = 0x3FFF + rng.randrange(-70, 70)
    elif r < 0.65:
        exp = rng.randrange(1, 80)                  # near the denormal range
    elif r < 0.8:
        exp = 0x7FFE - rng.randrange(0, 80)         # near overflow
    else:
        exp = rng.randrange(1, 0x7FFF)
    return sign | exp, random_sig(rng)


def random80(rng, specials=0.15, snan=True, pseudo=True):
    """Any valid operand: finite, zero, infinity, NaN (quiet or signaling), pseudo-denormal."""
    r = rng.random()
    if r >= specials:
        return random_finite(rng)
    sign = rng.getrandbits(1) << 15
    kind = rng.choice([k for k in range(5) if (snan or k != 3) and (pseudo or k != 4)])
    if kind == 0:
        return sign, 0
    if kind == 1:
        return sign | 0x7FFF, TOP
    if kind == 2:
        return sign | 0x7FFF, TOP | (1 << 62) | rng.getrandbits(62)
    if kind == 3:
        return sign | 0x7FFF, TOP | (rng.getrandbits(62) or 1)
    return sign, TOP | rng.getrandbits(63)           # pseudo-denormal


def invalid80(rng):
    """An encoding the 387 and later reject: unnormal, pseudo-infinity, pseudo-NaN."""
    sign = rng.getrandbits(1) << 15
    if rng.random() < 0.5:
        return sign | 0x7FFF, rng.getrandbits(63)
    return sign | rng.randrange(1, 0x7FFF), rng.getrandbits(63)
