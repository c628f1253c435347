"""The threaded design's "translation": decoded records -> a run of handler records (numba).

`cold_path` (a numba @cfunc taking the address of a context of int64 slots,
like emu/translator/baseline/coldpath.py) does for the block at a linear
address what the copy-and-patch cold path does, with the same code for
everything the two designs share:

1. the code fetch (paging.translate, the bytes up to the page end and a peek
   at the next page) and the decoder (frontend/decoder.py);
2. per record its variant code (baseline/native.variant_code) and handler (a
   hash table, baseline/table.py), the block stopping where copy-and-patch
   stops (an instruction that leaves the block, or one that has no handler);
3. the translation cache's key (native.hot_key), as copy-and-patch computes
   it for every block (a threaded tier would look hot code up the same way);
4. instead of copying and patching stencils: the hole values
   (baseline/holes.fill_holes) copied into each handler's slots, the block's
   head and exit records (handlers.py gives the layout) appended to a record
   buffer.

MODE_DECODE stops after step 1 (what both designs pay before they differ).
"""
import ctypes

import numpy as np
from numba import carray, cfunc, njit, types

from emu.cpu import hflags as H
from emu.frontend import tables as T
from emu.frontend.decoder import decode_block
from emu.softmmu.native import STATE_DTYPE
from emu.softmmu.paging import ACC_CODE, ACC_PEEK, T_OK, translate
from emu.translator.baseline.coldpath import FETCH_MAX, _copy_guest, _i64, _void_ptr
from emu.translator.baseline.holes import fill_holes
from emu.translator.baseline.native import hot_key, variant_code
from emu.translator.baseline.table import MISSING as NO_ENTRY, get1
from emu.translator.operands import N_ROLES, ROLE_IDS

from handlers import EXIT_SIZE, HEAD_SIZE, MAX_SLOTS, SLOT0

OK, MISSING, LLVM, FULL = 0, 1, 2, 4
FETCH_FAULT, FETCH_FAULT_NEXT, NOT_RAM = 10, 11, 12
MODE_FULL, MODE_DECODE = 0, 1
R_NEXT_EIP = ROLE_IDS["next_eip"]
RECORD_SIZE = T.RECORD.itemsize

(C_STATE, C_LINEAR, C_EIP, C_CS_BASE, C_HFLAGS, C_USER, C_MAX_INSNS, C_MODE,
 C_BUF, C_RECS, C_N_RECS, C_ROWS, C_SCRATCH, C_MISSING, C_OUT,
 C_HID_KEYS, C_HID_VALS, C_HID_SIZE, C_H_ADDR, C_H_SIZE, C_H_FALLS, C_H_EXITS, C_H_NSLOTS, C_H_ROLES,
 C_N_H, C_HEAD_ADDR, C_EXIT_ADDR,
 C_MEM, C_MEM_BASE, C_MEM_SIZE, C_CURSOR,
 C_N, CTX_LEN) = range(33)
N_OUT = 8       # m, head record address, record bytes, guest bytes, n exits, h1, h2, -


