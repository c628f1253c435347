"""`pyemu -hda disk.img` as a new user runs it: a BIOS boots the tiny-disk
image (SYSLINUX from its MBR and FAT partition, then the kernel with its root
on sda1) to the shell, and a command runs through the session API.  With
Debian's SeaBIOS (-bios) here; pyemu's own BIOS in test_own_bios.py."""
import os
import sys

import pytest

from emu.session import REPO

from .disklib import disk_image

BOOT_TIMEOUT = 900
SEABIOS = "/usr/share/seabios/bios.bin"


def pyemu_argv(*args):
    return [sys.executable, "-m", "emu.cli", *args, "-nographic", "-serial", "stdio", "-monitor", "none",
            "-no-reboot"]


def boot_disk(guest_session, img, *args):
    s = guest_session.spawn(pyemu_argv(*args), timeout=BOOT_TIMEOUT, cwd=str(REPO))
    s.expect(r"SYSLINUX \d", timeout=BOOT_TIMEOUT)
    s.expect(r"BOOT-OK: Linux \S+ i686 from disk", timeout=BOOT_TIMEOUT)
    s.expect(img.prompt_re, timeout=120)
    return s


@pytest.mark.slow
def test_seabios_boots_the_disk(guest_session, tmp_path):
    if not os.path.exists(SEABIOS):
        pytest.fail("%s is missing: .ci/run installs Debian's seabios package" % SEABIOS)
    img, disk = disk_image(tmp_path)
    s = boot_disk(guest_session, img, "-bios", SEABIOS, "-hda", str(disk))
    assert "SeaBIOS" in s.text
    assert s.run("echo $((6*7)) && cat /proc/cmdline", check=True).splitlines() == [
        "42", "BOOT_IMAGE=/bzImage console=ttyS0 root=/dev/sda1 rw panic=-1"]
    assert s.poweroff() == 0
