"""Decoder records without an oracle: #UD, #GP (too long) and truncation
records, segment defaults, block building, a never-raises fuzz test, and the
jitted decoder against the same code run with NUMBA_DISABLE_JIT=1."""
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from emu.frontend import decoder as D
from emu.frontend import tables as T

from .randcode import generate

ES, CS, SS, DS, FS, GS = range(6)


def one(code, bits=32, eip=0):
    """The record of the first instruction of `code` (hex string or bytes)."""
    if isinstance(code, str):
        code = bytes.fromhex(code.replace(" ", ""))
    return D.decode(code, eip=eip, cs32=(bits == 32), max_insns=1)[0]


def form_of(rec):
    return T.FORMS[rec["form"]]


# --- #GP(0): more than 15 bytes ---------------------------------------------------------------
@pytest.mark.parametrize("code, bits", [
    ("66" * 15 + "90", 32),                    # 15 prefixes, then the opcode
    ("3e" * 10 + "81 80 00000000 00000000", 32),  # 20 bytes
    ("3e" * 5 + "81 84 24 00000000 00000000", 32),  # 16 bytes
    ("26" * 12 + "c7 06 0000 0000", 16),       # 18 bytes
    ("66" * 14 + "0f 01 00", 32),              # second opcode byte is byte 16
    ("f3" * 13 + "0f b6 00", 16),              # ModRM byte is byte 16
    ("67" * 11 + "a1 00000000", 16),            # moffs32 runs past byte 15
    ("66" * 10 + "9a 00000000 0000", 16),      # ptr16:32 runs past byte 15
    ("36" * 11 + "e8 00000000", 32),
])
def test_too_long(code, bits):
    rec = one(code, bits)
    assert rec["error"] == T.ERR_TOO_LONG
    assert 1 <= rec["length"] <= T.MAX_INSN_LEN


@pytest.mark.parametrize("code, bits, length", [
    ("66" * 14 + "90", 32, 15),
    ("3e" * 4 + "81 84 24 00000000 00000000", 32, 15),
    ("26" * 9 + "c7 06 0000 0000", 16, 15),
    ("f0" + "3e" * 3 + "81 84 24 00000000 00000000", 32, 15),
])
def test_fifteen_bytes_is_fine(code, bits, length):
    rec = one(code, bits)
    assert rec["error"] == T.ERR_NONE
    assert rec["length"] == length


def test_too_long_wins_over_truncation():
    # the 16th byte is never fetched, so a missing 16th byte is no fault
    for code in ("66" * 15, "66" * 14 + "0f", "3e" * 14 + "8b"):
        assert one(code)["error"] == T.ERR_TOO_LONG, code


