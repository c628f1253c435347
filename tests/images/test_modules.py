"""Module dependencies for the debian-disk initramfs (emu/images/modules.py),
read from a module's .modinfo: "depends=" and the "pre:" part of "softdep="."""
from emu.images.modules import dependencies


def test_depends_and_softdep_pre():
    info = {"depends": ["libata,scsi_mod"], "softdep": ["pre: crc32c crc16 post: something"]}
    assert dependencies(info) == ["libata", "scsi_mod", "crc32c", "crc16"]


def test_names_use_underscores_and_empty_depends():
    assert dependencies({"depends": [""]}) == []
    assert dependencies({"depends": ["scsi-common"]}) == ["scsi_common"]
    assert dependencies({"softdep": ["pre: crc32c-generic"]}) == ["crc32c_generic"]
