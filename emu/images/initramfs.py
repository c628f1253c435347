"""The test initramfs shared by both kernels: busybox, /init, a few files.

Layout (a gzip-compressed newc cpio, see cpio.py):
    bin/busybox          from Debian's busybox-static (i386), a static 32-bit ELF
    init                 init.sh beside this file
    etc/profile          profile beside this file (PATH, HOME, the prompt)
    etc/passwd, group    root only, so that ls -l and id show names
    dev/console c 5 1, dev/null c 1 3
                         present before devtmpfs is mounted: the kernel opens
                         /dev/console for init's stdin/stdout/stderr before /init runs
    proc sys dev tmp root etc bin  (empty directories, mount points)
"""
from pathlib import Path

from .cpio import NewcWriter

HERE = Path(__file__).parent
INIT_SCRIPT = HERE / "init.sh"
PROFILE = HERE / "profile"

# Linux Documentation/admin-guide/devices.txt: console is char 5:1, null is char 1:3.
DEVICES = (("dev/console", 5, 1, 0o600), ("dev/null", 1, 3, 0o666))
DIRECTORIES = (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
               ("root", 0o700), ("sys", 0o555), ("tmp", 0o1777))
PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
GROUP = "root:x:0:\n"


def init_text():
    return INIT_SCRIPT.read_text()


def profile_text():
    return PROFILE.read_text()


def build(busybox, init=None, profile=None):
    """The gzip-compressed archive (bytes), from the busybox binary's bytes."""
    w = NewcWriter()
    for name, mode in DIRECTORIES:
        w.add_dir(name, mode)
    for name, major, minor, mode in DEVICES:
        w.add_chardev(name, major, minor, mode)
    w.add_file("bin/busybox", busybox, 0o755)
    w.add_file("init", (init if init is not None else init_text()).encode(), 0o755)
    w.add_file("etc/profile", (profile if profile is not None else profile_text()).encode(), 0o644)
    w.add_file("etc/passwd", PASSWD.encode(), 0o644)
    w.add_file("etc/group", GROUP.encode(), 0o644)
    return w.getvalue_gzip()
