"""Emit programs of the test stencils into a real arena and run them (host target)."""
import ctypes

import numpy as np
import pytest

from emu.translator.cnp import Arena, ArenaError, ArenaFull, Emitter, EmitError, build_library
from emu.translator.cnp.library import S_SIZE, S_TRIM

from .harness import DISPATCH_RESULT, FAR_HINT, State, piece, pieces, run
from .stencil_ir import module

EDGES = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def sext32(v):
    return (v - (1 << 32) if v & 0x80000000 else v) & 0xFFFFFFFFFFFFFFFF


def test_arena_is_far_from_runtime_functions(far_arena, runtime):
    # Otherwise the runtime-call tests would not prove that the stubs reach anywhere.
    for address in runtime.addresses.values():
        assert abs(address - far_arena.base) > 1 << 32, hex(far_arena.base)


@pytest.mark.parametrize("v", EDGES)
def test_value_holes_edge_values(emitter, host_lib, v):
    e = emitter.emit(*pieces(host_lib,
                             ("store_imm", {"reg": 0, "imm": v}),
                             ("store_imm_sext", {"reg": 8, "imm": v}),
                             ("add_imm", {"reg": 16, "imm": v}),
                             ("add_disp", {"reg": 24, "rm": 32, "disp": v}),
                             ("ret_imm", {"imm": v})))
    state = State()
    state.r[2] = 0x1_0000_0001
    state.r[4] = 0xFFFF_FFFF_0000_0000
    result, state = run(e.start, state)
    assert result == v
    assert state.r[0] == v
    assert state.r[1] == sext32(v)
    assert state.r[2] == 0x1_0000_0000 | ((1 + v) & 0xFFFFFFFF)
    assert state.r[3] == (0xFFFF_FFFF_0000_0000 + v) & 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize("offset", (0x7FFFFFF8, 0x80000000, 0xFFFFFFF8))
def test_register_offset_holes_above_2g(emitter, host_lib, offset):
    # The state pointer is moved back by `offset` so that s + zext(reg) lands on a real
    # buffer: a hole encoded as sign-extended would address 4 GB below it.
    buf = (ctypes.c_uint64 * 2)()
    e = emitter.emit(*pieces(host_lib, ("store_imm", {"reg": offset, "imm": 0xABCD}),
                             ("ret_imm", {"imm": 0})))
    ENTRY = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p)
    ENTRY(e.start)(ctypes.addressof(buf) - offset, None)
    assert buf[0] == 0xABCD


def test_env_pointer_passes_through(emitter, host_lib):
    e = emitter.emit(*pieces(host_lib, ("add_imm", {"reg": 0, "imm": 1}),
                             ("store_env", {"reg": 8}), ("ret_imm", {"imm": 3})))
    result, state = run(e.start, env=0x1234_5678_9ABC)
    assert (result, state.r[0], state.r[1]) == (3, 1, 0x1234_5678_9ABC)


@pytest.mark.parametrize("trim", (True, False))
def test_fall_through_with_and_without_trimming(emitter, host_lib, trim):
    names = ("store_imm", "add_imm", "count", "ret_imm")
    specs = [("store_imm", {"reg": 0, "imm": 40}), ("add_imm", {"reg": 0, "imm": 2}),
             ("add_imm", {"reg": 8, "imm": 7}), ("ret_imm", {"imm": 9})]
    e = emitter.emit(*pieces(host_lib, *specs), trim=trim)
    sizes = [host_lib.stencils[host_lib.stencil_id(s[0])] for s in specs]
    for i in range(len(specs) - 1):
        expect = sizes[i][S_SIZE] - (sizes[i][S_TRIM] if trim else 0)
        assert e.addresses[i + 1] - e.addresses[i] == expect
    assert all(host_lib.stencils[host_lib.stencil_id(n)][S_TRIM] > 0 for n in names[:3])
    # Untrimmed pieces keep their `jmp __cont.0` (a patch site); trimmed ones lose it.
    assert len(e.sites) == (0 if trim else 3)
    result, state = run(e.start)
    assert (result, state.r[0], state.r[1]) == (9, 42, 7)


