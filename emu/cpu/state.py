"""The CPU state: one field table generates the ctypes structure and the LLVM type.

Generated code receives a pointer to a `CpuState`; Python sees the same memory
through ctypes.  Both layouts come from `STATE_FIELDS`, and
`tests/cpu/test_state.py` checks that LLVM's data layout puts every field at the
offset ctypes uses, so the two cannot drift.

General registers are 64-bit slots (x86-64 can come later); 32-bit code uses the
low half and keeps the high half zero.  EFLAGS is split: the six arithmetic
flags live in the lazy-flags fields (`cc_op`, `cc_dst`, `cc_src`, `cc_src2`, see
`emu/translator/lazyflags.py`), every other bit lives in `eflags`.
"""
import ctypes

import llvmlite.ir as ir

# Register numbers, in x86 encoding order.
EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(8)
REG_NAMES32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
REG_NAMES16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
REG_NAMES8 = ("al", "cl", "dl", "bl", "ah", "ch", "dh", "bh")

# Segment registers, in x86 encoding order.
ES, CS, SS, DS, FS, GS = range(6)
SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")

# The software TLB: TLB_SIZE entries per MMU index (0 = supervisor, 1 = user).
TLB_BITS = 10
TLB_SIZE = 1 << TLB_BITS
MMU_INDEXES = 2
TLB_ENTRY_SHIFT = 5          # log2(sizeof(TlbEntry))

# Scalar type names -> (ctypes type, LLVM type)
_SCALARS = {
    "u8": (ctypes.c_uint8, ir.IntType(8)),
    "u16": (ctypes.c_uint16, ir.IntType(16)),
    "u32": (ctypes.c_uint32, ir.IntType(32)),
    "i32": (ctypes.c_int32, ir.IntType(32)),
    "u64": (ctypes.c_uint64, ir.IntType(64)),
    "i64": (ctypes.c_int64, ir.IntType(64)),
}


class StructDesc:
    """A named structure described by (field, type, count) rows.

    `type` is a scalar name from _SCALARS or another StructDesc; `count` is
    None for a single item, an int for an array, or a tuple for a nested array.
    """

    def __init__(self, name, fields, doc=""):
        self.name = name
        self.fields = fields
        self.doc = doc
        self.index = {f[0]: i for i, f in enumerate(fields)}
        self._ctype = None
        self._irtype = None

    @staticmethod
    def _dims(count):
        if count is None:
            return ()
        return count if isinstance(count, tuple) else (count,)

    def ctype(self):
        if self._ctype is None:
            cfields = []
            for fname, ftype, count, *_ in self.fields:
                t = ftype.ctype() if isinstance(ftype, StructDesc) else _SCALARS[ftype][0]
                for n in reversed(self._dims(count)):
                    t = t * n
                cfields.append((fname, t))
            self._ctype = type(self.name, (ctypes.Structure,), {"_fields_": cfields})
        return self._ctype

    def irtype(self):
        """An identified LLVM struct type (%"CpuState" in IR dumps)."""
        if self._irtype is None:
            members = []
            for fname, ftype, count, *_ in self.fields:
                t = ftype.irtype() if isinstance(ftype, StructDesc) else _SCALARS[ftype][1]
                for n in reversed(self._dims(count)):
                    t = ir.ArrayType(t, n)
                members.append(t)
            t = ir.global_context.get_identified_type(self.name)
            if t.is_opaque:
                t.set_body(*members)
            self._irtype = t
        return self._irtype

    def field_type(self, name):
        return self.fields[self.index[name]][1]

    def offset(self, path):
        """Byte offset of a dotted path such as 'seg.base' (first element of arrays)."""
        ct = self.ctype()
        desc = self
        off = 0
        for part in path.split("."):
            off += getattr(ct, part).offset
            ftype = desc.field_type(part)
            if isinstance(ftype, StructDesc):
                desc = ftype
                ct = ftype.ctype()
        return off


SegmentCache = StructDesc("SegmentCache", [
    ("selector", "u32", None),
    ("flags", "u32", None),      # descriptor bits 8..23 of the high dword, shifted to bit 8
    ("base", "u64", None),
    ("limit", "u32", None),
    ("pad", "u32", None),
], "a segment register with its hidden descriptor cache")

DescriptorTable = StructDesc("DescriptorTable", [
    ("base", "u64", None),
    ("limit", "u32", None),
    ("pad", "u32", None),
], "GDTR or IDTR")

TlbEntry = StructDesc("TlbEntry", [
    # A tag is (linear page address | asid); INVALID_TAG never matches.
    ("tag_read", "u32", None),
    ("tag_write", "u32", None),
    ("tag_code", "u32", None),
    ("phys_page", "u32", None),  # physical address of the page
    ("addend", "u64", None),     # host address - linear address, for RAM pages
    ("pad", "u64", None),
], "one direct-mapped software TLB entry")

