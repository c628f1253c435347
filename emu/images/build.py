"""Resolving a recipe and building an image into the cache."""
import dataclasses
import datetime
import os
import shutil
import subprocess
from pathlib import Path

from . import apt, debian, debpkg, disk, initramfs, modules, recipe, tiny
from .cache import Cache, tree_size, write_manifest
from .errors import ImageError, StaleLists
from .progress import Reporter

IMAGES = ("tiny", "debian", "tiny-disk", "debian-disk")
DISKS = {"tiny-disk": "tiny", "debian-disk": "debian"}   # a bootable disk -> the image whose kernel it boots
CMDLINE_HINT = "console=ttyS0 panic=-1"
# The prompt that profile sets (PS1='[pyemu \w]# '): "[pyemu ~]# ", "[pyemu /proc]# ".
PROMPT_RE = r"\[pyemu [^\]\r\n]*\]# "
BUSYBOX = "busybox-static"


@dataclasses.dataclass(frozen=True)
class Image:
    """A built guest: boot it with `pyemu -kernel K -initrd I -append CMDLINE`."""
    name: str
    kernel: Path
    initrd: Path = None             # None for a disk image (its root is on the disk)
    disk: Path = None               # a bootable raw disk (pyemu -hda disk.img)
    cmdline_hint: str = CMDLINE_HINT
    prompt_re: str = PROMPT_RE
    directory: Path = None
    versions: dict = dataclasses.field(default_factory=dict)
    digest: str = ""


@dataclasses.dataclass
class Plan:
    name: str
    recipe: dict
    packages: dict          # Debian package -> its apt-cache show record

    @property
    def digest(self):
        return recipe.digest(self.recipe)

    @property
    def local_digest(self):
        return recipe.digest(recipe.local_part(self.recipe))


def check_name(name):
    if name not in IMAGES:
        raise ImageError("unknown image '%s' (known: %s)" % (name, ", ".join(IMAGES)))


def is_bzimage(path):
    """The Linux boot protocol's marks: 0xAA55 at 0x1FE and "HdrS" at 0x202."""
    with open(path, "rb") as f:
        head = f.read(0x206)
    return len(head) == 0x206 and head[0x1FE:0x200] == b"\x55\xAA" and head[0x202:0x206] == b"HdrS"


def image_from_manifest(manifest, directory):
    return Image(name=manifest["name"], kernel=directory / manifest["kernel"],
                 initrd=directory / manifest["initrd"] if manifest.get("initrd") else None,
                 disk=directory / manifest["disk"] if manifest.get("disk") else None,
                 cmdline_hint=manifest.get("cmdline_hint", CMDLINE_HINT),
                 prompt_re=manifest.get("prompt_re", PROMPT_RE), directory=directory,
                 versions=dict(manifest.get("packages", {})), digest=manifest["digest"])


