"""The x86 opcode table: one row per opcode form, in Intel SDM notation.

Every general-purpose integer instruction of the 8086 through the Pentium Pro,
16- and 32-bit code, plus the x87 forms.  The decoder (tables.py compiles the
rows into numpy arrays), the block builder, the translator (semantics are found
by the row's mnemonic) and the generated tests all read this table.

Row: (opcode, mnemonic, operands, attributes)

mnemonic
    the SDM's, in lower case; it names the semantics, `op_<mnemonic>`
    (emu/translator/semantics, which checks at import that every mnemonic has
    one).  A form the SDM gives a page of its own, or whose meaning is not
    that of the other forms, gets a name of its own: jcc setcc cmovcc (the
    condition is in the opcode), callf jmpf (far), mov_sreg (MOV to/from a
    segment register, 8C/8E), mov_cr mov_dr (SDM Vol. 2B "MOV--Move to/from
    Control Registers", "... Debug Registers").  Disassembly is capstone's,
    whatever the name here.

opcode
    "00"            one-byte map;  "0F AF" two-byte map
    "80 /0"         ModRM.reg selects the row (a group)
    "0F 01 /2 mem"  only for a memory operand ("reg": only a register operand)
    "B0+r"          register number in the low three opcode bits (8 rows)
    "70+cc"         condition code in the low four opcode bits (16 rows)
    "D9 E0"         x87 register form selected by the whole ModRM byte
    "D8 C0+i"       x87 register form, ST(i) in ModRM.rm (8 ModRM bytes)

operands (SDM Vol. 2 Appendix A.2 letters; sizes b w d q v z p s a)
    E  ModRM r/m, register or memory    G  ModRM.reg general register
    Rv/Mw  ModRM r/m: a register of the operand size, or 16-bit memory (SDM
           Table A-6 SLDT/STR/SMSW; MOV r16/r32/m16, Sreg)
    M  ModRM memory only                R  ModRM r/m register only
    I  immediate                        J  relative branch target
    O  memory offset (moffs)            A  far pointer immediate
    S  ModRM.reg segment register       C  ModRM.reg control register
    D  ModRM.reg debug register         Z  register in the opcode's low bits
    X  DS:[rSI] string source           Y  ES:[rDI] string destination
    AL CL DX eAX AX ... fixed registers 1  the constant 1
    ES CS SS DS FS GS segment registers ST  x87 top of stack
    STi x87 ST(i) from ModRM.rm         Mx  x87 memory, x = fs fd ft (32/64/80-bit
    real), wi di qi (16/32/64-bit integer), bcd, env, st (state), cw (2 bytes)

attributes (space separated)
    lock        LOCK allowed (with a memory destination)
    end         ends a translation block
    priv        CPL 0 only (#GP(0) otherwise)
    pe          #UD in real and virtual-8086 mode
    io          I/O instruction (IOPL / permission bitmap checks)
    rep         REP prefix repeats it (string instructions)
    repcc       REPE/REPNE repeat it and test ZF (CMPS, SCAS)
    x87         x87 instruction (CR0.EM / TS checks)
    undef:F,..  flags the SDM leaves undefined after this instruction
    undef>1:F   ... undefined only when the (masked) count is greater than 1
    p6          needs a Pentium Pro (reported through CPUID)
"""

CONDITIONS = ("o", "no", "b", "ae", "e", "ne", "be", "a",
              "s", "ns", "p", "np", "l", "ge", "le", "g")

_ALU = ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp")
_SHIFT = ("rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar")


def _alu_rows():
    rows = []
    for n, mnem in enumerate(_ALU):
        base = n * 8
        lock = "" if mnem == "cmp" else "lock"
        undef = "undef:AF" if mnem in ("and", "or", "xor") else ""
        rows += [
            ("%02X" % (base + 0), mnem, "Eb,Gb", f"{lock} {undef}"),
            ("%02X" % (base + 1), mnem, "Ev,Gv", f"{lock} {undef}"),
            ("%02X" % (base + 2), mnem, "Gb,Eb", undef),
            ("%02X" % (base + 3), mnem, "Gv,Ev", undef),
            ("%02X" % (base + 4), mnem, "AL,Ib", undef),
            ("%02X" % (base + 5), mnem, "eAX,Iz", undef),
            ("80 /%d" % n, mnem, "Eb,Ib", f"{lock} {undef}"),
            ("81 /%d" % n, mnem, "Ev,Iz", f"{lock} {undef}"),
            ("82 /%d" % n, mnem, "Eb,Ib", f"{lock} {undef}"),
            ("83 /%d" % n, mnem, "Ev,Ib", f"{lock} {undef}"),
        ]
    return rows


