"""The stencils of this process: variant -> stencil, built on first need, kept on disk.

A variant's stencil is compiled by LLVM (O2) the first time a block needs it,
in a batch with the other variants that block needs, and appended to one
growing `cnp.StencilLibrary`.  The library is saved under the cache
directory (PYEMU_CACHE_DIR/stencils, keyed by a fingerprint of the
translator's sources, llvmlite's version and the host), so the stencils are
built once per pyemu build and host, like the native code of any program;
`python -m emu.translator.baseline build` builds the common ones ahead of
time.  What the block builder must know of each stencil besides its code
(whether it falls through to the next instruction, where its direct exits
go) is kept beside it in the library's file, and for the native block
builder (native.py) in arrays: `sids` (variant code -> stencil id, -1: not a
stencil), `falls` and `exits` (by stencil id).

A variant whose `op_*` cannot be a stencil (stencilgen.py says which shapes)
is remembered as such; a block that needs it is translated by LLVM.
"""
import hashlib
import json
import os
import pathlib
import sys
import tempfile
import threading
import time

import numpy as np
import llvmlite
import llvmlite.binding as llvm
import llvmlite.ir as ir

from ... import _source_hash, cache_root

from ..cnp import LibraryFileError, StencilLibrary, build_library, host_triple
from ..cnp.library import S_OFFSET, S_RELOC_BEGIN, S_RELOC_END
from ..cnp.relocs import R_ADDEND, R_INDEX, R_TARGET, TARGET_ADDR, TARGET_RODATA, TARGET_RUNTIME, TARGET_VALUE
from ..callbacks import helper_numbering
from ..errors import TranslationError
from ..operands import ROLE_IDS, ROLE_NAMES
from .native import key_of_code
from .stencilgen import emit_exit, emit_head, emit_stencil, stencil_ir, stencil_name
from .table import Table

ADDR_NAMES = ("counter", "slot")
HEAD, HEAD_COUNTING, EXIT, EXIT_LINKABLE = "head", "head.counting", "exit", "exit.linkable"
SPECIALS = (HEAD, HEAD_COUNTING, EXIT, EXIT_LINKABLE)
NOT_A_STENCIL = -1


class StencilInfo:
    """What the block builder needs to know of a stencil besides its code."""
    __slots__ = ("sid", "falls_through", "exit_roles")

    def __init__(self, sid, falls_through, exit_roles):
        self.sid = sid
        self.falls_through = falls_through
        self.exit_roles = tuple(exit_roles)


def fingerprint():
    """What the stencils depend on: the translator's sources, the helpers'
    numbering (stencils call them by number), LLVM, the host."""
    h = hashlib.sha256()
    for part in (_source_hash(), json.dumps(helper_numbering()), llvmlite.__version__, host_triple(),
                 llvm.get_host_cpu_name()):
        h.update(part.encode())
    return h.hexdigest()[:24]


def default_directory():
    return cache_root() / "stencils"


