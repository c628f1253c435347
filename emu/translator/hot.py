"""Hot blocks at O2 as relocatable code: one stencil per block.

A hot block is compiled by LLVM at O2 from the same `emit_block` as always,
with the block's register cache and lazy flags, but with what changes when
the same code is loaded elsewhere left as holes (operands.py):

- every EIP is the block's own (the `block_eip` hole) plus a constant
  (BlockRel): the instructions' EIPs, relative branch targets, return
  addresses; the same bytes at another address (Debian's kernel moves itself
  at every boot, a library is mapped elsewhere in each process) get the same
  code;
- 32-bit immediates and every displacement are holes of their instruction
  (`imm.N`, `disp.N`): the absolute addresses a relocated kernel patched
  into its code are such fields, so the relocated code hits too;
- the chain slots are in arena data (the `slots` address hole).

The code is then a stencil (emu/translator/cnp) placed like the baseline's,
in microseconds, and kept in the translation cache file (codecache.py) under
a key that hashes the decoded records with those fields taken out: the
instruction forms, prefixes, registers and sizes, the small immediates, the
branches' relative targets.  LLVM never sees the values it would otherwise
fold (a 32-bit immediate, a displacement), which costs little: they become
the immediates and displacements of host instructions.
"""
import copy

import llvmlite.ir as ir

from ..frontend import tables as T
from .baseline.native import hot_key, new_scratch
from .baseline.stencilgen import hole_value
from .block import emit_block
from .gen import IRGen
from .operands import BlockRel, Hole

N_SLOTS = 2


def _has_memory_operand(insn):
    return insn.form is not None and insn.form.has(T.A_MODRM) and insn.mod != 3


def relocatable(insns):
    """Copies of insns (block.Insn) whose EIPs are BlockRel and whose 32-bit
    immediates and displacements are holes of their position."""
    first = insns[0].eip
    out = []
    for i, insn in enumerate(insns):
        r = copy.copy(insn)
        r.eip = BlockRel(insn.eip - first)
        r.next_eip = BlockRel(insn.next_eip - first)
        kinds = [k for k, _, _ in insn.form.operands] if insn.form is not None else []
        if T.K_J in kinds:
            r.imm = BlockRel(insn.imm - first)
        elif insn.immsize == 4 or T.K_A in kinds:
            r.imm = Hole("imm.%d" % i)
        if T.K_O in kinds or _has_memory_operand(insn):
            r.disp = Hole("disp.%d" % i)
        out.append(r)
    return out


def block_key(recs, n, hflags, cs_base):
    """What identifies a hot block's code: its records without the holes'
    values, hashed (baseline/native.py: hot_key, which the native block
    builder uses too)."""
    scratch, raw = new_scratch(n)
    h1, h2 = hot_key(recs, n, hflags, cs_base, scratch, raw)
    return int(h1), int(h2)


def hole_values(recs, n):
    """{role: value} of a hot block's holes, from its records."""
    values = {"block_eip": int(recs[0]["eip"])}
    for i in range(n):
        rec = recs[i]
        form = int(rec["form"])
        kinds = [k for k, _, _ in T.FORMS[form].operands] if form >= 0 else []
        if T.K_J not in kinds and (int(rec["immsize"]) == 4 or T.K_A in kinds):
            values["imm.%d" % i] = int(rec["imm"]) & 0xFFFFFFFF
        if T.K_O in kinds or (form >= 0 and T.FORMS[form].has(T.A_MODRM) and int(rec["mod"]) != 3):
            values["disp.%d" % i] = int(rec["disp"]) & 0xFFFFFFFF
    return values


class RelocGen(IRGen):
    """A block's IRGen whose holes are stencil holes and whose chain slots are
    arena data."""

    def _chain_slots(self):
        g = self.module.globals.get("__addr.slots")
        if g is None:
            g = ir.GlobalVariable(self.module, ir.ArrayType(ir.PointerType(), N_SLOTS), "__addr.slots")
            g.linkage = "external"
            g.type = ir.PointerType()
        return g

    def hole(self, role):
        return hole_value(self.module, role)


def emit_hot_block(insns, name, cs_base, hflags, module=None):
    """A relocatable block (see the module docstring) in a module of its own,
    or added to module; returns (module, g) as block.emit_block does."""
    return emit_block(relocatable(insns), name, BlockRel(0), cs_base, hflags, gen=RelocGen, module=module)