class Builder:
    def __init__(self, cache=None, reporter=None, jobs=None):
        self.cache = cache or Cache()
        self.reporter = reporter or Reporter()
        self.jobs = jobs or len(os.sched_getaffinity(0))
        self.i386 = apt.I386Apt(self.cache.apt_state, self.reporter)

    # -- recipes ------------------------------------------------------------------------------
    def plan(self, name, network=True, refresh=False):
        """The current recipe of image `name` (package versions from the i386 lists)."""
        check_name(name)
        if name in DISKS:
            return self._disk_plan(name, network, refresh)
        self.i386.ensure_lists(refresh=refresh, allow_network=network)
        if name == "tiny":
            busybox, source = self.i386.show(BUSYBOX, tiny.SOURCE_PACKAGE)
        else:
            package = debian.current_package(self.i386)
            busybox, kernel = self.i386.show(BUSYBOX, package)
        initrd = recipe.initramfs_recipe(busybox["Version"], initramfs.init_text(),
                                         initramfs.profile_text())
        if name == "tiny":
            return Plan(name, recipe.tiny_recipe(source["Version"], tiny.fragment_text(), initrd),
                        {BUSYBOX: busybox, tiny.SOURCE_PACKAGE: source})
        return Plan(name, recipe.debian_recipe(package, kernel["Version"], initrd),
                    {BUSYBOX: busybox, package: kernel})

    def _disk_plan(self, name, network, refresh):
        kernel_plan = self.plan(DISKS[name], network=network, refresh=refresh)
        busybox = kernel_plan.packages[BUSYBOX]
        # SYSLINUX is the host's Debian package (a build tool, as gcc is for the kernel):
        # its version is in the manifest, not the recipe
        r = recipe.disk_recipe(name, kernel_plan.recipe, busybox["Version"], disk.init_text(),
                               initramfs.profile_text(), _disk_layout(name))
        return Plan(name, r, dict(kernel_plan.packages))

    def local_digest(self, name):
        """The recipe digest without package versions (needs no apt)."""
        check_name(name)
        if name in DISKS:
            initrd = recipe.initramfs_recipe(None, initramfs.init_text(), initramfs.profile_text())
            kernel = recipe.tiny_recipe(None, tiny.fragment_text(), initrd)
            if name == "debian-disk":
                kernel = recipe.debian_recipe(None, None, initrd)
            r = recipe.disk_recipe(name, kernel, None, disk.init_text(), initramfs.profile_text(),
                                   _disk_layout(name))
            return recipe.digest(recipe.local_part(r))
        initrd = recipe.initramfs_recipe(None, initramfs.init_text(), initramfs.profile_text())
        if name == "tiny":
            r = recipe.tiny_recipe(None, tiny.fragment_text(), initrd)
        else:
            r = recipe.debian_recipe(None, None, initrd)
        return recipe.digest(recipe.local_part(r))

    # -- lookup -------------------------------------------------------------------------------
    def find(self, name):
        """The built image of the current recipe, or None; never builds, never uses the network.
        Where apt cannot tell the current versions (no apt, no lists yet), the newest
        image built from the same local inputs (fragment, /init, recipe) is taken."""
        check_name(name)
        try:
            plan = self.plan(name, network=False)
        except ImageError:
            return self._same_local_inputs(name)
        return self._built(plan)

    def _built(self, plan):
        manifest = self.cache.manifest(plan.name, plan.digest)
        if manifest is None:
            return None
        return image_from_manifest(manifest, self.cache.entry_dir(plan.name, plan.digest))

    def _same_local_inputs(self, name):
        local = self.local_digest(name)
        for manifest in self.cache.entries(name):
            if manifest.get("local_digest") == local:
                return image_from_manifest(manifest, manifest["dir"])
        return None

    def ensure(self, name, refresh=False):
        """The image `name`, built first if the cache does not have the current recipe."""
        check_name(name)
        if not refresh:
            image = self.find(name)
            if image is not None:
                return image
        apt.require_apt()
        self.reporter.open_log(self.cache.logs / ("%s.log" % name))
        try:
            self.cache.prepare()
            with self.cache.lock(self.reporter):
                try:
                    return self._ensure_locked(name, refresh)
                except StaleLists:
                    if self.i386.refreshed:
                        raise
                    # A package superseded by a point release is gone from the servers
                    # while old lists still name it: fresh lists give its successor.
                    self.reporter.warn("retrying with fresh package lists")
                    return self._ensure_locked(name, True)
        finally:
            self.reporter.close_log()

    def _ensure_locked(self, name, refresh):
        plan = self.plan(name, refresh=refresh)
        image = self._built(plan)       # perhaps built by another process while we waited
        return image if image is not None else self._build(plan)

    # -- building -----------------------------------------------------------------------------
    def _download(self, plan):
        return {pkg: self.i386.download(pkg, record, self.cache.downloads)
                for pkg, record in plan.packages.items()}

    def _initrd(self, busybox_deb, version, dest):
        self.reporter.step("writing the initramfs (busybox-static %s)" % version)
        tmp = dest / ".busybox"
        debpkg.extract(busybox_deb, {"bin/busybox": tmp.name}, dest)
        data = initramfs.build(tmp.read_bytes())
        tmp.unlink()
        (dest / "initrd.img").write_bytes(data)
        return "initrd.img"

    def _build_disk(self, plan):
        r = self.reporter
        kernel_image = self._ensure_locked(DISKS[plan.name], False)
        r.step("building image '%s' (recipe %s, log %s)" % (plan.name, plan.digest, r.log_path))
        apt.require_host_packages(disk.HOST_PACKAGES, r)
        busybox_deb = self.i386.download(BUSYBOX, plan.packages[BUSYBOX], self.cache.downloads)
        versions = {BUSYBOX: plan.packages[BUSYBOX]["Version"], "syslinux": _host_version("syslinux")}
        manifest = {"name": plan.name, "digest": plan.digest, "local_digest": plan.local_digest,
                    "recipe": plan.recipe, "packages": versions, "prompt_re": PROMPT_RE,
                    "cmdline_hint": disk.KERNEL_ARGS, "kernel": "bzImage", "disk": "disk.img",
                    "kernel_image": str(kernel_image.directory)}
        with self.cache.staging(plan.name, plan.digest) as stage:
            work = stage / ".work"
            work.mkdir()
            debpkg.extract(busybox_deb, {"bin/busybox": "busybox"}, work)
            busybox = (work / "busybox").read_bytes()
            shutil.copyfile(kernel_image.kernel, stage / "bzImage")
            initrd, boot_mb = None, 8
            if plan.name == "debian-disk":
                package = plan.recipe["kernel"]["kernel-package"]
                kernel_deb = self.i386.download(package, plan.packages[package], self.cache.downloads)
                r.step("the initramfs: %s's disk and ext4 modules" % package)
                mods = modules.resolve(kernel_deb, debian.kernel_release(package), work)
                initrd, boot_mb = modules.initramfs(busybox, mods), 16
                (stage / "initrd.img").write_bytes(initrd)
                manifest["initrd"] = "initrd.img"
                manifest["cmdline_hint"] = disk.DEBIAN_KERNEL_ARGS
            disk.build(stage / "disk.img", stage / "bzImage", busybox, initramfs.profile_text(), r, work,
                       initrd=initrd, boot_mb=boot_mb,
                       args=disk.DEBIAN_KERNEL_ARGS if plan.name == "debian-disk" else disk.KERNEL_ARGS)
            shutil.rmtree(work)
            manifest["built"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            write_manifest(stage, manifest)
        directory = self.cache.entry_dir(plan.name, plan.digest)
        r.step("image '%s' ready: %s" % (plan.name, directory / "disk.img"))
        return image_from_manifest(manifest, directory)

    def _build(self, plan):
        if plan.name in DISKS:
            return self._build_disk(plan)
        r = self.reporter
        r.step("building image '%s' (recipe %s, log %s)" % (plan.name, plan.digest, r.log_path))
        if plan.name == "tiny":
            apt.require_host_packages(tiny.HOST_PACKAGES, r)
        debs = self._download(plan)
        versions = {pkg: rec["Version"] for pkg, rec in plan.packages.items()}
        manifest = {"name": plan.name, "digest": plan.digest, "local_digest": plan.local_digest,
                    "recipe": plan.recipe, "packages": versions, "cmdline_hint": CMDLINE_HINT,
                    "prompt_re": PROMPT_RE}
        with self.cache.staging(plan.name, plan.digest) as stage:
            manifest["initrd"] = self._initrd(debs[BUSYBOX], versions[BUSYBOX], stage)
            if plan.name == "tiny":
                version = versions[tiny.SOURCE_PACKAGE]
                src = tiny.unpack_source(debs[tiny.SOURCE_PACKAGE], version, self.cache.src, r)
                out = self.cache.build / ("tiny-%s" % version.replace(":", "%3a"))
                image, config = tiny.build(src, out, self.jobs, r)
                shutil.copyfile(image, stage / "bzImage")
                (stage / "config").write_text(config)
                manifest.update(kernel="bzImage", config="config", gcc=_gcc_version())
            else:
                package = plan.recipe["kernel-package"]
                kernel, config = debian.extract(debs[package], package, stage, r)
                manifest.update(kernel=kernel, config=config)
            if not is_bzimage(stage / manifest["kernel"]):
                raise ImageError("%s is not a bzImage" % manifest["kernel"], log=r.log_path)
            manifest["built"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds")
            write_manifest(stage, manifest)
        directory = self.cache.entry_dir(plan.name, plan.digest)
        r.step("image '%s' ready: %s (%.1f MB)" % (plan.name, directory, tree_size(directory) / 1e6))
        return image_from_manifest(manifest, directory)


def _disk_layout(name):
    """What of a disk image's make-up the recipe must show: its boot configuration,
    and for debian-disk the initramfs's /init and modules."""
    if name == "debian-disk":
        return {"syslinux": disk.syslinux_cfg(disk.DEBIAN_KERNEL_ARGS, initrd=True), "boot_mb": 16,
                "init": modules.INIT,
                "modules": list(modules.WANTED)}
    return disk.syslinux_cfg()


def _host_version(package):
    """The version of a Debian package installed on the host ("" if none)."""
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def _gcc_version():
    try:
        return subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True,
                              ).stdout.strip()
    except OSError:
        return ""
