"""llvmlite: IR text -> object code -> host code, one MCJIT engine per translation cache.

Compiling and loading are separate steps so that object code can be kept on
disk (objcache.py) and loaded again by a later run:

  compile_object(ir_text, tier) -> bytes    parse, verify, IR passes, codegen
  load_object(obj, symbols)     -> {name: address}   link into this engine

Each tier has its own optimisation levels (TIERS) and its own TargetMachine
for codegen; the MCJIT engine owns yet another one (sharing a TargetMachine
between engines crashed once the first engine was collected).  Symbols other
modules need (helpers, the dispatcher) are published process-wide with
`llvm.add_symbol`; an object refers to them by name only, so it can be loaded
into any process.
"""
import threading
import time

import llvmlite.binding as llvm

from .llvm_lock import LLVM_LOCK

# Linux caps the memory mappings of a process (vm.max_map_count, 65530 by
# default); past the cap LLVM cannot allocate and aborts the whole process
# ("Unable to allocate section memory!").  Block objects carry no unwind
# tables (gen.py marks blocks nounwind), so MCJIT packs their code and data
# into few, merged mappings; an object with an .eh_frame section cost two
# mappings of its own, and deregistering its frames made dropping an engine
# quadratic in its objects.  The engines of a process share a budget of loaded
# objects (memory), and the process's mappings are counted every
# MAPS_CHECK_EVERY loads (the cap): a translator whose engine reaches either
# starts a fresh engine, dropping all its blocks, as QEMU flushes a full code
# buffer (translator.py: make_room).  Dropping an engine unmaps its memory.
MAX_OBJECTS = 131072            # a block costs ~30 KB of process memory all told (a cold tiny boot: 33k, 1 GB)
MAPS_RESERVE = 16384            # mappings kept for everything else (numba, Python, buffers)
MAPS_CHECK_EVERY = 1024
_live_objects = 0
_maps_full = False
_loads_since_check = 0


def _map_limit():
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None                 # no such cap (or no /proc): the object budget alone


def _count_mappings():
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def _check_mappings():
    """Every MAPS_CHECK_EVERY loads: is the process near its mapping cap?"""
    global _maps_full, _loads_since_check
    _loads_since_check += 1
    if _loads_since_check < MAPS_CHECK_EVERY:
        return
    _loads_since_check = 0
    limit, used = _map_limit(), _count_mappings()
    _maps_full = limit is not None and used is not None and used > limit - MAPS_RESERVE


_init_lock = threading.Lock()
_initialized = False

# tier -> (IR pass level, codegen level).  Tier 1 is for code seen for the first
# time: no IR passes (the emitter already keeps registers in SSA values) and
# codegen level 0 (fast instruction selection and register allocation), about
# a third of the codegen time of level 1 or 2; its code runs about 2.4x slower
# on the compute benchmarks.  Tier 2 is O2 for hot blocks
# (benchmarks/translate.py measures each stage at each level).
TIERS = {1: (0, 0), 2: (2, 2)}


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


def run_passes(mod, tm, level):
    if level <= 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)


_run_passes = run_passes        # the older name (emu/debug/show.py)


def _target_machine(codegen_opt):
    return llvm.Target.from_default_triple().create_target_machine(opt=codegen_opt, jit=True)


class JitEngine:
    """An MCJIT engine with the target machines of every tier."""

    def __init__(self, ir_opt=None, codegen_opt=None):
        ensure_llvm()
        # ir_opt / codegen_opt, when given, override both tiers (tests, bisecting)
        self.levels = {t: (lv[0] if ir_opt is None else ir_opt, lv[1] if codegen_opt is None else codegen_opt)
                       for t, lv in TIERS.items()}
        self.target_machine = _target_machine(2)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.target_machine)
        self._codegen = {}
        self.triple = llvm.get_process_triple()
        self.data_layout = str(self.target_machine.target_data)
        self.modules = 0                # objects loaded into this engine
        self.compile_seconds = 0.0
        self.last_module = None
        self.last_tier = 2
        self.closed = False

    @property
    def full(self):
        """True when loading more objects could run the process out of memory or mappings."""
        return _live_objects >= MAX_OBJECTS or _maps_full

    def close(self):
        """Free the engine and every block compiled into it (none may run afterwards)."""
        global _live_objects, _maps_full
        if not self.closed:
            self.closed = True
            _live_objects -= self.modules
            _maps_full = False          # counted again over the next loads
            self.engine = None
            self.last_module = None

    def __del__(self):
        self.close()

    # ir_opt: the IR level of tier 2 (kept for callers that set it, e.g. the snippet runner;
    # tier 1 keeps its own levels)
    @property
    def ir_opt(self):
        return self.levels[2][0]

    @ir_opt.setter
    def ir_opt(self, level):
        self.levels[2] = (level, self.levels[2][1])

    def codegen_machine(self, tier):
        level = self.levels[tier][1]
        tm = self._codegen.get(level)
        if tm is None:
            tm = self._codegen[level] = _target_machine(level)
        return tm

    def parse(self, ir_text):
        mod = llvm.parse_assembly(ir_text)
        mod.triple = self.triple
        mod.data_layout = self.data_layout
        mod.verify()
        return mod

    def compile_object(self, ir_text, tier=2, keep=False):
        """Object code for an IR module at the tier's levels."""
        t0 = time.perf_counter()
        with LLVM_LOCK:
            mod = self.parse(ir_text)
            tm = self.codegen_machine(tier)
            run_passes(mod, tm, self.levels[tier][0])
            obj = tm.emit_object(mod)
        self.last_tier = tier
        if keep:
            self.last_module = mod
        self.compile_seconds += time.perf_counter() - t0
        return obj

    def optimize(self, ir_text, tier=2):
        """The module after the tier's IR passes (for -d op_opt)."""
        with LLVM_LOCK:
            mod = self.parse(ir_text)
            run_passes(mod, self.codegen_machine(tier), self.levels[tier][0])
            return mod

    def load_object(self, obj, symbols):
        """Link object code into this engine; the addresses of `symbols`."""
        global _live_objects
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        _live_objects += 1
        self.modules += 1
        _check_mappings()
        self.engine.finalize_object()
        addrs = {}
        for name in symbols:
            addr = self.engine.get_function_address(name)
            if not addr:
                addr = self.engine.get_global_value_address(name)
            if not addr:
                raise RuntimeError("JIT: symbol %s not found" % name)
            addrs[name] = addr
        return addrs

    def compile(self, ir_text, symbols, ir_opt=None, keep=False, tier=2):
        """compile_object + load_object; returns (addresses, parsed module or None)."""
        if ir_opt is not None:
            saved = self.levels[tier]
            self.levels[tier] = (ir_opt, saved[1])
        try:
            obj = self.compile_object(ir_text, tier, keep)
        finally:
            if ir_opt is not None:
                self.levels[tier] = saved
        return self.load_object(obj, symbols), self.last_module if keep else None

    def optimized_ir(self, mod):
        return str(mod)

    def host_asm(self, ir_text, ir_opt=None, tier=None):
        """Host assembly for an IR module (compiled separately; for -d out_asm), at
        the levels of `tier` (default: the tier of the last block compiled)."""
        tier = self.last_tier if tier is None else tier
        mod = self.parse(ir_text)
        tm = self.codegen_machine(tier)
        run_passes(mod, tm, self.levels[tier][0] if ir_opt is None else ir_opt)
        return tm.emit_assembly(mod)
