"""Data movement: MOV MOVZX MOVSX LEA XCHG CBW CWD XLAT BSWAP SALC, MOV to/from
segment registers, segment loads (MOV to/from CRn/DRn: system.py)."""
from ...cpu.state import EAX, EBX, EDX, SS
from ...frontend import tables as T
from .segload import load_segment


def op_mov(g, insn):
    size = g.operand_size(insn, 0)
    g.write(insn, 0, g.read(insn, 1, size))


def op_mov_sreg(g, insn):
    """MOV Sreg, Ew (8E) and MOV Ev, Sreg (8C)."""
    if T.FORM_KIND[insn.form.index][0] == T.K_S:     # MOV Sreg, Ew
        load_segment(g, insn.reg, g.read(insn, 1, 2))
        if insn.reg == SS:
            ss_shadow(g)
        return
    # MOV Ev, Sreg: a 16-bit store to memory; a register gets the
    # zero-extended selector at the operand size (SDM Vol. 2B MOV)
    sel = g.read(insn, 1, 2)
    g.write(insn, 0, sel if g.is_memory(insn, 0) else g.zext(sel, insn.opsize))


def ss_shadow(g):
    """MOV SS / POP SS: the next instruction runs before any interrupt or
    single-step trap, so that a following MOV ESP completes the stack switch
    (SDM Vol. 3A 6.8.3)."""
    g.inhibit_interrupts()
    g.step_trap_suppressed = True


def op_movzx(g, insn):
    g.write(insn, 0, g.zext(g.read(insn, 1), insn.opsize))


def op_movsx(g, insn):
    g.write(insn, 0, g.sext(g.read(insn, 1), insn.opsize))


def op_lea(g, insn):
    g.write(insn, 0, g.trunc(g.ea(insn), insn.opsize))


def op_xchg(g, insn):
    size = g.operand_size(insn, 0)
    a = g.read(insn, 0)
    b = g.read(insn, 1, size)
    # a memory operand first: its store is the part that can fault.  Two
    # registers hold equal values when they are the same one, so their order
    # is free: the second operand first (eAX of XCHG Zv,eAX, a fixed register,
    # before the one a stencil names by a hole: baseline/stencilgen.py)
    if g.is_memory(insn, 0):
        g.write(insn, 0, b)
        g.write(insn, 1, a)
    else:
        g.write(insn, 1, a)
        g.write(insn, 0, b)


def op_cbw(g, insn):
    half = insn.opsize // 2
    g.set_reg(EAX, insn.opsize, g.sext(g.reg(EAX, half), insn.opsize))


def op_cwd(g, insn):
    size = insn.opsize
    a = g.reg(EAX, size)
    g.set_reg(EDX, size, g.b.ashr(a, g.const(8 * size - 1, size)))


def op_xlat(g, insn):
    b = g.b
    base = g.reg(EBX, insn.addrsize)
    off = g.addr_mask(b.add(g.zext(base, 4), g.zext(g.reg(EAX, 1), 4)), insn.addrsize)
    g.set_reg(EAX, 1, g.load(insn.seg, off, 1))


def op_bswap(g, insn):
    # BSWAP with a 16-bit operand is undefined (SDM); hardware and QEMU clear it
    if insn.opsize == 2:
        g.set_reg(insn.opreg, 2, g.const(0, 2))
        return
    g.set_reg(insn.opreg, 4, g.b.bswap(g.reg(insn.opreg, 4)))


def op_salc(g, insn):
    g.set_reg(EAX, 1, g.b.sext(g.flag("CF"), g.ty(1)))


def _load_far_pointer(g, insn, seg):
    """LDS/LES/LFS/LGS/LSS: offset then selector from memory, then the segment."""
    size = insn.opsize
    off = g.ea(insn)
    value = g.load(insn.seg, off, size)
    sel = g.load(insn.seg, g.addr_mask(g.b.add(off, g.const(size, 4)), insn.addrsize), 2)
    load_segment(g, seg, sel)
    g.set_reg(insn.reg, size, value)


def op_les(g, insn):
    _load_far_pointer(g, insn, 0)


def op_lds(g, insn):
    _load_far_pointer(g, insn, 3)


def op_lss(g, insn):
    _load_far_pointer(g, insn, 2)


def op_lfs(g, insn):
    _load_far_pointer(g, insn, 4)


def op_lgs(g, insn):
    _load_far_pointer(g, insn, 5)
