"""The CpuState ctypes structure and its LLVM type must put every field at the same offset."""
import ctypes

import llvmlite.binding as llvm

from emu.cpu.state import CpuState, CpuStateDesc, StructDesc
from emu.translator.jit import JitEngine


def _llvm_struct(engine, desc):
    mod = llvm.parse_assembly("%s\n@probe = global %%\"%s\" zeroinitializer\n" % (
        _type_defs(desc), desc.name))
    mod.data_layout = engine.data_layout
    return mod.get_global_variable("probe").global_value_type, llvm.create_target_data(engine.data_layout)


def _type_defs(desc):
    import llvmlite.ir as ir
    m = ir.Module()
    g = ir.GlobalVariable(m, desc.irtype(), "x")
    g.initializer = ir.Constant(desc.irtype(), None)
    text = str(m)
    return "\n".join(line for line in text.splitlines() if line.startswith("%"))


def test_every_field_offset_matches():
    engine = JitEngine()
    ty, td = _llvm_struct(engine, CpuStateDesc)
    assert td.get_abi_size(ty) == ctypes.sizeof(CpuState)
    for i, (name, ftype, *_rest) in enumerate(CpuStateDesc.fields):
        assert td.get_element_offset(ty, i) == getattr(CpuState, name).offset, name


def test_nested_structures_match():
    engine = JitEngine()
    for name, ftype, *_ in CpuStateDesc.fields:
        if isinstance(ftype, StructDesc):
            ty, td = _llvm_struct(engine, ftype)
            ct = ftype.ctype()
            assert td.get_abi_size(ty) == ctypes.sizeof(ct), ftype.name
            for i, (fname, *_r) in enumerate(ftype.fields):
                assert td.get_element_offset(ty, i) == getattr(ct, fname).offset, (ftype.name, fname)