def _shift_rows():
    rows = []
    for n, mnem in enumerate(_SHIFT):
        if mnem in ("rol", "ror", "rcl", "rcr"):
            undef = "undef>1:OF"
        else:
            undef = "undef:AF undef>1:OF"
        rows += [
            ("C0 /%d" % n, mnem, "Eb,Ib", undef),
            ("C1 /%d" % n, mnem, "Ev,Ib", undef),
            ("D0 /%d" % n, mnem, "Eb,1", undef),
            ("D1 /%d" % n, mnem, "Ev,1", undef),
            ("D2 /%d" % n, mnem, "Eb,CL", undef),
            ("D3 /%d" % n, mnem, "Ev,CL", undef),
        ]
    return rows


_SEGS = ("ES", "CS", "SS", "DS", "FS", "GS")

ROWS = _alu_rows() + _shift_rows() + [
    # --- one-byte map ------------------------------------------------------
    ("06", "push", "ES", ""),
    ("07", "pop", "ES", "end"),
    ("0E", "push", "CS", ""),
    ("16", "push", "SS", ""),
    ("17", "pop", "SS", "end"),     # MOV SS shadow: the next instruction is protected
    ("1E", "push", "DS", ""),
    ("1F", "pop", "DS", "end"),
    ("27", "daa", "", "undef:OF"),
    ("2F", "das", "", "undef:OF"),
    ("37", "aaa", "", "undef:OF,SF,ZF,PF"),
    ("3F", "aas", "", "undef:OF,SF,ZF,PF"),
    ("40+r", "inc", "Zv", ""),
    ("48+r", "dec", "Zv", ""),
    ("50+r", "push", "Zv", ""),
    ("58+r", "pop", "Zv", ""),
    ("60", "pusha", "", ""),
    ("61", "popa", "", ""),
    ("62", "bound", "Gv,Ma", "mem"),
    ("63", "arpl", "Ew,Gw", "pe"),
    ("68", "push", "Iz", ""),
    ("69", "imul", "Gv,Ev,Iz", "undef:SF,ZF,AF,PF"),
    ("6A", "push", "Ib", ""),
    ("6B", "imul", "Gv,Ev,Ib", "undef:SF,ZF,AF,PF"),
    ("6C", "ins", "Yb,DX", "io rep end"),
    ("6D", "ins", "Yz,DX", "io rep end"),
    ("6E", "outs", "DX,Xb", "io rep end"),
    ("6F", "outs", "DX,Xz", "io rep end"),
    ("70+cc", "jcc", "Jb", "end"),
    ("84", "test", "Eb,Gb", "undef:AF"),
    ("85", "test", "Ev,Gv", "undef:AF"),
    ("86", "xchg", "Eb,Gb", "lock"),
    ("87", "xchg", "Ev,Gv", "lock"),
    ("88", "mov", "Eb,Gb", ""),
    ("89", "mov", "Ev,Gv", ""),
    ("8A", "mov", "Gb,Eb", ""),
    ("8B", "mov", "Gv,Ev", ""),
    # a store of a segment register to memory is 16 bits whatever the operand
    # size; to a register it is zero-extended (SDM Vol. 2B MOV, 8C /r)
    ("8C", "mov_sreg", "Rv/Mw,Sw", ""),
    ("8D", "lea", "Gv,M", ""),
    ("8E", "mov_sreg", "Sw,Ew", "end"),
    ("8F /0", "pop", "Ev", ""),
    ("90", "nop", "", ""),
] + [("%02X" % op, "xchg", "Zv,eAX", "") for op in range(0x91, 0x98)] + [
    ("98", "cbw", "", ""),
    ("99", "cwd", "", ""),
    ("9A", "callf", "Ap", "end"),
    ("9B", "fwait", "", "x87"),
    ("9C", "pushf", "", ""),
    ("9D", "popf", "", "end"),
    ("9E", "sahf", "", ""),
    ("9F", "lahf", "", ""),
    ("A0", "mov", "AL,Ob", ""),
    ("A1", "mov", "eAX,Ov", ""),
    ("A2", "mov", "Ob,AL", ""),
    ("A3", "mov", "Ov,eAX", ""),
    ("A4", "movs", "Yb,Xb", "rep"),
    ("A5", "movs", "Yv,Xv", "rep"),
    ("A6", "cmps", "Xb,Yb", "repcc"),
    ("A7", "cmps", "Xv,Yv", "repcc"),
    ("A8", "test", "AL,Ib", "undef:AF"),
    ("A9", "test", "eAX,Iz", "undef:AF"),
    ("AA", "stos", "Yb,AL", "rep"),
    ("AB", "stos", "Yv,eAX", "rep"),
    ("AC", "lods", "AL,Xb", "rep"),
    ("AD", "lods", "eAX,Xv", "rep"),
    ("AE", "scas", "AL,Yb", "repcc"),
    ("AF", "scas", "eAX,Yv", "repcc"),
    ("B0+r", "mov", "Zb,Ib", ""),
    ("B8+r", "mov", "Zv,Iv", ""),
    ("C2", "ret", "Iw", "end"),
    ("C3", "ret", "", "end"),
    ("C4", "les", "Gz,Mp", "mem end"),
    ("C5", "lds", "Gz,Mp", "mem end"),
    ("C6 /0", "mov", "Eb,Ib", ""),
    ("C7 /0", "mov", "Ev,Iz", ""),
    ("C8", "enter", "Iw,Ib", ""),
    ("C9", "leave", "", ""),
    ("CA", "retf", "Iw", "end"),
    ("CB", "retf", "", "end"),
    ("CC", "int3", "", "end"),
    ("CD", "int", "Ib", "end"),
    ("CE", "into", "", "end"),
    ("CF", "iret", "", "end"),
    ("D4", "aam", "Ib", "undef:OF,AF,CF"),
    ("D5", "aad", "Ib", "undef:OF,AF,CF"),
    ("D6", "salc", "", ""),            # undocumented: AL = CF ? FF : 00
    ("D7", "xlat", "", ""),
    ("E0", "loopne", "Jb", "end"),
    ("E1", "loope", "Jb", "end"),
    ("E2", "loop", "Jb", "end"),
    ("E3", "jcxz", "Jb", "end"),
    ("E4", "in", "AL,Ib", "io end"),
    ("E5", "in", "eAX,Ib", "io end"),
    ("E6", "out", "Ib,AL", "io end"),
    ("E7", "out", "Ib,eAX", "io end"),
    ("E8", "call", "Jz", "end"),
    ("E9", "jmp", "Jz", "end"),
    ("EA", "jmpf", "Ap", "end"),
    ("EB", "jmp", "Jb", "end"),
    ("EC", "in", "AL,DX", "io end"),
    ("ED", "in", "eAX,DX", "io end"),
    ("EE", "out", "DX,AL", "io end"),
    ("EF", "out", "DX,eAX", "io end"),
    ("F1", "int1", "", "end"),
    ("F4", "hlt", "", "priv end"),
    ("F5", "cmc", "", ""),
    ("F6 /0", "test", "Eb,Ib", "undef:AF"),
    ("F6 /1", "test", "Eb,Ib", "undef:AF"),   # undocumented alias of /0
    ("F6 /2", "not", "Eb", "lock"),
    ("F6 /3", "neg", "Eb", "lock"),
    ("F6 /4", "mul", "Eb", "undef:SF,ZF,AF,PF"),
    ("F6 /5", "imul", "Eb", "undef:SF,ZF,AF,PF"),
    ("F6 /6", "div", "Eb", "undef:CF,OF,SF,ZF,AF,PF"),
    ("F6 /7", "idiv", "Eb", "undef:CF,OF,SF,ZF,AF,PF"),
    ("F7 /0", "test", "Ev,Iz", "undef:AF"),
    ("F7 /1", "test", "Ev,Iz", "undef:AF"),
    ("F7 /2", "not", "Ev", "lock"),
    ("F7 /3", "neg", "Ev", "lock"),
    ("F7 /4", "mul", "Ev", "undef:SF,ZF,AF,PF"),
    ("F7 /5", "imul", "Ev", "undef:SF,ZF,AF,PF"),
    ("F7 /6", "div", "Ev", "undef:CF,OF,SF,ZF,AF,PF"),
    ("F7 /7", "idiv", "Ev", "undef:CF,OF,SF,ZF,AF,PF"),
    ("F8", "clc", "", ""),
    ("F9", "stc", "", ""),
    ("FA", "cli", "", ""),
    ("FB", "sti", "", "end"),
    ("FC", "cld", "", ""),
    ("FD", "std", "", ""),
    ("FE /0", "inc", "Eb", "lock"),
    ("FE /1", "dec", "Eb", "lock"),
    ("FF /0", "inc", "Ev", "lock"),
    ("FF /1", "dec", "Ev", "lock"),
    ("FF /2", "call", "Ev", "end"),
    ("FF /3", "callf", "Mp", "end"),
    ("FF /4", "jmp", "Ev", "end"),
    ("FF /5", "jmpf", "Mp", "end"),
    ("FF /6", "push", "Ev", ""),

    # --- two-byte map (0F xx) ------------------------------------------------
    ("0F 00 /0", "sldt", "Rv/Mw", "pe"),
    ("0F 00 /1", "str", "Rv/Mw", "pe"),
    ("0F 00 /2", "lldt", "Ew", "pe priv end"),
    ("0F 00 /3", "ltr", "Ew", "pe priv end"),
    ("0F 00 /4", "verr", "Ew", "pe"),
    ("0F 00 /5", "verw", "Ew", "pe"),
    ("0F 01 /0 mem", "sgdt", "Ms", ""),
    ("0F 01 /1 mem", "sidt", "Ms", ""),
    ("0F 01 /2 mem", "lgdt", "Ms", "priv end"),
    ("0F 01 /3 mem", "lidt", "Ms", "priv end"),
    ("0F 01 /4", "smsw", "Mw/Rv", ""),
    ("0F 01 /6", "lmsw", "Ew", "priv end"),
    ("0F 01 /7 mem", "invlpg", "M", "priv end"),
    ("0F 02", "lar", "Gv,Ew", "pe"),
    ("0F 03", "lsl", "Gv,Ew", "pe"),
    ("0F 06", "clts", "", "priv end"),
    ("0F 08", "invd", "", "priv"),
    ("0F 09", "wbinvd", "", "priv"),
    ("0F 0B", "ud2", "", "end"),
    # 0F 18..1F: the hint-NOP space, NOP Ev (SDM Vol. 2B NOP, Table A-3),
    # F2/F3/66 or not (later MPX/CET meanings are NOPs without MPX/CET).
    # 0F 18 /0-3 (PREFETCHh) are SSE and stay #UD.
    ("0F 18 /4", "nop", "Ev", "p6"),
    ("0F 18 /5", "nop", "Ev", "p6"),
    ("0F 18 /6", "nop", "Ev", "p6"),
    ("0F 18 /7", "nop", "Ev", "p6"),
    ("0F 19", "nop", "Ev", "p6"),
    ("0F 1A", "nop", "Ev", "p6"),
    ("0F 1B", "nop", "Ev", "p6"),
    ("0F 1C", "nop", "Ev", "p6"),
    ("0F 1D", "nop", "Ev", "p6"),
    ("0F 1E", "nop", "Ev", "p6"),
    ("0F 1F", "nop", "Ev", "p6"),
    ("0F 20", "mov_cr", "Rd,Cd", "priv"),
    ("0F 21", "mov_dr", "Rd,Dd", "priv"),
    ("0F 22", "mov_cr", "Cd,Rd", "priv end"),
    ("0F 23", "mov_dr", "Dd,Rd", "priv end"),
    ("0F 30", "wrmsr", "", "priv end"),
    ("0F 31", "rdtsc", "", ""),
    ("0F 32", "rdmsr", "", "priv"),
    ("0F 33", "rdpmc", "", ""),
    ("0F 34", "sysenter", "", "end"),
    ("0F 35", "sysexit", "", "priv end"),
    ("0F 40+cc", "cmovcc", "Gv,Ev", "p6"),
    ("0F 80+cc", "jcc", "Jz", "end"),
    ("0F 90+cc", "setcc", "Eb", ""),
    ("0F A0", "push", "FS", ""),
    ("0F A1", "pop", "FS", "end"),
    ("0F A2", "cpuid", "", ""),
    # no row for 0F AA (RSM): #UD outside SMM (SDM Vol. 2B RSM), and pyemu has
    # no SMM; nor for UD0 (0F FF) / UD1 (0F B9): #UD by definition
    ("0F A3", "bt", "Ev,Gv", "undef:OF,SF,AF,PF"),
    ("0F A4", "shld", "Ev,Gv,Ib", "undef:AF undef>1:OF"),
    ("0F A5", "shld", "Ev,Gv,CL", "undef:AF undef>1:OF"),
    ("0F A8", "push", "GS", ""),
    ("0F A9", "pop", "GS", "end"),
    ("0F AB", "bts", "Ev,Gv", "lock undef:OF,SF,AF,PF"),
    ("0F AC", "shrd", "Ev,Gv,Ib", "undef:AF undef>1:OF"),
    ("0F AD", "shrd", "Ev,Gv,CL", "undef:AF undef>1:OF"),
    ("0F AF", "imul", "Gv,Ev", "undef:SF,ZF,AF,PF"),
    ("0F B0", "cmpxchg", "Eb,Gb", "lock"),
    ("0F B1", "cmpxchg", "Ev,Gv", "lock"),
    ("0F B2", "lss", "Gz,Mp", "mem end"),
    ("0F B3", "btr", "Ev,Gv", "lock undef:OF,SF,AF,PF"),
    ("0F B4", "lfs", "Gz,Mp", "mem"),
    ("0F B5", "lgs", "Gz,Mp", "mem"),
    ("0F B6", "movzx", "Gv,Eb", ""),
    ("0F B7", "movzx", "Gv,Ew", ""),
    ("0F BA /4", "bt", "Ev,Ib", "undef:OF,SF,AF,PF"),
    ("0F BA /5", "bts", "Ev,Ib", "lock undef:OF,SF,AF,PF"),
    ("0F BA /6", "btr", "Ev,Ib", "lock undef:OF,SF,AF,PF"),
    ("0F BA /7", "btc", "Ev,Ib", "lock undef:OF,SF,AF,PF"),
    ("0F BB", "btc", "Ev,Gv", "lock undef:OF,SF,AF,PF"),
    # F3 0F BC / F3 0F BD (TZCNT, LZCNT) execute as BSF / BSR on processors
    # without them (SDM Vol. 2A LZCNT, TZCNT): F2/F3 are ignored here
    ("0F BC", "bsf", "Gv,Ev", "undef:CF,OF,SF,AF,PF"),
    ("0F BD", "bsr", "Gv,Ev", "undef:CF,OF,SF,AF,PF"),
    ("0F BE", "movsx", "Gv,Eb", ""),
    ("0F BF", "movsx", "Gv,Ew", ""),
    ("0F C0", "xadd", "Eb,Gb", "lock"),
    ("0F C1", "xadd", "Ev,Gv", "lock"),
    ("0F C7 /1 mem", "cmpxchg8b", "Mq", "lock"),
    ("0F C8+r", "bswap", "Zd", ""),
    # FXSAVE/FXRSTOR (Pentium II, CPUID.FXSR): the x87 state in a 512-byte area
    ("0F AE /0 mem", "fxsave", "M", "x87 p6"),
    ("0F AE /1 mem", "fxrstor", "M", "x87 p6"),
]
# LOCK, REP/REPNE, operand/address size and segment overrides are prefixes,
# handled by the decoder itself.

