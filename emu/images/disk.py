"""Bootable raw disk images from the same Debian packages as the initramfs guests,
made without root privileges or loop mounts (every tool works on an image file).

Layout of the 64 MB image (MBR partition table; Linux numbers partitions by
their table entry, not their place on the disk):

    sector 0        SYSLINUX's MBR (boots the partition marked active)
    1 MiB  - 9 MiB  partition 2, active: FAT16 with SYSLINUX, the kernel and
                    syslinux.cfg (console on the serial port, root=/dev/sda1)
    9 MiB  - end    partition 1: the root filesystem, ext2 (mke2fs -d from a
                    directory): busybox, /sbin/init (disk-init.sh), /etc/profile

debian-disk is the same with Debian's kernel and, since that kernel has its
disk drivers as modules, an initramfs that loads them (modules.py); its boot
partition is 16 MiB, so its root starts at 17 MiB.

The FAT partition is made in place (mkfs.vfat --offset, mtools' image@@offset,
syslinux --offset), so its boot sector's hidden-sectors field is the
partition's start, which SYSLINUX's boot sector needs to find itself.  EXTLINUX
on the ext2 partition would be one partition fewer, but its installer needs
the filesystem mounted.
"""
import os
import shutil
from pathlib import Path

from .errors import ImageError

HERE = Path(__file__).parent
DISK_INIT = HERE / "disk-init.sh"
HOST_PACKAGES = ("syslinux", "syslinux-common", "mtools", "dosfstools", "fdisk", "e2fsprogs")
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")

DISK_MB = 64
SECTOR = 512
BOOT_START = 2048                   # 1 MiB
BOOT_SECTORS = 8 * 2048             # 8 MiB
ROOT_START = BOOT_START + BOOT_SECTORS
KERNEL_ARGS = "console=ttyS0 root=/dev/sda1 rw panic=-1"
# Debian's kernel places itself at random (KASLR): nokaslr lets pyemu's
# translation cache serve its second boot
DEBIAN_KERNEL_ARGS = KERNEL_ARGS + " nokaslr"

SYSLINUX_CFG = """\
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /bzImage
  APPEND {args}
"""

# busybox applets linked in /bin at build time, so a root the guest cannot write
# still has a shell and the usual tools (the init script adds the rest)
APPLETS = ("sh ash cat cp dd df echo grep head ls mkdir mount mv rm rmdir sed sleep sync tail "
           "touch umount uname wc sha256sum md5sum cmp reboot poweroff hostname setsid cttyhack "
           "date sort tr cut seq od printf env id ln chmod test [ true false stat find xargs dmesg "
           "free ps kill vi less gzip gunzip tar blockdev fdisk hexdump").split()

PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
GROUP = "root:x:0:\n"


def init_text():
    return DISK_INIT.read_text()


def syslinux_cfg(args=KERNEL_ARGS, initrd=False):
    return SYSLINUX_CFG.format(args=("initrd=/initrd.img " if initrd else "") + args)


def make_root_tree(root, busybox, profile):
    """The root filesystem's directory tree at `root` (mke2fs -d copies it)."""
    for d, mode in (("bin", 0o755), ("sbin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
                    ("sys", 0o555), ("tmp", 0o1777), ("root", 0o700), ("mnt", 0o755)):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, mode)
    (root / "bin" / "busybox").write_bytes(busybox)
    os.chmod(root / "bin" / "busybox", 0o755)
    for applet in APPLETS:
        os.symlink("busybox", root / "bin" / applet)
    (root / "sbin" / "init").write_text(init_text())
    os.chmod(root / "sbin" / "init", 0o755)
    (root / "etc" / "profile").write_text(profile)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)


def build(dest, kernel, busybox, profile, reporter, work, initrd=None, boot_mb=8, args=KERNEL_ARGS):
    """Write the bootable image to `dest` (a path), from the kernel file and the
    busybox binary's bytes; `work` is a scratch directory.  initrd: the bytes of
    an initramfs to boot the kernel with (Debian's kernel loads its disk drivers
    from one); boot_mb: the size of the FAT boot partition."""
    for tool in ("sfdisk", "mkfs.vfat", "mcopy", "syslinux", "mke2fs"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists() and not Path("/sbin", tool).exists():
            raise ImageError("%s was not found (Debian packages: %s)" % (tool, " ".join(HOST_PACKAGES)))
    if not SYSLINUX_MBR.exists():
        raise ImageError("%s was not found (Debian package syslinux-common)" % SYSLINUX_MBR)
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    env = {"PATH": path, "MTOOLS_SKIP_CHECK": "1"}
    total = DISK_MB * 2048
    boot_sectors = boot_mb * 2048
    root_start = BOOT_START + boot_sectors
    root_sectors = total - root_start
    work = Path(work)
    tmp = Path(str(dest) + ".part")
    with open(tmp, "wb") as f:
        f.truncate(total * SECTOR)
    reporter.step("partitioning %s (%d MB)" % (dest.name, DISK_MB))
    script = ("label: dos\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=6, bootable\n"
              % (root_start, root_sectors, BOOT_START, boot_sectors))
    (work / "sfdisk.txt").write_text(script)
    reporter.run(["sh", "-c", 'sfdisk -q "$1" < "$2"', "sfdisk", tmp, work / "sfdisk.txt"], "sfdisk", env=env)
    reporter.step("boot partition: FAT16, SYSLINUX, the kernel")
    reporter.run(["mkfs.vfat", "-F", "16", "-s", "1", "-n", "PYEMUBOOT", "--offset", str(BOOT_START),
                  "-h", str(BOOT_START), tmp, str(boot_sectors // 2)], "mkfs.vfat", env=env)
    cfg = work / "syslinux.cfg"
    cfg.write_text(syslinux_cfg(args, initrd=initrd is not None))
    shutil.copyfile(kernel, work / "bzImage")
    files = [work / "bzImage", cfg]
    if initrd is not None:
        (work / "initrd.img").write_bytes(initrd)
        files.append(work / "initrd.img")
    image_at = "%s@@%d" % (tmp, BOOT_START * SECTOR)
    reporter.run(["mcopy", "-i", image_at] + files + ["::/"], "mcopy", env=env)
    reporter.run(["syslinux", "--offset", str(BOOT_START * SECTOR), "--install", tmp], "syslinux", env=env)
    reporter.step("root partition: ext2 with busybox")
    root = work / "root"
    make_root_tree(root, busybox, profile)
    ext2 = work / "root.ext2"
    reporter.run(["mke2fs", "-q", "-F", "-t", "ext2", "-E", "root_owner=0:0", "-L", "pyemu-root",
                  "-d", root, ext2, "%dk" % (root_sectors // 2)], "mke2fs", env=env)
    with open(tmp, "r+b") as out:
        out.write(SYSLINUX_MBR.read_bytes()[:440])      # boot code only: the table stays
        out.seek(root_start * SECTOR)
        with open(ext2, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, dest)