@njit(cache=True, nogil=True)
def make_records(recs, n, hflags, eip, cs_base, hid_keys, hid_vals, h_addr, h_size, h_falls, h_exits,
                 h_nslots, h_roles, head_addr, exit_addr, mem32, mem64, mem_base, cursor, rows, scratch,
                 scratch_bytes, ids, missing, out):
    """Records 0..n-1 -> the block's records at cursor[0] (moved on success)."""
    m = 0
    n_missing = 0
    for i in range(n):
        c = variant_code(recs[i], hflags)
        hid = get1(hid_keys, hid_vals, c)
        if hid == NO_ENTRY:
            missing[n_missing] = c
            n_missing += 1
            continue
        if n_missing:
            continue
        if hid < 0:
            break
        ids[m] = hid
        m += 1
        if not h_falls[hid] or h_exits[hid, 0] >= 0:
            break
    if n_missing:
        out[0] = n_missing
        return MISSING
    out[0] = m
    if m == 0:
        return LLVM
    nbytes = 0
    for i in range(m):
        nbytes += np.int64(recs[i]["length"])
    out[3] = nbytes
    h1, h2 = hot_key(recs, m, hflags, cs_base, scratch, scratch_bytes)
    out[5] = h1
    out[6] = h2
    fill_holes(recs, m, rows)
    last = ids[m - 1]
    size = HEAD_SIZE + EXIT_SIZE * (np.int64(h_falls[last]) + 2)
    for i in range(m):
        size += h_size[ids[i]]
    start = cursor[0]
    if start + size > cursor[1]:
        return FULL
    at = start - mem_base          # byte offset in the record buffer (8-aligned)
    # the head
    mem64[at >> 3] = head_addr
    mem32[(at + 8) >> 2] = m
    mem32[(at + 12) >> 2] = np.uint32(eip)
    at += HEAD_SIZE
    # the instructions: handler, then its slots
    for i in range(m):
        hid = ids[i]
        mem64[at >> 3] = h_addr[hid]
        w = (at + SLOT0) >> 2
        for k in range(h_nslots[hid]):
            mem32[w + k] = rows[i, h_roles[hid, k]]
        at += h_size[hid]
    # the exits: the fall-through first (continuation 0 of the last record), then its direct exits
    page = (np.int64(eip) + cs_base) & 0xFFFFF000
    paged = hflags & H.HF_PG
    n_exits = 0
    for k in range(-1, 2):
        if k < 0:
            if not h_falls[last]:
                continue
            role = R_NEXT_EIP
        else:
            role = h_exits[last, k]
            if role < 0:
                continue
        target = np.int64(rows[m - 1, role])
        linkable = not paged or ((target + cs_base) & 0xFFFFF000) == page
        mem64[at >> 3] = exit_addr
        mem64[(at + 8) >> 3] = 0
        mem32[(at + 16) >> 2] = np.uint32(target)
        mem32[(at + 20) >> 2] = 1 if linkable else 0
        at += EXIT_SIZE
        n_exits += 1
    out[1] = start
    out[2] = at + mem_base - start
    out[4] = n_exits
    cursor[0] = (at + mem_base + 7) & ~np.int64(7)
    return OK


