"""Instruction semantics: one `op_<mnemonic>(g, insn)` per table mnemonic.

Each family lives in its own module; an instruction's meaning is written once,
here, as IR emitted through `g` (emu/translator/gen.py).  `lookup` finds the
function for a table row's mnemonic.

The table and the semantics are checked against each other when this package
is imported, so that a missing or misnamed `op_*` stops pyemu at start-up (and
the test suite at collection), not a guest in mid-boot with a TranslationError:
every mnemonic of the opcode table (emu/frontend/opcodes.py) has its `op_*`,
and every `op_*` is some row's mnemonic.
"""
from ...frontend import tables as T
from ..errors import TranslationError
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


def mismatches(mnemonics, table=None):
    """(table mnemonics without an `op_*`, `op_*` names no mnemonic uses),
    each sorted; `table` maps a mnemonic to its function (default: ours)."""
    table = _TABLE if table is None else table
    wanted = set(mnemonics)
    return sorted(wanted - set(table)), sorted("op_" + m for m in set(table) - wanted)


def check_complete(mnemonics, table=None):
    """Raise ImportError naming every mismatch between the table's mnemonics
    and the `op_*` functions (see mismatches)."""
    missing, unused = mismatches(mnemonics, table)
    problems = []
    if missing:
        problems.append("missing %s" % ", ".join("op_" + m for m in missing))
    if unused:
        problems.append("%s named after no mnemonic of the table" % ", ".join(unused))
    if problems:
        raise ImportError("semantics and opcode table disagree: " + "; ".join(problems)
                          + " (emu/frontend/opcodes.py, emu/translator/semantics)")


check_complete(f.mnemonic for f in T.FORMS)