# --- #UD ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, bits", [
    ("0f ff 00", 32), ("0f b9 00", 32),        # UD0, UD1
    ("0f 38 00 c0", 32), ("0f 3a 0f c0 00", 32), ("0f 38 f0 00", 32),  # three-byte maps (MOVBE)
    ("c4 c0 00", 32), ("c5 c0", 32),           # VEX in 32-bit code: LES/LDS with mod=3
    ("c4 c0", 16), ("c5 f8", 16),              # and in 16-bit code
    ("62 c0", 32), ("62 c0", 16),              # BOUND with a register (EVEX)
    ("8f c8", 32), ("8f 48 00", 32), ("8f f8", 16),  # 8F /1-/7 (XOP)
    ("8e c8", 32), ("8e 08", 32), ("8e 0e 00 00", 16),  # MOV CS, r/m
    ("8e f0", 32), ("8e 38", 32), ("8c f0", 32), ("8c 38", 16),  # Sreg 6, 7
    ("8d c0", 32), ("8d c3", 16),              # LEA with a register operand
    ("c4 c0", 16), ("0f b2 c0", 32), ("0f b4 c0", 32), ("0f b5 c0", 16),  # Lxs reg
    ("ff d8", 32), ("ff e8", 32), ("ff f8", 32), ("ff 38", 16),  # FF /3, /5 reg; FF /7
    ("fe d0", 32), ("fe 10", 32), ("fe f8", 16),  # FE /2-/7
    ("c6 c8 00", 32), ("c6 f8 00", 32), ("c7 c8 00000000", 32),  # C6/C7 /1-/7 (XABORT)
    ("0f 00 f0", 32), ("0f 00 38", 32),        # 0F 00 /6, /7
    ("0f 01 c8", 32), ("0f 01 d0", 32), ("0f 01 f8", 32), ("0f 01 28", 32),  # MONITOR...
    ("0f 01 c0", 32), ("0f 01 d8", 32),        # 0F 01 /0 /3 register forms (VMX, SVM)
    ("0f 20 c8", 32), ("0f 20 e8", 32), ("0f 22 f8", 32), ("0f 22 c8", 16),  # CR1, 5, 7
    ("0f c7 c8", 32), ("0f c7 f0", 32), ("0f c7 00", 32),  # CMPXCHG8B reg, RDRAND, /0
    ("0f ba 00 00", 32), ("0f ba c8 00", 32), ("0f ba 18 00", 32),  # 0F BA /0-/3
    ("0f 18 00", 32), ("0f 18 18", 32),        # PREFETCHh (SSE)
    ("0f 6f 00", 32), ("66 0f 6f 00", 32), ("0f 10 00", 32), ("f3 0f 10 00", 32),  # MMX, SSE
    ("0f 77", 32), ("0f ae 10", 32), ("0f ae f8", 32), ("0f c3 00", 32),  # EMMS, LDMXCSR, SFENCE
    ("0f 0d 00", 32), ("0f 0e", 32), ("0f 0f c0 b4", 32),  # 3DNow!
    ("0f 05", 32), ("0f 07", 32), ("0f 37", 32), ("0f aa", 32),  # SYSCALL SYSRET GETSEC RSM
    ("0f 24 c0", 32), ("0f 26 c0", 32),        # MOV TRn (386/486 only)
    ("0f a6 c0", 32), ("0f a7 c0", 32), ("0f b8 c0", 32),  # XBTS, IBTS, JMPE/POPCNT
    ("0f 04", 32), ("0f 0a", 32), ("0f 0c", 32), ("0f 36", 32), ("0f 39", 32),
    ("d9 08", 32), ("d9 d1", 32), ("d9 e2", 32), ("d9 ef", 32),  # x87 holes
    ("da e8", 32), ("da f0", 32), ("db 08", 32), ("db 20", 32), ("db e5", 32), ("db f8", 32),
    ("dd 08", 32), ("dd 28", 32), ("dd f0", 32), ("de d8", 32), ("df 08", 32), ("df e1", 32),
    ("df f8", 32),
])
def test_undefined_opcode(code, bits):
    rec = one(code, bits)
    assert rec["error"] == T.ERR_UD, (code, form_of(rec) if rec["form"] >= 0 else None)
    assert rec["length"] >= 1


@pytest.mark.parametrize("code", [
    "f0 90", "f0 8b 00", "f0 01 c0", "f0 0f a3 00", "f0 0f ba 20 01", "f0 38 00",
    "f0 fe c0", "f0 87 c0", "f0 0f c7 c8", "f0 c6 00 00", "f0 a4", "f0 f7 00 00000000",
    "f0 0f b0 c0", "f0 80 38 00",            # CMP is not lockable
])
def test_lock_is_ud_unless_lockable_memory_destination(code):
    # SDM Vol. 2A LOCK: #UD with an instruction not in the list, or when the
    # destination is not memory
    assert one(code)["error"] == T.ERR_UD


@pytest.mark.parametrize("code, mnemonic", [
    ("f0 01 00", "add"), ("f0 11 00", "adc"), ("f0 21 00", "and"), ("f0 09 00", "or"),
    ("f0 19 00", "sbb"), ("f0 29 00", "sub"), ("f0 31 00", "xor"), ("f0 80 00 01", "add"),
    ("f0 82 30 01", "xor"), ("f0 83 28 01", "sub"), ("f0 f6 10", "not"), ("f0 f7 18", "neg"),
    ("f0 fe 00", "inc"), ("f0 ff 08", "dec"), ("f0 86 00", "xchg"), ("f0 87 00", "xchg"),
    ("f0 0f ab 00", "bts"), ("f0 0f b3 00", "btr"), ("f0 0f bb 00", "btc"),
    ("f0 0f ba 28 01", "bts"), ("f0 0f ba 38 01", "btc"), ("f0 0f b1 00", "cmpxchg"),
    ("f0 0f c7 08", "cmpxchg8b"), ("f0 0f c1 00", "xadd"), ("f3 f0 66 0f c0 00", "xadd"),
])
def test_lock_accepted(code, mnemonic):
    rec = one(code)
    assert rec["error"] == T.ERR_NONE
    assert rec["lock"] == 1
    assert form_of(rec).mnemonic == mnemonic