def test_continuation_0_given_explicitly(emitter, host_lib):
    tail = emitter.emit(*pieces(host_lib, ("add_imm", {"reg": 0, "imm": 100}), ("ret_imm", {"imm": 5})))
    # piece 0 goes to piece 1 named explicitly (still trimmed); piece 1 to the other block.
    e = emitter.emit(*pieces(host_lib, ("add_imm", {"reg": 0, "imm": 1}, {0: piece(1)}),
                             ("add_imm", {"reg": 0, "imm": 2}, {0: tail.start})))
    lib = host_lib
    add = lib.stencils[lib.stencil_id("add_imm")]
    assert e.addresses[1] - e.addresses[0] == add[S_SIZE] - add[S_TRIM]
    assert [tuple(r[:2]) for r in e.sites] == [(1, 0)]
    result, state = run(e.start)
    assert (result, state.r[0]) == (5, 103)


def test_exits_and_repatching(emitter, host_lib):
    lib = host_lib
    block = emitter.emit(*pieces(lib, ("branch", {"reg": 0, "imm": 0x90000000}, {1: piece(1), 2: piece(2)}),
                                 ("ret_imm", {"imm": 1}), ("ret_imm", {"imm": 2})))
    state = State()
    state.r[0] = 0x90000000
    assert run(block.start, state)[0] == 1
    state.r[0] = 0x10000000
    assert run(block.start, state)[0] == 2

    other = emitter.emit(*pieces(lib, ("add_imm", {"reg": 8, "imm": 1}), ("ret_imm", {"imm": 99})))
    sites = {int(r[1]): r for r in block.sites}
    assert sorted(sites) == [1, 2]
    emitter.repatch(sites[1], other.start)         # chain exit 1 to the other block
    state.r[0] = 0x90000000
    assert run(block.start, state)[0] == 99 and state.r[1] == 1
    emitter.repatch(sites[1], block.addresses[1])  # and unchain it
    assert run(block.start, state)[0] == 1 and state.r[1] == 1
    emitter.repatch(sites[2], other.start)
    state.r[0] = 0
    assert run(block.start, state)[0] == 99 and state.r[1] == 2


def test_runtime_calls_through_stubs(emitter, host_lib, runtime):
    runtime.calls.clear()
    e = emitter.emit(*pieces(host_lib, ("load", {"imm": 0x8000_0001, "reg": 0}),
                             ("load", {"imm": 21, "reg": 8}), ("ret_imm", {"imm": 7})))
    result, state = run(e.start)
    assert result == 7
    assert state.r[0] == 0x1_0000_0002 and state.r[1] == 42
    assert [c[1:] for c in runtime.calls] == [(0x8000_0001, 4, 0), (21, 4, 0)]
    assert runtime.calls[0][0] == ctypes.addressof(state)
    # A negative result leaves through the tail call to pyemu_dispatch (a numba cfunc).
    e = emitter.emit(*pieces(host_lib, ("load", {"imm": 0xBAD, "reg": 0}), ("ret_imm", {"imm": 7})))
    assert run(e.start)[0] == DISPATCH_RESULT


def test_runtime_function_address_from_got_slot(emitter, host_lib, runtime):
    # `ptrtoint @pyemu_load` reads the stub's address word (x86-64 GOTPCRELX): the real
    # function's address.
    e = emitter.emit(*pieces(host_lib, ("store_fn", {"reg": 16}), ("ret_imm", {"imm": 0})))
    assert run(e.start)[1].r[2] == runtime.addresses["pyemu_load"]


def test_address_hole_counter(emitter, host_lib, far_arena):
    counter = far_arena.alloc_data(8)
    e = emitter.emit(*pieces(host_lib, ("count", {"counter": counter, "reg": 0}), ("ret_imm", {"imm": 0})))
    for _ in range(3):
        result, state = run(e.start)
    assert int.from_bytes(far_arena.read(counter, 8), "little") == 3
    assert state.r[0] == counter


def test_constant_pool(emitter, host_lib):
    assert host_lib.rodata.shape[0] >= 16
    e = emitter.emit(*pieces(host_lib, ("vec", {"reg": 8}), ("ret_imm", {"imm": 0})))
    state = State()
    state.r[1] = 2 | (3 << 32)
    state.r[2] = 4 | (0xFFFFFFFF << 32)
    run(e.start, state)
    assert state.r[1] == 6 | (15 << 32)
    assert state.r[2] == 28 | (((0xFFFFFFFF * 11) & 0xFFFFFFFF) << 32)


