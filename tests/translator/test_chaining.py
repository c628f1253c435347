"""Blocks chain to each other natively; a write to translated code unlinks and
retranslates exactly what it touched, whether the write hits the block that
is running or another one, linked to it or not.

Each test runs on the baseline tier (stencils), the LLVM tier (O2 per block)
and the hot tier (relocatable O2 code from the first entry, where a rewritten
block of the same shape comes back from the translation cache with its new
immediates patched in): tests/tiers.py."""
import ctypes

import pytest

from emu.snippet import CODE_ADDR
from tier_snippets import asm, blocks_at
from tiers import Census, check_census

TIERS = ["baseline", "llvm", "hot"]
RUN_TIER = {"baseline": 0, "llvm": 2, "hot": 2}

pytestmark = pytest.mark.parametrize("tier", TIERS)


def test_loop_runs_chained_without_returning_to_python(tier_snippet, tier):
    s = tier_snippet(tier)
    # mov ecx, 200000; l: add eax, ecx; dec ecx; jnz l
    code = bytes.fromhex("b9400d0300 01c8 49 75fb")
    m = s.machine
    r = s.run(code)
    assert r.regs["eax"] == sum(range(1, 200001)) & 0xFFFFFFFF
    assert r.instructions == 1 + 3 * 200000 + 1     # + the HLT that ends a snippet
    # a handful of blocks, not one per iteration, and the loop's block linked to itself
    assert m.translator.blocks_translated <= 4
    loop = blocks_at(s, CODE_ADDR + 5)[0]
    assert loop.tier == RUN_TIER[tier]
    assert loop.slot_address(0) in loop.incoming or loop.slot_address(1) in loop.incoming
    assert any(ctypes.c_uint64.from_address(a).value == loop.fn for a in loop.incoming)


def test_self_modifying_code_patches_the_next_instruction(tier_snippet, tier):
    s = tier_snippet(tier)
    # mov byte [here+1], 0x05 -> turns "mov eax, 1" at `here` into "mov eax, 5"
    here = CODE_ADDR + 7
    code = bytes.fromhex("c605") + (here + 1).to_bytes(4, "little") + b"\x05" + bytes.fromhex("b801000000")
    r = s.run(code)
    assert r.regs["eax"] == 5
    assert r.instructions == 3


def test_a_loop_rewriting_an_instruction_it_already_ran(tier_snippet, tier):
    """The store hits its own block behind the running instruction: the block
    must leave after the store and the next iteration run the new immediate."""
    s = tier_snippet(tier)
    loop = CODE_ADDR + 5
    code = asm("mov ecx, 10; l: add eax, 0x1001; mov dword ptr [%d], 0x3003; dec ecx; jnz l" % (loop + 1),
               CODE_ADDR)
    assert code[5:6] == b"\x05"                    # add eax, imm32: the immediate at l+1
    r = s.run(code)
    assert r.regs["eax"] == 0x1001 + 9 * 0x3003
    assert r.instructions == 1 + 10 * 4 + 1
    # every iteration's store drops the loop's block: nothing is left to look at
    # but what the translator made (each block of the tier's making)
    check_census(tier, Census.of(s.machine.translator), quiet=True)


def test_rewriting_a_linked_block_from_the_block_that_jumps_to_it(tier_snippet, tier):
    """Block S ends in a direct jump to block B (a chain slot links them); the
    5th time round, S's predecessor rewrites B's immediate: S's slot must no
    longer lead to the old B."""
    s = tier_snippet(tier)
    b = CODE_ADDR + 0x100
    head = asm("mov ecx, 10; l: cmp ecx, 5; jne sk; mov dword ptr [%d], 100; sk: jmp %d" % (b + 1, b), CODE_ADDR)
    s.write(b, asm("add eax, 0x10001; dec ecx; jnz %d; hlt" % (CODE_ADDR + 5), b))
    assert s.read(b, 1) == b"\x05"
    r = s.run(head + b"\x90" * (0x100 - len(head) - 1))        # the snippet's HLT lands right before B
    assert r.exception is None and r.eip == b + 13, hex(r.eip)     # past B's HLT
    assert r.regs["eax"] == 5 * 0x10001 + 5 * 100
    (tb_b,) = blocks_at(s, b)
    assert tb_b.code[1:5] == (100).to_bytes(4, "little") and tb_b.tier == RUN_TIER[tier]
    if tier == "hot":
        # the new B has the old one's shape: its O2 code came from the translation
        # cache with the new immediate in its hole
        assert s.machine.translator.cp.hot_hits >= 1
    # the jump's block is linked to the new B, and to nothing stale
    (tb_s,) = blocks_at(s, CODE_ADDR + 5 + 5 + 10)
    slots = {ctypes.c_uint64.from_address(tb_s.slot_address(k)).value for k in range(len(tb_s.slot_targets))}
    live_fns = {tb.fn for tb in s.machine.translator.cache.blocks.values()}
    assert slots <= live_fns | {0}
    assert tb_b.fn in slots


def test_rewriting_code_invalidates_only_overlapping_blocks(tier_snippet, tier):
    s = tier_snippet(tier)
    m = s.machine
    s.run(bytes.fromhex("b801000000"))
    tbc = m.translator.cache
    n = len(tbc.blocks)
    # a write to data on the same page must not drop the block
    m.phys.write(CODE_ADDR + 0x800, b"\x00" * 4)
    assert len(tbc.blocks) == n
    m.phys.write(CODE_ADDR + 1, b"\x02")
    assert len(tbc.blocks) == n - 1
    r = s.run(bytes.fromhex("b803000000"))
    assert r.regs["eax"] == 3
