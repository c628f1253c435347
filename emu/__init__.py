"""pyemu: a full-system x86 PC emulator with an LLVM-based dynamic binary translator."""
import hashlib
import os
import pathlib
import sys

__version__ = "0.1.0"


def cache_root():
    """Where pyemu keeps compiled code and built images ($PYEMU_CACHE_DIR or ~/.cache/pyemu)."""
    base = os.environ.get("PYEMU_CACHE_DIR")
    if base:
        return pathlib.Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(xdg) / "pyemu"


# The packages whose source decides the native code pyemu generates or caches:
# the CpuState layout, the decoder and opcode tables, the translator (semantics,
# helper numbering, runtime), the softmmu and the x87 (and pyemu's version, below).
# Editing a device, the clock, the boot loaders, the console or the image
# builder leaves compiled code valid.
NATIVE_CODE_SOURCES = ("cpu", "frontend", "translator", "softmmu", "fpu")


def _source_hash():
    """A hash of the source files native code depends on: numba's cache only
    notices changes to a function's own file, while our native code also
    depends on the CpuState layout and the opcode tables defined elsewhere."""
    h = hashlib.sha256(__version__.encode())
    root = pathlib.Path(__file__).parent
    paths = []
    for name in NATIVE_CODE_SOURCES:
        top = root / name
        paths.extend(top.rglob("*.py") if top.is_dir() else [top])
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# True when numba's cache for this build was empty at import: building the
# first Machine then compiles the native helpers, about a minute (the CLI says so).
numba_cache_cold = True


def _configure_numba_cache():
    global numba_cache_cold
    path = cache_root() / "numba" / _source_hash()
    try:
        path.mkdir(parents=True, exist_ok=True)
        numba_cache_cold = not any(path.iterdir())
    except OSError:
        return          # read-only home: numba falls back to no caching
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    if "numba" in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = str(path)


_configure_numba_cache()
