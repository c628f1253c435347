"""The process-wide budget of loaded objects (emu/translator/jit.py): a
translator that reaches it drops all its blocks and starts a new engine
instead of letting LLVM run out of memory mappings and abort the process."""
import pytest

from emu.snippet import Snippet
from emu.translator import jit


@pytest.fixture(autouse=True)
def llvm_blocks(monkeypatch):
    """Every block through LLVM: the budget is the LLVM engine's (the baseline
    tier's blocks are stencils in its arena, not objects)."""
    monkeypatch.setenv("PYEMU_BASELINE", "0")


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
        monkeypatch.setattr(jit, "MAX_OBJECTS", others + 40)
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


def test_near_the_mapping_cap_the_engine_is_replaced(monkeypatch):
    """The mapping count, read every MAPS_CHECK_EVERY loads, ends an engine
    before LLVM could run out of mappings (the object budget is not reached)."""
    s = Snippet(bits=32)
    try:
        tr = s.machine.translator
        monkeypatch.setattr(jit, "MAPS_CHECK_EVERY", 1)
        monkeypatch.setattr(jit, "_map_limit", lambda: 65530)
        counts = iter([10_000] * 30 + [60_000])            # the 31st load finds the process near the cap
        monkeypatch.setattr(jit, "_count_mappings", lambda: next(counts, 10_000))
        r = s.run(_many_blocks(100))
        assert r.regs["eax"] == sum(range(1, 101))
        assert tr.flushes == 1 and not jit._maps_full
    finally:
        s.close()


def test_block_objects_carry_no_unwind_tables(monkeypatch):
    """Blocks are nounwind: an .eh_frame per object cost two memory mappings
    and made dropping an engine quadratic (frame deregistration)."""
    import io

    from elftools.elf.elffile import ELFFile
    objs = []
    load = jit.JitEngine.load_object

    def keep(self, obj, symbols):
        if any(name.startswith("tb") for name in symbols):    # blocks, not the runtime
            objs.append(obj)
        return load(self, obj, symbols)
    monkeypatch.setattr(jit.JitEngine, "load_object", keep)
    s = Snippet(bits=32)
    try:
        s.machine.translator.objcache.enabled = False      # compile, do not load from disk
        r = s.run(_many_blocks(3))
        assert r.regs["eax"] == 6
    finally:
        s.close()
    assert objs
    for obj in objs:
        names = {sec.name for sec in ELFFile(io.BytesIO(obj)).iter_sections()}
        assert any(n.endswith("text") for n in names), names
        assert not any("eh_frame" in n for n in names), names
