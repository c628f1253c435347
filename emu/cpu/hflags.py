"""Translation mode flags ("hflags") and EFLAGS / CR0 bit names.

A translated block is only valid for the mode it was translated in, so the
bits below are part of every translation-cache key.  Python recomputes
`CpuState.hflags` whenever something they depend on changes (a CS or SS load,
CR0, EFLAGS.VM); instructions that can change them end their block.
"""

# hflags bits
HF_CPL_MASK = 0x3        # current privilege level
HF_CS32 = 1 << 2         # CS.D: 32-bit default operand and address size
HF_SS32 = 1 << 3         # SS.B: 32-bit stack pointer
HF_PE = 1 << 4           # CR0.PE
HF_PG = 1 << 5           # CR0.PG
HF_VM = 1 << 6           # EFLAGS.VM (virtual-8086 mode)
HF_TS = 1 << 7           # CR0.TS: x87 instructions raise #NM
HF_EM = 1 << 8           # CR0.EM: x87 instructions raise #NM
HF_MP = 1 << 9           # CR0.MP: WAIT raises #NM when TS is set
HF_TF = 1 << 10          # EFLAGS.TF: single-step, one instruction per block
HF_SINGLE = 1 << 11      # translate one instruction per block (debug stepping)
HF_NOBP = 1 << 12        # ignore debugger breakpoints (resuming from one)

# EFLAGS bits (Intel SDM Vol. 1 3.4.3)
CF = 1 << 0
PF = 1 << 2
AF = 1 << 4
ZF = 1 << 6
SF = 1 << 7
TF = 1 << 8
IF = 1 << 9
DF = 1 << 10
OF = 1 << 11
IOPL_MASK = 3 << 12
NT = 1 << 14
RF = 1 << 16
VM = 1 << 17
AC = 1 << 18
VIF = 1 << 19
VIP = 1 << 20
ID = 1 << 21
ARITH_FLAGS = CF | PF | AF | ZF | SF | OF
FIXED_ONE = 1 << 1       # bit 1 always reads as 1

FLAG_NAMES = {"CF": CF, "PF": PF, "AF": AF, "ZF": ZF, "SF": SF, "OF": OF,
              "TF": TF, "IF": IF, "DF": DF}

# CR0 bits
CR0_PE = 1 << 0
CR0_MP = 1 << 1
CR0_EM = 1 << 2
CR0_TS = 1 << 3
CR0_ET = 1 << 4
CR0_NE = 1 << 5
CR0_WP = 1 << 16
CR0_AM = 1 << 18
CR0_NW = 1 << 29
CR0_CD = 1 << 30
CR0_PG = 1 << 31

# Segment descriptor attribute bits as kept in SegmentCache.flags
# (the descriptor's high dword bits 8..23, left in place).
DESC_TYPE_SHIFT = 8
DESC_S = 1 << 12         # code/data (1) or system (0)
DESC_DPL_SHIFT = 13
DESC_P = 1 << 15
DESC_AVL = 1 << 20
DESC_L = 1 << 21
DESC_B = 1 << 22         # D/B: 32-bit segment
DESC_G = 1 << 23
DESC_CODE = 1 << 11      # type bit 3: code segment
DESC_RW = 1 << 9         # type bit 1: readable code / writable data
DESC_CONFORMING = 1 << 10  # type bit 2 for code: conforming; for data: expand-down
DESC_ACCESSED = 1 << 8


def compute_hflags(cpl, cs_flags, ss_flags, cr0, eflags):
    """The hflags word for a CPU in the given state."""
    hf = cpl & HF_CPL_MASK
    # The descriptor caches decide sizes in every mode ("unreal" mode keeps a
    # 32-bit cache after a return to real mode); virtual-8086 is always 16-bit.
    if not eflags & VM:
        if cs_flags & DESC_B:
            hf |= HF_CS32
        if ss_flags & DESC_B:
            hf |= HF_SS32
    if cr0 & CR0_PE:
        hf |= HF_PE
    if cr0 & CR0_PG:
        hf |= HF_PG
    if eflags & VM:
        hf |= HF_VM
    if cr0 & CR0_TS:
        hf |= HF_TS
    if cr0 & CR0_EM:
        hf |= HF_EM
    if cr0 & CR0_MP:
        hf |= HF_MP
    if eflags & TF:
        hf |= HF_TF
    return hf
