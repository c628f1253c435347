"""Operands known only at run time: what lets one `op_*` emit a stencil.

The LLVM tier translates a whole block at a time, so every operand of an
instruction (register numbers, immediates, displacements, EIPs) is a Python
int and becomes an `ir.Constant`.  The baseline tier (emu/translator/baseline)
compiles each instruction *variant* once, ahead of the code it will run, as a
stencil whose operands are holes filled when the stencil is placed in a
block.  The same `op_*` functions emit both: in a stencil the fields of the
instruction the variant leaves open are the objects below, and `g` (gen.py)
turns them into IR values that read the hole.

- `Hole(role)`: a 32-bit value (`imm`, `imm_s`, `disp`, `eip`, `next_eip`,
  ...); `ROLES` lists them with what the block builder puts there.
- `BlockRel(delta)`: an EIP that is the block's own EIP (the `block_eip`
  hole) plus a constant: the EIPs inside a relocatable block (hot.py), whose
  code then serves the same bytes wherever they are loaded.
- `RegRef(field)`: a general register named by an instruction field
  (ModRM.reg, ModRM.rm, the opcode's low bits); in a stencil it is a byte
  offset into CpuState (the `<field>_off` / `<field>_off8` holes), read and
  written in place.

An `op_*` must not do Python arithmetic on such a field; `g.value(x, size)`
gives its IR value whatever it is, and `g.known(x)` its Python int when it
has one (the LLVM tier uses that to fold work away, as before).
"""


class Hole:
    """An operand value patched into a stencil when it is placed."""
    __slots__ = ("role",)

    def __init__(self, role):
        if role.split(".")[0] not in ROLES:
            raise ValueError("unknown hole role %r" % role)
        self.role = role            # a role, or role.N: instruction N's (hot.py)

    def __repr__(self):
        return "Hole(%s)" % self.role

    def __eq__(self, other):
        return isinstance(other, Hole) and other.role == self.role

    def __hash__(self):
        return hash(("hole", self.role))


class BlockRel:
    """An EIP: the block's first EIP plus delta (mod 2^32)."""
    __slots__ = ("delta",)

    def __init__(self, delta):
        self.delta = delta & 0xFFFFFFFF

    def __repr__(self):
        return "BlockRel(%+#x)" % self.delta

    def __eq__(self, other):
        return isinstance(other, BlockRel) and other.delta == self.delta

    def __hash__(self):
        return hash(("rel", self.delta))


class RegRef:
    """A general register whose number is an instruction field left open."""
    __slots__ = ("field",)

    def __init__(self, field):
        if field not in ("reg", "rm", "opreg"):
            raise ValueError("no register field %r" % field)
        self.field = field

    def __repr__(self):
        return "RegRef(%s)" % self.field

    def __eq__(self, other):
        return isinstance(other, RegRef) and other.field == self.field

    def __hash__(self):
        return hash(("reg", self.field))


# role -> what the block builder puts in the hole (baseline/holes.py computes them)
ROLES = {
    "eip": "the instruction's EIP",
    "next_eip": "the EIP of the next instruction",
    "imm": "the first immediate, zero-extended (a relative branch's target EIP)",
    "imm_s": "the first immediate, sign-extended from its size to 32 bits",
    "imm2": "the second immediate (ENTER's level, a far pointer's selector)",
    "disp": "the displacement of the memory operand (moffs included)",
    "seg_base": "byte offset in CpuState of the memory operand's segment base",
    "seg_sel": "byte offset in CpuState of the memory operand's segment selector",
    "base_off": "byte offset of the base register (the zero register when there is none)",
    "index_off": "byte offset of the index register (the zero register when there is none)",
    "scale": "the index's multiplier: 1, 2, 4 or 8",
    "reg_off": "byte offset of the ModRM.reg register (16/32-bit view)",
    "reg_off8": "byte offset of the ModRM.reg register's 8-bit view (AH..BH: byte 1)",
    "reg_num": "the ModRM.reg register number",
    "rm_off": "byte offset of the ModRM.rm register (16/32-bit view)",
    "rm_off8": "byte offset of the ModRM.rm register's 8-bit view",
    "rm_num": "the ModRM.rm register number",
    "opreg_off": "byte offset of the register in the opcode's low bits",
    "opreg_off8": "its 8-bit view",
    "opreg_num": "its number",
    "fop": "the x87 opcode (FOP): first byte & 7 << 8 | ModRM",
    "refund_fault": "instructions of the block not executed when this one faults (n - index)",
    "refund_done": "instructions of the block not executed after this one (n - index - 1)",
    "n_insns": "the block's length in instructions (its budget)",
    "hot_threshold": "the entry that makes the block hot (tiering)",
    "block_eip": "the block's first EIP",
}

ROLE_NAMES = tuple(ROLES)
ROLE_IDS = {name: i for i, name in enumerate(ROLE_NAMES)}
N_ROLES = len(ROLE_NAMES)
