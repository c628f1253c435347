"""Random x86 byte strings for the decoder tests: mostly plausible
instructions (legal prefixes, an opcode from either map, random ModRM, SIB,
displacement and immediate bytes), some fully random."""
from emu.frontend import tables as T

PREFIX_BYTES = (0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0xF0, 0xF2, 0xF3)
PREFIX_WEIGHTS = (4, 2, 1, 1, 1, 1, 1, 1, 2, 1, 2)
PREFIX_SET = frozenset(PREFIX_BYTES)
ONE_BYTE_OPS = [op for op in range(256) if op not in PREFIX_SET and op != 0x0F]
TWO_BYTE_IN_TABLE = [op for op in range(256) if T.MAP[1][op] != T.INVALID]


def generate(rng, n):
    """n byte strings: ~88% plausible instructions, the rest fully random."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.12:
            out.append(rng.randbytes(rng.randint(1, 17)))
            continue
        r = rng.random()
        if r < 0.45:
            k = 0
        elif r < 0.70:
            k = 1
        elif r < 0.85:
            k = 2
        elif r < 0.96:
            k = rng.randint(3, 4)
        else:
            k = rng.randint(5, 15)      # around the 15-byte limit
        pfx = bytes(rng.choices(PREFIX_BYTES, PREFIX_WEIGHTS, k=k))
        r = rng.random()
        if r < 0.58:
            op = bytes([rng.choice(ONE_BYTE_OPS)])
        elif r < 0.80:
            op = bytes([0x0F, rng.choice(TWO_BYTE_IN_TABLE)])
        else:
            op = bytes([0x0F, rng.getrandbits(8)])
        tail = rng.randbytes(12)
        if rng.random() < 0.3:
            # favour register operands and the short addressing forms
            tail = bytes([tail[0] | 0xC0]) + tail[1:]
        out.append(pfx + op + tail)
    return out
