"""Copy-and-patch or a pre-decoded threaded interpreter: the two baseline designs on the same blocks.

    python benchmarks/threaded/compare.py [--quick] [--runs N] [--per-block]

1. Translation, per block, done natively as each design's cold path does it
   (records.py: the threaded one; emu/translator/baseline/coldpath.py:
   copy-and-patch).  Blocks are those benchmarks/translate.py collects (the
   workloads and tests/guests programs run on pyemu, every block decoded
   recorded; random straight-line blocks).  Each block's bytes are put in
   guest RAM at the same page offset, and each cold path is called `reps`
   times in a numba loop (no Python between calls); a block's figure is the
   fastest of three such rounds.  "decode" is the part both designs share
   (page walk, fetch, decoder); "threaded" adds variant look-up, the cache
   key, hole values and records; "cnp" adds variant look-up, the cache key,
   hole values, copying and patching stencils.  Bytes: the records a block
   takes (threaded) and the code it takes in the arena (cnp, 24 more bytes of
   data per block not counted).
2. Execution, per workload (benchmarks/workloads at run.py's scales, and
   straight.S here: 48-instruction straight-line blocks looped): the
   same program from the same state through one run loop (driver.py) on the
   threaded handlers, the copy-and-patch blocks (PYEMU_TIER=0) and LLVM O2
   blocks (PYEMU_TIER=2).  The first run translates; the next `--runs` runs
   (rounds taking the designs in turn) restore the state and reuse the
   linked translations: ns per guest instruction, median (min-max).  The
   three must retire the same number of instructions and print the same
   result (checked).

Nothing here asserts anything about time.
"""
import argparse
import ctypes
import importlib.util
import os
import pathlib
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np                                     # noqa: E402
from numba import njit                                 # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


translate_bench = _load("bench_translate", ROOT / "benchmarks" / "translate.py")
bench_run = _load("bench_run", ROOT / "benchmarks" / "run.py")

SCRATCH = 0x400000          # guest physical address where blocks are put for timing (two pages)


def _timer(fn):
    """A numba loop calling the native cold path `fn` reps times, the arena's
    or record buffer's cursor put back before each call."""
    @njit(nogil=True)
    def loop(ctx_addr, cursor, c0, c1, reps):
        bad = 0
        for _ in range(reps):
            cursor[0] = c0
            cursor[1] = c1
            if fn(ctx_addr) != 0:
                bad += 1
        return bad
    return loop


def _time_block(loop, ctx_addr, cursor, c0, c1, reps, rounds=3):
    best = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        bad = loop(ctx_addr, cursor, c0, c1, reps)
        dt = (time.perf_counter() - t0) / reps
        if bad:
            raise RuntimeError("a timed cold path failed")
        best = dt if best is None else min(best, dt)
    return best


def _variant_codes(blocks):
    from emu.frontend import tables as T
    from emu.frontend.decoder import decode
    from emu.translator.baseline.native import variant_code
    codes = []
    for code, eip, cs_base, hflags in blocks:
        hflags = hflags or translate_bench._hflags_flat32()
        for r in decode(code, eip, _cs32(hflags)):
            if r["error"] == T.ERR_TRUNCATED:
                break
            codes.append(int(variant_code(r, hflags)))
    return codes


def _cs32(hflags):
    from emu.cpu import hflags as H
    return bool(hflags & H.HF_CS32)


