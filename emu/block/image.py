"""A raw disk image: the file's bytes are the disk's sectors, in order.

Every write goes straight to the file (os.pwrite), so what the guest wrote is
in the host's page cache as soon as its command completes: killing pyemu
loses nothing the guest saw as written.  flush() is fsync (the guest's FLUSH
CACHE, and every clean exit).

Locking: an image opened for writing takes an exclusive lock, a read-only one
a shared lock (flock(2) on the open file), so a second pyemu that would write
an image in use fails with a clear message, as QEMU's image locking does,
while any number of read-only users may share it.  flock locks belong to the
open file, so they go away with the process however it ends (kill -9 too).
"""
import errno
import fcntl
import os
import stat

from . import DiskError

SECTOR = 512


def _readable(path):
    """Whether this process may open path for reading: only then does readonly=on help."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        return False
    return True


class RawImage:
    """Sector I/O on a raw image file.  size is in bytes; offsets are in bytes."""

    def __init__(self, path, readonly=False, sector_size=SECTOR, what="disk image"):
        self.path = str(path)
        self.readonly = readonly
        self.fd = None
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise DiskError("cannot open %s '%s': %s" % (what, self.path, e.strerror)) from None
        if stat.S_ISDIR(st.st_mode):
            raise DiskError("%s '%s' is a directory" % (what, self.path))
        try:
            self.fd = os.open(self.path, (os.O_RDONLY if readonly else os.O_RDWR) | os.O_CLOEXEC)
        except OSError as e:
            hint = " (add readonly=on, or -snapshot, to use it without writing)" \
                if not readonly and e.errno in (errno.EACCES, errno.EROFS) and _readable(self.path) else ""
            raise DiskError("cannot open %s '%s' for %s: %s%s" % (
                what, self.path, "reading" if readonly else "writing", e.strerror, hint)) from None
        try:
            self.size = os.lseek(self.fd, 0, os.SEEK_END)     # block devices too
            if self.size % sector_size:
                raise DiskError("%s '%s' is %d bytes, not a whole number of %d-byte sectors"
                                % (what, self.path, self.size, sector_size))
            if self.size == 0:
                raise DiskError("%s '%s' is empty" % (what, self.path))
            self._lock(what)
        except BaseException:
            os.close(self.fd)
            self.fd = None
            raise

    def _lock(self, what):
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_SH if self.readonly else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise DiskError("%s '%s' is in use by another process (it holds a lock on it); "
                                "use readonly=on or -snapshot to share it"
                                % (what, self.path)) from None
            raise DiskError("cannot lock %s '%s': %s" % (what, self.path, e.strerror)) from None

    def read(self, offset, length):
        """length bytes at offset; past the end reads zeros (callers check ranges first)."""
        data = os.pread(self.fd, length, offset)
        if len(data) < length:
            data += bytes(length - len(data))
        return data

    def write(self, offset, data):
        if self.readonly:
            raise DiskError("write to read-only image '%s'" % self.path)
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, offset)
            view = view[n:]
            offset += n

    def flush(self):
        if self.fd is not None and not self.readonly:
            os.fsync(self.fd)

    def close(self):
        if self.fd is not None:
            try:
                self.flush()
            finally:
                os.close(self.fd)       # drops the lock
                self.fd = None
