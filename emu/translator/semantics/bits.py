"""Bit instructions: BT BTS BTR BTC BSF BSR (Intel SDM Vol. 2A)."""
from ...cpu import hflags as H
from ...frontend import tables as T
from .. import lazyflags as LF


def _bit_test(g, insn, action):
    b = g.b
    size = insn.opsize
    bits = 8 * size
    offset_kind = T.FORM_KIND[insn.form.index, 1]
    if offset_kind == T.K_I:
        offset = g.b.and_(g.const(g.low(insn.imm, 1), size), g.const(bits - 1, size))
        seg_disp = None
    else:
        offset = g.read(insn, 1, size)
        seg_disp = offset
    if g.is_memory(insn, 0) and seg_disp is not None:
        # a register bit offset reaches outside the operand: SDM Vol. 2A BT,
        # address = EA + (signed offset >> log2(bits)) * size
        shift = bits.bit_length() - 1
        words = b.ashr(g.sext(seg_disp, 4), g.const(shift, 4))
        addr = g.addr_mask(b.add(g.ea(insn), b.mul(words, g.const(size, 4))), insn.addrsize)
        value = g.load(insn.seg, addr, size)
        store = lambda v: g.store(insn.seg, addr, size, v)   # noqa: E731
    else:
        value = g.read(insn, 0)
        store = lambda v: g.write(insn, 0, v)                # noqa: E731
    bit_index = b.and_(offset, g.const(bits - 1, size))
    mask = b.shl(g.const(1, size), bit_index)
    bit = b.icmp_unsigned("!=", b.and_(value, mask), g.const(0, size))
    if action == "set":
        store(b.or_(value, mask))
    elif action == "reset":
        store(b.and_(value, b.not_(mask)))
    elif action == "complement":
        store(b.xor(value, mask))
    # CF = the bit; ZF unaffected; OF SF AF PF undefined (kept)
    old = g.arith_flags()
    g.set_arith_flags(b.or_(b.and_(old, g.const(~H.CF, 4)), g.zext(bit, 4)))


def op_bt(g, insn):
    _bit_test(g, insn, None)


def op_bts(g, insn):
    _bit_test(g, insn, "set")


def op_btr(g, insn):
    _bit_test(g, insn, "reset")


def op_btc(g, insn):
    _bit_test(g, insn, "complement")


def _bit_scan(g, insn, reverse):
    """BSF/BSR: a zero source sets ZF and leaves the destination as it was."""
    b = g.b
    size = insn.opsize
    src = g.read(insn, 1, size)
    is_zero = b.icmp_unsigned("==", src, g.const(0, size))
    if reverse:
        index = b.sub(g.const(8 * size - 1, size), b.ctlz(src, g.bool(True)))
    else:
        index = b.cttz(src, g.bool(True))
    old = g.reg(insn.reg, size)
    g.set_reg(insn.reg, size, g.select(is_zero, old, index))
    g.set_flags(LF.K_LOGIC, size, src)


def op_bsf(g, insn):
    _bit_scan(g, insn, False)


def op_bsr(g, insn):
    _bit_scan(g, insn, True)
