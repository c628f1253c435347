"""Encode instructions straight from the opcode table (emu/frontend/opcodes.py).

Keystone is not used: it has encoding bugs (and cannot express every form
the table has, such as 82 /n or the F6 /1 alias).  A form is a table row; the
caller picks the register and memory operands, the immediates and the
prefixes, and `encode` returns the bytes plus what the harness needs to know
about them (which registers form the memory operand, and so on).
"""
import struct
from dataclasses import dataclass, field

from emu.frontend import tables as T

EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(8)
REG32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")

# 16-bit ModRM r/m -> (base, index) (SDM Vol. 2A Table 2-1); -1 = none
RM16 = ((EBX, ESI), (EBX, EDI), (EBP, ESI), (EBP, EDI), (ESI, -1), (EDI, -1), (EBP, -1), (EBX, -1))

SEG_PREFIX = {0: 0x26, 1: 0x2E, 2: 0x36, 3: 0x3E, 4: 0x64, 5: 0x65}


def forms(mnemonic):
    """The table rows of a mnemonic (x87 excluded)."""
    return [f for f in T.FORMS if f.mnemonic == mnemonic and not f.has(T.A_X87)]


def kinds(form):
    return [k for k, _, _ in form.operands]


@dataclass
class Mem:
    """A ModRM memory operand.  32-bit: base/index are registers or -1, scale
    is the shift.  16-bit: rm16 is the r/m value (0..7; 6 with mod 0 is a
    bare disp16) and base/index follow from it."""
    addrsize: int
    base: int = -1
    index: int = -1
    scale: int = 0
    disp: int = 0
    rm16: int = None

    def regs(self):
        return [r for r in (self.base, self.index) if r >= 0]

    def effective(self, regs):
        """The offset this operand names with these register values."""
        if self.addrsize == 4:
            v = self.disp
            if self.base >= 0:
                v += regs[self.base]
            if self.index >= 0:
                v += regs[self.index] << self.scale
            return v & 0xFFFFFFFF
        v = self.disp
        if self.base >= 0:
            v += regs[self.base] & 0xFFFF
        if self.index >= 0:
            v += regs[self.index] & 0xFFFF
        return v & 0xFFFF

    def solve(self, rng, regs, target, fixed=()):
        """Change free base/index registers so that the operand names `target`.
        Registers in `fixed` keep their values; returns the offset reached."""
        free = [r for r in self.regs() if r not in fixed]
        if not free:
            return self.effective(regs)
        mask = 0xFFFFFFFF if self.addrsize == 4 else 0xFFFF
        if self.addrsize == 4:
            if self.base >= 0 and self.base in free:
                if self.index >= 0 and self.index in free:
                    regs[self.index] = rng.randrange(-64, 64) & 0xFFFFFFFF
                idx = (regs[self.index] << self.scale) if self.index >= 0 else 0
                regs[self.base] = (target - self.disp - idx) & 0xFFFFFFFF
            else:                                   # only the index is free
                base = regs[self.base] if self.base >= 0 else 0
                gap = (target - self.disp - base) & 0xFFFFFFFF
                gap -= gap & ((1 << self.scale) - 1)
                regs[self.index] = (gap >> self.scale) & 0xFFFFFFFF
        else:
            r = free[0]
            others = sum(regs[x] & 0xFFFF for x in self.regs() if x != r)
            low = (target - self.disp - others) & mask
            regs[r] = (regs[r] & 0xFFFF0000) | low
        return self.effective(regs)


@dataclass
class Built:
    """One encoded instruction."""
    form: object
    code: bytes
    opsize: int
    addrsize: int
    mem: Mem = None
    reg: int = None          # ModRM.reg register (G operand) or group digit
    rm: int = None           # ModRM r/m register (mod 3)
    zreg: int = None         # register in the opcode's low bits
    cc: int = None
    imm: int = None
    imm2: int = None
    rel: int = None          # relative displacement of a J operand
    prefixes: bytes = b""
    offset: int = 0          # position in the case's code (set by the caller)
    notes: dict = field(default_factory=dict)

    @property
    def mnemonic(self):
        return self.form.mnemonic

    @property
    def length(self):
        return len(self.code)


def _modrm_mem(mem):
    """ModRM (with reg 0), SIB and displacement bytes for a memory operand."""
    if mem.addrsize == 2:
        rm = mem.rm16
        d = mem.disp
        if rm == 6 and mem.base < 0:                 # [disp16]
            return bytes([0x06]) + struct.pack("<H", d & 0xFFFF)
        if d == 0 and rm != 6:
            return bytes([rm])
        if -128 <= d < 128:
            return bytes([0x40 | rm]) + struct.pack("<b", d)
        return bytes([0x80 | rm]) + struct.pack("<H", d & 0xFFFF)
    base, index, scale, d = mem.base, mem.index, mem.scale, mem.disp
    sd = d - (1 << 32) if d >= 1 << 31 else d
    if base < 0:
        if index < 0:
            return bytes([0x05]) + struct.pack("<I", d & 0xFFFFFFFF)
        return bytes([0x04, scale << 6 | index << 3 | 5]) + struct.pack("<I", d & 0xFFFFFFFF)
    if sd == 0 and base != EBP:
        mod, dbytes = 0, b""
    elif -128 <= sd < 128:
        mod, dbytes = 1, struct.pack("<b", sd)
    else:
        mod, dbytes = 2, struct.pack("<I", d & 0xFFFFFFFF)
    if index < 0 and base != ESP:
        return bytes([mod << 6 | base]) + dbytes
    idx = 4 if index < 0 else index
    return bytes([mod << 6 | 4, scale << 6 | idx << 3 | base]) + dbytes


