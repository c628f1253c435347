"""Library build: what LLVM emits for the test stencils, and what is refused."""
import pytest

from emu.translator.cnp import StencilBuildError, build_library
from emu.translator.cnp.library import S_SIZE, S_TRIM
from emu.translator.cnp.relocs import (KIND_A64_BRANCH26, KIND_A64_GOT_LO12, KIND_A64_GOT_PAGE,
                                       KIND_A64_MOVW_G0_NC, KIND_A64_MOVW_G3, KIND_X86_ABS32,
                                       KIND_X86_GOTPC32, KIND_X86_PC32, R_KIND, R_TARGET,
                                       TARGET_ADDR, TARGET_CONT, TARGET_RODATA, TARGET_RUNTIME,
                                       TARGET_VALUE)

from .stencil_ir import STENCILS, module

X86 = "x86_64-unknown-linux-gnu"
A64 = "aarch64-unknown-linux-gnu"


@pytest.fixture(scope="module")
def x86_lib():
    return build_library(module(), X86)


def kinds_by_target(lib):
    found = {}
    for kind, target in lib.relocs[:, [R_KIND, R_TARGET]].tolist():
        found.setdefault(target, set()).add(kind)
    return found


def test_names_and_ids(x86_lib):
    assert x86_lib.stencil_names == list(STENCILS)
    assert x86_lib.roles == ["disp", "imm", "reg", "rm"]
    assert x86_lib.addr_names == ["counter"]
    assert x86_lib.runtime_names == ["pyemu_dispatch", "pyemu_load"]
    assert x86_lib.stencil_id("branch") == list(STENCILS).index("branch")
    with pytest.raises(KeyError, match="no role named 'nope'"):
        x86_lib.role_id("nope")


def test_fixed_name_order_is_kept():
    lib = build_library(module(["load", "count"]), X86, roles=["reg", "zzz"],
                        runtime_names=["pyemu_load"])
    assert lib.roles == ["reg", "zzz", "imm"]
    assert lib.runtime_names == ["pyemu_load", "pyemu_dispatch"]


def test_x86_64_relocation_kinds(x86_lib):
    # PIC + small code model: holes are absolute 32-bit immediates, everything else
    # (continuations, runtime calls, counters, constants) rel32; a runtime function's
    # address is read from a GOT slot.
    assert kinds_by_target(x86_lib) == {
        TARGET_VALUE: {KIND_X86_ABS32}, TARGET_CONT: {KIND_X86_PC32},
        TARGET_RUNTIME: {KIND_X86_PC32, KIND_X86_GOTPC32}, TARGET_ADDR: {KIND_X86_PC32},
        TARGET_RODATA: {KIND_X86_PC32}}


def test_aarch64_relocation_kinds():
    lib = build_library(module(), A64)
    found = kinds_by_target(lib)
    assert found[TARGET_CONT] == {KIND_A64_BRANCH26}
    assert found[TARGET_RUNTIME] == {KIND_A64_BRANCH26, KIND_A64_GOT_PAGE, KIND_A64_GOT_LO12}
    for target in (TARGET_VALUE, TARGET_ADDR, TARGET_RODATA):
        assert found[target] <= set(range(KIND_A64_MOVW_G0_NC, KIND_A64_MOVW_G3 + 1)), target


def test_trim_only_for_a_final_jump_to_continuation_0(x86_lib):
    trim = {name: int(x86_lib.stencils[i, S_TRIM]) for i, name in enumerate(x86_lib.stencil_names)}
    assert trim["store_imm"] == trim["add_imm"] == trim["count"] == 5
    assert trim["ret_imm"] == trim["branch"] == 0
    assert trim["load"] == 0          # its jmp __cont.0 is followed by the dispatch path
    for i, name in enumerate(x86_lib.stencil_names):
        code = x86_lib.stencil_bytes(i)
        assert len(code) == x86_lib.stencils[i, S_SIZE]
        if trim[name]:
            assert code[-5] == 0xE9


def test_describe(x86_lib):
    text = x86_lib.describe("load")
    assert "R_X86_64_32 -> value imm" in text and "runtime pyemu_dispatch" in text


@pytest.mark.parametrize("triple", (X86, A64))
def test_hole_used_as_i64_is_refused(triple):
    if triple == X86:
        with pytest.raises(StencilBuildError, match=r"'hole_as_i64'.*'reg'.*R_X86_64_32S.*to i32"):
            build_library(module([], bad=["hole_as_i64"]), triple)
    else:   # AArch64 (large code model) has no sign-extended immediates: fine there
        build_library(module([], bad=["hole_as_i64"]), triple)


@pytest.mark.parametrize("triple", (X86, A64))
def test_called_continuation_is_refused(triple):
    with pytest.raises(StencilBuildError, match="'called_cont'.*continuation 1.*musttail"):
        build_library(module([], bad=["called_cont"]), triple)


def test_writable_data_is_refused():
    with pytest.raises(StencilBuildError, match="'writable'.*writable"):
        build_library(module([], bad=["writable"]), X86)


def test_aarch64_needs_dso_local_holes():
    with pytest.raises(StencilBuildError, match="'store_imm'.*GOT.*dso_local"):
        build_library(module(["store_imm"], dso_local_holes=False), A64)


def test_bad_ir_and_triples():
    with pytest.raises(StencilBuildError, match="does not parse"):
        build_library("define i32 @x( {", X86)
    with pytest.raises(ValueError, match="unsupported target triple"):
        build_library(module(["ret_imm"]), "riscv64-unknown-linux-gnu")
    with pytest.raises(StencilBuildError, match="defines no functions"):
        build_library("", X86)


def test_unknown_continuation_is_refused():
    text = module(["ret_imm"]).replace(
        "  ret i32 ptrtoint", '  %r = musttail call i32 @"__cont.3"(ptr %s, ptr %e)\n  ret i32 %r\n'
        '}\ndefine i32 @other(ptr %s, ptr %e) #0 {\n  ret i32 ptrtoint')
    text = 'declare i32 @"__cont.3"(ptr, ptr)\n' + text
    with pytest.raises(StencilBuildError, match="unknown continuation '__cont.3'"):
        build_library(text, X86)
