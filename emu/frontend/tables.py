"""The opcode table compiled into numpy arrays for the numba decoder.

`opcodes.ALL_ROWS` is the single source; this module turns each row into a
*form* (one per row) and fills lookup arrays indexed by opcode byte and ModRM.
It also defines the decoded-instruction record layout.
"""
import numpy as np

from .opcodes import ALL_ROWS

# Operand kinds
(K_NONE, K_E, K_G, K_M, K_R, K_I, K_J, K_O, K_A, K_S, K_C, K_D, K_Z, K_X, K_Y,
 K_REG, K_SEG, K_ONE, K_ST, K_STI) = range(20)

# Operand size codes: positive = bytes; negative = depends on the prefixes
SZ_V = -1       # operand size (2 or 4)
SZ_Z = -2       # operand size, immediates at most 4 bytes
SZ_P = -3       # far pointer: offset of operand size + 2-byte selector
SZ_S = -4       # pseudo-descriptor: 2-byte limit + 4-byte base
SZ_A = -5       # BOUND: two operand-size values
SZ_ENV = -6     # x87 environment: 14 or 28 bytes
SZ_STATE = -7   # x87 state: 94 or 108 bytes
SZ_RV_MW = -8   # "Rv/Mw": a register of operand size, or a 16-bit memory operand
SZ_NONE = 0

# Form attributes
A_LOCK = 1 << 0
A_END = 1 << 1
A_PRIV = 1 << 2
A_PE = 1 << 3
A_IO = 1 << 4
A_REP = 1 << 5
A_REPCC = 1 << 6
A_X87 = 1 << 7
A_MEM = 1 << 8       # ModRM must name memory
A_P6 = 1 << 9
A_MODRM = 1 << 10    # the form reads a ModRM byte
A_RMREG = 1 << 11    # ModRM r/m is always a register (MOV CR/DR ignore mod)

_ATTR_NAMES = {"lock": A_LOCK, "end": A_END, "priv": A_PRIV, "pe": A_PE, "io": A_IO,
               "rep": A_REP, "repcc": A_REPCC, "x87": A_X87, "mem": A_MEM, "p6": A_P6}

_SIZE_LETTERS = {"b": 1, "w": 2, "d": 4, "q": 8, "v": SZ_V, "z": SZ_Z, "p": SZ_P,
                 "s": SZ_S, "a": SZ_A}
_X87_MEM = {"fs": 4, "fd": 8, "ft": 10, "wi": 2, "di": 4, "qi": 8, "bcd": 10,
            "cw": 2, "env": SZ_ENV, "st": SZ_STATE}
_FIXED_REGS = {
    "AL": (0, 1), "CL": (1, 1), "DL": (2, 1), "BL": (3, 1),
    "AX": (0, 2), "DX": (2, 2),
    "eAX": (0, SZ_V),
}
_SEG_NAMES = ("ES", "CS", "SS", "DS", "FS", "GS")
_KIND_LETTERS = {"E": K_E, "G": K_G, "M": K_M, "R": K_R, "I": K_I, "J": K_J,
                 "O": K_O, "A": K_A, "S": K_S, "C": K_C, "D": K_D, "Z": K_Z,
                 "X": K_X, "Y": K_Y}
_MODRM_KINDS = (K_E, K_G, K_M, K_R, K_S, K_C, K_D, K_STI)


def parse_operand(text):
    """'Ev' -> (kind, size, extra)."""
    if text in _FIXED_REGS:
        reg, size = _FIXED_REGS[text]
        return K_REG, size, reg
    if text in _SEG_NAMES:
        return K_SEG, 2, _SEG_NAMES.index(text)
    if text == "1":
        return K_ONE, 1, 0
    if text == "ST":
        return K_ST, 10, 0
    if text == "STi":
        return K_STI, 10, 0
    if text == "M":
        return K_M, SZ_NONE, 0
    if text in ("Rv/Mw", "Mw/Rv"):
        return K_E, SZ_RV_MW, 0
    kind = _KIND_LETTERS[text[0]]
    rest = text[1:]
    if kind == K_M and rest in _X87_MEM:
        return K_M, _X87_MEM[rest], 1
    if kind == K_Z and rest == "b":
        return K_Z, 1, 0
    return kind, _SIZE_LETTERS[rest], 0


class Form:
    """One row of the opcode table, parsed."""

    def __init__(self, index, opcode, mnemonic, operands, attrs):
        self.index = index
        self.opcode = opcode
        self.mnemonic = mnemonic
        self.operand_text = operands
        self.operands = [parse_operand(o) for o in operands.split(",")] if operands else []
        assert len(self.operands) <= 3, opcode
        self.attrs = 0
        self.undefined = set()        # flags always undefined
        self.undefined_count = set()  # flags undefined when the count is > 1
        for tok in attrs.split():
            if tok.startswith("undef:"):
                self.undefined |= set(tok[6:].split(","))
            elif tok.startswith("undef>1:"):
                self.undefined_count |= set(tok[8:].split(","))
            else:
                self.attrs |= _ATTR_NAMES[tok]
        if any(k in _MODRM_KINDS for k, _, _ in self.operands) or "/" in opcode \
                or (" " in opcode and opcode.split()[0] in ("D8", "D9", "DA", "DB", "DC", "DD", "DE", "DF")):
            self.attrs |= A_MODRM
        if any(k == K_M for k, _, _ in self.operands):
            self.attrs |= A_MEM
        if mnemonic in ("mov_cr", "mov_dr"):
            self.attrs |= A_RMREG

    def has(self, attr):
        return bool(self.attrs & attr)

    def __repr__(self):
        return "<Form %d %s %s %s>" % (self.index, self.opcode, self.mnemonic, self.operand_text)