@pytest.mark.parametrize("code, mnemonic", [
    ("0f 0b", "ud2"), ("82 c0 01", "add"), ("d6", "salc"), ("f1", "int1"),
    ("f6 c8 05", "test"), ("f7 08 01000000", "test"), ("d1 f0", "sal"), ("c0 30 01", "sal"),
    ("d9 d8", "fstp"), ("dc d1", "fcom"), ("dc d9", "fcomp"), ("dd c9", "fxch"),
    ("de d1", "fcomp"), ("df c1", "ffreep"), ("df c9", "fxch"), ("df d1", "fstp"),
    ("df d9", "fstp"), ("db e0", "fnop"), ("db e1", "fnop"), ("db e4", "fnop"),
    ("0f 1f 00", "nop"), ("0f 19 c0", "nop"), ("f3 0f 1e fb", "nop"), ("0f 18 20", "nop"),
    ("f3 0f bc c0", "bsf"), ("f3 0f bd c0", "bsr"), ("f3 90", "nop"), ("c4 00", "les"),
    ("c5 00", "lds"), ("62 00", "bound"), ("0f 20 c0", "mov_cr"), ("0f 20 00", "mov_cr"),
])
def test_valid_oddities(code, mnemonic):
    rec = one(code)
    assert rec["error"] == T.ERR_NONE, code
    assert form_of(rec).mnemonic == mnemonic


def test_mov_cr_ignores_mod():
    # SDM Vol. 2B MOV CRn: "the 2 bits in the mod field are ignored"
    rec = one("0f 22 18")     # mod=0 rm=0 -> MOV CR3, EAX, no displacement
    assert rec["error"] == T.ERR_NONE and rec["length"] == 3
    assert rec["mod"] == 3 and rec["reg"] == 3 and rec["rm"] == 0


# --- truncated input -------------------------------------------------------------------------
@pytest.mark.parametrize("code, bits", [
    ("", 32), ("66", 32), ("f0 f3", 32), ("0f", 32), ("8b", 32), ("8b 44", 32),
    ("8b 44 24", 32), ("8b 80 00 00 00", 32), ("8b 46", 16), ("8b 86 00", 16),
    ("e8 00 00 00", 32), ("e8 00", 16), ("66 e8 00 00 00", 16), ("0f 85 00 00 00", 32),
    ("a1 00 00 00", 32), ("67 a1 00", 32), ("a1 00", 16), ("9a 00 00 00 00 00", 32),
    ("9a 00 00 00", 16), ("c8 00 00", 32), ("69 c0 00 00 00", 32), ("66 68 00", 32),
    ("c2 00", 32), ("cd", 32), ("0f ba e0", 32), ("d9", 32), ("0f 01", 32),
])
def test_truncated(code, bits):
    rec = one(code, bits)
    assert rec["error"] == T.ERR_TRUNCATED, code
    assert rec["length"] >= 1


# --- fields ----------------------------------------------------------------------------------
@pytest.mark.parametrize("code, bits, seg, base, index", [
    ("8b 45 00", 32, SS, 5, -1),        # [ebp+0]
    ("8b 04 24", 32, SS, 4, -1),        # [esp]
    ("8b 04 2c", 32, SS, 4, 5),         # [esp+ebp]
    ("8b 04 25 00000000", 32, DS, -1, -1),  # SIB base=5, mod=0, no index: disp32 only
    ("8b 04 6d 00000000", 32, DS, -1, 5),  # [ebp*2+disp32]: an EBP index does not pick SS
    ("8b 44 2c 00", 32, SS, 4, 5),      # [esp+ebp*1]: the base decides
    ("8b 05 00000000", 32, DS, -1, -1),
    ("8b 02", 16, SS, 5, 6),            # [bp+si]
    ("8b 46 00", 16, SS, 5, -1),        # [bp+0]
    ("8b 06 0000", 16, DS, -1, -1),     # [disp16]
    ("8b 00", 16, DS, 3, 6),            # [bx+si]
    ("26 8b 45 00", 32, ES, 5, -1),     # an override wins
    ("64 8b 02", 16, FS, 5, 6),
    ("a1 00000000", 32, DS, -1, -1),    # moffs
    ("65 a1 0000", 16, GS, -1, -1),
])
def test_memory_operand_fields(code, bits, seg, base, index):
    rec = one(code, bits)
    assert rec["error"] == T.ERR_NONE
    assert (rec["seg"], rec["base"], rec["index"]) == (seg, base, index)


def test_string_segments():
    assert one("a4")["seg"] == DS and one("2e a4")["seg"] == CS   # DS:[esi] overridable
    assert one("36 ac", 16)["seg"] == SS


