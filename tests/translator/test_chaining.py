"""Blocks chain to each other natively; a write to translated code unlinks and
retranslates exactly what it touched."""
from emu.snippet import CODE_ADDR, Snippet


def test_loop_runs_chained_without_returning_to_python(snippet32):
    # mov ecx, 200000; l: add eax, ecx; dec ecx; jnz l
    code = bytes.fromhex("b9400d0300 01c8 49 75fb")
    m = snippet32.machine
    blocks_before = m.translator.blocks_translated
    r = snippet32.run(code)
    assert r.regs["eax"] == sum(range(1, 200001)) & 0xFFFFFFFF
    assert r.instructions == 1 + 3 * 200000 + 1     # + the HLT that ends a snippet
    # a handful of blocks, not one per iteration
    assert m.translator.blocks_translated - blocks_before <= 4


def test_self_modifying_code_patches_the_next_instruction(snippet32):
    # mov byte [here+1], 0x05 -> turns "mov eax, 1" at `here` into "mov eax, 5"
    here = CODE_ADDR + 7
    code = bytes.fromhex("c605") + (here + 1).to_bytes(4, "little") + b"\x05" + bytes.fromhex("b801000000")
    r = snippet32.run(code)
    assert r.regs["eax"] == 5


def test_rewriting_code_invalidates_only_overlapping_blocks():
    # a machine of its own: blocks that other tests left on this page would
    # make the count below depend on the test order
    snippet32 = Snippet(bits=32)
    m = snippet32.machine
    snippet32.run(bytes.fromhex("b801000000"))
    tbc = m.translator.cache
    n = len(tbc.blocks)
    # a write to data on the same page must not drop the block
    m.phys.write(CODE_ADDR + 0x800, b"\x00" * 4)
    assert len(tbc.blocks) == n
    m.phys.write(CODE_ADDR + 1, b"\x02")
    assert len(tbc.blocks) == n - 1
    r = snippet32.run(bytes.fromhex("b803000000"))
    assert r.regs["eax"] == 3
    snippet32.close()
