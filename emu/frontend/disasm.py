"""Disassembly text for logs and tools (capstone); not in the translation path."""
import functools


@functools.lru_cache(maxsize=2)
def _engine(bits):
    # deferred: importing capstone costs ~40 ms of every pyemu start, and only
    # the logs (-d in_asm), `pyemu show` and error messages disassemble
    import capstone
    mode = capstone.CS_MODE_32 if bits == 32 else capstone.CS_MODE_16
    md = capstone.Cs(capstone.CS_ARCH_X86, mode)
    md.detail = False
    return md


def disassemble(code, address=0, bits=32):
    """[(address, bytes, 'mnemonic operands')] for each instruction capstone decodes."""
    out = []
    for insn in _engine(bits).disasm(bytes(code), address):
        out.append((insn.address, bytes(insn.bytes), ("%s %s" % (insn.mnemonic, insn.op_str)).strip()))
    return out


def format_listing(code, address=0, bits=32):
    lines = []
    for addr, raw, text in disassemble(code, address, bits):
        lines.append("0x%08x:  %-24s %s" % (addr, raw.hex(" "), text))
    return "\n".join(lines)
