"""The cache: atomic entries, the lock, where it lives."""
import subprocess
import sys
import textwrap

import pytest

from emu.images import cache as cache_module
from emu.images.cache import Cache, write_manifest


def test_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PYEMU_IMAGE_DIR", str(tmp_path / "imgs"))
    assert Cache().root == tmp_path / "imgs"
    monkeypatch.delenv("PYEMU_IMAGE_DIR")
    monkeypatch.delenv("PYEMU_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Cache().root == tmp_path / "xdg" / "pyemu" / "images"


def test_a_failed_build_leaves_no_entry(tmp_path):
    c = Cache(tmp_path)
    c.prepare()
    with pytest.raises(RuntimeError, match="compile failed"):
        with c.staging("tiny", "0" * 16) as stage:
            (stage / "bzImage").write_bytes(b"half")
            raise RuntimeError("compile failed")
    assert c.manifest("tiny", "0" * 16) is None
    assert not c.entry_dir("tiny", "0" * 16).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_an_entry_appears_whole(tmp_path):
    c = Cache(tmp_path)
    c.prepare()
    with c.staging("tiny", "1" * 16) as stage:
        (stage / "bzImage").write_bytes(b"k")
        assert c.manifest("tiny", "1" * 16) is None        # not visible while building
        write_manifest(stage, {"name": "tiny", "digest": "1" * 16, "built": "x"})
    assert c.manifest("tiny", "1" * 16)["digest"] == "1" * 16
    assert (c.entry_dir("tiny", "1" * 16) / "bzImage").read_bytes() == b"k"
    assert [m["digest"] for m in c.entries("tiny")] == ["1" * 16]
    assert c.entries("debian") == []


def test_staging_without_manifest_is_refused(tmp_path):
    c = Cache(tmp_path)
    c.prepare()
    with pytest.raises(RuntimeError, match="without a manifest"):
        with c.staging("tiny", "2" * 16):
            pass
    assert not c.entry_dir("tiny", "2" * 16).exists()


def test_a_directory_without_manifest_is_not_an_image(tmp_path):
    c = Cache(tmp_path)
    (tmp_path / ("tiny-" + "3" * 16)).mkdir(parents=True)
    assert c.manifest("tiny", "3" * 16) is None and c.entries() == []


PROBE = textwrap.dedent("""
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("free")
    except BlockingIOError:
        print("held")
""")


def probe(path):
    return subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_lock_excludes_other_processes_and_is_reentrant(tmp_path):
    c = Cache(tmp_path)
    with c.lock():
        assert probe(tmp_path / ".lock") == "held"
        with c.lock():                      # the same process again: no deadlock
            assert probe(tmp_path / ".lock") == "held"
        assert probe(tmp_path / ".lock") == "held"
    assert probe(tmp_path / ".lock") == "free"
    assert cache_module._lock_depth[str(tmp_path)] == 0


def test_lock_removes_leftovers_of_dead_builds(tmp_path):
    c = Cache(tmp_path)
    c.prepare()
    stale = tmp_path / ".tmp-tiny-0000000000000000-99999"
    stale.mkdir()
    (c.downloads / ".partial-busybox-static-99999").mkdir()
    with c.lock():
        pass
    assert not stale.exists() and list(c.downloads.iterdir()) == []
