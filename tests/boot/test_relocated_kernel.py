"""The translation cache survives relocation on a real kernel (issue [baseline]).

Debian's 686 kernel is relocatable.  With KASLR off it is booted twice on
one translation cache (PYEMU_OBJCACHE_DIR): first loaded at 1 MB, where it
unpacks itself at 16 MB (its LOAD_PHYSICAL_ADDR), then loaded at 32 MB
(PYEMU_KERNEL_ADDR), where it unpacks itself at 32 MB and runs at other
virtual addresses, its relocations applied.  No initrd: the kernel runs its
own code only, finds no root filesystem and panics, and `panic=-1` with
`-no-reboot` ends the run.

The interrupt log (-d int) shows where the kernel ran; the statistics show
that the second boot compiled almost nothing at O2 and took its hot code
from the first boot's translation cache.
"""
import json
import re

import pytest

from emu import images
from tests.guests import guestlib

APPEND = "console=ttyS0 panic=-1 nokaslr"
SECOND_ADDRESS = 0x2000000
TIMEOUT = 600


def _boot(kernel, tmp_path, name, **env_extra):
    stats_path = tmp_path / (name + ".json")
    log = tmp_path / (name + ".log")
    env = guestlib._pyemu_env()
    env.update({"PYEMU_OBJCACHE_DIR": str(tmp_path / "objects"), "PYEMU_STATS": str(stats_path),
                # hot blocks compiled at once, so the first boot leaves all of them in the cache
                "PYEMU_BACKGROUND": "0"})
    env.pop("PYEMU_CACHE", None)
    env.update(env_extra)
    cmd = guestlib.pyemu_command(kernel, ["-append", APPEND, "-d", "int", "-D", str(log)])
    r = guestlib._run(cmd, TIMEOUT, env=env)
    assert r.status == 0 and b"Kernel panic" in r.stdout, r.describe()
    kernel_eips = re.findall(r"IRQ vector 0x\w+ at 0060:(c[0-9a-f]{7})", log.read_text())
    return json.loads(stats_path.read_text()), kernel_eips


@pytest.mark.slow
def test_a_kernel_loaded_elsewhere_takes_its_hot_code_from_the_cache(tmp_path):
    img = images.ensure("debian", quiet=True)
    first, eips1 = _boot(img.kernel, tmp_path, "first")
    second, eips2 = _boot(img.kernel, tmp_path, "second", PYEMU_KERNEL_ADDR=hex(SECOND_ADDRESS))

    # the kernel ran at 0xC1000000 + offset the first time, 16 MB higher the second
    assert eips1 and all(0xC1000000 <= int(e, 16) < 0xC2000000 for e in eips1), eips1[:5]
    assert eips2 and all(0xC2000000 <= int(e, 16) < 0xC3000000 for e in eips2), eips2[:5]

    assert first["translation_cache_loaded"] == 0 and first["tier_ups"] >= 50
    assert first["translation_cache_added"] >= 50
    assert second["translation_cache_loaded"] >= first["translation_cache_added"]
    # its hot blocks came from the cache: a tenth of the first boot's O2 compiles at most
    assert second["tier_ups"] <= first["tier_ups"] // 10, (first["tier_ups"], second["tier_ups"])
    assert second["o2_blocks_from_cache"] >= first["translation_cache_added"]
