"""Guest linear-address accesses from Python (helpers, the debugger, loaders).

Goes through the same page walk as native code (paging.translate), so
accessed/dirty bits and #PF error codes are the same; a fault raises
GuestFault with the exception the walk recorded in the CPU state.  `peek`
and `poke` are the debugger's accesses: the same walk with no side effect
(paging.ACC_PEEK).
"""
import struct

import numpy as np
from numba import njit

from ..cpu.faults import GuestFault
from ..cpu.vectors import Vector
from .native import STATE_DTYPE
from .paging import ACC_PEEK, ACC_READ, ACC_WRITE, T_OK, translate
from .phys import PAGE_CODE, PAGE_PT, PAGE_RAM, PAGE_SHIFT, PAGE_SIZE, PHYS_PAGES

_FORMATS = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"), 8: struct.Struct("<Q")}


@njit(cache=True)
def translate_array(state_array, lin, access, user):
    """paging.translate for the CPU state as a one-element STATE_DTYPE array."""
    return translate(state_array[0], lin, access, user)


class LinearMemory:
    def __init__(self, cpu, phys):
        self.cpu = cpu
        self.phys = phys
        self.state_array = np.frombuffer(cpu, dtype=STATE_DTYPE, count=1)
        self._ram = memoryview(phys.ram)

    def _ram_offset(self, lin, size, access, user, clean):
        """The fast path of a word access (interrupt delivery, IRET, descriptor
        reads make thousands a second): the RAM offset of [lin, lin+size) when it
        lies in one page of plain RAM (with `clean`, also holding no translated
        code and no page table, whose writes need the general path's hooks),
        else None.  A page fault raises as on the general path."""
        if (lin & (PAGE_SIZE - 1)) + size > PAGE_SIZE:
            return None
        st, phys, _, _ = translate_array(self.state_array, lin, access, user)
        if st != T_OK:
            raise GuestFault(Vector.PF, self.cpu.exc_error, address=lin)
        phys = int(phys)
        pfn = phys >> PAGE_SHIFT
        if pfn >= PHYS_PAGES:                   # above 4 GB (PAE): the general path reads 0xFF
            return None
        flags = self.phys.flags[pfn]
        if not flags & PAGE_RAM or (clean and flags & (PAGE_CODE | PAGE_PT)):
            return None
        return phys

    def _read_word(self, lin, size, user):
        at = self._ram_offset(lin, size, ACC_READ, user, clean=False)
        if at is None:
            return int.from_bytes(self.read(lin, size, user), "little")
        return _FORMATS[size].unpack_from(self._ram, at)[0]

    def _write_word(self, lin, size, v, user):
        v &= (1 << (8 * size)) - 1
        at = self._ram_offset(lin, size, ACC_WRITE, user, clean=True)
        if at is None:
            self.write(lin, v.to_bytes(size, "little"), user)
        else:
            _FORMATS[size].pack_into(self._ram, at, v)

    def to_phys(self, lin, write=False, user=False):
        return self.pieces(lin, 1, ACC_WRITE if write else ACC_READ, user)[0][0]

    def pieces(self, lin, length, access=ACC_READ, user=False):
        """[(phys, n)] covering [lin, lin+length), one a page; every page is
        translated before any byte is accessed.  A fault raises GuestFault; with
        ACC_PEEK in access the answer is None instead, and the CPU state is
        left as it was."""
        out = []
        pos = 0
        while pos < length:
            a = (lin + pos) & 0xFFFFFFFF
            n = min(length - pos, PAGE_SIZE - (a & (PAGE_SIZE - 1)))
            st, phys, _, _ = translate_array(self.state_array, a, access, user)
            if st != T_OK:
                if access & ACC_PEEK:
                    return None
                raise GuestFault(Vector.PF, self.cpu.exc_error, address=a)
            out.append((int(phys), n))
            pos += n
        return out

    def _read(self, pieces):
        return b"".join(self.phys.read(p, n) for p, n in pieces)

    def _write(self, pieces, data):
        data = bytes(data)
        pos = 0
        for p, n in pieces:
            self.phys.write(p, data[pos:pos + n])       # invalidates code translated from there
            pos += n

    def read(self, lin, length, user=False):
        return self._read(self.pieces(lin, length, ACC_READ, user))

    def write(self, lin, data, user=False):
        self._write(self.pieces(lin, len(data), ACC_WRITE, user), data)

    def peek(self, lin, length):
        """The bytes at [lin, lin+length) as a supervisor read finds them, or None
        if a page of them is not mapped; no accessed bit, no #PF (CR2 and the
        pending exception stay), nothing cached: for a debugger."""
        pieces = self.pieces(lin, length, ACC_READ | ACC_PEEK)
        return None if pieces is None else self._read(pieces)

    def poke(self, lin, data):
        """Write data at lin as peek reads, with no side effect in the paging
        structures either: a debugger may write read-only pages, and sets no
        dirty bit.  False (nothing written) if a page is not mapped."""
        pieces = self.pieces(lin, len(data), ACC_READ | ACC_PEEK)
        if pieces is None:
            return False
        self._write(pieces, data)
        return True

    def read_u8(self, lin, user=False):
        return self._read_word(lin, 1, user)

    def read_u16(self, lin, user=False):
        return self._read_word(lin, 2, user)

    def read_u32(self, lin, user=False):
        return self._read_word(lin, 4, user)

    def read_u64(self, lin, user=False):
        return self._read_word(lin, 8, user)

    def write_u8(self, lin, v, user=False):
        self._write_word(lin, 1, v, user)

    def write_u16(self, lin, v, user=False):
        self._write_word(lin, 2, v, user)

    def write_u32(self, lin, v, user=False):
        self._write_word(lin, 4, v, user)
