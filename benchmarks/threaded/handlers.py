"""Threaded-interpreter handlers made by the same `op_*` semantics as the stencils.

A handler is one LLVM function per instruction variant (the baseline tier's
variant.VariantKey), `i32 @"ti.<key>"(CpuState* s, i8* p)`, where p points at
the instruction's *record*:

    offset 0   u64  the handler's own address
    offset 8   u32  slot 0, slot 1, ...: the operand values the handler reads

HandlerGen is StencilGen (emu/translator/baseline/stencilgen.py) with three
changes, none of them about what an instruction means:

- `hole(role)` loads the value from the record instead of naming the symbol
  `__hole.<role>`.  Slots are given out in the order the handler first asks
  for a role, so each handler has its own compact layout (`layout`); the loads
  sit in the function's entry block, which dominates every use.
- continuation 0 (`finish`, the next instruction) is `q = p + size; musttail
  (*q)(s, q)`: the next record follows this one.  Continuation 1 + k (direct
  exit k) goes to the k-th exit record after the last instruction record.
  The record size is known only once the handler is emitted (a late hole adds
  a slot), so the offsets are placeholder constants fixed by `close()`.
- an indirect exit (`_tail_dispatch`) tail-calls `ti_dispatch`, this
  prototype's dispatcher (the product's pyemu_dispatch takes an Env, and the
  second argument here is a record).

A block is a run of records (records.py lays them out):

    head | insn 0 | ... | insn m-1 | [fall-through exit] | exit 0 | exit 1

    head  (16 bytes)  handler, u32 n_insns, u32 block_eip: the budget and
                      exit_request check of every block
    exit  (24 bytes)  handler, u64 chain (the target block's head record, 0:
                      unlinked), u32 target EIP, u32 linkable

The last instruction's continuation 0 reaches the fall-through exit when its
handler falls through (a block cut by its length, or before an instruction
left to another tier); continuation 1 + k the exit records after it.

All handlers of a batch of variants go into one LLVM module, compiled at O2
by MCJIT (emu/translator/jit.py JitEngine) once; the compiled object is kept
on disk (keyed by the IR text), so a second run only loads it.
"""
import hashlib
import os
import time

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np

from emu.translator.baseline.native import key_of_code
from emu.translator.baseline.stencilgen import StencilGen
from emu.translator.baseline.table import Table
from emu.translator.baseline.variant import VariantInsn
from emu.translator.block import emit_instruction
from emu.translator.exits import EXIT_MISS, EXIT_REQUEST
from emu.translator.errors import TranslationError
from emu.translator.irstate import (I32, I64, I8, JUMP_ENTRY_IR, PTR, TB_FN, c32, c64, load_field,
                                    load_function_pointer, store_field)
from emu.translator.jit import JitEngine, add_symbol
from emu.translator.operands import ROLE_IDS

HEAD_SIZE = 16
EXIT_SIZE = 24
SLOT0 = 8                   # the first operand slot of an instruction record
MAX_SLOTS = len(ROLE_IDS)

DISPATCH = "ti_dispatch"
HEAD, EXIT, ENTER = "ti.head", "ti.exit", "ti.enter"
JMP_TABLE, JMP_MASK = "ti_jmp_table", "ti_jmp_mask"


def record_size(n_slots):
    return (SLOT0 + 4 * n_slots + 7) & ~7


def handler_name(key):
    return "ti." + ".".join(str(v) for v in key)


def _tail_record(b, s, q):
    """musttail (*q)(s, q): run the record at q."""
    h = load_function_pointer(b, q, name="handler")
    r = b.call(h, [s, q], tail="musttail")
    b.ret(r)


