"""Guest images for pyemu: Linux kernels and a busybox initramfs made from Debian packages.

    pyemu-images build tiny            # or: python -m emu.images build tiny
    pyemu -kernel "$(pyemu-images path tiny --kernel)" \\
          -initrd "$(pyemu-images path tiny --initrd)" -append "console=ttyS0 panic=-1" \\
          -nographic -no-reboot

From Python (tests, the guest-session API):

    from emu import images
    img = images.ensure("tiny")        # builds on first use, then comes from the cache
    img.kernel, img.initrd, img.cmdline_hint, img.prompt_re

Images:
  tiny     Debian's linux-source-6.1 built with tinyconfig + tiny-i386.config-fragment
           (serial console, initramfs, PCI, ATA PIIX, ext2 ...): boots in about a second.
  debian   the stock linux-image-6.1.0-NN-686-unsigned kernel (NN: the current ABI).
Both come with the same initramfs (initramfs.py): busybox and /init (init.sh), which
mounts proc, sysfs and devtmpfs, prints "BOOT-OK: <uname -srm>" and starts a login
shell on the console with job control; given root=/dev/XXX (an ext2 disk with
/sbin/init, such as tiny-disk's first partition) it switches to that disk instead.  The shell's prompt is "[pyemu <cwd>]# "
(PROMPT_RE matches it); `reboot -f` resets the machine, so `pyemu -no-reboot` exits;
leaving the shell does the same.  On the tiny kernel `poweroff -f` only halts (it
has no ACPI).  busybox's line editor asks the terminal for the cursor position
(ESC [6n) before reading each command; after `stty -echo` it reads plain lines,
without echo or that query.

The cache is described in cache.py, recipes (what makes a new cache entry) in recipe.py.
"""
from .build import CMDLINE_HINT, IMAGES, PROMPT_RE, Builder, Image
from .errors import ImageError
from .progress import Reporter

__all__ = ["CMDLINE_HINT", "IMAGES", "PROMPT_RE", "Image", "ImageError", "ensure", "find"]


def ensure(name, quiet=False, refresh=False):
    """The Image `name` ("tiny", "debian" or "tiny-disk"), built first when the cache lacks it.
    Progress goes to stderr unless quiet; failures raise ImageError."""
    return Builder(reporter=Reporter(quiet=quiet)).ensure(name, refresh=refresh)


def find(name):
    """The built Image `name`, or None; builds nothing and uses no network."""
    return Builder(reporter=Reporter(quiet=True)).find(name)
