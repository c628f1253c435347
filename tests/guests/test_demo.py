"""`pyemu demo`: builds the bundled demo into the cache directory once, boots it,
succeeds; rebuilds when the source changes; says "install binutils" without
them; and the demo image gives QEMU's output on every translation tier of
pyemu (tests/tiers.py)."""
import io
import os
import shutil
import subprocess
import sys

import pytest

import emu
import emu.demo as demo
from emu import cli
from tiers import TIERS

from . import guestlib, tiered
from .test_guests import check_clean_run


def _cache_dir(tmp_path):
    """A fresh PYEMU_CACHE_DIR whose other entries (numba's compiled code, the
    JIT object cache) point at the real cache, so only the demo is built anew."""
    cache = tmp_path / "cache"
    cache.mkdir()
    real = emu.cache_root()
    if real.is_dir():
        for entry in real.iterdir():
            if entry.name != "demo":
                (cache / entry.name).symlink_to(entry)
    return cache


def _pyemu_demo(cache, *args):
    env = dict(os.environ, PYEMU_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(guestlib.REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "emu.cli", "demo"] + list(args), cwd=str(guestlib.REPO),
                          env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)


def _check_demo_output(out):
    text = out.decode("latin-1")
    assert "pyemu demo" in text
    assert "Primes below 100:\n  2 3 5 7 11 13" in text
    assert "Below 100000 there are 9592 primes; their sum is 454396537" in text
    assert "@@@@@@@@@@" in text                                   # the inside of the Mandelbrot set
    assert text.rstrip().endswith("leaving through isa-debug-exit with code 0.")


def test_pyemu_demo_builds_once_and_runs(tmp_path, monkeypatch):
    cache = _cache_dir(tmp_path)
    p = _pyemu_demo(cache)
    assert p.returncode == 0, "pyemu demo failed (status %d):\n%s\n%s" % (
        p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1"))
    _check_demo_output(p.stdout)
    assert "Booted by: pyemu" in p.stdout.decode("latin-1"), "the multiboot boot_loader_name is not visible"
    assert p.stderr.decode().strip() == "", p.stderr.decode()
    elf = cache / "demo" / "demo.elf"
    assert elf.is_file()
    built = elf.stat().st_mtime_ns
    # later runs reuse the image (what `pyemu demo` does first, without booting it again)
    monkeypatch.setenv("PYEMU_CACHE_DIR", str(cache))
    assert demo.demo_image() == elf
    assert elf.stat().st_mtime_ns == built, "the unchanged demo was built again"
    assert not [x for x in (cache / "demo").iterdir() if x.name.startswith("build-")], "a build directory was left"


def test_demo_rebuilds_when_the_source_changes(tmp_path, monkeypatch):
    src = tmp_path / "demo.S"
    shutil.copy(demo.SOURCE, src)
    monkeypatch.setattr(demo, "SOURCE", src)
    cache = tmp_path / "demo-cache"
    elf = demo.demo_image(cache)
    first = elf.read_bytes()
    assert demo.demo_image(cache).read_bytes() == first
    src.write_text(src.read_text().replace("Primes below 100:", "Primes under 100:"))
    second = demo.demo_image(cache).read_bytes()
    assert second != first and b"Primes under 100:" in second


def test_demo_without_binutils_says_install_binutils(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYEMU_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    status = cli.main(["demo"])
    err = capsys.readouterr().err
    assert status == 1
    assert "install binutils" in err or "binutils-x86-64-linux-gnu" in err, err
    assert err.count("\n") == 1, err


def test_demo_help(capsys):
    assert cli.main(["demo", "--help"]) == 0
    assert "pyemu demo" in capsys.readouterr().out


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_demo_image_matches_qemu(tmp_path, tier):
    elf = demo.build_elf(demo.SOURCE, demo.LINKER_SCRIPT, tmp_path / "demo.elf")
    ref = guestlib.run_qemu(elf)
    run = tiered.run(guestlib.pyemu_command(elf), tier, tmp_path)
    check_clean_run(run, "pyemu")       # a Python traceback exits with 1 too, the demo's own status
    assert ref.status == run.status == demo.EXPECTED_STATUS, run.describe() + "\n" + ref.describe()
    tiered.check_tier(tier, run)
    _check_demo_output(run.stdout)

    def without_loader(out):       # "Booted by: qemu" / "Booted by: pyemu"
        return b"".join(ln for ln in io.BytesIO(out) if not ln.startswith(b"  Booted by:"))
    assert without_loader(run.stdout) == without_loader(ref.stdout)
