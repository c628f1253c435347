"""Linux on an IDE disk (issue [disk-bios] item 7): the tiny kernel given with
-kernel finds the disk through ata_piix, mounts root=/dev/sda1 (ext2), and a
file written and synced in the guest is in the image afterwards, read on the
host with debugfs without mounting anything; with -snapshot the image stays
byte-identical while the guest still sees its own writes.  The same kernel with
the tiny initramfs and root=/dev/sda1 (the README's command) ends up on the disk
too: its /init hands over to the disk's root with switch_root."""
import re
import subprocess

from emu import images

from .disklib import debugfs, disk_image, e2fsck, extract_partition, sha256, write_partition

BOOT_TIMEOUT = 900
APPEND = "console=ttyS0 root=/dev/sda1 panic=-1"


def boot_from_disk(guest_session, img, disk, *extra):
    s = guest_session(kernel=str(img.kernel), initrd=None, append=APPEND,
                      extra_args=["-hda", str(disk), *extra], timeout=BOOT_TIMEOUT)
    s.expect(r"BOOT-OK: Linux \S+ i686 from disk", timeout=BOOT_TIMEOUT)
    s.expect(img.prompt_re, timeout=120)
    return s


def test_root_on_sda1_and_the_guests_writes_reach_the_image(guest_session, tmp_path):
    img, disk = disk_image(tmp_path)
    s = boot_from_disk(guest_session, img, disk)
    dmesg = s.run("dmesg", check=True)
    assert re.search(r"ata1\.00: ATA-6: PYEMU HARDDISK", dmesg), dmesg
    assert re.search(r"ata_piix", dmesg), dmesg
    mounts = s.run("cat /proc/mounts", check=True)
    assert re.search(r"^/dev/root / ext2 rw", mounts, re.M), mounts
    assert s.run("ls /bin/busybox", check=True) == "/bin/busybox"
    # 600 KB so the write goes out as DMA commands of many sectors
    s.run("dd if=/dev/zero bs=1k count=600 2>/dev/null | tr '\\0' 'p' > /root/big && "
          "echo written-in-the-guest > /root/note.txt && sync", check=True)
    assert s.run("wc -c < /root/big", check=True) == "614400"
    assert s.poweroff() == 0
    root = extract_partition(disk, 1, tmp_path / "root.ext2")
    assert debugfs(root, "cat /root/note.txt") == "written-in-the-guest\n"
    assert debugfs(root, "cat /root/big") == "p" * 614400
    status, report = e2fsck(root)
    assert status == 0, report


def test_snapshot_leaves_the_image_byte_identical(guest_session, tmp_path):
    img, disk = disk_image(tmp_path)
    before = sha256(disk)
    s = boot_from_disk(guest_session, img, disk, "-snapshot")
    s.run("echo only-in-the-overlay > /root/snap.txt && sync", check=True)
    s.run("echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; true")
    assert s.run("cat /root/snap.txt", check=True) == "only-in-the-overlay"
    assert s.poweroff() == 0
    assert sha256(disk) == before


def put_marker_on_root(disk, tmp_path, name, text):
    """Write file /name into the disk's ext2 root partition from the host (debugfs -w),
    so that the guest can only see it if its root really is that partition."""
    root = extract_partition(disk, 1, tmp_path / "root.ext2")
    source = tmp_path / name
    source.write_text(text)
    r = subprocess.run(["debugfs", "-w", "-R", "write %s /%s" % (source, name), str(root)],
                       capture_output=True, text=True)
    assert debugfs(root, "cat /%s" % name) == text, r.stdout + r.stderr
    write_partition(disk, 1, root)


def test_the_initramfs_hands_over_to_root_on_sda1(guest_session, tmp_path):
    # the README's command: the tiny kernel WITH the tiny initrd, root=/dev/sda1, -hda
    # the tiny-disk image; the initramfs's /init must switch to the disk's root
    tiny = images.ensure("tiny", quiet=True)
    _, disk = disk_image(tmp_path)
    put_marker_on_root(disk, tmp_path, "only-on-the-disk", "marker-from-the-host\n")
    s = guest_session(kernel=str(tiny.kernel), initrd=str(tiny.initrd),
                      append="console=ttyS0 root=/dev/sda1", extra_args=["-hda", str(disk)],
                      timeout=BOOT_TIMEOUT)
    # either BOOT-OK line matches, so a /init that ignores root= fails here at once
    m = s.expect(r"BOOT-OK: Linux \S+ i686(?P<where> from disk)?\r?\n", timeout=BOOT_TIMEOUT)
    assert m.group("where") == b" from disk", s.text[-2000:]
    s.expect(tiny.prompt_re, timeout=120)
    assert s.run("cat /only-on-the-disk", check=True) == "marker-from-the-host"
    mounts = s.run("cat /proc/mounts", check=True)
    assert re.search(r"^/dev/sda1 / ext2 rw", mounts, re.M), mounts
    # switch_root emptied the initramfs: its /init is gone, the disk's /sbin/init is PID 1
    assert s.run("ls /init 2>&1; true").endswith("No such file or directory")
    assert "/sbin/init" in s.run("tr '\\0' ' ' < /proc/1/cmdline", check=True)
    assert s.poweroff() == 0


def test_the_initramfs_stays_when_root_is_not_there(guest_session, tmp_path):
    # a root= naming no disk must not cost the shell: /init waits, says so, goes on
    tiny = images.ensure("tiny", quiet=True)
    _, disk = disk_image(tmp_path)
    s = guest_session(kernel=str(tiny.kernel), initrd=str(tiny.initrd),
                      append="console=ttyS0 root=/dev/sdb1", extra_args=["-hda", str(disk)],
                      timeout=BOOT_TIMEOUT)
    s.expect(r"pyemu-init: cannot boot from root=/dev/sdb1", timeout=BOOT_TIMEOUT)
    m = s.expect(r"BOOT-OK: Linux \S+ i686(?P<where> from disk)?\r?\n", timeout=120)
    assert m.group("where") is None
    s.expect(tiny.prompt_re, timeout=120)
    assert s.run("ls /init", check=True) == "/init"
    assert s.poweroff() == 0
