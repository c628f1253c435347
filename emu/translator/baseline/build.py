"""Build the common stencils ahead of time: `python -m emu.translator.baseline build`.

Stencils are otherwise built when a block first needs them, a few
milliseconds of LLVM each, which a first boot would spend during its early,
interrupts-off stretch (guest time does not pass then: emu/clock.py, so the
guest's clock falls behind until it idles).  This builds at once the variants
of every one- and two-byte opcode with every ModRM byte, with and without the
66, F2 and F3 prefixes, in 32-bit protected mode at CPL 0 and 3 and in real
mode: some 8,000 stencils, kept in the stencil library (stencilset.py) for
this pyemu build and host.  The CLI does it on its first run; `.ci/run` does
it before the tests.
"""
import sys
import time

import numpy as np

from ...cpu import hflags as H
from ...frontend import tables as T
from ...frontend.decoder import decode_block, new_records
from .native import variant_code
from .stencilset import StencilSet, default_directory, fingerprint

MODES = (H.HF_PE | H.HF_SS32 | H.HF_CS32, H.HF_PE | H.HF_SS32 | H.HF_CS32 | 3, 0)
PREFIXES = (b"", b"\x66", b"\xf3", b"\xf2")
BATCH = 256


def corpus_codes():
    """The variant codes of the opcode maps' instructions (see the module docstring)."""
    recs = new_records(1)
    codes = set()
    for mode in MODES:
        cs32 = bool(mode & H.HF_CS32)
        for prefix in PREFIXES:
            for escape in (b"", b"\x0f"):
                for op in range(256):
                    for modrm in range(256):
                        code = prefix + escape + bytes((op, modrm)) + bytes(12)
                        buf = np.frombuffer(code, dtype=np.uint8)
                        if decode_block(buf, 0, len(buf), len(buf), 0x1000, cs32, recs, 1) \
                                and recs[0]["error"] == T.ERR_NONE:
                            codes.add(int(variant_code(recs[0], mode)))
    return sorted(codes)


def build_all(stencils, progress=None):
    """Build every corpus variant stencils does not have; returns how many were built."""
    missing = [c for c in corpus_codes() if c not in stencils.info]
    t0 = time.monotonic()
    for k in range(0, len(missing), BATCH):
        stencils.build(missing[k:k + BATCH])
        if progress:
            progress(min(k + BATCH, len(missing)), len(missing), time.monotonic() - t0)
    stencils.save()
    return len(missing)


def library_ready():
    """True when this build's stencil library exists on disk."""
    return (default_directory() / ("stencils-%s.npz" % fingerprint())).exists()


def build_with_progress(quiet=False):

    def progress(done, total, seconds):
        if not quiet:
            sys.stderr.write("\rpyemu: building the baseline tier's stencils (once per build): %d/%d, %.0f s"
                             % (done, total, seconds))
            sys.stderr.flush()
    n = build_all(StencilSet(), progress)
    if n and not quiet:
        sys.stderr.write("\n")
    return n
