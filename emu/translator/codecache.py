"""The translation cache on disk: every hot block this and earlier runs compiled
at O2, in one file that a run loads in one step.

The blocks are relocatable stencils (hot.py) in one cnp.StencilLibrary;
beside it a small JSON index says, per block key, its stencil, its length in
instructions and where its direct exits go (relative to its EIP).  A run
loads both at start (one read each, checked by the library's SHA-256) and
places a cached block in the arena when the translator meets its key, in
microseconds, instead of compiling it again; what a run compiled is merged
into the file when the run ends.

The file is shared by every pyemu process using the directory: a save takes
an exclusive lock (fcntl) on a lock file, merges what is on disk with what
this run added, and replaces the files by rename, so concurrent runs lose
nothing; a load takes the lock shared, so it never sees half a file nor a
library with another save's index.  A damaged file is ignored with
a warning (and replaced at the next save).  Past `max_bytes` of code the
blocks this run did not use are dropped first.

PYEMU_OBJCACHE_DIR names the directory (PYEMU_CACHE_DIR/objects by default,
shared with the LLVM tier's per-block objects of objcache.py, which only the
fallback without the baseline tier uses); PYEMU_CACHE=0 turns it off.
"""
import contextlib
import hashlib
import json
import os
import pathlib
import sys
import tempfile

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from .. import _source_hash
from .baseline.table import Table
from .callbacks import helper_numbering
from .cnp import LibraryFileError, StencilLibrary, host_triple
from .cnp.library import S_OFFSET, S_RELOC_BEGIN, S_RELOC_END, S_SIZE
from .baseline.stencilset import merge

FORMAT = 1
DEFAULT_MAX_BYTES = 256 << 20


class HotEntry:
    __slots__ = ("key", "name", "n_insns", "exits", "used")

    def __init__(self, key, name, n_insns, exits):
        self.key = tuple(key)           # (h1, h2): baseline/native.py hot_key
        self.name = name
        self.n_insns = n_insns
        self.exits = list(exits)        # direct exits: target EIP - block EIP
        self.used = False


def fingerprint():
    """What cached code depends on: the translator's sources, the helpers'
    numbering, LLVM, the host."""
    h = hashlib.sha256()
    for part in (_source_hash(), json.dumps(helper_numbering()), llvmlite.__version__, host_triple(),
                 llvm.get_host_cpu_name(), str(FORMAT)):
        h.update(part.encode())
    return h.hexdigest()[:20]


