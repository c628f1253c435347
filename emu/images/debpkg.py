"""Reading files out of a Debian package (.deb) without installing it.

A .deb is an `ar` archive (deb(5)): "debian-binary", "control.tar.*" and
"data.tar.*", the last being the files.  Debian 12 compresses data.tar with xz,
which Python's tarfile reads; gzip, bzip2 and plain tar are read too.  A zstd
data.tar (Ubuntu uses it) goes through `dpkg-deb --fsys-tarfile` when Python
has no zstd support.
"""
import shutil
import subprocess
import tarfile

from .errors import ImageError

AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60
_TAR_MODES = {"": "r|", ".gz": "r|gz", ".xz": "r|xz", ".bz2": "r|bz2"}


class _Slice:
    """A read-only window on part of a file, enough for tarfile's stream mode."""

    def __init__(self, f, size):
        self._f, self._left = f, size

    def read(self, n=-1):
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._f.read(n)
        self._left -= len(data)
        return data


def ar_members(f):
    """Yield (name, size) for each member of the ar archive `f`, leaving `f` at the
    member's data; the caller may read up to size bytes before asking for the next."""
    if f.read(len(AR_MAGIC)) != AR_MAGIC:
        raise ImageError("%s is not a Debian package (no ar signature)" % getattr(f, "name", "file"))
    end = f.seek(0, 2)
    pos = len(AR_MAGIC)
    while True:
        f.seek(pos)
        header = f.read(AR_HEADER)
        if not header:
            return
        if len(header) < AR_HEADER or header[58:60] != b"`\n":
            raise ImageError("%s: damaged ar member header" % getattr(f, "name", "file"))
        name = header[0:16].decode("ascii", "replace").rstrip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise ImageError("%s: damaged ar member size" % getattr(f, "name", "file")) from None
        if pos + AR_HEADER + size > end:
            raise ImageError("%s is truncated (member %s)" % (getattr(f, "name", "file"), name))
        f.seek(pos + AR_HEADER)
        yield name, size
        pos += AR_HEADER + size + (size & 1)        # members are padded to an even offset


def _clean(name):
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def extract(deb_path, wanted, dest):
    """Copy the regular files of `deb_path` whose path (without leading "./") is a
    key of `wanted` to dest / wanted[path].  Returns {path: written file}; raises
    ImageError naming what was not found."""
    found = {}
    for tf in _open_data_tar(deb_path):
        with tf:
            for member in _members(tf, deb_path):
                name = _clean(member.name)
                if name in wanted and member.isfile():
                    target = dest / wanted[name]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        with tf.extractfile(member) as src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                    except (tarfile.TarError, EOFError) as e:
                        raise ImageError("%s: damaged data.tar: %s" % (deb_path.name, e)) from None
                    found[name] = target
                    if len(found) == len(wanted):
                        return found
    missing = sorted(set(wanted) - set(found))
    raise ImageError("%s does not contain %s" % (deb_path.name, ", ".join(missing)))


def list_files(deb_path):
    """Paths of the regular files in the package."""
    names = []
    for tf in _open_data_tar(deb_path):
        with tf:
            names.extend(_clean(m.name) for m in _members(tf, deb_path) if m.isfile())
    return names


def _members(tf, deb_path):
    """The members of a streaming TarFile, a damaged stream being an ImageError."""
    try:
        yield from tf
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ImageError("%s: damaged data.tar: %s" % (deb_path.name, e)) from None


def _open_data_tar(deb_path):
    """Yield one streaming TarFile over data.tar (a generator so that the .deb stays
    open while the caller reads)."""
    try:
        f = open(deb_path, "rb")
    except OSError as e:
        raise ImageError("cannot read %s: %s" % (deb_path, e.strerror)) from None
    with f:
        for name, size in ar_members(f):
            if not name.startswith("data.tar"):
                continue
            suffix = name[len("data.tar"):]
            if suffix in _TAR_MODES:
                try:
                    yield tarfile.open(fileobj=_Slice(f, size), mode=_TAR_MODES[suffix])
                except (tarfile.TarError, EOFError, OSError) as e:
                    raise ImageError("%s: cannot read %s: %s" % (deb_path.name, name, e)) from None
                return
            yield _dpkg_deb_tar(deb_path, name)
            return
    raise ImageError("%s has no data.tar member" % deb_path.name)


def _dpkg_deb_tar(deb_path, member):
    if not shutil.which("dpkg-deb"):
        raise ImageError("%s: %s needs dpkg-deb to unpack (apt-get install dpkg)"
                         % (deb_path.name, member))
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb_path)], stdout=subprocess.PIPE)
    return _ProcTar(proc)


class _ProcTar:
    """A streaming TarFile over a child's stdout that reaps the child when closed."""

    def __init__(self, proc):
        self._proc = proc
        self._tf = tarfile.open(fileobj=proc.stdout, mode="r|")

    def __iter__(self):
        return iter(self._tf)

    def extractfile(self, member):
        return self._tf.extractfile(member)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tf.close()
        self._proc.stdout.close()
        self._proc.kill()
        self._proc.wait()
