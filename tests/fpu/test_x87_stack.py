"""Stack faults (SDM Vol. 1 8.5.1.1 and each instruction's #IS), against the SDM.

Neither oracle models them (QEMU, and so Unicorn, never check the tags), so
the expected outcomes here come from the manual: an empty source register
is a stack underflow, a push onto a register in use a stack overflow; both
are #IA with SF set, C1 = 0 for underflow and 1 for overflow.  Masked, the
destination receives the QNaN indefinite (FFFF C000000000000000) and the
instruction completes (pops included); unmasked, no register, TOP or memory
changes and the exception is pending (ES, B).
"""
import pytest

from .x87run import DATA, INDEFINITE, ONE, THREE, TWO, Fpu, X87Runner

IE, SF, ES, B = 0x01, 0x40, 0x80, 0x8000
C0, C1, C2, C3 = 0x100, 0x200, 0x400, 0x4000
UNMASK_IE = 0x37F & ~1
D = DATA.to_bytes(4, "little")


@pytest.fixture(scope="module")
def x87():
    r = X87Runner()
    yield r
    r.close()


def test_underflow_masked_writes_indefinite(x87):
    r = x87.run(b"\xd8\xc1", Fpu(stack=(TWO,)))            # FADD ST0, ST1 with ST1 empty
    assert r.st(0) == INDEFINITE
    assert r.sw & (IE | SF | C1) == IE | SF
    assert r.top == 0 and not r.sw & ES


def test_underflow_unmasked_changes_nothing_and_is_pending(x87):
    r = x87.run(b"\xd8\xc1", Fpu(stack=(TWO,), cw=UNMASK_IE))
    assert r.st(0) == TWO
    assert r.sw & (IE | SF | ES | B) == IE | SF | ES | B


def test_overflow_masked_pushes_indefinite(x87):
    full = Fpu(stack=(ONE,) * 8)
    r = x87.run(b"\xd9\xe8", full)                          # FLD1 onto a full stack
    assert r.top == 7 and r.st(0) == INDEFINITE
    assert r.sw & (IE | SF | C1) == IE | SF | C1


def test_overflow_unmasked_keeps_top(x87):
    r = x87.run(b"\xd9\xe8", Fpu(stack=(TWO,) * 8, cw=UNMASK_IE))
    assert r.top == 0 and r.st(0) == TWO
    assert r.sw & (IE | SF | C1 | ES) == IE | SF | C1 | ES


def test_fstp_of_empty_register(x87):
    code = b"\xdd\x1d" + D                                  # FSTP qword [DATA]
    r = x87.run(code, Fpu(stack=()), mem=b"\x11" * 8)
    assert r.mem(0, 8) == (0xFFF8000000000000).to_bytes(8, "little")   # the double indefinite
    assert r.top == 1 and r.sw & (IE | SF) == IE | SF
    r = x87.run(code, Fpu(stack=(), cw=UNMASK_IE), mem=b"\x11" * 8)
    assert r.mem(0, 8) == b"\x11" * 8 and r.top == 0


def test_fist_of_empty_register_stores_integer_indefinite(x87):
    r = x87.run(b"\xdf\x15" + D, Fpu(stack=()), mem=b"\x11\x11")       # FIST word [DATA]
    assert r.mem(0, 2) == b"\x00\x80"


def test_fxch_with_an_empty_register(x87):
    r = x87.run(b"\xd9\xc9", Fpu(stack=(THREE,)))            # FXCH ST1, ST1 empty
    assert r.st(0) == INDEFINITE and r.st(1) == THREE
    assert r.sw & (IE | SF) == IE | SF


def test_fcom_with_an_empty_register_is_unordered(x87):
    r = x87.run(b"\xd8\xd1\xdf\xe0", Fpu(stack=(ONE,)))      # FCOM ST1; FNSTSW AX
    assert r.regs["eax"] & (C0 | C2 | C3 | IE | SF) == C0 | C2 | C3 | IE | SF


def test_fcomi_with_an_empty_register_sets_zf_pf_cf(x87):
    r = x87.run(b"\xdb\xf1", Fpu(stack=(ONE,)))              # FCOMI ST0, ST1
    assert r.eflags & 0x45 == 0x45


def test_two_result_instruction_underflow(x87):
    r = x87.run(b"\xd9\xf4", Fpu(stack=()))                  # FXTRACT, ST0 empty
    assert r.top == 7 and r.st(0) == INDEFINITE and r.st(1) == INDEFINITE


def test_fptan_with_no_room_for_the_push(x87):
    r = x87.run(b"\xd9\xf2", Fpu(stack=(ONE,) * 8))
    assert r.sw & (IE | SF | C1) == IE | SF | C1
    assert r.st(0) == INDEFINITE


def test_fyl2x_underflow_pops(x87):
    r = x87.run(b"\xd9\xf1", Fpu(stack=(TWO,)))              # FYL2X needs ST1
    assert r.top == 1 and r.st(0) == INDEFINITE


def test_fld_of_an_empty_register(x87):
    r = x87.run(b"\xd9\xc3", Fpu(stack=(ONE,)))              # FLD ST3 (empty)
    assert r.top == 7 and r.st(0) == INDEFINITE and r.sw & SF
