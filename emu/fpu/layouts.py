"""The x87 state in memory: FNSTENV/FLDENV, FNSAVE/FRSTOR, FXSAVE/FXRSTOR images.

Pure functions between a CpuState (ctypes) and bytes; the helpers in
emu/translator/helpers/x87.py move the bytes to and from guest memory.

Environment (SDM Vol. 1 8.1.10, Figures 8-9 to 8-12): 28 bytes with a
32-bit operand size, 14 with a 16-bit one; in real and virtual-8086 mode
the instruction and data pointers are 20/32-bit linear addresses split
around the opcode instead of offset + selector.  Reserved fields are written
as 0 (as QEMU does).  FNSAVE appends ST(0)..ST(7), 10 bytes each, in stack
order.

FXSAVE (SDM Vol. 2A FXSAVE, Table 3-53, the non-64-bit layout): 512 bytes;
the tag word is abridged to one bit per physical register (1 = not empty).
Only the fields the layout defines are written; the reserved bytes (and, while
CR4.OSFXSR is clear, the MXCSR and XMM area) keep what memory held.  pyemu
has no SSE: with OSFXSR set, MXCSR is stored as its reset value 0x1F80,
MXCSR_MASK as 0 ("use the default mask") and the XMM registers as zeros.
"""
import struct

from ..cpu import hflags as H
from . import control as C

ENV32, ENV16 = 28, 14
MXCSR_DEFAULT = 0x1F80
MXCSR_MASK = 0xFFBF          # the bits FXRSTOR accepts (SDM Vol. 1 11.6.6, default mask)
CR4_OSFXSR = 1 << 9


def real_mode(cpu):
    return not cpu.cr[0] & H.CR0_PE or bool(cpu.eflags & H.VM)


def env_image(cpu, opsize32):
    """FNSTENV: the environment as bytes."""
    cw, sw, tw = cpu.fpu_cw & 0xFFFF, C.status_word(cpu.fpu_sw, cpu.fpu_top), cpu.fpu_tag & 0xFFFF
    op = cpu.fpu_op & 0x7FF
    if real_mode(cpu):
        ip = ((cpu.fpu_cs & 0xFFFF) << 4) + cpu.fpu_ip
        dp = ((cpu.fpu_ds & 0xFFFF) << 4) + cpu.fpu_dp
        if opsize32:
            return struct.pack("<IIIIIII", cw, sw, tw, ip & 0xFFFF, ((ip >> 16) & 0xFFFF) << 12 | op,
                               dp & 0xFFFF, ((dp >> 16) & 0xFFFF) << 12)
        return struct.pack("<HHHHHHH", cw, sw, tw, ip & 0xFFFF, ((ip >> 16) & 0xF) << 12 | op,
                           dp & 0xFFFF, ((dp >> 16) & 0xF) << 12)
    if opsize32:
        return struct.pack("<IIIIIII", cw, sw, tw, cpu.fpu_ip & 0xFFFFFFFF,
                           (cpu.fpu_cs & 0xFFFF) | op << 16, cpu.fpu_dp & 0xFFFFFFFF, cpu.fpu_ds & 0xFFFF)
    return struct.pack("<HHHHHHH", cw, sw, tw, cpu.fpu_ip & 0xFFFF, cpu.fpu_cs & 0xFFFF,
                       cpu.fpu_dp & 0xFFFF, cpu.fpu_ds & 0xFFFF)


