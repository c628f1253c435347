"""apt helpers that need no network: record parsing, names, host package checks."""
import shutil

import pytest

from emu.images import apt

RECORDS = """Package: busybox-static
Version: 1:1.35.0-4+deb12u1+b1
Architecture: i386
Size: 958344
SHA256: 5ad1f0e2
Description: Standalone rescue shell
 with tons of builtin utilities

"""


def test_parse_record():
    r = apt.parse_record(RECORDS)
    assert r["Package"] == "busybox-static"
    assert r["Version"] == "1:1.35.0-4+deb12u1+b1"
    assert r["Size"] == "958344"
    assert r["Description"].endswith("\nwith tons of builtin utilities")


def test_parse_records_of_several_packages():
    text = RECORDS + "Package: linux-source-6.1\nVersion: 6.1.176-1\nArchitecture: all\n\n"
    records = apt.parse_records(text)
    assert [r["Package"] for r in records] == ["busybox-static", "linux-source-6.1"]
    assert records[1] == {"Package": "linux-source-6.1", "Version": "6.1.176-1",
                          "Architecture": "all"}
    assert apt.parse_record("") == {}


def test_deb_filename_encodes_the_epoch():
    assert (apt.deb_filename("busybox-static", "1:1.35.0-4+deb12u1+b1", "i386")
            == "busybox-static_1%3a1.35.0-4+deb12u1+b1_i386.deb")


def test_newest_abi_package_compares_numbers_not_text():
    names = ["linux-image-6.1.0-9-686-unsigned", "linux-image-6.1.0-47-686-unsigned",
             "linux-image-6.1.0-50-686-unsigned", "linux-image-6.1.0-51-686-pae-unsigned",
             "linux-image-6.1.0-99-amd64-unsigned"]
    assert apt.newest_abi_package(names) == "linux-image-6.1.0-50-686-unsigned"
    assert apt.newest_abi_package(["linux-image-686"]) is None


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="not a Debian system")
def test_missing_host_packages():
    assert apt.missing_host_packages(["dpkg", "pyemu-no-such-package"]) == ["pyemu-no-such-package"]


def test_i386_options_keep_apt_state_in_the_cache(tmp_path):
    opts = " ".join(apt.I386Apt(tmp_path, reporter=None).options())
    assert "APT::Architecture=i386" in opts
    assert "Dir::State::Lists=%s" % (tmp_path / "lists") in opts
    assert "Dir::Cache=%s" % (tmp_path / "cache") in opts


def test_no_lists_without_network_is_an_error(tmp_path):
    if not apt.apt_available():
        pytest.skip("apt is not installed")
    with pytest.raises(apt.ImageError, match="no i386 package lists"):
        apt.I386Apt(tmp_path, reporter=None).ensure_lists(allow_network=False)


def test_missing_tools_without_root_or_sudo_name_the_command(monkeypatch):
    monkeypatch.setattr(apt.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(apt.shutil, "which", lambda name: None)
    with pytest.raises(apt.ImageError) as e:
        apt.install_host_packages(["flex", "bison"], reporter=None)
    assert "apt-get install -y flex bison" in str(e.value)
