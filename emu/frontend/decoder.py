"""Table-driven x86 decoder, compiled with numba.

`decode_block` turns guest bytes into fixed-layout records (tables.RECORD).
It never raises: an invalid encoding becomes a record with `error` set, which
the translator turns into #UD (or #GP for an over-long instruction).

Runs as plain Python with NUMBA_DISABLE_JIT=1, which the tests use to check
that both paths agree.  Record fields are therefore written as rec["name"]:
numba and numpy (a numpy.void view of out[i]) both accept that spelling.
"""
import numpy as np
from numba import njit

from . import tables as T

_MAP = T.MAP
_HAS_MODRM = T.HAS_MODRM
_GROUPS = T.GROUPS
_KIND = T.FORM_KIND
_SIZE = T.FORM_SIZE
_EXTRA = T.FORM_EXTRA
_ATTR = T.FORM_ATTR

# 16-bit ModRM r/m -> (base, index); -1 = none (SDM Vol. 2A Table 2-1)
_RM16_BASE = np.array([3, 3, 5, 5, 6, 7, 5, 3], dtype=np.int8)   # BX BX BP BP SI DI BP BX
_RM16_INDEX = np.array([6, 7, 6, 7, -1, -1, -1, -1], dtype=np.int8)


@njit(cache=True, nogil=True)
def _operand_bytes(size, opsize):
    if size > 0:
        return size
    if size == T.SZ_V or size == T.SZ_Z:
        return opsize
    return 0


@njit(cache=True, nogil=True)
def _read_le(buf, pos, n):
    v = 0
    for k in range(n):
        v |= np.uint32(buf[pos + k]) << np.uint32(8 * k)
    return v


@njit(cache=True, nogil=True)
def _sext(v, nbytes):
    bits = 8 * nbytes
    v = np.int64(v) & ((np.int64(1) << bits) - 1)
    if v >= (np.int64(1) << (bits - 1)):
        v -= np.int64(1) << bits
    return v


@njit(cache=True, nogil=True)
def _need(pos, n, start, end):
    """Error for fetching buf[pos:pos+n] of the instruction at `start`, or 0.

    The length limit is checked first: a processor stops fetching at the 15th
    byte with #GP(0) (SDM Vol. 2A 2.3.11), so an over-long instruction never
    needs the bytes (or the page) after that.
    """
    if pos - start + n > T.MAX_INSN_LEN:
        return T.ERR_TOO_LONG
    if pos + n > end:
        return T.ERR_TRUNCATED
    return T.ERR_NONE


