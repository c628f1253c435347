"""Relocation kinds: how an ELF relocation of a stencil becomes a patch, and the native
routine that applies one.

A stencil's relocation is stored as five int64 numbers (see RELOC_COLUMNS): where in the
stencil, what kind of field (a KIND_* below, our own numbering, one per patch formula),
what it points at (a TARGET_* and an index: role id, address-name id, continuation
number, runtime-symbol id) and the ELF addend.

Formulas follow the psABIs, with S the target's address or value, A the addend, P the
address of the field:

* System V x86-64 psABI, section 4.4 "Relocation":  R_X86_64_64 = S + A;
  R_X86_64_32 = S + A, zero-extended (must fit in 0..2^32-1); R_X86_64_32S = S + A,
  sign-extended (must fit in -2^31..2^31-1); R_X86_64_PC32 and R_X86_64_PLT32 = S + A - P
  (signed 32); R_X86_64_GOTPCREL[X] and R_X86_64_REX_GOTPCRELX = G + GOT + A - P, the
  address of a pointer-sized slot holding S, relative to P.
* ELF for the Arm 64-bit Architecture (AAELF64), section 5.7: MOVW_UABS_Gn put bits
  [16n+15:16n] of S + A in the imm16 field (bits 20:5) of MOVZ/MOVK, the forms without _NC
  checking that S + A < 2^(16(n+1)); JUMP26/CALL26 put (S + A - P) >> 2 in imm26 (+-128 MB);
  ADR_PREL_PG_HI21 puts Page(S + A) - Page(P) >> 12 in ADRP's immhi:immlo (+-4 GB);
  ADD_ABS_LO12_NC and LDSTn_ABS_LO12_NC put bits [11:log2(n/8)] of S + A in imm12 (bits
  21:10); ADR_GOT_PAGE / LD64_GOT_LO12_NC do the same with the address of a GOT slot.

The only GOT slots here are the address words of the runtime stubs (see arena.py), so GOT
relocations are accepted for runtime symbols only.
"""
import numpy as np
from llvmlite import ir as llir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .contract import AARCH64, X86_64

# --- what a relocation points at -------------------------------------------------------------
TARGET_VALUE = 0     # index: role id; S = the piece's 32-bit value for that role
TARGET_ADDR = 1      # index: address-name id; S = the piece's address for that name
TARGET_CONT = 2      # index: continuation number k (0, 1, 2)
TARGET_RUNTIME = 3   # index: runtime-symbol id; S = its stub (or the stub's slot for GOT kinds)
TARGET_RODATA = 4    # index 0; S = where the library's constants were put; A includes the offset
TARGET_NAMES = ("value hole", "address hole", "continuation", "runtime symbol", "constant data")

# --- columns of the relocation table -----------------------------------------------------------
R_OFFSET, R_KIND, R_TARGET, R_INDEX, R_ADDEND = range(5)
RELOC_COLUMNS = ("offset", "kind", "target", "index", "addend")

# --- patch kinds ------------------------------------------------------------------------------
KIND_X86_ABS32 = 1      # R_X86_64_32
KIND_X86_ABS32S = 2     # R_X86_64_32S
KIND_X86_PC32 = 3       # R_X86_64_PC32, R_X86_64_PLT32
KIND_X86_ABS64 = 4      # R_X86_64_64
KIND_X86_GOTPC32 = 5    # R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX
KIND_X86_PC64 = 6       # R_X86_64_PC64
KIND_A64_ABS64 = 20     # R_AARCH64_ABS64
KIND_A64_ABS32 = 21     # R_AARCH64_ABS32
KIND_A64_MOVW_G0 = 22   # R_AARCH64_MOVW_UABS_G0; _NC, G1, G1_NC, G2, G2_NC, G3 follow in order
KIND_A64_MOVW_G0_NC = 23
KIND_A64_MOVW_G1 = 24
KIND_A64_MOVW_G1_NC = 25
KIND_A64_MOVW_G2 = 26
KIND_A64_MOVW_G2_NC = 27
KIND_A64_MOVW_G3 = 28
KIND_A64_BRANCH26 = 30  # R_AARCH64_JUMP26, R_AARCH64_CALL26
KIND_A64_ADR_PAGE = 31  # R_AARCH64_ADR_PREL_PG_HI21
KIND_A64_ADD_LO12 = 32  # R_AARCH64_ADD_ABS_LO12_NC
KIND_A64_LDST8_LO12 = 33  # R_AARCH64_LDST{8,16,32,64,128}_ABS_LO12_NC: 33 + log2(bytes)
KIND_A64_LDST16_LO12 = 34
KIND_A64_LDST32_LO12 = 35
KIND_A64_LDST64_LO12 = 36
KIND_A64_LDST128_LO12 = 37
KIND_A64_GOT_PAGE = 38    # R_AARCH64_ADR_GOT_PAGE
KIND_A64_GOT_LO12 = 39    # R_AARCH64_LD64_GOT_LO12_NC

