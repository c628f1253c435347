"""StencilGen: `g` for one instruction variant, emitted as a stencil.

A stencil is one LLVM function per instruction variant (variant.py),

    i32 @"st.<key>"(CpuState* s, Env* e)

made by the instruction's own `op_*` through the same IRGen API as a whole
block, with three differences:

- Operands the variant leaves open are holes (operands.py): their value is
  `ptrtoint @"__hole.<role>"`, a symbol the copy-and-patch machinery
  (emu/translator/cnp) patches when it places the stencil in a block.  The
  holes are declared `!absolute_symbol` in [0, 2^32), so LLVM encodes them as
  32-bit immediates and displacements.
- Guest registers live in CpuState between instructions.  Registers named by
  the variant (EAX of `mul`, ESP of `push`) are cached and staged as in a
  block; registers named by a hole (ModRM.reg, .rm, the opcode's register)
  are loaded and stored in place at their byte offset (`<field>_off`, or
  `_off8` for the 8-bit view, whose AH..BH are byte 1 of EAX..EBX on a
  little-endian host), their writes staged in program order.  Where a hole
  register might be the same as one the instruction already wrote, a read
  picks the staged value by comparing offsets; the few shapes that cannot be
  ordered that way (a register read or a fixed-register write after a
  hole-register write) raise TranslationError, and the block that needs such
  a variant is translated by LLVM instead.
- The instruction ends by storing what it staged and tail-calling
  `@"__cont.0"`, the next stencil of the block.  A direct exit tail-calls
  `@"__cont.<1+k>"`: the block builder places there an exit stencil
  (`emit_exit`) that goes through chain slot k, exactly as a block's exit
  does (gen.py).  Budget refunds, the EIPs of fault exits and of the next
  instruction are holes too.

The block's own entry (budget and exit_request check, the execution counter
of tiering) is the head stencil, `emit_head`.
"""
import re

import llvmlite.ir as ir

from ...cpu import hflags as H
from ...cpu.state import CpuStateDesc
from ..block import emit_instruction
from ..exits import EXIT_HOT, EXIT_REQUEST
from ..errors import TranslationError
from ..gen import IRGen, _Snapshot
from ..irstate import I8, I16, I32, I64, INT_TYPES, PTR, TB_FN, c32, c64, load_field, store_field, \
    load_function_pointer
from ..operands import Hole, RegRef
from .variant import SEG, VariantInsn

HOLE_RANGE = (0, 1 << 32)
REGS_OFFSET = CpuStateDesc.offset("regs")
# llvmlite.ir knows only LLVM's enum attributes; string attributes are added
# to the text (stencil_ir): no jump tables (their tables would be data with
# relocations of their own), no frame pointer
STRING_ATTRS = '"no-jump-tables"="true" "frame-pointer"="none"'


def _hole_global(module, prefix, name, absolute):
    full = "%s.%s" % (prefix, name)
    g = module.globals.get(full)
    if g is None:
        g = ir.GlobalVariable(module, I8, full)
        g.linkage = "external"
        g.type = PTR                    # prints as `ptr`, like every pointer here
        if absolute:
            lo, hi = HOLE_RANGE
            g.set_metadata("absolute_symbol", module.add_metadata([c64(lo), c64(hi)]))
        # stencil_ir marks it dso_local: reached PC-relative (an address hole) or
        # as an immediate, never through a GOT
    return g


def hole_value(module, role):
    """The i32 value of a value hole (a constant expression)."""
    return _hole_global(module, "__hole", role, True).ptrtoint(I32)


def address_hole(module, name):
    """A pointer to arena memory the builder names (a counter, a chain slot)."""
    return _hole_global(module, "__addr", name, False)


def continuation(module, k):
    name = "__cont.%d" % k
    f = module.globals.get(name)
    if f is None:
        f = ir.Function(module, TB_FN, name)
    return f


def _stencil_function(module, name):
    f = ir.Function(module, TB_FN, name)
    f.attributes.add("nounwind")
    return f


def stencil_ir(module):
    """The module's text with every stencil's string attributes."""
    text = re.sub(r'^(define [^\n]*\)) nounwind', r'\1 nounwind ' + STRING_ATTRS, str(module), flags=re.M)
    # llvmlite drops dso_local on declarations; without it LLVM reaches holes
    # through a GOT (cnp/contract.py)
    return re.sub(r'^(@"__(addr|hole)\.[^"]*" = external) global', r'\1 dso_local global', text, flags=re.M)


