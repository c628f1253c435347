"""Guest linear-address accesses from Python (helpers, the debugger, loaders).

Goes through the same page walk as native code (paging.translate), so
accessed/dirty bits and #PF error codes are the same; a fault raises
GuestFault with the exception the walk recorded in the CPU state.
"""
import struct

import numpy as np
from numba import njit

from ..translator.faults import GuestFault
from .native import STATE_DTYPE
from .paging import ACC_READ, ACC_WRITE, T_OK, translate
from .phys import PAGE_SIZE


@njit(cache=True)
def _translate(state_array, lin, access, user):
    return translate(state_array[0], lin, access, user)


class LinearMemory:
    def __init__(self, cpu, phys):
        self.cpu = cpu
        self.phys = phys
        self.state_array = np.frombuffer(cpu, dtype=STATE_DTYPE, count=1)

    def to_phys(self, lin, write=False, user=False):
        st, phys, _, _ = _translate(self.state_array, lin & 0xFFFFFFFF, ACC_WRITE if write else ACC_READ, user)
        if st != T_OK:
            raise GuestFault(14, self.cpu.exc_error, address=lin & 0xFFFFFFFF)
        return int(phys)

    def _pieces(self, lin, length, write, user):
        """[(phys, n)] covering [lin, lin+length); every page is checked before any access."""
        out = []
        pos = 0
        while pos < length:
            a = (lin + pos) & 0xFFFFFFFF
            n = min(length - pos, PAGE_SIZE - (a & (PAGE_SIZE - 1)))
            out.append((self.to_phys(a, write, user), n))
            pos += n
        return out

    def read(self, lin, length, user=False):
        return b"".join(self.phys.read(p, n) for p, n in self._pieces(lin, length, False, user))

    def write(self, lin, data, user=False):
        data = bytes(data)
        pos = 0
        for p, n in self._pieces(lin, len(data), True, user):
            self.phys.write(p, data[pos:pos + n])
            pos += n

    def read_u8(self, lin, user=False):
        return self.read(lin, 1, user)[0]

    def read_u16(self, lin, user=False):
        return struct.unpack("<H", self.read(lin, 2, user))[0]

    def read_u32(self, lin, user=False):
        return struct.unpack("<I", self.read(lin, 4, user))[0]

    def read_u64(self, lin, user=False):
        return struct.unpack("<Q", self.read(lin, 8, user))[0]

    def write_u8(self, lin, v, user=False):
        self.write(lin, bytes([v & 0xFF]), user)

    def write_u16(self, lin, v, user=False):
        self.write(lin, struct.pack("<H", v & 0xFFFF), user)

    def write_u32(self, lin, v, user=False):
        self.write(lin, struct.pack("<I", v & 0xFFFFFFFF), user)
