"""Run a fragment of guest code on a bare CPU: set registers and memory, run, look.

    from emu.snippet import Snippet
    s = Snippet(bits=32)
    result = s.run(bytes.fromhex("01d8"), regs={"eax": 1, "ebx": 2})
    result.regs["eax"], result.eflags, result.exception

The code runs in flat 32-bit protected mode (bits=32) or real mode with all
segment bases 0 (bits=16), paging off, followed by a HLT that ends the run.
The tests compare this against Unicorn; it is also handy in a notebook.
"""
from dataclasses import dataclass

from .config import MachineConfig
from .cpu import hflags as H
from .cpu.state import CS, EXC_HAS_ERROR, REG_NAMES32
from .machine import Machine
from .translator import lazyflags as LF

CODE_ADDR = 0x10000


@dataclass
class SnippetResult:
    regs: dict
    eflags: int
    eip: int
    exception: int = None      # vector, when the run ended in an exception
    error_code: int = None
    instructions: int = 0


class Snippet:
    def __init__(self, bits=32, ram_mb=4, ir_opt=2, codegen_opt=2):
        cfg = MachineConfig(ram_mb=ram_mb, serial=["null"])
        self.machine = Machine(cfg)
        self.machine.translator.engine.ir_opt = ir_opt
        self.bits = bits
        self.cpu = self.machine.cpu

    def write(self, addr, data):
        self.machine.phys.write(addr, data)

    def read(self, addr, length):
        return self.machine.phys.read(addr, length)

    def _enter(self, eip):
        m = self.machine
        if self.bits == 32:
            m.enter_flat32(eip)
        else:
            m.reset_cpu()
            for s in range(6):
                seg = self.cpu.seg[s]
                seg.selector = 0
                seg.base = 0
                seg.limit = 0xFFFF
            self.cpu.seg[CS].flags |= H.DESC_CODE
            self.cpu.eip = eip
            m.update_hflags()

    def run(self, code, regs=None, eflags=H.FIXED_ONE, addr=CODE_ADDR, deliver_exceptions=False):
        """Run code (a HLT is appended) and return the state it ends in.

        Exceptions end the run (SnippetResult.exception) unless
        deliver_exceptions, in which case they go through the guest's IDT."""
        m = self.machine
        cpu = self.cpu
        self.write(addr, bytes(code) + b"\xf4")
        self._enter(addr)
        for k, name in enumerate(REG_NAMES32):
            cpu.regs[k] = (regs or {}).get(name, 0) & 0xFFFFFFFF
        cpu.eflags = (eflags & ~H.ARITH_FLAGS & 0xFFFFFFFF) | H.FIXED_ONE
        cpu.cc_op = LF.CC_EFLAGS
        cpu.cc_src = eflags & H.ARITH_FLAGS
        cpu.cc_dst = cpu.cc_src2 = 0
        m.exit_status = None
        m.exit_message = None
        before = m.instructions
        status = m.run(stop_on_hlt=True, stop_on_exception=not deliver_exceptions)
        result = SnippetResult({n: cpu.regs[k] & 0xFFFFFFFF for k, n in enumerate(REG_NAMES32)},
                               m.eflags(), cpu.eip & 0xFFFFFFFF, instructions=m.instructions - before)
        if status == "exception":
            result.exception = cpu.exc_vector
            result.error_code = cpu.exc_error if cpu.exc_flags & EXC_HAS_ERROR else None
        elif status != "hlt":
            raise RuntimeError("snippet stopped unexpectedly: %r %s" % (status, m.exit_message or ""))
        return result

    def close(self):
        self.machine.close()
