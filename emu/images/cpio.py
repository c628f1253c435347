"""A writer for the "newc" cpio format, the one the Linux kernel unpacks as an initramfs.

Format (Linux Documentation/driver-api/early-userspace/buffer-format.rst, and
cpio(5)): each member is a 110-byte ASCII header -- the magic "070701" then 13
fields of 8 hex digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
devminor, rdevmajor, rdevminor, namesize (including the NUL), check (0 for
newc) -- then the NUL-terminated name, padded with NULs so that the data starts
on a 4-byte boundary, then the data, padded to 4 bytes again.  A symlink's data
is its target.  The archive ends with a member named "TRAILER!!!".

The archive is reproducible: owner root, a fixed mtime, inode numbers in the
order members are added, so the same inputs give the same bytes (and the same
gzip stream, which is written with mtime 0).
"""
import gzip
import io
import stat

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
HEADER_SIZE = 110
_MAX_FIELD = 0xFFFFFFFF


class CpioError(ValueError):
    pass


def _pad4(n):
    return (-n) % 4


class NewcWriter:
    """Collects members in memory; `getvalue()` gives the archive bytes."""

    def __init__(self, mtime=0):
        self._out = io.BytesIO()
        self._mtime = mtime
        self._ino = 0
        self._names = set()
        self._closed = False

    # -- member kinds -------------------------------------------------------------------------
    def add_dir(self, name, mode=0o755):
        self._add(name, stat.S_IFDIR | (mode & 0o7777), b"", nlink=2)

    def add_file(self, name, data, mode=0o644):
        self._add(name, stat.S_IFREG | (mode & 0o7777), bytes(data))

    def add_symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def add_chardev(self, name, major, minor, mode=0o600):
        self._add(name, stat.S_IFCHR | (mode & 0o7777), b"", rdev=(major, minor))

    def add_blockdev(self, name, major, minor, mode=0o600):
        self._add(name, stat.S_IFBLK | (mode & 0o7777), b"", rdev=(major, minor))

    # -- output -------------------------------------------------------------------------------
    def getvalue(self):
        """The finished archive (the trailer is written on the first call)."""
        if not self._closed:
            self._member(TRAILER, 0, b"", nlink=1, ino=0)
            self._closed = True
        return self._out.getvalue()

    def getvalue_gzip(self):
        """The archive gzip-compressed, as the kernel's CONFIG_RD_GZIP expects."""
        return gzip.compress(self.getvalue(), compresslevel=9, mtime=0)

    # -- internals ----------------------------------------------------------------------------
    def _add(self, name, mode, data, nlink=1, rdev=(0, 0)):
        if self._closed:
            raise CpioError("the archive is already finished")
        name = _normalise(name)
        if name in self._names:
            raise CpioError("duplicate member %r" % name)
        parent = name.rpartition("/")[0]
        if parent and parent not in self._names:
            # The kernel creates members in archive order: a file before its directory fails.
            raise CpioError("member %r comes before its directory %r" % (name, parent))
        self._names.add(name)
        self._ino += 1
        self._member(name, mode, data, nlink=nlink, ino=self._ino, rdev=rdev)

    def _member(self, name, mode, data, nlink, ino, rdev=(0, 0)):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, nlink, self._mtime, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        for value in fields:
            if not 0 <= value <= _MAX_FIELD:
                raise CpioError("member %r: field value %d does not fit newc's 32 bits" % (name, value))
        header = MAGIC + b"".join(b"%08X" % v for v in fields)
        out = self._out
        out.write(header)
        out.write(encoded)
        out.write(b"\0" * _pad4(HEADER_SIZE + len(encoded)))
        out.write(data)
        out.write(b"\0" * _pad4(len(data)))


def _normalise(name):
    """Member names are relative ("bin/busybox"), as the kernel and cpio(1) write them."""
    parts = [p for p in name.strip("/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise CpioError("invalid member name %r" % name)
    if any("\0" in p for p in parts):
        raise CpioError("member name %r contains a NUL" % name)
    return "/".join(parts)
