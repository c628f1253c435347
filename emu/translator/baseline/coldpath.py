"""The translator's cold path in one native call: fetch, decode, plan, patch.

`cold_path` (a numba @cfunc, called through ctypes with one argument: the
address of a context of int64 slots, CTX_*) does for the block at a linear
address what a translation needs besides the bookkeeping:

1. the code fetch's page walk (paging.translate, as the CPU would: accessed
   bits, a #PF recorded on a fault), the bytes from guest RAM up to the
   page end, and a peek at the next page (paging.ACC_PEEK) for an
   instruction that runs over;
2. the decoder (frontend/decoder.py) into the records;
3. native.make_block: the stencils, the translation cache's key, the block
   laid out in the arena;
4. the walk of the next page for real when the block took bytes from it.

Python calls it once per block (Translator._copy_patch_block) instead of a
dozen numba and numpy calls, each with its own argument handling.  The
outputs are in the context's OUT slots (the records in the records array).
"""
import ctypes

import numpy as np
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

from ...cpu import hflags as H
from ...frontend import tables as T
from ...frontend.decoder import decode_block
from ...softmmu import phys as P
from ...softmmu.native import STATE_DTYPE
from ...softmmu.paging import ACC_CODE, ACC_PEEK, T_OK, TLB_GLOBAL, translate
from . import native

# what cold_path returns
OK, MISSING, LLVM, HOT, FULL = native.OK, native.MISSING, native.LLVM, native.HOT, native.FULL
FETCH_FAULT = 10            # the first page faulted (recorded in the CPU state)
FETCH_FAULT_NEXT = 11       # the first instruction runs into a page that faults: walk it for real
NOT_RAM = 12                # the code is not in RAM or ROM: Python's path

FETCH_MAX = 64 * T.MAX_INSN_LEN + 1     # what 64 instructions can take

# context slots
(C_STATE, C_LINEAR, C_EIP, C_CS_BASE, C_HFLAGS, C_USER, C_MAX_INSNS,
 C_BUF, C_RECS, C_N_RECS,
 C_SID_KEYS, C_SID_VALS, C_SID_SIZE, C_FALLS, C_EXITS, C_N_STENCILS,
 C_HOT_KEYS, C_HOT_VALS, C_HOT_SIZE,
 C_SPECIALS, C_CODE, C_CODE_LEN, C_STENCILS, C_RELOCS, C_N_RELOCS, C_RUNTIME, C_N_RUNTIME,
 C_RODATA_BASE, C_MEM, C_MEM_BASE, C_MEM_SIZE, C_CURSOR,
 C_ROWS, C_N_ROLES_ROWS, C_SCRATCH, C_IDS, C_VALUES, C_N_ROLES, C_ADDRS, C_N_ADDRS, C_CONTS,
 C_OUT_ADDR, C_OUT_SITES, C_N_SITES, C_INFO, C_MISSING, C_OUT,
 # outputs besides OUT: the fetch
 C_PHYS0, C_FIRST, C_GLOBAL, C_N, C_PHYS1,
 CTX_LEN) = range(53)
N_OUT = 10


@intrinsic
def _void_ptr(typingctx, addr):
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))
    return sig, codegen


@njit(cache=True, nogil=True)
def _i64(addr, shape):
    return carray(_void_ptr(addr), shape, dtype=np.int64)


@njit(cache=True, nogil=True)
def _copy_guest(st, phys, dst, at, n):
    """n bytes of guest RAM/ROM at phys into dst[at:]; False when the page is not memory."""
    host = carray(_void_ptr(np.int64(st.phys_host)), P.PHYS_PAGES, dtype=np.uint64)
    pfn = np.int64(phys) >> 12
    if pfn >= P.PHYS_PAGES or host[pfn] == 0:
        return False
    src = carray(_void_ptr(np.int64(host[pfn]) + (np.int64(phys) & 0xFFF)), n, dtype=np.uint8)
    for k in range(n):
        dst[at + k] = src[k]
    return True


