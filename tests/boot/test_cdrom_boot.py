"""`pyemu -cdrom boot.iso -boot d`: pyemu's BIOS boots an El Torito CD
(ISOLINUX, no emulation) made by the test, and Linux reads a file from the
CD through the ATAPI drive (sr, ISO 9660); the same ISO boots on
qemu-system-i386 with SeaBIOS, the reference."""
import shutil
import subprocess
import sys

from emu import images
from emu.session import REPO

from .isolib import HELLO, make_iso

BOOT_TIMEOUT = 900


def test_own_bios_boots_an_iso_and_linux_reads_it(guest_session, tmp_path):
    img = images.ensure("tiny", quiet=True)
    iso = make_iso(img, tmp_path)
    argv = [sys.executable, "-m", "emu.cli", "-cdrom", str(iso), "-boot", "d", "-nographic",
            "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    s = guest_session.spawn(argv, timeout=BOOT_TIMEOUT, cwd=str(REPO))
    s.expect(r"Booting from DVD/CD", timeout=BOOT_TIMEOUT)
    s.expect(r"ISOLINUX \d", timeout=BOOT_TIMEOUT)
    s.expect(r"BOOT-OK: Linux \S+ i686", timeout=BOOT_TIMEOUT)
    s.expect(img.prompt_re, timeout=120)
    assert s.run("mkdir -p /mnt && mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/hello.txt",
                 check=True) == HELLO.strip()
    dmesg = s.run("dmesg | grep -i -E 'sr0|ATAPI'", check=True)
    assert "ATAPI" in dmesg and "sr0" in dmesg, dmesg
    assert s.poweroff() == 0


def test_the_iso_boots_on_qemu(tmp_path):
    img = images.ensure("tiny", quiet=True)
    iso = make_iso(img, tmp_path)
    qemu = shutil.which("qemu-system-i386")
    assert qemu, "qemu-system-i386 is needed (Debian: qemu-system-x86)"
    proc = subprocess.Popen([qemu, "-nographic", "-cdrom", str(iso), "-boot", "d", "-m", "128", "-no-reboot"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        while b"BOOT-OK: Linux" not in out:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
        assert b"ISOLINUX" in out and b"BOOT-OK: Linux" in out, out[-2000:]
    finally:
        proc.kill()
        proc.wait()
