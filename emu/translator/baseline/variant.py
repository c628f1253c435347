"""Instruction variants: what a stencil fixes, and what it leaves to holes.

A stencil is compiled once per *variant*: the table form plus every field
that changes the shape of the code the `op_*` emits.  Everything else
(register numbers, immediates, displacements, EIPs, the addressing
registers) is a hole the block builder fills (operands.ROLES, holes.py).

The key (native.variant_code packs it, from a decoded record and the block's hflags):

    form        the opcode table row (-1: the record is an error, see `error`)
    error       the decoder's error (#UD, #GP too long) for form -1
    opsize, addrsize
    is_reg      ModRM.mod == 3 (the form has a ModRM byte), else 0
    rep         the F2/F3 prefix, for the string forms that repeat
    reg, rm     ModRM.reg / .rm where they are not general registers the
                code reads and writes in place: segment, control and debug
                register numbers, and the x87's ST(i) and opcode bits (-1 else)
    cc          the condition of Jcc / SETcc / CMOVcc (-1 else)
    imm2        ENTER's nesting level, which shapes the code (-1 else)
    hflags      the mode bits the semantics look at: CPL, SS.B, PE, VM, and
                CR0.TS/EM/MP for the x87
"""
from typing import NamedTuple

from ...cpu import hflags as H
from ...frontend import tables as T
from ..operands import Hole, RegRef

MODE_BITS = H.HF_CPL_MASK | H.HF_SS32 | H.HF_PE | H.HF_VM
X87_MODE_BITS = H.HF_TS | H.HF_EM | H.HF_MP

# per form: which ModRM/opcode fields a variant fixes (they are not general registers)
_STATIC_KINDS = (T.K_S, T.K_C, T.K_D, T.K_STI, T.K_ST)
STATIC_REG = [f.has(T.A_X87) or any(k in _STATIC_KINDS for k, _, _ in f.operands) for f in T.FORMS]
STATIC_RM = [f.has(T.A_X87) for f in T.FORMS]
CC_FORM = ["+cc" in f.opcode for f in T.FORMS]
ENTER_FORM = [f.mnemonic == "enter" for f in T.FORMS]
REPEATS = [f.has(T.A_REP) or f.has(T.A_REPCC) for f in T.FORMS]


class VariantKey(NamedTuple):
    form: int
    error: int
    opsize: int
    addrsize: int
    is_reg: int
    rep: int
    reg: int
    rm: int
    cc: int
    imm2: int
    hflags: int


SEG = Hole("seg_base")          # the memory operand's segment (gen.py StencilGen reads both holes)


class VariantInsn:
    """The instruction an `op_*` sees when it emits a stencil: the fields the
    variant fixes are ints, the others holes (operands.py).  Fields that only
    the addressing uses (base, index, scale, disp) are read by StencilGen.ea
    from holes and are None here, so that nothing else can use them."""

    def __init__(self, key):
        self.key = key
        self.form = T.FORMS[key.form] if key.form >= 0 else None
        self.error = key.error
        self.opsize = key.opsize
        self.addrsize = key.addrsize
        self.mod = 3 if key.is_reg else 0
        self.rep = key.rep
        self.lock = 0
        self.reg = key.reg if key.reg >= 0 else RegRef("reg")
        self.rm = key.rm if key.rm >= 0 else RegRef("rm")
        self.opreg = key.cc if key.cc >= 0 else RegRef("opreg")
        self.imm2 = key.imm2 if key.imm2 >= 0 else Hole("imm2")
        self.imm = Hole("imm")
        self.immsize = _immsize(self.form, key.opsize)
        self.disp = Hole("disp")
        self.eip = Hole("eip")
        self.next_eip = Hole("next_eip")
        self.seg = SEG
        self.fop = Hole("fop") if self.form is not None and self.form.has(T.A_X87) else None
        if self.form is not None and self.form.has(T.A_X87) and key.is_reg:
            # a register form: the whole ModRM byte is fixed by the variant
            self.fop = ((_opcode_byte(self.form) & 7) << 8) | 0xC0 | (key.reg << 3) | key.rm
        self.base = self.index_reg = self.scale = None
        self.index = None

    @property
    def mnemonic(self):
        return self.form.mnemonic if self.form else "(bad)"

    def __repr__(self):
        return "<VariantInsn %s %s>" % (self.mnemonic, tuple(self.key))


def _opcode_byte(form):
    return int(form.opcode.split()[0], 16)


def _immsize(form, opsize):
    """Bytes of the first immediate (the decoder's immsize) for this form."""
    if form is None:
        return 0
    for kind, size, _ in form.operands:
        if kind in (T.K_I, T.K_J):
            if size == T.SZ_V:
                return opsize
            if size == T.SZ_Z:
                return min(opsize, 4)
            return size
    return 0
