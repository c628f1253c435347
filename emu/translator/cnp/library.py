"""StencilLibrary: the compiled stencils of one target as flat numpy arrays (what the
native emitter reads), their names, and a checked file format.

Arrays:
  code      uint8[total]     all stencils' bytes, concatenated
  stencils  int64[n, 5]      per stencil: S_OFFSET into code, S_SIZE, S_TRIM (bytes of the
                             trailing `jmp __cont.0` that may be dropped, 0 if none),
                             S_RELOC_BEGIN, S_RELOC_END (row range in relocs)
  relocs    int64[m, 5]      offset in the stencil, kind, target, index, addend (relocs.py)
  rodata    uint8[r]         constants the stencils reference (constant pools), laid out
                             once per arena; TARGET_RODATA addends include their offset

File: MAGIC, then the SHA-256 of the rest, then an uncompressed .npz (no pickles) holding
those arrays and `header`, the UTF-8 JSON of everything else (names, triple, digest of the
source).  `load` reports any damage (truncation, any flipped byte, a foreign file) as
LibraryFileError, and validates the tables before returning.
"""
import hashlib
import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .contract import N_CONTS, arch_of_triple
from .relocs import (KNOWN_KINDS, KIND_NAMES, R_TARGET, TARGET_ADDR, TARGET_CONT, TARGET_RODATA,
                     TARGET_RUNTIME, TARGET_VALUE, field_width)

S_OFFSET, S_SIZE, S_TRIM, S_RELOC_BEGIN, S_RELOC_END = range(5)
FORMAT = "pyemu-cnp-stencils"
FORMAT_VERSION = 1
MAGIC = b"PYEMUCNP"
_DIGEST_SIZE = 32
_ARRAYS = ("code", "stencils", "relocs", "rodata")


class LibraryFileError(Exception):
    """A stencil library file is missing, damaged or not one."""


