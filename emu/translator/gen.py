"""IRGen (`g`): the IR-generation helper every `op_*` semantic writes through.

Within a block, guest registers, the lazy-flags state and EFLAGS live in SSA
values held here (a Python-side register cache); they go to CpuState only at
exits and before calls that need them.  Writes an instruction makes are
*staged* and become visible to the block's state only when the instruction
completes (`commit`), so an exit in the middle of an instruction (a fault)
stores the values from before it: exceptions are precise by construction.
An instruction must therefore do all its memory accesses, which can fault,
before it relies on anything else; memory stores are never undone (as on
hardware, where a multi-store instruction can fault half-way).

Values are read lazily: the first read of a register emits its load in the
current "load block", which dominates the rest of the function (the entry, or
the point after a helper call that may have changed the state).

Memory accesses emit the TLB fast path inline (emu/softmmu/tlb.py explains the
tags) and call the runtime's pyemu_load / pyemu_store on a miss.
"""
import contextlib

import llvmlite.ir as ir

from ..cpu import hflags as H
from ..cpu.state import ESP, SS, TLB_SIZE, EXC_HAS_ERROR, EXC_SOFTWARE
from ..cpu.vectors import Vector
from ..frontend import tables as T
from . import lazyflags as LF
from .exits import (EXIT_EXCEPTION, EXIT_HLT, EXIT_HOT, EXIT_REQUEST, EXIT_STOP, HELPER_FAULT, HELPER_JUMP,
                    HELPER_STOP)
from .errors import TranslationError
from .irstate import (I8, I16, I32, I64, INT_TYPES, PTR, TB_FN, c32, c64, const, field_ptr,
                      load_field, load_function_pointer, opaque_global, store_field)
from . import callbacks
# generated code calls the Python helpers by number: all of them are registered, in
# their fixed order, before any code is made (code is cached on disk by that numbering)
from . import helpers  # noqa: F401
from .operands import BlockRel, Hole

PAGE_MASK = 0xFFFFF000
N_SLOTS = 2     # direct (chainable) exits per block: taken / not taken
DR6_BS = 1 << 14   # DR6: the #DB came from single-stepping (EFLAGS.TF)


class _Snapshot:
    """Register cache contents: values are ir.Values or absent (still in memory)."""
    __slots__ = ("regs", "dirty", "cc", "cc_dirty", "eflags", "eflags_dirty", "rt_writes")

    def __init__(self):
        self.regs = {}
        self.dirty = set()
        self.rt_writes = ()     # stencils: (byte-offset role, size, value) in program order
        self.cc = None          # (static op or None, op value, dst, src, src2)
        self.cc_dirty = False
        self.eflags = None
        self.eflags_dirty = False

    def copy(self):
        c = _Snapshot()
        c.regs = dict(self.regs)
        c.dirty = set(self.dirty)
        c.cc = self.cc
        c.cc_dirty = self.cc_dirty
        c.eflags = self.eflags
        c.eflags_dirty = self.eflags_dirty
        c.rt_writes = self.rt_writes
        return c


