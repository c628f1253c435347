"""The newc writer against an independent reader and against GNU cpio."""
import gzip
import shutil
import stat
import subprocess

import pytest

from emu.images.cpio import CpioError, NewcWriter

from .newc_reader import kind, parse


def sample():
    w = NewcWriter(mtime=1234567)
    w.add_dir("bin")
    w.add_dir("dev", 0o750)
    w.add_file("bin/tool", b"\x7fELF" + bytes(range(256)) * 3, 0o755)
    w.add_file("bin/empty", b"")
    for size in (1, 2, 3, 5):               # every data padding length
        w.add_file("bin/f%d" % size, b"x" * size)
    w.add_file("name-of-length-nine-plus", b"abc")   # a different name padding
    w.add_symlink("bin/sh", "tool")
    w.add_chardev("dev/console", 5, 1)
    w.add_blockdev("dev/sda", 8, 0, 0o660)
    return w


EXPECTED = [  # name, kind, permission bits, data, (rdev major, minor)
    ("bin", "dir", 0o755, b"", (0, 0)),
    ("dev", "dir", 0o750, b"", (0, 0)),
    ("bin/tool", "file", 0o755, b"\x7fELF" + bytes(range(256)) * 3, (0, 0)),
    ("bin/empty", "file", 0o644, b"", (0, 0)),
    ("bin/f1", "file", 0o644, b"x", (0, 0)),
    ("bin/f2", "file", 0o644, b"xx", (0, 0)),
    ("bin/f3", "file", 0o644, b"xxx", (0, 0)),
    ("bin/f5", "file", 0o644, b"xxxxx", (0, 0)),
    ("name-of-length-nine-plus", "file", 0o644, b"abc", (0, 0)),
    ("bin/sh", "symlink", 0o777, b"tool", (0, 0)),
    ("dev/console", "chardev", 0o600, b"", (5, 1)),
    ("dev/sda", "blockdev", 0o660, b"", (8, 0)),
]


def test_round_trip_with_independent_reader():
    data = sample().getvalue()
    members, end = parse(data)
    assert end == len(data)
    assert len(data) % 4 == 0
    *entries, trailer = members
    assert trailer["name"] == "TRAILER!!!" and trailer["filesize"] == 0
    assert [m["name"] for m in entries] == [e[0] for e in EXPECTED]
    inodes = set()
    for m, (name, k, perm, content, rdev) in zip(entries, EXPECTED):
        assert kind(m["mode"]) == k, name
        assert stat.S_IMODE(m["mode"]) == perm, name
        assert m["data"] == content and m["filesize"] == len(content), name
        assert (m["rdevmajor"], m["rdevminor"]) == rdev, name
        assert (m["uid"], m["gid"], m["mtime"], m["check"]) == (0, 0, 1234567, 0), name
        assert m["namesize"] == len(name) + 1
        assert m["offset"] % 4 == 0
        inodes.add(m["ino"])
    assert len(inodes) == len(entries) and 0 not in inodes


def test_gzip_stream_is_reproducible():
    a, b = sample().getvalue_gzip(), sample().getvalue_gzip()
    assert a == b
    assert gzip.decompress(a) == sample().getvalue()


@pytest.mark.skipif(not shutil.which("cpio"), reason="GNU cpio is not installed (apt-get install cpio)")
def test_gnu_cpio_lists_the_archive():
    data = sample().getvalue()
    out = subprocess.run(["cpio", "-t", "-v", "--quiet", "--numeric-uid-gid"], input=data,
                         capture_output=True, check=True).stdout.decode()
    lines = out.splitlines()
    assert len(lines) == len(EXPECTED)
    letters = {"dir": "d", "file": "-", "symlink": "l", "chardev": "c", "blockdev": "b"}
    for line, (name, k, perm, content, rdev) in zip(lines, EXPECTED):
        fields = line.split()
        assert fields[0] == letters[k] + stat.filemode(perm)[1:], line
        if k in ("chardev", "blockdev"):
            assert fields[4:6] == ["%d," % rdev[0], str(rdev[1])], line
        elif k == "file":
            assert fields[4] == str(len(content)), line
        if k == "symlink":
            assert line.endswith("%s -> %s" % (name, content.decode())), line
        else:
            assert fields[-1] == name, line


@pytest.mark.skipif(not shutil.which("cpio"), reason="GNU cpio is not installed (apt-get install cpio)")
def test_gnu_cpio_extracts_file_contents(tmp_path):
    w = NewcWriter()
    w.add_dir("d")
    w.add_file("d/a", b"hello\n", 0o640)
    w.add_symlink("d/l", "a")
    subprocess.run(["cpio", "-i", "-d", "--quiet", "--no-absolute-filenames"], input=w.getvalue(),
                   cwd=tmp_path, check=True)
    assert (tmp_path / "d" / "a").read_bytes() == b"hello\n"
    assert stat.S_IMODE((tmp_path / "d" / "a").stat().st_mode) == 0o640
    assert (tmp_path / "d" / "l").is_symlink() and (tmp_path / "d" / "l").read_bytes() == b"hello\n"


@pytest.mark.parametrize("name", ["", "/", "a/../b", ".."])
def test_bad_names_are_refused(name):
    with pytest.raises(CpioError):
        NewcWriter().add_file(name, b"")


def test_names_are_made_relative():
    w = NewcWriter()
    w.add_dir("/etc/")
    w.add_file("/etc/./profile", b"")
    assert [m["name"] for m in parse(w.getvalue())[0]] == ["etc", "etc/profile", "TRAILER!!!"]


def test_duplicate_and_orphan_members_are_refused():
    w = NewcWriter()
    w.add_dir("a")
    with pytest.raises(CpioError, match="duplicate"):
        w.add_dir("a")
    with pytest.raises(CpioError, match="before its directory"):
        w.add_file("b/c", b"")


def test_nothing_can_follow_the_trailer():
    w = NewcWriter()
    w.getvalue()
    with pytest.raises(CpioError):
        w.add_dir("late")
