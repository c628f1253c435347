"""Linux on an IDE disk (issue [disk-bios] item 7): the tiny kernel given with
-kernel finds the disk through ata_piix, mounts root=/dev/sda1 (ext2), and a
file written and synced in the guest is in the image afterwards, read on the
host with debugfs without mounting anything; with -snapshot the image stays
byte-identical while the guest still sees its own writes."""
import re

from .disklib import debugfs, disk_image, e2fsck, extract_partition, sha256

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
