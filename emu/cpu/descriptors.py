"""Segment descriptors: decoding, fetching from the GDT/LDT, loading segment caches.

Formats from Intel SDM Vol. 3A 3.4.5 (segment descriptors), 6.11 (IDT gates)
and 7.2 (TSS descriptors).  All functions take the machine `m` and raise
GuestFault for the checks the SDM specifies.
"""
from . import hflags as H
from .faults import GuestFault
from .vectors import Vector

# system descriptor types (S = 0)
T_TSS16 = 1
T_LDT = 2
T_TSS16_BUSY = 3
T_CALL16 = 4
T_TASK = 5
T_INT16 = 6
T_TRAP16 = 7
T_TSS32 = 9
T_TSS32_BUSY = 11
T_CALL32 = 12
T_INT32 = 14
T_TRAP32 = 15


# the bits of a descriptor's high dword a segment register's hidden cache
# keeps as its attributes (type, S, DPL, P, AVL, L, D/B, G), in place
CACHE_FLAGS = 0x00F0FF00


class Descriptor:
    """An 8-byte descriptor (segment, system segment or gate)."""
    __slots__ = ("lo", "hi", "selector", "addr")

    def __init__(self, lo, hi, selector=0, addr=None):
        self.lo, self.hi, self.selector, self.addr = lo, hi, selector, addr

    @property
    def base(self):
        return ((self.lo >> 16) | ((self.hi & 0xFF) << 16) | (self.hi & 0xFF000000)) & 0xFFFFFFFF

    @property
    def limit(self):
        lim = (self.lo & 0xFFFF) | (self.hi & 0xF0000)
        return ((lim << 12) | 0xFFF) if self.hi & H.DESC_G else lim

    @property
    def flags(self):
        """The attribute bits as SegmentCache.flags keeps them."""
        return self.hi & CACHE_FLAGS

    @property
    def type(self):
        return (self.hi >> 8) & 0xF

    @property
    def s(self):
        return bool(self.hi & H.DESC_S)

    @property
    def dpl(self):
        return (self.hi >> H.DESC_DPL_SHIFT) & 3

    @property
    def present(self):
        return bool(self.hi & H.DESC_P)

    @property
    def is_code(self):
        return self.s and bool(self.hi & H.DESC_CODE)

    @property
    def is_data(self):
        return self.s and not self.hi & H.DESC_CODE

    @property
    def conforming(self):
        return self.is_code and bool(self.hi & H.DESC_CONFORMING)

    @property
    def readable(self):
        """A data segment, or a code segment with R set; never a system descriptor
        (a TSS or LDT type has bit 1 set too, but is no readable segment)."""
        return self.is_data or (self.is_code and bool(self.hi & H.DESC_RW))

    @property
    def writable(self):
        return self.is_data and bool(self.hi & H.DESC_RW)

    @property
    def big(self):
        return bool(self.hi & H.DESC_B)

    # gates
    @property
    def gate_selector(self):
        return (self.lo >> 16) & 0xFFFF

    @property
    def gate_offset(self):
        off = (self.lo & 0xFFFF) | (self.hi & 0xFFFF0000)
        return off if self.type in (T_CALL32, T_INT32, T_TRAP32) else off & 0xFFFF

    @property
    def param_count(self):
        return self.hi & 0x1F


def selector_error(selector, ext=False):
    return (selector & 0xFFFC) | (1 if ext else 0)


def fetch(m, selector, vector=Vector.GP, ext=False):
    """The descriptor a (non-null) selector names; #GP/#TS(selector) beyond the table limit."""
    cpu = m.cpu
    index = selector & 0xFFF8
    if selector & 4:
        # The LDTR cache decides, not its selector: after reset it holds base 0,
        # limit FFFF (SDM Vol. 3A Table 9-1) and is usable; LLDT with a null
        # selector marks it invalid (flags 0), and then every TI=1 selector faults.
        table = cpu.ldtr
        if not table.flags & H.DESC_P:
            raise GuestFault(vector, selector_error(selector, ext))
        base, limit = table.base, table.limit
    else:
        base, limit = cpu.gdtr.base, cpu.gdtr.limit
    if index + 7 > limit:
        raise GuestFault(vector, selector_error(selector, ext))
    addr = (base + index) & 0xFFFFFFFF
    return Descriptor(m.mem.read_u32(addr), m.mem.read_u32(addr + 4), selector, addr)


def set_accessed(m, d):
    if d.s and not d.hi & H.DESC_ACCESSED:
        d.hi |= H.DESC_ACCESSED
        m.mem.write_u32(d.addr + 4, d.hi)


def load_cache(m, seg, selector, d):
    """Put a descriptor into segment register seg's hidden cache."""
    c = m.cpu.seg[seg]
    c.selector = selector & 0xFFFF
    c.base = d.base
    c.limit = d.limit
    c.flags = d.flags


def load_null(m, seg, selector):
    c = m.cpu.seg[seg]
    c.selector = selector & 0xFFFF
    c.base = 0
    c.limit = 0
    c.flags = 0


def load_real_mode(m, seg, selector):
    """Real and virtual-8086 mode: base = selector * 16; the limit and
    attributes stay (real mode) or become 64 KB read/write DPL 3 (v86)."""
    cpu = m.cpu
    c = cpu.seg[seg]
    c.selector = selector & 0xFFFF
    c.base = (selector & 0xFFFF) << 4
    if cpu.eflags & H.VM:
        c.limit = 0xFFFF
        c.flags = H.DESC_P | H.DESC_S | H.DESC_RW | H.DESC_ACCESSED | (3 << H.DESC_DPL_SHIFT) | (
            H.DESC_CODE if seg == 1 else 0)


def cpl(m):
    return m.cpu.hflags & H.HF_CPL_MASK


def load_data_segment(m, seg, selector):
    """MOV/POP/LDS...: load DS, ES, FS, GS or SS in protected mode (SDM Vol. 2B MOV)."""
    cur = cpl(m)
    rpl = selector & 3
    if seg == 2:                                  # SS
        if (selector & 0xFFFC) == 0:
            raise GuestFault(Vector.GP, 0)
        d = fetch(m, selector)
        if rpl != cur or not d.writable or d.dpl != cur:
            raise GuestFault(Vector.GP, selector_error(selector))
        if not d.present:
            raise GuestFault(Vector.SS, selector_error(selector))
    else:
        if (selector & 0xFFFC) == 0:
            load_null(m, seg, selector)
            return
        d = fetch(m, selector)
        if not d.readable:
            raise GuestFault(Vector.GP, selector_error(selector))
        if d.is_data or not d.conforming:
            if rpl > d.dpl or cur > d.dpl:
                raise GuestFault(Vector.GP, selector_error(selector))
        if not d.present:
            raise GuestFault(Vector.NP, selector_error(selector))
    set_accessed(m, d)
    load_cache(m, seg, selector, d)
    if seg == 2:
        m.update_hflags()
