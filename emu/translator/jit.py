"""llvmlite: IR text -> host code, one MCJIT engine per translation cache.

Each engine owns its TargetMachine (sharing one between engines crashed once
the first engine was collected).  `compile` returns the addresses of the
requested symbols; symbols other modules need (helpers, the dispatcher) are
published process-wide with `llvm.add_symbol`.
"""
import threading
import time

import llvmlite.binding as llvm

_init_lock = threading.Lock()
_initialized = False


def ensure_llvm():
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialized = True


def add_symbol(name, address):
    ensure_llvm()
    llvm.add_symbol(name, address)


def _run_passes(mod, tm, level):
    if level <= 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)


class JitEngine:
    """An MCJIT engine; `compile` adds one module and returns symbol addresses."""

    def __init__(self, ir_opt=2, codegen_opt=2):
        ensure_llvm()
        self.ir_opt = ir_opt
        target = llvm.Target.from_default_triple()
        self.target_machine = target.create_target_machine(opt=codegen_opt, jit=True)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.target_machine)
        self.triple = llvm.get_process_triple()
        self.data_layout = str(self.target_machine.target_data)
        self.modules = 0
        self.compile_seconds = 0.0
        self.last_module = None

    def compile(self, ir_text, symbols, ir_opt=None, keep=False):
        t0 = time.perf_counter()
        mod = llvm.parse_assembly(ir_text)
        mod.triple = self.triple
        mod.data_layout = self.data_layout
        mod.verify()
        _run_passes(mod, self.target_machine, self.ir_opt if ir_opt is None else ir_opt)
        self.engine.add_module(mod)
        self.engine.finalize_object()
        if keep:
            self.last_module = mod
        addrs = {}
        for name in symbols:
            addr = self.engine.get_function_address(name)
            if not addr:
                addr = self.engine.get_global_value_address(name)
            if not addr:
                raise RuntimeError("JIT: symbol %s not found" % name)
            addrs[name] = addr
        self.modules += 1
        self.compile_seconds += time.perf_counter() - t0
        return addrs, mod

    def optimized_ir(self, mod):
        return str(mod)

    def host_asm(self, ir_text, ir_opt=None):
        """Host assembly for an IR module (compiled separately; for -d out_asm)."""
        mod = llvm.parse_assembly(ir_text)
        mod.triple = self.triple
        mod.data_layout = self.data_layout
        _run_passes(mod, self.target_machine, self.ir_opt if ir_opt is None else ir_opt)
        return self.target_machine.emit_assembly(mod)
