"""Snapshots as a guest test sees them: pyemu processes restored from a file
(`-loadvm`, GuestSession.start(loadvm=...)), snapshots taken through QMP
(GuestSession.snapshot), and the `booted_guest` fixture that boots each
configuration once and restores it for every test."""
import subprocess
import sys
import time

import pytest

from emu import images
from emu.session import REPO, GuestSession


@pytest.fixture(scope="module")
def tiny():
    img = images.ensure("tiny", quiet=True)
    return dict(kernel=img.kernel, initrd=img.initrd, append=img.cmdline_hint)


def test_a_restored_guest_answers_at_once_and_keeps_time(booted_guest, tiny):
    s = booted_guest(**tiny)
    assert s.run("echo $((6 * 7))") == "42"
    assert b"BOOT-OK" not in s.log, "the guest booted instead of being restored"
    # a timer armed after the restore fires on time
    t0 = time.monotonic()
    s.run("sleep 2", check=True)
    took = time.monotonic() - t0
    assert 1.9 < took < 10, took


def test_every_restore_starts_from_the_same_state(booted_guest, tiny):
    """What one restored guest changes, the next one does not see."""
    first = booted_guest(**tiny)
    first.run("echo scribble > /tmp/mark", check=True)
    first.kill()
    second = booted_guest(**tiny)
    assert second.run("cat /tmp/mark 2>/dev/null || echo none") == "none"


def test_a_snapshot_taken_mid_session_comes_back(guest_session, tiny, tmp_path):
    s = guest_session(wait_for=images.PROMPT_RE, **tiny)
    s.run("echo 'written before the snapshot' > /tmp/note; cd /proc", check=True)
    path = s.snapshot(tmp_path / "mid.snap")
    s.run("echo 'written after it' > /tmp/note", check=True)
    s.kill()
    restored = guest_session(loadvm=path, **tiny)
    assert restored.run("cat /tmp/note; pwd") == "written before the snapshot\n/proc"
    assert restored.poweroff(timeout=60) == 0

    # the same snapshot into a machine with other RAM: one line, status 1
    cmd = [sys.executable, "-m", "emu.cli", "-kernel", str(tiny["kernel"]), "-initrd", str(tiny["initrd"]),
           "-append", tiny["append"], "-m", "256", "-nographic", "-loadvm", str(path)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert r.stderr == ("pyemu: snapshot '%s' was taken with a different RAM size (-m): start pyemu with "
                        "the options it was saved with\n" % path)


def test_a_damaged_cached_snapshot_is_booted_again(tiny, tmp_path, monkeypatch, capsys):
    from emu import booted
    monkeypatch.setattr(booted, "cache_root", lambda: tmp_path)     # snapshots of its own
    path = booted.booted_snapshot(ready=images.PROMPT_RE, **tiny)
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    again = booted.booted_snapshot(ready=images.PROMPT_RE, **tiny)
    assert again == path
    assert "is damaged (its checksum does not match); booting the guest again" in capsys.readouterr().err
    with GuestSession.start(loadvm=again, **tiny) as s:
        assert s.run("echo ok") == "ok"