def test_prefix_fields():
    rec = one("f2 f3 66 67 2e 64 a5")
    assert (rec["rep"], rec["opsize"], rec["addrsize"], rec["seg_override"]) == (T.REP_E, 2, 2, FS)
    rec = one("f3 f2 a5", 16)
    assert (rec["rep"], rec["opsize"], rec["addrsize"]) == (T.REP_NE, 2, 2)
    rec = one("66 66 a5", 16)     # repeats do not toggle
    assert rec["opsize"] == 4


@pytest.mark.parametrize("code, bits, eip, length, target", [
    ("eb fe", 32, 0x1000, 2, 0x1000),
    ("e9 00000000", 32, 0xFFFFFFFB, 5, 0),               # wraps at 4 GB
    ("66 e9 fc ff", 32, 0x12340000, 4, 0x0000),          # 16-bit operand size: EIP & FFFF
    ("e8 fd ff", 16, 0x0000, 3, 0x0000),
    ("66 e8 00 00 01 00", 16, 0xFFF0, 6, 0x1FFF6),       # 32-bit operand size: no masking
    ("0f 84 00 80", 16, 0x8000, 4, 0x0004),
    ("e3 00", 16, 0xFFFE, 2, 0x0000),                    # IP wraps at 64 KB
    ("67 e2 f0", 32, 0x100, 3, 0xF3),
])
def test_branch_targets(code, bits, eip, length, target):
    rec = one(code, bits, eip)
    assert rec["error"] == T.ERR_NONE
    assert rec["length"] == length
    assert rec["imm"] == target


def test_immediates():
    rec = one("c8 10 20 03")                 # ENTER 0x2010, 3
    assert (rec["imm"], rec["imm2"], rec["immsize"]) == (0x2010, 3, 2)
    rec = one("9a 44 33 22 11 bb aa")        # CALLF aabb:11223344
    assert (rec["imm"], rec["imm2"], rec["immsize"]) == (0x11223344, 0xAABB, 4)
    rec = one("66 9a 22 11 bb aa")
    assert (rec["imm"], rec["imm2"], rec["immsize"]) == (0x1122, 0xAABB, 2)
    rec = one("0f a4 c0 07")                 # SHLD eax, eax, 7
    assert (rec["imm"], rec["immsize"]) == (7, 1)
    rec = one("69 44 24 08 78 56 34 12")     # IMUL eax, [esp+8], 0x12345678
    assert (rec["disp"], rec["imm"], rec["immsize"]) == (8, 0x12345678, 4)
    rec = one("83 c0 ff")
    assert (rec["imm"], rec["immsize"]) == (0xFF, 1)
    rec = one("8b 80 00 00 00 80")
    assert rec["disp"] == -0x80000000


# --- blocks --------------------------------------------------------------------------------
def test_decode_block_stops():
    code = bytes.fromhex("90 40 f3 a4 90")        # rep movsb ends the block
    recs = D.decode(code)
    assert [form_of(r).mnemonic for r in recs] == ["nop", "inc", "movs"]
    recs = D.decode(bytes.fromhex("90 a4 eb fe 90"))
    assert [form_of(r).mnemonic for r in recs] == ["nop", "movs", "jmp"]
    recs = D.decode(bytes.fromhex("90 0f ff 90"))
    assert len(recs) == 2 and recs[1]["error"] == T.ERR_UD
    recs = D.decode(bytes.fromhex("90" * 10), max_insns=4)
    assert len(recs) == 4
    # `stop`: no instruction starts at or after it; the last may cross it
    buf = np.frombuffer(bytes.fromhex("90 90 b8 01 00 00 00 90 90"), dtype=np.uint8)
    out = D.new_records(16)
    n = D.decode_block(buf, 0, len(buf), 3, 0x100, True, out, 16)
    assert n == 3 and out[2]["length"] == 5 and out[2]["next_eip"] == 0x107
    assert [int(r["eip"]) for r in out[:3]] == [0x100, 0x101, 0x102]


# --- fuzz ----------------------------------------------------------------------------------
def _fuzz_buffers(rng, n):
    for _ in range(n):
        size = rng.choice((0, 1, 2, 3, 5, 8, 15, 16, 17, 31, 64))
        kind = rng.random()
        if kind < 0.5:
            data = rng.randbytes(size)
        else:    # prefix-heavy and escape-heavy bytes
            data = bytes(rng.choice((0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x0F, 0x0F, 0xC4, 0x8F,
                                     0xD9, 0xFF, rng.getrandbits(8), rng.getrandbits(8)))
                         for _ in range(size))
        yield data


