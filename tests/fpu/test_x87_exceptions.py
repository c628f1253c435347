"""x87 exception responses and their delivery, against the SDM.

* Unmasked responses (SDM Vol. 1 8.5): #IA, #Z, #D stop the instruction
  before it writes or pops; #O and #U deliver the result to a register with
  its exponent biased by 24576 (and store nothing to memory); #P delivers.
  QEMU writes results regardless, so these are tested here.
* Delivery: an unmasked exception is pending (ES) until the next waiting x87
  instruction, which raises #MF when CR0.NE = 1 and otherwise asserts FERR#
  (the board's IRQ 13) and goes on (SDM Vol. 1 8.7, Vol. 3A 2.5); FN*
  instructions do not wait.
* #NM (SDM Vol. 3A 2.5, Table 2-2): CR0.EM or TS on an x87 instruction;
  WAIT/FWAIT only when TS and MP are both set.
* Details the oracles get wrong: DE (QEMU never raises it), C1 as the
  round-up bit, FCOMI clearing OF SF AF, FNSTENV masking every exception.
"""
import struct

import pytest

from emu.cpu import hflags as H
from emu.cpu.vectors import Vector

from .x87run import DATA, DENORMAL, MAX, ONE, THREE, TINY, TWO, ZERO, Fpu, X87Runner

IE, DE, ZE, OE, UE, PE, SF, ES, B = 1, 2, 4, 8, 16, 32, 0x40, 0x80, 0x8000
C1 = 0x200
D = DATA.to_bytes(4, "little")


@pytest.fixture(scope="module")
def x87():
    r = X87Runner()
    yield r
    r.close()


def cw_unmasking(flag):
    return 0x37F & ~flag


@pytest.mark.parametrize("code,stack,flag", [
    (b"\xd8\xf1", (ONE, ZERO), ZE),            # FDIV ST0, ST1: x / 0
    (b"\xd9\xfa", ((0xBFFF, 1 << 63),), IE),   # FSQRT of -1
    (b"\xd8\xc1", (ONE, DENORMAL), DE),        # FADD with a denormal operand
])
def test_unmasked_precomputation_exception_blocks_the_result(x87, code, stack, flag):
    r = x87.run(code, Fpu(stack=stack, cw=cw_unmasking(flag)))
    assert r.st(0) == stack[0], "the destination must not change"
    assert r.sw & (flag | ES | B) == flag | ES | B


def test_unmasked_precomputation_exception_blocks_the_pop(x87):
    r = x87.run(b"\xde\xf9", Fpu(stack=(ZERO, ONE), cw=cw_unmasking(ZE)))    # FDIVP ST1, ST0: 1/0
    assert r.top == 0 and r.st(1) == ONE


def test_unmasked_overflow_to_a_register_biases_the_exponent(x87):
    r = x87.run(b"\xd8\xc8", Fpu(stack=(MAX,), cw=cw_unmasking(OE)))          # FMUL ST0, ST0
    # MAX^2 = (2 - 2^-62 + 2^-126) * 2^32767: significand FFFF...FE (to
    # nearest), exponent 32767 + 16383 - 24576
    assert r.st(0) == (32767 + 16383 - 24576, 0xFFFFFFFFFFFFFFFE)
    assert r.sw & (OE | PE | ES) == OE | PE | ES


def test_masked_overflow_gives_infinity(x87):
    r = x87.run(b"\xd8\xc8", Fpu(stack=(MAX,)))
    assert r.st(0) == (0x7FFF, 1 << 63) and r.sw & (OE | PE | C1) == OE | PE | C1


def test_unmasked_underflow_to_a_register_biases_the_exponent(x87):
    r = x87.run(b"\xd8\xc8", Fpu(stack=(TINY,), cw=cw_unmasking(UE)))         # FMUL ST0, ST0
    # 2^-16382 squared = 2^-32764: biased by +24576 -> exponent field -32764 + 24576 + 16383
    assert r.st(0) == (-32764 + 24576 + 16383, 1 << 63)
    assert r.sw & (UE | ES) == UE | ES


def test_masked_underflow_gives_a_denormal(x87):
    half = (0x3FFE, 1 << 63)
    exact = x87.run(b"\xd8\xc9", Fpu(stack=(TINY, half)))                   # TINY * 0.5: exact
    assert exact.st(0) == (0, 1 << 62) and not exact.sw & (UE | PE)
    third = (0x3FFD, 0xAAAAAAAAAAAAAAAB)
    r = x87.run(b"\xd8\xc9", Fpu(stack=(TINY, third)))                        # inexact: #U and #P
    assert r.st(0)[0] == 0 and r.st(0)[1] >> 62 == 0 and r.sw & (UE | PE) == UE | PE


def test_unmasked_underflow_to_memory_stores_nothing(x87):
    code = b"\xd9\x1d" + D                                                    # FSTP dword [DATA]
    r = x87.run(code, Fpu(stack=(TINY,), cw=cw_unmasking(UE)), mem=b"\x11" * 4)
    assert r.mem(0, 4) == b"\x11" * 4 and r.top == 0 and r.sw & (UE | ES) == UE | ES