@cfunc(types.int64(types.int64), cache=True, nogil=True)
def cold_path(ctx_addr):
    ctx = _i64(ctx_addr, CTX_LEN)
    st = carray(_void_ptr(ctx[C_STATE]), 1, dtype=STATE_DTYPE)[0]
    linear = ctx[C_LINEAR] & 0xFFFFFFFF
    user = ctx[C_USER] != 0
    hflags = ctx[C_HFLAGS]
    # 1. the fetch
    status, phys0, _, pad = translate(st, linear, ACC_CODE, user)
    if status != T_OK:
        return FETCH_FAULT
    first = 4096 - (linear & 0xFFF)
    want = min(first, FETCH_MAX)
    buf = carray(_void_ptr(ctx[C_BUF]), FETCH_MAX + T.MAX_INSN_LEN, dtype=np.uint8)
    if not _copy_guest(st, phys0, buf, 0, want):
        return NOT_RAM
    avail = want
    if first <= FETCH_MAX:
        s1, phys1, _, _ = translate(st, (linear + first) & 0xFFFFFFFF, ACC_CODE | ACC_PEEK, user)
        if s1 == T_OK and _copy_guest(st, phys1, buf, want, T.MAX_INSN_LEN - 1):
            avail += T.MAX_INSN_LEN - 1
    ctx[C_PHYS0] = phys0
    ctx[C_FIRST] = first
    ctx[C_GLOBAL] = 1 if pad & TLB_GLOBAL else 0
    # 2. the decoder
    recs = carray(_void_ptr(ctx[C_RECS]), ctx[C_N_RECS], dtype=T.RECORD)
    eip = ctx[C_EIP] & 0xFFFFFFFF
    n = decode_block(buf, 0, avail, min(first, avail), eip, (hflags & H.HF_CS32) != 0, recs,
                     ctx[C_MAX_INSNS])
    for i in range(n):
        if recs[i]["error"] == T.ERR_TRUNCATED:
            if i == 0:
                return FETCH_FAULT_NEXT
            n = i
            break
    ctx[C_N] = n
    # 3. the block
    out = _i64(ctx[C_OUT], N_OUT)
    nst = ctx[C_N_STENCILS]
    n_pieces = ctx[C_N_RECS] + 3
    status = native.make_block(
        recs, n, hflags, eip, ctx[C_CS_BASE],
        _i64(ctx[C_SID_KEYS], ctx[C_SID_SIZE]), _i64(ctx[C_SID_VALS], ctx[C_SID_SIZE]),
        carray(_void_ptr(ctx[C_FALLS]), nst, dtype=np.uint8), _i64(ctx[C_EXITS], (nst, 2)),
        _i64(ctx[C_HOT_KEYS], (ctx[C_HOT_SIZE], 2)), _i64(ctx[C_HOT_VALS], ctx[C_HOT_SIZE]),
        _i64(ctx[C_SPECIALS], 5),
        carray(_void_ptr(ctx[C_CODE]), ctx[C_CODE_LEN], dtype=np.uint8),
        _i64(ctx[C_STENCILS], (ctx[C_N_STENCILS], 5)), _i64(ctx[C_RELOCS], (ctx[C_N_RELOCS], 5)),
        _i64(ctx[C_RUNTIME], (ctx[C_N_RUNTIME], 2)), ctx[C_RODATA_BASE],
        carray(_void_ptr(ctx[C_MEM]), ctx[C_MEM_SIZE], dtype=np.uint8), ctx[C_MEM_BASE],
        _i64(ctx[C_CURSOR], 2),
        carray(_void_ptr(ctx[C_ROWS]), (ctx[C_N_RECS], ctx[C_N_ROLES_ROWS]), dtype=np.uint32),
        carray(_void_ptr(ctx[C_SCRATCH]), ctx[C_N_RECS], dtype=T.RECORD),
        carray(_void_ptr(ctx[C_SCRATCH]), ctx[C_N_RECS] * native.RECORD_SIZE, dtype=np.uint8),
        carray(_void_ptr(ctx[C_IDS]), n_pieces, dtype=np.int32),
        carray(_void_ptr(ctx[C_VALUES]), (n_pieces, ctx[C_N_ROLES]), dtype=np.uint32),
        carray(_void_ptr(ctx[C_ADDRS]), (n_pieces, ctx[C_N_ADDRS]), dtype=np.uint64),
        _i64(ctx[C_CONTS], (n_pieces, 3)), _i64(ctx[C_OUT_ADDR], n_pieces),
        _i64(ctx[C_OUT_SITES], (ctx[C_N_SITES], 5)), _i64(ctx[C_INFO], 4),
        _i64(ctx[C_MISSING], ctx[C_N_RECS]), out)
    # 4. the next page, walked for real when the block took bytes from it
    # (SDM Vol. 3A 4.8: the accessed bits of the entries used)
    ctx[C_PHYS1] = -1
    if (status == OK or status == HOT) and out[3] > first:
        s1, phys1, _, _ = translate(st, (linear + first) & 0xFFFFFFFF, ACC_CODE, user)
        ctx[C_PHYS1] = phys1 if s1 == T_OK else -1
    return status


_CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class ColdPath:
    """The context of cold_path for one translator, kept up to date with the
    stencil library, the tables and the arena (bind)."""

    def __init__(self, cpu_addr, max_insns):
        self.ctx = np.zeros(CTX_LEN, dtype=np.int64)
        self.keep = {}                  # the arrays the context points into
        self.call = _CALL(cold_path.address)
        self.ctx_addr = self.ctx.ctypes.data
        self.buf = np.zeros(FETCH_MAX + T.MAX_INSN_LEN, dtype=np.uint8)
        self.recs = np.zeros(max_insns, dtype=T.RECORD)
        self.scratch = np.zeros(max_insns, dtype=T.RECORD)
        self.out = np.zeros(N_OUT, dtype=np.int64)
        self.cursor = np.zeros(2, dtype=np.int64)
        self.info = np.zeros(4, dtype=np.int64)
        self.missing = np.zeros(max_insns, dtype=np.int64)
        n = max_insns + 3
        self.ids = np.zeros(n, dtype=np.int32)
        self.conts = np.zeros((n, 3), dtype=np.int64)
        self.out_addr = np.zeros(n, dtype=np.int64)
        c = self.ctx
        c[C_STATE] = cpu_addr
        c[C_MAX_INSNS] = max_insns
        c[C_N_RECS] = max_insns
        for slot, arr in ((C_BUF, self.buf), (C_RECS, self.recs), (C_SCRATCH, self.scratch),
                          (C_OUT, self.out), (C_CURSOR, self.cursor), (C_INFO, self.info),
                          (C_MISSING, self.missing), (C_IDS, self.ids), (C_CONTS, self.conts),
                          (C_OUT_ADDR, self.out_addr)):
            c[slot] = arr.ctypes.data

    def _point(self, slot, arr):
        self.keep[slot] = arr
        self.ctx[slot] = arr.ctypes.data

    def bind_stencils(self, emitter, library, sid_table, falls, exits, specials):
        c = self.ctx
        self._point(C_SID_KEYS, sid_table.keys)
        self._point(C_SID_VALS, sid_table.vals)
        c[C_SID_SIZE] = sid_table.vals.shape[0]
        self._point(C_FALLS, falls)
        self._point(C_EXITS, exits)
        c[C_N_STENCILS] = min(library.n_stencils, falls.shape[0])
        self._point(C_SPECIALS, specials)
        self._point(C_CODE, emitter._code)
        c[C_CODE_LEN] = emitter._code.shape[0]
        self._point(C_STENCILS, emitter._stencils)
        self._point(C_RELOCS, emitter._relocs)
        c[C_N_RELOCS] = emitter._relocs.shape[0]
        self._point(C_RUNTIME, emitter.runtime)
        c[C_N_RUNTIME] = emitter.runtime.shape[0]
        c[C_RODATA_BASE] = emitter.rodata_base
        n = self.ids.shape[0]
        rows = np.zeros((self.recs.shape[0], native.N_ROLES), dtype=np.uint32)
        self._point(C_ROWS, rows)
        c[C_N_ROLES_ROWS] = native.N_ROLES
        values = np.zeros((n, len(library.roles)), dtype=np.uint32)
        self._point(C_VALUES, values)
        c[C_N_ROLES] = values.shape[1]
        addrs = np.zeros((n, len(library.addr_names)), dtype=np.uint64)
        self._point(C_ADDRS, addrs)
        c[C_N_ADDRS] = addrs.shape[1]
        sites = np.zeros((n * max(1, library.max_cont_sites), 5), dtype=np.int64)
        self._point(C_OUT_SITES, sites)
        c[C_N_SITES] = sites.shape[0]

    def bind_hot(self, table):
        """The translation cache's table (None: no look-up)."""
        c = self.ctx
        if table is None:
            c[C_HOT_SIZE] = 0
            self._point(C_HOT_KEYS, np.zeros((1, 2), dtype=np.int64))
            self._point(C_HOT_VALS, np.zeros(1, dtype=np.int64))
            return
        self._point(C_HOT_KEYS, table.keys)
        self._point(C_HOT_VALS, table.vals)
        c[C_HOT_SIZE] = table.vals.shape[0]

    def bind_arena(self, arena):
        c = self.ctx
        self._point(C_MEM, arena.mem)
        c[C_MEM_BASE] = arena.base
        c[C_MEM_SIZE] = arena.mem.shape[0]

    def run(self, arena, linear, eip, cs_base, hflags, user):
        c = self.ctx
        c[C_LINEAR] = linear
        c[C_EIP] = eip
        c[C_CS_BASE] = cs_base
        c[C_HFLAGS] = hflags
        c[C_USER] = user
        self.cursor[0] = arena.code_top
        self.cursor[1] = arena.data_bottom
        status = self.call(self.ctx_addr)
        if status == OK:
            arena.code_top = int(self.cursor[0])
            arena.data_bottom = int(self.cursor[1])
            if arena._flush is not None:
                arena.flush_icache(int(self.out[1]), arena.code_top)
        return status
