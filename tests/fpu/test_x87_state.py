"""The x87 state in memory: FNSTENV/FLDENV, FNSAVE/FRSTOR, FXSAVE/FXRSTOR, and
the packed BCD format, against the layouts of the SDM (Vol. 1 8.1.10 Figures
8-9 to 8-12, Vol. 2A FXSAVE Table 3-53, Vol. 1 4.7)."""
import struct

import pytest

from emu.cpu import hflags as H
from emu.cpu.vectors import Vector

from .x87run import DATA, INDEFINITE, ONE, THREE, TWO, ZERO, Fpu, X87Runner, m80

D = DATA.to_bytes(4, "little")


@pytest.fixture(scope="module")
def x87():
    r = X87Runner()
    yield r
    r.close()


@pytest.fixture(scope="module")
def x87_real():
    r = X87Runner(bits=16)
    yield r
    r.close()


def test_fnstenv_protected_32(x87):
    # FADD dword [DATA] (records the pointers); FNSTENV [DATA+16]
    code = b"\xd8\x05" + D + b"\xd9\x35" + (DATA + 16).to_bytes(4, "little")
    r = x87.run(code, Fpu(stack=(ONE, TWO), top=3, cw=0x27F), mem=struct.pack("<f", 1.0))
    cw, sw, tw, ip, cs_op, dp, ds = struct.unpack("<7I", r.mem(16, 28))
    assert cw == 0x27F and sw == 3 << 11 and ip == 0x10000 and dp == DATA
    assert cs_op == x87.cpu.seg[1].selector | (0x005 << 16)      # FOP: (D8 & 7) << 8 | ModRM 05
    assert ds == x87.cpu.seg[3].selector
    # tags: ST0 (r3) = 2.0 valid, ST1 (r4) = 2.0 valid, the rest empty
    assert tw == 0xFFFF & ~(3 << 6) & ~(3 << 8)


def test_fnstenv_protected_16(x87):
    code = b"\xd8\x05" + D + b"\x66\xd9\x35" + (DATA + 16).to_bytes(4, "little")
    r = x87.run(code, Fpu(stack=(ZERO,)), mem=struct.pack("<f", 1.0))
    cw, sw, tw, ip, cs, dp, ds = struct.unpack("<7H", r.mem(16, 14))
    assert (cw, ip, dp) == (0x37F, 0x0000, DATA) and cs == x87.cpu.seg[1].selector
    assert tw == 0xFFFF & ~(3 << 0)                                   # r0 valid (1.0 after the add)


def test_fnstenv_real_mode_16_and_32(x87_real):
    # real mode: FIP/FDP are linear addresses split around the opcode
    code = b"\xd8\x06\x00\x40" + b"\xd9\x36\x10\x40" + b"\x66\xd9\x36\x40\x40"
    r = x87_real.run(code, Fpu(stack=(ONE,)), mem=struct.pack("<f", 1.0))
    cw, sw, tw, ip, op_iphi, dp, dphi = struct.unpack("<7H", r.mem(16, 14))
    assert ip == 0x1000 and op_iphi == 0x006 and dp == DATA and dphi == 0
    img32 = struct.unpack("<7I", r.mem(0x40, 28))
    assert img32[3] == 0x1000 and img32[4] == 0x006 and img32[5] == DATA and img32[6] == 0


def test_fnsave_then_frstor_restores_everything(x87):
    start = Fpu(stack=(ONE, THREE, INDEFINITE, ZERO), top=5, cw=0x0A7F, sw=0x4100)
    code = b"\xdd\x35" + D + b"\xd9\xee" + b"\xdd\x25" + D          # FNSAVE; FLDZ; FRSTOR
    r = x87.run(code, start)
    assert (r.top, r.cw, r.sw & ~0x3800) == (5, 0x0A7F, 0x4100)
    assert [r.st(i) for i in range(4)] == [ONE, THREE, INDEFINITE, ZERO]
    assert [r.empty(i) for i in range(8)] == [False] * 4 + [True] * 4
    img = r.mem(0, 108)
    assert img[28:38] == m80(*ONE) and img[38:48] == m80(*THREE)