class HandlerGen(StencilGen):
    """`g` for one variant, emitted as a handler over a record (module docstring)."""

    def __init__(self, module, name, hflags):
        self.layout = []            # role of slot k
        self._loaded = {}
        self._conts = []            # (k, placeholder offset constant)
        super().__init__(module, name, hflags)

    def _prologue(self):
        # entry: only the loads of the record's slots; then the stencil's structure
        entry = self.b.block
        start = self.block("start")
        self.b.branch(start)
        self.rb = ir.IRBuilder(entry)
        self.rb.position_before(entry.terminator)
        self.b.position_at_end(start)
        super()._prologue()

    def hole(self, role):
        v = self._loaded.get(role)
        if v is None:
            k = len(self.layout)
            self.layout.append(role)
            p = self.rb.gep(self.e, [c64(SLOT0 + 4 * k)], source_etype=I8)
            v = self.rb.load(p, typ=I32, name=role.replace(".", "_"))
            v.align = 4
            # records never change while they run: LLVM may sink or repeat the
            # load (after a call, instead of keeping it in a saved register)
            v.set_metadata("invariant.load", self.module.add_metadata([]))
            self._loaded[role] = v
        return v

    def _next(self, k):
        b = self.b
        offset = ir.Constant(I64, 0)
        self._conts.append((k, offset))
        _tail_record(b, self.s, b.gep(self.e, [offset], source_etype=I8, name="next"))

    def finish(self):
        self.commit()
        self._sync(self.committed)
        self._next(0)
        self.terminated = True
        self.falls_through = True

    def _emit_chain(self, target):
        from emu.translator.operands import Hole
        if not isinstance(target, Hole):
            raise TranslationError("a handler's direct exit goes to a hole, not %r" % (target,))
        if target.role not in self.exit_roles:
            if len(self.exit_roles) == 2:
                raise TranslationError("more than two direct exits")
            self.exit_roles.append(target.role)
        self._next(1 + self.exit_roles.index(target.role))

    def _tail_dispatch(self):
        if self._single_step_trap():
            return
        f = self.decl(DISPATCH, I32, [PTR, PTR])
        r = self.b.call(f, [self.s, self.e], tail="musttail")
        self.b.ret(r)

    def close(self):
        """Fix the continuations' offsets now that the record's size is known."""
        size = record_size(len(self.layout))
        for k, c in self._conts:
            # llvmlite prints constants when the module is turned into text
            c.constant = size if k == 0 else size + EXIT_SIZE * (int(self.falls_through) + k - 1)
        self.size = size


def emit_handler(module, key):
    g = HandlerGen(module, handler_name(key), key.hflags)
    emit_instruction(g, VariantInsn(key))
    if not g.terminated:
        g.finish()
    g.close()
    return g


# --- the structural handlers: block head, exit, dispatcher, entry ---------------------------------------------
def _function(module, name):
    f = ir.Function(module, TB_FN, name)
    f.attributes.add("nounwind")
    s, p = f.args
    s.name, p.name = "s", "p"
    return f, s, p, ir.IRBuilder(f.append_basic_block("entry"))


def _u32_at(b, p, offset, name=""):
    v = b.load(b.gep(p, [c64(offset)], source_etype=I8), typ=I32, name=name)
    v.align = 4
    return v


def emit_head(module):
    """The block's entry (as stencilgen.emit_head without the tier-up counter)."""
    f, s, p, b = _function(module, HEAD)
    n = _u32_at(b, p, 8, "n_insns")
    req = load_field(b, s, "exit_request")
    left = b.sub(load_field(b, s, "budget"), b.zext(n, I64), name="budget.left")
    stop = b.or_(b.icmp_unsigned("!=", req, c32(0)), b.icmp_signed("<", left, c64(0)))
    bail, go = f.append_basic_block("bail"), f.append_basic_block("go")
    b.cbranch(stop, bail, go)
    b.position_at_end(bail)
    store_field(b, s, b.zext(_u32_at(b, p, 12, "block_eip"), I64), "eip")
    b.ret(c32(EXIT_REQUEST))
    b.position_at_end(go)
    store_field(b, s, left, "budget")
    _tail_record(b, s, b.gep(p, [c64(HEAD_SIZE)], source_etype=I8))


def emit_exit(module):
    """A direct exit: into the linked block's head record, else EIP = target
    and (linkable) link_slot = the chain field, then the dispatcher."""
    f, s, p, b = _function(module, EXIT)
    chain_p = b.gep(p, [c64(8)], source_etype=I8)
    chain = b.load(chain_p, typ=I64, name="chain")
    go, unlinked = f.append_basic_block("chain"), f.append_basic_block("unlinked")
    b.cbranch(b.icmp_unsigned("!=", chain, c64(0)), go, unlinked)
    b.position_at_end(go)
    _tail_record(b, s, b.inttoptr(chain, PTR))
    b.position_at_end(unlinked)
    store_field(b, s, b.zext(_u32_at(b, p, 16, "target"), I64), "eip")
    linkable = b.icmp_unsigned("!=", _u32_at(b, p, 20, "linkable"), c32(0))
    store_field(b, s, b.select(linkable, b.ptrtoint(chain_p, I64), c64(0)), "link_slot")
    d = module.globals.get(DISPATCH) or ir.Function(module, TB_FN, DISPATCH)
    r = b.call(d, [s, p], tail="musttail")
    b.ret(r)


