"""Disk images behind the emulated drives (emu/devices/ata.py asks them for sectors).

    image.py    a raw image file: read, write (straight to the file), flush, lock, close
    overlay.py  -snapshot: writes go to a temporary file, the image is never written
    drive.py    -hda/-cdrom/-drive specs -> DriveSpec, and opening them

Write-back policy (docs/disks.md): a guest write reaches the image file with
pwrite before the command that carried it completes, so it is in the host's
page cache and survives pyemu being killed; FLUSH CACHE, and every clean exit,
fsync the file so it survives the host too.
"""


class DiskError(Exception):
    """A disk image that cannot be used; str() is a one-line message for the user."""
