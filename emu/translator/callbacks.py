"""Python entry points that generated code calls (ctypes callbacks).

Native code reaches Python only here: device I/O, MMIO, writes to pages
holding translated code, and the rare instructions implemented in Python
(`helper_*` functions registered with `python_helper`).  Each callback finds
its machine from the CpuState address, so many machines can run in one
process.  An exception raised by Python code (a device bug, Ctrl-C) must not
unwind through native frames: it is stored on the machine, the CPU is asked to
leave native code, and the run loop re-raises it.
"""
import ctypes

from ..cpu.faults import GuestFault
from .errors import TranslationError
from .exits import HELPER_FAULT, HELPER_STOP

_machines = {}      # CpuState address -> machine (the object with the handlers)
_helpers = []       # helper id -> function(machine, a0, a1, a2) -> status
_helper_ids = {}


def register_machine(state_addr, machine):
    _machines[state_addr] = machine


def unregister_machine(state_addr):
    _machines.pop(state_addr, None)


def python_helper(func):
    """Register func(machine, a0, a1, a2) -> status as a helper callable from IR."""
    name = func.__name__
    if name in _helper_ids:
        return func
    _helper_ids[name] = len(_helpers)
    _helpers.append(func)
    return func


def helper_numbering():
    """The helpers' names by number, as code made with them calls them."""
    return sorted(_helper_ids.items(), key=lambda item: item[1])


def helper_id(name):
    if name not in _helper_ids:
        raise TranslationError("no Python helper %s" % name)
    return _helper_ids[name]


def _fail(state_addr, exc):
    m = _machines.get(state_addr)
    if m is not None:
        m.callback_failed(exc)


_IO_READ = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32)
_IO_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)
_MMIO_READ = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32)
_MMIO_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint64)
_CODE_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32)
_HELPER = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32,
                           ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)


@_IO_READ
def _io_read(sp, port, size):
    try:
        return _machines[sp].io_read(port, size)
    except BaseException as e:      # noqa: B036 - must not unwind through native code
        _fail(sp, e)
        return 0xFFFFFFFF


@_IO_WRITE
def _io_write(sp, port, size, value):
    try:
        _machines[sp].io_write(port, size, value)
    except BaseException as e:      # noqa: B036
        _fail(sp, e)


@_MMIO_READ
def _mmio_read(sp, phys, size):
    try:
        return _machines[sp].mmio_read(phys, size)
    except BaseException as e:      # noqa: B036
        _fail(sp, e)
        return 0xFFFFFFFFFFFFFFFF


@_MMIO_WRITE
def _mmio_write(sp, phys, size, value):
    try:
        _machines[sp].mmio_write(phys, size, value)
    except BaseException as e:      # noqa: B036
        _fail(sp, e)


@_CODE_WRITE
def _code_write(sp, phys, size):
    try:
        _machines[sp].code_write(phys, size)
    except BaseException as e:      # noqa: B036
        _fail(sp, e)


@_HELPER
def _helper(sp, hid, a0, a1, a2):
    try:
        return _machines[sp].call_helper(_helpers[hid], a0, a1, a2)
    except GuestFault as f:
        f.record(_machines[sp].cpu)
        return HELPER_FAULT
    except BaseException as e:      # noqa: B036
        _fail(sp, e)
        return HELPER_STOP


SYMBOLS = {
    "pyemu_py_io_read": _io_read,
    "pyemu_py_io_write": _io_write,
    "pyemu_py_mmio_read": _mmio_read,
    "pyemu_py_mmio_write": _mmio_write,
    "pyemu_py_code_write": _code_write,
    "pyemu_py_helper": _helper,
}


def symbol_addresses():
    return {name: ctypes.cast(f, ctypes.c_void_p).value for name, f in SYMBOLS.items()}
