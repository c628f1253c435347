"""Disk images (emu/block): raw read/write straight to the file, locking,
read-only, the -snapshot overlay, and the one-line errors for bad images."""
import hashlib

import pytest

from emu.block import DiskError
from emu.block.drive import DriveSpec, assign_slots, open_drive, parse_drive
from emu.block.image import RawImage
from emu.block.overlay import SnapshotOverlay


def make_image(path, sectors=64):
    data = bytes((k * 7 + k // 512) & 0xFF for k in range(sectors * 512))
    path.write_bytes(data)
    return data


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_raw_reads_and_writes_reach_the_file_at_once(tmp_path):
    p = tmp_path / "d.img"
    data = make_image(p)
    img = RawImage(p)
    assert img.size == len(data)
    assert img.read(512 * 3, 1024) == data[1536:2560]
    img.write(512 * 5, b"\xAB" * 512)
    # another reader of the file sees the write before any flush or close
    with open(p, "rb") as f:
        f.seek(512 * 5)
        assert f.read(512) == b"\xAB" * 512
    img.close()
    assert p.read_bytes()[:2560] == data[:2560]


def test_a_writer_locks_the_image(tmp_path):
    p = tmp_path / "d.img"
    make_image(p)
    first = RawImage(p)
    with pytest.raises(DiskError, match="in use by another process"):
        RawImage(p)
    with pytest.raises(DiskError, match="in use by another process"):
        RawImage(p, readonly=True)
    first.close()
    RawImage(p).close()                       # the lock went with the close


def test_readers_share_an_image(tmp_path):
    p = tmp_path / "d.img"
    make_image(p)
    a, b = RawImage(p, readonly=True), RawImage(p, readonly=True)
    with pytest.raises(DiskError, match="in use"):
        RawImage(p)                            # but no writer while they read
    with pytest.raises(DiskError, match="read-only"):
        a.write(0, b"x" * 512)
    a.close()
    b.close()


def test_snapshot_overlay_leaves_the_image_byte_identical(tmp_path):
    p = tmp_path / "d.img"
    data = make_image(p, sectors=32)
    before = sha(p)
    ov = SnapshotOverlay(RawImage(p, readonly=True))
    ov.write(512 * 2, b"\x11" * 1024)
    ov.write(512 * 31, b"\x22" * 512)
    ov.write(100, b"partial")                  # inside sector 0: merged with the image's bytes
    assert ov.read(512 * 2, 1024) == b"\x11" * 1024
    assert ov.read(512 * 1, 512 * 3) == data[512:1024] + b"\x11" * 1024
    assert ov.read(0, 512) == data[:100] + b"partial" + data[107:512]
    assert ov.read(512 * 30, 1024) == data[512 * 30:512 * 31] + b"\x22" * 512
    ov.flush()
    ov.close()
    assert sha(p) == before


def test_snapshot_shares_the_image_with_readers_but_not_writers(tmp_path):
    p = tmp_path / "d.img"
    make_image(p)
    ov = open_drive(DriveSpec(file=str(p)), snapshot=True)
    RawImage(p, readonly=True).close()
    with pytest.raises(DiskError, match="in use"):
        RawImage(p)
    ov.close()


@pytest.mark.parametrize("content,message", [
    (None, "cannot open disk image '{p}': No such file or directory"),
    ("dir", "disk image '{p}' is a directory"),
    (b"x" * 1000, "disk image '{p}' is 1000 bytes, not a whole number of 512-byte sectors"),
    (b"", "disk image '{p}' is empty"),
])
def test_bad_images_are_one_line_errors(tmp_path, content, message):
    p = tmp_path / "bad.img"
    if content == "dir":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(DiskError) as e:
        RawImage(p)
    assert str(e.value) == message.format(p=p)


def test_drive_specs():
    d = parse_drive("file=a,,b.img,if=ide,index=3,media=cdrom,format=raw,readonly=on,cache=none")
    assert (d.file, d.index, d.cdrom, d.readonly) == ("a,b.img", 3, True, True)
    assert parse_drive("file=x,bus=1,unit=0").index == 2
    assert parse_drive("disk.img").file == "disk.img"
    slots = assign_slots([DriveSpec(file="a"), DriveSpec(file="b", index=0), DriveSpec(file="c")])
    assert {k: d.file for k, d in slots.items()} == {0: "b", 1: "a", 2: "c"}


@pytest.mark.parametrize("spec,message", [
    ("file=x,format=qcow2", "-drive format=qcow2: unknown image format (pyemu reads raw)"),
    ("file=x,if=virtio", "-drive if=virtio: pyemu's PC has IDE drives only (if=ide)"),
    ("file=x,index=4", "-drive index=4: IDE has indexes 0-3 (primary master/slave, secondary master/slave)"),
    ("index=1", "-drive index=1: a disk needs file=PATH (only media=cdrom may be empty)"),
    ("file=x,readonly=maybe", "-drive readonly: 'maybe' is not on or off"),
    ("file=x,colour=red", "-drive: unknown property 'colour' (pyemu knows: file, if, index, bus, unit, media, "
                          "format, readonly, snapshot, cache, id, aio, discard)"),
])
def test_bad_drive_specs(spec, message):
    with pytest.raises(DiskError) as e:
        parse_drive(spec)
    assert str(e.value) == message


def test_two_drives_on_one_slot():
    with pytest.raises(DiskError, match="both want IDE index 0"):
        assign_slots([DriveSpec(file="a", index=0, option="-hda"), DriveSpec(file="b", index=0)])