def test_emit_errors_name_the_piece(emitter, host_lib):
    lib = host_lib
    top = emitter.arena.code_top
    with pytest.raises(EmitError, match="stencil id out of range"):
        emitter.emit([lib.n_stencils])
    with pytest.raises(EmitError, match=r"continuation that was not given.*'branch'.*cont 1"):
        emitter.emit(*pieces(lib, ("branch", {}, {2: emitter.arena.code_start}), ("ret_imm",)))
    with pytest.raises(EmitError, match="continuation that was not given.*'add_imm'"):
        emitter.emit(*pieces(lib, ("add_imm",)))          # cont 0 of the last piece
    with pytest.raises(EmitError, match="does not exist"):
        emitter.emit(*pieces(lib, ("add_imm", {}, {0: piece(5)})))
    with pytest.raises(EmitError, match="too small"):
        emitter.emit([lib.stencil_id("ret_imm")], values=np.zeros((1, 0), np.uint32))
    # A continuation more than 2 GB away cannot be reached by a rel32 jump.
    with pytest.raises(EmitError, match="out of range.*'add_imm'.*cont 0"):
        emitter.emit(*pieces(lib, ("add_imm", {}, {0: emitter.arena.base + (3 << 30)})))
    assert emitter.arena.code_top == top      # nothing committed
    site = (emitter.arena.code_top + 64, 3, -4)
    with pytest.raises(EmitError, match="outside"):
        emitter.repatch(site, emitter.arena.code_start)


def test_missing_runtime_symbol(host_lib):
    with Arena(1 << 20, fixed_size=1 << 16) as arena:
        with pytest.raises(ArenaError, match="pyemu_dispatch"):
            Emitter(host_lib, arena, {"pyemu_load": 0x1000})


def test_full_arena_then_reset(host_lib, runtime):
    with Arena(1 << 16, fixed_size=4096) as arena:
        em = Emitter(host_lib, arena, runtime.addresses)
        request = pieces(host_lib, *[("add_imm", {"reg": 0, "imm": 1})] * 100, ("ret_imm", {"imm": 0}))
        blocks = 0
        with pytest.raises(ArenaFull):
            while True:
                em.emit(*request)
                blocks += 1
        assert blocks > 10
        generation = arena.generation
        arena.reset()
        assert arena.generation == generation + 1
        e = em.emit(*request)
        assert e.start == arena.code_start          # stubs and constants are kept below it
        assert run(e.start)[1].r[0] == 100


@pytest.mark.parametrize("mode", ("rwx", "dual"))
def test_arena_modes_run_code(host_lib, runtime, mode):
    with Arena(1 << 20, mode=mode, fixed_size=1 << 16, address_hint=FAR_HINT + (1 << 32)) as arena:
        assert arena.mode == mode
        em = Emitter(host_lib, arena, runtime.addresses)
        e = em.emit(*pieces(host_lib, ("load", {"imm": 5, "reg": 0}), ("vec", {"reg": 8}),
                            ("branch", {"reg": 0, "imm": 10}, {1: piece(3), 2: piece(4)}),
                            ("ret_imm", {"imm": 1}), ("ret_imm", {"imm": 2})))
        state = State()
        state.r[1] = 1 | (1 << 32)
        assert run(e.start, state)[0] == 1
        assert state.r[1] == 3 | (5 << 32)
        other = em.emit(*pieces(host_lib, ("ret_imm", {"imm": 77})))
        em.repatch([r for r in e.sites if r[1] == 1][0], other.start)
        assert run(e.start)[0] == 77


def test_holes_without_dso_local_work_on_x86_64(runtime):
    # The contract's first draft declared value holes without dso_local; on x86-64 (PIC,
    # small code model) that compiles to the same absolute 32-bit immediates.
    lib = build_library(module(["store_imm", "ret_imm"], dso_local_holes=False),
                        "x86_64-unknown-linux-gnu")
    with Arena(1 << 20, fixed_size=1 << 16) as arena:
        e = Emitter(lib, arena, {}).emit(*pieces(lib, ("store_imm", {"reg": 0, "imm": 0xFFFFFFFF}),
                                                 ("ret_imm", {"imm": 0x80000000})))
        result, state = run(e.start)
        assert (result, state.r[0]) == (0x80000000, 0xFFFFFFFF)
