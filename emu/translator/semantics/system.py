"""System and miscellaneous: NOP HLT IN OUT INT* UD2 CPUID RDTSC RDMSR WRMSR,
descriptor-table and control-register instructions (Intel SDM Vol. 2 and 3A).

The rare instructions call Python helpers (emu/translator/helpers/); the
block ends after the ones that can change the translation mode.
"""
from ...cpu import hflags as H
from ...cpu.state import EAX, EDX, EXC_INT1, EXC_INT_N, EXC_SOFTWARE
from ...cpu.vectors import Vector
from ...frontend import tables as T
from ..irstate import load_field


def op_nop(g, insn):
    pass


def op_hlt(g, insn):
    g.halt()


def op_ud2(g, insn):
    g.raise_now(Vector.UD)


def op_int3(g, insn):
    g.software_interrupt(Vector.BP)


def op_int1(g, insn):
    g.software_interrupt(Vector.DB, EXC_SOFTWARE | EXC_INT1)


def op_int(g, insn):
    g.software_interrupt(g.low(insn.imm, 1), EXC_SOFTWARE | EXC_INT_N)


def op_bound(g, insn):
    """BOUND r, m: #BR (a fault) unless lower <= r <= upper, the signed pair at
    m (SDM Vol. 2A BOUND); both bounds are read first, so either may fault."""
    b = g.b
    size = insn.opsize
    off = g.ea(insn)
    lower = g.load(insn.seg, off, size)
    upper = g.load(insn.seg, g.addr_mask(b.add(off, g.const(size, 4)), insn.addrsize), size)
    index = g.reg(insn.reg, size)
    outside = b.or_(b.icmp_signed("<", index, lower), b.icmp_signed(">", index, upper))
    g.fault_if(outside, Vector.BR)


def op_into(g, insn):
    g.exit_if(g.b.not_(g.flag("OF")), insn.next_eip)
    g.software_interrupt(Vector.OF)


# --- I/O ----------------------------------------------------------------------
def io_permission(g, port, size):
    """SDM Vol. 1 19.5: with CPL > IOPL (or in virtual-8086 mode) the TSS I/O
    bitmap decides; the check is done in Python (helpers/system.py)."""
    if g.vm or (g.pe and g.cpl > 0):
        g.call_python("helper_io_check", g.zext(port, 4), g.const(size, 4))


def _port(g, insn, n):
    kind = T.FORM_KIND[insn.form.index, n]
    if kind == T.K_I:
        return g.const(g.low(insn.imm, 1), 4)
    return g.zext(g.reg(EDX, 2), 4)


def op_in(g, insn):
    size = g.operand_size(insn, 0)
    port = _port(g, insn, 1)
    io_permission(g, port, size)
    g.set_reg(EAX, size, g.io_read(port, size))


def op_out(g, insn):
    size = g.operand_size(insn, 1)
    port = _port(g, insn, 0)
    io_permission(g, port, size)
    g.io_write(port, size, g.reg(EAX, size))


# --- processor identification and time ---------------------------------------------
def op_cpuid(g, insn):
    g.call_python("helper_cpuid")


def op_rdtsc(g, insn):
    g.call_python("helper_rdtsc")


def op_rdpmc(g, insn):
    g.call_python("helper_rdpmc")


def op_rdmsr(g, insn):
    g.call_python("helper_rdmsr")


def op_wrmsr(g, insn):
    g.call_python("helper_wrmsr", ends_block=True)


# --- descriptor tables, control registers ---------------------------------------
def _mem_operand(g, insn):
    return g.linear(insn.seg, g.ea(insn))


def op_lgdt(g, insn):
    g.call_python("helper_load_dtr", g.const(0, 4), _mem_operand(g, insn), g.const(insn.opsize, 4),
                  ends_block=True)


def op_lidt(g, insn):
    g.call_python("helper_load_dtr", g.const(1, 4), _mem_operand(g, insn), g.const(insn.opsize, 4),
                  ends_block=True)


def op_sgdt(g, insn):
    g.call_python("helper_store_dtr", g.const(0, 4), _mem_operand(g, insn), g.const(insn.opsize, 4))


