"""pyemu's own BIOS (bios/ at the top of the repository): assembled at first
use with GNU as and ld (binutils, which the bare-metal programs already
need) and cached in the pyemu cache directory under a hash of its sources,
so it is built once per change.  It is what runs when no -kernel is given."""
import hashlib
import os
import pathlib
import tempfile

from .. import cache_root
from .toolchain import ToolchainError, build_elf

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2] / "bios"
MAIN = "bios.S"
LINKER_SCRIPT = "link.ld"
IMAGE_SIZE = 64 * 1024


class BiosError(Exception):
    """The BIOS cannot be had (sources missing, assembler failed); one line for the user."""


def _sources():
    if not (SOURCE_DIR / MAIN).is_file():
        raise BiosError("pyemu's BIOS sources are not at %s (install pyemu from its repository with "
                        "pip install -e, or give -bios FILE)" % SOURCE_DIR)
    return sorted(p for p in SOURCE_DIR.iterdir() if p.suffix in (".S", ".inc", ".ld"))


def source_hash():
    h = hashlib.sha256()
    for p in _sources():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def bios_image(cache_dir=None):
    """The path of the assembled 64 KB BIOS image, building it if needed."""
    key = source_hash()
    cache_dir = pathlib.Path(cache_dir) if cache_dir else cache_root() / "bios"
    target = cache_dir / ("pyemu-bios-%s.bin" % key)
    if target.is_file() and target.stat().st_size == IMAGE_SIZE:
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BiosError("cannot create %s for the BIOS image: %s" % (cache_dir, e.strerror)) from None
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        out = pathlib.Path(work) / "bios.bin"
        try:
            build_elf(SOURCE_DIR / MAIN, SOURCE_DIR / LINKER_SCRIPT, out, include_dirs=[SOURCE_DIR])
        except ToolchainError as e:
            raise BiosError("cannot assemble pyemu's BIOS: %s" % str(e).splitlines()[0]) from None
        if out.stat().st_size != IMAGE_SIZE:
            raise BiosError("pyemu's BIOS assembled to %d bytes, not %d" % (out.stat().st_size, IMAGE_SIZE))
        os.replace(out, target)           # atomic: concurrent pyemus agree
    return target
