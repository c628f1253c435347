"""The on-disk object cache: compiled blocks kept across runs.

A block's object code is a pure function of what went into its IR: the guest
bytes, the mode (hflags), the EIP and CS base (both baked into the code), the
tier, the translator itself (the sources in emu.NATIVE_CODE_SOURCES, the
numbers of the Python helpers, llvmlite/LLVM and the host).  The key hashes all of that, so a
changed translator never finds stale code: its entries live under another
fingerprint.  Objects name every outside symbol (dispatcher, slow paths,
helpers) by name, so they can be loaded by any process.

Layout: <cache_root()>/objects/<fingerprint>/<key[:2]>/<key>.o, each file

    MAGIC | u32 header length | u32 object length | sha256(header + object) | header | object

with the header a small JSON dict (what the translator needs besides the
code: instruction count, chain targets, symbol names).  A file that is
truncated, corrupt or of another format is ignored and removed; the next
store replaces it.  Stores write a temporary file in the same directory and
rename it into place, so concurrent processes only ever see whole entries.

PYEMU_CACHE=0 disables the cache; PYEMU_CACHE_DIR moves it (emu.cache_root, with
the numba cache), PYEMU_OBJCACHE_DIR moves the object cache alone;
PYEMU_CACHE_MAX caps its size in MB (default 1024): past that, the oldest
entries go.  `python -m emu.translator.objcache clear|info` manages it.
"""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import sys
import time

import llvmlite
import llvmlite.binding as llvm

import emu
from . import callbacks

MAGIC = b"PYEMUO1\n"
_HEAD = struct.Struct("<II32s")
DEFAULT_MAX_MB = 1024
PRUNE_EVERY = 64 << 20          # check the size cap after writing this many bytes


def enabled_by_env():
    return os.environ.get("PYEMU_CACHE", "1") not in ("0", "no", "off", "false")


def objects_root():
    """<cache_root()>/objects; PYEMU_OBJCACHE_DIR moves only the object cache (tests
    use it so that a fresh object cache does not also mean a fresh numba cache)."""
    own = os.environ.get("PYEMU_OBJCACHE_DIR")
    return pathlib.Path(own) if own else emu.cache_root() / "objects"


# The sources as this process imported them: hashed now, at import, not when the
# first key is made -- in a working tree being edited, a hash taken later would
# file code made from the old sources under the new sources' name.
_SOURCES_AT_IMPORT = emu._source_hash()
_fingerprint = None
_fingerprint_helpers = -1


def sources_unchanged():
    """False when pyemu's source files changed since this process imported them
    (its code is then not what the files say: the cache must not be used)."""
    return emu._source_hash() == _SOURCES_AT_IMPORT


def fingerprint():
    """What every key shares: pyemu's sources, the helper numbering, the toolchain, the host."""
    global _fingerprint, _fingerprint_helpers
    helpers = callbacks._helper_ids
    if _fingerprint is None or _fingerprint_helpers != len(helpers):
        h = hashlib.sha256()
        h.update(_SOURCES_AT_IMPORT.encode())
        # helper ids are baked into the code as constants: their numbering is part of the key
        h.update(json.dumps(callbacks.helper_numbering()).encode())
        h.update(llvmlite.__version__.encode())
        h.update(repr(llvm.llvm_version_info).encode())
        h.update(llvm.get_process_triple().encode())
        h.update(llvm.get_host_cpu_name().encode())
        _fingerprint = h.hexdigest()[:20]
        _fingerprint_helpers = len(helpers)
    return _fingerprint


