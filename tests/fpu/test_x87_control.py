"""emu/fpu/control.py: the tag word's full and abridged forms and the status
word with TOP, the rules the Python helpers and the numba FPU share."""
from types import SimpleNamespace

from emu.fpu import control as C


def _cpu(tag=C.TAGS_ALL_EMPTY, top=0, sw=0):
    ones = [0x3FFF] * 8, [1 << 63] * 8          # every register holds 1.0 (valid)
    return SimpleNamespace(fpu_tag=tag, fpu_top=top, fpu_sw=sw, fpu_se=ones[0], fpu_mant=ones[1])


def test_abridged_tags_mark_what_is_not_empty():
    # registers 0 (valid), 2 (zero), 5 (special) in use, the others empty
    tag = 0xFFFF & ~(3 << 0) & ~(2 << 4) & ~(1 << 10)
    assert C.empty_registers(tag) == 0xFF & ~0b100101
    assert C.abridged_tags(tag) == 0b100101
    assert C.empty_in_abridged(C.abridged_tags(tag)) == C.empty_registers(tag)


def test_set_tags_follows_the_contents():
    cpu = _cpu()
    cpu.fpu_se[3], cpu.fpu_mant[3] = 0, 0                       # +0.0
    cpu.fpu_se[4], cpu.fpu_mant[4] = 0x7FFF, 1 << 63             # +infinity
    C.set_tags(cpu, 0b10000001)
    assert [(cpu.fpu_tag >> (2 * p)) & 3 for p in range(8)] == [
        C.TAG_EMPTY, C.TAG_VALID, C.TAG_VALID, C.TAG_ZERO, C.TAG_SPECIAL, C.TAG_VALID, C.TAG_VALID,
        C.TAG_EMPTY]


def test_status_word_round_trip():
    cpu = _cpu()
    C.set_status_word(cpu, 0x3800 | 0x4181)          # TOP 7, C3 C0, ES, IE; B comes from ES
    assert (cpu.fpu_top, cpu.fpu_sw) == (7, 0xC181)
    assert C.status_word(cpu.fpu_sw, cpu.fpu_top) == 0xF981
    C.set_status_word(cpu, 0x8000 | (2 << 11))        # B without ES is dropped
    assert (cpu.fpu_top, cpu.fpu_sw) == (2, 0)


def test_fninit():
    cpu = _cpu(tag=0, top=5, sw=0xFF)
    C.fninit(cpu)
    assert (cpu.fpu_cw, cpu.fpu_sw, cpu.fpu_top, cpu.fpu_tag) == (0x37F, 0, 0, 0xFFFF)
    assert (cpu.fpu_ip, cpu.fpu_cs, cpu.fpu_op, cpu.fpu_dp, cpu.fpu_ds) == (0, 0, 0, 0, 0)
