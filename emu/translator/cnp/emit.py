"""The native emitter: lay out a sequence of pieces (stencil instances) contiguously and
patch their holes; re-point a continuation later (chaining / unchaining).

Native entry points (numba @njit, callable from Python or from other numba code):

emit_pieces(code, stencils, relocs, runtime, rodata_base,    # a library bound to an arena
            mem, mem_base, start, limit,                      # where to write
            ids, values, addrs, conts, trim,                  # what to write
            out_addr, out_sites, info) -> int64
    code, stencils, relocs   StencilLibrary arrays
    runtime     int64[n_runtime, 2]  per runtime-symbol id: its stub's address (0 = none)
                                  and the function's address.  Branches and PC-relative
                                  fields go to the stub, GOT fields to the stub's address
                                  word, absolute fields get the function's own address.
    rodata_base int64             address of the library's constants in the arena
    mem         uint8[:]          writable memory; mem[0] runs at address mem_base
    start       int64             address of the first piece (the caller aligns it)
    limit       int64             first address that must not be written
    ids         int32[n]          stencil id per piece, in layout order
    values      uint32[n, >=n_roles]   value-hole values per piece, by role id
    addrs       uint64/int64[n, >=n_addr_names]  address-hole values per piece, by name id
    conts       int64[n, 3]       continuation targets per piece:
                                  > 0  an absolute address;
                                  < 0  -1 - j: the start of piece j of this emission;
                                  0    not given: for k = 0 the next piece (an error for
                                       the last one), for k = 1, 2 an error if used.
    trim        bool              drop a trailing `jmp __cont.0` when it would jump to the
                                  piece laid out right after it
    out_addr    int64[n]          receives each piece's address
    out_sites   int64[>=sites, 5] receives one row per continuation patch site:
                                  (piece, k, field address, kind, addend)
    info        int64[4]          receives (number of sites, failing piece, failing
                                  relocation row, failing value)
  Returns the end address (>= start) or a negative status (relocs.ERR_*).  Nothing is
  written outside [start, limit), nor anything at all when the pieces do not fit; after
  another error [start, end) may hold partial code, which the caller simply does not
  commit.

repatch_site(mem, mem_base, lo, hi, site, kind, addend, target) -> status
    Re-point the continuation field at `site` (a row of out_sites) to `target` with one
    4-byte store; the field must lie in [lo, hi).

Python: Emitter(library, arena, runtime) binds a library to an arena (stubs for its runtime
symbols, its constants) and offers emit() / emit_into() / repatch().
"""
import collections

import numpy as np
from numba import njit

from .arena import CODE_ALIGN, ArenaError, ArenaFull
from .contract import AARCH64, N_CONTS, X86_64
from .library import S_OFFSET, S_RELOC_BEGIN, S_RELOC_END, S_SIZE, S_TRIM
from .relocs import (ERR_CONT_UNSET, ERR_CONT_PIECE, ERR_FULL, ERR_OUTSIDE, ERR_RANGE,
                     ERR_RUNTIME_UNBOUND, ERR_SHAPE, ERR_SITES, ERR_STENCIL_ID, ERR_WINDOW,
                     KIND_A64_ABS32, KIND_A64_ABS64, KIND_A64_GOT_LO12, KIND_A64_GOT_PAGE,
                     KIND_A64_MOVW_G0, KIND_A64_MOVW_G3, KIND_NAMES, KIND_X86_ABS32,
                     KIND_X86_ABS32S, KIND_X86_ABS64, KIND_X86_GOTPC32, KIND_X86_PC64, OK, R_ADDEND, R_INDEX,
                     R_KIND, R_OFFSET, R_TARGET, STATUS_TEXT, STUB_SLOT_OFFSET, TARGET_ADDR,
                     TARGET_CONT, TARGET_RUNTIME, TARGET_VALUE, apply_patch, copy_bytes)