# Offset of the 8-byte address word inside a runtime stub (it serves as the GOT slot):
# x86-64 stub = ff 25 00 00 00 00 (jmp qword ptr [rip+0]) then the address;
# AArch64 stub = ldr x16, #8; br x16; then the address.
STUB_SLOT_OFFSET = {X86_64: 6, AARCH64: 8}
STUB_SIZE = 16

# ELF relocation type number -> (ELF name, kind), per architecture.  Anything not listed is
# rejected when the library is built, naming the type and the stencil.
ELF_KINDS = {
    X86_64: {
        1: ("R_X86_64_64", KIND_X86_ABS64),
        2: ("R_X86_64_PC32", KIND_X86_PC32),
        4: ("R_X86_64_PLT32", KIND_X86_PC32),
        9: ("R_X86_64_GOTPCREL", KIND_X86_GOTPC32),
        10: ("R_X86_64_32", KIND_X86_ABS32),
        11: ("R_X86_64_32S", KIND_X86_ABS32S),
        24: ("R_X86_64_PC64", KIND_X86_PC64),
        41: ("R_X86_64_GOTPCRELX", KIND_X86_GOTPC32),
        42: ("R_X86_64_REX_GOTPCRELX", KIND_X86_GOTPC32),
    },
    AARCH64: {
        257: ("R_AARCH64_ABS64", KIND_A64_ABS64),
        258: ("R_AARCH64_ABS32", KIND_A64_ABS32),
        263: ("R_AARCH64_MOVW_UABS_G0", KIND_A64_MOVW_G0),
        264: ("R_AARCH64_MOVW_UABS_G0_NC", KIND_A64_MOVW_G0_NC),
        265: ("R_AARCH64_MOVW_UABS_G1", KIND_A64_MOVW_G1),
        266: ("R_AARCH64_MOVW_UABS_G1_NC", KIND_A64_MOVW_G1_NC),
        267: ("R_AARCH64_MOVW_UABS_G2", KIND_A64_MOVW_G2),
        268: ("R_AARCH64_MOVW_UABS_G2_NC", KIND_A64_MOVW_G2_NC),
        269: ("R_AARCH64_MOVW_UABS_G3", KIND_A64_MOVW_G3),
        275: ("R_AARCH64_ADR_PREL_PG_HI21", KIND_A64_ADR_PAGE),
        277: ("R_AARCH64_ADD_ABS_LO12_NC", KIND_A64_ADD_LO12),
        278: ("R_AARCH64_LDST8_ABS_LO12_NC", KIND_A64_LDST8_LO12),
        282: ("R_AARCH64_JUMP26", KIND_A64_BRANCH26),
        283: ("R_AARCH64_CALL26", KIND_A64_BRANCH26),
        284: ("R_AARCH64_LDST16_ABS_LO12_NC", KIND_A64_LDST16_LO12),
        285: ("R_AARCH64_LDST32_ABS_LO12_NC", KIND_A64_LDST32_LO12),
        286: ("R_AARCH64_LDST64_ABS_LO12_NC", KIND_A64_LDST64_LO12),
        299: ("R_AARCH64_LDST128_ABS_LO12_NC", KIND_A64_LDST128_LO12),
        311: ("R_AARCH64_ADR_GOT_PAGE", KIND_A64_GOT_PAGE),
        312: ("R_AARCH64_LD64_GOT_LO12_NC", KIND_A64_GOT_LO12),
    },
}

KIND_NAMES = {}
for _table in ELF_KINDS.values():
    for _name, _kind in _table.values():
        KIND_NAMES.setdefault(_kind, _name)
KIND_NAMES[KIND_X86_PC32] = "R_X86_64_PC32/PLT32"
KIND_NAMES[KIND_X86_GOTPC32] = "R_X86_64_GOTPCREL[X]"
KIND_NAMES[KIND_A64_BRANCH26] = "R_AARCH64_JUMP26/CALL26"