def load_env(cpu, data, opsize32):
    """The environment but its tag word, which is returned: it applies once the
    registers are in place (fldenv, load_state)."""
    if opsize32:
        cw, sw, tw, w3, w4, w5, w6 = struct.unpack("<IIIIIII", data[:ENV32])
    else:
        cw, sw, tw, w3, w4, w5, w6 = struct.unpack("<HHHHHHH", data[:ENV16])
    cpu.fpu_cw = cw & 0xFFFF
    C.set_status_word(cpu, sw & 0xFFFF)
    if real_mode(cpu):
        hi_bits = 0xFFFF if opsize32 else 0xF
        cpu.fpu_op = w4 & 0x7FF
        cpu.fpu_ip = (w3 & 0xFFFF) | (((w4 >> 12) & hi_bits) << 16)
        cpu.fpu_dp = (w5 & 0xFFFF) | (((w6 >> 12) & hi_bits) << 16)
        cpu.fpu_cs = cpu.fpu_ds = 0
    else:
        cpu.fpu_ip = w3 if opsize32 else w3 & 0xFFFF
        cpu.fpu_cs = w4 & 0xFFFF
        cpu.fpu_op = (w4 >> 16) & 0x7FF if opsize32 else cpu.fpu_op
        cpu.fpu_dp = w5 if opsize32 else w5 & 0xFFFF
        cpu.fpu_ds = w6 & 0xFFFF
    return tw & 0xFFFF


def fldenv(cpu, data, opsize32):
    """FLDENV: a loaded tag word keeps its empty registers, the others follow the contents."""
    C.set_tags(cpu, C.empty_registers(load_env(cpu, data, opsize32)))


def reg_bytes(cpu, i):
    """ST(i) as 10 bytes."""
    p = (cpu.fpu_top + i) & 7
    return struct.pack("<QH", cpu.fpu_mant[p], cpu.fpu_se[p])


def set_reg_bytes(cpu, i, raw):
    p = (cpu.fpu_top + i) & 7
    cpu.fpu_mant[p], cpu.fpu_se[p] = struct.unpack("<QH", raw[:10])


def save_image(cpu, opsize32):
    """FNSAVE: environment and registers (the caller then reinitialises)."""
    return env_image(cpu, opsize32) + b"".join(reg_bytes(cpu, i) for i in range(8))


def load_state(cpu, data, opsize32):
    """FRSTOR."""
    n = ENV32 if opsize32 else ENV16
    tw = load_env(cpu, data, opsize32)
    for i in range(8):
        set_reg_bytes(cpu, i, data[n + 10 * i:n + 10 * i + 10])
    C.set_tags(cpu, C.empty_registers(tw))


def fxsave_image(cpu, old):
    """FXSAVE: the 512-byte area, starting from what memory held (`old`)."""
    area = bytearray(old)
    struct.pack_into("<HHBBHIHHIHH", area, 0, cpu.fpu_cw & 0xFFFF, C.status_word(cpu.fpu_sw, cpu.fpu_top),
                     C.abridged_tags(cpu.fpu_tag), 0,
                     cpu.fpu_op & 0x7FF, cpu.fpu_ip & 0xFFFFFFFF, cpu.fpu_cs & 0xFFFF, 0,
                     cpu.fpu_dp & 0xFFFFFFFF, cpu.fpu_ds & 0xFFFF, 0)
    for i in range(8):
        area[32 + 16 * i:42 + 16 * i] = reg_bytes(cpu, i)
    if cpu.cr[4] & CR4_OSFXSR:
        struct.pack_into("<II", area, 24, MXCSR_DEFAULT, 0)
        area[160:288] = bytes(128)
    return bytes(area)


def fxrstor_check(cpu, data):
    """Why FXRSTOR must fault (#GP): MXCSR with reserved bits, under OSFXSR."""
    if cpu.cr[4] & CR4_OSFXSR:
        mxcsr = struct.unpack_from("<I", data, 24)[0]
        if mxcsr & ~MXCSR_MASK:
            return "MXCSR %#x sets reserved bits" % mxcsr
    return None


def fxrstor(cpu, data):
    cw, sw, ftw, _, op, ip, cs, _, dp, ds, _ = struct.unpack_from("<HHBBHIHHIHH", data, 0)
    cpu.fpu_cw = cw
    C.set_status_word(cpu, sw)
    cpu.fpu_op, cpu.fpu_ip, cpu.fpu_cs, cpu.fpu_dp, cpu.fpu_ds = op & 0x7FF, ip, cs, dp, ds
    for i in range(8):
        set_reg_bytes(cpu, i, data[32 + 16 * i:42 + 16 * i])
    C.set_tags(cpu, C.empty_in_abridged(ftw))
