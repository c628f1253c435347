"""The drive a -hda/-cdrom/-drive spec puts on an IDE channel."""
from .ata_disk import HardDisk
from .atapi import CdRom


def make_drive(spec, image, serial):
    """spec: an emu.block.drive.DriveSpec; image: what emu.block opened (None: no disc)."""
    if spec.cdrom:
        return CdRom(image, serial=serial)
    return HardDisk(image, serial=serial)
