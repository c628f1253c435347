"""Assembling x86 text into guest bytes with keystone (for `pyemu show --asm`
and the Python API: an instruction can be shown by what it is called, not by
its encoding).  Intel syntax, as keystone reads it by default."""
import keystone


class AsmError(ValueError):
    """The text does not assemble; the message says where."""


def assemble(text, address=0, bits=32):
    """Bytes of `text` ("add eax, ebx; jc done; ..."), placed at `address`."""
    mode = {16: keystone.KS_MODE_16, 32: keystone.KS_MODE_32}[bits]
    try:
        encoding, _ = keystone.Ks(keystone.KS_ARCH_X86, mode).asm(text, address)
    except keystone.KsError as e:
        raise AsmError("cannot assemble %r: %s" % (text, e)) from None
    if not encoding:
        raise AsmError("%r assembles to nothing" % text)
    return bytes(encoding)