def test_fnsave_reinitialises(x87):
    r = x87.run(b"\xdd\x35" + D, Fpu(stack=(ONE,), cw=0x0000, sw=0x3F))
    assert (r.cw, r.sw, r.tag) == (0x37F, 0, 0xFFFF)


def test_frstor_recomputes_the_tags_it_does_not_free(x87):
    env = struct.pack("<7I", 0x37F, 0, 0x0000, 0, 0, 0, 0)        # every tag "valid"
    regs = m80(*ZERO) + m80(*ONE) + m80(*INDEFINITE) + b"".join(m80(*ONE) for _ in range(5))
    r = x87.run(b"\xdd\x25" + D, mem=env + regs)
    assert r.tag & 0x3F == 0b10_00_01      # r2 special, r1 valid, r0 zero


def test_fxsave_layout_and_fxrstor(x87):
    start = Fpu(stack=(ONE, THREE), top=6, cw=0x0B7F, sw=0x0100)
    code = (b"\xd8\x05" + D +                          # FADD dword [DATA]: pointers
            b"\x0f\xae\x05" + (DATA + 0x40).to_bytes(4, "little") +      # FXSAVE [DATA+0x40]
            b"\xdb\xe3" +                              # FNINIT
            b"\x0f\xae\x0d" + (DATA + 0x40).to_bytes(4, "little"))       # FXRSTOR
    r = x87.run(code, start, mem=struct.pack("<f", 1.0))
    a = r.mem(0x40, 512)
    fcw, fsw, ftw, _, fop, fip, fcs, _, fdp, fds = struct.unpack_from("<HHBBHIHHIH", a, 0)
    assert fcw == 0x0B7F and fsw == 0x0100 | 6 << 11 and ftw == 0b11000000
    assert (fop, fip, fdp) == (0x005, 0x10000, DATA)
    assert a[32:42] == m80(0x4000, 1 << 63) and a[48:58] == m80(*THREE)   # ST0 = 1 + 1
    assert (r.top, r.cw, r.sw & ~0x3800, r.st(0), r.st(1)) == (6, 0x0B7F, 0x0100, (0x4000, 1 << 63), THREE)
    assert [r.empty(i) for i in range(3)] == [False, False, True]


def test_fxsave_needs_16_byte_alignment(x87):
    r = x87.run(b"\x0f\xae\x05" + (DATA + 8).to_bytes(4, "little"))
    assert r.exception == Vector.GP


def test_fxsave_mxcsr_with_osfxsr(x87):
    r = x87.run(b"\x0f\xae\x05" + D, cr4=1 << 9, mem=b"\xee" * 288)
    mxcsr, mask = struct.unpack("<II", r.mem(24, 8))
    assert (mxcsr, mask) == (0x1F80, 0) and r.mem(160, 128) == bytes(128)
    r = x87.run(b"\x0f\xae\x05" + D, mem=b"\xee" * 288)
    assert r.mem(24, 8) == b"\xee" * 8, "without OSFXSR the SSE area is not written"


@pytest.mark.parametrize("value,digits", [
    (0, "00000000000000000000"), (1, "01000000000000000000"), (-7, "07000000000000000080"),
    (123456789012345678, "78563412907856341200"), (999999999999999999, "99999999999999999900"),
])
def test_fbld_fbstp_round_trip(x87, value, digits):
    bcd = bytes.fromhex(digits)
    r = x87.run(b"\xdf\x25" + D + b"\xdf\x35" + (DATA + 16).to_bytes(4, "little"), mem=bcd)
    assert r.mem(16, 10) == bcd
    assert r.sw & 0x3F == 0


def test_fbstp_out_of_range_stores_the_indefinite(x87):
    big = (0x4000 + 60, 1 << 63)                       # 2^61 > 10^18
    r = x87.run(b"\xdf\x35" + D, Fpu(stack=(big,)))
    assert r.mem(0, 10) == bytes.fromhex("00000000000000c0ffff") and r.sw & 1