class TranslateBench:
    def __init__(self, handlers):
        from emu.cli import parse_args
        from emu.machine import Machine
        from emu.translator import cnp
        from emu.translator.baseline import coldpath
        from emu.translator.baseline.tier import BaselineTier
        from emu.translator.runtime import runtime
        from records import CALL, ThreadedTier, cold_path
        os.environ["PYEMU_TIER"] = "2"          # the machine's own translator stays out of the way
        self.m = Machine(parse_args(["-m", "16", "-nographic"]))
        del os.environ["PYEMU_TIER"]
        self.m.enter_flat32(0x1000)
        self.cpu_addr = self.m.cpu_addr
        self.arena = cnp.Arena()
        self.cnp = BaselineTier(runtime().symbols, self.arena, self.cpu_addr, None, 64)
        self.ti = ThreadedTier(handlers, self.cpu_addr)
        self.handlers = handlers
        self.cp = coldpath
        self.cnp_loop = _timer(ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(coldpath.cold_path.address))
        self.ti_loop = _timer(CALL(cold_path.address))

    def prepare(self, codes):
        """Stencils and handlers of every variant these blocks need, built beforehand."""
        t0 = time.perf_counter()
        self.cnp.stencils.build(codes)
        t1 = time.perf_counter()
        self.handlers.build(codes)
        return t1 - t0, time.perf_counter() - t1

    def place(self, code, eip, cs_base, hflags):
        linear0 = (cs_base + eip) & 0xFFFFFFFF
        linear = SCRATCH + (linear0 & 0xFFF)
        ram = self.m.phys.ram
        ram[SCRATCH:SCRATCH + 8192] = 0
        ram[linear:linear + len(code)] = np.frombuffer(code, dtype=np.uint8)
        return linear, (linear - eip) & 0xFFFFFFFF

    def measure(self, block, reps):
        """(insns, decode s, threaded s, cnp s, record bytes, code bytes, m threaded, m cnp) or None."""
        from emu.frontend.decoder import decode
        from records import C_MAX_INSNS, MODE_DECODE, OK
        code, eip, cs_base, hflags = block
        hflags = hflags or translate_bench._hflags_flat32()
        n = len(decode(code, eip, _cs32(hflags)))
        if n == 0:
            return None
        linear, cs_base = self.place(code, eip, cs_base, hflags)
        user = (hflags & 3) == 3
        # threaded
        ti = self.ti
        ti.reset()
        ti.ctx[C_MAX_INSNS] = n
        if ti.make(linear, eip, cs_base, hflags, user) != OK:
            return None
        m_ti, rec_bytes = int(ti.out[0]), int(ti.out[2])
        base, end = ti.mem_base, ti.mem_base + ti.mem.nbytes
        t_ti = _time_block(self.ti_loop, ti.ctx_addr, ti.cursor, base, end, reps)
        ti.set_block(linear, eip, cs_base, hflags, user, MODE_DECODE)
        t_dec = _time_block(self.ti_loop, ti.ctx_addr, ti.cursor, base, end, reps)
        # copy-and-patch
        bt = self.cnp
        bt.cold.ctx[self.cp.C_MAX_INSNS] = n
        if self.arena.code_top > self.arena.data_bottom - (64 << 20):
            bt.flush()
        top, bottom = self.arena.code_top, self.arena.data_bottom
        if bt.make(linear, eip, cs_base, hflags, user) != self.cp.OK:
            return None
        m_cnp = int(bt.cold.out[0])
        code_bytes = self.arena.code_top - top
        t_cnp = _time_block(self.cnp_loop, bt.cold.ctx_addr, bt.cold.cursor, top, bottom, reps)
        return n, t_dec, t_ti, t_cnp, rec_bytes, code_bytes, m_ti, m_cnp


def _fmt_us(v):
    return "%.2f" % (1e6 * v)