_X86_SLOT = STUB_SLOT_OFFSET[X86_64]
_A64_SLOT = STUB_SLOT_OFFSET[AARCH64]


class EmitError(Exception):
    """The pieces cannot be emitted as asked (bad id, unset continuation, value out of
    range...).  Nothing was committed to the arena."""


@njit(cache=True, nogil=True, inline="always")
def _cont_target(conts, out_addr, i, k, n):
    """Address continuation k of piece i goes to, or a negative status."""
    c = conts[i, k]
    if c > 0:
        return c
    if c == 0:
        if k == 0 and i + 1 < n:
            return out_addr[i + 1]
        return ERR_CONT_UNSET
    j = -1 - c
    if j >= n:
        return ERR_CONT_PIECE
    return out_addr[j]


@njit(cache=True, nogil=True, inline="always")
def _falls_through(conts, i, n):
    """Does continuation 0 of piece i go to piece i + 1?"""
    c = conts[i, 0]
    return i + 1 < n and (c == 0 or c == -2 - i)


@njit(cache=True, nogil=True, inline="always")
def _is_absolute(kind):
    return (kind == KIND_X86_ABS64 or kind == KIND_X86_ABS32 or kind == KIND_X86_ABS32S
            or kind == KIND_A64_ABS64 or kind == KIND_A64_ABS32
            or (kind >= KIND_A64_MOVW_G0 and kind <= KIND_A64_MOVW_G3))


@njit(cache=True, nogil=True)
def emit_pieces(code, stencils, relocs, runtime, rodata_base, mem, mem_base, start, limit,
                ids, values, addrs, conts, trim, out_addr, out_sites, info):
    n = ids.shape[0]
    info[0] = 0
    info[1] = -1
    info[2] = -1
    info[3] = 0
    if start < mem_base or limit > mem_base + mem.shape[0] or start > limit:
        return ERR_WINDOW
    if (values.shape[0] < n or addrs.shape[0] < n or conts.shape[0] < n or conts.shape[1] < 3
            or out_addr.shape[0] < n or out_sites.shape[1] < 5):
        return ERR_SHAPE
    n_stencils = stencils.shape[0]
    # Pass 1: layout.  A piece whose stencil ends with `jmp __cont.0` and whose
    # continuation 0 is the next piece loses that jump.
    addr = start
    for i in range(n):
        sid = ids[i]
        if sid < 0 or sid >= n_stencils:
            info[1] = i
            return ERR_STENCIL_ID
        out_addr[i] = addr
        size = stencils[sid, S_SIZE]
        if trim and _falls_through(conts, i, n):
            size -= stencils[sid, S_TRIM]
        addr += size
    end = addr
    if end > limit:
        return ERR_FULL
    # Pass 2: copy and patch.
    n_sites = 0
    for i in range(n):
        sid = ids[i]
        size = stencils[sid, S_SIZE]
        if trim and _falls_through(conts, i, n):
            size -= stencils[sid, S_TRIM]
        src = stencils[sid, S_OFFSET]
        dst = out_addr[i] - mem_base
        copy_bytes(mem, dst, code, src, size)
        for r in range(stencils[sid, S_RELOC_BEGIN], stencils[sid, S_RELOC_END]):
            off = relocs[r, R_OFFSET]
            kind = relocs[r, R_KIND]
            width = 4
            if kind == KIND_X86_ABS64 or kind == KIND_X86_PC64 or kind == KIND_A64_ABS64:
                width = 8

            if off + width > size:
                continue            # the trimmed jump to continuation 0
            target = relocs[r, R_TARGET]
            index = relocs[r, R_INDEX]
            P = out_addr[i] + off
            if target == TARGET_VALUE:
                if index >= values.shape[1]:
                    info[1] = i
                    info[2] = r
                    return ERR_SHAPE
                S = np.int64(values[i, index])
            elif target == TARGET_ADDR:
                if index >= addrs.shape[1]:
                    info[1] = i
                    info[2] = r
                    return ERR_SHAPE
                S = np.int64(addrs[i, index])
            elif target == TARGET_CONT:
                S = _cont_target(conts, out_addr, i, index, n)
                if S < 0:
                    info[1] = i
                    info[2] = r
                    return S
                if n_sites >= out_sites.shape[0]:
                    return ERR_SITES
                out_sites[n_sites, 0] = i
                out_sites[n_sites, 1] = index
                out_sites[n_sites, 2] = P
                out_sites[n_sites, 3] = kind
                out_sites[n_sites, 4] = relocs[r, R_ADDEND]
                n_sites += 1
            elif target == TARGET_RUNTIME:
                S = runtime[index, 0]
                if S == 0:
                    info[1] = i
                    info[2] = r
                    return ERR_RUNTIME_UNBOUND
                if _is_absolute(kind):
                    S = runtime[index, 1]
                elif kind == KIND_X86_GOTPC32:
                    S += _X86_SLOT        # the stub's address word serves as GOT slot
                elif kind == KIND_A64_GOT_PAGE or kind == KIND_A64_GOT_LO12:
                    S += _A64_SLOT
            else:
                S = rodata_base
            if P + width > limit:
                return ERR_OUTSIDE
            status = apply_patch(mem, dst + off, kind, P, S, relocs[r, R_ADDEND])
            if status != OK:
                info[1] = i
                info[2] = r
                info[3] = S
                return status
    info[0] = n_sites
    return end