class IRGen:
    def __init__(self, module, name, tb_eip, cs_base, hflags, n_insns, hot_threshold=None):
        self.module = module
        self.hot_threshold = hot_threshold      # count executions; EXIT_HOT at this one
        self.func = ir.Function(module, TB_FN, name)
        # nothing unwinds through a block (callbacks store Python exceptions and
        # return), and without unwind tables objects map and unload cheaply (jit.py)
        self.func.attributes.add("nounwind")
        self.name = name
        self.s, self.e = self.func.args
        self.s.name, self.e.name = "s", "env"
        self.tb_eip = tb_eip
        self.cs_base = cs_base
        self.hflags = hflags
        self.n_insns = n_insns
        self.cpl = hflags & H.HF_CPL_MASK
        self.mmu = 1 if self.cpl == 3 else 0
        self.code32 = bool(hflags & H.HF_CS32)
        self.stack32 = bool(hflags & H.HF_SS32)
        self.pe = bool(hflags & H.HF_PE)
        self.vm = bool(hflags & H.HF_VM)
        self.slots = self._chain_slots()
        self.slot_targets = []          # target eip of each slot
        self._decls = {}
        self.committed = _Snapshot()
        self.pending = self.committed
        self.seg_base_cache = {}
        self.asid = None
        self.insn = None
        self.terminated = False
        self.step_trap_suppressed = False   # MOV SS / POP SS: no #DB trap after this block
        self.writes = 0                 # staged writes so far (g.when checks it)
        entry = self.func.append_basic_block("entry")
        self.b = ir.IRBuilder(entry)
        self._prologue()

    # ------------------------------------------------------------------
    # function structure
    def _chain_slots(self):
        """The block's chain slots: a global of its own module (one pointer per direct exit)."""
        slots = opaque_global(self.module, ir.ArrayType(PTR, N_SLOTS), self.name + "_slots")
        slots.initializer = ir.Constant(ir.ArrayType(PTR, N_SLOTS), [ir.Constant(PTR, None)] * N_SLOTS)
        return slots

    def _prologue(self):
        b = self.b
        req = load_field(b, self.s, "exit_request")
        budget = load_field(b, self.s, "budget")
        left = b.sub(budget, c64(self.n_insns), name="budget.left")
        stop = b.or_(b.icmp_unsigned("!=", req, c32(0)), b.icmp_signed("<", left, c64(0)))
        bail = self.func.append_basic_block("bail")
        loads = self.func.append_basic_block("loads")
        body = self.func.append_basic_block("body")
        b.cbranch(stop, bail, loads)
        b.position_at_end(bail)
        store_field(b, self.s, self._u64(self.tb_eip), "eip")
        b.ret(c32(EXIT_REQUEST))
        b.position_at_end(loads)
        if self.hot_threshold:
            self._count_executions()
        store_field(self.b, self.s, left, "budget")
        self._new_load_point(body)

    def _count_executions(self):
        """Tier 1: count entries in a global of the block's own module; the
        entry that reaches the threshold leaves (before anything ran) so that
        Python can replace the block by its tier-2 translation."""
        b = self.b
        counter = opaque_global(self.module, I32, self.name + "_count")
        counter.initializer = c32(0)
        n = b.add(b.load(counter, typ=I32), c32(1), name="count")
        b.store(n, counter)
        hot, run = self.block("hot"), self.block("run")
        b.cbranch(b.icmp_unsigned("==", n, c32(self.hot_threshold)), hot, run)
        b.position_at_end(hot)
        store_field(b, self.s, self._u64(self.tb_eip), "eip")
        b.ret(c32(EXIT_HOT))
        b.position_at_end(run)

    def emit_trace(self):
        """Call helper_trace at block entry (-d exec, -d cpu): the state in
        memory is complete at a block entry, so the helper can print it."""
        f = self.decl("pyemu_py_helper", I32, [PTR, I32, I64, I64, I64])
        self.b.call(f, [self.s, c32(callbacks.helper_id("helper_trace")), c64(self.tb_eip),
                        c64(self.cs_base), c64(self.n_insns)])

    def _new_load_point(self, cont):
        """End the current block with a jump to an (empty) load block, then `cont`."""
        b = self.b
        term = b.branch(cont)
        self.lb = ir.IRBuilder(b.block)
        self.lb.position_before(term)
        b.position_at_end(cont)

    def block(self, name):
        return self.func.append_basic_block(name)

    def decl(self, name, ret, args):
        f = self._decls.get(name)
        if f is None:
            f = self.module.globals.get(name)
            if f is None:
                f = ir.Function(self.module, ir.FunctionType(ret, args), name)
            self._decls[name] = f
        return f

    # ------------------------------------------------------------------
    # instructions
    def begin(self, insn):
        self.insn = insn
        self.pending = self.committed.copy()
        self._fault_block = None
        self._stored = False
        self._ea = None

    def commit(self):
        """The current instruction is complete: its staged writes become the state."""
        self.committed = self.pending
        if self._stored and not self.terminated:
            self._smc_check()

    def _smc_check(self):
        # A slow-path store rewrote translated code: this block may be stale,
        # so leave it before the next instruction runs (softmmu/tlb.py).
        b = self.b
        smc = load_field(b, self.s, "smc_exit")
        out = self.block("smc_exit")
        cont = self.block("cont")
        b.cbranch(b.icmp_unsigned("!=", smc, c32(0)), out, cont)
        b.position_at_end(out)
        store_field(b, self.s, c32(0), "smc_exit")
        self._sync(self.committed)
        self._refund(done=True)
        store_field(b, self.s, self._u64(self.insn.next_eip), "eip")
        self._tail_dispatch()
        b.position_at_end(cont)

    @property
    def staged_writes(self):
        p, c = self.pending, self.committed
        return (p.regs != c.regs or p.cc is not c.cc or p.eflags is not c.eflags
                or p.rt_writes != c.rt_writes)

    # ------------------------------------------------------------------
    # types and constants
    @staticmethod
    def ty(size):
        return INT_TYPES[size]

    def const(self, v, size=4):
        """v as an i<8*size>: a Python int becomes a constant; an operand left
        open (operands.Hole) or an IR value is truncated or zero-extended."""
        if isinstance(v, int):
            return const(v, size)
        return self.value(v, size)

    def value(self, v, size=4):
        """The IR value of an operand, whatever it is (int, Hole, IR value)."""
        if isinstance(v, int):
            return const(v, size)
        if isinstance(v, Hole):
            v = self.hole(v.role)
        elif isinstance(v, BlockRel):
            delta = v.delta
            v = self.hole("block_eip")
            if delta:
                v = self.b.add(v, c32(delta))
        t = INT_TYPES[size]
        if v.type == t:
            return v
        return self.b.zext(v, t) if v.type.width < t.width else self.b.trunc(v, t)

    @staticmethod
    def known(v):
        """The Python int of an operand when it has one (else None)."""
        return v if isinstance(v, int) else None

    def hole(self, role):
        """A stencil's hole (StencilGen); a whole-block translation has none."""
        raise TranslationError("operand %s left open in a block translation" % role)

    def low(self, v, size):
        """The low `size` bytes of an operand: an int when it has one (v & mask),
        else its IR value at that size."""
        if isinstance(v, int):
            return v & ((1 << (8 * size)) - 1)
        return self.value(v, size)

    def reg_number(self, r):
        """A general register's number as an i32 (for a helper that takes one)."""
        if isinstance(r, int):
            return c32(r)
        return self.value(Hole(r.field + "_num"), 4)

    def _u64(self, v):
        return c64(v) if isinstance(v, int) else self.value(v, 8)

    @staticmethod
    def bool(v):
        return ir.Constant(ir.IntType(1), int(bool(v)))

    def zext(self, v, size=4):
        t = INT_TYPES[size]
        if v.type == t:
            return v
        return self.b.zext(v, t) if v.type.width < t.width else self.b.trunc(v, t)

    def sext(self, v, size=4):
        t = INT_TYPES[size]
        if v.type == t:
            return v
        return self.b.sext(v, t) if v.type.width < t.width else self.b.trunc(v, t)

    def trunc(self, v, size):
        t = INT_TYPES[size]
        return v if v.type == t else self.b.trunc(v, t)

    def bool_to(self, v, size=4):
        return self.b.zext(v, INT_TYPES[size])

    # ------------------------------------------------------------------
    # lazy loads of state fields
    def _lazy(self, *path):
        return load_field(self.lb, self.s, *path)

    # ------------------------------------------------------------------
    # general registers
    def _reg32(self, r):
        p = self.pending
        v = p.regs.get(r)
        if v is None:
            v = self.lb.trunc(self._lazy("regs", r), I32, name="r%d" % r)
            # a value loaded once serves both snapshots
            p.regs[r] = v
            if r not in self.committed.regs:
                self.committed.regs[r] = v
        return v

    def reg(self, r, size=4):
        """General register r (SDM numbering; for size 1, 4..7 are AH..BH)."""
        b = self.b
        if size == 4:
            return self._reg32(r)
        if size == 2:
            return b.trunc(self._reg32(r), I16)
        if r < 4:
            return b.trunc(self._reg32(r), I8)
        return b.trunc(b.lshr(self._reg32(r - 4), c32(8)), I8)

    def set_reg(self, r, size, value):
        b = self.b
        value = self.zext(value, size)
        if size == 4:
            new, slot = value, r
        elif size == 2:
            slot = r
            new = b.or_(b.and_(self._reg32(r), c32(0xFFFF0000)), b.zext(value, I32))
        elif r < 4:
            slot = r
            new = b.or_(b.and_(self._reg32(r), c32(0xFFFFFF00)), b.zext(value, I32))
        else:
            slot = r - 4
            new = b.or_(b.and_(self._reg32(slot), c32(0xFFFF00FF)), b.shl(b.zext(value, I32), c32(8)))
        self.pending.regs[slot] = new
        self.pending.dirty.add(slot)
        self.writes += 1

    # ------------------------------------------------------------------
    # segments
    def seg_base(self, seg):
        v = self.seg_base_cache.get(seg)
        if v is None:
            v = self.lb.trunc(self._lazy("seg", seg, "base"), I32, name="base%d" % seg)
            self.seg_base_cache[seg] = v
        return v

    def seg_selector(self, seg):
        return self.b.trunc(load_field(self.b, self.s, "seg", seg, "selector"), I16)

    def segment_loaded(self, seg):
        """Segment register seg was just loaded: later accesses of the block
        read its new base (a load here dominates them; the load block does not
        see the new value)."""
        self.seg_base_cache[seg] = self.b.trunc(load_field(self.b, self.s, "seg", seg, "base"), I32,
                                                name="base%d" % seg)

    def linear(self, seg, offset):
        return self.b.add(self.seg_base(seg), self.zext(offset, 4))

    # ------------------------------------------------------------------
    # effective addresses
    def ea(self, insn):
        """The offset of the instruction's ModRM/moffs memory operand (cached per instruction)."""
        if self._ea is not None:
            return self._ea
        b = self.b
        if insn.addrsize == 4:
            v = self.value(insn.disp, 4)
            if insn.base >= 0:
                v = b.add(self._reg32(insn.base), v)
            if insn.index_reg >= 0:
                idx = self._reg32(insn.index_reg)
                if insn.scale:
                    idx = b.shl(idx, c32(insn.scale))
                v = b.add(v, idx)
        else:
            v = self.value(self.low(insn.disp, 2), 4)
            if insn.base >= 0:
                v = b.add(b.zext(self.reg(insn.base, 2), I32), v)
            if insn.index_reg >= 0:
                v = b.add(v, b.zext(self.reg(insn.index_reg, 2), I32))
            v = b.and_(v, c32(0xFFFF))
        self._ea = v
        return v

    def addr_mask(self, v, addrsize):
        return v if addrsize == 4 else self.b.and_(v, c32(0xFFFF))

    # ------------------------------------------------------------------
    # memory
    def _tlb_entry(self, lin, field, mmu):
        b = self.b
        idx = b.and_(b.lshr(lin, c32(12)), c32(TLB_SIZE - 1))
        return field_ptr(b, self.s, "tlb", mmu, idx, field)

    def _asid(self):
        if self.asid is None:
            self.asid = self._lazy("tlb_asid")
        return self.asid

    def _fault_exit_block(self):
        """A block leaving through the fault exit of the current instruction
        (the exception is already recorded in the state)."""
        if self._fault_block is None:
            saved = self.b.block
            blk = self.block("fault")
            self.b.position_at_end(blk)
            self._emit_fault_exit()
            self.b.position_at_end(saved)
            self._fault_block = blk
        return self._fault_block

    def _tlb_hit(self, lin, size, tag_field, mmu):
        b = self.b
        tag = b.load(self._tlb_entry(lin, tag_field, mmu), typ=I32)
        last = lin if size == 1 else b.add(lin, c32(size - 1))
        want = b.or_(b.and_(last, c32(PAGE_MASK)), self._asid())
        return b.icmp_unsigned("==", tag, want)

    def load_linear(self, lin, size, code=False, supervisor=False):
        """Read `size` bytes at linear address lin, with the privilege of the
        block's CPL, or as the CPU's own implicit supervisor access (descriptor
        table reads, SDM Vol. 3A 4.6.1) when `supervisor`."""
        b = self.b
        t = INT_TYPES[size]
        mmu = 0 if supervisor else self.mmu
        hit = self._tlb_hit(lin, size, "tag_read", mmu)
        fast, slow, join = self.block("ld.fast"), self.block("ld.slow"), self.block("ld.done")
        b.cbranch(hit, fast, slow)
        b.position_at_end(fast)
        addend = b.load(self._tlb_entry(lin, "addend", mmu), typ=I64)
        host = b.inttoptr(b.add(b.zext(lin, I64), addend), PTR)
        v1 = b.load(host, typ=t)
        v1.align = 1
        b.branch(join)
        b.position_at_end(slow)
        f = self.decl("pyemu_load", I64, [PTR, I32, I32, I32])
        access = 2 if code else 0
        raw = b.call(f, [self.s, lin, c32(size), c32(mmu | access << 4)])
        v2 = b.trunc(raw, t)
        st = load_field(b, self.s, "mem_status")
        slow_end = b.block
        b.cbranch(b.icmp_unsigned("!=", st, c32(0)), self._fault_exit_block(), join)
        b.position_at_end(join)
        phi = b.phi(t)
        phi.add_incoming(v1, fast)
        phi.add_incoming(v2, slow_end)
        return phi

    def store_linear(self, lin, size, value):
        b = self.b
        value = self.zext(value, size)
        hit = self._tlb_hit(lin, size, "tag_write", self.mmu)
        fast, slow, join = self.block("st.fast"), self.block("st.slow"), self.block("st.done")
        b.cbranch(hit, fast, slow)
        b.position_at_end(fast)
        addend = b.load(self._tlb_entry(lin, "addend", self.mmu), typ=I64)
        host = b.inttoptr(b.add(b.zext(lin, I64), addend), PTR)
        st = b.store(value, host)
        st.align = 1
        b.branch(join)
        b.position_at_end(slow)
        f = self.decl("pyemu_store", ir.VoidType(), [PTR, I32, I32, I64, I32])
        b.call(f, [self.s, lin, c32(size), b.zext(value, I64) if size < 8 else value, c32(self.mmu)])
        status = load_field(b, self.s, "mem_status")
        b.cbranch(b.icmp_unsigned("!=", status, c32(0)), self._fault_exit_block(), join)
        b.position_at_end(join)
        self._stored = True

    def load(self, seg, offset, size):
        return self.load_linear(self.linear(seg, offset), size)

    def store(self, seg, offset, size, value):
        self.store_linear(self.linear(seg, offset), size, value)

    # ------------------------------------------------------------------
    # operands (the decoder's operand kinds, tables.K_*)
    def operand_size(self, insn, n):
        size = T.FORM_SIZE[insn.form.index, n]
        if size > 0:
            return int(size)
        if size in (T.SZ_V, T.SZ_Z):
            return insn.opsize
        if size == T.SZ_RV_MW:           # "Rv/Mw": a register at operand size, memory 16 bits
            return insn.opsize if insn.mod == 3 else 2
        raise TranslationError("operand %d of %s has no simple size" % (n, insn.form))

    def _imm_value(self, insn, n):
        kinds = T.FORM_KIND[insn.form.index]
        first = list(kinds[:n]).count(T.K_I) == 0
        if first and isinstance(insn.imm, Hole) and insn.imm.role == "imm":
            return Hole("imm_s"), insn.immsize     # a stencil's hole holds it sign-extended already
        return (insn.imm, insn.immsize) if first else (insn.imm2, 1)

    def _moffs(self, insn):
        """The offset of a moffs operand (MOV AL, [moffs] and the like)."""
        if isinstance(insn.disp, int):
            return c32(insn.disp & (0xFFFFFFFF if insn.addrsize == 4 else 0xFFFF))
        return self.addr_mask(self.value(insn.disp, 4), insn.addrsize)

    def read(self, insn, n, size=None):
        """Operand n's value, at `size` (immediates are sign-extended to it)."""
        kind = T.FORM_KIND[insn.form.index, n]
        osize = self.operand_size(insn, n) if kind not in (T.K_SEG, T.K_S) else 2
        size = size or osize
        if kind == T.K_E:
            if insn.mod == 3:
                return self.reg(insn.rm, size)
            return self.load(insn.seg, self.ea(insn), size)
        if kind == T.K_M:
            return self.load(insn.seg, self.ea(insn), size)
        if kind == T.K_G:
            return self.reg(insn.reg, size)
        if kind == T.K_R:
            return self.reg(insn.rm, size)
        if kind == T.K_Z:
            return self.reg(insn.opreg, size)
        if kind == T.K_REG:
            return self.reg(int(T.FORM_EXTRA[insn.form.index, n]), size)
        if kind == T.K_I:
            v, isize = self._imm_value(insn, n)
            if not isinstance(v, int):
                return self.value(v, size)
            bits = 8 * isize
            if v & (1 << (bits - 1)) and size > isize:
                v -= 1 << bits
            return const(v, size)
        if kind == T.K_ONE:
            return const(1, size)
        if kind == T.K_O:
            return self.load(insn.seg, self._moffs(insn), size)
        if kind == T.K_SEG:
            return self.zext(self.seg_selector(int(T.FORM_EXTRA[insn.form.index, n])), size)
        if kind == T.K_S:
            return self.zext(self.seg_selector(insn.reg), size)
        raise TranslationError("cannot read operand kind %d of %s" % (kind, insn.form))

    def write(self, insn, n, value):
        kind = T.FORM_KIND[insn.form.index, n]
        size = value.type.width // 8
        if kind == T.K_E:
            if insn.mod == 3:
                return self.set_reg(insn.rm, size, value)
            return self.store(insn.seg, self.ea(insn), size, value)
        if kind == T.K_M:
            return self.store(insn.seg, self.ea(insn), size, value)
        if kind == T.K_G:
            return self.set_reg(insn.reg, size, value)
        if kind == T.K_R:
            return self.set_reg(insn.rm, size, value)
        if kind == T.K_Z:
            return self.set_reg(insn.opreg, size, value)
        if kind == T.K_REG:
            return self.set_reg(int(T.FORM_EXTRA[insn.form.index, n]), size, value)
        if kind == T.K_O:
            return self.store(insn.seg, self._moffs(insn), size, value)
        raise TranslationError("cannot write operand kind %d of %s" % (kind, insn.form))

    def is_memory(self, insn, n):
        kind = T.FORM_KIND[insn.form.index, n]
        return kind in (T.K_M, T.K_O) or (kind == T.K_E and insn.mod != 3)

    # ------------------------------------------------------------------
    # stack
    def sp_size(self):
        return 4 if self.stack32 else 2

    def push(self, value, size=None):
        """Push value (its own width); stores first, ESP staged after."""
        size = size or value.type.width // 8
        b = self.b
        sps = self.sp_size()
        sp = self.reg(ESP, sps)
        new = b.sub(sp, const(size, sps))
        self.store(SS, self.zext(new, 4), size, self.zext(value, size))
        self.set_reg(ESP, sps, new)

    def pop(self, size, commit_sp=True):
        """Pop a size-byte value.  With commit_sp=False the new SP is returned, not written."""
        b = self.b
        sps = self.sp_size()
        sp = self.reg(ESP, sps)
        v = self.load(SS, self.zext(sp, 4), size)
        new = b.add(sp, const(size, sps))
        if commit_sp:
            self.set_reg(ESP, sps, new)
        return v, new

    def stack_read(self, offset_from_sp, size):
        """Read [SP + offset] without popping."""
        b = self.b
        sps = self.sp_size()
        sp = self.reg(ESP, sps)
        addr = b.add(sp, const(offset_from_sp, sps))
        return self.load(SS, self.zext(addr, 4), size)

    # ------------------------------------------------------------------
    # flags
    def set_flags(self, kind, size, dst, src=None, src2=None):
        """Record a flag-setting result (lazyflags.py says what each kind keeps)."""
        z = lambda v: None if v is None else self.zext(v, 4)   # noqa: E731
        op = LF.cc_op(kind, size)
        self.pending.cc = (op, c32(op), z(dst), z(src) if src is not None else c32(0),
                           z(src2) if src2 is not None else c32(0))
        self.pending.cc_dirty = True
        self.writes += 1

    def set_flags_if(self, cond, kind, size, dst, src=None, src2=None):
        """set_flags, but only where cond (i1) holds; otherwise the flags stay.
        The flags state becomes a run-time selection (its cc_op is no longer
        known at translation time)."""
        b = self.b
        _, old_op, old_dst, old_src, old_src2 = self._cc_operands()
        op = LF.cc_op(kind, size)
        z = lambda v: c32(0) if v is None else self.zext(v, 4)   # noqa: E731
        self.pending.cc = (None, b.select(cond, c32(op), old_op), b.select(cond, z(dst), old_dst),
                           b.select(cond, z(src), old_src), b.select(cond, z(src2), old_src2))
        self.pending.cc_dirty = True
        self.writes += 1

    def set_arith_flags(self, bits):
        """Set CF PF AF ZF SF OF from EFLAGS-format bits (others ignored)."""
        bits = self.b.and_(self.zext(bits, 4), c32(H.ARITH_FLAGS))
        self.pending.cc = (LF.CC_EFLAGS, c32(LF.CC_EFLAGS), c32(0), bits, c32(0))
        self.pending.cc_dirty = True
        self.writes += 1

    def _cc_operands(self):
        """The lazy-flags operands: (static kind, size) or a run-time op value."""
        cc = self.pending.cc
        if cc is None:
            cc = (None, self._lazy("cc_op"),
                  self.lb.trunc(self._lazy("cc_dst"), I32),
                  self.lb.trunc(self._lazy("cc_src"), I32),
                  self.lb.trunc(self._lazy("cc_src2"), I32))
            self.pending.cc = cc
            if self.committed.cc is None:
                self.committed.cc = cc
        return cc

    def _static_operands(self):
        op, _, dst, src, src2 = self._cc_operands()
        if op is None:
            return None
        kind, size = LF.split_cc_op(op)
        return LF.Operands(kind, size, dst, src, src2)

    def _dynamic_flags(self):
        _, opv, dst, src, src2 = self._cc_operands()
        f = self.decl("pyemu_compute_eflags", I32, [I32, I32, I32, I32])
        bits = self.b.call(f, [opv, dst, src, src2], name="eflags.arith")
        return LF.Operands(LF.K_EFLAGS, 4, c32(0), bits, c32(0))

    def _flag_operands(self):
        return self._static_operands() or self._dynamic_flags()

    def flag(self, name):
        """One arithmetic flag ('CF', 'ZF', ...) as i1."""
        return LF.FORMULA_OF[name](self.b, self._flag_operands())

    def cond(self, cc):
        """Condition code cc (0..15) as i1."""
        return LF.condition(self.b, self._flag_operands(), cc)

    def arith_flags(self):
        """CF PF AF ZF SF OF as EFLAGS bits (i32)."""
        return LF.all_flags(self.b, self._flag_operands())

    def eflags_rest(self):
        """Every EFLAGS bit except the arithmetic ones (i32)."""
        p = self.pending
        if p.eflags is None:
            p.eflags = self._lazy("eflags")
            if self.committed.eflags is None:
                self.committed.eflags = p.eflags
        return p.eflags

    def set_eflags_rest(self, value):
        v = self.b.and_(self.zext(value, 4), c32(~H.ARITH_FLAGS & 0xFFFFFFFF))
        self.pending.eflags = self.b.or_(v, c32(H.FIXED_ONE))
        self.pending.eflags_dirty = True
        self.writes += 1

    def eflags(self):
        """The whole EFLAGS register (i32)."""
        return self.b.or_(self.eflags_rest(), self.arith_flags())

    def set_eflags(self, value, mask):
        """EFLAGS = (EFLAGS & ~mask) | (value & mask)."""
        b = self.b
        value = self.zext(value, 4)
        if mask & H.ARITH_FLAGS:
            old = self.arith_flags() if (mask & H.ARITH_FLAGS) != H.ARITH_FLAGS else c32(0)
            bits = b.or_(b.and_(old, c32(~mask)), b.and_(value, c32(mask & H.ARITH_FLAGS)))
            self.set_arith_flags(bits)
        rest_mask = mask & ~H.ARITH_FLAGS
        if rest_mask:
            old = self.eflags_rest()
            self.set_eflags_rest(b.or_(b.and_(old, c32(~rest_mask)), b.and_(value, c32(rest_mask))))

    def eflags_bit(self, bit):
        return self.b.icmp_unsigned("!=", self.b.and_(self.eflags_rest(), c32(bit)), c32(0))

    # ------------------------------------------------------------------
    # control flow inside an instruction
    @contextlib.contextmanager
    def when(self, cond):
        """Emit the body only when cond holds.  The body may access memory,
        call helpers or leave the block, but must not stage register writes."""
        b = self.b
        then, cont = self.block("then"), self.block("endif")
        b.cbranch(cond, then, cont)
        b.position_at_end(then)
        before = self.writes
        yield
        if self.writes != before:
            raise TranslationError("register write inside g.when()")
        if not b.block.is_terminated:
            b.branch(cont)
        b.position_at_end(cont)

    def select(self, cond, a, b_):
        return self.b.select(cond, a, b_)

    # ------------------------------------------------------------------
    # exits
    def _sync(self, snap):
        b = self.b
        for r in sorted(snap.dirty):
            store_field(b, self.s, b.zext(snap.regs[r], I64), "regs", r)
        if snap.cc_dirty:
            op, opv, dst, src, src2 = snap.cc
            store_field(b, self.s, opv, "cc_op")
            store_field(b, self.s, b.zext(dst, I64), "cc_dst")
            store_field(b, self.s, b.zext(src, I64), "cc_src")
            store_field(b, self.s, b.zext(src2, I64), "cc_src2")
        if snap.eflags_dirty:
            store_field(b, self.s, snap.eflags, "eflags")

    def _refund(self, done):
        """Give back the budget of the block's instructions that did not run:
        those after this one (done), or this one too (a fault)."""
        unexecuted = self._unexecuted(done)
        if unexecuted:
            b = self.b
            budget = load_field(b, self.s, "budget")
            store_field(b, self.s, b.add(budget, self._u64(unexecuted)), "budget")

    def _unexecuted(self, done):
        return max(0, self.n_insns - (self.insn.index + (1 if done else 0)))

    def _tail_dispatch(self):
        """Continue at the EIP in the state (the instructions are complete)."""
        if self._single_step_trap():
            return
        f = self.decl("pyemu_dispatch", I32, [PTR, PTR])
        r = self.b.call(f, [self.s, self.e], tail="musttail")
        self.b.ret(r)

    def _single_step_trap(self):
        """EFLAGS.TF was set when this block (of one instruction) began: a #DB
        trap follows the instruction, with DR6.BS set and EIP at the next one
        (SDM Vol. 3A 17.3.1.4).  After MOV SS / POP SS it waits one more
        instruction (SDM Vol. 3A 6.8.3).  True when the exit was emitted."""
        if not self.hflags & H.HF_TF or self.step_trap_suppressed:
            return False
        b = self.b
        dr6 = load_field(b, self.s, "dr", 6)
        store_field(b, self.s, b.or_(dr6, c64(DR6_BS)), "dr", 6)
        store_field(b, self.s, c32(Vector.DB), "exc_vector")
        store_field(b, self.s, c32(0), "exc_error")
        store_field(b, self.s, c32(0), "exc_flags")
        b.ret(c32(EXIT_EXCEPTION))
        return True

    def inhibit_interrupts(self):
        """No interrupt before the next instruction has run (the STI and MOV SS
        shadows, SDM Vol. 2B STI and Vol. 3A 6.8.3)."""
        store_field(self.b, self.s, c32(1), "irq_inhibit")
        store_field(self.b, self.s, self.value(self.insn.next_eip, 4), "inhibit_eip")

    def _emit_fault_exit(self):
        self._sync(self.committed)
        self._refund(done=False)
        store_field(self.b, self.s, self._u64(self.insn.eip), "eip")
        self.b.ret(c32(EXIT_EXCEPTION))

    @staticmethod
    def _target(target):
        """A branch target: an EIP (int, kept to 32 bits) or an operand left open."""
        return target & 0xFFFFFFFF if isinstance(target, int) else target

    def _slot(self, target):
        if target in self.slot_targets:
            return self.slot_targets.index(target)
        if len(self.slot_targets) >= N_SLOTS:
            raise TranslationError("more than %d direct exits" % N_SLOTS)
        self.slot_targets.append(target)
        return len(self.slot_targets) - 1

    def _linkable(self, target):
        """Direct chaining is safe when no page mapping can separate the blocks:
        True, False, or (EIPs known at run time only) an i1."""
        if not self.hflags & H.HF_PG:
            return True
        if isinstance(target, int) and isinstance(self.tb_eip, int):
            return ((target + self.cs_base) & PAGE_MASK) == ((self.tb_eip + self.cs_base) & PAGE_MASK)
        b = self.b
        cs = c32(self.cs_base)
        here = b.add(self.value(self.tb_eip, 4), cs)
        there = b.add(self.value(target, 4), cs)
        return b.icmp_unsigned("==", b.and_(b.xor(here, there), c32(PAGE_MASK)), c32(0))

    def _emit_chain(self, target):
        """Leave to EIP = target (a constant): straight into the linked block, or
        through the dispatcher, asking Python to link this slot."""
        b = self.b
        k = self._slot(target)
        slot_ptr = b.gep(self.slots, [c32(0), c32(k)], source_etype=self.slots.value_type)
        fn = load_function_pointer(b, slot_ptr, name="next")
        go, unlinked = self.block("chain"), self.block("unlinked")
        b.cbranch(b.icmp_unsigned("!=", b.ptrtoint(fn, I64), c64(0)), go, unlinked)
        b.position_at_end(go)
        r = b.call(fn, [self.s, self.e], tail="musttail")
        b.ret(r)
        b.position_at_end(unlinked)
        store_field(b, self.s, self._u64(target), "eip")
        if self._single_step_trap():
            return
        linkable = self._linkable(target)
        if linkable is True:
            store_field(b, self.s, b.ptrtoint(slot_ptr, I64), "link_slot")
        elif linkable is not False:
            store_field(b, self.s, b.select(linkable, b.ptrtoint(slot_ptr, I64), c64(0)), "link_slot")
        self._tail_dispatch()

    def _finish_exit(self):
        self.commit_for_exit()
        self._refund(done=True)

    def commit_for_exit(self):
        self._sync(self.pending)

    def jump(self, target):
        """End the block, continuing at EIP = target (a Python int: chainable)."""
        self._finish_exit()
        self._emit_chain(self._target(target))
        self.terminated = True

    def jump_indirect(self, eip):
        """End the block, continuing at a computed EIP (i32)."""
        self._finish_exit()
        store_field(self.b, self.s, self.zext(eip, 4), "eip")
        self._tail_dispatch()
        self.terminated = True

    def branch(self, cond, taken, not_taken):
        """End the block with a two-way branch between constant targets."""
        b = self.b
        yes, no = self.block("taken"), self.block("not_taken")
        b.cbranch(cond, yes, no)
        self._finish_exit_here(yes, taken)
        self._finish_exit_here(no, not_taken)
        self.terminated = True

    def _finish_exit_here(self, blk, target):
        self.b.position_at_end(blk)
        self._sync(self.pending)
        self._refund(done=True)
        self._emit_chain(self._target(target))

    def exit_if(self, cond, target):
        """Leave the block for EIP = target when cond holds (the instruction is complete)."""
        b = self.b
        out, cont = self.block("exit"), self.block("cont")
        b.cbranch(cond, out, cont)
        self._finish_exit_here(out, target)
        b.position_at_end(cont)

    def jump_indirect_from_state(self):
        """End the block at the EIP a helper stored (the mode may have changed)."""
        self._finish_exit()
        self._tail_dispatch()
        self.terminated = True

    def after_eflags_change(self):
        """After EFLAGS.IF or TF may have changed: keep hflags.TF in step, and
        leave native code at the next block if IF now admits a waiting interrupt."""
        b = self.b
        hf = load_field(b, self.s, "hflags")
        tf = b.select(self.eflags_bit(H.TF), c32(H.HF_TF), c32(0))
        store_field(b, self.s, b.or_(b.and_(hf, c32(~H.HF_TF)), tf), "hflags")
        pending = load_field(b, self.s, "irq_pending")
        wake = b.and_(b.icmp_unsigned("!=", pending, c32(0)), self.eflags_bit(H.IF))
        req = load_field(b, self.s, "exit_request")
        store_field(b, self.s, b.select(wake, b.or_(req, c32(1)), req), "exit_request")

    def after_sti(self):
        """STI: IF is set, but interrupts wait one more instruction (SDM Vol. 2B STI)."""
        self.inhibit_interrupts()
        self.after_eflags_change()

    def exit_code(self, code, eip):
        """End the block returning `code` to Python with EIP = eip (constant)."""
        self._finish_exit()
        store_field(self.b, self.s, self._u64(eip), "eip")
        self.b.ret(c32(code))
        self.terminated = True

    def halt(self):
        self.exit_code(EXIT_HLT, self.insn.next_eip)

    def raise_exception(self, vector, error=None):
        """Raise exception `vector` at this instruction (a fault: nothing it did stays)."""
        b = self.b
        store_field(b, self.s, c32(vector), "exc_vector")
        store_field(b, self.s, c32(0 if error is None else error), "exc_error")
        store_field(b, self.s, c32(0 if error is None else EXC_HAS_ERROR), "exc_flags")
        self._emit_fault_exit()

    def fault_if(self, cond, vector, error=None):
        b = self.b
        out, cont = self.block("fault.%d" % vector), self.block("cont")
        b.cbranch(cond, out, cont)
        b.position_at_end(out)
        self.raise_exception(vector, error)
        b.position_at_end(cont)

    def raise_now(self, vector, error=None):
        """The whole instruction raises: end the block with the exception."""
        self.raise_exception(vector, error)
        self.terminated = True

    def software_interrupt(self, vector, flags=EXC_SOFTWARE):
        """INT n / INT3 / INTO: deliver `vector` with EIP after the instruction
        (flags: the EXC_* bits, EXC_SOFTWARE at least)."""
        b = self.b
        self._finish_exit()
        store_field(b, self.s, self.value(vector, 4), "exc_vector")
        store_field(b, self.s, c32(0), "exc_error")
        store_field(b, self.s, c32(flags), "exc_flags")
        # the INT's own address: a fault while delivering it is reported there
        store_field(b, self.s, self._u64(self.insn.eip), "exc_addr")
        store_field(b, self.s, self._u64(self.insn.next_eip), "eip")
        b.ret(c32(EXIT_EXCEPTION))
        self.terminated = True

    # ------------------------------------------------------------------
    # calls out
    def call_native(self, name, ret, args):
        """Call a native helper that reads nothing of the cached state."""
        f = self.decl(name, ret, [a.type for a in args])
        return self.b.call(f, args)

    def call_python(self, name, *args, ends_block=False):
        """Call the Python helper `name` (callbacks.python_helper) with up to
        three integer arguments.  The state is in memory during the call; the
        helper returns a HELPER_* status.  With ends_block the block ends
        after the helper, at the EIP the helper leaves (or the next one)."""
        self._store_for_python()
        self.pending.dirty.clear()
        self.pending.cc_dirty = False
        self.pending.eflags_dirty = False
        self._call_helper(name, args)
        # the helper may have changed anything: forget the cache
        self.committed = _Snapshot()
        self.pending = _Snapshot()
        self.seg_base_cache = {}
        self.asid = None
        cont = self.block("h.cont")
        self._new_load_point(cont)
        if ends_block:
            self.jump(self.insn.next_eip)

    def call_python_here(self, name, *args):
        """The rare case of an instruction whose common case is native code
        (semantics/segload.py): call the helper from the current LLVM block,
        storing what it reads there only, so the native path stores nothing.
        The register cache is kept as it was (values still dirty are stored
        again at the next exit), so this serves only helpers that change no
        general register, flag or EFLAGS bit.  The builder goes on where the
        helper returned HELPER_OK."""
        self._store_for_python()
        self._call_helper(name, args)

    def _store_for_python(self):
        """Put what a Python helper reads into memory: the registers, flags and
        EFLAGS the block has changed so far, and the EIP of this instruction."""
        if self.staged_writes:
            raise TranslationError("call_python after a register write in %s" % self.insn.form)
        self._sync(self.pending)
        store_field(self.b, self.s, self._u64(self.insn.eip), "eip")

    def _call_helper(self, name, args):
        """The call and its status: a fault, a stop or a jump leaves the block."""
        b = self.b
        vals = [self.zext(a, 4) if a.type.width <= 32 else a for a in args]
        vals = [b.zext(v, I64) if v.type.width < 64 else v for v in vals]
        while len(vals) < 3:
            vals.append(c64(0))
        f = self.decl("pyemu_py_helper", I32, [PTR, I32, I64, I64, I64])
        status = b.call(f, [self.s, c32(callbacks.helper_id(name))] + vals, name="status")
        fault, stop, jump, ok = (self.block("h.fault"), self.block("h.stop"), self.block("h.jump"),
                                 self.block("h.ok"))
        sw = b.switch(status, ok)
        sw.add_case(c32(HELPER_FAULT), fault)
        sw.add_case(c32(HELPER_STOP), stop)
        sw.add_case(c32(HELPER_JUMP), jump)
        b.position_at_end(fault)
        self._emit_fault_exit()
        b.position_at_end(stop)
        self._refund(done=True)
        b.ret(c32(EXIT_STOP))
        b.position_at_end(jump)
        self._refund(done=True)
        self._tail_dispatch()
        b.position_at_end(ok)

    def io_read(self, port, size):
        f = self.decl("pyemu_py_io_read", I32, [PTR, I32, I32])
        v = self.b.call(f, [self.s, self.zext(port, 4), c32(size)])
        return self.trunc(v, size)

    def io_write(self, port, size, value):
        f = self.decl("pyemu_py_io_write", ir.VoidType(), [PTR, I32, I32, I32])
        self.b.call(f, [self.s, self.zext(port, 4), c32(size), self.zext(value, 4)])


