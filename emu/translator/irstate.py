"""Addressing CpuState and Env fields from LLVM IR, by name."""
import ctypes

import llvmlite.ir as ir

from ..cpu.state import CPU_STATE_IR, CpuStateDesc, StructDesc

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
TB_FN = ir.FunctionType(I32, [PTR, PTR])     # every block and the dispatcher

INT_TYPES = {1: I8, 2: I16, 4: I32, 8: I64}


class _FunctionPointerLoad(ir.instructions.LoadInstr):
    """A load of a block entry point, callable by IRBuilder.call (llvmlite
    wants a function_type; an opaque `ptr` keeps the IR free of typed pointers)."""
    function_type = TB_FN


def load_function_pointer(b, ptr, name=""):
    instr = _FunctionPointerLoad(b.block, ptr, name=name, typ=PTR)
    b._insert(instr)
    return instr


class _FunctionPointerCast(ir.instructions.CastInstr):
    """An integer made a block entry point (inttoptr), callable by IRBuilder.call."""
    function_type = TB_FN


def function_pointer(b, address, name=""):
    instr = _FunctionPointerCast(b.block, "inttoptr", address, PTR, name=name)
    b._insert(instr)
    return instr


def opaque_global(module, value_type, name):
    """A global variable whose address prints as a plain `ptr`."""
    g = ir.GlobalVariable(module, value_type, name)
    g.type = PTR
    return g


def c32(v):
    return ir.Constant(I32, v & 0xFFFFFFFF)


def c64(v):
    return ir.Constant(I64, v & 0xFFFFFFFFFFFFFFFF)


def const(v, size):
    return ir.Constant(INT_TYPES[size], v & ((1 << (8 * size)) - 1))


def field_ptr(b, sptr, *path, desc=CpuStateDesc, irtype=CPU_STATE_IR):
    """Pointer to a field: field_ptr(b, s, "seg", 1, "base"); indexes may be ir values."""
    indices = [ir.Constant(I32, 0)]
    d = desc
    name = []
    for p in path:
        if isinstance(p, str):
            indices.append(ir.Constant(I32, d.index[p]))
            ft = d.field_type(p)
            if isinstance(ft, StructDesc):
                d = ft
            name.append(p)
        elif isinstance(p, int):
            indices.append(ir.Constant(I32, p))
            name.append(str(p))
        else:
            indices.append(p)
            name.append("i")
    return b.gep(sptr, indices, inbounds=True, source_etype=irtype, name=".".join(name) + ".p")


def field_type(*path, desc=CpuStateDesc):
    d = desc
    t = None
    for p in path:
        if isinstance(p, str):
            t = d.field_type(p)
            if isinstance(t, StructDesc):
                d = t
    return t


_LLVM_OF = {"u8": I8, "u16": I16, "u32": I32, "i32": I32, "u64": I64, "i64": I64}


def load_field(b, sptr, *path, desc=CpuStateDesc, irtype=CPU_STATE_IR):
    """Load a field.  Every block is its own function, so a field another thread
    writes (exit_request) is read afresh at each block entry without volatile."""
    t = _LLVM_OF[field_type(*path, desc=desc)]
    p = field_ptr(b, sptr, *path, desc=desc, irtype=irtype)
    return b.load(p, typ=t, name=".".join(str(x) if isinstance(x, (str, int)) else "i" for x in path))


def store_field(b, sptr, value, *path, desc=CpuStateDesc, irtype=CPU_STATE_IR):
    t = _LLVM_OF[field_type(*path, desc=desc)]
    if value.type != t:
        value = b.zext(value, t) if value.type.width < t.width else b.trunc(value, t)
    p = field_ptr(b, sptr, *path, desc=desc, irtype=irtype)
    return b.store(value, p)


# --- Env: what the dispatcher needs besides the CPU ---------------------------------
EnvDesc = StructDesc("Env", [
    ("jmp_cache", "u64", None),   # -> JumpEntry[jmp_mask + 1]
    ("jmp_mask", "u32", None),
    ("link_count", "u32", None),  # links the dispatcher made since Python last looked
    ("link_log", "u64", None),    # -> u64[2 * link_cap]: (slot address, block entry) per link
    ("link_cap", "u32", None),    # 0: the dispatcher links nothing (PYEMU_NOCHAIN)
    ("pad", "u32", None),
], "per-machine data for the native dispatcher")
Env = EnvDesc.ctype()
ENV_IR = EnvDesc.irtype()


class JumpEntry(ctypes.Structure):
    """Jump cache entry: linear pc + hflags -> block entry point."""
    _fields_ = [("pc", ctypes.c_uint32), ("hflags", ctypes.c_uint32), ("fn", ctypes.c_uint64)]


JUMP_ENTRY_IR = ir.global_context.get_identified_type("JumpEntry")
if JUMP_ENTRY_IR.is_opaque:
    JUMP_ENTRY_IR.set_body(I32, I32, I64)


def jump_hash(pc, mask):
    return (pc ^ (pc >> 12)) & mask
