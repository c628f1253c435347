"""A block as the baseline tier makes it: the stencils it is made of, their
holes' values, and the host code after patching (`pyemu show --stage baseline`).

The block goes through the translator's own cold path (baseline/coldpath.py)
on a CPU of its own (flat, paging off) whose memory is the shown code, into
a small arena of its own: what is shown is what pyemu runs.
"""
import ctypes
import platform

import capstone

import numpy as np

from ..cpu import hflags as H
from ..cpu.state import CpuState
from ..softmmu import phys as P
from ..translator.baseline import coldpath
from ..translator.baseline.tier import BaselineTier
from ..translator.cnp import Arena
from ..translator.cnp.relocs import R_INDEX, R_TARGET, TARGET_ADDR, TARGET_VALUE
from ..translator.runtime import runtime


def _disassemble(code, address):
    arm = platform.machine().lower() in ("aarch64", "arm64")
    md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM) if arm else \
        capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    return ["    %x: %-28s %s %s" % (i.address, i.bytes.hex(" "), i.mnemonic, i.op_str)
            for i in md.disasm(code, address)]


class _Flat:
    """A CPU in flat 32-bit (or real-mode 16-bit) code, paging off, whose
    memory is two pages holding the code at `address`."""

    def __init__(self, code, address, bits):
        self.cpu = CpuState()
        self.cpu.a20_mask = 0xFFFFFFFF
        self.cpu.cr[0] = H.CR0_PE if bits == 32 else 0
        self.pages = np.zeros(3 * P.PAGE_SIZE, dtype=np.uint8)
        start = address & (P.PAGE_SIZE - 1)
        self.pages[start:start + len(code)] = np.frombuffer(code, dtype=np.uint8)
        self.host = np.zeros(P.PHYS_PAGES, dtype=np.uint64)
        pfn = address >> P.PAGE_SHIFT
        for k in range(3):
            if pfn + k < P.PHYS_PAGES:
                self.host[pfn + k] = self.pages.ctypes.data + k * P.PAGE_SIZE
        self.flags = np.zeros(P.PHYS_PAGES, dtype=np.uint8)
        self.cpu.phys_host = self.host.ctypes.data
        self.cpu.phys_flags = self.flags.ctypes.data


def baseline_view(code, address=0x1000, bits=32, cpl=0):
    """The text of the baseline stage for the block at the start of code."""
    flat = _Flat(bytes(code), address, bits)
    hflags = (H.HF_CS32 | H.HF_SS32 | H.HF_PE if bits == 32 else 0) | cpl
    arena = Arena(size=4 << 20, fixed_size=1 << 20)
    try:
        tier = BaselineTier(runtime().symbols, arena, ctypes.addressof(flat.cpu), hot_threshold=None)
        status = tier.make(address, address, 0, hflags, cpl == 3)
        if status == coldpath.LLVM:
            return "(the first instruction has no stencil: this block is translated by LLVM)"
        if status != coldpath.OK:
            return "(no baseline block: cold path status %d)" % status
        return _describe(tier, address)
    finally:
        arena.close()


def _describe(tier, address):
    cold = tier.cold
    lib = tier.stencils.library
    out = cold.out.tolist()      # make()'s outputs
    m, n_exits = out[0], out[4]
    pieces = 1 + m + n_exits
    ends = cold.out_addr[1:pieces].tolist() + [tier.arena.code_top]
    values = cold.keep[coldpath.C_VALUES]
    addrs = cold.keep[coldpath.C_ADDRS]
    lines = ["block at %#x: %d instructions, %d stencils, %d bytes of host code at %#x" % (
        address, m, pieces, tier.arena.code_top - int(cold.out_addr[0]), int(cold.out_addr[0]))]
    for p in range(pieces):
        sid = int(cold.ids[p])
        name = lib.stencil_names[sid]
        what = "head (budget, exit request)" if p == 0 else (
            "instruction %d" % (p - 1) if p <= m else "direct exit %d" % (p - 1 - m))
        start, end = int(cold.out_addr[p]), ends[p]
        holes = []
        for row in lib.relocs_of(sid):
            kind, index = int(row[R_TARGET]), int(row[R_INDEX])
            if kind == TARGET_VALUE:
                holes.append("%s=%#x" % (lib.roles[index], int(values[p, index])))
            elif kind == TARGET_ADDR:
                holes.append("&%s=%#x" % (lib.addr_names[index], int(addrs[p, index])))
        lines.append("-- %s: stencil %s, %d bytes%s" % (what, name, end - start,
                                                       (", holes " + " ".join(dict.fromkeys(holes)))
                                                       if holes else ""))
        lines += _disassemble(tier.arena.read(start, end - start), start)
    return "\n".join(lines)
