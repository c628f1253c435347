"""The per-process native runtime: dispatcher, memory slow paths, compute_eflags.

Built once per process as one LLVM module and published with add_symbol, so
every block module can call these by name:

  i32 pyemu_dispatch(CpuState*, Env*)
      the run loop: look EIP up in the jump cache and tail-call the block, or
      return EXIT_MISS to Python.  Blocks tail-call it for indirect jumps and
      unlinked exits; Python calls it to start running.  An unlinked exit that
      asks to be linked (link_slot) and whose target the jump cache has is
      linked here, and the link written to Env's link log, which Python reads
      (TranslationCache.drain_links) before it unlinks anything; EXIT_LINK
      when the log is full.
  i64 pyemu_load(CpuState*, i32 linear, i32 size, i32 mmu | access << 4)
  void pyemu_store(CpuState*, i32 linear, i32 size, i64 value, i32 mmu)
      TLB-miss paths: the numba slow path (softmmu/tlb.py), then Python for
      MMIO or for a write to a page holding translated code.
  i32 pyemu_compute_eflags(i32 cc_op, i32 dst, i32 src, i32 src2)
      the six arithmetic flags of any lazy-flags state (lazyflags.py).
"""
import ctypes
import threading

import llvmlite.ir as ir

from ..cpu.mem_status import MEM_CODE, MEM_MMIO, MEM_OK
from ..softmmu import tlb as softmmu
from . import callbacks, lazyflags as LF
from .exits import EXIT_LINK, EXIT_MISS
from .irstate import (ENV_IR, I32, I64, JUMP_ENTRY_IR, PTR, TB_FN, EnvDesc, c32, function_pointer,
                      load_field, store_field)
from .jit import JitEngine, add_symbol

_lock = threading.Lock()
_runtime = None

RUNTIME_FUNCTIONS = ("pyemu_dispatch", "pyemu_load", "pyemu_store", "pyemu_compute_eflags")


def _declare(m, name, ret, args):
    return ir.Function(m, ir.FunctionType(ret, args), name)


