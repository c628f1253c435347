"""A bootable ISO made by the tests: ISOLINUX (Debian's isolinux package) with
the tiny kernel and its initramfs, El Torito "no emulation", built by xorriso
(Debian's xorriso package) from a directory, without root."""
import shutil
import subprocess

import pytest

ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin"
LDLINUX_C32 = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
HELLO = "a file on the CD, read by Linux\n"

ISOLINUX_CFG = """\
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /bzImage
  APPEND initrd=/initrd.img console=ttyS0 panic=-1
"""


def make_iso(img, workdir):
    for path, package in ((ISOLINUX_BIN, "isolinux"), (LDLINUX_C32, "syslinux-common")):
        if not shutil.os.path.exists(path):
            pytest.fail("%s is missing: .ci/run installs Debian's %s package" % (path, package))
    xorriso = shutil.which("xorriso")
    if xorriso is None:
        pytest.fail("xorriso is missing: .ci/run installs Debian's xorriso package")
    tree = workdir / "iso"
    (tree / "isolinux").mkdir(parents=True)
    shutil.copyfile(ISOLINUX_BIN, tree / "isolinux" / "isolinux.bin")
    shutil.copyfile(LDLINUX_C32, tree / "isolinux" / "ldlinux.c32")
    (tree / "isolinux" / "isolinux.cfg").write_text(ISOLINUX_CFG)
    shutil.copyfile(img.kernel, tree / "bzImage")
    shutil.copyfile(img.initrd, tree / "initrd.img")
    (tree / "hello.txt").write_text(HELLO)
    iso = workdir / "boot.iso"
    subprocess.run([xorriso, "-as", "mkisofs", "-quiet", "-o", str(iso), "-b", "isolinux/isolinux.bin",
                    "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                    "-R", "-V", "PYEMU_TEST", str(tree)], check=True, capture_output=True)
    return iso
