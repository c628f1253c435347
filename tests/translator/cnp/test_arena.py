"""The arena's own rules: allocation, limits, stubs, closing."""
import numpy as np
import pytest

from emu.translator.cnp import Arena, ArenaError, ArenaFull
from emu.translator.cnp.arena import host_arch, stub_bytes


def test_code_and_data_meet_in_the_middle():
    with Arena(1 << 16, fixed_size=4096) as arena:
        assert arena.mode in ("rwx", "dual") and arena.executable
        code = arena.alloc_code(100)
        assert code == arena.code_start and code % 16 == 0
        data = arena.alloc_data(8)
        assert data == arena.end - 8
        assert arena.read(data, 8) == bytes(8)
        assert arena.alloc_code(10) % 16 == 0
        with pytest.raises(ArenaFull):
            arena.alloc_data(arena.free() + 1)
        with pytest.raises(ArenaFull):
            arena.alloc_code(arena.free() + 1)
        arena.alloc_data(arena.free() - 16)
        with pytest.raises(ArenaFull):
            arena.alloc_code(32)
        arena.reset()
        assert arena.free() == arena.end - arena.code_start


def test_stubs_are_made_once_and_repointed():
    with Arena(1 << 16, fixed_size=4096) as arena:
        a = arena.stub("f", 0x1234_5678_9ABC)
        assert arena.stub("f", 0x1234_5678_9ABC) == a
        assert arena.read(a, 16) == stub_bytes(host_arch(), 0x1234_5678_9ABC)
        assert arena.stub("g", 0x10) == a + 16
        arena.stub("f", 0x42)
        assert arena.read(a + 6 if host_arch() == "x86_64" else a + 8, 8) == (0x42).to_bytes(8, "little")
        with pytest.raises(ArenaError, match="bad address"):
            arena.stub("h", 0)
        arena.reset()
        assert arena.stubs["f"] == a               # stubs survive a reset


def test_fixed_part_overflow():
    with Arena(1 << 16, fixed_size=32) as arena:
        arena.stub("a", 1)
        arena.stub("b", 2)
        with pytest.raises(ArenaError, match="fixed part full"):
            arena.stub("c", 3)


def test_limits_and_bad_requests():
    with pytest.raises(ArenaError, match="can only span"):
        Arena(3 << 30)
    with pytest.raises(ArenaError, match="can only span"):        # B/BL reach 128 MB
        Arena.over_buffer(np.zeros((128 << 20) + 16, np.uint8), 0x1000, "aarch64")
    with pytest.raises(ArenaError, match="mode"):
        Arena(1 << 16, mode="wx")
    with pytest.raises(ArenaError, match="writable C-contiguous uint8"):
        Arena.over_buffer(np.zeros(64, np.int32), 0x1000, "aarch64")
    other = "aarch64" if host_arch() == "x86_64" else "x86_64"
    with pytest.raises(ArenaError, match="cannot run on this"):
        Arena(1 << 16, arch=other)
    arena = Arena(1 << 16, fixed_size=4096)
    with pytest.raises(ArenaError, match="outside the arena"):
        arena.write(arena.end - 2, b"abcd")
    with pytest.raises(ArenaError, match="outside the arena"):
        arena.read(arena.base - 1, 2)
    arena.close()
    arena.close()                                   # closing twice is harmless
    assert arena.mem is None


def test_refused_rwx_falls_back_to_double_mapping(monkeypatch):
    import errno

    from emu.translator.cnp import arena as arena_module
    real = arena_module._mmap

    def no_wx(addr, size, prot, flags, fd=-1):
        if prot & arena_module.PROT_WRITE and prot & arena_module.PROT_EXEC:
            raise OSError(errno.EACCES, "denied (as by SELinux execmem)")
        return real(addr, size, prot, flags, fd)

    monkeypatch.setattr(arena_module, "_mmap", no_wx)
    with Arena(1 << 16) as arena:
        assert arena.mode == "dual"
        arena.write(arena.code_start, b"\xc3")
        assert arena.read(arena.code_start, 1) == b"\xc3"
    with pytest.raises(ArenaError, match="read\\+write\\+execute mapping: .*denied"):
        Arena(1 << 16, mode="rwx")