GOT_KINDS = frozenset((KIND_X86_GOTPC32, KIND_A64_GOT_PAGE, KIND_A64_GOT_LO12))
# Kinds that can hold any 32-bit unsigned value whatever the code address: the only ones
# allowed for value holes.
VALUE_KINDS = {
    X86_64: frozenset((KIND_X86_ABS32, KIND_X86_ABS64)),
    AARCH64: frozenset((KIND_A64_ABS64, KIND_A64_ABS32, KIND_A64_MOVW_G0, KIND_A64_MOVW_G0_NC,
                        KIND_A64_MOVW_G1, KIND_A64_MOVW_G1_NC, KIND_A64_MOVW_G2,
                        KIND_A64_MOVW_G2_NC, KIND_A64_MOVW_G3)),
}
# Kinds a continuation may use: a direct jump whose target is one 4-byte field, so that
# re-pointing an exit is one store.
CONT_KINDS = {X86_64: frozenset((KIND_X86_PC32,)), AARCH64: frozenset((KIND_A64_BRANCH26,))}
# Bytes of the trailing `jmp __cont.0` the emitter may drop when the next piece follows.
TRIM_BYTES = {X86_64: 5, AARCH64: 4}
KNOWN_KINDS = frozenset(KIND_NAMES)

# --- status codes of the native routines --------------------------------------------------------
OK = 0
ERR_FULL = -1           # not enough room in the window
ERR_WINDOW = -2         # start/limit outside the memory given
ERR_STENCIL_ID = -3     # stencil id out of range
ERR_SHAPE = -4          # an input array is too small
ERR_CONT_UNSET = -5     # a continuation the stencil uses was not given
ERR_CONT_PIECE = -6     # continuation refers to a piece that does not exist
ERR_RANGE = -7          # value does not fit the relocation's field
ERR_KIND = -8           # unknown relocation kind
ERR_RUNTIME_UNBOUND = -9  # runtime symbol without a stub
ERR_SITES = -10         # output array for patch sites too small
ERR_OUTSIDE = -11       # a write would fall outside the window
STATUS_TEXT = {
    ERR_FULL: "not enough room in the arena",
    ERR_WINDOW: "emission window outside the arena",
    ERR_STENCIL_ID: "stencil id out of range",
    ERR_SHAPE: "an input array is too small for the pieces or the library",
    ERR_CONT_UNSET: "the stencil uses a continuation that was not given",
    ERR_CONT_PIECE: "a continuation refers to a piece that does not exist",
    ERR_RANGE: "value out of range for the relocation field",
    ERR_KIND: "unknown relocation kind",
    ERR_RUNTIME_UNBOUND: "runtime symbol has no stub",
    ERR_SITES: "too many patch sites for the output array",
    ERR_OUTSIDE: "write outside the arena",
}


def field_width(kind):
    """Bytes a patch of this kind writes (its field)."""
    return 8 if kind in (KIND_X86_ABS64, KIND_X86_PC64, KIND_A64_ABS64) else 4


@intrinsic
def _raw_load32(typingctx, address):
    def codegen(context, builder, signature, args):
        ptr = builder.inttoptr(args[0], llir.IntType(32).as_pointer())
        return builder.zext(builder.load(ptr, align=1), llir.IntType(64))
    return types.int64(types.int64), codegen


@intrinsic
def _raw_store32(typingctx, address, value):
    def codegen(context, builder, signature, args):
        ptr = builder.inttoptr(args[0], llir.IntType(32).as_pointer())
        builder.store(builder.trunc(args[1], llir.IntType(32)), ptr, align=1)
        return context.get_dummy_value()
    return types.void(types.int64, types.int64), codegen


@intrinsic
def _raw_store64(typingctx, address, value):
    def codegen(context, builder, signature, args):
        ptr = builder.inttoptr(args[0], llir.IntType(64).as_pointer())
        builder.store(args[1], ptr, align=1)
        return context.get_dummy_value()
    return types.void(types.int64, types.int64), codegen


@intrinsic
def _raw_copy(typingctx, dst, src, count):
    """memcpy(dst, src, count) between int64 addresses (regions must not overlap)."""
    def codegen(context, builder, signature, args):
        i8p = llir.IntType(8).as_pointer()
        cgutils.raw_memcpy(builder, builder.inttoptr(args[0], i8p), builder.inttoptr(args[1], i8p),
                           args[2], 1)
        return context.get_dummy_value()
    return types.void(types.int64, types.int64, types.int64), codegen


@njit(cache=True, nogil=True, inline="always")
def copy_bytes(dst, d, src, s, count):
    """dst[d:d + count] = src[s:s + count] for two distinct uint8 arrays; the caller has
    checked both ranges."""
    _raw_copy(np.int64(dst.ctypes.data) + d, np.int64(src.ctypes.data) + s, np.int64(count))


