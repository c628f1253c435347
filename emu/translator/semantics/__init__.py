"""Instruction semantics: one `op_<mnemonic>(g, insn)` per table mnemonic.

Each family lives in its own module; an instruction's meaning is written once,
here, as IR emitted through `g` (emu/translator/gen.py).  `lookup` finds the
function for a table row's mnemonic.
"""
from ..gen import TranslationError
from . import alu, bcd, bits, control, data, flagops, muldiv, shift, stack, string, system, x87

FAMILIES = (alu, bcd, bits, control, data, flagops, muldiv, shift, stack, string, system, x87)

_TABLE = {}
for _module in FAMILIES:
    for _name in dir(_module):
        if _name.startswith("op_"):
            if _name[3:] in _TABLE:
                raise ImportError("%s is defined twice" % _name)
            _TABLE[_name[3:]] = getattr(_module, _name)


def _unimplemented(g, insn):
    raise TranslationError("%s is not implemented" % insn.mnemonic)


def lookup(mnemonic):
    return _TABLE.get(mnemonic, _unimplemented)


def implemented(mnemonic):
    return mnemonic in _TABLE
