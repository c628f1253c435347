"""What the Python helpers share: EFLAGS as a whole, guest stacks."""
from ...cpu import hflags as H
from ...cpu.state import ESP, SS
from .. import lazyflags as LF


def get_eflags(m):
    return m.eflags()


def set_eflags(m, value, mask=0xFFFFFFFF):
    """EFLAGS = (EFLAGS & ~mask) | (value & mask); the arithmetic flags go to the lazy state."""
    cpu = m.cpu
    new = (m.eflags() & ~mask) | (value & mask)
    cpu.eflags = (new & ~H.ARITH_FLAGS & 0xFFFFFFFF) | H.FIXED_ONE
    cpu.cc_op = LF.CC_EFLAGS
    cpu.cc_src = new & H.ARITH_FLAGS
    cpu.cc_dst = 0
    cpu.cc_src2 = 0


class GuestStack:
    """A stack at SS base `base`, pointer `sp`, 32-bit (big) or 16-bit, accessed
    with the privilege of `user`.  Pushes and pops go to memory at once; the
    caller commits `sp` to ESP when the whole operation has succeeded."""

    def __init__(self, m, base, sp, big, user=False):
        self.m = m
        self.base = base
        self.mask = 0xFFFFFFFF if big else 0xFFFF
        self.sp = sp & self.mask
        self.full_sp = sp
        self.user = user

    @classmethod
    def current(cls, m):
        cpu = m.cpu
        ss = cpu.seg[SS]
        return cls(m, ss.base, cpu.regs[ESP] & 0xFFFFFFFF, bool(ss.flags & H.DESC_B),
                   (cpu.hflags & H.HF_CPL_MASK) == 3)

    def push(self, value, size):
        self.sp = (self.sp - size) & self.mask
        addr = (self.base + self.sp) & 0xFFFFFFFF
        if size == 4:
            self.m.mem.write_u32(addr, value, self.user)
        else:
            self.m.mem.write_u16(addr, value, self.user)

    def pop(self, size):
        addr = (self.base + self.sp) & 0xFFFFFFFF
        v = self.m.mem.read_u32(addr, self.user) if size == 4 else self.m.mem.read_u16(addr, self.user)
        self.sp = (self.sp + size) & self.mask
        return v

    def peek(self, offset, size):
        addr = (self.base + ((self.sp + offset) & self.mask)) & 0xFFFFFFFF
        return self.m.mem.read_u32(addr, self.user) if size == 4 else self.m.mem.read_u16(addr, self.user)

    def esp_value(self, old_esp=None):
        """ESP after the operation: a 16-bit stack keeps ESP's upper half."""
        old = self.full_sp if old_esp is None else old_esp
        if self.mask == 0xFFFF:
            return (old & 0xFFFF0000) | self.sp
        return self.sp

    def commit(self):
        self.m.cpu.regs[ESP] = self.esp_value()
