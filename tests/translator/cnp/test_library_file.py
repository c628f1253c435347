"""Saving and loading a StencilLibrary; damaged files are reported, never crash."""
import hashlib
import io

import numpy as np
import pytest

from emu.translator.cnp import LibraryFileError, StencilLibrary, host_triple, source_digest
from emu.translator.cnp.library import MAGIC

from .stencil_ir import module


@pytest.fixture
def saved(tmp_path, host_lib):
    path = tmp_path / "stencils.npz"
    host_lib.save(path)
    return path


def test_round_trip(saved, host_lib):
    lib = StencilLibrary.load(saved, expect_digest=host_lib.source_digest)
    for name in ("triple", "stencil_names", "roles", "addr_names", "runtime_names",
                 "rodata_align", "source_digest"):
        assert getattr(lib, name) == getattr(host_lib, name), name
    for name in ("code", "stencils", "relocs", "rodata"):
        a, b = getattr(lib, name), getattr(host_lib, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert host_lib.source_digest == source_digest(module(), host_triple())


def test_other_source_is_rejected(saved):
    with pytest.raises(LibraryFileError, match="other IR"):
        StencilLibrary.load(saved, expect_digest="0" * 64)


def test_every_flipped_byte_is_detected(saved):
    data = saved.read_bytes()
    # Flip one byte at many places (magic, checksum, zip headers, JSON header, code, tables).
    for pos in range(0, len(data), max(1, len(data) // 211)):
        damaged = bytearray(data)
        damaged[pos] ^= 0x40
        saved.write_bytes(bytes(damaged))
        with pytest.raises(LibraryFileError):
            StencilLibrary.load(saved)


@pytest.mark.parametrize("cut", (0, 10, 100, -100, -1))
def test_truncated_file(saved, cut):
    data = saved.read_bytes()
    saved.write_bytes(data[:cut])
    with pytest.raises(LibraryFileError, match="damaged|not a"):
        StencilLibrary.load(saved)


def test_foreign_files(tmp_path):
    with pytest.raises(LibraryFileError, match="no such file"):
        StencilLibrary.load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, code=np.zeros(3, np.uint8))
    with pytest.raises(LibraryFileError, match="not a pyemu-cnp-stencils"):
        StencilLibrary.load(other)
    # Right magic and checksum around something that is not a library.
    for payload in (b"hello", _npz(header=np.frombuffer(b'{"format": "x"}', np.uint8))):
        other.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)
        with pytest.raises(LibraryFileError, match="damaged or not|not a pyemu"):
            StencilLibrary.load(other)


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_consistent_checksum_but_bad_table_is_rejected(tmp_path, host_lib):
    # A file whose checksum is right but whose tables point outside the code (as a
    # buggy writer could make) is refused by validate() before any native code sees it.
    bad = StencilLibrary(**{k: getattr(host_lib, k) for k in (
        "triple", "stencil_names", "roles", "addr_names", "runtime_names", "code", "relocs",
        "rodata", "rodata_align", "source_digest")}, stencils=host_lib.stencils.copy())
    bad.stencils[0, 1] = 10 ** 6
    path = tmp_path / "bad.npz"
    bad.save(path)
    with pytest.raises(LibraryFileError, match="inconsistent.*bad code range"):
        StencilLibrary.load(path)