@dataclass
class StencilLibrary:
    triple: str
    stencil_names: list
    roles: list
    addr_names: list
    runtime_names: list
    code: np.ndarray
    stencils: np.ndarray
    relocs: np.ndarray
    rodata: np.ndarray
    rodata_align: int = 16
    source_digest: str = ""      # SHA-256 of what the library was built from (objfile.py)
    _index: dict = field(default=None, init=False, repr=False, compare=False)

    # --- names ------------------------------------------------------------------------------
    @property
    def arch(self):
        return arch_of_triple(self.triple)

    def _maps(self):
        if self._index is None:
            self._index = {key: {name: i for i, name in enumerate(names)} for key, names in (
                ("stencil", self.stencil_names), ("role", self.roles),
                ("addr", self.addr_names), ("runtime", self.runtime_names))}
        return self._index

    def stencil_id(self, name):
        return self._lookup("stencil", name)

    def role_id(self, role):
        return self._lookup("role", role)

    def addr_id(self, name):
        return self._lookup("addr", name)

    def runtime_id(self, name):
        return self._lookup("runtime", name)

    def _lookup(self, what, name):
        try:
            return self._maps()[what][name]
        except KeyError:
            raise KeyError(f"stencil library ({self.triple}) has no {what} named {name!r}") from None

    @property
    def n_stencils(self):
        return len(self.stencil_names)

    @property
    def max_cont_sites(self):
        """Most continuation references in one stencil: rows of patch sites per piece."""
        best = 0
        for sid in range(self.n_stencils):
            rows = self.relocs_of(sid)
            best = max(best, int(np.count_nonzero(rows[:, R_TARGET] == TARGET_CONT)))
        return best

    def relocs_of(self, sid):
        begin, end = self.stencils[sid, S_RELOC_BEGIN], self.stencils[sid, S_RELOC_END]
        return self.relocs[begin:end]

    def stencil_bytes(self, sid):
        off, size = self.stencils[sid, S_OFFSET], self.stencils[sid, S_SIZE]
        return bytes(self.code[off:off + size])

    def describe(self, name):
        """A readable account of one stencil (size, trim, each relocation)."""
        sid = self.stencil_id(name)
        lines = [f"{name}: {self.stencils[sid, S_SIZE]} bytes, trim {self.stencils[sid, S_TRIM]}"]
        for off, kind, target, index, addend in self.relocs_of(sid).tolist():
            lines.append(f"  +{off:#x} {KIND_NAMES.get(kind, kind)} -> "
                         f"{self._target_text(target, index)} {addend:+d}")
        return "\n".join(lines)

    def _target_text(self, target, index):
        if target == TARGET_VALUE:
            return f"value {self.roles[index]}"
        if target == TARGET_ADDR:
            return f"addr {self.addr_names[index]}"
        if target == TARGET_CONT:
            return f"cont {index}"
        if target == TARGET_RUNTIME:
            return f"runtime {self.runtime_names[index]}"
        return "rodata"

    # --- consistency --------------------------------------------------------------------------
    def validate(self):
        """Check every index the emitter will follow, so a bad library is an error here and
        never an out-of-bounds access in native code.  Raises ValueError."""
        arch_of_triple(self.triple)
        n = len(self.stencil_names)
        checks = [
            (self.code.dtype == np.uint8 and self.code.ndim == 1, "code must be uint8[n]"),
            (self.rodata.dtype == np.uint8 and self.rodata.ndim == 1, "rodata must be uint8[n]"),
            (self.stencils.dtype == np.int64 and self.stencils.shape == (n, 5),
             "stencils must be int64[n_stencils, 5]"),
            (self.relocs.dtype == np.int64 and self.relocs.ndim == 2 and self.relocs.shape[1] == 5,
             "relocs must be int64[m, 5]"),
            (len(set(self.stencil_names)) == n, "duplicate stencil names"),
            (self.rodata_align > 0 and self.rodata_align & (self.rodata_align - 1) == 0,
             "rodata_align must be a power of two"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"stencil library: {message}")
        limits = {TARGET_VALUE: len(self.roles), TARGET_ADDR: len(self.addr_names),
                  TARGET_CONT: N_CONTS, TARGET_RUNTIME: len(self.runtime_names), TARGET_RODATA: 1}
        if not self._ranges_valid(limits):
            self._name_fault(limits)
        return self

    def _ranges_valid(self, limits):
        """validate's range checks on whole arrays at once (a library has tens of
        thousands of relocations, and pyemu loads one at every start)."""
        off, size, trim, begin, end = (self.stencils[:, k] for k in range(5))
        m = self.relocs.shape[0]
        if not (np.all(off >= 0) and np.all(size > 0) and np.all(off + size <= self.code.shape[0])
                and np.all(trim >= 0) and np.all(trim <= size)
                and np.all(begin >= 0) and np.all(begin <= end) and np.all(end <= m)):
            return False
        counts = end - begin
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(counts)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        rows = self.relocs[np.arange(total) - first + begin[owner]] if total else self.relocs[:0]
        r_off, kind, target, index = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        limit = np.array([limits.get(t, -1) for t in range(max(limits) + 1)], dtype=np.int64)
        target_known = (target >= 0) & (target < limit.shape[0])
        if not np.all(target_known):
            return False
        wide = np.isin(kind, [k for k in KNOWN_KINDS if field_width(k) == 8])
        return bool(np.all(np.isin(kind, list(KNOWN_KINDS))) and np.all(index >= 0)
                    and np.all(index < limit[target]) and np.all(r_off >= 0)
                    and np.all(r_off + np.where(wide, 8, 4) <= size[owner]))

    def _name_fault(self, limits):
        """Raise the ValueError that names the first bad stencil (one by one)."""
        m = self.relocs.shape[0]
        for sid, (off, size, trim, begin, end) in enumerate(self.stencils.tolist()):
            name = self.stencil_names[sid]
            if off < 0 or size <= 0 or off + size > self.code.shape[0] or not 0 <= trim <= size:
                raise ValueError(f"stencil library: stencil {name!r} has a bad code range")
            if not 0 <= begin <= end <= m:
                raise ValueError(f"stencil library: stencil {name!r} has a bad relocation range")
            for r_off, kind, target, index, addend in self.relocs[begin:end].tolist():
                if kind not in KNOWN_KINDS:
                    raise ValueError(f"stencil library: stencil {name!r}: unknown kind {kind}")
                if target not in limits or not 0 <= index < limits[target]:
                    raise ValueError(f"stencil library: stencil {name!r}: bad target {target}/{index}")
                if r_off < 0 or r_off + field_width(kind) > size:
                    raise ValueError(f"stencil library: stencil {name!r}: relocation outside it")
        raise ValueError("stencil library: a range check failed")

    # --- file format ------------------------------------------------------------------------
    def _header(self):
        return {"format": FORMAT, "version": FORMAT_VERSION, "triple": self.triple,
                "stencil_names": self.stencil_names, "roles": self.roles,
                "addr_names": self.addr_names, "runtime_names": self.runtime_names,
                "rodata_align": self.rodata_align, "source_digest": self.source_digest}

    def save(self, path):
        """Write the library to `path`, atomically (write then rename)."""
        buf = io.BytesIO()
        np.savez(buf, header=np.frombuffer(json.dumps(self._header()).encode(), dtype=np.uint8),
                 **{k: getattr(self, k) for k in _ARRAYS})
        payload = buf.getvalue()
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path, expect_digest=None):
        """Read a library written by save().  LibraryFileError if the file is missing,
        damaged, of another format version, or (with expect_digest) built from other IR."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise LibraryFileError(f"stencil library {path}: no such file") from None
        except OSError as exc:
            raise LibraryFileError(f"stencil library {path}: {exc}") from None
        if not data.startswith(MAGIC):
            raise LibraryFileError(f"stencil library {path}: not a {FORMAT} file")
        digest = data[len(MAGIC):len(MAGIC) + _DIGEST_SIZE]
        payload = data[len(MAGIC) + _DIGEST_SIZE:]
        if len(digest) != _DIGEST_SIZE or hashlib.sha256(payload).digest() != digest:
            raise LibraryFileError(f"stencil library {path} is damaged (checksum mismatch)")
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                arrays = {k: np.array(z[k]) for k in _ARRAYS}
        except Exception as exc:  # zipfile, numpy and json all have their own errors
            raise LibraryFileError(f"stencil library {path} is damaged or not a stencil "
                                   f"library: {type(exc).__name__}: {exc}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise LibraryFileError(f"stencil library {path}: not a {FORMAT} file")
        if header.get("version") != FORMAT_VERSION:
            raise LibraryFileError(f"stencil library {path}: format version {header.get('version')}, "
                                   f"expected {FORMAT_VERSION}")
        if expect_digest is not None and header.get("source_digest") != expect_digest:
            raise LibraryFileError(f"stencil library {path} was built from other IR or settings")
        try:
            lib = cls(triple=header["triple"], stencil_names=header["stencil_names"],
                      roles=header["roles"], addr_names=header["addr_names"],
                      runtime_names=header["runtime_names"], rodata_align=header["rodata_align"],
                      source_digest=header["source_digest"], **arrays)
            return lib.validate()
        except (KeyError, TypeError, ValueError) as exc:
            raise LibraryFileError(f"stencil library {path} is inconsistent: {exc}") from None