def _build_dispatch(m):
    f = ir.Function(m, TB_FN, "pyemu_dispatch")
    s, e = f.args
    s.name, e.name = "s", "env"
    b = ir.IRBuilder(f.append_basic_block("entry"))
    eip = b.trunc(load_field(b, s, "eip"), I32)
    base = b.trunc(load_field(b, s, "seg", 1, "base"), I32)
    pc = b.add(eip, base, name="pc")
    # the jump cache key: hflags | asid << 20 (tbcache.jump_key)
    hf = b.or_(load_field(b, s, "hflags"), b.shl(load_field(b, s, "tlb_asid"), c32(20)), name="key")
    table = b.inttoptr(load_field(b, e, "jmp_cache", desc=EnvDesc, irtype=ENV_IR), PTR, name="jmp_cache")
    mask = load_field(b, e, "jmp_mask", desc=EnvDesc, irtype=ENV_IR)
    h = b.and_(b.xor(pc, b.lshr(pc, c32(12))), mask, name="hash")
    zero = ir.Constant(I32, 0)
    # this address space's block, or a global page's (tag GLOBAL_ASID: tbcache.py)
    glob = b.or_(load_field(b, s, "hflags"), c32(0xFFF << 20), name="key.global")

    def probe(index, name):
        ent = b.gep(table, [index], source_etype=JUMP_ENTRY_IR, name=name)
        epc = b.load(b.gep(ent, [zero, ir.Constant(I32, 0)], source_etype=JUMP_ENTRY_IR), typ=I32)
        ehf = b.load(b.gep(ent, [zero, ir.Constant(I32, 1)], source_etype=JUMP_ENTRY_IR), typ=I32)
        efn = b.load(b.gep(ent, [zero, ir.Constant(I32, 2)], source_etype=JUMP_ENTRY_IR), typ=I64)
        same = b.or_(b.icmp_unsigned("==", ehf, hf), b.icmp_unsigned("==", ehf, glob))
        return b.and_(b.and_(b.icmp_unsigned("==", epc, pc), same),
                      b.icmp_unsigned("!=", efn, ir.Constant(I64, 0))), efn

    hit = f.append_basic_block("hit")
    second = f.append_basic_block("second_way")
    miss = f.append_basic_block("miss")
    go = f.append_basic_block("go")
    link = f.append_basic_block("link")
    entry_block = b.block
    match1, efn1 = probe(h, "entry")
    b.cbranch(match1, hit, second)
    b.position_at_end(second)
    match2, efn2 = probe(b.xor(h, c32(1)), "entry2")
    b.cbranch(match2, hit, miss)
    b.position_at_end(hit)
    efn = b.phi(I64, name="efn")
    efn.add_incoming(efn1, entry_block)
    efn.add_incoming(efn2, second)
    # bit 0 of an entry point (code is 16-byte aligned) marks a block that runs
    # into a second page: no exit is ever linked to it (tbcache.NO_LINK)
    slot = load_field(b, s, "link_slot")
    nolink = b.icmp_unsigned("!=", b.and_(efn, ir.Constant(I64, 1)), ir.Constant(I64, 0))
    b.cbranch(b.and_(b.icmp_unsigned("!=", slot, ir.Constant(I64, 0)), b.not_(nolink)), link, go)
    b.position_at_end(go)
    fn = function_pointer(b, b.and_(efn, ir.Constant(I64, ~1 & 0xFFFFFFFFFFFFFFFF)), name="fn")
    store_field(b, s, ir.Constant(I64, 0), "link_slot")
    r = b.call(fn, [s, e], tail="musttail")
    b.ret(r)
    # link the exit: slot = the block, and (slot, block) into the link log
    b.position_at_end(link)
    env_field = lambda name: load_field(b, e, name, desc=EnvDesc, irtype=ENV_IR)   # noqa: E731
    count = env_field("link_count")
    full = f.append_basic_block("log_full")
    room = f.append_basic_block("log_room")
    b.cbranch(b.icmp_unsigned(">=", count, env_field("link_cap")), full, room)
    b.position_at_end(full)
    b.ret(c32(EXIT_LINK))
    b.position_at_end(room)
    b.store(efn, b.inttoptr(slot, PTR))
    log = b.inttoptr(env_field("link_log"), PTR)
    at = b.zext(b.shl(count, c32(1)), I64)
    b.store(slot, b.gep(log, [at], source_etype=I64))
    b.store(efn, b.gep(log, [b.add(at, ir.Constant(I64, 1))], source_etype=I64))
    store_field(b, e, b.add(count, c32(1)), "link_count", desc=EnvDesc, irtype=ENV_IR)
    b.branch(go)
    b.position_at_end(miss)
    b.ret(c32(EXIT_MISS))


def _build_load(m, slow_read, mmio_read):
    f = _declare(m, "pyemu_load", I64, [PTR, I32, I32, I32])
    s, lin, size, mmu = f.args
    b = ir.IRBuilder(f.append_basic_block("entry"))
    v = b.call(slow_read, [s, lin, size, mmu])
    st = load_field(b, s, "mem_status")
    mmio = f.append_basic_block("mmio")
    done = f.append_basic_block("done")
    entry = b.block
    b.cbranch(b.icmp_unsigned("==", st, c32(MEM_MMIO)), mmio, done)
    b.position_at_end(mmio)
    store_field(b, s, c32(MEM_OK), "mem_status")
    v2 = b.call(mmio_read, [s, load_field(b, s, "exc_addr"), size])
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(I64)
    phi.add_incoming(v, entry)
    phi.add_incoming(v2, mmio)
    b.ret(phi)


def _build_store(m, slow_write, mmio_write, code_write):
    f = _declare(m, "pyemu_store", ir.VoidType(), [PTR, I32, I32, I64, I32])
    s, lin, size, value, mmu = f.args
    entry = f.append_basic_block("entry")
    retry = f.append_basic_block("retry")
    mmio = f.append_basic_block("mmio")
    code = f.append_basic_block("code")
    done = f.append_basic_block("done")
    b = ir.IRBuilder(entry)
    b.branch(retry)
    b.position_at_end(retry)
    b.call(slow_write, [s, lin, size, value, mmu])
    st = load_field(b, s, "mem_status")
    sw = b.switch(st, done)
    sw.add_case(c32(MEM_MMIO), mmio)
    sw.add_case(c32(MEM_CODE), code)
    b.position_at_end(mmio)
    store_field(b, s, c32(MEM_OK), "mem_status")
    b.call(mmio_write, [s, load_field(b, s, "exc_addr"), size, value])
    b.branch(done)
    b.position_at_end(code)
    # Python drops the page's translations and clears its code flag; the
    # write then succeeds on the retry.
    store_field(b, s, c32(MEM_OK), "mem_status")
    b.call(code_write, [s, load_field(b, s, "exc_addr"), size])
    b.branch(retry)
    b.position_at_end(done)
    b.ret_void()


