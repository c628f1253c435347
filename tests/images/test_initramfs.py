"""The initramfs layout, the /init script and the prompt it sets."""
import gzip
import re
import stat
import subprocess

import pytest

from emu.images import PROMPT_RE, initramfs

from .newc_reader import kind, parse

FAKE_BUSYBOX = b"\x7fELF fake busybox"


@pytest.fixture(scope="module")
def members():
    entries, _ = parse(gzip.decompress(initramfs.build(FAKE_BUSYBOX)))
    return {m["name"]: m for m in entries}


def test_layout(members):
    assert kind(members["init"]["mode"]) == "file"
    assert stat.S_IMODE(members["init"]["mode"]) == 0o755
    assert members["init"]["data"] == initramfs.init_text().encode()
    assert members["bin/busybox"]["data"] == FAKE_BUSYBOX
    assert stat.S_IMODE(members["bin/busybox"]["mode"]) == 0o755
    for d in ("proc", "sys", "dev", "tmp", "root", "etc", "bin"):
        assert kind(members[d]["mode"]) == "dir", d
    assert stat.S_IMODE(members["tmp"]["mode"]) == 0o1777
    assert members["etc/profile"]["data"] == initramfs.profile_text().encode()
    assert members["etc/passwd"]["data"].startswith(b"root:x:0:0:")


def test_console_and_null_are_character_devices(members):
    # devices.txt: console is char 5:1, null is char 1:3
    for name, major, minor in (("dev/console", 5, 1), ("dev/null", 1, 3)):
        assert kind(members[name]["mode"]) == "chardev", name
        assert (members[name]["rdevmajor"], members[name]["rdevminor"]) == (major, minor), name


def test_same_inputs_same_bytes():
    assert initramfs.build(FAKE_BUSYBOX) == initramfs.build(FAKE_BUSYBOX)
    assert initramfs.build(FAKE_BUSYBOX) != initramfs.build(FAKE_BUSYBOX + b"!")


def test_init_script_is_valid_shell(tmp_path):
    text = initramfs.init_text()
    assert text.startswith("#!/bin/busybox sh\n")
    subprocess.run(["sh", "-n", str(initramfs.INIT_SCRIPT)], check=True)
    subprocess.run(["sh", "-n", str(initramfs.PROFILE)], check=True)
    # and a broken copy is caught, so the check above means something
    bad = tmp_path / "bad"
    bad.write_text(text + "\nif true; then\n")
    assert subprocess.run(["sh", "-n", str(bad)], capture_output=True).returncode != 0


def test_init_script_does_what_the_session_api_relies_on():
    text = initramfs.init_text()
    assert "/bin/busybox --install -s /bin" in text
    for fs in ("proc", "sysfs", "devtmpfs"):
        assert re.search(r"^mount -t %s " % fs, text, re.M), fs
    assert 'echo "BOOT-OK: $(uname -srm)"' in text
    assert "setsid cttyhack sh -l" in text
    assert text.rstrip().endswith("reboot -f")


@pytest.mark.parametrize("cwd, prompt", [("/root", "[pyemu ~]# "), ("/proc", "[pyemu /proc]# ")])
def test_prompt_matches_prompt_re(cwd, prompt):
    assert re.fullmatch(PROMPT_RE, prompt)


def test_profile_sets_the_prompt_that_prompt_re_matches():
    # A POSIX shell sources the profile and prints PS1 with the directory put in by
    # hand (busybox ash expands \w itself): the result must match PROMPT_RE.
    out = subprocess.run(["sh", "-c", '. "$1"; printf %s "$PS1"', "sh", str(initramfs.PROFILE)],
                         capture_output=True, text=True, check=True).stdout
    assert "\\w" in out
    assert re.fullmatch(PROMPT_RE, out.replace("\\w", "~"))
    assert not re.search(PROMPT_RE, "BOOT-OK: Linux 6.1.0 i686\r\n# ")

