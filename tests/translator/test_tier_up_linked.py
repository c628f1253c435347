"""A tier-up while the block is linked: block A (run once, so it stays a
baseline block) ends in a direct jump chained to the loop block L; L gets hot
and its O2 code is put in its place.  Then every way into L must lead to the
O2 code and give the right results: A's chain slot (A run again, nothing
translated anew) and the dispatcher (a run entering at L itself).

With PYEMU_BACKGROUND=0 the O2 code is compiled and installed at the run
loop's next turn; with the compiler thread (the default) it is installed
whenever it is done, while the guest goes on in the baseline code, so that
test runs the code until the tier-up has happened, checking every result."""
import ctypes
import time

import pytest

from emu.snippet import CODE_ADDR
from tier_snippets import blocks_at

L = CODE_ADDR + 0x40
# A: mov ecx, 300; jmp L
A = bytes.fromhex("b92c010000 e9") + (L - (CODE_ADDR + 10)).to_bytes(4, "little", signed=True)
# L: add eax, ecx; xor edx, eax; dec ecx; jnz L  (the snippet's HLT follows)
LOOP = bytes.fromhex("01c8 31c2 49 75f9")
CODE = A + b"\x90" * (L - CODE_ADDR - len(A)) + LOOP
HOT = 40


def expected(eax, edx=0, ecx=300):
    for c in range(ecx, 0, -1):
        eax = (eax + c) & 0xFFFFFFFF
        edx ^= eax
    return eax, edx


def _slot_values(tb):
    return [ctypes.c_uint64.from_address(tb.slot_address(k)).value for k in range(len(tb.slot_targets))]


def _check(r, eax, edx=0, ecx=300):
    assert r.exception is None
    assert (r.regs["eax"], r.regs["edx"], r.regs["ecx"]) == expected(eax, edx, ecx) + (0,)


def _wait_for_tier_up(s, eax):
    """Run A again and again (each result checked) until L has been replaced by
    its O2 code; the compiler thread takes what it takes (at most a minute)."""
    tr = s.machine.translator
    deadline = time.monotonic() + 60
    while tr.tier_ups == 0:
        assert time.monotonic() < deadline, "no O2 code installed within a minute"
        _check(s.run(CODE, regs={"eax": eax}), eax)
        time.sleep(0.01)


@pytest.mark.parametrize("background", ["0", "1"], ids=["at-once", "compiler-thread"])
def test_tier_up_of_a_linked_block_reaches_every_path(tier_snippet, background):
    s = tier_snippet("baseline", caching=True, PYEMU_TIER="", PYEMU_HOT=str(HOT), PYEMU_BACKGROUND=background)
    tr = s.machine.translator
    _check(s.run(CODE, regs={"eax": 1}), 1)
    if background == "1":
        _wait_for_tier_up(s, 1)
    else:
        assert tr.tier_ups == 1
    (a,) = blocks_at(s, CODE_ADDR)
    (loop,) = blocks_at(s, L)
    assert (a.tier, loop.tier) == (0, 2)
    # A's jump is linked, and to L's O2 code: the slot was moved with the tier-up
    assert loop.fn in _slot_values(a) and a.slot_address(_slot_values(a).index(loop.fn)) in loop.incoming
    made, ups = tr.blocks_translated, tr.tier_ups

    # through A's chain slot
    _check(s.run(CODE, regs={"eax": 7}), 7)
    # through the dispatcher, entering at L with its own ECX (CODE's tail at L is LOOP + HLT)
    r = s.run(LOOP, regs={"eax": 3, "edx": 5, "ecx": 50}, addr=L)
    _check(r, 3, 5, 50)
    assert (tr.blocks_translated, tr.tier_ups) == (made, ups)      # both ran what was there
    assert blocks_at(s, L) == [loop] and blocks_at(s, CODE_ADDR) == [a]
    assert r.instructions == 4 * 50 + 1