class CodeCache:
    def __init__(self, directory, enabled=True, max_bytes=DEFAULT_MAX_BYTES):
        self.enabled = enabled
        self.directory = pathlib.Path(directory)
        self.max_bytes = max_bytes
        name = "hot-%s" % fingerprint()
        self.path = self.directory / (name + ".npz")
        self.index_path = self.directory / (name + ".json")
        self.lock_path = self.directory / (name + ".lock")
        self.library = None
        self._role_ids = None
        self.entries = {}               # key -> HotEntry
        self.by_index = []              # the entries, in the order of native_map's values
        self.table = Table(pairs=True)  # key -> index in by_index, for native code
        self.added = {}                 # key -> HotEntry compiled by this run (not on disk yet)
        self.loaded = 0
        self.hits = 0
        self.bad = 0
        self.generation = 0             # bumped when the library grows (emitters rebind)
        if enabled:
            self._read()

    # --- lookup -------------------------------------------------------------------------------
    def get(self, key):
        e = self.entries.get(key)
        if e is not None:
            e.used = True
        return e

    def entry_at(self, index):
        """The entry `table` gave (baseline/native.py make_block: HOT)."""
        e = self.by_index[index]
        e.used = True
        return e

    def _index(self, entries):
        for e in entries:
            self.table[e.key] = len(self.by_index)
            self.by_index.append(e)

    def sid(self, entry):
        return self.library.stencil_id(entry.name)

    def role_ids(self):
        """{role: id} of the library's value holes (a role no block uses is not there)."""
        if self._role_ids is None or self._role_ids[0] is not self.library:
            self._role_ids = (self.library, {r: i for i, r in enumerate(self.library.roles)})
        return self._role_ids[1]

    def add(self, library, entries):
        """Blocks this run compiled (a library of their stencils, their HotEntry)."""
        self.library = library if self.library is None else merge(self.library, library)
        for e in entries:
            e.used = True
            self.entries[e.key] = e
            self.added[e.key] = e
        self._index(entries)
        self.generation += 1

    # --- the file -----------------------------------------------------------------------------
    def _read(self):
        if not self.path.exists():
            return
        # under a shared lock: a save replaces the library and its index by two
        # renames, and a reader between them would pair one with the other
        try:
            with self._locked(shared=True):
                lib, index = self._load_files()
        except OSError:                          # a directory this process cannot write
            lib, index = self._load_files()
        if lib is not None:
            self.library = lib
            self.entries = index
            self._index(index.values())
            self.loaded = len(index)
            self.generation += 1

    def _load_files(self, warn=True):
        if not self.path.exists():
            return None, {}
        try:
            lib = StencilLibrary.load(self.path)
            meta = json.loads(self.index_path.read_text())
            if meta.get("format") != FORMAT or meta.get("n_stencils") != lib.n_stencils:
                raise ValueError("index does not match the library")
            index = {}
            for row in meta["blocks"]:
                e = HotEntry(*row)
                index[e.key] = e
            for e in index.values():
                lib.stencil_id(e.name)              # every entry names a stencil of the library
            return lib, index
        except FileNotFoundError:
            return None, {}
        except (LibraryFileError, OSError, ValueError, KeyError, TypeError) as e:
            if warn:
                self.bad += 1
                sys.stderr.write("pyemu: ignoring the damaged translation cache %s (%s)\n" % (self.path, e))
            return None, {}

    @contextlib.contextmanager
    def _locked(self, shared=False):
        import fcntl       # deferred: POSIX only; without it there is no cache, not no pyemu
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def save(self):
        """Merge what this run compiled into the file (see the module docstring)."""
        if not (self.enabled and self.added):
            return
        try:
            with self._locked():
                disk, index = self._load_files(warn=False)     # a damaged file is replaced here
                new = [e for k, e in self.added.items() if k not in index]
                lib = disk
                if new:
                    mine = self.library
                    part = _subset(mine, [e.name for e in new])
                    lib = part if lib is None else merge(lib, part)
                    for e in new:
                        index[e.key] = e
                lib, index = self._prune(lib, index)
                if lib is None:
                    return
                self._write(lib, index)
            self.added = {}
        except OSError as e:
            sys.stderr.write("pyemu: cannot save the translation cache in %s: %s\n" % (self.directory, e))

    def _prune(self, lib, index):
        if lib is None or lib.code.shape[0] <= self.max_bytes:
            return lib, index
        keep = [e for e in index.values() if e.used] or list(index.values())
        keep = keep[-max(1, len(keep) // 2):] if lib.code.shape[0] > 2 * self.max_bytes else keep
        return _subset(lib, [e.name for e in keep]), {e.key: e for e in keep}

    def _write(self, lib, index):
        meta = {"format": FORMAT, "n_stencils": lib.n_stencils,
                "blocks": [[list(e.key), e.name, e.n_insns, e.exits] for e in index.values()]}
        for target, write in ((self.path, lib.save),
                              (self.index_path, lambda p: pathlib.Path(p).write_text(json.dumps(meta)))):
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=target.suffix)
            os.close(fd)
            try:
                write(tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def clear(self):
        for p in (self.path, self.index_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _subset(lib, names):
    """A library of the named stencils of lib only (in that order)."""
    ids = [lib.stencil_id(n) for n in names]
    code, stencils, relocs = [], [], []
    at = nrel = 0
    for sid in ids:
        off, size = lib.stencils[sid, S_OFFSET], lib.stencils[sid, S_SIZE]
        rb, re_ = lib.stencils[sid, S_RELOC_BEGIN], lib.stencils[sid, S_RELOC_END]
        row = lib.stencils[sid].copy()
        row[S_OFFSET], row[S_RELOC_BEGIN], row[S_RELOC_END] = at, nrel, nrel + (re_ - rb)
        code.append(lib.code[off:off + size])
        relocs.append(lib.relocs[rb:re_])
        stencils.append(row)
        at += size
        nrel += re_ - rb
    return StencilLibrary(
        triple=lib.triple, stencil_names=list(names), roles=list(lib.roles), addr_names=list(lib.addr_names),
        runtime_names=list(lib.runtime_names),
        code=np.concatenate(code) if code else np.zeros(0, np.uint8),
        stencils=np.array(stencils, dtype=np.int64).reshape(-1, lib.stencils.shape[1]),
        relocs=np.concatenate(relocs) if relocs else np.zeros((0, lib.relocs.shape[1]), np.int64),
        rodata=lib.rodata.copy(), rodata_align=lib.rodata_align, source_digest=lib.source_digest)