STATE_FIELDS = [
    ("regs", "u64", 16),
    ("zero", "u64", None),       # always 0: stencils address "no base/index register" here
    ("eip", "u64", None),
    ("eflags", "u32", None),     # every EFLAGS bit except CF PF AF ZF SF OF
    ("cc_op", "u32", None),
    ("cc_dst", "u64", None),
    ("cc_src", "u64", None),
    ("cc_src2", "u64", None),
    ("seg", SegmentCache, 6),
    ("ldtr", SegmentCache, None),
    ("tr", SegmentCache, None),
    ("gdtr", DescriptorTable, None),
    ("idtr", DescriptorTable, None),
    ("cr", "u64", 5),
    ("dr", "u64", 8),
    ("efer", "u64", None),
    ("hflags", "u32", None),     # translation mode flags, see emu/cpu/hflags.py
    ("exit_request", "u32", None),  # nonzero: leave native code at the next block entry
    ("budget", "i64", None),     # instructions left in this run slice
    ("exc_vector", "i32", None),  # pending exception, set by helpers and fault exits
    ("exc_error", "i32", None),   # its error code, or -1 for none
    ("exc_addr", "u64", None),    # faulting linear address (#PF) or other detail
    ("mem_status", "u32", None),  # result of the last slow-path memory access
    ("a20_mask", "u32", None),
    ("tlb_asid", "u32", None),    # address-space id or'ed into TLB tags
    ("exc_flags", "u32", None),   # EXC_* bits below
    ("link_slot", "u64", None),   # chain slot to patch when the next lookup succeeds
    ("smc_exit", "u32", None),
    ("irq_pending", "u32", None),  # a maskable interrupt waits for EFLAGS.IF
    ("irq_inhibit", "u32", None),  # nonzero: no interrupt before the instruction at inhibit_eip
    ("inhibit_eip", "u32", None),    # set when a store modified translated code
    ("halted", "u32", None),
    ("tsc_offset", "i64", None),
    ("msr_sysenter_cs", "u64", None),
    ("msr_sysenter_esp", "u64", None),
    ("msr_sysenter_eip", "u64", None),
    ("phys_host", "u64", None),   # -> u64[PHYS_PAGES]: host address of each RAM/ROM page, 0 if none
    ("phys_flags", "u64", None),  # -> u8[PHYS_PAGES]: PAGE_* bits (emu/softmmu/phys.py)
    ("code_bitmap", "u64", None),  # -> u8[ram_size / 8]: one bit per RAM byte covered by a translation
    ("ram_size", "u64", None),
    ("icount_total", "u64", None),
    # shadow page table (softmmu/paging.py) and the jump cache, for the native slow paths
    ("shadow_key", "u64", None),   # -> u64[SHADOW_SIZE]
    ("shadow_val", "u64", None),   # -> u64[SHADOW_SIZE]
    ("shadow_gen", "u64", None),   # -> u32[SHADOW_SIZE]
    ("asid_gen", "u64", None),     # -> u32[N_ASIDS]: bumping one forgets that ASID's entries
    ("asid_dirty", "u32", None),   # a page table was written while this ASID was current
    ("jmp_mask", "u32", None),
    ("jmp_cache", "u64", None),    # -> JumpEntry[jmp_mask + 1]  # instructions retired before this run slice
    # x87 FPU (emu/translator/semantics/x87.py, emu/fpu/): eight 80-bit
    # registers by physical index, as mantissa and sign|exponent
    ("fpu_mant", "u64", 8),
    ("fpu_se", "u16", 8),
    ("fpu_top", "u32", None),     # TOP, 0..7
    ("fpu_tag", "u32", None),     # full tag word, 2 bits per physical register
    ("fpu_cw", "u32", None),      # control word
    ("fpu_sw", "u32", None),      # status word (TOP is kept in fpu_top)
    ("fpu_ip", "u32", None),      # last instruction pointer (offset; linear in real mode)
    ("fpu_cs", "u32", None),      # its CS selector
    ("fpu_op", "u32", None),      # its opcode: 11 bits, first byte & 7 << 8 | ModRM
    ("fpu_dp", "u32", None),      # last data pointer (offset; linear in real mode)
    ("fpu_ds", "u32", None),      # its segment selector
    # a store in two steps (emu/fpu/x87.py store_prepare / store_done): the
    # result's bits above 64, its exception flags, whether it may be written
    ("fpu_st_hi", "u64", None),
    ("fpu_st_flags", "u32", None),
    ("fpu_st_ok", "u32", None),
    ("tlb", TlbEntry, (MMU_INDEXES, TLB_SIZE)),
]

CpuStateDesc = StructDesc("CpuState", STATE_FIELDS, "the guest CPU")
CpuState = CpuStateDesc.ctype()
CPU_STATE_IR = CpuStateDesc.irtype()

INVALID_TAG = 0xFFFFFFFF
ASID_MAX = 0xFFE             # asid 0xFFF is never used, so INVALID_TAG never matches

# exc_flags bits
EXC_SOFTWARE = 1 << 0        # INT n / INT3 / INTO: EIP already points past the instruction,
                             # exc_addr holds the instruction's own EIP
EXC_HAS_ERROR = 1 << 1       # exc_error is pushed
EXC_INT_N = 1 << 2           # with EXC_SOFTWARE: the INT imm8 form (CD), which unlike INT3 and
                             # INTO is IOPL-sensitive in virtual-8086 mode (SDM Vol. 3A 20.2.7)
EXC_INT1 = 1 << 3            # with EXC_SOFTWARE: INT1 (F1), delivered like a hardware #DB: no
                             # gate DPL check, EXT set in error codes (SDM Vol. 2A INT n/INT1)
