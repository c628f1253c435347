"""Every mnemonic of the opcode table has its `op_*` and every `op_*` is a
table mnemonic: checked when emu.translator.semantics is imported (so a gap
stops pyemu at start-up, not a guest mid-boot), and here, where the check is
also shown to catch what it is for."""
import pytest

from emu.frontend import tables as T
from emu.translator import semantics as S

MNEMONICS = sorted({f.mnemonic for f in T.FORMS})


def test_every_table_mnemonic_has_its_op_and_every_op_a_row():
    assert S.mismatches(MNEMONICS) == ([], [])
    for m in MNEMONICS:
        assert S.implemented(m)
        assert [S.lookup(m)] == [getattr(f, "op_" + m) for f in S.FAMILIES if hasattr(f, "op_" + m)]
    S.check_complete(MNEMONICS)


def test_a_mnemonic_without_its_op_is_named():
    with pytest.raises(ImportError) as e:
        S.check_complete(MNEMONICS + ["frobnicate"])
    assert "missing op_frobnicate" in str(e.value)
    assert "op_mov," not in str(e.value) and "op_add," not in str(e.value)


def test_a_misnamed_op_is_named_both_ways():
    table = {m: S.lookup(m) for m in MNEMONICS}
    table["mvo_cr"] = table.pop("mov")        # op_mvo_cr written for the row "mov"
    with pytest.raises(ImportError) as e:
        S.check_complete(MNEMONICS, table)
    text = str(e.value)
    assert "missing op_mov;" in text
    assert "op_mvo_cr named after no mnemonic" in text
    assert S.mismatches(MNEMONICS, table) == (["mov"], ["op_mvo_cr"])


def test_mov_to_and_from_special_registers_has_mnemonics_of_its_own():
    special = {T.K_S: "mov_sreg", T.K_C: "mov_cr", T.K_D: "mov_dr"}
    for f in T.FORMS:
        kinds = {k for k, _, _ in f.operands}
        if f.mnemonic == "mov":
            assert not kinds & set(special), f
        elif f.mnemonic in special.values():
            assert [special[k] for k in kinds if k in special] == [f.mnemonic], f
    assert sorted((f.opcode, f.mnemonic) for f in T.FORMS if f.mnemonic in special.values()) == [
        ("0F 20", "mov_cr"), ("0F 21", "mov_dr"), ("0F 22", "mov_cr"), ("0F 23", "mov_dr"),
        ("8C", "mov_sreg"), ("8E", "mov_sreg")]
