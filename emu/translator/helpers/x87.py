"""x87 Python helpers: the state images (FNSTENV FLDENV FNSAVE FRSTOR FXSAVE
FXRSTOR, layouts in emu/fpu/layouts.py) and FERR# for CR0.NE = 0.

Each image is read or written with one LinearMemory access, which checks
every page before touching any, so a #PF leaves memory and the FPU as they
were.  a0 is the operand's linear address, a1 the operand size (2 or 4).
"""
from ...cpu import hflags as H
from ...cpu.faults import GuestFault
from ...cpu.vectors import Vector
from ...fpu import control as C
from ...fpu import layouts as L
from ..callbacks import python_helper
from ..exits import HELPER_OK


def _user(m):
    return (m.cpu.hflags & H.HF_CPL_MASK) == 3


@python_helper
def helper_x87_fnstenv(m, lin, opsize, a2):
    cpu = m.cpu
    m.mem.write(lin, L.env_image(cpu, opsize == 4), _user(m))
    # SDM Vol. 2A FSTENV: the environment is saved, then every exception masked
    cpu.fpu_cw |= 0x3F
    return HELPER_OK


@python_helper
def helper_x87_fldenv(m, lin, opsize, a2):
    data = m.mem.read(lin, L.ENV32 if opsize == 4 else L.ENV16, _user(m))
    L.fldenv(m.cpu, data, opsize == 4)
    return HELPER_OK


@python_helper
def helper_x87_fnsave(m, lin, opsize, a2):
    cpu = m.cpu
    m.mem.write(lin, L.save_image(cpu, opsize == 4), _user(m))
    C.fninit(cpu)
    return HELPER_OK


@python_helper
def helper_x87_frstor(m, lin, opsize, a2):
    cpu = m.cpu
    n = (L.ENV32 if opsize == 4 else L.ENV16) + 80
    L.load_state(cpu, m.mem.read(lin, n, _user(m)), opsize == 4)
    return HELPER_OK


def _fx_aligned(lin):
    # SDM Vol. 2A FXSAVE: #GP(0) for an operand not aligned on 16 bytes
    if lin & 15:
        raise GuestFault(Vector.GP, 0)


@python_helper
def helper_x87_fxsave(m, lin, a1, a2):
    _fx_aligned(lin)
    user = _user(m)
    old = m.mem.read(lin, 512, user)
    m.mem.write(lin, L.fxsave_image(m.cpu, old), user)
    return HELPER_OK


@python_helper
def helper_x87_fxrstor(m, lin, a1, a2):
    _fx_aligned(lin)
    data = m.mem.read(lin, 512, _user(m))
    if L.fxrstor_check(m.cpu, data):
        raise GuestFault(Vector.GP, 0)
    L.fxrstor(m.cpu, data)
    return HELPER_OK


@python_helper
def helper_x87_ferr(m, a0, a1, a2):
    """A waiting x87 instruction found an unmasked exception pending with
    CR0.NE = 0: the FPU asserts FERR#, which a PC routes to IRQ 13 (SDM Vol. 1
    8.7 and Appendix D); the instruction then goes on.  The board decides."""
    hook = getattr(m, "fpu_error_irq", None)
    if hook is not None:
        hook()
    return HELPER_OK
