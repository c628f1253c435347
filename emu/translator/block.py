"""One translation block: decoded records -> one LLVM function.

    i32 tb(CpuState*, Env*)

The function checks the instruction budget and exit_request at entry, runs
each instruction's semantics (`op_*`, found by the table row's mnemonic) and
ends in a chained exit.  Checks common to every instruction come from the
table row's attributes (privilege, protected mode only, x87 availability).
"""
import llvmlite.ir as ir

from ..cpu import hflags as H
from ..cpu.vectors import Vector
from ..frontend import tables as T
from .errors import TranslationError
from .gen import IRGen
from .semantics import lookup


class Insn:
    """A decoded instruction, as the semantics see it (fields of tables.RECORD)."""
    __slots__ = ("index", "form", "eip", "next_eip", "length", "error", "opsize", "addrsize", "seg",
                 "seg_override", "rep", "lock", "mod", "reg", "rm", "base", "index_reg", "scale",
                 "opreg", "disp", "imm", "imm2", "immsize", "map", "opcode", "bytes")

    def __init__(self, rec, index, code=b""):
        self.index = index
        form = int(rec["form"])
        self.form = T.FORMS[form] if form >= 0 else None
        for name in ("eip", "next_eip", "length", "error", "opsize", "addrsize", "seg", "seg_override",
                     "rep", "lock", "mod", "reg", "rm", "base", "scale", "opreg", "disp", "imm",
                     "imm2", "immsize", "map", "opcode"):
            setattr(self, name, int(rec[name]))
        self.index_reg = int(rec["index"])
        self.bytes = code

    # note: `index` is the position in the block; the SIB index register is `index_reg`
    @property
    def fop(self):
        """The x87 opcode the FPU records (FOP): first byte & 7 << 8 | ModRM."""
        return ((self.opcode & 7) << 8) | (self.mod << 6) | (self.reg << 3) | self.rm

    @property
    def mnemonic(self):
        return self.form.mnemonic if self.form else "(bad)"

    def __repr__(self):
        return "<Insn %#x %s %s>" % (self.eip, self.mnemonic, self.bytes.hex())


def _check_attributes(g, insn):
    """Raise what the table row's attributes demand; True when the insn is done."""
    f = insn.form
    if f.has(T.A_PE) and (not g.pe or g.vm):
        g.raise_now(Vector.UD)
        return True
    if f.has(T.A_PRIV) and g.cpl != 0:
        g.raise_now(Vector.GP, 0)
        return True
    if f.has(T.A_X87) and g.hflags & (H.HF_EM | H.HF_TS):
        if f.mnemonic != "fwait" or (g.hflags & H.HF_TS and g.hflags & H.HF_MP):
            g.raise_now(Vector.NM)
            return True
    return False


def emit_instruction(g, insn):
    """One instruction's meaning, through g: the decoder's verdict, the table
    row's attribute checks, then its `op_*` (a block and a stencil alike)."""
    g.begin(insn)
    if insn.error == T.ERR_UD:
        g.raise_now(Vector.UD)
    elif insn.error == T.ERR_TOO_LONG:
        g.raise_now(Vector.GP, 0)
    elif insn.error != T.ERR_NONE:
        raise TranslationError("instruction at %#x is truncated" % insn.eip)
    elif not _check_attributes(g, insn):
        lookup(insn.form.mnemonic)(g, insn)


def emit_block(insns, name, tb_eip, cs_base, hflags, trace=False, hot_threshold=None, gen=IRGen,
               module=None):
    """Build the module for one block (or add it to module); returns (module,
    IRGen).  With hot_threshold (tier 1) the block counts its executions
    (gen.py); gen is the IRGen class (hot.py makes relocatable blocks with
    its own)."""
    module = module or ir.Module(name)
    g = gen(module, name, tb_eip, cs_base, hflags, len(insns), hot_threshold)
    if trace:
        g.emit_trace()
    for insn in insns:
        emit_instruction(g, insn)
        if g.terminated:
            break
        g.commit()
    if not g.terminated:
        g.jump(insns[-1].next_eip)
    return module, g
