"""Where translation time goes: per-block cost split by stage, on real and random code.

    python benchmarks/translate.py [--quick] [--levels 0/0,2/2] [--source NAME] [--tier baseline|llvm]

Blocks are collected by running real guests (the benchmark workloads, the
tests/guests programs) on the LLVM tier and recording every block the
translator decodes; a further set is random straight-line code built from
the decoder's opcode table (register and memory forms that decode without
error).  Each block is then translated again and timed.

The baseline tier (copy-and-patch, emu/translator/baseline), microseconds
per block, over the blocks in 32-bit protected mode (the stencil library is
built first if it is not yet; each block is made several times, the
translation cache emptied in between):

  decode    the numba decoder alone, from the block's bytes to records
  native    the cold path: one native call that fetches through the MMU,
            decodes, looks up the stencils and copies and patches them
  block     the whole path from the run loop's look-up to a runnable block:
            the native call plus the translation cache's Python bookkeeping

The LLVM tier, per stage (milliseconds per block):

  decode    fetch + numba decoder -> records -> Insn objects
  emit      the op_* semantics building llvmlite.ir (Python)
  text      str(module): the IR as text (llvmlite.binding only parses text)
  parse     llvm.parse_assembly + verify
  passes    the IR pass pipeline at the tier's level
  codegen   TargetMachine.emit_object (instruction selection, register allocation)
  load      add_object_file into MCJIT + symbol lookup
  cached    the on-disk object cache path: read + check the entry, then load

Figures are milliseconds per block (mean) and microseconds per guest
instruction.  Nothing here asserts anything.
"""
import argparse
import gc
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE.parent / "tests" / "guests"))

STAGES = ("decode", "emit", "text", "parse", "passes", "codegen", "load")


class _Recorder:
    """Wraps Translator.decode_records to keep the arguments of every block decoded."""

    def __init__(self, translator):
        self.blocks = []
        self.translator = translator
        original = translator.decode_records

        def decode_records(linear, eip, hflags, user):
            data, n, phys0, first = original(linear, eip, hflags, user)
            cs_base = (linear - eip) & 0xFFFFFFFF
            nbytes = int(translator.records["length"][:n].sum())
            self.blocks.append((bytes(data[:nbytes]), eip, cs_base, hflags))
            return data, n, phys0, first

        translator.decode_records = decode_records


def blocks_from_elf(elf):
    from emu.boot import multiboot
    from emu.cli import parse_args
    from emu.devices.chardev import BufferBackend
    from emu.machine import Machine
    cfg = parse_args(["-kernel", str(elf), "-nographic", "-no-reboot",
                      "-device", "isa-debug-exit,iobase=0xf4,iosize=4"])
    # every block through decode_records (the baseline's cold path decodes natively)
    tier = os.environ.get("PYEMU_TIER")
    os.environ["PYEMU_TIER"] = "1"
    try:
        m = Machine(cfg, serial_backends=[BufferBackend()])
    finally:
        if tier is None:
            del os.environ["PYEMU_TIER"]
        else:
            os.environ["PYEMU_TIER"] = tier
    rec = _Recorder(m.translator)
    multiboot.load(m, elf.read_bytes())
    m.run()
    m.close()
    return rec.blocks


def workload_blocks(tmp, quick):
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    out = {}
    for name in bench_run.WORKLOADS:
        elf = bench_run.build_guest(name, 1, tmp)
        out["bench:" + name] = blocks_from_elf(elf)
    return out


def guest_blocks(tmp, quick):
    import guestlib
    out = {}
    names = sorted(p.stem for p in (HERE.parent / "tests" / "guests" / "src").glob("*.S")
                   if p.stem not in ("guest",))
    if quick:
        names = names[:4]
    blocks = []
    for name in names:
        try:
            elf = guestlib.build(name, tmp)
        except Exception as e:     # noqa: BLE001 - a guest that does not build is reported, not fatal
            print("  (guest %s not built: %s)" % (name, e))
            continue
        blocks += blocks_from_elf(elf)
    out["guests"] = blocks
    return out