def translation_table(sets, handlers, reps, per_block):
    bench = TranslateBench(handlers)
    codes = [c for blocks in sets.values() for c in _variant_codes(blocks)]
    t_st, t_h = bench.prepare(codes)
    print("variants %d; built now: stencils %.1f s (%d), handlers %.1f s (%d; %d handlers, %d from disk)"
          % (len(set(codes)), t_st, bench.cnp.stencils.built, t_h, handlers.count, handlers.count,
             handlers.from_disk))
    print()
    print("Translation, per block (us: fastest of 3 rounds of %d calls, mean over blocks; median in [])" % reps)
    head = "%-16s %6s %6s | %13s %13s %13s | %8s %8s | %s" % (
        "blocks", "n", "insns", "decode", "threaded", "cnp", "rec B", "code B", "cnp/threaded")
    print(head)
    print("-" * len(head))
    for title, blocks in sets.items():
        rows = []
        for k, blk in enumerate(blocks):
            r = bench.measure(blk, reps)
            if r is None:
                continue
            rows.append(r)
            if per_block:
                n, td, tt, tc, rb, cb, mt, mc = r
                print("  %s #%d eip %#x: %d insns (threaded %d, cnp %d)  decode %s  threaded %s  cnp %s us"
                      "  records %d B  code %d B" % (title, k, blk[1], n, mt, mc, _fmt_us(td), _fmt_us(tt),
                                                     _fmt_us(tc), rb, cb))
        if not rows:
            continue
        a = np.array(rows, dtype=np.float64)
        col = lambda i: "%5s [%5s]" % (_fmt_us(a[:, i].mean()), _fmt_us(np.median(a[:, i])))   # noqa: E731
        same = int((a[:, 6] == a[:, 7]).sum())
        print("%-16s %6d %6.1f | %13s %13s %13s | %8.0f %8.0f | %.2fx%s" % (
            title, len(rows), a[:, 6].mean(), col(1), col(2), col(3), a[:, 4].mean(), a[:, 5].mean(),
            a[:, 3].mean() / a[:, 2].mean(),
            "" if same == len(rows) else "  (%d blocks cut differently)" % (len(rows) - same)))
    bench.cnp.stencils.save()       # as the product keeps them (PYEMU_CACHE_DIR/stencils)
    return bench


STRAIGHT = ("straight.S", 40, 10)       # this directory's workload: (source, scale, quick scale)


def build_workload(name, scale, out):
    """A benchmarks/workloads program, or this directory's straight-line loop, as a multiboot ELF."""
    if name in bench_run.WORKLOADS:
        return bench_run.build_guest(name, scale, out)
    objs = []
    for src in (bench_run.SRC / "crt0.S", bench_run.SRC / "main.c", HERE / STRAIGHT[0]):
        o = out / ("%s_%s_%d.o" % (name, src.stem, scale))
        if src.suffix == ".S":
            bench_run.sh(["gcc", "-m32", "-c", str(src), "-o", str(o)])
        else:
            bench_run.sh(["gcc", "-m32", "-ffreestanding", "-nostdlib", *bench_run.CFLAGS,
                          "-DSCALE=%d" % scale, "-c", str(src), "-o", str(o)])
        objs.append(str(o))
    elf = out / ("%s_%d.elf" % (name, scale))
    bench_run.sh(["ld", "-m", "elf_i386", "--no-warn-rwx-segments", "-T", str(bench_run.SRC / "link.ld"),
                  "-o", str(elf), *objs])
    return elf


