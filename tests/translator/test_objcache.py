"""The on-disk object cache: entries survive runs, bad entries are ignored and
replaced, a changed translator never sees old code, concurrent writers are safe."""
import multiprocessing
import os
import pathlib

import pytest

from emu.snippet import Snippet
from emu.translator import objcache
from emu.translator.objcache import ObjectCache

# mov ecx, 3000; l: add eax, ecx; xor edx, eax; dec ecx; jnz l
LOOP = bytes.fromhex("b9b80b0000 01c8 31c2 49 75f9")


def _expected_loop():
    eax = edx = 0
    for ecx in range(3000, 0, -1):
        eax = (eax + ecx) & 0xFFFFFFFF
        edx ^= eax
    return eax, edx


def _run_loop(monkeypatch, cache_dir, **env):
    # in a working tree being edited while the suite runs, the sources can change
    # under this process, and the cache then (rightly) turns itself off
    # (test_edited_sources_turn_the_cache_off); these tests are about the rest
    monkeypatch.setattr(objcache, "sources_unchanged", lambda: True)
    monkeypatch.setenv("PYEMU_OBJCACHE_DIR", str(cache_dir))
    # every block through LLVM (the baseline tier's stencils are not objects)
    monkeypatch.setenv("PYEMU_BASELINE", "0")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Snippet(bits=32)
    try:
        r = s.run(LOOP)
        return r, s.machine.translator
    finally:
        s.close()


def test_round_trip_and_key_separates_what_is_baked_in(tmp_path):
    c = ObjectCache(tmp_path, enabled=True)
    k = c.key(b"\x90\xc3", 0x1000, 0, 0x13, "t1")
    assert c.get(k) is None
    c.put(k, b"OBJECT", {"name": "x", "n": 2})
    assert c.get(k) == (b"OBJECT", {"name": "x", "n": 2})
    others = {c.key(b"\x90\xc4", 0x1000, 0, 0x13, "t1"), c.key(b"\x90\xc3", 0x1001, 0, 0x13, "t1"),
              c.key(b"\x90\xc3", 0x1000, 0x10, 0x13, "t1"), c.key(b"\x90\xc3", 0x1000, 0, 0x12, "t1"),
              c.key(b"\x90\xc3", 0x1000, 0, 0x13, "t2")}
    assert len(others) == 5 and k not in others
    assert c.stats()["hits"] == 1 and c.stats()["stores"] == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "empty", "json"])
def test_a_damaged_entry_is_ignored_and_removed(tmp_path, damage):
    c = ObjectCache(tmp_path, enabled=True)
    k = c.key(b"\x40", 0, 0, 0, "t1")
    c.put(k, b"\x7fELF" + bytes(range(200)), {"name": "n"})
    path = c._path(k)
    data = path.read_bytes()
    if damage == "truncate":
        data = data[:len(data) - 7]
    elif damage == "flip":
        data = data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]
    elif damage == "magic":
        data = b"X" + data[1:]
    elif damage == "empty":
        data = b""
    else:   # a well-formed entry whose header is not a dict
        data = ObjectCache.encode(b"obj", {}).replace(b"{}", b"[]")
    path.write_bytes(data)
    assert c.get(k) is None
    assert not path.exists() and c.bad == 1
    c.put(k, b"NEW", {"name": "n"})
    assert c.get(k) == (b"NEW", {"name": "n"})


def test_disabled_cache_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PYEMU_CACHE", "0")
    c = ObjectCache(tmp_path)
    assert not c.enabled
    k = c.key(b"\x40", 0, 0, 0, "t1")
    c.put(k, b"x", {})
    assert c.get(k) is None and not any(tmp_path.iterdir())


def test_prune_keeps_the_newest_entries_under_the_cap(tmp_path):
    c = ObjectCache(tmp_path, enabled=True, max_bytes=10 ** 9)
    keys = []
    for i in range(20):
        k = c.key(bytes([i]), 0, 0, 0, "t1")
        c.put(k, bytes(1000), {})
        os.utime(c._path(k), (1000 + i, 1000 + i))
        keys.append(k)
    removed = c.prune(max_bytes=10 * 1100)
    assert removed > 0
    kept = [k for k in keys if c._path(k).exists()]
    assert 0 < len(kept) < 20
    assert kept == keys[-len(kept):]           # the oldest went first
    assert sum(s for _, s, _ in c.entries()) <= 10 * 1100