def random_blocks(n_blocks, insns_per_block, seed=1):
    """Random straight-line blocks: forms from the opcode table that decode cleanly
    and do not end a block, register or [reg+disp] memory operands."""
    from emu.frontend import tables as T
    from emu.frontend.decoder import decode
    rng = random.Random(seed)
    candidates = []
    for op in range(256):
        for mp in (0, 1):
            if T.MAP[mp][op] == T.INVALID:
                continue
            candidates.append(bytes([op]) if mp == 0 else bytes([0x0F, op]))
    blocks = []
    while len(blocks) < n_blocks:
        code = b""
        tries = 0
        while tries < 400:
            tries += 1
            op = rng.choice(candidates)
            modrm = rng.choice([0xC0 | rng.getrandbits(6), 0x40 | rng.getrandbits(3) << 3 | rng.choice([0, 1, 2, 3, 6, 7])])
            cand = op + bytes([modrm]) + bytes(rng.getrandbits(8) for _ in range(6))
            recs = decode(cand, 0x1000, True)
            if len(recs) == 0 or recs[0]["error"] != 0 or recs[0]["form"] < 0:
                continue
            form = T.FORMS[int(recs[0]["form"])]
            if form.has(T.A_END) or form.has(T.A_PRIV) or form.has(T.A_X87) or form.mnemonic in (
                    "hlt", "int", "int3", "into", "ud2", "in", "out", "ins", "outs", "bound", "lock",
                    "enter", "leave", "iret", "popf", "cli", "sti", "les", "lds", "lss", "lfs", "lgs",
                    "div", "idiv", "aam", "cpuid", "rdtsc", "rdmsr", "wrmsr", "mov_seg", "pop_seg"):
                continue
            if form.has(T.A_REP) or "s" == form.mnemonic[-1:] and form.mnemonic in (
                    "movs", "cmps", "scas", "lods", "stos"):
                continue
            code += cand[:int(recs[0]["length"])]
            if len(decode(code, 0x1000, True)) >= insns_per_block:
                break
        blocks.append((code, 0x1000, 0, 0))
    return blocks


def _hflags_flat32():
    from emu.cpu import hflags as H
    return H.HF_CS32 | H.HF_SS32 | H.HF_PE


def measure(blocks, ir_opt, codegen_opt, cache_dir, gc_tuning=True):
    """Time every stage for every block; returns {stage: [seconds]}, insn count."""
    import llvmlite.binding as llvm
    from emu.frontend import tables as T
    from emu.frontend.decoder import decode
    from emu.translator import jit
    from emu.translator.block import Insn, emit_block
    from emu.translator.errors import TranslationError
    from emu.translator.objcache import ObjectCache
    from emu.translator.runtime import runtime
    runtime()
    if gc_tuning:
        from emu.translator.translator import _freeze_startup_objects
        _freeze_startup_objects()
    engine = jit.JitEngine(ir_opt=ir_opt, codegen_opt=codegen_opt)
    cache = ObjectCache(cache_dir, enabled=True)
    times = {s: [] for s in STAGES + ("cached",)}
    n_insns = 0
    for k, (code, eip, cs_base, hflags) in enumerate(blocks):
        hflags = hflags or _hflags_flat32()
        t = [time.perf_counter()]
        recs = decode(code, eip, True)
        insns = []
        off = 0
        for i, r in enumerate(recs):
            if r["error"] == T.ERR_TRUNCATED:
                break
            ln = int(r["length"])
            insns.append(Insn(r, i, code[off:off + ln]))
            off += ln
        t.append(time.perf_counter())
        name = "m%d" % k
        if gc_tuning:           # as the translator does it (translator.py, _compile)
            gc.disable()
        try:
            module, g = emit_block(insns, name, eip, cs_base, hflags)
        except TranslationError:
            gc.enable()
            continue
        t.append(time.perf_counter())
        text = str(module)
        t.append(time.perf_counter())
        gc.enable()
        mod = llvm.parse_assembly(text)
        mod.triple = engine.triple
        mod.data_layout = engine.data_layout
        mod.verify()
        t.append(time.perf_counter())
        tm = engine.codegen_machine(2)
        jit.run_passes(mod, tm, ir_opt)
        t.append(time.perf_counter())
        obj = tm.emit_object(mod)
        t.append(time.perf_counter())
        engine.load_object(obj, (name,))
        t.append(time.perf_counter())
        for i, s in enumerate(STAGES):
            times[s].append(t[i + 1] - t[i])
        key = cache.key(code, eip, cs_base, hflags, "bench%d/%d" % (ir_opt, codegen_opt))
        cache.put(key, obj, {"name": name})
        t0 = time.perf_counter()
        got = cache.get(key)
        if got is not None:
            _spare_engine(ir_opt, codegen_opt).load_object(got[0], (name,))
        times["cached"].append(time.perf_counter() - t0)
        n_insns += len(insns)
    return times, n_insns


