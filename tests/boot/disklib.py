"""Helpers for the disk tests: a private copy of the tiny-disk image, and reading
its ext2 root partition from the host without mounting it (e2fsprogs' debugfs
on the partition's bytes)."""
import hashlib
import shutil
import struct
import subprocess

import pytest

from emu import images

SECTOR = 512


def disk_image(tmp_path, name="tiny-disk"):
    """(Image, path of a fresh copy of its disk.img in tmp_path)."""
    try:
        img = images.ensure(name, quiet=True)
    except images.ImageError as e:
        pytest.fail("cannot build the %s image: %s" % (name, e))
    copy = tmp_path / "disk.img"
    shutil.copyfile(img.disk, copy)
    return img, copy


def partition(path, number):
    """(first byte, length in bytes) of MBR partition `number` (1-4)."""
    with open(path, "rb") as f:
        mbr = f.read(SECTOR)
    entry = mbr[446 + 16 * (number - 1):446 + 16 * number]
    start, count = struct.unpack("<II", entry[8:16])
    return start * SECTOR, count * SECTOR


def extract_partition(path, number, dest):
    start, length = partition(path, number)
    with open(path, "rb") as src, open(dest, "wb") as out:
        src.seek(start)
        out.write(src.read(length))
    return dest


def debugfs(fs_image, request):
    """debugfs -R request on an ext2 image file (read-only); its output."""
    r = subprocess.run(["debugfs", "-R", request, str(fs_image)], capture_output=True, text=True)
    return r.stdout


def e2fsck(fs_image):
    """e2fsck -fn: (exit status, output); 0 means clean."""
    r = subprocess.run(["e2fsck", "-fn", str(fs_image)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_partition(path, number, source):
    """Put a partition's bytes (a file, as extract_partition made it) back into the image."""
    start, length = partition(path, number)
    data = open(source, "rb").read()
    assert len(data) == length
    with open(path, "r+b") as out:
        out.seek(start)
        out.write(data)
