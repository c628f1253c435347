"""The executable arena: one reservation of memory that holds every piece of copy-and-patch
code, the runtime stubs, the stencils' constants and small data (counters), so that all
PC-relative references between them are in range.

Layout (addresses grow to the right):

    base                                                                     base+size
    | fixed: stubs, constants -> |  code ->  ...free...  <- data (counters) |
                                 code_start

The fixed part is filled once (stubs are made on demand per runtime symbol, constants once
per library) and survives reset(); code grows up from code_start, data down from the end.

Memory: an anonymous private mapping, read+write+execute, MAP_NORESERVE (pages cost only
when touched).  Where the kernel refuses writable+executable memory (SELinux execmem,
PaX-style W^X), mode "auto" falls back to a double mapping of one memfd: a read+write view
that the emitter writes through and a read+execute view at another address that runs; the
emitter takes both (see `mem` and `base`).  If that is refused too, ArenaError says so.

Size limits: x86-64 code reaches stubs, constants and counters with rel32 fields, so the
arena stays under 2 GB; AArch64 branches (B/BL) reach +-128 MB, so at most 128 MB there.

Instruction cache: AArch64 needs the written range cleaned to the point of unification
and the instruction cache invalidated (libgcc's __clear_cache); x86-64 keeps them coherent.
"""
import ctypes
import ctypes.util
import errno
import mmap
import os
import platform

import numpy as np

from .contract import AARCH64, MAX_ARENA, X86_64
from .relocs import STUB_SIZE


class ArenaError(Exception):
    """The arena cannot be made, or a request does not fit its rules."""


class ArenaFull(ArenaError):
    """No room left for code or data: flush all blocks (reset()) and translate again."""


PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE = 1, 2
MAP_ANONYMOUS = getattr(mmap, "MAP_ANONYMOUS", 0x20)
MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)
MAP_FAILED = ctypes.c_void_p(-1).value

DEFAULT_SIZE = {X86_64: 256 << 20, AARCH64: 128 << 20}
DEFAULT_FIXED = 1 << 20
CODE_ALIGN = 16

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def host_arch():
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return X86_64
    if machine in ("aarch64", "arm64"):
        return AARCH64
    raise ArenaError(f"copy-and-patch arena: unsupported host {machine!r}")


def _mmap(addr, size, prot, flags, fd=-1):
    p = _libc.mmap(addr, size, prot, flags, fd, 0)
    if p is None or p == MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap: {os.strerror(err)}")
    return p


def _view(addr, size):
    return np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(addr))


def stub_bytes(arch, address):
    """A stub that jumps to an absolute 64-bit address, its last 8 bytes being that address."""
    word = int(address).to_bytes(8, "little")
    if arch == X86_64:
        return b"\xff\x25\x00\x00\x00\x00" + word + b"\xcc\xcc"      # jmp qword ptr [rip+0]
    # ldr x16, #8 ; br x16   (x16 is the intra-procedure-call scratch register IP0)
    return (0x58000050).to_bytes(4, "little") + (0xD61F0200).to_bytes(4, "little") + word


def _icache_flusher(arch):
    if arch != AARCH64:
        return None
    for name in ("libgcc_s.so.1", ctypes.util.find_library("gcc_s"), None):
        try:
            fn = ctypes.CDLL(name)["__clear_cache"]
        except (OSError, AttributeError, TypeError):
            continue
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        return fn
    raise ArenaError("AArch64 arena: __clear_cache not found (libgcc_s); cannot flush the "
                     "instruction cache")