@njit(cache=True, nogil=True)
def decode_one(buf, pos, end, eip, cs32, out, i):
    """Decode one instruction at buf[pos]; buf[pos:end] are the fetchable bytes.

    Fills out[i] and returns the instruction length (bytes consumed so far
    when the record is an error; at least 1).
    """
    rec = out[i]
    start = pos
    default_size = 4 if cs32 else 2
    opsize = default_size
    addrsize = default_size
    seg_override = -1
    rep = T.REP_NONE
    lock = 0
    rec["eip"] = eip
    rec["next_eip"] = eip
    rec["length"] = 0
    rec["error"] = T.ERR_NONE
    rec["form"] = -1
    rec["opsize"] = opsize
    rec["addrsize"] = addrsize
    rec["seg"] = -1
    rec["seg_override"] = -1
    rec["rep"] = T.REP_NONE
    rec["lock"] = 0
    rec["mod"] = 0
    rec["reg"] = 0
    rec["rm"] = 0
    rec["base"] = -1
    rec["index"] = -1
    rec["scale"] = 0
    rec["opreg"] = 0
    rec["map"] = 0
    rec["opcode"] = 0
    rec["disp"] = 0
    rec["imm"] = 0
    rec["imm2"] = 0
    rec["immsize"] = 0
    for k in range(3):
        rec["pad"][k] = 0
    # prefixes: any number, in any order, repeats allowed; within a group the
    # last one wins (only the 15-byte limit bounds them, SDM Vol. 2A 2.1.1)
    while True:
        err = _need(pos, 1, start, end)
        if err != T.ERR_NONE:
            return _fail(rec, err, pos - start, eip, cs32)
        b = buf[pos]
        if b == 0x66:
            opsize = 6 - default_size
        elif b == 0x67:
            addrsize = 6 - default_size
        elif b == 0x26:
            seg_override = 0
        elif b == 0x2E:
            seg_override = 1
        elif b == 0x36:
            seg_override = 2
        elif b == 0x3E:
            seg_override = 3
        elif b == 0x64:
            seg_override = 4
        elif b == 0x65:
            seg_override = 5
        elif b == 0xF0:
            lock = 1
        elif b == 0xF2:
            rep = T.REP_NE
        elif b == 0xF3:
            rep = T.REP_E
        else:
            break
        pos += 1
    rec["opsize"] = opsize
    rec["addrsize"] = addrsize
    rec["seg_override"] = seg_override
    rec["rep"] = rep
    rec["lock"] = lock
    # opcode
    m = 0
    op = buf[pos]
    pos += 1
    if op == 0x0F:
        err = _need(pos, 1, start, end)
        if err != T.ERR_NONE:
            return _fail(rec, err, pos - start, eip, cs32)
        m = 1
        op = buf[pos]
        pos += 1
    rec["map"] = m
    rec["opcode"] = op
    if (m == 0 and 0x70 <= op <= 0x7F) or (m == 1 and (0x40 <= op <= 0x4F or 0x80 <= op <= 0x9F)):
        rec["opreg"] = op & 0xF
    else:
        rec["opreg"] = op & 7
    entry = _MAP[m, op]
    if entry == T.INVALID:
        # no form, whatever follows: no need to fetch a ModRM byte
        return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
    mod = 0
    reg = 0
    rm = 0
    has_modrm = _HAS_MODRM[m, op] != 0
    if has_modrm:
        err = _need(pos, 1, start, end)
        if err != T.ERR_NONE:
            return _fail(rec, err, pos - start, eip, cs32)
        modrm = buf[pos]
        pos += 1
        mod = modrm >> 6
        reg = (modrm >> 3) & 7
        rm = modrm & 7
    if entry <= -2:
        g = -(entry + 2)
        entry = _GROUPS[g, 1 if mod == 3 else 0, reg * 8 + rm]
    rec["mod"] = mod
    rec["reg"] = reg
    rec["rm"] = rm
    if entry < 0:
        return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
    form = entry
    attr = _ATTR[form]
    if attr & T.A_RMREG:
        # MOV to/from CRn/DRn: "the 2 bits in the mod field are ignored"
        # (SDM Vol. 2B MOV--Move to/from Control Registers)
        mod = 3
        rec["mod"] = 3
    rec["form"] = form
    if (attr & T.A_MEM) and mod == 3:
        return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
    # LOCK is #UD unless the instruction is lockable and its destination is
    # memory (SDM Vol. 2A LOCK).
    if lock and ((attr & T.A_LOCK) == 0 or mod == 3):
        return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
    # register operands with reserved encodings: #UD as soon as the ModRM
    # byte is known (MOV Sreg: reg 6, 7 and loading CS; MOV CRn: CR1, CR5-7)
    for k in range(3):
        kind = _KIND[form, k]
        if kind == T.K_S and (reg > 5 or (k == 0 and reg == 1)):
            return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
        if kind == T.K_C and (reg == 1 or reg > 4):
            return _fail(rec, T.ERR_UD, pos - start, eip, cs32)
    # memory operand (ModRM addressing, SDM Vol. 2A 2.1.5)
    seg = 3
    if has_modrm and mod != 3:
        dsize = 0
        if addrsize == 4:
            if rm == 4:
                err = _need(pos, 1, start, end)
                if err != T.ERR_NONE:
                    return _fail(rec, err, pos - start, eip, cs32)
                sib = buf[pos]
                pos += 1
                rec["scale"] = sib >> 6
                idx = (sib >> 3) & 7
                rec["index"] = -1 if idx == 4 else idx
                base = sib & 7
                if base == 5 and mod == 0:
                    rec["base"] = -1
                    dsize = 4
                else:
                    rec["base"] = base
                    dsize = 1 if mod == 1 else (4 if mod == 2 else 0)
            elif rm == 5 and mod == 0:
                rec["base"] = -1
                dsize = 4
            else:
                rec["base"] = rm
                dsize = 1 if mod == 1 else (4 if mod == 2 else 0)
            # ESP or EBP as the base selects SS (SDM Vol. 3A 3.7.4)
            if rec["base"] == 4 or rec["base"] == 5:
                seg = 2
        else:
            if rm == 6 and mod == 0:
                rec["base"] = -1
                dsize = 2
            else:
                rec["base"] = _RM16_BASE[rm]
                rec["index"] = _RM16_INDEX[rm]
                dsize = 1 if mod == 1 else (2 if mod == 2 else 0)
                if rec["base"] == 5:
                    seg = 2
        if dsize:
            err = _need(pos, dsize, start, end)
            if err != T.ERR_NONE:
                return _fail(rec, err, pos - start, eip, cs32)
            rec["disp"] = np.int32(_sext(_read_le(buf, pos, dsize), dsize))
            pos += dsize
    # immediates, in operand order
    nimm = 0
    rel = np.int64(0)
    has_rel = False
    for k in range(3):
        kind = _KIND[form, k]
        size = _SIZE[form, k]
        if kind == T.K_I or kind == T.K_J:
            n = _operand_bytes(size, opsize)
            err = _need(pos, n, start, end)
            if err != T.ERR_NONE:
                return _fail(rec, err, pos - start, eip, cs32)
            v = _read_le(buf, pos, n)
            pos += n
            if kind == T.K_J:
                rel = _sext(v, n)
                has_rel = True
                rec["immsize"] = n
            elif nimm == 0:
                rec["imm"] = v
                rec["immsize"] = n
                nimm = 1
            else:
                rec["imm2"] = v
        elif kind == T.K_O:
            # moffs: an address-size offset, no ModRM (SDM Vol. 2B MOV)
            n = addrsize
            err = _need(pos, n, start, end)
            if err != T.ERR_NONE:
                return _fail(rec, err, pos - start, eip, cs32)
            rec["disp"] = np.int32(_sext(_read_le(buf, pos, n), n))
            rec["base"] = -1
            rec["index"] = -1
            pos += n
        elif kind == T.K_A:
            # ptr16:16 / ptr16:32: offset first, then the selector
            n = opsize
            err = _need(pos, n + 2, start, end)
            if err != T.ERR_NONE:
                return _fail(rec, err, pos - start, eip, cs32)
            rec["imm"] = _read_le(buf, pos, n)
            rec["imm2"] = _read_le(buf, pos + n, 2)
            rec["immsize"] = n
            pos += n + 2
    length = pos - start
    rec["seg"] = seg_override if seg_override >= 0 else seg
    ip_mask = 0xFFFFFFFF if cs32 else 0xFFFF
    next_eip = (np.int64(eip) + length) & ip_mask
    rec["length"] = length
    rec["next_eip"] = next_eip
    if has_rel:
        # a 16-bit operand size truncates the new EIP to 16 bits (SDM Vol. 2A
        # Jcc / JMP / CALL: "EIP <- EIP AND 0000FFFFH")
        target = (next_eip + rel) & (0xFFFFFFFF if opsize == 4 else 0xFFFF)
        rec["imm"] = target
    return length