class ObjectCache:
    def __init__(self, root=None, enabled=None, max_bytes=None):
        self.enabled = (enabled_by_env() and sources_unchanged()) if enabled is None else enabled
        self.root = pathlib.Path(root) if root is not None else objects_root()
        if max_bytes is None:
            try:
                max_bytes = int(float(os.environ.get("PYEMU_CACHE_MAX", DEFAULT_MAX_MB)) * (1 << 20))
            except ValueError:
                max_bytes = DEFAULT_MAX_MB << 20
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.bad = 0
        self._written = 0

    # --- keys --------------------------------------------------------------------------------
    @staticmethod
    def key(code, eip, cs_base, hflags, variant):
        """The key of a block: its guest bytes, where it runs, its mode, the tier (variant)."""
        h = hashlib.sha256()
        h.update(fingerprint().encode())
        h.update(struct.pack("<QQQ", eip & 0xFFFFFFFF, cs_base & 0xFFFFFFFF, hflags & 0xFFFFFFFF))
        h.update(variant.encode())
        h.update(b"\0")
        h.update(code)
        return h.hexdigest()[:40]

    def _path(self, key):
        return self.root / fingerprint() / key[:2] / (key + ".o")

    # --- reading --------------------------------------------------------------------------------
    def contains(self, key):
        return self.enabled and self._path(key).is_file()

    def get(self, key):
        """(object bytes, header dict) or None."""
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        entry = self._decode(data)
        if entry is None:
            self.bad += 1
            self.misses += 1
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self.hits += 1
        return entry

    @staticmethod
    def _decode(data):
        n = len(MAGIC) + _HEAD.size
        if len(data) < n or not data.startswith(MAGIC):
            return None
        hlen, olen, digest = _HEAD.unpack_from(data, len(MAGIC))
        if len(data) != n + hlen + olen:
            return None
        body = data[n:]
        if hashlib.sha256(body).digest() != digest:
            return None
        try:
            header = json.loads(body[:hlen].decode())
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(header, dict):
            return None
        return bytes(body[hlen:]), header

    # --- writing --------------------------------------------------------------------------------
    @staticmethod
    def encode(obj, header):
        hb = json.dumps(header, sort_keys=True).encode()
        body = hb + obj
        return MAGIC + _HEAD.pack(len(hb), len(obj), hashlib.sha256(body).digest()) + body

    def put(self, key, obj, header):
        if not self.enabled:
            return
        path = self._path(key)
        data = self.encode(obj, header)
        tmp = path.with_name("%s.%d.%d.tmp" % (path.name, os.getpid(), time.monotonic_ns()))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)       # atomic: readers see the old entry or the new one
        except OSError:
            # a full or read-only disk: run without storing
            try:
                tmp.unlink()
            except OSError:
                pass
            return
        self.stores += 1
        self._written += len(data)
        if self._written >= PRUNE_EVERY:
            self._written = 0
            self.prune()

    # --- size ------------------------------------------------------------------------------------
    def entries(self):
        """[(mtime, bytes on disk, path)] of every entry under the root (all fingerprints)."""
        out = []
        if not self.root.is_dir():
            return out
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                # what the entry takes on disk: most are smaller than a block
                used = getattr(st, "st_blocks", 0) * 512 or st.st_size
                out.append((st.st_mtime, used, p))
        return out

    def prune(self, max_bytes=None):
        """Remove the oldest entries until the cache fits its cap; returns bytes removed."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        ents = self.entries()
        total = sum(s for _, s, _ in ents)
        removed = 0
        if total <= cap:
            return 0
        for _, size, p in sorted(ents):
            if total - removed <= cap * 0.8:
                break
            try:
                os.unlink(p)
                removed += size
            except OSError:
                pass
        return removed

    def clear(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def stats(self):
        return {"hits": self.hits, "misses": self.misses, "stores": self.stores, "bad": self.bad}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    cmd = argv[0] if argv else "info"
    cache = ObjectCache(enabled=True)
    if cmd == "clear":
        cache.clear()
        print("pyemu: object cache %s cleared" % cache.root)
        return 0
    if cmd == "info":
        ents = cache.entries()
        print("pyemu object cache: %s\n  %d entries, %.1f MB (cap %.0f MB), this build's fingerprint %s%s" % (
            cache.root, len(ents), sum(s for _, s, _ in ents) / 1e6, cache.max_bytes / 1e6, fingerprint(),
            "" if enabled_by_env() else "\n  disabled by PYEMU_CACHE=0"))
        return 0
    sys.stderr.write("usage: python -m emu.translator.objcache [info|clear]\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