def op_sidt(g, insn):
    g.call_python("helper_store_dtr", g.const(1, 4), _mem_operand(g, insn), g.const(insn.opsize, 4))


def op_lldt(g, insn):
    g.call_python("helper_lldt", g.zext(g.read(insn, 0, 2), 4), ends_block=True)


def op_ltr(g, insn):
    g.call_python("helper_ltr", g.zext(g.read(insn, 0, 2), 4), ends_block=True)


def op_sldt(g, insn):
    _store_selector(g, insn, "ldtr")


def op_str(g, insn):
    _store_selector(g, insn, "tr")


def _store_selector(g, insn, which):
    sel = g.b.trunc(load_field(g.b, g.s, which, "selector"), g.ty(2))
    g.write(insn, 0, sel if g.is_memory(insn, 0) else g.zext(sel, insn.opsize))


def op_smsw(g, insn):
    cr0 = g.b.trunc(load_field(g.b, g.s, "cr", 0), g.ty(4))
    g.write(insn, 0, g.trunc(cr0, 2) if g.is_memory(insn, 0) else g.trunc(cr0, insn.opsize))


def op_lmsw(g, insn):
    g.call_python("helper_lmsw", g.zext(g.read(insn, 0, 2), 4), ends_block=True)


def op_clts(g, insn):
    g.call_python("helper_clts", ends_block=True)


def op_invlpg(g, insn):
    g.call_python("helper_invlpg", _mem_operand(g, insn), ends_block=True)


def op_invd(g, insn):
    pass        # no caches to invalidate


def op_wbinvd(g, insn):
    pass


def op_mov_cr(g, insn):
    """MOV r32, CRn (0F 20) and MOV CRn, r32 (0F 22)."""
    _mov_control(g, insn, "helper_read_cr", "helper_write_cr")


def op_mov_dr(g, insn):
    """MOV r32, DRn (0F 21) and MOV DRn, r32 (0F 23)."""
    _mov_control(g, insn, "helper_read_dr", "helper_write_dr")


def _mov_control(g, insn, read, write):
    """MOV to/from CRn or DRn, through the Python helpers read and write
    (SDM Vol. 2B MOV-Move to/from Control Registers, Debug Registers)."""
    if T.FORM_KIND[insn.form.index][0] == T.K_R:     # MOV r32, CRn/DRn
        g.call_python(read, g.const(insn.reg, 4), g.reg_number(insn.rm))
    else:
        g.call_python(write, g.const(insn.reg, 4), g.zext(g.reg(insn.rm, 4), 4), ends_block=True)


def op_lar(g, insn):
    _lar_lsl(g, insn, 0)


def _lar_lsl(g, insn, which):
    """LAR (0) / LSL (1): the helper writes the destination register itself."""
    dest = g.b.or_(g.reg_number(insn.reg), g.const(insn.opsize << 8, 4))
    g.call_python("helper_lar_lsl", g.zext(g.read(insn, 1, 2), 4), dest, g.const(which, 4))


def op_lsl(g, insn):
    _lar_lsl(g, insn, 1)


def op_verr(g, insn):
    g.call_python("helper_verr_verw", g.zext(g.read(insn, 0, 2), 4), g.const(0, 4))


def op_verw(g, insn):
    g.call_python("helper_verr_verw", g.zext(g.read(insn, 0, 2), 4), g.const(1, 4))


def op_arpl(g, insn):
    """ARPL: raise the RPL of the destination selector to the source's (SDM Vol. 2A)."""
    b = g.b
    dst = g.read(insn, 0, 2)
    src = g.read(insn, 1, 2)
    three = g.const(3, 2)
    raise_it = b.icmp_unsigned("<", b.and_(dst, three), b.and_(src, three))
    g.write(insn, 0, b.select(raise_it, b.or_(b.and_(dst, g.const(~3, 2)), b.and_(src, three)), dst))
    g.set_eflags(b.shl(b.zext(raise_it, g.ty(4)), g.const(6, 4)), H.ZF)


def op_sysenter(g, insn):
    g.call_python("helper_sysenter")
    g.jump_indirect_from_state()


def op_sysexit(g, insn):
    g.call_python("helper_sysexit", g.const(insn.opsize, 4))
    g.jump_indirect_from_state()