class StencilSet:
    def __init__(self, directory=None, persist=True):
        self.directory = pathlib.Path(directory) if directory else default_directory()
        self.persist = persist
        self.path = self.directory / ("stencils-%s.npz" % fingerprint())
        self.library = None
        self.info = {}              # variant code or special name -> StencilInfo (sid -1: not a stencil)
        self.sids = Table()             # variant code -> stencil id (-1: not a stencil), for native code
        self.falls = np.zeros(0, dtype=np.uint8)
        self.exits = np.zeros((0, 2), dtype=np.int64)
        self.built = 0              # stencils compiled by this process
        self.build_seconds = 0.0
        self.generation = 0         # bumped whenever the library grows (emitters rebind)
        self._lock = threading.Lock()
        self._unsaved = False
        if persist:
            self._load()
        if self.library is None:
            self._build(list(SPECIALS))

    # --- lookup ---------------------------------------------------------------------------------
    def special(self, name):
        return self.info[name]

    @property
    def native_generation(self):
        """Changes whenever an array native code reads was replaced."""
        return (self.generation, self.sids.generation, self.falls.shape[0])

    def specials(self, hot_threshold):
        """For native.make_block: stencil ids of (head, counting head or -1, exit,
        linkable exit) and the hot threshold (None: no counting)."""
        return np.array([self.info[HEAD].sid, self.info[HEAD_COUNTING].sid if hot_threshold else -1,
                         self.info[EXIT].sid, self.info[EXIT_LINKABLE].sid, hot_threshold or 0],
                        dtype=np.int64)

    # --- building -----------------------------------------------------------------------------------
    def build(self, codes):
        """Build the stencils of these variant codes (those not built yet)."""
        missing = [int(c) for c in dict.fromkeys(codes) if int(c) not in self.info]
        if missing:
            self._build(missing)

    def _build(self, keys):
        t0 = time.perf_counter()
        module = ir.Module("stencils")
        made = {}
        for key in keys:
            if isinstance(key, str):
                made[key] = self._emit_special(module, key)
                continue
            try:
                g = emit_stencil(module, key_of_code(key))
            except TranslationError:
                self._record(key, StencilInfo(NOT_A_STENCIL, False, ()))
                continue
            made[key] = (stencil_name(key_of_code(key)), g.falls_through, g.exit_roles)
        if made:
            lib = build_library(stencil_ir(module), roles=ROLE_NAMES, addr_names=ADDR_NAMES)
            self._append(lib, made)
            self.built += len(made)
            self._unsaved = True
        self.build_seconds += time.perf_counter() - t0

    def _emit_special(self, module, name):
        if name == HEAD:
            emit_head(module, name)
        elif name == HEAD_COUNTING:
            emit_head(module, name, counting=True)
        else:
            emit_exit(module, name, linkable=name == EXIT_LINKABLE)
        return name, name.startswith("head"), ()

    def _append(self, lib, made):
        base = self.library
        merged = lib if base is None else merge(base, lib)
        first = 0 if base is None else base.n_stencils
        self._grow(merged.n_stencils)
        for key, (name, falls, exits) in made.items():
            self._record(key, StencilInfo(first + lib.stencil_id(name), falls, exits))
        self.library = merged
        self.generation += 1

    def _grow(self, n):
        if self.falls.shape[0] < n:
            size = max(n, 2 * self.falls.shape[0], 256)
            falls = np.zeros(size, dtype=np.uint8)
            exits = np.full((size, 2), -1, dtype=np.int64)
            falls[:self.falls.shape[0]] = self.falls
            exits[:self.exits.shape[0]] = self.exits
            self.falls, self.exits = falls, exits

    def _record(self, key, info):
        self.info[key] = info
        if info.sid >= 0:
            self._grow(info.sid + 1)
            self.falls[info.sid] = info.falls_through
            for k, role in enumerate(info.exit_roles):
                self.exits[info.sid, k] = ROLE_IDS[role]
        if not isinstance(key, str):
            self.sids[key] = info.sid

    # --- the file ---------------------------------------------------------------------------------
    def _load(self):
        if not self.path.exists():
            return
        try:
            lib = StencilLibrary.load(self.path)
            meta = json.loads(self.path.with_suffix(".json").read_text())
            if lib.n_stencils != meta["n_stencils"] or list(lib.roles[:len(ROLE_NAMES)]) != list(ROLE_NAMES):
                raise ValueError("index does not match the library")
            rows = meta["stencils"]
        except (LibraryFileError, OSError, ValueError, KeyError) as e:
            sys.stderr.write("pyemu: ignoring the damaged stencil library %s (%s); building again\n"
                             % (self.path, e))
            return
        self.library = lib
        self._grow(lib.n_stencils)
        # as _record, row by row, but with the arrays and the table filled at once
        codes, sids = [], []
        for row in rows:
            key, sid = row["key"], row["sid"]
            self.info[key] = StencilInfo(sid, row["falls_through"], row["exit_roles"])
            if sid >= 0:
                self.falls[sid] = row["falls_through"]
                for k, role in enumerate(row["exit_roles"]):
                    self.exits[sid, k] = ROLE_IDS[role]
            if not isinstance(key, str):
                codes.append(key)
                sids.append(sid)
        self.sids.update(codes, sids)

    def save(self):
        """Write the library if it grew (atomically: concurrent processes are safe)."""
        with self._lock:
            if not (self.persist and self._unsaved and self.library is not None):
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            rows = [{"key": k, "sid": v.sid, "falls_through": v.falls_through, "exit_roles": list(v.exit_roles)}
                    for k, v in self.info.items()]
            meta = {"n_stencils": self.library.n_stencils, "stencils": rows}
            for target, write in ((self.path, self.library.save),
                                  (self.path.with_suffix(".json"),
                                   lambda p: pathlib.Path(p).write_text(json.dumps(meta)))):
                fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=target.suffix)
                os.close(fd)
                try:
                    write(tmp)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            self._unsaved = False


def merge(a, b):
    """A library with b's stencils after a's (ids of a's stay; b's move up by
    a.n_stencils).  Names of roles, address holes and runtime symbols are
    matched by name."""
    roles = list(a.roles) + [r for r in b.roles if r not in a.roles]
    addrs = list(a.addr_names) + [n for n in b.addr_names if n not in a.addr_names]
    runtime = list(a.runtime_names) + [n for n in b.runtime_names if n not in a.runtime_names]
    remap = {TARGET_VALUE: np.array([roles.index(r) for r in b.roles], dtype=np.int64),
             TARGET_ADDR: np.array([addrs.index(n) for n in b.addr_names], dtype=np.int64),
             TARGET_RUNTIME: np.array([runtime.index(n) for n in b.runtime_names], dtype=np.int64)}
    relocs = b.relocs.copy()
    for target, table in remap.items():
        rows = relocs[:, R_TARGET] == target
        if rows.any():
            relocs[rows, R_INDEX] = table[relocs[rows, R_INDEX]]
    align = max(a.rodata_align, b.rodata_align)
    pad = (-a.rodata.shape[0]) % align
    rows = relocs[:, R_TARGET] == TARGET_RODATA
    relocs[rows, R_ADDEND] += a.rodata.shape[0] + pad
    stencils = b.stencils.copy()
    stencils[:, S_OFFSET] += a.code.shape[0]
    stencils[:, S_RELOC_BEGIN] += a.relocs.shape[0]
    stencils[:, S_RELOC_END] += a.relocs.shape[0]
    return StencilLibrary(
        triple=a.triple, stencil_names=list(a.stencil_names) + list(b.stencil_names), roles=roles,
        addr_names=addrs, runtime_names=runtime,
        code=np.concatenate([a.code, b.code]), stencils=np.concatenate([a.stencils, stencils]),
        relocs=np.concatenate([a.relocs, relocs]),
        rodata=np.concatenate([a.rodata, np.zeros(pad, np.uint8), b.rodata]), rodata_align=align,
        source_digest=hashlib.sha256((a.source_digest + b.source_digest).encode()).hexdigest())
