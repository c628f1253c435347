"""Segment register loads (MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS).

The loads a running system makes all the time are native code: DS, ES, FS
and GS in real and virtual-8086 mode, the null selector, and in protected mode
a present, already accessed data segment from the GDT that the CPL and RPL may
use (Linux reloads DS, ES and FS at every kernel entry and exit).  Every other
case goes to the Python helper (helper_load_seg, cpu/descriptors.py), which
holds the complete rules: SS (it changes the block's mode flags), the LDT,
code segments, a descriptor whose accessed bit must be set, and each #GP, #SS
and #NP the SDM lists (Vol. 2B MOV, Vol. 3A 5.5 and 5.6).  Where a descriptor
keeps its base, limit and attribute bits (SDM Vol. 3A 3.4.5) is written here
in IR and in cpu/descriptors.py's Descriptor in Python; the attribute mask
they share is descriptors.CACHE_FLAGS.
"""
from ...cpu import hflags as H
from ...cpu.descriptors import CACHE_FLAGS
from ...cpu.state import SS
from ..irstate import I32, I64, c32, load_field, store_field

# what a descriptor's high dword must show for the native path: present, a
# code/data descriptor (S), not code, accessed (no write to the GDT is due)
_NATIVE_MASK = H.DESC_P | H.DESC_S | H.DESC_CODE | H.DESC_ACCESSED
_NATIVE_WANT = H.DESC_P | H.DESC_S | H.DESC_ACCESSED

# virtual-8086 mode: every data segment is 64 KB, read/write, DPL 3 (SDM Vol. 3A 20.1.1)
_V86_FLAGS = H.DESC_P | H.DESC_S | H.DESC_RW | H.DESC_ACCESSED | (3 << H.DESC_DPL_SHIFT)


def load_segment(g, seg, selector):
    """Load segment register `seg` (an int) with the 16-bit `selector`."""
    if seg == SS:
        g.call_python("helper_load_seg", g.const(seg, 4), g.zext(selector, 4))
        return
    b = g.b
    sel = g.zext(selector, 4)
    done = g.block("seg.done")
    if not g.pe or g.vm:
        _set_cache(g, seg, sel, b.shl(sel, c32(4)),
                   c32(0xFFFF) if g.vm else None, c32(_V86_FLAGS) if g.vm else None)
        b.branch(done)
    else:
        _protected(g, seg, sel, done)
    b.position_at_end(done)
    g.segment_loaded(seg)


def _protected(g, seg, sel, done):
    b = g.b
    null, check, read = g.block("seg.null"), g.block("seg.check"), g.block("seg.read")
    native, python = g.block("seg.native"), g.block("seg.python")
    # a null selector (index 0 of the GDT, any RPL) loads an unusable segment
    b.cbranch(b.icmp_unsigned("==", b.and_(sel, c32(0xFFFC)), c32(0)), null, check)
    b.position_at_end(null)
    _set_cache(g, seg, sel, c32(0), c32(0), c32(0))
    b.branch(done)

    b.position_at_end(check)
    index = b.and_(sel, c32(0xFFF8))
    limit = load_field(b, g.s, "gdtr", "limit")
    in_gdt = b.and_(b.icmp_unsigned("==", b.and_(sel, c32(4)), c32(0)),
                    b.icmp_unsigned("<=", b.add(index, c32(7)), limit))
    b.cbranch(in_gdt, read, python)

    b.position_at_end(read)
    addr = b.add(b.trunc(load_field(b, g.s, "gdtr", "base"), I32), index)
    lo = g.load_linear(addr, 4, supervisor=True)
    hi = g.load_linear(b.add(addr, c32(4)), 4, supervisor=True)
    dpl = b.and_(b.lshr(hi, c32(H.DESC_DPL_SHIFT)), c32(3))
    rpl = b.and_(sel, c32(3))
    usable = b.and_(b.icmp_unsigned("==", b.and_(hi, c32(_NATIVE_MASK)), c32(_NATIVE_WANT)),
                    b.and_(b.icmp_unsigned("<=", rpl, dpl), b.icmp_unsigned("<=", c32(g.cpl), dpl)))
    b.cbranch(usable, native, python)

    b.position_at_end(native)
    base = b.or_(b.or_(b.lshr(lo, c32(16)), b.shl(b.and_(hi, c32(0xFF)), c32(16))),
                 b.and_(hi, c32(0xFF000000)))
    raw_limit = b.or_(b.and_(lo, c32(0xFFFF)), b.and_(hi, c32(0xF0000)))
    granular = b.icmp_unsigned("!=", b.and_(hi, c32(H.DESC_G)), c32(0))
    seg_limit = b.select(granular, b.or_(b.shl(raw_limit, c32(12)), c32(0xFFF)), raw_limit)
    _set_cache(g, seg, sel, base, seg_limit, b.and_(hi, c32(CACHE_FLAGS)))
    b.branch(done)

    b.position_at_end(python)
    g.call_python_here("helper_load_seg", g.const(seg, 4), sel)
    b.branch(done)


def _set_cache(g, seg, sel, base, limit=None, flags=None):
    """Store a segment register and its hidden cache (a part left None keeps its value)."""
    b = g.b
    store_field(b, g.s, sel, "seg", seg, "selector")
    store_field(b, g.s, b.zext(base, I64), "seg", seg, "base")
    if limit is not None:
        store_field(b, g.s, limit, "seg", seg, "limit")
    if flags is not None:
        store_field(b, g.s, flags, "seg", seg, "flags")