@njit(cache=True, nogil=True)
def repatch_site(mem, mem_base, lo, hi, site, kind, addend, target):
    if site < lo or site + 4 > hi or lo < mem_base or hi > mem_base + mem.shape[0]:
        return ERR_OUTSIDE
    return apply_patch(mem, site - mem_base, kind, site, target, addend)


Emission = collections.namedtuple("Emission", "start end addresses sites")
Emission.__doc__ = """Result of Emitter.emit: [start, end) written; addresses[i] = piece i;
sites = int64[k, 5] rows (piece, cont, field address, kind, addend), one per continuation
patch site (SITE_* column indices)."""
SITE_PIECE, SITE_CONT, SITE_ADDR, SITE_KIND, SITE_ADDEND = range(5)


class Emitter:
    """A StencilLibrary bound to an Arena.

    Emitter(library, arena, runtime): runtime maps each runtime symbol the library uses to
    its address (KeyError-like ArenaError listing the missing ones).  Stubs and constants
    are made in the arena's fixed part.
    """

    def __init__(self, library, arena, runtime):
        if library.arch != arena.arch:
            raise ArenaError(f"library for {library.arch} cannot go into a {arena.arch} arena")
        missing = [name for name in library.runtime_names if name not in runtime]
        if missing:
            raise ArenaError(f"no address for runtime symbol(s) {', '.join(missing)} "
                             f"used by the stencils")
        self.library = library
        self.arena = arena
        self.runtime = np.array([(arena.stub(name, runtime[name]), runtime[name])
                                 for name in library.runtime_names], dtype=np.int64).reshape(-1, 2)
        self.rodata_base = arena.constants(library)
        self.n_roles = len(library.roles)
        self.n_addrs = len(library.addr_names)
        self.max_sites = library.max_cont_sites
        self._code, self._stencils, self._relocs = library.code, library.stencils, library.relocs
        self._info = np.zeros(4, dtype=np.int64)

    def emit(self, ids, values=None, addrs=None, conts=None, *, trim=True):
        """Emit pieces at the arena's code cursor (16-byte aligned) and return an Emission.
        values / addrs / conts default to zeros (see emit_pieces for their meaning).
        ArenaFull when the code does not fit, EmitError for bad requests."""
        ids = np.asarray(ids, dtype=np.int32)
        n = ids.shape[0]
        values = (np.zeros((n, self.n_roles), dtype=np.uint32) if values is None
                  else np.ascontiguousarray(values, dtype=np.uint32))
        addrs = (np.zeros((n, self.n_addrs), dtype=np.uint64) if addrs is None
                 else np.ascontiguousarray(addrs, dtype=np.uint64))
        conts = (np.zeros((n, N_CONTS), dtype=np.int64) if conts is None
                 else np.ascontiguousarray(conts, dtype=np.int64))
        if ids.ndim != 1 or values.ndim != 2 or addrs.ndim != 2 or conts.ndim != 2:
            raise EmitError("emit: ids must be 1-D; values, addrs and conts 2-D (one row per piece)")
        out_addr = np.empty(n, dtype=np.int64)
        out_sites = np.empty((n * self.max_sites, 5), dtype=np.int64)
        end = self.emit_into(ids, values, addrs, conts, out_addr, out_sites, trim=trim)
        start = int(out_addr[0]) if n else end
        return Emission(start, end, out_addr, out_sites[:self._info[0]])

    def emit_into(self, ids, values, addrs, conts, out_addr, out_sites, *, trim=True):
        """emit() with caller-made arrays (ids int32[n], values uint32[n, R], addrs
        uint64[n, A], conts int64[n, 3], out_addr int64[n], out_sites int64[m, 5]).
        Returns the end address; the number of sites is self.last_site_count."""
        arena = self.arena
        if arena.mem is None:
            raise ArenaError("arena is closed")
        start = (arena.code_top + CODE_ALIGN - 1) & -CODE_ALIGN
        end = emit_pieces(self._code, self._stencils, self._relocs, self.runtime, self.rodata_base,
                          arena.mem, arena.base, start, arena.data_bottom, ids, values, addrs,
                          conts, trim, out_addr, out_sites, self._info)
        if end < 0:
            self._raise(end, ids, values, addrs, conts)
        arena.code_top = end
        if arena._flush is not None:
            arena.flush_icache(start, end)
        return end

    @property
    def last_site_count(self):
        return int(self._info[0])

    def repatch(self, site, target):
        """Re-point a continuation patch site (a row of Emission.sites, or (addr, kind,
        addend)) at address `target`."""
        if len(site) == 5:
            addr, kind, addend = int(site[SITE_ADDR]), int(site[SITE_KIND]), int(site[SITE_ADDEND])
        else:
            addr, kind, addend = (int(x) for x in site)
        arena = self.arena
        if arena.mem is None:
            raise ArenaError("arena is closed")
        status = repatch_site(arena.mem, arena.base, arena.code_start, arena.code_top,
                              addr, kind, addend, int(target))
        if status != OK:
            raise EmitError(f"repatch of the {KIND_NAMES.get(kind, kind)} field at {addr:#x} "
                            f"to {int(target):#x}: {STATUS_TEXT.get(status, status)}")
        if arena._flush is not None:
            arena.flush_icache(addr, addr + 4)

    def _raise(self, status, ids, values, addrs, conts):
        _, piece, row, value = (int(x) for x in self._info)
        text = STATUS_TEXT.get(status, f"status {status}")
        if status == ERR_FULL:
            raise ArenaFull(f"arena full: {len(ids)} pieces do not fit in {self.arena.free()} bytes")
        where = ""
        lib = self.library
        if 0 <= piece < len(ids):
            sid = int(ids[piece])
            name = lib.stencil_names[sid] if 0 <= sid < lib.n_stencils else f"id {sid}"
            where = f" (piece {piece}, stencil {name!r}"
            if row >= 0:
                r = lib.relocs[row]
                where += (f", {KIND_NAMES.get(int(r[R_KIND]), r[R_KIND])} at +{int(r[R_OFFSET]):#x} "
                          f"-> {lib._target_text(int(r[R_TARGET]), int(r[R_INDEX]))}")
                if status == ERR_RANGE:
                    where += f", value {value:#x}"
            where += ")"
        raise EmitError(f"emit: {text}{where}")