def _tail_call(b, fn, s, e):
    r = b.call(fn, [s, e], tail="musttail")
    b.ret(r)


class StencilGen(IRGen):
    def __init__(self, module, name, hflags):
        self.exit_roles = []            # the target role of each direct exit (continuation 1 + k)
        self.falls_through = False      # ends in continuation 0 (the next instruction)
        super().__init__(module, name, None, None, hflags, None)

    # --- structure: no block prologue, no slots of its own ----------------------------------
    def _chain_slots(self):
        return None

    def _prologue(self):
        self._new_load_point(self.block("body"))

    def hole(self, role):
        return hole_value(self.module, role)

    def _unexecuted(self, done):
        return Hole("refund_done" if done else "refund_fault")

    def finish(self):
        """The instruction completed: store what it staged, go on with the next stencil."""
        self.commit()
        self._sync(self.committed)
        _tail_call(self.b, continuation(self.module, 0), self.s, self.e)
        self.terminated = True
        self.falls_through = True

    # --- direct exits -------------------------------------------------------------------------
    def _emit_chain(self, target):
        if not isinstance(target, Hole):
            raise TranslationError("a stencil's direct exit goes to a hole, not %r" % (target,))
        if target.role not in self.exit_roles:
            if len(self.exit_roles) == 2:
                raise TranslationError("more than two direct exits")
            self.exit_roles.append(target.role)
        k = self.exit_roles.index(target.role)
        _tail_call(self.b, continuation(self.module, 1 + k), self.s, self.e)

    # --- registers named by holes ---------------------------------------------------------
    def _offset(self, ref, size):
        return self.hole("%s_off8" % ref.field if size == 1 else "%s_off" % ref.field)

    def _load_at(self, offset, size):
        b = self.b
        p = b.gep(self.s, [b.zext(offset, I64)], source_etype=I8)
        v = b.load(p, typ=INT_TYPES[size])
        v.align = 1
        return v

    def _overlay(self, offset, size, value):
        """A register read through a hole offset sees the fixed registers this
        instruction already wrote (staged, not stored yet)."""
        b = self.b
        for r in sorted(self.pending.dirty):
            full = self.pending.regs[r]
            base = REGS_OFFSET + 8 * r
            views = [(base, full)]
            if size == 1 and r < 4:
                views.append((base + 1, b.lshr(full, c32(8))))
            for off, v in views:
                same = b.icmp_unsigned("==", offset, c32(off))
                value = b.select(same, self.trunc(v, size), value)
        return value

    def _hole_reg(self, ref, size):
        if self.pending.rt_writes:
            raise TranslationError("a register read after a hole-register write")
        off = self._offset(ref, size)
        return self._overlay(off, size, self._load_at(off, size))

    def reg(self, r, size=4):
        if isinstance(r, RegRef):
            return self._hole_reg(r, size)
        if self.pending.rt_writes:
            raise TranslationError("a fixed-register read after a hole-register write")
        return super().reg(r, size)

    def set_reg(self, r, size, value):
        if isinstance(r, RegRef):
            value = self.zext(value, size)
            self.pending.rt_writes = self.pending.rt_writes + ((self._offset(r, size), size, value),)
            self.writes += 1
            return
        if self.pending.rt_writes:
            raise TranslationError("a fixed-register write after a hole-register write")
        super().set_reg(r, size, value)

    def _sync(self, snap):
        super()._sync(snap)
        b = self.b
        for off, size, value in snap.rt_writes:
            p = b.gep(self.s, [b.zext(off, I64)], source_etype=I8)
            st = b.store(value, p)
            st.align = 1

    # --- the memory operand ---------------------------------------------------------------------
    def ea(self, insn):
        if self._ea is not None:
            return self._ea
        if self.pending.rt_writes:
            raise TranslationError("an address computed after a hole-register write")
        b = self.b
        if insn.addrsize == 4:
            base_off, index_off = self.hole("base_off"), self.hole("index_off")
            base = self._overlay(base_off, 4, self._load_at(base_off, 4))
            index = self._overlay(index_off, 4, self._load_at(index_off, 4))
            v = b.add(b.add(base, b.mul(index, self.hole("scale"))), self.hole("disp"))
        else:
            base_off, index_off = self.hole("base_off"), self.hole("index_off")
            base = self._overlay(base_off, 2, self._load_at(base_off, 2))
            index = self._overlay(index_off, 2, self._load_at(index_off, 2))
            v = b.and_(b.add(b.add(b.zext(base, I32), b.zext(index, I32)), self.hole("disp")), c32(0xFFFF))
        self._ea = v
        return v

    def seg_base(self, seg):
        if seg is not SEG:
            return super().seg_base(seg)
        v = self.seg_base_cache.get(seg)
        if v is None:
            v = self._load_in_loads(self.hole("seg_base"), I32)
            self.seg_base_cache[seg] = v
        return v

    def seg_selector(self, seg):
        if seg is not SEG:
            return super().seg_selector(seg)
        return self._load_at(self.hole("seg_sel"), 2)

    def _load_in_loads(self, offset, typ):
        """A load in the load block (it dominates the rest of the function)."""
        lb = self.lb
        p = lb.gep(self.s, [lb.zext(offset, I64)], source_etype=I8)
        v = lb.load(p, typ=typ)
        v.align = 1
        return v


