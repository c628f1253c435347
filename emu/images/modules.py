"""Kernel modules for a disk-booting initramfs: Debian's 686 kernel has its
ATA, SCSI disk and ext4 (which mounts ext2) drivers as modules, so its
disk image boots through an initramfs that loads them and then switches to
the root filesystem on the disk.

A module's dependencies are in its own .modinfo section ("depends=",
"softdep=pre: ..."), read with pyelftools, so no depmod output is needed;
modules are taken from the linux-image package with the rest of the kernel.
"""
import io
import re

from elftools.elf.elffile import ELFFile

from . import debpkg
from .cpio import NewcWriter
from .errors import ImageError

# what a disk boot needs: the PIIX IDE driver, SCSI disks, ext4 for the ext2
# root, and the crc32c implementation ext4 asks the crypto API for
WANTED = ("ata_piix", "sd_mod", "ext4", "crc32c_generic")


def _name(path):
    return path.rsplit("/", 1)[-1][:-len(".ko")].replace("-", "_")


def modinfo(data):
    """{key: [values]} of a module's .modinfo section."""
    elf = ELFFile(io.BytesIO(data))
    section = elf.get_section_by_name(".modinfo")
    out = {}
    if section is None:
        return out
    for item in section.data().split(b"\0"):
        key, eq, value = item.decode("utf-8", "replace").partition("=")
        if eq:
            out.setdefault(key, []).append(value)
    return out


def dependencies(info):
    deps = []
    for value in info.get("depends", []):
        deps += [d.replace("-", "_") for d in value.split(",") if d]
    for value in info.get("softdep", []):
        m = re.search(r"pre:\s*([^:]*?)(?:\s+post:|$)", value)
        if m:
            deps += [d.replace("-", "_") for d in m.group(1).split()]
    return deps


def module_paths(deb, release):
    """{module name: path in the package} of the kernel's modules."""
    prefix = "lib/modules/%s/kernel/" % release
    out = {}
    with debpkg._data_tar(deb) as tf:
        for member in debpkg._members(tf, deb):
            name = debpkg._clean(member.name)
            if name.startswith(prefix) and name.endswith(".ko") and member.isfile():
                out[_name(name)] = name
    return out


def resolve(deb, release, work, wanted=WANTED):
    """[(name, bytes)] of `wanted` and everything they need, dependencies first."""
    paths = module_paths(deb, release)
    have, infos = {}, {}
    todo = set(wanted)
    while todo:
        missing = [n for n in todo if n not in paths]
        if missing:
            raise ImageError("module %s is not in %s" % (missing[0], deb.name))
        files = {paths[n]: "%s.ko" % n for n in todo}
        debpkg.extract(deb, files, work)
        for n in todo:
            have[n] = (work / ("%s.ko" % n)).read_bytes()
            infos[n] = dependencies(modinfo(have[n]))
        todo = {d for n in list(todo) for d in infos[n] if d not in have and d in paths}
    order, seen = [], set()

    def visit(n):
        if n in seen:
            return
        seen.add(n)
        for d in infos[n]:
            if d in have:
                visit(d)
        order.append(n)

    for n in sorted(have):
        visit(n)
    return [(n, have[n]) for n in order]


INIT = """#!/bin/busybox sh
# /init of the initramfs of pyemu's debian-disk image (emu/images/modules.py):
# load the disk drivers, then continue on the root filesystem of the disk
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in {modules}; do insmod /lib/modules/$m.ko; done
root=$(sed -n 's/.*root=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
for i in $(seq 1 100); do [ -b "$root" ] && break; sleep 0.1; done
mkdir -p /newroot
mount -t ext2 -o rw "$root" /newroot || {{ echo "pyemu-initramfs: cannot mount $root"; exec sh; }}
umount /sys /proc
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
"""


def initramfs(busybox, modules):
    """The gzip-compressed initramfs: busybox, the modules, /init."""
    w = NewcWriter()
    for d, mode in (("bin", 0o755), ("dev", 0o755), ("proc", 0o555), ("sys", 0o555), ("lib", 0o755),
                    ("lib/modules", 0o755), ("newroot", 0o755)):
        w.add_dir(d, mode)
    w.add_chardev("dev/console", 5, 1, 0o600)
    w.add_file("bin/busybox", busybox, 0o755)
    for name, data in modules:
        w.add_file("lib/modules/%s.ko" % name, data, 0o644)
    w.add_file("init", INIT.format(modules=" ".join(n for n, _ in modules)).encode(), 0o755)
    return w.getvalue_gzip()
