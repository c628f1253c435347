"""The teaching view: one block at every stage, from hex bytes or from assembly
text (`pyemu show`, emu.debug.show.show_block)."""
import subprocess
import sys

from emu.debug.show import show_block
from emu.frontend.asm import assemble

from tests.guests.guestlib import REPO


def _show(*args):
    return subprocess.run([sys.executable, "-m", "emu.cli", "show", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_every_stage_of_a_block():
    view = show_block(bytes.fromhex("01d8 7202 31c0"), 0x1000)
    assert "add eax, ebx" in view.guest_asm and "jb 0x1006" in view.guest_asm
    assert "add" in view.decoded
    assert "define" in view.ir and "pyemu_dispatch" in view.ir and "musttail" in view.ir   # chained exits
    assert "define" in view.optimized_ir
    assert view.host_asm.strip()


def test_the_baseline_stage_shows_the_stencils_and_their_patched_holes():
    # add eax, ebx; mov ecx, [esi+edi*4+8]; jc +2 (three instructions, two exits)
    view = show_block(bytes.fromhex("01d8 8b4cbe08 7202 31c0"), 0x2000)
    text = view.baseline
    assert "3 instructions, 6 stencils" in text, text
    # the registers of `add eax, ebx` patched as byte offsets: EBX is regs[3] (0x18)
    assert "rm_off=0x0 reg_off=0x18" in text, text
    # the memory operand: base ESI (regs[6]), index EDI (regs[7]) times 4, displacement 8
    assert "base_off=0x30 index_off=0x38 scale=0x4 disp=0x8" in text, text
    # the jump's targets in its exits, through chain slots
    assert text.count("direct exit") == 2 and "eip=0x200a" in text and "eip=0x2008" in text, text
    assert "head (budget, exit request)" in text and "n_insns=0x3 block_eip=0x2000" in text, text


def test_assembly_text_is_assembled_at_the_address():
    code = assemble("mov eax, 42; jmp 0x2000", address=0x1000)
    assert code[:5] == bytes.fromhex("b82a000000")
    assert code[5] == 0xE9 and int.from_bytes(code[6:10], "little") == 0x2000 - 0x100A
    p = _show("--asm", "add eax, ebx; jc done; inc ecx; done: ret", "--stage", "guest")
    assert p.returncode == 0, p.stderr
    assert "add eax, ebx" in p.stdout and "jb 0x1005" in p.stdout


def test_bad_input_is_a_one_line_error():
    for args in (["--asm", "bogus eax"], ["zz"], []):
        p = _show(*args)
        assert p.returncode != 0
        assert "Traceback" not in p.stderr and p.stderr.strip(), p.stderr