def _writer(root, n, seed):
    c = ObjectCache(root, enabled=True)
    for i in range(n):
        k = c.key(bytes([i % 7]), 0, 0, 0, "t1")
        c.put(k, bytes([seed]) * (100 + 50 * (i % 5)), {"seed": seed})
        got = c.get(k)
        assert got is not None and got[1]["seed"] in (0, 1) and len(set(got[0])) == 1


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(tmp_path, 300, s)) for s in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    c = ObjectCache(tmp_path, enabled=True)
    for i in range(7):
        got = c.get(c.key(bytes([i]), 0, 0, 0, "t1"))
        assert got is not None and len(set(got[0])) == 1
    assert c.bad == 0
    assert not [p for _, _, p in c.entries() if p.endswith(".tmp")]


def test_second_run_loads_every_block_from_the_cache(tmp_path, monkeypatch):
    r1, t1 = _run_loop(monkeypatch, tmp_path)
    assert t1.compiled == t1.blocks_translated + t1.tier_ups > 0
    r2, t2 = _run_loop(monkeypatch, tmp_path)
    assert t2.compiled == 0 and t2.objcache.hits >= t2.blocks_translated
    assert (r1.regs["eax"], r1.regs["edx"]) == (r2.regs["eax"], r2.regs["edx"]) == _expected_loop()
    assert r1.instructions == r2.instructions


def test_a_changed_translator_does_not_reuse_old_code(tmp_path, monkeypatch):
    _run_loop(monkeypatch, tmp_path)
    monkeypatch.setattr(objcache, "_fingerprint", "another-translator")
    monkeypatch.setattr(objcache, "_fingerprint_helpers", len(objcache.callbacks._helper_ids))
    r, t = _run_loop(monkeypatch, tmp_path)
    assert t.objcache.hits == 0 and t.compiled > 0
    assert (r.regs["eax"], r.regs["edx"]) == _expected_loop()


def test_corrupt_entries_on_disk_are_recompiled(tmp_path, monkeypatch):
    _run_loop(monkeypatch, tmp_path)
    n = 0
    for _, _, p in ObjectCache(tmp_path, enabled=True).entries():
        data = open(p, "rb").read()
        with open(p, "wb") as f:
            f.write(data[:len(data) // 2])
        n += 1
    assert n > 0
    r, t = _run_loop(monkeypatch, tmp_path)
    assert t.objcache.bad > 0 and t.compiled > 0
    assert (r.regs["eax"], r.regs["edx"]) == _expected_loop()
    # and the entries were written again
    r, t = _run_loop(monkeypatch, tmp_path)
    assert t.compiled == 0 and t.objcache.bad == 0


def test_edited_sources_turn_the_cache_off(tmp_path, monkeypatch):
    assert objcache.sources_unchanged() == (objcache.emu._source_hash() == objcache._SOURCES_AT_IMPORT)
    monkeypatch.setattr(objcache, "_SOURCES_AT_IMPORT", "not-the-files-on-disk")
    assert not objcache.sources_unchanged()
    assert not ObjectCache(tmp_path).enabled


# Modules outside emu.NATIVE_CODE_SOURCES that may use numba/llvmlite because
# nothing they make is cached: the block viewer compiles only to print.
UNCACHED_NATIVE_USERS = {"debug/show.py"}


def test_every_native_code_module_is_in_the_cache_fingerprint():
    """Compiled code is only as fresh as the sources the fingerprint hashes: a
    module that makes native code (numba or llvmlite) outside
    NATIVE_CODE_SOURCES would leave stale objects valid after an edit."""
    import re
    root = pathlib.Path(objcache.emu.__file__).parent
    uses_native = re.compile(r"^\s*(import|from)\s+(numba|llvmlite)\b", re.M)
    outside = set()
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] in objcache.emu.NATIVE_CODE_SOURCES:
            continue
        if uses_native.search(path.read_text()):
            outside.add(rel.as_posix())
    assert outside == UNCACHED_NATIVE_USERS
