"""The tiny-disk image (emu/images/disk.py): its partition table and root
filesystem as the host sees them, and its boot on qemu-system-i386 with
SeaBIOS, the reference the pyemu disk boots are held to."""
import shutil
import struct
import subprocess

from emu.images import disk as disk_layout

from boot.disklib import debugfs, disk_image, extract_partition


def test_partition_table_and_root_filesystem(tmp_path):
    img, path = disk_image(tmp_path)
    mbr = path.read_bytes()[:512]
    assert mbr[510:512] == b"\x55\xAA"
    entries = [mbr[446 + 16 * k:462 + 16 * k] for k in range(4)]
    boot_flags = [e[0] for e in entries[:2]]
    types = [e[4] for e in entries[:2]]
    starts = [struct.unpack("<I", e[8:12])[0] for e in entries[:2]]
    assert types == [0x83, 0x06] and boot_flags == [0x00, 0x80]
    assert starts == [disk_layout.ROOT_START, disk_layout.BOOT_START]
    root = extract_partition(path, 1, tmp_path / "root.ext2")
    assert "BOOT-OK" in debugfs(root, "cat /sbin/init")
    assert "busybox" in debugfs(root, "ls -l /bin")


def test_tiny_disk_boots_on_qemu(tmp_path):
    qemu = shutil.which("qemu-system-i386")
    assert qemu, "qemu-system-i386 is needed (Debian: qemu-system-x86)"
    img, path = disk_image(tmp_path)
    proc = subprocess.Popen([qemu, "-nographic", "-drive", "file=%s,format=raw" % path, "-m", "128", "-no-reboot"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        while b"from disk" not in out:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
        assert b"SYSLINUX" in out and b"BOOT-OK: Linux" in out, out[-2000:]
    finally:
        proc.kill()
        proc.wait()
