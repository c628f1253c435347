"""Reading files out of .deb packages: ones made by dpkg-deb, and hand-made ar files."""
import io
import shutil
import subprocess
import tarfile

import pytest

from emu.images import debpkg
from emu.images.errors import ImageError


def make_tree(root):
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: pyemu-test\nVersion: 1.0\nArchitecture: i386\nMaintainer: t <t@example.org>\n"
        "Description: test\n")
    (root / "boot").mkdir()
    (root / "boot" / "vmlinuz-9.9").write_bytes(b"KERNEL" * 1000)
    (root / "bin").mkdir()
    (root / "bin" / "busybox").write_bytes(b"\x7fELF" + bytes(range(256)))


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb is not installed")
@pytest.mark.parametrize("compression", ["xz", "gzip", "none"])
def test_extract_from_dpkg_deb_packages(tmp_path, compression):
    make_tree(tmp_path / "tree")
    deb = tmp_path / "p.deb"
    subprocess.run(["dpkg-deb", "-Z" + compression, "--root-owner-group", "--build",
                    str(tmp_path / "tree"), str(deb)], check=True, capture_output=True)
    out = tmp_path / "out"
    got = debpkg.extract(deb, {"boot/vmlinuz-9.9": "k", "bin/busybox": "sub/bb"}, out)
    assert (out / "k").read_bytes() == b"KERNEL" * 1000
    assert (out / "sub" / "bb").read_bytes() == b"\x7fELF" + bytes(range(256))
    assert set(got) == {"boot/vmlinuz-9.9", "bin/busybox"}
    assert sorted(debpkg.list_files(deb)) == ["bin/busybox", "boot/vmlinuz-9.9"]


