"""Run x87 fragments on pyemu from a given FPU state (tests in this directory).

`X87Runner.run(code, fpu=..., cr0_set=..., mem=...)` enters flat 32-bit
protected mode (or real mode with bits=16), loads the FPU state, runs the
code and returns the outcome: the FPU fields, registers, the exception
vector and EIP if the run ended in one.
"""
import struct
from dataclasses import dataclass

from emu.cpu import hflags as H
from emu.fpu.control import status_word
from emu.snippet import Snippet

DATA = 0x4000          # operand memory used by the tests

# handy 80-bit values (se, m)
ONE = (0x3FFF, 1 << 63)
TWO = (0x4000, 1 << 63)
THREE = (0x4000, 3 << 62)
MINUS_ONE = (0xBFFF, 1 << 63)
ZERO = (0, 0)
INDEFINITE = (0xFFFF, 0xC000000000000000)
MAX = (0x7FFE, (1 << 64) - 1)
TINY = (0x0001, 1 << 63)          # the smallest normal
DENORMAL = (0x0000, 1 << 40)


@dataclass
class Fpu:
    """The FPU state a test starts from: ST(0).. as given, the rest empty."""
    stack: tuple = ()
    top: int = 0
    cw: int = 0x37F
    sw: int = 0
    fill: tuple = ()            # (physical register, value) for registers made valid but not on `stack`


class _Snip(Snippet):
    setup = None

    def write(self, addr, data):
        # unchanged bytes stay as they are, so code run again hits the translation cache
        if self.read(addr, len(data)) != bytes(data):
            super().write(addr, data)

    def _enter(self, eip):
        super()._enter(eip)
        if self.setup:
            self.setup(self.cpu)


class X87Runner:
    def close(self):
        self.s.close()

    def __init__(self, bits=32):
        self.bits = bits
        self.s = _Snip(bits=bits)
        self.cpu = self.s.cpu
        self.machine = self.s.machine

    @property
    def code_addr(self):
        return 0x10000 if self.bits == 32 else 0x1000

    def run(self, code, fpu=None, cr0_set=0, cr0_clear=0, mem=b"", regs=None, eflags=H.FIXED_ONE, cr4=0):
        fpu = fpu or Fpu()

        def setup(cpu):
            cpu.cr[0] = (cpu.cr[0] | cr0_set) & ~cr0_clear
            cpu.cr[4] = cr4
            tag = 0xFFFF
            for i, (se, m) in enumerate(fpu.stack):
                p = (fpu.top + i) & 7
                cpu.fpu_se[p], cpu.fpu_mant[p] = se, m
                tag &= ~(3 << (2 * p))
                tag |= _tag(se, m) << (2 * p)
            for p, (se, m) in fpu.fill:
                cpu.fpu_se[p], cpu.fpu_mant[p] = se, m
                tag &= ~(3 << (2 * p))
                tag |= _tag(se, m) << (2 * p)
            cpu.fpu_top, cpu.fpu_tag, cpu.fpu_cw, cpu.fpu_sw = fpu.top, tag, fpu.cw, fpu.sw
            self.machine.update_hflags()
        self.s.setup = setup
        self.s.write(DATA, bytes(mem) + bytes(64))
        r = self.s.run(bytes(code), regs=regs or {}, eflags=eflags, addr=self.code_addr)
        return Result(self, r)

    def read(self, addr, n):
        return self.s.read(addr, n)


def _tag(se, m):
    exp = se & 0x7FFF
    if exp == 0:
        return 1 if m == 0 else 2
    if exp == 0x7FFF or not m >> 63:
        return 2
    return 0


class Result:
    def __init__(self, runner, r):
        cpu = runner.cpu
        self.exception = r.exception
        self.eip = r.eip
        self.regs = r.regs
        self.eflags = r.eflags
        self.top = cpu.fpu_top
        self.tag = cpu.fpu_tag
        self.cw = cpu.fpu_cw
        self.sw = status_word(cpu.fpu_sw, cpu.fpu_top)
        self.phys = [(cpu.fpu_se[p], cpu.fpu_mant[p]) for p in range(8)]
        self.fip, self.fcs, self.fop, self.fdp, self.fds = (cpu.fpu_ip, cpu.fpu_cs, cpu.fpu_op, cpu.fpu_dp,
                                                            cpu.fpu_ds)
        self._runner = runner

    def st(self, i):
        return self.phys[(self.top + i) & 7]

    def empty(self, i):
        return (self.tag >> (2 * ((self.top + i) & 7))) & 3 == 3

    def mem(self, off, n):
        return self._runner.read(DATA + off, n)


def f64(x):
    return struct.pack("<d", x)


def m80(se, m):
    return struct.pack("<QH", m, se)
