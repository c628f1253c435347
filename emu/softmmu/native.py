"""Small numba building blocks shared by the native slow paths."""
import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic

from ..cpu.state import CpuState

STATE_DTYPE = np.dtype(CpuState)


@intrinsic
def u8_ptr(typingctx, addr):
    """An integer host address as a uint8 pointer (for numba.carray)."""
    sig = types.CPointer(types.uint8)(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.uint8)))
    return sig, codegen


@intrinsic
def u32_ptr(typingctx, addr):
    sig = types.CPointer(types.uint32)(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.uint32)))
    return sig, codegen


@intrinsic
def u64_ptr(typingctx, addr):
    sig = types.CPointer(types.uint64)(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.uint64)))
    return sig, codegen


@njit(cache=True, nogil=True)
def state_view(sp):
    return carray(sp, 1, dtype=STATE_DTYPE)


@njit(cache=True, nogil=True)
def read_host(addr, size):
    """Little-endian read of size bytes at a host address."""
    p = carray(u8_ptr(addr), size)
    v = np.uint64(0)
    for k in range(size):
        v |= np.uint64(p[k]) << np.uint64(8 * k)
    return v


@njit(cache=True, nogil=True)
def write_host(addr, size, value):
    p = carray(u8_ptr(addr), size)
    for k in range(size):
        p[k] = np.uint8((value >> np.uint64(8 * k)) & np.uint64(0xFF))