def _build_compute_eflags(m):
    f = _declare(m, "pyemu_compute_eflags", I32, [I32, I32, I32, I32])
    op, dst, src, src2 = f.args
    op.name, dst.name, src.name, src2.name = "cc_op", "dst", "src", "src2"
    b = ir.IRBuilder(f.append_basic_block("entry"))
    default = f.append_basic_block("unknown")
    sw = b.switch(op, default)
    for kind in range(LF.N_KINDS):
        for size in LF.SIZES:
            blk = f.append_basic_block("%s_%d" % (LF.KIND_NAMES[kind], size))
            sw.add_case(c32(LF.cc_op(kind, size)), blk)
            b.position_at_end(blk)
            b.ret(LF.all_flags(b, LF.Operands(kind, size, dst, src, src2)))
    b.position_at_end(default)
    b.ret(c32(0))


def build_runtime_ir():
    m = ir.Module("pyemu_runtime")
    slow_read = _declare(m, "softmmu_read", I64, [PTR, I32, I32, I32])
    slow_write = _declare(m, "softmmu_write", ir.VoidType(), [PTR, I32, I32, I64, I32])
    mmio_read = _declare(m, "pyemu_py_mmio_read", I64, [PTR, I64, I32])
    mmio_write = _declare(m, "pyemu_py_mmio_write", ir.VoidType(), [PTR, I64, I32, I64])
    code_write = _declare(m, "pyemu_py_code_write", ir.VoidType(), [PTR, I64, I32])
    _build_dispatch(m)
    _build_load(m, slow_read, mmio_read)
    _build_store(m, slow_write, mmio_write, code_write)
    _build_compute_eflags(m)
    for f in m.functions:
        if not f.is_declaration:
            f.attributes.add("nounwind")        # as blocks are (gen.py, jit.py)
    return m


class Runtime:
    def __init__(self):
        # the x87 soft-float entry points; deferred: importing them compiles (or loads)
        # their numba @cfunc, which only a machine's runtime needs
        from ..fpu import native as fpu_native
        # every symbol generated code may name: {name: address} (the copy-and-patch
        # tier binds its stencils to these too)
        self.symbols = {"softmmu_read": softmmu.softmmu_read.address,
                        "softmmu_write": softmmu.softmmu_write.address}
        self.symbols.update(callbacks.symbol_addresses())
        self.symbols.update(fpu_native.symbol_addresses())
        for name, addr in self.symbols.items():
            add_symbol(name, addr)
        self.engine = JitEngine(ir_opt=2, codegen_opt=2)
        self.module_ir = build_runtime_ir()
        # compiled at every start (0.1 s): the first LLVM code generation of the
        # process then happens here, on the main thread, before any compile
        # thread exists (a start that loaded the runtime from a cache instead
        # ended twice in CI in an LLVM assertion in the O2 thread)
        self.addresses, _ = self.engine.compile(str(self.module_ir), RUNTIME_FUNCTIONS)
        for name, addr in self.addresses.items():
            add_symbol(name, addr)
        self.symbols.update(self.addresses)


def runtime():
    """The process-wide runtime (built on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime()
        return _runtime




_COMPUTE = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)


def compute_eflags(cpu):
    """The arithmetic flags of a CpuState's lazy-flags fields (native pyemu_compute_eflags)."""
    fn = _COMPUTE(runtime().addresses["pyemu_compute_eflags"])
    return fn(cpu.cc_op, cpu.cc_dst & 0xFFFFFFFF, cpu.cc_src & 0xFFFFFFFF, cpu.cc_src2 & 0xFFFFFFFF)
