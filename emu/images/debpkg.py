"""Reading files out of a Debian package (.deb) without installing it.

A .deb is an `ar` archive (deb(5)): "debian-binary", "control.tar.*" and
"data.tar.*", the last being the files.  python-debian (Debian's own library)
reads the ar archive and opens data.tar with tarfile, which reads xz (what
Debian 12 uses), gzip, bzip2 and plain tar a piece at a time: the 140 MB
linux-source package is never held in memory.

A zstd data.tar (Ubuntu uses it) is the exception: python-debian pipes the
whole compressed member through `unzstd` and keeps it and all of the
decompressed tar in memory (hundreds of MB for a kernel source package), so
here it goes through `dpkg-deb --fsys-tarfile`, which streams; python-debian's
way is the fallback where there is no dpkg-deb.
"""
import contextlib
import lzma
import shutil
import subprocess
import tarfile
import zlib

from debian.arfile import FILE_HEADER_LENGTH, GLOBAL_HEADER_LENGTH, ArError
from debian.debfile import DATA_PART, DebError, DebFile

from .errors import ImageError

# What a damaged data.tar raises while it is read: tarfile's stream mode made these
# a TarError, but the members python-debian opens are read through LZMAFile / GzipFile /
# BZ2File directly (bz2 says OSError).
_DAMAGED = (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error)


def _clean(name):
    name = str(name)
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def extract(deb_path, wanted, dest):
    """Copy the regular files of `deb_path` whose path (without leading "./") is a
    key of `wanted` to dest / wanted[path].  Returns {path: written file}; raises
    ImageError naming what was not found."""
    found = {}
    with _data_tar(deb_path) as tf:
        for member in _members(tf, deb_path):
            name = _clean(member.name)
            if name in wanted and member.isfile():
                target = dest / wanted[name]
                target.parent.mkdir(parents=True, exist_ok=True)
                with tf.extractfile(member) as src, open(target, "wb") as out:
                    while True:
                        try:
                            chunk = src.read(1 << 20)
                        except _DAMAGED as e:      # (a failing write is no damaged package)
                            raise ImageError("%s: damaged data.tar: %s"
                                             % (deb_path.name, e)) from None
                        if not chunk:
                            break
                        out.write(chunk)
                found[name] = target
                if len(found) == len(wanted):
                    return found
    missing = sorted(set(wanted) - set(found))
    raise ImageError("%s does not contain %s" % (deb_path.name, ", ".join(missing)))


def list_files(deb_path):
    """Paths of the regular files in the package."""
    with _data_tar(deb_path) as tf:
        return [_clean(m.name) for m in _members(tf, deb_path) if m.isfile()]


def _members(tf, deb_path):
    """The members of data.tar one by one (extract() stops reading at the last file it
    wants), a damaged stream being an ImageError."""
    try:
        yield from tf
    except _DAMAGED as e:
        raise ImageError("%s: damaged data.tar: %s" % (deb_path.name, e)) from None


def _open_deb(deb_path):
    """python-debian's DebFile of `deb_path`, what is wrong with the file an ImageError."""
    name = deb_path.name
    try:
        deb = DebFile(str(deb_path))
    except DebError as e:       # an ar archive without debian-binary, control.tar or data.tar
        raise ImageError("%s is not a valid Debian package: %s" % (name, e)) from None
    except ArError:
        raise ImageError("%s is not a Debian package (no ar signature)" % name) from None
    except ValueError:          # a number field of a member header
        raise ImageError("%s: damaged ar member header" % name) from None
    except OSError as e:
        if e.errno is None:     # arfile's "Incorrect header length" / "Incorrect file magic"
            raise ImageError("%s: damaged ar member header" % name) from None
        raise ImageError("cannot read %s: %s" % (deb_path, e.strerror)) from None
    # arfile does not notice a file cut short (a broken download): it stops at the
    # member it cannot skip.  The members and their even padding must fit in the file
    # (the last member's padding may be left off).
    members = deb.getmembers()
    end = GLOBAL_HEADER_LENGTH + sum(FILE_HEADER_LENGTH + m.size + (m.size & 1) for m in members)
    if members and end - (members[-1].size & 1) > deb_path.stat().st_size:
        deb.close()
        raise ImageError("%s is truncated (member %s)" % (name, members[-1].name))
    return deb


@contextlib.contextmanager
def _data_tar(deb_path):
    """A TarFile over data.tar, to iterate once; the .deb stays open while it is used."""
    deb = _open_deb(deb_path)
    with deb:
        member = next(n for n in deb.getnames() if n == DATA_PART or n.startswith(DATA_PART + "."))
        if member.endswith(".zst") and shutil.which("dpkg-deb"):
            # Streamed; python-debian's zstd route holds the whole tar in memory.
            with _dpkg_deb_tar(deb_path) as tf:
                yield tf
            return
        try:
            tf = deb.data.tgz()
        except (DebError,) + _DAMAGED as e:
            hint = " (install zstd or dpkg)" if member.endswith(".zst") else ""
            raise ImageError("%s: cannot read %s: %s%s" % (deb_path.name, member, e, hint)) from None
        with tf:
            yield tf


def _dpkg_deb_tar(deb_path):
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb_path)], stdout=subprocess.PIPE)
    try:
        return _ProcTar(proc)
    except _DAMAGED as e:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        raise ImageError("%s: dpkg-deb cannot read data.tar: %s" % (deb_path.name, e)) from None


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