class Arena:
    """Executable memory for copy-and-patch code.  See the module docstring.

    Arena(size=None, arch=None, mode="auto", fixed_size=None, address_hint=0)
      size: default 256 MB (x86-64) / 128 MB (AArch64), reserved, not committed.
      fixed_size: room for stubs and constants; default 1 MB (an eighth of a small arena).
      mode: "auto" (read+write+execute, else double mapping), "rwx", "dual".
      address_hint: preferred address of the executable view (tests use it to put the
      arena far from everything else); the kernel may ignore it.
    Arena.over_buffer(mem, base, arch): an arena over a plain uint8 array that claims to
      live at `base` (not executable; for emitting another architecture's code in tests).
    """

    def __init__(self, size=None, *, arch=None, mode="auto", fixed_size=None, address_hint=0):
        self.arch = arch or host_arch()
        size = int(size or DEFAULT_SIZE[self.arch])
        fixed_size = _fixed_size(size, fixed_size)
        self._check_sizes(size, fixed_size)
        if self.arch != host_arch():
            raise ArenaError(f"an executable arena for {self.arch} cannot run on this "
                             f"{host_arch()} host; use Arena.over_buffer")
        self._maps = []
        self._closed = False
        page = mmap.PAGESIZE
        size = (size + page - 1) // page * page
        if mode not in ("auto", "rwx", "dual"):
            raise ArenaError(f"arena mode {mode!r}: expected 'auto', 'rwx' or 'dual'")
        self.mode = None
        failures = []
        if mode in ("auto", "rwx"):
            try:
                p = _mmap(address_hint, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
                self._maps.append((p, size))
                self.base, self.mem, self.mode = p, _view(p, size), "rwx"
            except OSError as exc:
                failures.append(f"read+write+execute mapping: {exc}")
                if exc.errno not in (errno.EACCES, errno.EPERM) or mode == "rwx":
                    raise ArenaError("; ".join(failures)) from None
        if self.mode is None:
            try:
                self._map_dual(size, address_hint)
            except OSError as exc:
                failures.append(f"double mapping of a memfd: {exc}")
                raise ArenaError("cannot get executable memory: " + "; ".join(failures)) from None
        self._flush = _icache_flusher(self.arch)
        self.executable = True
        self._init_layout(size, fixed_size)

    def _map_dual(self, size, address_hint):
        fd = os.memfd_create("pyemu-cnp-arena", 0)
        try:
            os.ftruncate(fd, size)
            rw = _mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd)
            self._maps.append((rw, size))
            rx = _mmap(address_hint, size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_NORESERVE, fd)
            self._maps.append((rx, size))
        finally:
            os.close(fd)
        self.base, self.mem, self.mode = rx, _view(rw, size), "dual"

    @classmethod
    def over_buffer(cls, mem, base, arch, *, fixed_size=None):
        """An arena over `mem` (uint8, C-contiguous) whose first byte is at address `base`."""
        self = cls.__new__(cls)
        self.arch = arch
        if not (isinstance(mem, np.ndarray) and mem.dtype == np.uint8 and mem.ndim == 1
                and mem.flags.c_contiguous and mem.flags.writeable):
            raise ArenaError("over_buffer: mem must be a writable C-contiguous uint8 array")
        fixed_size = _fixed_size(mem.shape[0], fixed_size)
        self._check_sizes(mem.shape[0], fixed_size)
        self._maps, self._closed = [], False
        self.base, self.mem, self.mode = int(base), mem, "buffer"
        self._flush = None
        self.executable = False
        self._init_layout(mem.shape[0], fixed_size)
        return self

    def _check_sizes(self, size, fixed_size):
        if self.arch not in MAX_ARENA:
            raise ArenaError(f"arena: unsupported architecture {self.arch!r}")
        if size > MAX_ARENA[self.arch]:
            raise ArenaError(f"arena of {size} bytes: {self.arch} code can only span "
                             f"{MAX_ARENA[self.arch]} bytes with its PC-relative references")
        if not 0 < fixed_size < size or fixed_size % CODE_ALIGN:
            raise ArenaError(f"arena: fixed part of {fixed_size} bytes does not fit {size} bytes "
                             f"(or is not a multiple of {CODE_ALIGN})")

    def _init_layout(self, size, fixed_size):
        self.size = size
        self.end = self.base + size
        self.code_start = self.base + fixed_size
        self.fixed_top = self.base
        self.code_top = self.code_start
        self.data_bottom = self.end
        self.stubs = {}           # runtime name -> stub address
        self._constants = {}      # id(library) -> (library, address)
        self.generation = 0       # bumped by reset(): addresses of older code are stale

    # --- allocation -------------------------------------------------------------------------
    def alloc_fixed(self, nbytes, align=16):
        addr = _align(self.fixed_top, align)
        if addr + nbytes > self.code_start:
            raise ArenaError(f"arena: fixed part full ({self.code_start - self.base} bytes); "
                             f"make the arena with a larger fixed_size")
        self.fixed_top = addr + nbytes
        return addr

    def alloc_code(self, nbytes, align=CODE_ALIGN):
        addr = _align(self.code_top, align)
        if addr + nbytes > self.data_bottom:
            raise ArenaFull(f"arena full: {nbytes} bytes of code do not fit")
        self.code_top = addr + nbytes
        return addr

    def alloc_data(self, nbytes, align=8):
        addr = (self.data_bottom - nbytes) & ~(align - 1)
        if addr < _align(self.code_top, CODE_ALIGN):
            raise ArenaFull(f"arena full: {nbytes} bytes of data do not fit")
        self.data_bottom = addr
        self.mem[addr - self.base:addr - self.base + nbytes] = 0
        return addr

    def free(self):
        """Bytes left between code and data."""
        return self.data_bottom - _align(self.code_top, CODE_ALIGN)

    def reset(self):
        """Drop all code and data (every block, every counter); stubs and constants stay.
        Used when the arena is full: the translator flushes its blocks and starts over."""
        self.code_top = self.code_start
        self.data_bottom = self.end
        self.generation += 1

    # --- access -----------------------------------------------------------------------------
    def contains(self, addr, nbytes=1):
        return self.base <= addr and addr + nbytes <= self.end

    def write(self, addr, data):
        """Copy bytes to an arena address (bounds-checked)."""
        data = bytes(data)
        if not self.contains(addr, len(data)):
            raise ArenaError(f"write of {len(data)} bytes at {addr:#x} is outside the arena")
        self.mem[addr - self.base:addr - self.base + len(data)] = np.frombuffer(data, np.uint8)

    def read(self, addr, nbytes):
        if not self.contains(addr, nbytes):
            raise ArenaError(f"read of {nbytes} bytes at {addr:#x} is outside the arena")
        return bytes(self.mem[addr - self.base:addr - self.base + nbytes])

    def flush_icache(self, start, end):
        if self._flush is not None and end > start:
            self._flush(start, end)

    # --- runtime stubs and constants ------------------------------------------------------------
    def stub(self, name, address):
        """The stub through which arena code reaches runtime function `name` at `address`,
        made on first request; asking again with another address re-points it."""
        if not 0 < int(address) < 1 << 64:
            raise ArenaError(f"runtime symbol {name!r}: bad address {address!r}")
        addr = self.stubs.get(name)
        if addr is None:
            addr = self.alloc_fixed(STUB_SIZE, 16)
            self.stubs[name] = addr
        self.write(addr, stub_bytes(self.arch, address))
        self.flush_icache(addr, addr + STUB_SIZE)
        return addr

    def constants(self, library):
        """Address where `library`'s constant data lives in this arena (laid out once)."""
        entry = self._constants.get(id(library))
        if entry is None:
            addr = self.alloc_fixed(max(1, library.rodata.shape[0]), library.rodata_align)
            self.write(addr, library.rodata.tobytes())
            entry = self._constants[id(library)] = (library, addr)
        return entry[1]

    def close(self):
        """Unmap the memory.  Code in it must not run any more."""
        if not self._closed:
            self._closed = True
            self.mem = None
            for p, size in self._maps:
                _libc.munmap(p, size)
            self._maps = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fixed_size(size, fixed_size):
    """The fixed part: as asked, else 1 MB or an eighth of a smaller arena."""
    if fixed_size is not None:
        return int(fixed_size)
    return max(CODE_ALIGN, min(DEFAULT_FIXED, size // 8) & ~(CODE_ALIGN - 1))


def _align(x, a):
    return (x + a - 1) & ~(a - 1)
