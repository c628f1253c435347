"""Booted guests kept as snapshots: boot a configuration once, start every later
session from where that boot stood (a shell waiting at its prompt).

    from emu.booted import booted_snapshot, start_booted

    s = start_booted(kernel="bzImage", initrd="initrd.gz", append="console=ttyS0")
    print(s.run("uname -a"))            # answered by a guest restored from the cache

The snapshot of a configuration lives in the cache (`$PYEMU_CACHE_DIR/snapshots`),
under a key made of everything that decides what the booted machine is: the
kernel's and the initrd's contents, the command line, the memory size, the
other pyemu options, what the boot waits for, and pyemu itself (its version and
source).  Concurrent processes (pytest-xdist workers, matrix workers) that want
the same configuration boot it once: the first takes a lock while it boots, the
others wait for its file.  The `booted_guest` pytest fixture (emu/testing.py)
is built on this.
"""
import fcntl
import hashlib
import json
import pathlib
import sys

from . import __version__, cache_root
from .session import GuestSession
from .snapshot import SnapshotError, read_snapshot

READY = r"[#$] "               # a shell prompt (what the boot waits for by default)


def _emu_source_hash():
    h = hashlib.sha256(__version__.encode())
    root = pathlib.Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _file_hash(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def snapshot_key(kernel, initrd=None, append=None, extra_args=(), memory=None, ready=READY):
    """The cache key of a booted configuration (a hex string)."""
    parts = {"kernel": _file_hash(kernel), "initrd": _file_hash(initrd) if initrd else None,
             "append": append, "extra_args": [str(a) for a in extra_args], "memory": memory,
             "ready": ready, "pyemu": _emu_source_hash()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def booted_snapshot(kernel, initrd=None, append="console=ttyS0 panic=-1", extra_args=(), memory=None,
                    ready=READY, boot_timeout=900, log_path=None):
    """The path of the snapshot of this configuration booted to `ready` (a regex
    on the console), booting it first if the cache has none."""
    directory = cache_root() / "snapshots"
    directory.mkdir(parents=True, exist_ok=True)
    key = snapshot_key(kernel, initrd, append, extra_args, memory, ready)
    path = directory / (key + ".snap")
    with open(directory / (key + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # one process boots, the others wait for it
        if path.exists():
            try:
                read_snapshot(path)             # whole and unchanged (checksums)
                return path
            except SnapshotError as e:
                sys.stderr.write("pyemu: %s; booting the guest again\n" % e)
                path.unlink()
        with GuestSession.start(kernel, initrd, append, extra_args, timeout=boot_timeout, memory=memory,
                                log_path=log_path) as s:
            s.expect(ready)
            s.run("true", check=True)               # the shell reads its input: it waits at a prompt now
            s.snapshot(path)
    return path


def start_booted(kernel, initrd=None, append="console=ttyS0 panic=-1", extra_args=(), memory=None,
                 ready=READY, timeout=120, boot_timeout=900, log_path=None, **kwargs):
    """A GuestSession restored from the configuration's booted snapshot."""
    path = booted_snapshot(kernel, initrd, append, extra_args, memory, ready, boot_timeout)
    return GuestSession.start(kernel, initrd, append, extra_args, timeout=timeout, memory=memory,
                              log_path=log_path, loadvm=path, **kwargs)