@cfunc(types.int64(types.int64), cache=True, nogil=True)
def cold_path(ctx_addr):
    ctx = _i64(ctx_addr, CTX_LEN)
    st = carray(_void_ptr(ctx[C_STATE]), 1, dtype=STATE_DTYPE)[0]
    linear = ctx[C_LINEAR] & 0xFFFFFFFF
    user = ctx[C_USER] != 0
    hflags = ctx[C_HFLAGS]
    # 1. fetch and decode (as the copy-and-patch cold path does)
    status, phys0, _, _ = translate(st, linear, ACC_CODE, user)
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
    if ctx[C_MODE] == MODE_DECODE:
        return OK
    # 2-4. the records
    nh = ctx[C_N_H]
    nr = ctx[C_N_RECS]
    mem_size = ctx[C_MEM_SIZE]
    return make_records(
        recs, n, hflags, eip, ctx[C_CS_BASE],
        _i64(ctx[C_HID_KEYS], ctx[C_HID_SIZE]), _i64(ctx[C_HID_VALS], ctx[C_HID_SIZE]),
        _i64(ctx[C_H_ADDR], nh), _i64(ctx[C_H_SIZE], nh), carray(_void_ptr(ctx[C_H_FALLS]), nh, dtype=np.uint8),
        _i64(ctx[C_H_EXITS], (nh, 2)), _i64(ctx[C_H_NSLOTS], nh), _i64(ctx[C_H_ROLES], (nh, MAX_SLOTS)),
        ctx[C_HEAD_ADDR], ctx[C_EXIT_ADDR],
        carray(_void_ptr(ctx[C_MEM]), mem_size // 4, dtype=np.uint32),
        carray(_void_ptr(ctx[C_MEM]), mem_size // 8, dtype=np.uint64), ctx[C_MEM_BASE],
        _i64(ctx[C_CURSOR], 2),
        carray(_void_ptr(ctx[C_ROWS]), (nr, N_ROLES), dtype=np.uint32),
        carray(_void_ptr(ctx[C_SCRATCH]), nr, dtype=T.RECORD),
        carray(_void_ptr(ctx[C_SCRATCH]), nr * RECORD_SIZE, dtype=np.uint8),
        _i64(ctx[C_MISSING] + 8 * nr, nr),
        _i64(ctx[C_MISSING], nr), _i64(ctx[C_OUT], N_OUT))


CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class ThreadedTier:
    """Blocks as runs of records in one buffer; what Python keeps per block is nothing."""

    def __init__(self, handlers, cpu_addr, max_insns=64, buffer_bytes=64 << 20):
        self.handlers = handlers
        self.mem = np.zeros(buffer_bytes // 8, dtype=np.uint64)
        self.mem_base = self.mem.ctypes.data
        self.ctx = np.zeros(CTX_LEN, dtype=np.int64)
        self.ctx_addr = self.ctx.ctypes.data
        self.call = CALL(cold_path.address)
        self.buf = np.zeros(FETCH_MAX + T.MAX_INSN_LEN, dtype=np.uint8)
        self.recs = np.zeros(max_insns, dtype=T.RECORD)
        self.scratch = np.zeros(max_insns, dtype=T.RECORD)
        self.rows = np.zeros((max_insns, len(ROLE_IDS)), dtype=np.uint32)
        self.missing = np.zeros(2 * max_insns, dtype=np.int64)        # missing codes, then handler ids
        self.out = np.zeros(N_OUT, dtype=np.int64)
        self.cursor = np.array([self.mem_base, self.mem_base + buffer_bytes], dtype=np.int64)
        self.keep = {}
        c = self.ctx
        c[C_STATE] = cpu_addr
        c[C_MAX_INSNS] = max_insns
        c[C_N_RECS] = max_insns
        for slot, arr in ((C_BUF, self.buf), (C_RECS, self.recs), (C_SCRATCH, self.scratch),
                          (C_ROWS, self.rows), (C_MISSING, self.missing), (C_OUT, self.out),
                          (C_MEM, self.mem), (C_CURSOR, self.cursor)):
            c[slot] = arr.ctypes.data
        c[C_MEM_BASE] = self.mem_base
        c[C_MEM_SIZE] = buffer_bytes
        c[C_HEAD_ADDR] = handlers.head_addr
        c[C_EXIT_ADDR] = handlers.exit_addr
        self._bound = None
        self.blocks_made = 0

    def _bind(self):
        h = self.handlers
        if self._bound == h.native_generation:
            return
        c = self.ctx
        for slot, arr in ((C_HID_KEYS, h.ids.keys), (C_HID_VALS, h.ids.vals), (C_H_ADDR, h.addr),
                          (C_H_SIZE, h.size), (C_H_FALLS, h.falls), (C_H_EXITS, h.exits),
                          (C_H_NSLOTS, h.n_slots), (C_H_ROLES, h.roles)):
            self.keep[slot] = arr
            c[slot] = arr.ctypes.data
        c[C_HID_SIZE] = h.ids.vals.shape[0]
        c[C_N_H] = h.addr.shape[0]
        self._bound = h.native_generation

    def set_block(self, linear, eip, cs_base, hflags, user, mode=MODE_FULL):
        self._bind()
        c = self.ctx
        c[C_LINEAR] = linear
        c[C_EIP] = eip
        c[C_CS_BASE] = cs_base
        c[C_HFLAGS] = hflags
        c[C_USER] = user
        c[C_MODE] = mode

    def make(self, linear, eip, cs_base, hflags, user):
        """One cold_path call (building missing handlers first): its status; self.out."""
        for _ in range(3):
            self.set_block(linear, eip, cs_base, hflags, user)
            status = self.call(self.ctx_addr)
            if status != MISSING:
                break
            self.handlers.build(self.missing[:self.out[0]].tolist())
        if status == OK:
            self.blocks_made += 1
        return status

    def reset(self):
        self.cursor[0] = self.mem_base