@njit(cache=True, nogil=True)
def _fail(rec, err, length, eip, cs32):
    rec["error"] = err
    if length < 1:
        length = 1
    rec["length"] = length
    rec["next_eip"] = (np.int64(eip) + length) & (0xFFFFFFFF if cs32 else 0xFFFF)
    return length


@njit(cache=True, nogil=True)
def ends_block(rec):
    if rec["error"] != T.ERR_NONE:
        return True
    attr = _ATTR[rec["form"]]
    if attr & T.A_END:
        return True
    if (attr & (T.A_REP | T.A_REPCC)) and rec["rep"] != T.REP_NONE:
        return True     # a repeated string instruction loops on itself
    return False


@njit(cache=True, nogil=True)
def decode_block(buf, pos, end, stop, eip, cs32, out, max_insns):
    """Decode instructions from buf[pos] until a block end.

    Bytes buf[pos:end] can be read; no instruction may start at or after
    `stop` (the page boundary).  Returns the number of records written.
    """
    n = 0
    while n < max_insns:
        length = decode_one(buf, pos, end, eip, cs32, out, n)
        n += 1
        if ends_block(out[n - 1]):
            break
        pos += length
        eip = out[n - 1]["next_eip"]
        if pos >= stop:
            break
    return n


@njit(cache=True, nogil=True)
def decode_many(buf, starts, ends, eip, cs32, out):
    """Decode one instruction at each buf[starts[k]] (fetchable up to ends[k])
    into out[k], all at the same `eip`: a batch helper for tools and tests."""
    for k in range(len(starts)):
        decode_one(buf, starts[k], ends[k], eip, cs32, out, k)
    return len(starts)


def new_records(n):
    return np.zeros(n, dtype=T.RECORD)


def decode(code, eip=0, cs32=True, max_insns=64):
    """Decode a byte string (for tools and tests): returns an array of records."""
    buf = np.frombuffer(bytes(code), dtype=np.uint8)
    out = new_records(max_insns)
    n = decode_block(buf, 0, len(buf), len(buf), eip, cs32, out, max_insns)
    return out[:n]
