"""The patch formulas, one kind at a time, decoded back with capstone where it is an
instruction field; range checks at their exact limits."""
import struct

import capstone
import numpy as np
import pytest

from emu.translator.cnp import relocs as R

P = 0x7F00_0000_1000       # address of the patched field (or instruction)
A64 = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
X86 = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
A64.detail = X86.detail = True


def patch(kind, S, A=0, insn=None, at=P, size=8):
    mem = np.zeros(16, np.uint8)
    if insn is not None:
        mem[:len(insn)] = np.frombuffer(insn, np.uint8)
    status = R.apply_patch(mem, 0 if insn is None or len(insn) == 4 else len(insn) - 4,
                           kind, at, S, A)
    return status, bytes(mem)


def a64(word, S, kind, A=0):
    status, data = patch(kind, S, A, struct.pack("<I", word))
    assert status == R.OK
    i = next(A64.disasm(data[:4], P))
    return f"{i.mnemonic} {i.op_str}"


@pytest.mark.parametrize("kind,value,ok", [
    (R.KIND_X86_ABS32, 0, True), (R.KIND_X86_ABS32, 0xFFFFFFFF, True),
    (R.KIND_X86_ABS32, 1 << 32, False), (R.KIND_X86_ABS32, -1, False),
    (R.KIND_X86_ABS32S, 0x7FFFFFFF, True), (R.KIND_X86_ABS32S, 0x80000000, False),
    (R.KIND_X86_ABS32S, -(1 << 31), True), (R.KIND_X86_ABS32S, -(1 << 31) - 1, False),
    (R.KIND_A64_ABS32, 0xFFFFFFFF, True), (R.KIND_A64_ABS32, -(1 << 31), True),
    (R.KIND_A64_ABS32, 1 << 32, False),
])
def test_absolute_32(kind, value, ok):
    status, data = patch(kind, value)
    assert (status == R.OK) == ok
    if ok:
        assert struct.unpack("<I", data[:4])[0] == value & 0xFFFFFFFF
        assert data[4:] == bytes(12)           # nothing written past the field


def test_absolute_64():
    for kind in (R.KIND_X86_ABS64, R.KIND_A64_ABS64):
        status, data = patch(kind, 0x1234_5678_9ABC_DEF0, 0x10)
        assert status == R.OK and struct.unpack("<Q", data[:8])[0] == 0x1234_5678_9ABC_DF00
    status, data = patch(R.KIND_X86_PC64, P - 8)
    assert status == R.OK and struct.unpack("<q", data[:8])[0] == -8


@pytest.mark.parametrize("delta,ok", [(0, True), ((1 << 31) - 1, True), (1 << 31, False),
                                      (-(1 << 31), True), (-(1 << 31) - 1, False)])
def test_x86_pc32(delta, ok):
    # jmp rel32: the field is at P = insn + 1 and the addend -4 makes it relative to the
    # end of the instruction.
    insn = b"\xe9\0\0\0\0"
    target = P - 1 + 5 + delta
    status, data = patch(R.KIND_X86_PC32, target, -4, insn, at=P)
    assert (status == R.OK) == ok
    if ok:
        i = next(X86.disasm(data[:5], P - 1))
        assert i.mnemonic == "jmp" and i.operands[0].imm == target


def test_x86_gotpcrel():
    # mov rax, [rip + slot]: 48 8b 05 <rel32>, field at insn + 3
    insn = b"\x48\x8b\x05\0\0\0\0"
    slot = P + 0x1000
    status, data = patch(R.KIND_X86_GOTPC32, slot, -4, insn, at=P)
    i = next(X86.disasm(data[:7], P - 3))
    assert status == R.OK and i.op_str == f"rax, qword ptr [rip + {slot - (P - 3 + 7):#x}]"


@pytest.mark.parametrize("group", range(4))
def test_movw_groups(group):
    value = 0x1111_2222_3333_4444
    movk = 0xF2800000 | (group << 21) | 3           # movk x3, #0, lsl #16*group
    nc = R.KIND_A64_MOVW_G0_NC + 2 * group if group < 3 else R.KIND_A64_MOVW_G3
    piece = (value >> (16 * group)) & 0xFFFF
    shift = f", lsl #{16 * group}" if group else ""
    assert a64(movk, value, nc) == f"movk x3, #{piece:#x}{shift}"


def test_movw_overflow_checks():
    movz = 0xD2800003
    assert patch(R.KIND_A64_MOVW_G0, 0xFFFF, 0, struct.pack("<I", movz))[0] == R.OK
    assert patch(R.KIND_A64_MOVW_G0, 0x10000, 0, struct.pack("<I", movz))[0] == R.ERR_RANGE
    assert patch(R.KIND_A64_MOVW_G0_NC, 0x10000, 0, struct.pack("<I", movz))[0] == R.OK
    assert patch(R.KIND_A64_MOVW_G1, 1 << 32, 0, struct.pack("<I", movz))[0] == R.ERR_RANGE
    assert patch(R.KIND_A64_MOVW_G2, (1 << 48) - 1, 0, struct.pack("<I", movz))[0] == R.OK


@pytest.mark.parametrize("delta,ok", [(4, True), ((1 << 27) - 4, True), (1 << 27, False),
                                      (-(1 << 27), True), (-(1 << 27) - 4, False), (2, False)])
def test_branch26(delta, ok):
    for word, name in ((0x14000000, "b"), (0x94000000, "bl")):
        status, data = patch(R.KIND_A64_BRANCH26, P + delta, 0, struct.pack("<I", word))
        assert (status == R.OK) == ok
        if ok:
            i = next(A64.disasm(data[:4], P))
            assert i.mnemonic == name and i.operands[0].imm == P + delta


def test_adrp_and_low_12():
    S = 0x7F00_1234_5678
    assert a64(0x90000000, S, R.KIND_A64_ADR_PAGE) == f"adrp x0, #{S & ~0xFFF:#x}"
    assert a64(0x90000000, S, R.KIND_A64_GOT_PAGE) == f"adrp x0, #{S & ~0xFFF:#x}"
    assert a64(0x91000000, S, R.KIND_A64_ADD_LO12) == "add x0, x0, #0x678"
    assert a64(0x39400001, S, R.KIND_A64_LDST8_LO12) == "ldrb w1, [x0, #0x678]"
    assert a64(0x79400001, S, R.KIND_A64_LDST16_LO12) == "ldrh w1, [x0, #0x678]"
    assert a64(0xB9400001, S, R.KIND_A64_LDST32_LO12) == "ldr w1, [x0, #0x678]"
    assert a64(0xF9400001, S - 0x38, R.KIND_A64_LDST64_LO12) == "ldr x1, [x0, #0x640]"
    assert a64(0xF9400001, S - 0x38, R.KIND_A64_GOT_LO12) == "ldr x1, [x0, #0x640]"
    assert a64(0x3DC00000, S - 8, R.KIND_A64_LDST128_LO12) == "ldr q0, [x0, #0x670]"
    # a scaled offset must be aligned; ADRP reaches +-4 GB
    assert patch(R.KIND_A64_LDST64_LO12, S + 4, 0, struct.pack("<I", 0xF9400001))[0] == R.ERR_RANGE
    assert patch(R.KIND_A64_ADR_PAGE, P + (1 << 32), 0, struct.pack("<I", 0x90000000))[0] == R.ERR_RANGE
    assert a64(0x90000000, P - (1 << 32), R.KIND_A64_ADR_PAGE) == f"adrp x0, #{(P - (1 << 32)) & ~0xFFF:#x}"


def test_unknown_kind():
    assert patch(99, 0)[0] == R.ERR_KIND