def measure_baseline(blocks, rounds=5):
    """The baseline tier's microseconds per block by stage (see the module
    docstring), over the blocks in 32-bit protected mode: {stage: [us]}, insns."""
    import numpy as np
    from emu.cpu import hflags as H
    from emu.frontend.decoder import decode_block, new_records
    from emu.snippet import Snippet
    flat = H.HF_PE | H.HF_CS32 | H.HF_SS32
    blocks = [b for b in blocks if (b[3] or flat) & flat == flat]
    s = Snippet(bits=32)
    m = s.machine
    tr = m.translator
    if tr.cp is None:
        raise SystemExit("the baseline tier is off here (PYEMU_TIER or PYEMU_BASELINE set?)")
    cold = tr.cp.baseline.cold
    native_ns = [0]
    run = cold.run

    def timed_run(*a):
        t0 = time.perf_counter_ns()
        try:
            return run(*a)
        finally:
            native_ns[0] += time.perf_counter_ns() - t0
    cold.run = timed_run
    recs = new_records(64)
    m.enter_flat32(0x100000)
    times = {"decode": [], "native": [], "block": []}
    n_insns = 0
    base = 0x100000
    try:
        for r in range(rounds + 1):             # round 0 builds missing stencils and warms up
            addr = base
            for code, eip, cs_base, hflags in blocks:
                buf = np.frombuffer(code + bytes(16), dtype=np.uint8)
                t0 = time.perf_counter_ns()
                n = decode_block(buf, 0, len(buf), len(code), addr, True, recs, 64)
                t1 = time.perf_counter_ns()
                m.phys.write(addr, code + b"\xf4")
                # the machine was set up once: here only EIP moves, as when a
                # guest reaches new code (enter_flat32 would flush the TLB and
                # the jump cache, a megabyte of memory, before every block)
                m.cpu.eip = addr
                m.cpu.hflags = (hflags or flat) & ~H.HF_PG
                native_ns[0] = 0
                t2 = time.perf_counter_ns()
                tr.lookup()
                t3 = time.perf_counter_ns()
                if r:
                    times["decode"].append((t1 - t0) / 1000)
                    times["native"].append(native_ns[0] / 1000)
                    times["block"].append((t3 - t2) / 1000)
                    n_insns += n
                addr = (addr + len(code) + 16 + 15) & ~15
                if addr > 0x300000:
                    addr = base
            tr.flush_all()
    finally:
        s.close()
    return times, n_insns


def report_baseline(title, times, n_insns):
    n = len(times["block"])
    if not n:
        print("%-26s no 32-bit protected-mode blocks" % title)
        return
    cells = "  ".join("%s %.1f (median %.1f)" % (k, statistics.mean(v), statistics.median(v))
                      for k, v in times.items())
    print("%-26s %5d blocks %6d insns (%.1f/block)   us/block: %s" % (title, n, n_insns, n_insns / n, cells))


_spares = {}


def _spare_engine(ir_opt, codegen_opt):
    """A second engine for the cached path (a symbol may be loaded once per engine)."""
    from emu.translator import jit
    e = _spares.get((ir_opt, codegen_opt))
    if e is None or e.modules > 2000:
        e = _spares[(ir_opt, codegen_opt)] = jit.JitEngine(ir_opt=ir_opt, codegen_opt=codegen_opt)
    return e


def report(title, times, n_blocks, n_insns):
    tot = sum(sum(v) for s, v in times.items() if s != "cached")
    print("%-26s %5d blocks %6d insns (%.1f/block)   total %.2f ms/block  %.0f us/insn" % (
        title, n_blocks, n_insns, n_insns / max(n_blocks, 1), 1000 * tot / max(n_blocks, 1),
        1e6 * tot / max(n_insns, 1)))
    cells = []
    for s in STAGES + ("cached",):
        v = times[s]
        if v:
            cells.append("%s %.3f" % (s, 1000 * statistics.mean(v)))
    print("    ms/block: " + "  ".join(cells))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer blocks")
    ap.add_argument("--levels", default="0/0,2/2",
                    help="IR/codegen optimisation levels to measure, e.g. 0/0,1/1,2/2")
    ap.add_argument("--source", action="append", choices=("bench", "guests", "random"),
                    help="which code to measure (default: all)")
    ap.add_argument("--no-gc-tuning", action="store_true",
                    help="leave the cyclic GC on while the IR is built (the translator turns it off)")
    ap.add_argument("--tier", action="append", choices=("baseline", "llvm"),
                    help="which tier to measure (default: both)")
    args = ap.parse_args()
    tiers = args.tier or ["baseline", "llvm"]
    sources = args.source or ["bench", "guests", "random"]
    levels = [tuple(int(x) for x in lv.split("/")) for lv in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        sets = {}
        if "bench" in sources:
            sets.update(workload_blocks(tmp, args.quick))
        if "guests" in sources:
            sets.update(guest_blocks(tmp, args.quick))
        if "random" in sources:
            n = 40 if args.quick else 150
            sets["random 5-insn"] = random_blocks(n, 5)
            sets["random 20-insn"] = random_blocks(n // 2, 20, seed=2)
        if "baseline" in tiers:
            print("== baseline tier (copy-and-patch), microseconds per block")
            for title, blocks in sets.items():
                times, n_insns = measure_baseline(blocks, rounds=2 if args.quick else 5)
                report_baseline(title, times, n_insns)
        for ir_opt, cg_opt in (levels if "llvm" in tiers else []):
            print("== LLVM tier, IR O%d / codegen O%d" % (ir_opt, cg_opt))
            for title, blocks in sets.items():
                times, n_insns = measure(blocks, ir_opt, cg_opt, tmp / ("cache%d%d" % (ir_opt, cg_opt)),
                                         gc_tuning=not args.no_gc_tuning)
                report(title, times, len(times["emit"]), n_insns)


if __name__ == "__main__":
    main()