def random_mem(rng, addrsize, avoid=(), disp_kind=None):
    """A random memory operand whose registers avoid `avoid`."""
    if addrsize == 2:
        choices = [rm for rm in range(8) if not set(r for r in RM16[rm] if r >= 0) & set(avoid)]
        rm = rng.choice(choices) if choices else 6
        base, index = RM16[rm]
        kind = disp_kind or rng.choice(("0", "8", "16"))
        disp = {"0": 0, "8": rng.randrange(-128, 128), "16": rng.randrange(0x10000)}[kind]
        if rm == 6 and kind == "0" and choices:
            # [bp] needs a displacement; mod 0 r/m 6 is a bare disp16
            if rng.random() < 0.3:
                return Mem(2, -1, -1, 0, rng.randrange(0x10000), 6)
            disp = rng.randrange(-128, 128) or 1
        if not choices:
            return Mem(2, -1, -1, 0, rng.randrange(0x10000), 6)
        return Mem(2, base, index, 0, disp & 0xFFFF if kind == "16" else disp, rm)
    regs = [r for r in range(8) if r not in avoid]
    shape = rng.choice(("b", "b", "bi", "bi", "i", "d"))
    base = index = -1
    if "b" in shape and regs:
        base = rng.choice(regs)
    if "i" in shape:
        idx_regs = [r for r in regs if r != ESP and r != base]
        if idx_regs:
            index = rng.choice(idx_regs)
    kind = disp_kind or rng.choice(("0", "8", "32"))
    disp = {"0": 0, "8": rng.randrange(-128, 128), "32": rng.randrange(1 << 32)}[kind]
    if base < 0 and index < 0:
        disp = rng.randrange(1 << 32)           # absolute: the harness places it
    return Mem(4, base, index, rng.randrange(4) if index >= 0 else 0, disp)


def _imm_bytes(value, size):
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def opcode_bytes(form, zreg=None, cc=None):
    """(opcode bytes, group digit or None, ModRM byte fixed by an x87 form or None)."""
    parts = form.opcode.split()
    out = []
    if parts[0] == "0F":
        out.append(0x0F)
        parts = parts[1:]
    first = parts[0]
    if first.endswith("+r"):
        out.append(int(first[:-2], 16) + zreg)
    elif first.endswith("+cc"):
        out.append(int(first[:-3], 16) + cc)
    else:
        out.append(int(first, 16))
    digit = None
    if len(parts) > 1 and parts[1].startswith("/"):
        digit = int(parts[1][1:])
    return bytes(out), digit


def operand_bytes(size_code, opsize):
    if size_code > 0:
        return size_code
    if size_code == T.SZ_V:
        return opsize
    if size_code == T.SZ_Z:
        return min(opsize, 4)
    return 0


def encode(form, bits, opsize=None, addrsize=None, reg=None, rm=None, mem=None, zreg=None, cc=None,
           imm=None, imm2=None, rel=None, rep=None, seg=None, lock=False):
    """Encode a table form.  Operands left as None must not be needed.

    reg: the G operand's register; rm: a register r/m (mod 3); mem: a Mem for
    a memory r/m; zreg: the +r register; cc: the +cc condition; imm/imm2: the
    immediates (any int; truncated to their size); rel: a J displacement;
    rep: 0xF2/0xF3; seg: a segment-override number; lock: a LOCK prefix.
    """
    default = 4 if bits == 32 else 2
    opsize = opsize or default
    addrsize = addrsize or (mem.addrsize if mem is not None else default)
    prefixes = bytearray()
    if lock:
        prefixes.append(0xF0)
    if seg is not None:
        prefixes.append(SEG_PREFIX[seg])
    if opsize != default:
        prefixes.append(0x66)
    if addrsize != default:
        prefixes.append(0x67)
    if rep is not None:
        prefixes.append(rep)
    op, digit = opcode_bytes(form, zreg, cc)
    body = bytearray(op)
    ks = kinds(form)
    if form.has(T.A_MODRM):
        regfield = digit if digit is not None else (reg or 0)
        if mem is not None:
            mr = bytearray(_modrm_mem(mem))
            mr[0] |= regfield << 3
        else:
            mr = bytearray([0xC0 | regfield << 3 | (rm or 0)])
        body += mr
    immsizes = []
    for k, s, _ in form.operands:
        if k == T.K_I:
            immsizes.append(operand_bytes(s, opsize))
        elif k == T.K_J:
            body_rel = operand_bytes(s, opsize)
            immsizes.append(("rel", body_rel))
        elif k == T.K_O:
            immsizes.append(("moffs", addrsize))
    values = [imm, imm2]
    vi = 0
    for s in immsizes:
        if isinstance(s, tuple):
            what, n = s
            if what == "rel":
                body += _imm_bytes(rel, n)
            else:
                body += _imm_bytes(mem.disp if mem is not None else imm, n)
        else:
            body += _imm_bytes(values[vi], s)
            vi += 1
    b = Built(form=form, code=bytes(prefixes) + bytes(body), opsize=opsize, addrsize=addrsize,
              mem=mem if (mem is not None and (T.K_O not in ks or True)) else None,
              reg=reg if digit is None else digit, rm=rm, zreg=zreg, cc=cc, imm=imm, imm2=imm2, rel=rel,
              prefixes=bytes(prefixes))
    return b


def moffs_mem(addrsize, address):
    """The memory operand of a moffs form (A0..A3): an absolute address."""
    if addrsize == 2:
        return Mem(2, -1, -1, 0, address & 0xFFFF, 6)
    return Mem(4, -1, -1, 0, address & 0xFFFFFFFF)
