"""pyemu-images: build, find, list and remove pyemu's guest images."""
import argparse
import os
import shutil
import sys

from .build import IMAGES, Builder
from .cache import Cache, tree_size
from .errors import ImageError
from .progress import Reporter

PROG = "pyemu-images"

DESCRIPTION = """\
Build the Linux guests that pyemu boots, from Debian packages, into a cache.

images:
  tiny     Debian's linux-source-6.1 compiled with tinyconfig and pyemu's config
           fragment (serial console, initramfs, PCI, ATA, ext2): boots in a second
  debian   Debian's stock linux-image-6.1.0-NN-686-unsigned kernel (current ABI NN)
  tiny-disk  a bootable 64 MB raw disk: SYSLINUX and the tiny kernel on a FAT partition
           (sda2, active), busybox on an ext2 root (sda1); `pyemu -hda DISK` boots it
  debian-disk  the same with Debian's kernel and an initramfs that loads its disk drivers
  all      all four
Each comes with a busybox initramfs whose /init prints "BOOT-OK: ..." and starts a
shell on the serial console, prompt "[pyemu <cwd>]# "; `reboot -f` ends pyemu -no-reboot.
"""

EPILOG = """\
examples:
  pyemu-images build tiny
  pyemu -kernel "$(pyemu-images path tiny --kernel)" \\
        -initrd "$(pyemu-images path tiny --initrd)" \\
        -append "$(pyemu-images path tiny --cmdline)" -nographic -no-reboot
  pyemu-images build tiny-disk
  pyemu -hda "$(pyemu-images path tiny-disk --disk)" -nographic

The cache is $PYEMU_IMAGE_DIR, else ~/.cache/pyemu/images (after $XDG_CACHE_HOME).
Downloads come from the machine's Debian/Ubuntu apt sources (i386 lists are kept in
the cache; the machine's apt configuration is not changed). The tiny kernel needs
make, gcc, flex, bison, bc, libelf-dev, libssl-dev: missing ones are installed with
apt-get when running as root (or through sudo).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, like every other failure of this command.
        sys.stderr.write("%s: error: %s (see %s --help)\n" % (PROG, message, PROG))
        sys.exit(2)


def _image_name(text, allow_all):
    names = IMAGES + (("all",) if allow_all else ())
    if text not in names:
        raise argparse.ArgumentTypeError("unknown image '%s' (choose from %s)"
                                         % (text, ", ".join(names)))
    return text


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("--jobs needs a whole number of at least 1, not '%s'" % text)
    return value


def make_parser():
    p = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    sub = p.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                           parser_class=_Parser)
    sub.required = True

    b = sub.add_parser("build", help="build an image (or reuse the cached one)",
                       description="Build an image unless the cache has its current recipe.")
    b.add_argument("name", metavar="NAME", type=lambda t: _image_name(t, True),
                   help="tiny, debian, tiny-disk, debian-disk or all")
    b.add_argument("--refresh", action="store_true",
                   help="fetch fresh package lists first (new Debian point releases)")
    b.add_argument("-j", "--jobs", type=_positive, default=None,
                   help="parallel compile jobs for the tiny kernel (default: all cores)")
    b.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="print only warnings and errors")

    pa = sub.add_parser("path", help="print the kernel and initrd paths of a built image",
                        description="Print the kernel path and the initrd path (one per line) "
                                    "of a built image, or one of them.")
    pa.add_argument("name", metavar="NAME", type=lambda t: _image_name(t, False),
                    help="tiny, debian, tiny-disk or debian-disk")
    which = pa.add_mutually_exclusive_group()
    which.add_argument("--kernel", action="store_const", const="kernel", dest="which",
                       help="only the kernel")
    which.add_argument("--initrd", action="store_const", const="initrd", dest="which",
                       help="only the initrd")
    which.add_argument("--cmdline", action="store_const", const="cmdline", dest="which",
                       help="only the suggested kernel command line")
    which.add_argument("--disk", action="store_const", const="disk", dest="which",
                       help="only the disk image (tiny-disk, debian-disk)")
    pa.add_argument("--build", action="store_true", help="build the image first if it is missing")

    sub.add_parser("list", help="show the images, downloads and build trees in the cache",
                   description="Show what the cache holds, with sizes and package versions.")

    c = sub.add_parser("clean", help="remove built images and build trees",
                       description="Remove the built images, unpacked sources, build trees "
                                   "and logs; downloaded packages stay, so a rebuild needs "
                                   "no network.")
    which = c.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true",
                       help="remove the whole cache directory, downloads included")
    which.add_argument("--old", action="store_true",
                       help="remove only the images that are not the current recipe's")
    return p


def _mb(n):
    return "%.1f MB" % (n / 1e6)


def cmd_build(args, reporter):
    builder = Builder(reporter=reporter, jobs=args.jobs)
    for name in (IMAGES if args.name == "all" else (args.name,)):
        image = builder.ensure(name, refresh=args.refresh)
        if image.disk is not None:
            reporter.step("%s: disk %s, kernel %s" % (name, image.disk, image.kernel))
        else:
            reporter.step("%s: kernel %s, initrd %s" % (name, image.kernel, image.initrd))
    return 0


def cmd_path(args, reporter):
    builder = Builder(reporter=reporter)
    image = builder.ensure(args.name) if args.build else builder.find(args.name)
    if image is None:
        raise ImageError("image '%s' is not built: run `%s build %s` (or add --build)"
                         % (args.name, PROG, args.name))
    if args.which == "cmdline":
        print(image.cmdline_hint)
    elif args.which:
        value = getattr(image, args.which)
        if value is None:
            raise ImageError("image '%s' has no %s" % (args.name, args.which))
        print(value)
    else:
        print(image.kernel)
        print(image.disk if image.disk is not None else image.initrd)
    return 0


def _current_digests(cache):
    """{image name: digest of its current recipe's build}, for the images that are built."""
    builder = Builder(cache=cache, reporter=Reporter(quiet=True))
    current = {}
    for name in IMAGES:
        image = builder.find(name)
        if image is not None:
            current[name] = image.digest
    return current


def cmd_list(args, reporter):
    cache = Cache()
    print("image cache: %s" % cache.root)
    entries = cache.entries()
    current = _current_digests(cache)
    if not entries:
        print("no images built (run `%s build tiny`)" % PROG)
    for m in entries:
        state = "current" if current.get(m["name"]) == m["digest"] else "old"
        versions = ", ".join("%s %s" % kv for kv in sorted(m.get("packages", {}).items()))
        print("%-7s %s  %-7s %9s  built %s" % (m["name"], m["digest"], state,
                                               _mb(tree_size(m["dir"])), m.get("built", "?")))
        print("        %s" % versions)
        print("        %s" % m["dir"])
    for label, path in (("downloads", cache.downloads), ("sources", cache.src),
                        ("build trees", cache.build)):
        if path.is_dir() and any(path.iterdir()):
            print("%-12s %9s  %s" % (label, _mb(tree_size(path)), path))
    return 0


def cmd_clean(args, reporter):
    cache = Cache()
    if not cache.root.exists():
        reporter.step("nothing to clean in %s" % cache.root)
        return 0
    with cache.lock(reporter):
        if args.all:
            for p in list(cache.root.iterdir()):
                if p.name != ".lock":
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            reporter.step("removed everything in %s" % cache.root)
            return 0
        if args.old:
            current = _current_digests(cache)
            old = [m for m in cache.entries() if current.get(m["name"]) != m["digest"]]
            freed = sum(tree_size(m["dir"]) for m in old)
            for m in old:
                shutil.rmtree(m["dir"])
            reporter.step("removed %d old image(s) in %s (%s)" % (len(old), cache.root, _mb(freed)))
            return 0
        freed = 0
        targets = [m["dir"] for m in cache.entries()] + [cache.src, cache.build, cache.logs]
        for p in targets:
            if p.exists():
                freed += tree_size(p)
                shutil.rmtree(p)
        reporter.step("removed images and build trees in %s (%s); downloads kept"
                      % (cache.root, _mb(freed)))
    return 0


COMMANDS = {"build": cmd_build, "path": cmd_path, "list": cmd_list, "clean": cmd_clean}


def main(argv=None):
    args = make_parser().parse_args(argv)
    reporter = Reporter(quiet=args.quiet)
    try:
        return COMMANDS[args.command](args, reporter)
    except ImageError as e:
        reporter.close_log()
        if e.details:
            print("%s: last lines of the log:" % PROG, file=sys.stderr)
            for line in e.details:
                print("    " + line, file=sys.stderr)
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 1
    except BrokenPipeError:         # `pyemu-images list | head`
        sys.stdout = open(os.devnull, "w")
        return 1
    except KeyboardInterrupt:
        print("%s: interrupted" % PROG, file=sys.stderr)
        return 130
