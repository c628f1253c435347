"""AArch64: build the test stencils for aarch64, emit them into a plain buffer that claims
to live at a fake arena address, and check with capstone that every hole, continuation
and stub got its intended value."""
import capstone
import numpy as np
import pytest

from emu.translator.cnp import Arena, EmitError, Emitter, build_library
from emu.translator.cnp.library import S_SIZE, S_TRIM

from .harness import piece, pieces
from .stencil_ir import module

A64 = "aarch64-unknown-linux-gnu"
BASE = 0x7F12_3400_0000
ARENA_SIZE = 1 << 20
RUNTIME = {"pyemu_load": 0x7FFF_DEAD_BEE0, "pyemu_dispatch": 0x5555_1234_5670}
EDGES = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)

_cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_cs.detail = True
IMM = capstone.arm64.ARM64_OP_IMM
MEM = capstone.arm64.ARM64_OP_MEM


@pytest.fixture(scope="module")
def lib():
    return build_library(module(), A64)


@pytest.fixture
def arena():
    return Arena.over_buffer(np.zeros(ARENA_SIZE, np.uint8), BASE, "aarch64")


@pytest.fixture
def emitter(lib, arena):
    return Emitter(lib, arena, RUNTIME)


def disasm(arena, start, end):
    insns = list(_cs.disasm(arena.read(start, end - start), start))
    assert sum(i.size for i in insns) == end - start, "undecodable bytes"
    return insns


def constants(insns):
    """Values built by MOVZ + 3 MOVK (the large code model's 64-bit absolute)."""
    chains, current = [], {}
    for i in insns:
        ops = i.operands
        if i.mnemonic == "mov" and len(ops) == 2 and ops[1].type == IMM:
            current[ops[0].reg] = len(chains)
            chains.append([ops[1].imm & 0xFFFFFFFFFFFFFFFF, 0])
        elif i.mnemonic == "movk":
            chain = chains[current[ops[0].reg]]
            shift = ops[1].shift.value
            chain[0] = (chain[0] & ~(0xFFFF << shift)) | (ops[1].imm << shift)
            chain[1] += 1
    return sorted(value for value, movks in chains if movks == 3)


def branches(insns, mnemonic="b"):
    return [i.operands[0].imm for i in insns if i.mnemonic == mnemonic]


def piece_code(arena, e, i):
    end = e.addresses[i + 1] if i + 1 < len(e.addresses) else e.end
    return disasm(arena, int(e.addresses[i]), int(end))


@pytest.mark.parametrize("trim", (True, False))
@pytest.mark.parametrize("v", EDGES)
def test_value_holes_and_fall_through(lib, arena, emitter, v, trim):
    specs = [("store_imm", {"reg": 8, "imm": v}), ("add_imm", {"reg": 16, "imm": v}),
             ("add_disp", {"reg": 24, "rm": 32, "disp": v}), ("ret_imm", {"imm": v})]
    e = emitter.emit(*pieces(lib, *specs), trim=trim)
    expect = [[8, v], [16, v], [24, 32, v], [v]]
    for i, (name, _) in enumerate(specs):
        insns = piece_code(arena, e, i)
        assert constants(insns) == sorted(expect[i]), name
        row = lib.stencils[lib.stencil_id(name)]
        if i + 1 < len(specs):
            assert row[S_TRIM] == 4
            if trim:    # the trailing `b` is gone; the next piece follows directly
                assert e.addresses[i + 1] - e.addresses[i] == row[S_SIZE] - 4
                assert insns[-1].mnemonic != "b"
            else:
                assert insns[-1].mnemonic == "b" and insns[-1].operands[0].imm == e.addresses[i + 1]
    assert piece_code(arena, e, 3)[-1].mnemonic == "ret"


