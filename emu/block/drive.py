"""Drive options in QEMU's spellings, and opening what they name.

    -hda F  -hdb F  -hdc F  -hdd F     IDE index 0-3 (primary master, primary slave,
                                       secondary master, secondary slave), a hard disk
    -cdrom F                           IDE index 2, a CD-ROM
    -drive file=F,if=ide,index=N,media=disk|cdrom,format=raw,readonly=on,snapshot=on

A -drive without index takes the first free one, as QEMU does.  In a -drive
spec ",," stands for a comma inside a value (a file name with a comma).
"""
import dataclasses

from . import DiskError
from .image import RawImage
from .overlay import SnapshotOverlay

IDE_SLOTS = 4
SLOT_NAMES = ("primary master", "primary slave", "secondary master", "secondary slave")
FORMATS = ("raw",)
# accepted as QEMU spells them; pyemu's write policy is the same for all (docs/disks.md)
CACHE_MODES = ("writeback", "writethrough", "none", "directsync", "unsafe")
KNOWN_KEYS = ("file", "if", "index", "bus", "unit", "media", "format", "readonly", "snapshot",
              "cache", "id", "aio", "discard")


@dataclasses.dataclass
class DriveSpec:
    file: str = None                  # None: a CD-ROM drive with no disc
    index: int = None                 # 0-3
    media: str = "disk"               # "disk" or "cdrom"
    format: str = "raw"
    readonly: bool = False
    snapshot: bool = False
    option: str = "-drive"            # how the user gave it, for messages

    @property
    def cdrom(self):
        return self.media == "cdrom"


def _split(spec):
    """'a=1,file=x,,y' -> [('a', '1'), ('file', 'x,y')] (QEMU's ",," escape)."""
    items, cur, k = [], "", 0
    while k < len(spec):
        ch = spec[k]
        if ch == ",":
            if spec[k + 1:k + 2] == ",":
                cur += ","
                k += 2
                continue
            items.append(cur)
            cur = ""
        else:
            cur += ch
        k += 1
    items.append(cur)
    out = []
    for item in items:
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            if not out:
                key, value = "file", item      # "-drive disk.img": QEMU's implied file=
            else:
                raise DiskError("-drive %s: '%s' needs a value (KEY=VALUE)" % (spec, item))
        out.append((key, value))
    return out


def _on_off(value, what):
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise DiskError("%s: '%s' is not on or off" % (what, value))


def _int(value, what):
    try:
        return int(value, 0)
    except ValueError:
        raise DiskError("%s: '%s' is not a number" % (what, value)) from None


def parse_drive(spec):
    """One -drive value -> DriveSpec (raises DiskError with a one-line message)."""
    d = DriveSpec()
    bus = unit = None
    for key, value in _split(spec):
        what = "-drive %s=%s" % (key, value)
        if key not in KNOWN_KEYS:
            raise DiskError("-drive: unknown property '%s' (pyemu knows: %s)" % (key, ", ".join(KNOWN_KEYS)))
        if key == "file":
            d.file = value
        elif key == "if":
            if value != "ide":
                raise DiskError("-drive if=%s: pyemu's PC has IDE drives only (if=ide)" % value)
        elif key == "index":
            d.index = _int(value, what)
        elif key == "bus":
            bus = _int(value, what)
        elif key == "unit":
            unit = _int(value, what)
        elif key == "media":
            if value not in ("disk", "cdrom"):
                raise DiskError("-drive media=%s: expected disk or cdrom" % value)
            d.media = value
        elif key == "format":
            if value not in FORMATS:
                raise DiskError("-drive format=%s: unknown image format (pyemu reads %s)"
                                % (value, ", ".join(FORMATS)))
            d.format = value
        elif key == "readonly":
            d.readonly = _on_off(value, "-drive readonly")
        elif key == "snapshot":
            d.snapshot = _on_off(value, "-drive snapshot")
        elif key == "cache":
            if value not in CACHE_MODES:
                raise DiskError("-drive cache=%s: expected one of %s" % (value, ", ".join(CACHE_MODES)))
        # id, aio, discard: accepted, nothing to do
    if bus is not None or unit is not None:
        if d.index is not None:
            raise DiskError("-drive %s: give index=, or bus= and unit=, not both" % spec)
        if not (bus or 0) in (0, 1) or not (unit or 0) in (0, 1):
            raise DiskError("-drive %s: IDE has buses 0-1 and units 0-1" % spec)
        d.index = 2 * (bus or 0) + (unit or 0)
    if d.index is not None and not 0 <= d.index < IDE_SLOTS:
        raise DiskError("-drive index=%d: IDE has indexes 0-3 (primary master/slave, secondary master/slave)"
                        % d.index)
    if d.file is None and not d.cdrom:
        raise DiskError("-drive %s: a disk needs file=PATH (only media=cdrom may be empty)" % spec)
    if d.file == "":
        raise DiskError("-drive %s: file= is empty" % spec)
    return d


def assign_slots(drives):
    """DriveSpecs -> {index: DriveSpec}: explicit indexes first, the rest take the
    first free slot in order (QEMU's rule); two drives on one slot is an error."""
    slots = {}
    for d in drives:
        if d.index is not None:
            if d.index in slots:
                raise DiskError("%s and %s both want IDE index %d (the %s)" % (
                    slots[d.index].option, d.option, d.index, SLOT_NAMES[d.index]))
            slots[d.index] = d
    for d in drives:
        if d.index is None:
            free = [k for k in range(IDE_SLOTS) if k not in slots]
            if not free:
                raise DiskError("%s: all four IDE slots are taken" % d.option)
            d.index = free[0]
            slots[d.index] = d
    return slots


def open_drive(d, snapshot=False):
    """Open what DriveSpec d names -> an image object (read/write/flush/close, size),
    or None for an empty CD-ROM drive.  snapshot: the global -snapshot."""
    if d.file is None:
        return None
    what = "CD-ROM image" if d.cdrom else "disk image"
    readonly = d.readonly or d.cdrom
    if not readonly and (snapshot or d.snapshot):
        return SnapshotOverlay(RawImage(d.file, readonly=True, what=what))
    return RawImage(d.file, readonly=readonly, what=what)


def open_drives(config):
    """{IDE index: (DriveSpec, image or None)} for a MachineConfig's drives; if one
    cannot be opened, those already open are closed and the DiskError raised."""
    out = {}
    try:
        for d in config.drives:
            out[d.index] = (d, open_drive(d, config.snapshot))
    except BaseException:
        for _, image in out.values():
            if image is not None:
                image.close()
        raise
    return out