def emit_dispatch(module):
    """Look EIP up in this prototype's jump cache (the product's entry format,
    irstate.JumpEntry, with a head record's address for `fn`); link the exit
    that asked (link_slot); run the block.  EXIT_MISS: Python translates."""
    table = ir.GlobalVariable(module, I64, JMP_TABLE)
    table.initializer = c64(0)
    mask_g = ir.GlobalVariable(module, I32, JMP_MASK)
    mask_g.initializer = c32(0)
    f, s, p, b = _function(module, DISPATCH)
    eip = b.trunc(load_field(b, s, "eip"), I32)
    pc = b.add(eip, b.trunc(load_field(b, s, "seg", 1, "base"), I32), name="pc")
    key = b.or_(load_field(b, s, "hflags"), b.shl(load_field(b, s, "tlb_asid"), c32(20)), name="key")
    h = b.and_(b.xor(pc, b.lshr(pc, c32(12))), b.load(mask_g, typ=I32), name="hash")
    ent = b.gep(b.inttoptr(b.load(table, typ=I64), PTR), [h], source_etype=JUMP_ENTRY_IR)
    zero = c32(0)
    field = lambda k, t: b.load(b.gep(ent, [zero, c32(k)], source_etype=JUMP_ENTRY_IR), typ=t)  # noqa: E731
    epc, ekey, rec = field(0, I32), field(1, I32), field(2, I64)
    hit = b.and_(b.and_(b.icmp_unsigned("==", epc, pc), b.icmp_unsigned("==", ekey, key)),
                 b.icmp_unsigned("!=", rec, c64(0)))
    yes, no, link, go = (f.append_basic_block(n) for n in ("hit", "miss", "link", "go"))
    b.cbranch(hit, yes, no)
    b.position_at_end(yes)
    slot = load_field(b, s, "link_slot")
    b.cbranch(b.icmp_unsigned("!=", slot, c64(0)), link, go)
    b.position_at_end(link)
    b.store(rec, b.inttoptr(slot, PTR))
    store_field(b, s, c64(0), "link_slot")
    b.branch(go)
    b.position_at_end(go)
    _tail_record(b, s, b.inttoptr(rec, PTR))
    b.position_at_end(no)
    b.ret(c32(EXIT_MISS))


def emit_enter(module):
    """Python's way in: run the block whose head record is p."""
    f, s, p, b = _function(module, ENTER)
    _tail_record(b, s, p)


# --- the set of handlers ------------------------------------------------------------------------------------------
def _cache_dir():
    from emu import cache_root
    return cache_root() / "threaded-proto"


def _text_size(obj):
    import io
    from elftools.elf.elffile import ELFFile
    return sum(s["sh_size"] for s in ELFFile(io.BytesIO(obj)).iter_sections()
               if s.name in (".text", ".ltext") or s.name.startswith((".text.", ".ltext.")))


