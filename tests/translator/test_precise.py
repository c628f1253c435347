"""Exceptions are precise: a fault in the middle of a block leaves every
register and flag as it was before the faulting instruction."""
from emu.cpu import hflags as H
from emu.snippet import CODE_ADDR, Snippet


def test_divide_error_mid_block_keeps_earlier_results_and_nothing_after(snippet32):
    # inc eax; add ebx, 5; div ecx (ecx = 0); mov edx, 7
    code = bytes.fromhex("40 83c305 f7f1 ba07000000")
    r = snippet32.run(code, regs={"eax": 10, "ebx": 1, "ecx": 0, "edx": 0})
    assert r.exception == 0
    assert r.eip == CODE_ADDR + 4                  # the DIV itself
    assert r.regs["eax"] == 11 and r.regs["ebx"] == 6 and r.regs["edx"] == 0
    # the flags are those of the ADD: 1 + 5 = 6 -> PF set, no carry
    assert r.eflags & (H.CF | H.ZF | H.SF | H.OF) == 0
    assert r.eflags & H.PF


def test_fault_in_first_instruction_changes_nothing(snippet32):
    r = snippet32.run(bytes.fromhex("f7f1"), regs={"eax": 3, "ecx": 0, "edx": 9}, eflags=H.FIXED_ONE | H.CF)
    assert r.exception == 0 and r.eip == CODE_ADDR
    assert r.regs["eax"] == 3 and r.regs["edx"] == 9 and r.eflags & H.CF


def test_instruction_count_excludes_the_faulting_instruction(snippet32):
    r = snippet32.run(bytes.fromhex("40 40 40 f7f1 40"), regs={"ecx": 0})
    assert r.exception == 0
    assert r.instructions == 3


def test_undefined_opcode_raises_ud_at_its_address(snippet32):
    r = snippet32.run(bytes.fromhex("40 0fff 40"))
    assert r.exception == 6 and r.eip == CODE_ADDR + 1 and r.regs["eax"] == 1