def test_decode_block_never_raises_and_never_reads_past_end():
    rng = random.Random(1234)
    out_a = D.new_records(64)
    out_b = D.new_records(64)
    for data in _fuzz_buffers(rng, 20000):
        end = len(data)
        # the bytes after `end` differ between the two runs: a decoder that
        # read them would give different records
        a = np.frombuffer(data + b"\x00" * 32, dtype=np.uint8)
        b = np.frombuffer(data + b"\xff" * 32, dtype=np.uint8)
        stop = rng.randint(0, end) if end else 0
        max_insns = rng.choice((1, 3, 64))
        bits32 = rng.random() < 0.5
        eip = rng.getrandbits(32 if bits32 else 16)
        na = D.decode_block(a, 0, end, stop, eip, bits32, out_a, max_insns)
        nb = D.decode_block(b, 0, end, stop, eip, bits32, out_b, max_insns)
        assert na == nb and 1 <= na <= max_insns
        assert out_a[:na].tobytes() == out_b[:nb].tobytes(), data.hex()
        pos = 0
        for k in range(na):
            rec = out_a[k]
            assert rec["error"] in (T.ERR_NONE, T.ERR_UD, T.ERR_TOO_LONG, T.ERR_TRUNCATED)
            assert 1 <= rec["length"] <= T.MAX_INSN_LEN
            if rec["error"] == T.ERR_NONE:
                assert 0 <= rec["form"] < T.N_FORMS
                assert pos + rec["length"] <= end
            else:
                assert k == na - 1         # an error ends the block
            pos += int(rec["length"])


# --- the same records without numba -----------------------------------------------------------
_NOJIT_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from numba.core import config
    assert config.DISABLE_JIT
    from emu.frontend import decoder as D
    d = np.load(sys.argv[1])
    buf, starts, ends = d["buf"], d["starts"], d["ends"]
    res = {}
    for bits in (16, 32):
        out = D.new_records(len(starts))
        D.decode_many(buf, starts, ends, d["eip%d" % bits][0], bits == 32, out)
        res["many%d" % bits] = out
        blocks = D.new_records(len(d["block_starts"]) * 8)
        for k, (s, e) in enumerate(zip(d["block_starts"], d["block_ends"])):
            D.decode_block(buf, s, e, e, 0x7000, bits == 32, blocks[8 * k:8 * k + 8], 8)
        res["block%d" % bits] = blocks
    np.savez(sys.argv[2], **res)
""")


def test_nojit_decoder_gives_the_same_records(tmp_path):
    rng = random.Random(99)
    strings = []
    for data in _fuzz_buffers(rng, 1500):
        strings.append(data)
    strings += generate(rng, 2500)
    strings += [s[:rng.randint(0, len(s))] for s in generate(rng, 500)]   # truncated
    starts = np.cumsum([0] + [len(s) for s in strings[:-1]]).astype(np.int64)
    ends = starts + np.array([len(s) for s in strings], dtype=np.int64)
    buf = np.frombuffer(b"".join(strings), dtype=np.uint8)
    block_starts = starts[::40]
    block_ends = np.minimum(block_starts + 48, len(buf))
    eips = {16: 0xFFF0, 32: 0xFFFFFFF0}
    np.savez(tmp_path / "in.npz", buf=buf, starts=starts, ends=ends,
             block_starts=block_starts, block_ends=block_ends,
             eip16=np.array([eips[16]]), eip32=np.array([eips[32]]))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _NOJIT_CHILD, str(tmp_path / "in.npz"),
                    str(tmp_path / "out.npz")], env=env, check=True, timeout=300,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    got = np.load(tmp_path / "out.npz")
    for bits in (16, 32):
        out = D.new_records(len(starts))
        D.decode_many(buf, starts, ends, eips[bits], bits == 32, out)
        ref = got["many%d" % bits]
        bad = np.nonzero(out != ref)[0]
        assert len(bad) == 0, [(strings[k].hex(), out[k], ref[k]) for k in bad[:5]]
        blocks = D.new_records(len(block_starts) * 8)
        for k, (s, e) in enumerate(zip(block_starts, block_ends)):
            D.decode_block(buf, s, e, e, 0x7000, bits == 32, blocks[8 * k:8 * k + 8], 8)
        assert blocks.tobytes() == got["block%d" % bits].tobytes()
