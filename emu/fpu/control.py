"""The x87 control state, written once: what FNINIT leaves, the status word
as software reads it (TOP in bits 11-13) and the tag word, full (two bits a
physical register) and abridged (FXSAVE's one bit a register).

The functions on `s` are plain Python on attribute access, so one text
serves both sides: the Python helpers (layouts.py, the gdb stub) call them
on the ctypes CpuState, and x87.py compiles them with numba for the CpuState
record.  FNSTSW's generated code (semantics/x87.py) is built from SW_TOP and
TOP_SHIFT.
"""
import numpy as np
from numba import njit

from . import softfloat80 as S

CW_INIT = 0x37F             # FNINIT: all exceptions masked, 64-bit precision, round to nearest
TOP_SHIFT = 11
SW_TOP = 7 << TOP_SHIFT     # TOP's place in the status word; fpu_sw keeps these bits 0
SW_ES = 0x80
SW_B = 0x8000

TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY = 0, 1, 2, 3
TAGS_ALL_EMPTY = 0xFFFF


def fninit(s):
    """FNINIT (SDM Vol. 2A FINIT/FNINIT): control word 0x37F, status word and
    TOP 0, every register empty, the instruction and data pointers and the
    opcode cleared.  FNSAVE ends with the same."""
    s.fpu_cw = CW_INIT
    s.fpu_tag = TAGS_ALL_EMPTY
    s.fpu_sw = s.fpu_top = 0
    s.fpu_ip = s.fpu_cs = s.fpu_op = s.fpu_dp = s.fpu_ds = 0


# --- the status word ----------------------------------------------------------------------------

def status_word(sw, top):
    """The 16-bit status word FNSTSW, FNSTENV and FXSAVE store: fpu_sw with TOP."""
    return (sw & ~SW_TOP & 0xFFFF) | ((top & 7) << TOP_SHIFT)


def set_status_word(s, sw):
    """A status word loaded by FLDENV, FRSTOR or FXRSTOR: TOP to fpu_top, the
    rest to fpu_sw with B mirroring ES (the 387 and later have no separate
    busy state, SDM Vol. 1 8.1.3)."""
    s.fpu_top = (sw >> TOP_SHIFT) & 7
    sw &= ~SW_TOP & 0xFFFF
    s.fpu_sw = (sw & ~SW_B & 0xFFFF) | (SW_B if sw & SW_ES else 0)


# --- the tag word -------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def tag_for(se, m):
    """The tag of a register holding (se, m) (SDM Vol. 1 8.1.7)."""
    k = S.classify(se, m)
    if k == S.K_NORMAL:
        return TAG_VALID
    if k == S.K_ZERO:
        return TAG_ZERO
    return TAG_SPECIAL


def empty_registers(tag):
    """The physical registers a full tag word marks empty, bit p for register p."""
    return sum(1 << p for p in range(8) if (tag >> (2 * p)) & 3 == TAG_EMPTY)


def abridged_tags(tag):
    """FXSAVE's abridged tag word (SDM Vol. 2A FXSAVE): bit p set when register p is not empty."""
    return ~empty_registers(tag) & 0xFF


def empty_in_abridged(ftw):
    """The empty registers an abridged tag word (FXRSTOR) names."""
    return ~ftw & 0xFF


def set_tags(s, empty):
    """The tag word after a state load (FLDENV, FRSTOR, FXRSTOR): the registers
    in `empty` (bit p) are empty, the others tagged from what they hold, so the
    tag word stays equal to the contents whatever the image said."""
    tags = 0
    for p in range(8):
        t = TAG_EMPTY if (empty >> p) & 1 else tag_for(int(s.fpu_se[p]), np.uint64(s.fpu_mant[p]))
        tags |= t << (2 * p)
    s.fpu_tag = tags
