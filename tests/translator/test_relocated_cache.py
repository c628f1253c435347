"""The translation cache still hits when the same code sits at another address.

A relocatable kernel (Debian's, moved by KASLR at every boot) is the same
code at another physical and virtual address, with the absolute addresses in
it (32-bit immediates and displacements) patched by its relocations.  Here
that is a small program assembled at two bases (keystone), so the two images
differ exactly in those fields.  The first machine runs it at one base until
its loop is hot and compiled at O2, and keeps the O2 code in the translation
cache (one file, PYEMU_OBJCACHE_DIR); a second machine, a new process's view
of the same directory, runs the image at the other base: its hot blocks must
come from the cache (no O2 compile at all) and compute with the new
addresses: the data at the first base holds other values in the second
machine, so code that kept the first base's addresses would give another
result.

tests/boot/test_relocated_kernel.py does the same with Debian's kernel
loaded at two physical addresses (slow).
"""
import struct
import time

import pytest

from tier_snippets import asm, blocks_at, make_snippet

BASES = (0x40000, 0x2C0000)
TABLE, FNPTR, OUT = 0x800, 0x900, 0xA00      # offsets of the data from the base
TABLE_WORDS = 64
LOOP = 7                                      # offset of the loop (after mov ecx, n; xor edx, edx)
STACK = {"esp": 0x3F0000}                    # below the top of the snippet's 4 MB


def program(base):
    """The loop sums a table through absolute addresses (a displacement, an
    immediate, a pointer in memory) and calls a routine through that pointer."""
    return asm("""
        mov ecx, {n}
        xor edx, edx
    l:  mov eax, dword ptr [{table} + ecx*4 - 4]
        mov esi, {table}
        add eax, dword ptr [esi]
        call dword ptr [{fnptr}]
        add edx, eax
        dec ecx
        jnz l
        mov dword ptr [{out}], edx
        hlt
    mix:
        imul eax, eax, 0x9e3779b1
        xor eax, {base}
        ret
    """.format(n=TABLE_WORDS, table=base + TABLE, fnptr=base + FNPTR, out=base + OUT, base=base), base)


def data(base, seed):
    words = [(seed * 0x01000193 + k * 0x9E3779B1) & 0xFFFFFFFF for k in range(TABLE_WORDS)]
    return struct.pack("<%dI" % TABLE_WORDS, *words)


def expected(base):
    words = struct.unpack("<%dI" % TABLE_WORDS, data(base, 1))
    edx = 0
    for ecx in range(TABLE_WORDS, 0, -1):
        eax = (words[ecx - 1] + words[0]) & 0xFFFFFFFF
        eax = ((eax * 0x9E3779B1) & 0xFFFFFFFF) ^ base
        edx = (edx + eax) & 0xFFFFFFFF
    return edx


def load(s, base, seed=1):
    code = program(base)
    s.write(base, code)
    s.write(base + TABLE, data(base, seed))
    mix = base + code.index(bytes.fromhex("69c0b179379e"))
    s.write(base + FNPTR, struct.pack("<I", mix))
    return code


def test_program_images_differ_only_in_absolute_fields():
    a, b = program(BASES[0]), program(BASES[1])
    assert len(a) == len(b) and a != b
    # the same instructions: every differing byte is in a 32-bit field holding base + offset
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    assert diff and all(k >= 1 for k in diff)


@pytest.mark.parametrize("background", ["0", "1"], ids=["at-once", "compiler-thread"])
def test_hot_code_at_another_address_comes_from_the_translation_cache(tmp_path, background):
    env = dict(PYEMU_HOT="8", PYEMU_BACKGROUND=background, PYEMU_OBJCACHE_DIR=str(tmp_path / "cache"))
    first = make_snippet("hot", tmp_path, caching=True, **env)
    try:
        base = BASES[0]
        code = load(first, base)
        tr = first.machine.translator
        # run until the loop's O2 code is in place (the compiler thread takes what it
        # takes: at most a minute)
        deadline = time.monotonic() + 60
        while True:
            r = first.run(code, addr=base, regs=STACK)
            assert r.exception is None
            assert struct.unpack("<I", first.read(base + OUT, 4))[0] == expected(base)
            if [tb.tier for tb in blocks_at(first, base + LOOP)] == [2]:
                break
            assert time.monotonic() < deadline, "the loop never reached O2"
            time.sleep(0.01)
        assert tr.cp.compiler.compiled >= 1
    finally:
        first.close()                   # saves the translation cache

    second = make_snippet("hot", tmp_path, caching=True, **env)
    try:
        base = BASES[1]
        load(second, BASES[0], seed=2)  # the first base's program and data, other values
        code = load(second, base)
        r = second.run(code, addr=base, regs=STACK)
        assert r.exception is None
        assert struct.unpack("<I", second.read(base + OUT, 4))[0] == expected(base)
        cp = second.machine.translator.cp
        assert cp.cache.loaded >= 1
        assert cp.hot_hits >= 1, "no block came from the translation cache"
        assert cp.compiler.compiled == 0, "O2 compiled again what the cache holds"
        (loop,) = blocks_at(second, base + LOOP)
        assert loop.tier == 2
    finally:
        second.close()