class HandlerSet:
    """Handlers by variant code, compiled in batches into one MCJIT engine.

    For the native record builder (records.py): `ids` (variant code ->
    handler id, -1: not a handler), and per handler id `addr`, `size`,
    `falls`, `exits` (role ids of its direct exits, -1), `n_slots`, `roles`
    (role id of each slot)."""

    def __init__(self, disk_cache=True):
        self.engine = JitEngine(ir_opt=2, codegen_opt=2)
        self.disk_cache = disk_cache
        self.ids = Table()
        self.info = {}              # variant code -> handler id or -1
        n = 64
        self.addr = np.zeros(n, dtype=np.int64)
        self.size = np.zeros(n, dtype=np.int64)
        self.falls = np.zeros(n, dtype=np.uint8)
        self.exits = np.full((n, 2), -1, dtype=np.int64)
        self.n_slots = np.zeros(n, dtype=np.int64)
        self.roles = np.zeros((n, MAX_SLOTS), dtype=np.int64)
        self.count = 0
        self.names = []
        self.build_seconds = 0.0
        self.emit_seconds = 0.0
        self.from_disk = 0
        self.text_bytes = 0         # machine code of the handlers (.text of their objects)
        self.generation = 0
        self._structural()

    def _compile(self, module_text, symbols):
        """Compile (or load from the disk cache) one module; the addresses of symbols."""
        path = None
        if self.disk_cache:
            from emu import _source_hash
            h = hashlib.sha256((_source_hash() + llvm.get_process_triple() + llvm.get_host_cpu_name()
                                + module_text).encode()).hexdigest()[:32]
            path = _cache_dir() / (h + ".o")
            if path.exists():
                self.from_disk += 1
                obj = path.read_bytes()
                self.text_bytes += _text_size(obj)
                return self.engine.load_object(obj, symbols)
        obj = self.engine.compile_object(module_text, 2)
        self.text_bytes += _text_size(obj)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp%d" % os.getpid())
            tmp.write_bytes(obj)
            os.replace(tmp, path)
        return self.engine.load_object(obj, symbols)

    def _structural(self):
        m = ir.Module("ti_structure")
        emit_dispatch(m)
        emit_head(m)
        emit_exit(m)
        emit_enter(m)
        addrs = self._compile(str(m), (DISPATCH, HEAD, EXIT, ENTER, JMP_TABLE, JMP_MASK))
        add_symbol(DISPATCH, addrs[DISPATCH])
        self.head_addr = addrs[HEAD]
        self.exit_addr = addrs[EXIT]
        self.enter_addr = addrs[ENTER]
        self.dispatch_addr = addrs[DISPATCH]
        self.jmp_table_addr = addrs[JMP_TABLE]
        self.jmp_mask_addr = addrs[JMP_MASK]

    def _grow(self, n):
        if n <= self.addr.shape[0]:
            return
        size = max(n, 2 * self.addr.shape[0])

        def grown(a, fill=0):
            b = np.full((size,) + a.shape[1:], fill, dtype=a.dtype)
            b[:a.shape[0]] = a
            return b
        self.addr, self.size, self.falls = grown(self.addr), grown(self.size), grown(self.falls)
        self.exits, self.n_slots, self.roles = grown(self.exits, -1), grown(self.n_slots), grown(self.roles)

    def build(self, codes):
        """Compile the handlers of these variant codes not built yet, as one module."""
        # sorted: the same variants make the same module text (the disk cache's key)
        codes = sorted(set(int(c) for c in codes if int(c) not in self.info))
        if not codes:
            return 0
        t0 = time.perf_counter()
        made = []
        texts = []
        for code in codes:
            key = key_of_code(code)
            m = ir.Module("h")
            try:
                g = emit_handler(m, key)
            except TranslationError:
                self._record(code, -1)
                continue
            made.append((code, g))
            texts.append(str(m))
        t1 = time.perf_counter()
        self.emit_seconds += t1 - t0
        if made:
            # one module: link the handlers' modules together (declarations merge)
            main = llvm.parse_assembly(texts[0])
            for t in texts[1:]:
                main.link_in(llvm.parse_assembly(t))
            names = [g.name for _, g in made]
            addrs = self._compile(str(main), names)
            for code, g in made:
                hid = self.count
                self.count += 1
                self._grow(self.count)
                self.addr[hid] = addrs[g.name]
                self.size[hid] = g.size
                self.falls[hid] = g.falls_through
                for k, role in enumerate(g.exit_roles):
                    self.exits[hid, k] = ROLE_IDS[role]
                self.n_slots[hid] = len(g.layout)
                for k, role in enumerate(g.layout):
                    self.roles[hid, k] = ROLE_IDS[role]
                self.names.append(g.name)
                self._record(code, hid)
            self.generation += 1
        self.build_seconds += time.perf_counter() - t0
        return len(made)

    def _record(self, code, hid):
        self.info[code] = hid
        self.ids[code] = hid

    @property
    def native_generation(self):
        return (self.generation, self.ids.generation, self.addr.shape[0])
