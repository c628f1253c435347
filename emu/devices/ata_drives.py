"""The drive a -hda/-cdrom/-drive spec puts on an IDE channel."""
from .ata_disk import HardDisk


def make_drive(spec, image, serial):
    """spec: an emu.block.drive.DriveSpec; image: what emu.block opened (None: no disc)."""
    if spec.cdrom:
        from .atapi import CdRom
        return CdRom(image, serial=serial)
    return HardDisk(image, serial=serial)