def emit_head(module, name, counting=False):
    """The block's entry: leave with EXIT_REQUEST (EIP = the block's) when
    exit_request is set or the budget cannot pay for the block; count the
    entry (tiering: EXIT_HOT at the `hot_threshold` hole); then the first
    instruction."""
    f = _stencil_function(module, name)
    s, e = f.args
    s.name, e.name = "s", "env"
    b = ir.IRBuilder(f.append_basic_block("entry"))
    req = load_field(b, s, "exit_request")
    budget = load_field(b, s, "budget")
    left = b.sub(budget, b.zext(hole_value(module, "n_insns"), I64), name="budget.left")
    stop = b.or_(b.icmp_unsigned("!=", req, c32(0)), b.icmp_signed("<", left, c64(0)))
    bail, go = f.append_basic_block("bail"), f.append_basic_block("go")
    b.cbranch(stop, bail, go)
    b.position_at_end(bail)
    store_field(b, s, b.zext(hole_value(module, "block_eip"), I64), "eip")
    b.ret(c32(EXIT_REQUEST))
    b.position_at_end(go)
    if counting:
        counter = address_hole(module, "counter")
        n = b.add(b.load(counter, typ=I32), c32(1), name="count")
        b.store(n, counter)
        hot, run = f.append_basic_block("hot"), f.append_basic_block("run")
        b.cbranch(b.icmp_unsigned("==", n, hole_value(module, "hot_threshold")), hot, run)
        b.position_at_end(hot)
        store_field(b, s, b.zext(hole_value(module, "block_eip"), I64), "eip")
        b.ret(c32(EXIT_HOT))
        b.position_at_end(run)
    store_field(b, s, left, "budget")
    _tail_call(b, continuation(module, 0), s, e)
    return f


def emit_exit(module, name, linkable):
    """A direct exit of a block (gen.py IRGen._emit_chain): through its chain
    slot when linked, else EIP = the target (hole `eip`), and with `linkable`
    the slot's address in link_slot, so that the dispatcher asks Python to
    link it; then the dispatcher."""
    f = _stencil_function(module, name)
    s, e = f.args
    s.name, e.name = "s", "env"
    b = ir.IRBuilder(f.append_basic_block("entry"))
    slot = address_hole(module, "slot")
    fn = load_function_pointer(b, slot, name="next")
    go, unlinked = f.append_basic_block("chain"), f.append_basic_block("unlinked")
    b.cbranch(b.icmp_unsigned("!=", b.ptrtoint(fn, I64), c64(0)), go, unlinked)
    b.position_at_end(go)
    _tail_call(b, fn, s, e)
    b.position_at_end(unlinked)
    store_field(b, s, b.zext(hole_value(module, "eip"), I64), "eip")
    if linkable:
        store_field(b, s, b.ptrtoint(slot, I64), "link_slot")
    dispatch = module.globals.get("pyemu_dispatch") or ir.Function(module, TB_FN, "pyemu_dispatch")
    _tail_call(b, dispatch, s, e)
    return f


def stencil_name(key):
    return "st." + ".".join(str(v) for v in key)


def emit_stencil(module, key):
    """The stencil of one instruction variant (variant.VariantKey) into module;
    returns its StencilGen (exit_roles: what each direct exit targets).
    TranslationError when the variant cannot be a stencil."""
    name = stencil_name(key)
    g = StencilGen(module, name, key.hflags)
    try:
        emit_instruction(g, VariantInsn(key))
    except TranslationError:
        module.globals.pop(name, None)      # half a function: the module's other stencils stay good
        raise
    if not g.terminated:
        g.finish()
    return g
