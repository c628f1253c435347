"""Hot blocks at O2 are relocatable stencils whose 32-bit immediates and
displacements are holes (emu/translator/hot.py).  O2 may drop an operand
whose value nothing uses (an immediate overwritten before it is read, the
flags of a CMP that nothing reads); placing the block must still work, and
so must placing it again from the translation cache with other values.

Each case is a loop run on the hot tier (every block to O2 at its first
entry, compiled at once: tests/tiers.py), its results compared with the same
loop on the baseline tier."""
import re

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


OTHER = CODE_ADDR + 0x200          # where the loop runs again, with other values


def _other_values(text):
    """The same instructions with every hex constant moved by 0x10000."""
    return re.sub(r"0x[0-9a-f]+", lambda m: hex(int(m.group(0), 16) + 0x10000), text)


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_hot_block_with_an_operand_o2_drops(tier_snippet, name):
    code = asm("mov ecx, 5; %s; dec ecx; jnz l" % LOOPS[name], CODE_ADDR)
    other = asm("mov ecx, 5; %s; dec ecx; jnz l" % _other_values(LOOPS[name]), OTHER)
    baseline = tier_snippet("baseline")
    refs = [baseline.run(code, regs={"eax": 9}), baseline.run(other, regs={"eax": 9}, addr=OTHER)]
    s = tier_snippet("hot")
    r = s.run(code, regs={"eax": 9})
    assert r.exception is None and (r.regs, r.eflags) == (refs[0].regs, refs[0].eflags)
    # the same shape elsewhere: placed from the translation cache with its own values
    cp = s.machine.translator.cp
    compiled = cp.compiler.compiled
    r = s.run(other, regs={"eax": 9}, addr=OTHER)
    assert r.exception is None and (r.regs, r.eflags) == (refs[1].regs, refs[1].eflags)
    assert cp.compiler.compiled == compiled and cp.hot_hits >= 1
    check_census("hot", Census.of(s.machine.translator), quiet=True)