def test_unmasked_precision_delivers_the_result(x87):
    r = x87.run(b"\xd8\xf1", Fpu(stack=(ONE, THREE), cw=cw_unmasking(PE)))    # 1/3
    assert r.st(0) == (0x3FFD, 0xAAAAAAAAAAAAAAAB)
    assert r.sw & (PE | ES | C1) == PE | ES | C1          # rounded up: C1


def test_c1_is_the_round_up_bit(x87):
    down = x87.run(b"\xd8\xf1", Fpu(stack=(ONE, THREE), cw=0x37F | 0x400))    # round down: 1/3
    assert down.st(0) == (0x3FFD, 0xAAAAAAAAAAAAAAAA) and not down.sw & C1
    up = x87.run(b"\xd8\xf1", Fpu(stack=(ONE, THREE), cw=0x37F | 0x800))      # round up
    assert up.st(0) == (0x3FFD, 0xAAAAAAAAAAAAAAAB) and up.sw & C1


def test_denormal_operand_flag(x87):
    r = x87.run(b"\xd8\xc1", Fpu(stack=(ONE, DENORMAL)))
    assert r.sw & DE


def test_fcomi_clears_of_sf_af(x87):
    r = x87.run(b"\xdb\xf1", Fpu(stack=(ONE, TWO)), eflags=H.FIXED_ONE | 0x8D5)   # 1 < 2
    assert r.eflags & 0x8D5 == H.CF


def test_fnstenv_masks_every_exception(x87):
    r = x87.run(b"\xd9\x35" + D, Fpu(cw=0x360))
    assert struct.unpack("<H", r.mem(0, 2))[0] == 0x360 and r.cw == 0x37F


def test_fldcw_unmasking_a_raised_flag_makes_it_pending(x87):
    r = x87.run(b"\xd9\x2d" + D, Fpu(sw=ZE), mem=struct.pack("<H", 0x37F & ~ZE))
    assert r.sw & (ES | B) == ES | B


# --- delivery ------------------------------------------------------------------------------

PENDING = Fpu(stack=(ONE,), cw=cw_unmasking(ZE), sw=ZE | ES | B)


@pytest.mark.parametrize("code,waits", [
    (b"\x9b", True),                  # FWAIT
    (b"\xd8\xc0", True),              # FADD ST0, ST0
    (b"\xd9\xe8", True),              # FLD1
    (b"\xdf\xe0", False),             # FNSTSW AX
    (b"\xdb\xe2", False),             # FNCLEX
    (b"\xd9\x3d" + D, False),         # FNSTCW
])
def test_pending_exception_raises_mf_at_the_next_waiting_instruction(x87, code, waits):
    r = x87.run(code, PENDING, cr0_set=H.CR0_NE)
    if waits:
        assert r.exception == Vector.MF and r.eip == 0x10000
        assert r.st(0) == ONE and r.top == 0, "the faulting instruction must not run"
    else:
        assert r.exception is None


def test_pending_exception_with_ne_clear_signals_ferr_and_goes_on(x87):
    calls = []
    x87.machine.fpu_error_irq = lambda: calls.append(1)
    try:
        r = x87.run(b"\xd9\xe8", PENDING)                   # FLD1, CR0.NE = 0
    finally:
        del x87.machine.fpu_error_irq
    assert r.exception is None and r.top == 7 and calls


def test_mf_reports_the_pointers_of_the_instruction_that_failed(x87):
    code = b"\xd8\x35" + D + b"\x9b"                        # FDIV dword [DATA] (1 / 0.0); FWAIT
    r = x87.run(code, Fpu(stack=(ONE,), cw=cw_unmasking(ZE)), cr0_set=H.CR0_NE, mem=bytes(4))
    assert r.exception == Vector.MF and r.eip == 0x10006
    assert r.fip == 0x10000 and r.fdp == DATA and r.fop == 0x035
    assert r.fcs == x87.cpu.seg[1].selector and r.fds == x87.cpu.seg[3].selector


@pytest.mark.parametrize("cr0,code,nm", [
    (H.CR0_TS, b"\xd8\xc0", True),
    (H.CR0_EM, b"\xd8\xc0", True),
    (H.CR0_TS, b"\x9b", False),                  # WAIT: only with MP too
    (H.CR0_TS | H.CR0_MP, b"\x9b", True),
    (H.CR0_EM, b"\x9b", False),
    (H.CR0_TS, b"\x0f\xae\x05" + D, True),       # FXSAVE
    (H.CR0_EM | H.CR0_MP, b"\xdb\xe3", True),    # FNINIT
])
def test_device_not_available(x87, cr0, code, nm):
    r = x87.run(code, Fpu(stack=(ONE,)), cr0_set=cr0)
    assert (r.exception == Vector.NM) == nm
