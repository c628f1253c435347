"""The image cache: where built images, downloads and build trees live.

    $PYEMU_IMAGE_DIR, else <pyemu cache>/images (~/.cache/pyemu/images, following
    $XDG_CACHE_HOME and $PYEMU_CACHE_DIR as the rest of pyemu does):
      tiny-<digest>/      a finished image: kernel, initrd.img, manifest.json
      debian-<digest>/
      tiny-disk-<digest>/ a bootable disk: disk.img, the kernel, manifest.json
      downloads/          the .deb files, kept so that a rebuild downloads nothing
      src/                unpacked kernel sources
      build/              kernel object trees (an edited fragment rebuilds incrementally)
      logs/               one build log per image recipe
      apt-i386/           the i386 package lists

An image directory appears only by renaming a finished staging directory, and
manifest.json is written last inside it, so a half-built image never looks
complete.  Builds hold an exclusive lock on .lock, so two processes (pytest
workers, say) never build the same thing at once; readers need no lock.
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

from .. import cache_root
from .errors import ImageError

MANIFEST = "manifest.json"
_ENTRY = re.compile(r"^([a-z0-9-]+)-([0-9a-f]{16})$")
_lock_depth = {}            # root -> how many times this process holds its lock


def image_root():
    override = os.environ.get("PYEMU_IMAGE_DIR")
    if override:
        return os.path.abspath(os.path.expanduser(override))
    return str(cache_root() / "images")


class Cache:
    def __init__(self, root=None):
        self.root = Path(os.path.abspath(root if root is not None else image_root()))
        self.downloads = self.root / "downloads"
        self.src = self.root / "src"
        self.build = self.root / "build"
        self.logs = self.root / "logs"
        self.apt_state = self.root / "apt-i386"

    def _unusable(self, e):
        return ImageError("cannot use the image cache directory %s: %s (set PYEMU_IMAGE_DIR to a "
                          "writable directory)" % (self.root, e.strerror or e))

    def prepare(self):
        """Create the cache's directories (an unusable place is an ImageError)."""
        try:
            for d in (self.root, self.downloads, self.src, self.build, self.logs, self.apt_state):
                d.mkdir(parents=True, exist_ok=True)
            probe = self.root / (".probe-%d" % os.getpid())
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise self._unusable(e) from None

    # -- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, reporter=None):
        """Exclusive across processes; re-entrant within one."""
        key = str(self.root)
        if _lock_depth.get(key):
            _lock_depth[key] += 1
            try:
                yield
            finally:
                _lock_depth[key] -= 1
            return
        self.prepare()
        try:
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise self._unusable(e) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if reporter:
                    reporter.step("waiting for another pyemu-images process (lock %s)"
                                  % (self.root / ".lock"))
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.write(fd, b"%d\n" % os.getpid())
            _lock_depth[key] = 1
            self._remove_stale()
            try:
                yield
            finally:
                _lock_depth[key] = 0
        finally:
            os.close(fd)            # closing the descriptor releases the lock

    def _remove_stale(self):
        """Leftovers of builds that died (only called with the lock held, so no live
        build owns them)."""
        for d in (self.root, self.downloads, self.src):
            for p in d.iterdir():
                if p.name.startswith((".tmp-", ".partial-")):
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()

    # -- entries ------------------------------------------------------------------------------
    def entry_dir(self, name, digest):
        return self.root / ("%s-%s" % (name, digest))

    def manifest(self, name, digest):
        """The manifest of a finished image, or None."""
        return _read_manifest(self.entry_dir(name, digest))

    def entries(self, name=None):
        """Manifests of all finished images (newest first), each with "dir" added."""
        found = []
        if not self.root.is_dir():
            return found
        for p in self.root.iterdir():
            m = _ENTRY.match(p.name)
            if m and (name is None or m.group(1) == name):
                manifest = _read_manifest(p)
                if manifest is not None:
                    manifest["dir"] = p
                    found.append(manifest)
        found.sort(key=lambda m: m.get("built", ""), reverse=True)
        return found

    @contextlib.contextmanager
    def staging(self, name, digest):
        """A directory to build an image in; it becomes the image when the block ends
        without an exception (the caller writes the manifest with write_manifest)."""
        final = self.entry_dir(name, digest)
        tmp = self.root / (".tmp-%s-%s-%d" % (name, digest, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            yield tmp
            if not (tmp / MANIFEST).exists():
                raise RuntimeError("staging %s ended without a manifest" % tmp)
            if final.exists():
                shutil.rmtree(final)        # an incomplete leftover: no manifest, or replaced
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(directory, manifest):
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / MANIFEST)


def _read_manifest(directory):
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def tree_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total