FORMS = [Form(i, *row) for i, row in enumerate(ALL_ROWS)]
N_FORMS = len(FORMS)

# --- lookup arrays -----------------------------------------------------------
# MAP[m][op]: >= 0 form, -1 invalid, <= -2 group -(x+2); m = 0 one-byte, 1 = 0F.
INVALID = -1
MAP = np.full((2, 256), INVALID, dtype=np.int32)
HAS_MODRM = np.zeros((2, 256), dtype=np.uint8)
_groups = {}        # (map, opcode) -> group id
_group_rows = []    # group id -> array [2 (mem=0/reg=1), 64 (reg*8+rm)]


def _group_of(m, op):
    key = (m, op)
    if key not in _groups:
        if MAP[m][op] >= 0:
            raise ValueError("opcode %d:%02X is both a plain form and a group" % key)
        _groups[key] = len(_group_rows)
        _group_rows.append(np.full((2, 64), INVALID, dtype=np.int32))
        MAP[m][op] = -(_groups[key] + 2)
        HAS_MODRM[m][op] = 1
    return _group_rows[_groups[key]]


def _set_plain(m, op, form):
    if MAP[m][op] != INVALID:
        raise ValueError("opcode %d:%02X listed twice (%s)" % (m, op, form))
    MAP[m][op] = form.index
    HAS_MODRM[m][op] = 1 if form.has(A_MODRM) else 0


def _install(form):
    parts = form.opcode.split()
    m = 0
    if parts[0] == "0F":
        m = 1
        parts = parts[1:]
    first = parts[0]
    rest = parts[1:]
    if first.endswith("+r") or first.endswith("+cc"):
        base, n = (int(first[:-2], 16), 8) if first.endswith("+r") else (int(first[:-3], 16), 16)
        for k in range(n):
            _set_plain(m, base + k, form)
        return
    op = int(first, 16)
    if not rest:
        _set_plain(m, op, form)
        return
    grp = _group_of(m, op)
    if rest[0].startswith("/"):
        reg = int(rest[0][1:])
        which = rest[1] if len(rest) > 1 else "any"
        for is_reg in (0, 1):
            if (which == "mem" and is_reg) or (which == "reg" and not is_reg):
                continue
            for rm in range(8):
                slot = reg * 8 + rm
                if grp[is_reg][slot] != INVALID:
                    raise ValueError("duplicate group slot for %s" % form)
                grp[is_reg][slot] = form.index
        return
    # x87 register forms: a ModRM byte (C0..FF), maybe "+i"
    spec = rest[0]
    if spec.endswith("+i"):
        base, n = int(spec[:-2], 16), 8
    else:
        base, n = int(spec, 16), 1
    for k in range(n):
        modrm = base + k
        assert modrm >= 0xC0
        slot = modrm & 0x3F
        if grp[1][slot] != INVALID:
            raise ValueError("duplicate x87 slot for %s" % form)
        grp[1][slot] = form.index


for _f in FORMS:
    _install(_f)

GROUPS = np.stack(_group_rows) if _group_rows else np.zeros((0, 2, 64), np.int32)

FORM_KIND = np.zeros((N_FORMS, 3), dtype=np.int8)
FORM_SIZE = np.zeros((N_FORMS, 3), dtype=np.int8)
FORM_EXTRA = np.zeros((N_FORMS, 3), dtype=np.int8)
FORM_ATTR = np.zeros(N_FORMS, dtype=np.uint32)
for _f in FORMS:
    FORM_ATTR[_f.index] = _f.attrs
    for _i, (_k, _s, _x) in enumerate(_f.operands):
        FORM_KIND[_f.index, _i] = _k
        FORM_SIZE[_f.index, _i] = _s
        FORM_EXTRA[_f.index, _i] = _x

# --- the decoded instruction record -----------------------------------------
# Decoder results; the translator reads these, never raw bytes.
ERR_NONE = 0
ERR_UD = 1          # invalid or unsupported encoding: #UD
ERR_TOO_LONG = 2    # more than 15 bytes: #GP(0)
ERR_TRUNCATED = 3   # ran out of fetchable bytes: a fetch fault on the next page

REP_NONE, REP_NE, REP_E = 0, 1, 2   # no prefix, F2 (REPNE), F3 (REP/REPE)

RECORD = np.dtype([
    ("eip", np.uint32),        # offset in CS of the first byte
    ("next_eip", np.uint32),   # offset of the next instruction
    ("length", np.uint8),
    ("error", np.uint8),
    ("form", np.int16),
    ("opsize", np.uint8),      # 2 or 4
    ("addrsize", np.uint8),    # 2 or 4
    ("seg", np.int8),          # segment of the memory operand (override or default)
    ("seg_override", np.int8),  # -1 when there is none
    ("rep", np.uint8),
    ("lock", np.uint8),
    ("mod", np.uint8),
    ("reg", np.uint8),
    ("rm", np.uint8),
    ("base", np.int8),         # -1 none
    ("index", np.int8),        # -1 none
    ("scale", np.uint8),       # 0..3 (shift)
    ("opreg", np.uint8),       # register or condition code from the opcode's low bits
    ("map", np.uint8),         # 0 one-byte map, 1 0F map
    ("opcode", np.uint8),
    ("disp", np.int32),
    ("imm", np.uint32),        # first immediate (zero-extended), or branch target
    ("imm2", np.uint32),       # second immediate (ENTER level, far selector)
    ("immsize", np.uint8),     # bytes of the first immediate
    ("pad", np.uint8, (3,)),
])

MAX_INSN_LEN = 15


def form_by_mnemonic(mnemonic):
    return [f for f in FORMS if f.mnemonic == mnemonic]
