"""`pyemu -hda disk.img` as a new user runs it: a BIOS boots the tiny-disk
image (SYSLINUX from its MBR and FAT partition, then the kernel with its root
on sda1) to the shell, and a command runs through the session API: pyemu's
own BIOS (bios/, no -bios given) and Debian's SeaBIOS (-bios; slow: SeaBIOS
reads the kernel by PIO, 256 port reads a sector)."""
import os
import sys

import pytest

from emu.session import REPO

from .disklib import disk_image

BOOT_TIMEOUT = 900
SEABIOS_DIR = "/usr/share/seabios"


def pyemu_argv(*args):
    return [sys.executable, "-m", "emu.cli", *args, "-nographic", "-serial", "stdio", "-monitor", "none",
            "-no-reboot"]


def boot_disk(guest_session, img, *args, timeout=BOOT_TIMEOUT):
    s = guest_session.spawn(pyemu_argv(*args), timeout=timeout, cwd=str(REPO))
    s.expect(r"SYSLINUX \d", timeout=timeout)
    s.expect(r"BOOT-OK: Linux \S+ i686 from disk", timeout=timeout)
    s.expect(img.prompt_re, timeout=120)
    return s


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bios.bin", "bios-256k.bin"])     # 128 KB and 256 KB builds
def test_seabios_boots_the_disk(guest_session, tmp_path, name):
    seabios = os.path.join(SEABIOS_DIR, name)
    if not os.path.exists(seabios):
        pytest.fail("%s is missing: .ci/run installs Debian's seabios package" % seabios)
    img, disk = disk_image(tmp_path)
    s = boot_disk(guest_session, img, "-bios", seabios, "-hda", str(disk))
    assert "SeaBIOS" in s.text
    assert s.run("echo $((6*7)) && cat /proc/cmdline", check=True).splitlines() == [
        "42", "BOOT_IMAGE=/bzImage console=ttyS0 root=/dev/sda1 rw panic=-1"]
    assert s.poweroff() == 0


def test_own_bios_boots_the_disk(guest_session, tmp_path):
    """No -kernel, no -bios: pyemu's BIOS (bios/) boots the disk."""
    img, disk = disk_image(tmp_path)
    s = boot_disk(guest_session, img, "-hda", str(disk))
    assert s.text.startswith("pyemu BIOS"), s.text[:200]
    assert s.run("echo $((6*7)) && cat /proc/cmdline", check=True).splitlines() == [
        "42", "BOOT_IMAGE=/bzImage console=ttyS0 root=/dev/sda1 rw panic=-1"]
    e820 = s.run("dmesg | grep BIOS-e820", check=True)
    assert "[mem 0x0000000000100000-0x0000000007ffffff] usable" in e820, e820
    assert s.poweroff() == 0


@pytest.mark.slow
def test_own_bios_boots_the_debian_disk(guest_session, tmp_path):
    """Debian's stock 686 kernel from a disk: SYSLINUX loads it and its initramfs,
    which loads ata_piix, sd_mod and ext4 and switches to the ext2 root on sda1."""
    img, disk = disk_image(tmp_path, "debian-disk")
    # Debian's kernel probes much hardware: a cold boot takes a quarter of an hour
    s = boot_disk(guest_session, img, "-hda", str(disk), "-m", "256", timeout=2700)
    mounts = s.run("cat /proc/mounts", check=True)
    assert "/dev/sda1 / ext2 rw" in mounts, mounts
    assert s.run("uname -r", check=True).endswith("-686")
    assert s.poweroff() == 0
