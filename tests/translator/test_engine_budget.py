"""The process-wide budget of loaded objects (emu/translator/jit.py): a
translator that reaches it drops all its blocks and starts a new engine
instead of letting LLVM run out of memory mappings and abort the process."""
from emu.snippet import Snippet
from emu.translator import jit


def _many_blocks(n):
    """n blocks in a row: each adds its index to EAX and jumps to the next."""
    code = b""
    for k in range(n):
        code += b"\x05" + (k + 1).to_bytes(4, "little") + b"\xeb\x00"    # add eax, k+1; jmp $+2
    return code


def test_a_full_engine_is_replaced_and_code_still_runs(monkeypatch):
    s = Snippet(bits=32)
    try:
        tr = s.machine.translator
        others = jit._live_objects - tr.engine.modules       # other machines of this process
        monkeypatch.setattr(jit, "_budget", others + 40)
        r = s.run(_many_blocks(100))
        assert r.regs["eax"] == sum(range(1, 101))
        assert tr.flushes >= 2
        assert tr.engine.modules <= 40
        assert jit._live_objects <= others + 40
        # and again, through the blocks translated after the last flush
        r = s.run(_many_blocks(100))
        assert r.regs["eax"] == sum(range(1, 101))
    finally:
        s.close()