X87_ROWS = []


def _x87_arith(opcode, memsize):
    names = ("fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr")
    return [("%s /%d mem" % (opcode, n), nm, "M" + memsize, "x87") for n, nm in enumerate(names)]


def _x87_iarith(opcode, memsize):
    names = ("fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv", "fidivr")
    return [("%s /%d mem" % (opcode, n), nm, "M" + memsize, "x87") for n, nm in enumerate(names)]


X87_ROWS += _x87_arith("D8", "fs") + _x87_arith("DC", "fd")
X87_ROWS += _x87_iarith("DA", "di") + _x87_iarith("DE", "wi")
X87_ROWS += [
    ("D8 C0+i", "fadd", "ST,STi", "x87"),
    ("D8 C8+i", "fmul", "ST,STi", "x87"),
    ("D8 D0+i", "fcom", "STi", "x87"),
    ("D8 D8+i", "fcomp", "STi", "x87"),
    ("D8 E0+i", "fsub", "ST,STi", "x87"),
    ("D8 E8+i", "fsubr", "ST,STi", "x87"),
    ("D8 F0+i", "fdiv", "ST,STi", "x87"),
    ("D8 F8+i", "fdivr", "ST,STi", "x87"),
    ("D9 /0 mem", "fld", "Mfs", "x87"),
    ("D9 /2 mem", "fst", "Mfs", "x87"),
    ("D9 /3 mem", "fstp", "Mfs", "x87"),
    ("D9 /4 mem", "fldenv", "Menv", "x87"),
    ("D9 /5 mem", "fldcw", "Mcw", "x87"),
    ("D9 /6 mem", "fnstenv", "Menv", "x87"),
    ("D9 /7 mem", "fnstcw", "Mcw", "x87"),
    ("D9 C0+i", "fld", "STi", "x87"),
    ("D9 C8+i", "fxch", "STi", "x87"),
    ("D9 D8+i", "fstp", "STi", "x87"),     # undocumented alias of DD D8+i (FSTP1)
    ("D9 D0", "fnop", "", "x87"),
    ("D9 E0", "fchs", "", "x87"),
    ("D9 E1", "fabs", "", "x87"),
    ("D9 E4", "ftst", "", "x87"),
    ("D9 E5", "fxam", "", "x87"),
    ("D9 E8", "fld1", "", "x87"),
    ("D9 E9", "fldl2t", "", "x87"),
    ("D9 EA", "fldl2e", "", "x87"),
    ("D9 EB", "fldpi", "", "x87"),
    ("D9 EC", "fldlg2", "", "x87"),
    ("D9 ED", "fldln2", "", "x87"),
    ("D9 EE", "fldz", "", "x87"),
    ("D9 F0", "f2xm1", "", "x87"),
    ("D9 F1", "fyl2x", "", "x87"),
    ("D9 F2", "fptan", "", "x87"),
    ("D9 F3", "fpatan", "", "x87"),
    ("D9 F4", "fxtract", "", "x87"),
    ("D9 F5", "fprem1", "", "x87"),
    ("D9 F6", "fdecstp", "", "x87"),
    ("D9 F7", "fincstp", "", "x87"),
    ("D9 F8", "fprem", "", "x87"),
    ("D9 F9", "fyl2xp1", "", "x87"),
    ("D9 FA", "fsqrt", "", "x87"),
    ("D9 FB", "fsincos", "", "x87"),
    ("D9 FC", "frndint", "", "x87"),
    ("D9 FD", "fscale", "", "x87"),
    ("D9 FE", "fsin", "", "x87"),
    ("D9 FF", "fcos", "", "x87"),
    ("DA C0+i", "fcmovb", "ST,STi", "x87 p6"),
    ("DA C8+i", "fcmove", "ST,STi", "x87 p6"),
    ("DA D0+i", "fcmovbe", "ST,STi", "x87 p6"),
    ("DA D8+i", "fcmovu", "ST,STi", "x87 p6"),
    ("DA E9", "fucompp", "", "x87"),
    ("DB /0 mem", "fild", "Mdi", "x87"),
    ("DB /2 mem", "fist", "Mdi", "x87"),
    ("DB /3 mem", "fistp", "Mdi", "x87"),
    ("DB /5 mem", "fld", "Mft", "x87"),
    ("DB /7 mem", "fstp", "Mft", "x87"),
    ("DB C0+i", "fcmovnb", "ST,STi", "x87 p6"),
    ("DB C8+i", "fcmovne", "ST,STi", "x87 p6"),
    ("DB D0+i", "fcmovnbe", "ST,STi", "x87 p6"),
    ("DB D8+i", "fcmovnu", "ST,STi", "x87 p6"),
    ("DB E2", "fnclex", "", "x87"),
    ("DB E3", "fninit", "", "x87"),
    # FENI, FDISI (8087) and FSETPM (287) "perform no function" on the 387 and
    # later (SDM Vol. 1 8.3.13, Unsupported x87 FPU Instructions): FNOP
    ("DB E0", "fnop", "", "x87"),
    ("DB E1", "fnop", "", "x87"),
    ("DB E4", "fnop", "", "x87"),
    ("DB E8+i", "fucomi", "ST,STi", "x87 p6"),
    ("DB F0+i", "fcomi", "ST,STi", "x87 p6"),
    ("DC C0+i", "fadd", "STi,ST", "x87"),
    ("DC C8+i", "fmul", "STi,ST", "x87"),
    ("DC D0+i", "fcom", "STi", "x87"),     # undocumented alias of D8 D0+i (FCOM2)
    ("DC D8+i", "fcomp", "STi", "x87"),    # undocumented alias of D8 D8+i (FCOMP3)
    ("DC E0+i", "fsubr", "STi,ST", "x87"),
    ("DC E8+i", "fsub", "STi,ST", "x87"),
    ("DC F0+i", "fdivr", "STi,ST", "x87"),
    ("DC F8+i", "fdiv", "STi,ST", "x87"),
    ("DD /0 mem", "fld", "Mfd", "x87"),
    ("DD /2 mem", "fst", "Mfd", "x87"),
    ("DD /3 mem", "fstp", "Mfd", "x87"),
    ("DD /4 mem", "frstor", "Mst", "x87"),
    ("DD /6 mem", "fnsave", "Mst", "x87"),
    ("DD /7 mem", "fnstsw", "Mcw", "x87"),
    ("DD C0+i", "ffree", "STi", "x87"),
    ("DD C8+i", "fxch", "STi", "x87"),     # undocumented alias of D9 C8+i (FXCH4)
    ("DD D0+i", "fst", "STi", "x87"),
    ("DD D8+i", "fstp", "STi", "x87"),
    ("DD E0+i", "fucom", "STi", "x87"),
    ("DD E8+i", "fucomp", "STi", "x87"),
    ("DE C0+i", "faddp", "STi,ST", "x87"),
    ("DE C8+i", "fmulp", "STi,ST", "x87"),
    ("DE D0+i", "fcomp", "STi", "x87"),    # undocumented alias of D8 D8+i (FCOMP5)
    ("DE D9", "fcompp", "", "x87"),
    ("DE E0+i", "fsubrp", "STi,ST", "x87"),
    ("DE E8+i", "fsubp", "STi,ST", "x87"),
    ("DE F0+i", "fdivrp", "STi,ST", "x87"),
    ("DE F8+i", "fdivp", "STi,ST", "x87"),
    ("DF /0 mem", "fild", "Mwi", "x87"),
    ("DF /2 mem", "fist", "Mwi", "x87"),
    ("DF /3 mem", "fistp", "Mwi", "x87"),
    ("DF /4 mem", "fbld", "Mbcd", "x87"),
    ("DF /5 mem", "fild", "Mqi", "x87"),
    ("DF /6 mem", "fbstp", "Mbcd", "x87"),
    ("DF /7 mem", "fistp", "Mqi", "x87"),
    ("DF C0+i", "ffreep", "STi", "x87"),   # undocumented: FFREE ST(i), then pop
    ("DF C8+i", "fxch", "STi", "x87"),     # undocumented alias of D9 C8+i (FXCH7)
    ("DF D0+i", "fstp", "STi", "x87"),     # undocumented alias of DD D8+i (FSTP8)
    ("DF D8+i", "fstp", "STi", "x87"),     # undocumented alias of DD D8+i (FSTP9)
    ("DF E0", "fnstsw", "AX", "x87"),
    ("DF E8+i", "fucomip", "ST,STi", "x87 p6"),
    ("DF F0+i", "fcomip", "ST,STi", "x87 p6"),
]

ALL_ROWS = ROWS + X87_ROWS
