"""Cost of the copy-and-patch emitter (emu/translator/cnp): one block of 5 pieces.

    python benchmarks/cnp_emit.py [--iterations N]

The pieces are test stencils of tests/translator/cnp/stencil_ir.py (load, add_disp, vec,
count, branch: about 45 bytes and 4 relocations each on x86-64), laid out with exits to
an exit stub.  Measured per block, microseconds:

  emit         Emitter.emit(): Python convenience, allocates its output arrays
  emit_into    Emitter.emit_into() with caller-made arrays (the Python hot path)
  native call  emit_pieces() called directly from Python
  in numba     emit_pieces() called from another @njit function (no Python in between)
  repatch      Emitter.repatch() of one exit (chain / unchain)

The arena is reset whenever it fills.  Nothing here asserts anything.
"""
import argparse
import pathlib
import sys
import time

import numpy as np
from numba import njit

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "translator"))

from cnp.stencil_ir import module  # noqa: E402  (the tests' stencil generator)
from emu.translator.cnp import Arena, ArenaFull, Emitter, build_library, emit_pieces  # noqa: E402
from emu.translator.cnp.library import S_SIZE, S_TRIM  # noqa: E402

PIECES = ("load", "add_disp", "vec", "count", "branch")


@njit(nogil=True)
def _emit_many(count, code, stencils, relocs, runtime, rodata_base, mem, mem_base, start, limit,
               ids, values, addrs, conts, out_addr, out_sites, info):
    end = start
    for _ in range(count):
        end = emit_pieces(code, stencils, relocs, runtime, rodata_base, mem, mem_base, start,
                          limit, ids, values, addrs, conts, True, out_addr, out_sites, info)
    return end


def per_call(fn, iterations, arena):
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(iterations):
            try:
                fn()
            except ArenaFull:
                arena.reset()
        best = min(best, (time.perf_counter() - t) / iterations)
    return best * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()

    lib = build_library(module())
    arena = Arena(64 << 20)
    runtime = {"pyemu_load": 0x1000, "pyemu_dispatch": 0x2000}   # never called here
    em = Emitter(lib, arena, runtime)
    exit_stub = em.emit([lib.stencil_id("ret_imm")]).start
    n = len(PIECES)
    ids = np.array([lib.stencil_id(p) for p in PIECES], np.int32)
    values = np.full((n, len(lib.roles)), 8, np.uint32)
    addrs = np.full((n, len(lib.addr_names)), arena.alloc_data(8), np.uint64)
    conts = np.zeros((n, 3), np.int64)
    conts[-1, 1:] = exit_stub
    out_addr = np.empty(n, np.int64)
    out_sites = np.empty((n * lib.max_cont_sites, 5), np.int64)

    sizes = [int(lib.stencils[i, S_SIZE]) for i in ids]
    trims = [int(lib.stencils[i, S_TRIM]) for i in ids]
    nrel = [len(lib.relocs_of(i)) for i in ids]
    print(f"{lib.triple}: pieces {', '.join(PIECES)}")
    print(f"  sizes {sizes} bytes (trim {trims}), relocations {nrel}")
    e = em.emit(ids, values, addrs, conts)
    print(f"  block: {e.end - e.start} bytes, {len(e.sites)} exit sites")

    it = args.iterations
    figures = {
        "emit": per_call(lambda: em.emit(ids, values, addrs, conts), it, arena),
        "emit_into": per_call(lambda: em.emit_into(ids, values, addrs, conts, out_addr, out_sites),
                              it, arena),
    }
    info = np.zeros(4, np.int64)
    start = arena.code_top
    args_native = (lib.code, lib.stencils, lib.relocs, em.runtime, em.rodata_base, arena.mem,
                   arena.base, start, arena.data_bottom, ids, values, addrs, conts, True,
                   out_addr, out_sites, info)
    figures["native call"] = per_call(lambda: emit_pieces(*args_native), it, arena)
    _emit_many(1, *args_native[:13], out_addr, out_sites, info)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        _emit_many(it, *args_native[:13], out_addr, out_sites, info)
        best = min(best, (time.perf_counter() - t) / it)
    figures["in numba"] = best * 1e6
    site = e.sites[0]
    targets = [exit_stub, e.start]
    k = [0]

    def repatch():
        k[0] ^= 1
        em.repatch(site, targets[k[0]])
    figures["repatch"] = per_call(repatch, it, arena)
    for name, us in figures.items():
        print(f"  {name:12s} {us:7.2f} us")


if __name__ == "__main__":
    main()
