"""The baseline tier's cold path in native code (numba): records -> a block in the arena.

One call of `make_block` does what a block of stencils needs after decoding:

1. each record's variant code (`variant_code`: the variant.VariantKey fields
   packed in 46 bits) and its stencil (a typed dict the stencil set keeps);
   the block stops at the first instruction that leaves it, or before one
   whose variant cannot be a stencil; a variant not built yet stops the call
   (MISSING: Python builds it and calls again);
2. the hot key of what the block takes (`hot_key`: the records without the
   values a relocatable O2 block leaves to holes, hashed twice with 64-bit
   FNV-1a); when the translation cache has it (HOT), Python places that
   block instead;
3. the hole values (holes.fill_holes), the pieces (head, stencils, exits),
   and cnp.emit_pieces laying them out in the arena, the block's data (chain
   slots, counter) below the arena's data cursor.

Python keeps only what is per block anyway: the TranslationBlock and the
translation cache's bookkeeping.
"""
import numpy as np
from numba import njit

from ...cpu import hflags as H
from ...frontend import tables as T
from ..cnp.emit import emit_pieces
from ..cnp.relocs import ERR_FULL
from ..operands import N_ROLES, ROLE_IDS
from .holes import fill_holes
from .table import MISSING as NO_ENTRY, get1, get2
from .variant import CC_FORM, ENTER_FORM, MODE_BITS, REPEATS, STATIC_REG, STATIC_RM, X87_MODE_BITS, VariantKey

# status of make_block
OK, MISSING, LLVM, HOT, FULL = 0, 1, 2, 3, 4

F_STATIC_REG, F_STATIC_RM, F_CC, F_ENTER, F_REPEATS, F_X87, F_MODRM, F_J, F_I32 = (1 << k for k in range(9))
F_A, F_O = 1 << 9, 1 << 10


def _form_flags():
    out = np.zeros(T.N_FORMS, dtype=np.int64)
    for f in T.FORMS:
        kinds = [k for k, _, _ in f.operands]
        bits = 0
        for flag, on in ((F_STATIC_REG, STATIC_REG[f.index]), (F_STATIC_RM, STATIC_RM[f.index]),
                         (F_CC, CC_FORM[f.index]), (F_ENTER, ENTER_FORM[f.index]),
                         (F_REPEATS, REPEATS[f.index]), (F_X87, f.has(T.A_X87)),
                         (F_MODRM, f.has(T.A_MODRM)), (F_J, T.K_J in kinds), (F_A, T.K_A in kinds),
                         (F_O, T.K_O in kinds)):
            if on:
                bits |= flag
        out[f.index] = bits
    return out


FORM_FLAGS = _form_flags()

# the variant code: fields from the least significant bit up (variant.py names them)
_FIELDS = (("hflags", 10), ("form", 10), ("error", 2), ("opsize", 1), ("addrsize", 1), ("is_reg", 1),
           ("rep", 2), ("reg", 4), ("rm", 4), ("cc", 5), ("imm2", 6))


@njit(cache=True, nogil=True)
def variant_code(rec, hflags):
    """The variant of a record in a block of these hflags, as one int64 (variant.py)."""
    mode = np.int64(hflags) & MODE_BITS
    form = np.int64(rec["form"])
    error = np.int64(rec["error"])
    if error != 0 or form < 0:
        return mode | (error << 20)
    fl = FORM_FLAGS[form]
    if fl & F_X87:
        mode |= np.int64(hflags) & X87_MODE_BITS
    is_reg = np.int64(1) if (fl & F_MODRM) and rec["mod"] == 3 else np.int64(0)
    rep = np.int64(rec["rep"]) if fl & F_REPEATS else np.int64(0)
    reg = np.int64(rec["reg"]) + 1 if fl & F_STATIC_REG else np.int64(0)
    rm = np.int64(rec["rm"]) + 1 if (fl & F_STATIC_RM) and is_reg else np.int64(0)
    cc = np.int64(rec["opreg"]) + 1 if fl & F_CC else np.int64(0)
    imm2 = (np.int64(rec["imm2"]) & 31) + 1 if fl & F_ENTER else np.int64(0)
    return (mode | ((form + 1) << 10) | (np.int64(rec["opsize"] == 4) << 22)
            | (np.int64(rec["addrsize"] == 4) << 23) | (is_reg << 24) | (rep << 25) | (reg << 27)
            | (rm << 31) | (cc << 35) | (imm2 << 40))