# Each store is one instruction (x86-64 and AArch64 both allow unaligned stores to normal
# memory): a jump being re-pointed is never seen half-written.  Callers check that
# [o, o + width) lies inside mem.
@njit(cache=True, nogil=True, inline="always")
def _load32(mem, o):
    return _raw_load32(np.int64(mem.ctypes.data) + o)


@njit(cache=True, nogil=True, inline="always")
def _store32(mem, o, v):
    _raw_store32(np.int64(mem.ctypes.data) + o, np.int64(v))


@njit(cache=True, nogil=True, inline="always")
def _store64(mem, o, v):
    _raw_store64(np.int64(mem.ctypes.data) + o, np.int64(v))


@njit(cache=True, nogil=True, inline="always")
def _a64_page_delta(x, P):
    return (x & ~np.int64(0xFFF)) - (P & ~np.int64(0xFFF))


@njit(cache=True, nogil=True, inline="always")
def apply_patch(mem, o, kind, P, S, A):
    """Write the field of relocation `kind` at mem[o] for target S, addend A and field
    address P.  Returns OK, ERR_RANGE or ERR_KIND; the caller has checked that mem[o:o+8]
    (or +4 for 4-byte fields) lies in its window."""
    x = S + A
    if kind == KIND_X86_ABS32:
        if x < 0 or x > 0xFFFFFFFF:
            return ERR_RANGE
        _store32(mem, o, x)
    elif kind == KIND_X86_PC32 or kind == KIND_X86_GOTPC32:
        d = x - P
        if d < -(1 << 31) or d >= (1 << 31):
            return ERR_RANGE
        _store32(mem, o, d)
    elif kind == KIND_X86_ABS32S:
        if x < -(1 << 31) or x >= (1 << 31):
            return ERR_RANGE
        _store32(mem, o, x)
    elif kind == KIND_X86_ABS64 or kind == KIND_A64_ABS64:
        _store64(mem, o, x)
    elif kind == KIND_X86_PC64:
        _store64(mem, o, x - P)
    elif kind == KIND_A64_ABS32:
        if x < -(1 << 31) or x > 0xFFFFFFFF:
            return ERR_RANGE
        _store32(mem, o, x)
    elif kind >= KIND_A64_MOVW_G0 and kind <= KIND_A64_MOVW_G3:
        group = (kind - KIND_A64_MOVW_G0) >> 1
        checked = ((kind - KIND_A64_MOVW_G0) & 1) == 0 and kind != KIND_A64_MOVW_G3
        if checked and (x < 0 or (x >> (16 * (group + 1))) != 0):
            return ERR_RANGE
        imm16 = (x >> (16 * group)) & 0xFFFF
        insn = _load32(mem, o)
        _store32(mem, o, (insn & ~np.int64(0xFFFF << 5)) | (imm16 << 5))
    elif kind == KIND_A64_BRANCH26:
        d = x - P
        if d < -(1 << 27) or d >= (1 << 27) or (d & 3) != 0:
            return ERR_RANGE
        insn = _load32(mem, o)
        _store32(mem, o, (insn & ~np.int64(0x3FFFFFF)) | ((d >> 2) & 0x3FFFFFF))
    elif kind == KIND_A64_ADR_PAGE or kind == KIND_A64_GOT_PAGE:
        d = _a64_page_delta(x, P)
        if d < -(np.int64(1) << 32) or d >= (np.int64(1) << 32):
            return ERR_RANGE
        imm = (d >> 12) & 0x1FFFFF
        insn = _load32(mem, o)
        insn = (insn & ~np.int64((3 << 29) | (0x7FFFF << 5))) | ((imm & 3) << 29) | ((imm >> 2) << 5)
        _store32(mem, o, insn)
    elif kind == KIND_A64_ADD_LO12 or (kind >= KIND_A64_LDST8_LO12 and kind <= KIND_A64_GOT_LO12):
        shift = 0
        if kind == KIND_A64_GOT_LO12:
            shift = 3
        elif kind != KIND_A64_ADD_LO12:
            shift = kind - KIND_A64_LDST8_LO12
        lo = x & 0xFFF
        if (lo & ((1 << shift) - 1)) != 0:
            return ERR_RANGE  # a scaled load/store offset must be aligned to its size
        insn = _load32(mem, o)
        _store32(mem, o, (insn & ~np.int64(0xFFF << 10)) | ((lo >> shift) << 10))
    else:
        return ERR_KIND
    return OK
