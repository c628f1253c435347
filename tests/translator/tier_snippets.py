"""Snippet machines on a chosen translation tier, for the translator tests.

`make_snippet(tier, cache_dir, **env)` makes a 32-bit Snippet under the
tier's switches (tests/tiers.py: "baseline", "llvm", "hot", or "fallback")
plus any extra PYEMU_* variables, with its object and translation caches in
cache_dir (the `tier_snippet` fixture of conftest.py closes them after the
test).  `tier_of(snippet, eip)` is the tier of the live block at an EIP, so a
test can show which tier ran the code it looked at.
"""
import os

from emu.snippet import Snippet
from tiers import FALLBACK, TIERS, environment

# the tier a block is made at, the first time it runs, on each forced tier
FIRST_TIER = {"baseline": 0, "llvm": 2, "fallback": 1}


class CachingSnippet(Snippet):
    """A Snippet that leaves code bytes alone when they are already there, so that
    running the same code again finds its blocks instead of invalidating them."""

    def write(self, addr, data):
        if self.read(addr, len(data)) != bytes(data):
            super().write(addr, data)


def make_snippet(tier, cache_dir, caching=False, **env):
    """A 32-bit Snippet (a CachingSnippet if caching) under tier's switches and env."""
    settings = dict(FALLBACK if tier == "fallback" else TIERS[tier],
                    PYEMU_OBJCACHE_DIR=os.path.join(str(cache_dir), "objects-" + tier))
    settings.update(env)
    with environment(settings):
        return (CachingSnippet if caching else Snippet)(bits=32)


def blocks_at(snippet, eip):
    return [tb for tb in snippet.machine.translator.cache.blocks.values() if tb.eip == eip]


def tier_of(snippet, eip):
    """The tier of the one live block starting at eip."""
    tbs = blocks_at(snippet, eip)
    assert len(tbs) == 1, "expected one live block at %#x, found %r" % (eip, tbs)
    return tbs[0].tier


# --- paging for the snippets that need it --------------------------------------------------------
PD, PT = 0x20000, 0x21000           # one page table: the low 4 MB


def map_low_4mb(snippet, missing=()):
    """Page tables for the low 4 MB, identity-mapped except the pages in `missing` (not present)."""
    import struct
    snippet.write(PD, struct.pack("<I", PT | 3))
    snippet.write(PT, b"".join(struct.pack("<I", 0 if k in missing else (k << 12) | 3) for k in range(1024)))


# mov eax, PD; mov cr3, eax; mov eax, cr0; or eax, 0x80000000; mov cr0, eax:
# paging on (EAX is clobbered); what follows starts a block of its own
PAGING_ON = bytes.fromhex("b8 00000200 0f22d8 0f20c0 0d00000080 0f22c0")


def asm(text, addr):
    """Machine code of `text` (Intel syntax) assembled at addr (keystone)."""
    from keystone import KS_ARCH_X86, KS_MODE_32, Ks
    return bytes(Ks(KS_ARCH_X86, KS_MODE_32).asm(text, addr)[0])