def variant_key(rec, hflags):
    """The VariantKey of a decoded record in a block of these hflags."""
    return key_of_code(int(variant_code(rec, hflags)))


def key_of_code(code):
    """The VariantKey a variant code packs."""
    v = {}
    shift = 0
    for name, bits in _FIELDS:
        v[name] = (code >> shift) & ((1 << bits) - 1)
        shift += bits
    if v["form"] == 0:
        return VariantKey(-1, v["error"], 0, 0, 0, 0, -1, -1, -1, -1, v["hflags"])
    return VariantKey(v["form"] - 1, v["error"], 4 if v["opsize"] else 2, 4 if v["addrsize"] else 2,
                      v["is_reg"], v["rep"], v["reg"] - 1, v["rm"] - 1, v["cc"] - 1, v["imm2"] - 1,
                      v["hflags"])


# --- the hot key ----------------------------------------------------------------------------------
FNV_PRIME = np.uint64(0x100000001B3)
RECORD_SIZE = T.RECORD.itemsize


@njit(cache=True, nogil=True)
def _fnv(h, data):
    for i in range(data.shape[0]):
        h = (h ^ np.uint64(data[i])) * FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def normalize(recs, m, scratch):
    """recs[0..m-1] into scratch without what a relocatable O2 block leaves to
    holes (hot.py): EIPs relative to the first, 32-bit immediates and
    displacements zeroed."""
    first = np.int64(recs[0]["eip"])
    for i in range(m):
        scratch[i] = recs[i]
        r = scratch[i]
        form = np.int64(r["form"])
        fl = FORM_FLAGS[form] if form >= 0 else np.int64(0)
        if fl & F_J:
            r["imm"] = np.uint32((np.int64(r["imm"]) - first) & 0xFFFFFFFF)
        elif r["immsize"] == 4 or (fl & F_A):
            r["imm"] = 0
        if (fl & F_O) or ((fl & F_MODRM) and r["mod"] != 3):
            r["disp"] = 0
        r["eip"] = np.uint32((np.int64(r["eip"]) - first) & 0xFFFFFFFF)
        r["next_eip"] = np.uint32((np.int64(r["next_eip"]) - first) & 0xFFFFFFFF)


def new_scratch(n):
    """Room for normalize() and its bytes (hot_key)."""
    s = np.zeros(n, dtype=T.RECORD)
    return s, s.view(np.uint8)


@njit(cache=True, nogil=True)
def hot_key(recs, m, hflags, cs_base, scratch, scratch_bytes):
    """(h1, h2): the O2 translation cache's key of records 0..m-1."""
    normalize(recs, m, scratch)
    raw = scratch_bytes[:m * RECORD_SIZE]
    tail = np.empty(3, dtype=np.int64)
    tail[0] = hflags
    tail[1] = cs_base
    tail[2] = m
    tb = tail.view(np.uint8)
    h1 = _fnv(_fnv(np.uint64(0xCBF29CE484222325), raw), tb)
    h2 = _fnv(_fnv(np.uint64(0x84222325CBF29CE4), tb), raw)
    return np.int64(h1), np.int64(h2)


# --- the block ------------------------------------------------------------------------------------
HEAD_DATA = 24              # two chain slots and the counter (baseline/tier.py)
COUNTER_OFFSET = 16
R_EIP = ROLE_IDS["eip"]
R_NEXT_EIP = ROLE_IDS["next_eip"]
R_HOT_THRESHOLD = ROLE_IDS["hot_threshold"]