def ar_archive(members):
    """An ar archive written straight from ar(5): global magic, 60-byte headers,
    members padded to even offsets with a newline."""
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        header = b"%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (name.encode(), 0, 0, 0, 0o100644, len(data))
        assert len(header) == 60
        out.write(header + data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


def tar_bytes(files, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("suffix, mode", [(".xz", "w:xz"), (".gz", "w:gz"), (".bz2", "w:bz2"),
                                          ("", "w")])
def test_hand_made_deb_odd_member_sizes(tmp_path, suffix, mode):
    data = tar_bytes({"./usr/src/x.tar.xz": b"odd" * 7}, mode)
    deb = tmp_path / "h.deb"
    deb.write_bytes(ar_archive([("debian-binary", b"2.0\n"), ("control.tar.xz", b"c"),
                                ("data.tar" + suffix, data)]))      # "c": an odd size, padded
    got = debpkg.extract(deb, {"usr/src/x.tar.xz": "x"}, tmp_path)
    assert got["usr/src/x.tar.xz"].read_bytes() == b"odd" * 7


CONTROL = ("control.tar.xz", tar_bytes({"./control": b"Package: h\n"}, "w:xz"))


def test_missing_member_is_named(tmp_path):
    deb = tmp_path / "h.deb"
    deb.write_bytes(ar_archive([("debian-binary", b"2.0\n"), CONTROL,
                                ("data.tar.gz", tar_bytes({"./a": b"1"}, "w:gz"))]))
    with pytest.raises(ImageError, match="boot/vmlinuz-1"):
        debpkg.extract(deb, {"boot/vmlinuz-1": "k"}, tmp_path)


def test_no_data_tar(tmp_path):
    deb = tmp_path / "h.deb"
    deb.write_bytes(ar_archive([("debian-binary", b"2.0\n"), CONTROL]))
    with pytest.raises(ImageError, match="h.deb is not a valid Debian package.*data.tar"):
        debpkg.list_files(deb)


def test_damaged_member_header(tmp_path):
    deb = ar_archive([("debian-binary", b"2.0\n"), CONTROL])
    bad = tmp_path / "h.deb"
    bad.write_bytes(deb[:8 + 58] + b"XX" + deb[8 + 60:])       # the header's "`\n" magic
    with pytest.raises(ImageError, match="h.deb: damaged ar member header"):
        debpkg.list_files(bad)


def test_last_member_padding_may_be_left_off(tmp_path):
    data = next(d for n in range(1, 64) for d in [tar_bytes({"./a": bytes(range(n))}, "w:gz")]
                if len(d) % 2)
    deb = ar_archive([("debian-binary", b"2.0\n"), CONTROL, ("data.tar.gz", data)])
    (tmp_path / "h.deb").write_bytes(deb[:-1])                 # without the padding newline
    assert debpkg.list_files(tmp_path / "h.deb") == ["a"]
    (tmp_path / "cut.deb").write_bytes(deb[:-2])               # one byte of data.tar.gz less
    with pytest.raises(ImageError, match="cut.deb is truncated"):
        debpkg.list_files(tmp_path / "cut.deb")


def test_not_a_deb(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(ImageError, match="not a Debian package"):
        debpkg.extract(bad, {"a": "a"}, tmp_path)


def test_truncated_deb(tmp_path):
    deb = ar_archive([("debian-binary", b"2.0\n"), CONTROL,
                      ("data.tar.xz", tar_bytes({"./a": bytes(range(256)) * 40}, "w:xz"))])
    bad = tmp_path / "cut.deb"
    bad.write_bytes(deb[:len(deb) - 30])          # inside the xz stream
    with pytest.raises(ImageError, match="cut.deb is truncated \\(member data.tar.xz\\)"):
        debpkg.extract(bad, {"a": "a"}, tmp_path)


@pytest.mark.parametrize("suffix, mode", [(".xz", "w:xz"), (".gz", "w:gz"), (".bz2", "w:bz2")])
def test_damaged_data_tar(tmp_path, suffix, mode):
    data = bytearray(tar_bytes({"./a": b"".join(b"%d\n" % i for i in range(20000))}, mode))
    data[len(data) // 2:len(data) // 2 + 8] = b"\xff" * 8      # inside the compressed stream
    deb = tmp_path / "bad.deb"
    deb.write_bytes(ar_archive([("debian-binary", b"2.0\n"), CONTROL,
                                ("data.tar" + suffix, bytes(data))]))
    with pytest.raises(ImageError, match="bad.deb: (damaged|cannot read) data.tar"):
        debpkg.extract(deb, {"a": "a"}, tmp_path)


# -- zstd: Ubuntu's packages; streamed through dpkg-deb, else python-debian's unzstd ----------
def zstd_deb(tmp_path):
    plain = tar_bytes({"./usr/src/x.tar.xz": b"zst" * 999, "./bin/busybox": b"bb"}, "w")
    data = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True,
                          check=True).stdout
    deb = tmp_path / "z.deb"
    deb.write_bytes(ar_archive([("debian-binary", b"2.0\n"), CONTROL, ("data.tar.zst", data)]))
    return deb


@pytest.mark.skipif(not shutil.which("zstd"), reason="zstd is not installed")
@pytest.mark.parametrize("route", ["dpkg-deb", "python-debian"])
def test_zstd_data_tar(tmp_path, monkeypatch, route):
    deb = zstd_deb(tmp_path)
    streamed = []
    if route == "dpkg-deb":
        if not shutil.which("dpkg-deb"):
            pytest.skip("dpkg-deb is not installed")
        real = debpkg._dpkg_deb_tar
        monkeypatch.setattr(debpkg, "_dpkg_deb_tar", lambda p: streamed.append(p) or real(p))
    else:
        which = shutil.which
        monkeypatch.setattr(debpkg.shutil, "which", lambda c: None if c == "dpkg-deb" else which(c))
    got = debpkg.extract(deb, {"usr/src/x.tar.xz": "x"}, tmp_path / "out")
    assert got["usr/src/x.tar.xz"].read_bytes() == b"zst" * 999
    assert sorted(debpkg.list_files(deb)) == ["bin/busybox", "usr/src/x.tar.xz"]
    assert streamed == ([deb, deb] if route == "dpkg-deb" else [])


@pytest.mark.skipif(not shutil.which("zstd"), reason="zstd is not installed")
def test_zstd_without_tools_says_what_to_install(tmp_path, monkeypatch):
    deb = zstd_deb(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))        # neither dpkg-deb nor unzstd
    with pytest.raises(ImageError, match="z.deb: cannot read data.tar.zst.*install zstd or dpkg"):
        debpkg.list_files(deb)
