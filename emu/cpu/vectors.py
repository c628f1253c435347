"""The x86 exception vectors (Intel SDM Vol. 3A 6.3.1, Table 6-1) and their names.

The one definition: the translator's semantics and helpers, the page walk
and the machine's messages all name a vector from here.  Vector 9
(coprocessor segment overrun) is not listed: processors after the 386 do not
generate it (SDM Vol. 3A 6.15, Interrupt 9), and neither does this one;
15 and 20-31 are reserved.  Vectors 32-255 are the OS's, for INT n and
external interrupts.
"""
from enum import IntEnum


class Vector(IntEnum):
    DE = 0       # divide error
    DB = 1       # debug
    NMI = 2      # non-maskable interrupt
    BP = 3       # breakpoint (INT3)
    OF = 4       # overflow (INTO)
    BR = 5       # BOUND range exceeded
    UD = 6       # invalid opcode
    NM = 7       # device not available (x87 with CR0.EM or CR0.TS)
    DF = 8       # double fault
    TS = 10      # invalid TSS
    NP = 11      # segment not present
    SS = 12      # stack-segment fault
    GP = 13      # general protection
    PF = 14      # page fault
    MF = 16      # x87 floating-point error
    AC = 17      # alignment check
    MC = 18      # machine check
    XM = 19      # SIMD floating-point


_DESCRIPTIONS = {
    Vector.DE: "divide error", Vector.DB: "debug", Vector.BP: "breakpoint", Vector.OF: "overflow",
    Vector.BR: "bound range", Vector.UD: "invalid opcode", Vector.NM: "device not available",
    Vector.DF: "double fault", Vector.TS: "invalid TSS", Vector.NP: "segment not present",
    Vector.SS: "stack fault", Vector.GP: "general protection", Vector.PF: "page fault",
    Vector.MF: "x87 error", Vector.AC: "alignment check", Vector.MC: "machine check",
    Vector.XM: "SIMD floating-point",
}


def vector_name(vector):
    """"#GP general protection" for an exception, "NMI", "interrupt 0x30" for any other vector."""
    if vector == Vector.NMI:
        return "NMI"     # an interrupt, not an exception: the SDM gives it no #mnemonic
    if vector in _DESCRIPTIONS:
        return "#%s %s" % (Vector(vector).name, _DESCRIPTIONS[vector])
    return "interrupt %#x" % vector
