"""The values of a block's holes, from its decoded records (numba).

`fill_holes` writes one row per instruction, indexed by role
(operands.ROLE_IDS): what operands.ROLES says each role holds.  Register
operands become byte offsets into CpuState: 8 * number for the 16/32-bit
views, and for the 8-bit registers AL..BL byte 0, AH..BH byte 1 of EAX..EBX
(the baseline tier runs on little-endian hosts only: baseline/__init__.py).
A missing base or index register is the CpuState field `zero`.
"""
import ctypes

import numpy as np
from numba import njit

from ...cpu.state import CpuStateDesc
from ..operands import N_ROLES, ROLE_IDS

REGS = CpuStateDesc.offset("regs")
ZERO = CpuStateDesc.offset("zero")
SEG_BASE = CpuStateDesc.offset("seg.base")
SEG_SELECTOR = CpuStateDesc.offset("seg.selector")
SEG_STRIDE = ctypes.sizeof(CpuStateDesc.field_type("seg").ctype())
DS = 3

R_EIP, R_NEXT_EIP, R_IMM, R_IMM_S, R_IMM2, R_DISP = (ROLE_IDS[r] for r in (
    "eip", "next_eip", "imm", "imm_s", "imm2", "disp"))
R_SEG_BASE, R_SEG_SEL, R_BASE_OFF, R_INDEX_OFF, R_SCALE = (ROLE_IDS[r] for r in (
    "seg_base", "seg_sel", "base_off", "index_off", "scale"))
R_REG_OFF, R_REG_OFF8, R_REG_NUM, R_RM_OFF, R_RM_OFF8, R_RM_NUM = (ROLE_IDS[r] for r in (
    "reg_off", "reg_off8", "reg_num", "rm_off", "rm_off8", "rm_num"))
R_OPREG_OFF, R_OPREG_OFF8, R_OPREG_NUM, R_FOP = (ROLE_IDS[r] for r in (
    "opreg_off", "opreg_off8", "opreg_num", "fop"))
R_REFUND_FAULT, R_REFUND_DONE, R_N_INSNS, R_BLOCK_EIP = (ROLE_IDS[r] for r in (
    "refund_fault", "refund_done", "n_insns", "block_eip"))


def new_hole_rows(n):
    return np.zeros((n, N_ROLES), dtype=np.uint32)


@njit(cache=True, nogil=True)
def _reg_off(r):
    return REGS + 8 * (r & 7)


@njit(cache=True, nogil=True)
def _reg_off8(r):
    return REGS + 8 * (r & 3) + ((r >> 2) & 1)


@njit(cache=True, nogil=True)
def fill_holes(recs, n, out):
    """Hole values of records 0..n-1 of a block of n instructions into out[0..n-1]."""
    first_eip = recs[0]["eip"]
    for i in range(n):
        r = recs[i]
        row = out[i]
        row[R_EIP] = r["eip"]
        row[R_NEXT_EIP] = r["next_eip"]
        imm = np.uint32(r["imm"])
        row[R_IMM] = imm
        bits = 8 * np.int64(r["immsize"])
        if bits > 0 and bits < 32 and (np.int64(imm) >> (bits - 1)) & 1:
            row[R_IMM_S] = np.uint32((np.int64(imm) - (np.int64(1) << bits)) & 0xFFFFFFFF)
        else:
            row[R_IMM_S] = imm
        row[R_IMM2] = r["imm2"]
        row[R_DISP] = np.uint32(np.int64(r["disp"]) & 0xFFFFFFFF)
        seg = np.int64(r["seg"])
        if seg < 0:
            seg = DS
        row[R_SEG_BASE] = SEG_BASE + SEG_STRIDE * seg
        row[R_SEG_SEL] = SEG_SELECTOR + SEG_STRIDE * seg
        base = np.int64(r["base"])
        index = np.int64(r["index"])
        row[R_BASE_OFF] = _reg_off(base) if base >= 0 else ZERO
        row[R_INDEX_OFF] = _reg_off(index) if index >= 0 else ZERO
        row[R_SCALE] = 1 << np.int64(r["scale"])
        reg, rm, opreg = np.int64(r["reg"]), np.int64(r["rm"]), np.int64(r["opreg"])
        row[R_REG_OFF] = _reg_off(reg)
        row[R_REG_OFF8] = _reg_off8(reg)
        row[R_REG_NUM] = reg
        row[R_RM_OFF] = _reg_off(rm)
        row[R_RM_OFF8] = _reg_off8(rm)
        row[R_RM_NUM] = rm
        row[R_OPREG_OFF] = _reg_off(opreg)
        row[R_OPREG_OFF8] = _reg_off8(opreg)
        row[R_OPREG_NUM] = opreg
        row[R_FOP] = ((np.int64(r["opcode"]) & 7) << 8) | (np.int64(r["mod"]) << 6) | (reg << 3) | rm
        row[R_REFUND_FAULT] = n - i
        row[R_REFUND_DONE] = n - i - 1
        row[R_N_INSNS] = n
        row[R_BLOCK_EIP] = first_eip
