"""The translation cache file (emu/translator/codecache.py) when things go
wrong: a damaged file is ignored with a one-line warning and replaced at the
next save, never a crash nor wrong code; a load never pairs one save's
library with another save's index (it waits for a save in progress)."""
import struct
import threading
import time

import pytest

from emu.translator.codecache import CodeCache
from test_relocated_cache import BASES, LOOP, OUT, STACK, expected, load
from tier_snippets import blocks_at, make_snippet


def _env(tmp_path):
    return dict(PYEMU_HOT="8", PYEMU_BACKGROUND="0", PYEMU_OBJCACHE_DIR=str(tmp_path / "cache"))


def _run_until_hot(tmp_path):
    """One machine runs the loop until it is at O2; closing it saves the cache.
    Returns the translation cache's CodeCache paths (library, index)."""
    s = make_snippet("hot", tmp_path, caching=True, **_env(tmp_path))
    try:
        base = BASES[0]
        code = load(s, base)
        for _ in range(20):
            r = s.run(code, addr=base, regs=STACK)
            assert r.exception is None
            if [tb.tier for tb in blocks_at(s, base + LOOP)] == [2]:
                break
        cache = s.machine.translator.cp.cache
        paths = cache.path, cache.index_path
    finally:
        s.close()
    assert paths[0].exists() and paths[1].exists()
    return paths


def _second_run(tmp_path):
    """A new machine on the same directory runs the loop once: (its CodeCache, O2 compiles)."""
    s = make_snippet("hot", tmp_path, caching=True, **_env(tmp_path))
    try:
        base = BASES[0]
        code = load(s, base)
        for _ in range(3):
            r = s.run(code, addr=base, regs=STACK)
            assert r.exception is None
            assert struct.unpack("<I", s.read(base + OUT, 4))[0] == expected(base)
        cp = s.machine.translator.cp
        return cp.cache, cp.compiler.compiled
    finally:
        s.close()


@pytest.mark.parametrize("damage", ["library", "index"])
def test_a_damaged_cache_is_ignored_with_a_warning_and_replaced(tmp_path, capfd, damage):
    library, index = _run_until_hot(tmp_path)
    target = library if damage == "library" else index
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 64] = b"\xA5" * 64       # bytes in the middle overwritten
    target.write_bytes(bytes(raw))
    capfd.readouterr()

    cache, compiled = _second_run(tmp_path)
    err = capfd.readouterr().err
    warnings = [line for line in err.splitlines() if "damaged translation cache" in line]
    assert len(warnings) == 1 and "Traceback" not in err, err
    assert cache.bad == 1 and cache.loaded == 0
    assert compiled >= 1                       # the hot loop compiled again, and gave the right sum

    cache, compiled = _second_run(tmp_path)    # the save after that run wrote a good file again
    assert cache.bad == 0 and cache.loaded >= 1 and compiled == 0


def test_a_load_waits_for_a_save_in_progress(tmp_path):
    _run_until_hot(tmp_path)
    writer = CodeCache(tmp_path / "cache")
    loaded = []
    with writer._locked():                      # a save holds the lock between its two renames
        reader = threading.Thread(target=lambda: loaded.append(CodeCache(tmp_path / "cache")))
        reader.start()
        time.sleep(0.3)
        assert not loaded, "the load did not wait for the save"
    reader.join(10)
    assert loaded and loaded[0].loaded >= 1 and loaded[0].bad == 0
