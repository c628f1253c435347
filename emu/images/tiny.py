"""The tiny i386 kernel: Debian's linux-source-6.1, tinyconfig plus our fragment.

    make ARCH=i386 tinyconfig
    scripts/kconfig/merge_config.sh -m .config tiny-i386.config-fragment
    make ARCH=i386 olddefconfig
    (check that every option of the fragment survived olddefconfig)
    make ARCH=i386 -j$(nproc) bzImage

The build is out of tree (make O=...), one object tree per source version, so
that an edited fragment recompiles only what it changes.
"""
import os
import re
import shutil

from . import debpkg
from .errors import ImageError

FRAGMENT = os.path.join(os.path.dirname(__file__), "tiny-i386.config-fragment")
SOURCE_PACKAGE = "linux-source-6.1"
SOURCE_TARBALL = "usr/src/linux-source-6.1.tar.xz"
HOST_PACKAGES = ("make", "gcc", "libc6-dev", "flex", "bison", "bc", "libelf-dev", "libssl-dev",
                 "xz-utils")
# The kernel's version string names no build machine, so builds on two hosts agree.
BUILD_ENV = {"KBUILD_BUILD_USER": "pyemu", "KBUILD_BUILD_HOST": "pyemu-images"}

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")
_MAKE_STEP = re.compile(r"^\s+([A-Z][A-Z0-9_]*)\s+(\S+)")


def fragment_text():
    with open(FRAGMENT) as f:
        return f.read()


def parse_config(text):
    """{option: value} of a .config or fragment; "# CONFIG_X is not set" reads as "n"."""
    options = {}
    for line in text.splitlines():
        line = line.strip()
        m = _SET.match(line)
        if m:
            options[m.group(1)] = m.group(2)
            continue
        m = _UNSET.match(line)
        if m:
            options[m.group(1)] = "n"
    return options


def unmet_options(fragment, config):
    """The fragment's options that the final .config does not have as asked:
    [(option, wanted, got)], got being "n" for absent or unset."""
    want, have = parse_config(fragment), parse_config(config)
    return [(opt, value, have.get(opt, "n")) for opt, value in want.items()
            if have.get(opt, "n") != value]


def unpack_source(deb, version, src_root, reporter):
    """The source tree of `deb`, unpacked once under src_root (kept for rebuilds)."""
    final = src_root / ("linux-source-6.1_%s" % version.replace(":", "%3a"))
    if (final / "Makefile").exists():
        return final
    tmp = src_root / (".tmp-source-%d" % os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        reporter.step("unpacking %s %s" % (SOURCE_PACKAGE, version))
        tarball = debpkg.extract(deb, {SOURCE_TARBALL: "linux-source.tar.xz"}, tmp)[SOURCE_TARBALL]

        def on_line(line):
            m = re.search(r"checkpoint (\d+)", line)
            if m:       # a checkpoint every 1000 records of 10 KiB
                return "%d MB" % (int(m.group(1)) * 10240 // 1000000)

        reporter.run(["tar", "-xf", tarball, "-C", tmp, "--checkpoint=1000"], "unpacking the source",
                     on_line=on_line)
        tarball.unlink()
        tops = [p for p in tmp.iterdir() if p.is_dir()]
        if len(tops) != 1 or not (tops[0] / "Makefile").exists():
            raise ImageError("%s: unexpected layout of %s" % (deb.name, SOURCE_TARBALL))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tops[0], final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def build(src, out, jobs, reporter):
    """Configure and compile in object tree `out`; returns (bzImage path, .config text)."""
    out.mkdir(parents=True, exist_ok=True)
    make = ["make", "-C", src, "O=%s" % out, "ARCH=i386"]
    reporter.step("configuring (tinyconfig + %s)" % os.path.basename(FRAGMENT))
    reporter.run(make + ["tinyconfig"], "make tinyconfig", env=BUILD_ENV)
    reporter.run([src / "scripts" / "kconfig" / "merge_config.sh", "-m", "-O", out, out / ".config",
                  FRAGMENT], "merging the config fragment", cwd=src, env=BUILD_ENV)
    reporter.run(make + ["olddefconfig"], "make olddefconfig", env=BUILD_ENV)
    config = (out / ".config").read_text()
    unmet = unmet_options(fragment_text(), config)
    if unmet:
        raise ImageError("after olddefconfig the kernel config lacks options of %s: %s (their "
                         "dependencies are not met; fix the fragment)" % (
                             FRAGMENT, ", ".join("%s=%s (got %s)" % u for u in unmet)),
                         log=reporter.log_path)
    reporter.step("compiling the kernel (make -j%d bzImage)" % jobs)
    count = [0]

    def on_line(line):
        m = _MAKE_STEP.match(line)
        if m:
            count[0] += 1
            return "%d steps, %s %s" % (count[0], m.group(1), m.group(2))

    reporter.run(make + ["-j%d" % jobs, "bzImage"], "make bzImage", env=BUILD_ENV, on_line=on_line)
    image = out / "arch" / "x86" / "boot" / "bzImage"
    if not image.exists():
        raise ImageError("make bzImage succeeded but left no %s" % image, log=reporter.log_path)
    return image, config