def execution_table(names, scales, handlers, runs, tmp):
    import driver
    print()
    print("Execution, ns per guest instruction: median (min-max) of %d runs after the translating one" % runs)
    head = "%-8s %11s | %19s %19s %19s | %s" % ("workload", "insns", "threaded", "cnp", "LLVM O2",
                                                "threaded/cnp")
    print(head)
    print("-" * len(head))
    results = {}
    for name in names:
        elf = build_workload(name, scales[name], tmp).read_bytes()
        designs = {"threaded": driver.ThreadedDriver(elf, handlers),
                   "cnp": driver.ProductDriver(elf, 0),
                   "o2": driver.ProductDriver(elf, 2)}
        try:
            cold = {k: d.run() for k, d in designs.items()}
            ns = {k: [] for k in designs}
            for _ in range(runs):
                for k, d in designs.items():
                    r = d.run()
                    if (r.insns, r.output) != (cold["cnp"].insns, cold["cnp"].output) or r.misses:
                        raise RuntimeError("%s on %s: %d insns %r, %d misses (cnp: %d insns %r)" % (
                            k, name, r.insns, r.output, r.misses, cold["cnp"].insns, cold["cnp"].output))
                    ns[k].append(r.ns_per_insn)
            blocks = {k: d.blocks() for k, d in designs.items()}
        finally:
            for d in designs.values():
                d.close()
        cell = lambda v: "%5.2f (%5.2f-%5.2f)" % (statistics.median(v), min(v), max(v))  # noqa: E731
        print("%-8s %11d | %19s %19s %19s | %.2fx" % (
            name, cold["cnp"].insns, cell(ns["threaded"]), cell(ns["cnp"]), cell(ns["o2"]),
            statistics.median(ns["threaded"]) / statistics.median(ns["cnp"])))
        n_cnp, in_stencils = blocks["cnp"]
        print("         blocks: threaded %d, cnp %d (%d of stencils), O2 %d; output %r" % (
            blocks["threaded"][0], n_cnp, in_stencils, blocks["o2"][0], cold["cnp"].output.strip()))
        results[name] = ns
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer blocks, fewer calls, smaller workloads")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per workload and design")
    ap.add_argument("--reps", type=int, default=None, help="cold-path calls per block and round")
    ap.add_argument("--per-block", action="store_true", help="a line per block too")
    ap.add_argument("--only", choices=("translate", "execute"), help="one half only")
    args = ap.parse_args()
    reps = args.reps or (20 if args.quick else 200)
    runs = args.runs or (3 if args.quick else 5)
    from emu.translator.runtime import runtime
    runtime()
    import handlers as H
    load = os.getloadavg()[0]
    print("load average %.2f on %d cores%s" % (load, os.cpu_count(),
                                              "  (busy: figures will spread)" if load > 1.0 else ""))
    t_start = time.perf_counter()
    hs = H.HandlerSet()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        sets = {}
        # the blocks (the workloads' are also the ones the execution half needs handlers
        # for), recorded where the LLVM tier decodes them: with the baseline on, its
        # native cold path decodes, and translate.py's recorder sees none of those
        os.environ["PYEMU_BASELINE"] = "0"
        with _quiet():
            sets.update(translate_bench.workload_blocks(tmp, args.quick))
            if args.only != "execute":
                sets.update(translate_bench.guest_blocks(tmp, args.quick))
        del os.environ["PYEMU_BASELINE"]
        if args.only != "execute":
            n = 40 if args.quick else 150
            sets["random 4-insn"] = translate_bench.random_blocks(n, 4)
            sets["random 20-insn"] = translate_bench.random_blocks(n // 2, 20, seed=2)
        print("collected %d blocks in %.1f s" % (sum(len(b) for b in sets.values()), time.perf_counter() - t_start))
        if args.only == "execute":
            hs.build(_variant_codes([b for v in sets.values() for b in v]))
        else:
            translation_table(sets, hs, reps, args.per_block)
        if args.only != "translate":
            scales = {name: (q if args.quick else q * 4) for name, (_, _, q) in bench_run.WORKLOADS.items()}
            scales["straight"] = STRAIGHT[2] if args.quick else STRAIGHT[1]
            execution_table(list(scales), scales, hs, runs, tmp)
    print()
    print("handlers: %d, %d bytes of machine code, made in %.1f s (IR emission %.2f s; %d modules from the"
          " disk cache); total %.0f s" % (hs.count, hs.text_bytes, hs.build_seconds, hs.emit_seconds,
                                          hs.from_disk, time.perf_counter() - t_start))


class _quiet:
    """Guests print on the serial console (and a triple fault on stderr): keep it off the table."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.fds = (os.dup(1), os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, to in zip(self.fds, (1, 2)):
            os.dup2(fd, to)
            os.close(fd)


if __name__ == "__main__":
    main()