def test_runtime_stubs_counter_constants_exits(lib, arena, emitter):
    counter = arena.alloc_data(8)
    far = BASE + 0x8_0000
    e = emitter.emit(*pieces(lib, ("load", {"imm": 0x80000000, "reg": 24}),
                             ("count", {"counter": counter, "reg": 0}),
                             ("vec", {"reg": 8}),
                             ("store_fn", {"reg": 40}),
                             ("branch", {"reg": 0, "imm": 5}, {1: piece(5), 2: far}),
                             ("ret_imm", {"imm": 1})))
    stub = {name: int(emitter.runtime[lib.runtime_id(name), 0]) for name in RUNTIME}
    # Stubs: ldr x16, #8; br x16; .quad address
    for name, address in RUNTIME.items():
        insns = disasm(arena, stub[name], stub[name] + 8)
        assert [i.mnemonic for i in insns] == ["ldr", "br"]
        assert insns[0].op_str == f"x16, #{stub[name] + 8:#x}" and insns[1].op_str == "x16"
        assert int.from_bytes(arena.read(stub[name] + 8, 8), "little") == address
    # load: call through the stub, continuation 0 to the next piece, dispatch through its stub.
    insns = piece_code(arena, e, 0)
    assert constants(insns) == [24, 0x80000000]
    assert branches(insns, "bl") == [stub["pyemu_load"]]
    assert branches(insns) == [e.addresses[1], stub["pyemu_dispatch"]]
    # count: the counter's address, twice used (increment, store)
    assert constants(piece_code(arena, e, 1)) == sorted([0, counter])
    # vec: the address of the constants, which hold the multipliers
    const = [c for c in constants(piece_code(arena, e, 2)) if c != 8]
    assert len(const) == 1 and arena.contains(const[0], 16)
    assert np.frombuffer(arena.read(const[0], 16), np.uint32).tolist() == [3, 5, 7, 11]
    # store_fn: the function's address, loaded from the stub's word (GOT slot)
    insns = piece_code(arena, e, 3)
    adrp = [i for i in insns if i.mnemonic == "adrp"][0]
    ldr = [i for i in insns if i.mnemonic == "ldr" and i.operands[0].reg == adrp.operands[0].reg][0]
    assert adrp.operands[1].imm + ldr.operands[1].mem.disp == stub["pyemu_load"] + 8
    # branch: exit 1 to piece 5, exit 2 to the absolute address
    insns = piece_code(arena, e, 4)
    assert constants(insns) == [0, 5]
    assert sorted(branches(insns)) == sorted([e.addresses[5], far])
    # Re-pointing exit 1 changes exactly one instruction word.
    before = arena.read(e.start, e.end - e.start)
    site = [r for r in e.sites if r[0] == 4 and r[1] == 1][0]
    emitter.repatch(site, BASE + 0x4_0000)
    after = arena.read(e.start, e.end - e.start)
    changed = [k for k in range(len(before)) if before[k] != after[k]]
    assert changed and changed[0] >= site[2] - e.start and changed[-1] < site[2] - e.start + 4
    assert sorted(branches(piece_code(arena, e, 4))) == sorted([BASE + 0x4_0000, far])


def test_branch_range_is_checked(lib, emitter):
    with pytest.raises(EmitError, match="out of range.*'branch'.*cont 2"):
        emitter.emit(*pieces(lib, ("branch", {}, {1: piece(1), 2: BASE + (200 << 20)}),
                             ("ret_imm",)))
    e = emitter.emit(*pieces(lib, ("branch", {}, {1: piece(1), 2: piece(1)}), ("ret_imm",)))
    with pytest.raises(EmitError, match="out of range"):
        emitter.repatch(e.sites[0], BASE - (129 << 20))


def test_small_code_model_page_relocations(arena):
    # Without value holes the small code model works too: ADRP + ADD / LDR (q) for counters
    # and constants, ADRP + LDR through the GOT for a runtime function's address.
    lib = build_library(module(["count_at_0", "vec_at_8", "fn_at_24"]), A64,
                        codegen={"codemodel": "small"})
    em = Emitter(lib, arena, RUNTIME)
    counter = arena.alloc_data(8)
    e = em.emit(*pieces(lib, ("count_at_0", {"counter": counter}), ("vec_at_8",),
                        ("fn_at_24", {}, {0: BASE + 0x100})))

    def page_target(insns):
        """adrp + the next instruction using its register: the address they form."""
        adrp = [i for i in insns if i.mnemonic == "adrp"][0]
        reg = adrp.operands[0].reg
        for i in insns:
            if i.address <= adrp.address:
                continue
            if i.mnemonic == "add" and i.operands[1].reg == reg:
                return adrp.operands[1].imm + i.operands[2].imm
            if i.mnemonic == "ldr" and i.operands[1].type == MEM and i.operands[1].mem.base == reg:
                return adrp.operands[1].imm + i.operands[1].mem.disp
        raise AssertionError("adrp without a use")

    assert page_target(piece_code(arena, e, 0)) == counter
    const = page_target(piece_code(arena, e, 1))
    assert np.frombuffer(arena.read(const, 16), np.uint32).tolist() == [3, 5, 7, 11]
    stub = int(em.runtime[lib.runtime_id("pyemu_load"), 0])
    assert page_target(piece_code(arena, e, 2)) == stub + 8
    assert branches(piece_code(arena, e, 2)) == [BASE + 0x100]
