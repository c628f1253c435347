"""-snapshot (or snapshot=on): the guest may write, the image stays byte-identical.

Writes go to a temporary file (unlinked at once, so nothing is left behind
however pyemu ends), and a set of written sectors says which bytes to take
from it instead of from the image.  The image itself is opened read-only.
"""
import os
import tempfile

from .image import SECTOR


class SnapshotOverlay:
    def __init__(self, base, tmpdir=None):
        self.base = base
        self.path = base.path
        self.size = base.size
        self.readonly = False
        self._written = set()           # sector numbers held by the overlay
        fd, name = tempfile.mkstemp(prefix="pyemu-snapshot-", dir=tmpdir)
        os.unlink(name)
        self.fd = fd

    def read(self, offset, length):
        first, last = offset // SECTOR, (offset + length - 1) // SECTOR
        if not any(s in self._written for s in range(first, last + 1)):
            return self.base.read(offset, length)
        out = bytearray()
        pos, end = offset, offset + length
        while pos < end:
            sector = pos // SECTOR
            n = min(end, (sector + 1) * SECTOR) - pos
            if sector in self._written:
                chunk = os.pread(self.fd, n, pos)
                chunk += bytes(n - len(chunk))
            else:
                chunk = self.base.read(pos, n)
            out += chunk
            pos += n
        return bytes(out)

    def write(self, offset, data):
        # whole sectors only (the drives write whole sectors); a partial one would
        # need its old bytes first
        if offset % SECTOR or len(data) % SECTOR:
            first = offset - offset % SECTOR
            end = -(-(offset + len(data)) // SECTOR) * SECTOR
            merged = bytearray(self.read(first, end - first))
            merged[offset - first:offset - first + len(data)] = data
            offset, data = first, bytes(merged)
        view = memoryview(data)
        pos = offset
        while view:
            n = os.pwrite(self.fd, view, pos)
            view = view[n:]
            pos += n
        self._written.update(range(offset // SECTOR, (offset + len(data)) // SECTOR))

    def flush(self):
        pass                            # nothing of the overlay outlives pyemu

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.base.close()
