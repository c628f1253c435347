"""The stock Debian 686 kernel: boot/vmlinuz-* out of linux-image-6.1.0-NN-686-unsigned.

The ABI number NN moves with Debian's point releases, so it is looked up
(apt-cache search) rather than written here; the chosen package and version
go into the recipe and the manifest.
"""
from . import apt, debpkg
from .errors import ImageError

PACKAGE_REGEX = r"^linux-image-6\.1\.0-[0-9]+-686-unsigned$"


def current_package(i386):
    """The newest linux-image-6.1.0-NN-686-unsigned in the lists."""
    names = i386.search_names(PACKAGE_REGEX)
    package = apt.newest_abi_package(names)
    if package is None:
        raise ImageError("no linux-image-6.1.0-NN-686-unsigned package in the i386 package lists "
                         "(is this Debian 12 'bookworm'? try again with --refresh)")
    return package


def kernel_release(package):
    """linux-image-6.1.0-50-686-unsigned -> 6.1.0-50-686, the name in boot/vmlinuz-*."""
    return package[len("linux-image-"):-len("-unsigned")]


def extract(deb, package, dest, reporter):
    """Copy boot/vmlinuz-* and boot/config-* of the package into dest; returns their names."""
    release = kernel_release(package)
    files = {"boot/vmlinuz-%s" % release: "vmlinuz-%s" % release,
             "boot/config-%s" % release: "config-%s" % release}
    reporter.step("extracting vmlinuz-%s from %s" % (release, deb.name))
    debpkg.extract(deb, files, dest)
    return files["boot/vmlinuz-%s" % release], files["boot/config-%s" % release]
