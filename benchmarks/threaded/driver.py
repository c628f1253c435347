"""One run loop for the three designs, so that they run the same instructions from the same state.

A workload (a multiboot ELF of benchmarks/workloads) is loaded into a Machine;
its RAM and CpuState are saved right after loading.  A run restores both and
loops, with an instruction budget far larger than the workload:

    r = dispatch(s, ...)        native until something needs Python
    miss  -> translate the block at EIP, enter it in the jump cache (the
             exit that asked is linked by the dispatcher's next look-up)
    request -> the guest wrote isa-debug-exit (the end), or the budget ran out

- "cnp" and "o2" are the product's translator (PYEMU_TIER=0: every block of
  stencils, no tier-up counter; PYEMU_TIER=2: every block by LLVM at O2) and
  its dispatcher, jump cache and chaining (Machine._service on a miss);
- "threaded" is handlers.py / records.py with their own dispatcher
  (ti_dispatch) and a jump cache in the same entry format.

The first run translates what it meets ("cold"); later runs restore the
state and reuse the translations, already linked: they measure execution.
No timer, watchdog or interrupt is involved (the workloads use none).
"""
import ctypes
import os
import time

import numpy as np

from emu.translator import exits as X

_I32_CALL = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
BUDGET = 1 << 62
JUMP_DTYPE = np.dtype([("pc", "<u4"), ("key", "<u4"), ("fn", "<u8")])


def new_machine(elf_bytes, tier):
    """A Machine with the workload loaded; tier: the PYEMU_TIER its translator is made with."""
    from emu.boot import multiboot
    from emu.cli import parse_args
    from emu.devices.chardev import BufferBackend
    from emu.machine import Machine
    saved = os.environ.get("PYEMU_TIER")
    os.environ["PYEMU_TIER"] = str(tier)
    try:
        cfg = parse_args(["-m", "16", "-nographic", "-no-reboot",
                          "-device", "isa-debug-exit,iobase=0xf4,iosize=4"])
        out = BufferBackend()
        m = Machine(cfg, serial_backends=[out])
    finally:
        if saved is None:
            del os.environ["PYEMU_TIER"]
        else:
            os.environ["PYEMU_TIER"] = saved
    multiboot.load(m, elf_bytes)
    return m, out


class Run:
    """What one run did."""

    def __init__(self, seconds, insns, misses, output):
        self.seconds = seconds
        self.insns = insns
        self.misses = misses
        self.output = output

    @property
    def ns_per_insn(self):
        return 1e9 * self.seconds / max(self.insns, 1)


class _Driver:
    def __init__(self, elf_bytes, tier):
        self.m, self.out = new_machine(elf_bytes, tier)
        m = self.m
        self.ram0 = m.phys.ram.copy()
        self.cpu0 = ctypes.string_at(m.cpu_addr, ctypes.sizeof(m.cpu))

    def _restore(self):
        m = self.m
        np.copyto(m.phys.ram, self.ram0)
        ctypes.memmove(m.cpu_addr, self.cpu0, len(self.cpu0))
        m.exit_status = None
        m.exit_message = None

    def run(self, budget=BUDGET):
        """Restore the loaded state, run to the workload's end: a Run."""
        self._restore()
        m = self.m
        cpu = m.cpu
        cpu.budget = budget
        out_before = len(self.out_text())
        misses = 0
        t0 = time.perf_counter()
        while True:
            r = self._enter()
            if m.exit_status is not None:
                break
            if r in (X.EXIT_MISS, X.EXIT_LINK):
                misses += 1
                self._miss(r)
            elif r == X.EXIT_REQUEST:
                if cpu.budget <= 0:
                    raise RuntimeError("the budget ran out")
                cpu.exit_request = 0
            elif r == X.EXIT_HLT:
                break
            elif r == X.EXIT_EXCEPTION:
                m._exception()          # through the guest's IDT (Python), as the product does
            elif r == X.EXIT_STOP:
                pass
            else:
                raise RuntimeError("exit %s at eip %#x" % (X.NAMES.get(r, r), cpu.eip))
        seconds = time.perf_counter() - t0
        if m._callback_error is not None:
            raise m._callback_error
        return Run(seconds, budget - cpu.budget, misses, self.out_text()[out_before:])

    def out_text(self):
        for b in self.m.serial_backends:
            b.flush()
        return bytes(self.out.data).decode("latin-1")


class ProductDriver(_Driver):
    """The product's translator and dispatcher: tier 0 (stencils) or tier 2 (O2)."""

    def __init__(self, elf_bytes, tier):
        super().__init__(elf_bytes, tier)
        self._dispatch = self.m._dispatch

    def _enter(self):
        return self._dispatch(self.m.cpu_addr, self.m.env_addr)

    def _miss(self, r):
        self.m._service(r)

    def blocks(self):
        tbs = self.m.tbs.blocks.values()
        return len(tbs), sum(1 for tb in tbs if getattr(tb, "tier", None) == 0)

    def close(self):
        self.m.close()


class ThreadedDriver(_Driver):
    def __init__(self, elf_bytes, handlers, jmp_bits=16):
        from records import ThreadedTier
        super().__init__(elf_bytes, 2)
        self.h = handlers
        self.tier = ThreadedTier(handlers, self.m.cpu_addr)
        self.jmp = np.zeros(1 << jmp_bits, dtype=JUMP_DTYPE)
        self.mask = (1 << jmp_bits) - 1
        ctypes.c_uint64.from_address(handlers.jmp_table_addr).value = self.jmp.ctypes.data
        ctypes.c_uint32.from_address(handlers.jmp_mask_addr).value = self.mask
        self._dispatch = _I32_CALL(handlers.dispatch_addr)
        self.n_blocks = 0
        self.record_bytes = 0

    def _enter(self):
        return self._dispatch(self.m.cpu_addr, None)

    def _miss(self, r):
        from emu.cpu import hflags as H
        from emu.cpu.state import CS
        from records import OK
        cpu = self.m.cpu
        cs_base = cpu.seg[CS].base & 0xFFFFFFFF
        eip = cpu.eip & 0xFFFFFFFF
        linear = (cs_base + eip) & 0xFFFFFFFF
        hflags = cpu.hflags
        from records import FETCH_FAULT, FETCH_FAULT_NEXT
        from emu.translator.translator import CodeFetchFault
        user = (hflags & H.HF_CPL_MASK) == 3
        status = self.tier.make(linear, eip, cs_base, hflags, user)
        if status == FETCH_FAULT_NEXT:
            try:        # the instruction runs into the next page: walk it for real
                self.m.translator.code_phys((linear + 4096 - (linear & 0xFFF)) & 0xFFFFFFFF, user)
            except CodeFetchFault:
                status = FETCH_FAULT
        if status == FETCH_FAULT:
            cpu.link_slot = 0
            self.m._exception()     # the walk recorded the #PF
            return
        if status != OK:
            raise RuntimeError("threaded prototype: no block at %#x (status %d)" % (eip, status))
        self.n_blocks += 1
        self.record_bytes += int(self.tier.out[2])
        e = self.jmp[(linear ^ (linear >> 12)) & self.mask]
        e["pc"] = linear
        e["key"] = (hflags | (cpu.tlb_asid << 20)) & 0xFFFFFFFF
        e["fn"] = int(self.tier.out[1])

    def blocks(self):
        return self.n_blocks, self.n_blocks

    def close(self):
        self.m.close()
