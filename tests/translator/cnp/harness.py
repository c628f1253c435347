"""Helpers of the copy-and-patch tests: the CPU-state stand-in, runtime functions, calling
emitted code, building emission requests."""
import ctypes
import os

import numpy as np
from numba import cfunc, types

from .stencil_ir import REGS

# Where the test arena asks to be: tens of terabytes away from the process's libraries,
# heap and numba's code, so that runtime calls only work through the 64-bit stubs (one
# slot per process, for parallel test workers).
FAR_HINT = 0x3F00_0000_0000 + (os.getpid() % 4096) * (1 << 32)

ENTRY = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p)
LOAD = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                        ctypes.c_uint32)
DISPATCH_RESULT = 0x5EED


class State(ctypes.Structure):
    _fields_ = [("r", ctypes.c_uint64 * REGS)]


@cfunc(types.int32(types.voidptr, types.voidptr), cache=False)
def _dispatch(s, e):
    return DISPATCH_RESULT


class Runtime:
    """pyemu_load as a ctypes callback that records its arguments and returns addr * 2,
    or -1 for address 0xBAD; pyemu_dispatch as a numba cfunc."""

    def __init__(self):
        self.calls = []
        self._load = LOAD(self._on_load)
        self.addresses = {"pyemu_load": ctypes.cast(self._load, ctypes.c_void_p).value,
                          "pyemu_dispatch": _dispatch.address}

    def _on_load(self, s, addr, size, flags):
        self.calls.append((s, addr, size, flags))
        return -1 if addr == 0xBAD else addr * 2


def run(entry, state=None, env=None):
    """Call emitted code at `entry` as uint32 (ptr s, ptr e); returns (result, state)."""
    state = state if state is not None else State()
    result = ENTRY(entry)(ctypes.addressof(state), env)
    return result, state


def pieces(lib, *specs):
    """ids, values, addrs, conts for pieces given as (stencil, {role or addr: value},
    {k: cont}) tuples (the last two optional)."""
    n = len(specs)
    ids = np.zeros(n, np.int32)
    values = np.zeros((n, len(lib.roles)), np.uint32)
    addrs = np.zeros((n, len(lib.addr_names)), np.uint64)
    conts = np.zeros((n, 3), np.int64)
    for i, spec in enumerate(specs):
        name, holes, cont = (tuple(spec) + ({}, {}))[:3]
        ids[i] = lib.stencil_id(name)
        for key, v in holes.items():
            if key in lib.roles:
                values[i, lib.role_id(key)] = v
            else:
                addrs[i, lib.addr_id(key)] = v
        for k, v in cont.items():
            conts[i, k] = v
    return ids, values, addrs, conts


def piece(j):
    """conts value meaning 'the start of piece j of this emission'."""
    return -1 - j