@njit(cache=True, nogil=True)
def make_block(recs, n, hflags, eip, cs_base, sid_keys, sid_vals, falls, exits, hot_keys, hot_vals,
               specials, code, stencils, relocs, runtime, rodata_base, mem, mem_base, cursor,
               rows, scratch, scratch_bytes, ids, values, addrs, conts, out_addr, out_sites, info, missing,
               out):
    """See the module docstring.  sid_keys/sid_vals: the variant table
    (table.py: code -> stencil id, -1 not a stencil); hot_keys/hot_vals: the
    translation cache's table (empty: no look-up); specials: stencil ids of
    (head, counting head or -1, exit, linkable exit) and the hot threshold
    (stencilset.StencilSet.specials); cursor: the arena's
    (code top, data bottom), moved on success; out: (m, entry, data, bytes
    of code, n exits, exit 0 target, exit 1 target, hot index, h1, h2).
    Returns a status."""
    # 1. the stencils
    m = 0
    n_missing = 0
    for i in range(n):
        c = variant_code(recs[i], hflags)
        sid = get1(sid_keys, sid_vals, c)
        if sid == NO_ENTRY:
            missing[n_missing] = c
            n_missing += 1
            if n_missing == missing.shape[0]:
                break
            continue
        if n_missing:
            continue
        if sid < 0:
            break
        ids[1 + m] = sid
        m += 1
        if not falls[sid] or exits[sid, 0] >= 0:
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
    # 2. the translation cache
    h1, h2 = hot_key(recs, m, hflags, cs_base, scratch, scratch_bytes)
    out[8] = h1
    out[9] = h2
    if specials[1] >= 0 and hot_keys.shape[0] > 0:
        at = get2(hot_keys, hot_vals, h1, h2)
        if at != NO_ENTRY:
            out[7] = at
            return HOT
    # 3. the pieces
    fill_holes(recs, m, rows)
    last = ids[m]
    n_exits = 0
    exit_roles = np.full(3, -1, dtype=np.int64)
    for k in range(2):
        if exits[last, k] >= 0:
            exit_roles[n_exits] = exits[last, k]
            n_exits += 1
    fall_exit = -1
    if falls[last]:
        for k in range(n_exits):
            if exit_roles[k] == R_NEXT_EIP:
                fall_exit = k
        if fall_exit < 0:
            exit_roles[n_exits] = R_NEXT_EIP
            fall_exit = n_exits
            n_exits += 1
    if n_exits > 2:
        return LLVM
    pieces = 1 + m + n_exits
    data = (cursor[1] - HEAD_DATA) & ~np.int64(7)
    start = (cursor[0] + 15) & ~np.int64(15)
    if data < start:
        return FULL
    for b in range(HEAD_DATA):
        mem[data - mem_base + b] = 0
    ids[0] = specials[1] if specials[1] >= 0 else specials[0]
    for p in range(pieces):
        for r in range(values.shape[1]):
            values[p, r] = 0
        for a in range(addrs.shape[1]):
            addrs[p, a] = 0
        conts[p, 0] = 0
        conts[p, 1] = 0
        conts[p, 2] = 0
    for r in range(N_ROLES):
        values[0, r] = rows[0, r]
    values[0, R_HOT_THRESHOLD] = specials[4]
    addrs[0, 0] = data + COUNTER_OFFSET
    for i in range(m):
        for r in range(N_ROLES):
            values[1 + i, r] = rows[i, r]
    page = (np.int64(eip) + cs_base) & 0xFFFFF000
    paged = hflags & H.HF_PG
    for k in range(n_exits):
        p = 1 + m + k
        target = np.int64(rows[m - 1, exit_roles[k]])
        linkable = not paged or ((target + cs_base) & 0xFFFFF000) == page
        ids[p] = specials[3] if linkable else specials[2]
        values[p, R_EIP] = target
        addrs[p, 1] = data + 8 * k
        out[5 + k] = target
    out[4] = n_exits
    if falls[last]:
        conts[m, 0] = -1 - (1 + m + fall_exit)
    k2 = 0
    for k in range(2):
        if exits[last, k] >= 0:
            conts[m, 1 + k] = -1 - (1 + m + k2)
            k2 += 1
    end = emit_pieces(code, stencils, relocs, runtime, rodata_base, mem, mem_base, start, data,
                      ids[:pieces], values[:pieces], addrs[:pieces], conts[:pieces], True,
                      out_addr[:pieces], out_sites, info)
    if end < 0:
        return FULL if end == ERR_FULL else 100 - end       # 100 + the emitter's error
    cursor[0] = end
    cursor[1] = data
    out[1] = out_addr[0]
    out[2] = data
    return OK
