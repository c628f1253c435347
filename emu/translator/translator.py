"""Translate the block at the CPU's current EIP: fetch, decode, emit IR, compile, cache."""
import time

import numpy as np
from numba import njit

from ..cpu import hflags as H
from ..cpu.state import CS
from ..frontend import tables as T
from ..frontend.decoder import decode_block, new_records
from ..softmmu import phys as P
from ..softmmu.native import STATE_DTYPE
from ..softmmu.paging import ACC_CODE, T_OK, translate
from .block import Insn, emit_block
from .gen import IRGen, TranslationError
from .jit import JitEngine
from .tbcache import TranslationBlock, TranslationCache, jump_key

MAX_BLOCK_INSNS = 64


class CodeFetchFault(Exception):
    """Fetching the next instruction faulted; the exception is recorded in the CPU state."""


@njit(cache=True)
def _translate_code(state_array, lin, user):
    return translate(state_array[0], lin, ACC_CODE, user)


class Translator:
    def __init__(self, phys, cpu, log=None, ir_opt=2, codegen_opt=2):
        self.phys = phys
        self.cpu = cpu
        self.state_array = np.frombuffer(cpu, dtype=STATE_DTYPE, count=1)
        self.engine = JitEngine(ir_opt=ir_opt, codegen_opt=codegen_opt)
        self.cache = TranslationCache(phys, cpu)
        self.records = new_records(MAX_BLOCK_INSNS)
        self.log = log
        self.blocks_translated = 0
        self.translate_seconds = 0.0
        self.trace = bool(log and (log.enabled("exec") or log.enabled("cpu")))
        self.breakpoints = set()        # linear addresses a debugger stops at

    # --- code fetch -------------------------------------------------------------------
    def code_phys(self, linear, user):
        st, phys, _, _ = _translate_code(self.state_array, linear & 0xFFFFFFFF, user)
        if st != T_OK:
            raise CodeFetchFault(linear)
        return int(phys)

    def _fetch(self, linear, user):
        """Bytes from linear to the end of its page, plus up to 15 more when the
        next page can be fetched: (bytes, phys, bytes on the first page, next phys)."""
        phys0 = self.code_phys(linear, user)
        first = P.PAGE_SIZE - (linear & (P.PAGE_SIZE - 1))
        data = self.phys.read(phys0, first)
        phys1 = None
        try:
            phys1 = self.code_phys((linear + first) & 0xFFFFFFFF, user)
            data += self.phys.read(phys1, T.MAX_INSN_LEN - 1)
        except CodeFetchFault:
            pass        # the fault only matters if an instruction needs those bytes
        return data, phys0, first, phys1

    # --- translation ---------------------------------------------------------------------
    def lookup(self):
        """The block for the current CPU state, translating it if needed."""
        return self.lookup_with(self.cpu.hflags)

    def lookup_with(self, hflags):
        cpu = self.cpu
        cs_base = cpu.seg[CS].base & 0xFFFFFFFF
        eip = cpu.eip & 0xFFFFFFFF
        linear = (cs_base + eip) & 0xFFFFFFFF
        user = (hflags & H.HF_CPL_MASK) == 3
        phys = self.code_phys(linear, user)
        key = (phys, cs_base, hflags)
        tb = self.cache.get(key)
        if tb is None:
            tb = self.translate(linear, eip, cs_base, hflags, user)
        self.cache.remember_jump(tb, linear, jump_key(hflags, cpu.tlb_asid))
        return tb

    def decode_at(self, linear, eip, hflags, user):
        data, phys0, first, phys1 = self._fetch(linear, user)
        buf = np.frombuffer(data, dtype=np.uint8)
        max_insns = 1 if hflags & (H.HF_SINGLE | H.HF_TF) else MAX_BLOCK_INSNS
        n = decode_block(buf, 0, len(buf), first, eip, bool(hflags & H.HF_CS32), self.records, max_insns)
        insns = []
        offset = 0
        for i in range(n):
            rec = self.records[i]
            if rec["error"] == T.ERR_TRUNCATED:
                if i == 0:
                    # the instruction runs into a page that cannot be fetched
                    self.code_phys((linear + first) & 0xFFFFFFFF, user)
                    raise CodeFetchFault(linear + first)
                break
            length = int(rec["length"])
            insns.append(Insn(rec, i, data[offset:offset + length]))
            offset += length
        if self.breakpoints:
            # a breakpoint starts a block of its own (block.py stops there)
            for k in range(1, len(insns)):
                if (linear - eip + insns[k].eip) & 0xFFFFFFFF in self.breakpoints:
                    offset -= sum(len(i.bytes) for i in insns[k:])
                    del insns[k:]
                    break
        ranges = [(phys0, min(offset, first))]
        if offset > first:
            ranges.append((phys1, offset - first))
        return insns, ranges

    def translate(self, linear, eip, cs_base, hflags, user):
        t0 = time.perf_counter()
        insns, ranges = self.decode_at(linear, eip, hflags, user)
        name = "tb%d_%x" % (self.blocks_translated, ranges[0][0])
        module, g = self._emit(insns, name, eip, cs_base, hflags)
        ir_text = str(module)
        addrs, llmod = self.engine.compile(ir_text, (name, name + "_slots"), keep=bool(self.log))
        key = (ranges[0][0], cs_base, hflags)
        tb = TranslationBlock(key, eip, linear, addrs[name], addrs[name + "_slots"],
                              list(g.slot_targets), ranges, len(insns), name)
        self.cache.add(tb)
        self.blocks_translated += 1
        self.translate_seconds += time.perf_counter() - t0
        if self.log is not None:
            self.log.block_translated(tb, insns, ir_text, llmod, self.engine)
        return tb

    def _emit(self, insns, name, eip, cs_base, hflags):
        if self.breakpoints and not hflags & H.HF_NOBP and (cs_base + eip) & 0xFFFFFFFF in self.breakpoints:
            return _breakpoint_block(insns[0], name, eip, cs_base, hflags)
        try:
            return emit_block(insns, name, eip, cs_base, hflags, self.trace)
        except TranslationError:
            bad = _failing_index(insns, name, eip, cs_base, hflags)
            if bad > 0:
                del insns[bad:]
                return emit_block(insns, name, eip, cs_base, hflags, self.trace)
            return _unimplemented_block(insns[0], name, eip, cs_base, hflags)


def _failing_index(insns, name, eip, cs_base, hflags):
    for k in range(1, len(insns) + 1):
        try:
            emit_block(insns[:k], name, eip, cs_base, hflags)
        except TranslationError:
            return k - 1
    return len(insns)


def _unimplemented_block(insn, name, eip, cs_base, hflags):
    """A one-instruction block that stops the machine with a clear report."""
    import llvmlite.ir as ir
    module = ir.Module(name)
    g = IRGen(module, name, eip, cs_base, hflags, 1)
    g.begin(insn)
    g.call_python("helper_unimplemented")
    g.jump_indirect_from_state()
    return module, g


def _breakpoint_block(insn, name, eip, cs_base, hflags):
    """A block that stops for the debugger before its first instruction runs."""
    import llvmlite.ir as ir
    from .exits import EXIT_DEBUG
    module = ir.Module(name)
    g = IRGen(module, name, eip, cs_base, hflags, 0)
    g.begin(insn)
    g.exit_code(EXIT_DEBUG, eip)
    return module, g
