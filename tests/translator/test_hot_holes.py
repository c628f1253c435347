"""Hot blocks at O2 are relocatable stencils whose 32-bit immediates and
displacements are holes (emu/translator/hot.py).  O2 may drop an operand
whose value nothing uses (an immediate overwritten before it is read, the
flags of a CMP that nothing reads); placing the block must still work, and
so must placing it again from the translation cache with other values.

Each case is a loop run on the hot tier (every block to O2 at its first
entry, compiled at once: tests/tiers.py), its results compared with the same
loop on the baseline tier."""
import pytest

from emu.snippet import CODE_ADDR
from tier_snippets import asm
from tiers import Census, check_census

# each loop runs 5 times, then the snippet's HLT
LOOPS = {
    "overwritten immediate": "l: mov eax, 0x12345678; mov eax, 1; add ebx, eax",
    "unread compare": "l: cmp eax, 0x1000; add ebx, 3",                   # nothing reads the flags
    "overwritten address": "l: lea edx, [ebx + 0x12345678]; mov edx, ecx; add ebx, edx",
    "overwritten store": "l: mov dword ptr [0x20000], 7; mov dword ptr [0x20000], ecx; add ebx, dword ptr [0x20000]",
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_hot_block_with_an_operand_o2_drops(tier_snippet, name):
    code = asm("mov ecx, 5; %s; dec ecx; jnz l" % LOOPS[name], CODE_ADDR)
    ref = tier_snippet("baseline").run(code, regs={"eax": 9})
    s = tier_snippet("hot")
    r = s.run(code, regs={"eax": 9})
    assert r.exception is None and (r.regs, r.eflags) == (ref.regs, ref.eflags)
    check_census("hot", Census.of(s.machine.translator), quiet=True)
