"""The command line: help, and one-line errors for expected failures."""
import os
import re
import subprocess
import sys

import pytest


def run(args, env_extra=None, path=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "emu.images"] + args, capture_output=True,
                          text=True, env=env, timeout=120)


def one_line_error(result, rc):
    assert result.returncode == rc, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pyemu-images: error: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help_names_every_command():
    r = run(["--help"])
    assert r.returncode == 0
    for word in ("build", "path", "list", "clean", "tiny", "debian", "PYEMU_IMAGE_DIR"):
        assert word in r.stdout, word
    assert run(["build", "--help"]).returncode == 0


@pytest.mark.parametrize("args", [["build", "nosuch"], ["path", "all"], ["path", "nosuch"]])
def test_unknown_image_is_a_one_line_error(args):
    line = one_line_error(run(args), 2)
    assert "unknown image" in line


def test_missing_command_is_a_one_line_error():
    one_line_error(run([]), 2)


def test_unusable_image_dir_is_a_one_line_error(tmp_path):
    # A file where the cache directory should be: fails even for root, unlike chmod.
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_line_error(run(["build", "tiny"], {"PYEMU_IMAGE_DIR": str(blocker / "cache")}), 1)
    assert str(blocker / "cache") in line and "PYEMU_IMAGE_DIR" in line


def test_path_of_an_image_not_built(tmp_path):
    line = one_line_error(run(["path", "tiny", "--kernel"], {"PYEMU_IMAGE_DIR": str(tmp_path)}), 1)
    assert "not built" in line and "pyemu-images build tiny" in line


def test_no_apt_is_a_one_line_error(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    line = one_line_error(run(["build", "debian"], {"PYEMU_IMAGE_DIR": str(tmp_path / "c")},
                              path=str(empty)), 1)
    assert "apt-get" in line and "Debian" in line


def test_list_and_clean_on_an_empty_cache(tmp_path):
    env = {"PYEMU_IMAGE_DIR": str(tmp_path / "c")}
    r = run(["list"], env)
    assert r.returncode == 0 and "no images built" in r.stdout
    r = run(["clean"], env)
    assert r.returncode == 0, r.stderr
    r = run(["clean", "--all"], env)
    assert r.returncode == 0, r.stderr


def fake_image(root, name, digest, local_digest):
    from emu.images.cache import write_manifest
    d = root / ("%s-%s" % (name, digest))
    d.mkdir(parents=True)
    (d / "bzImage").write_bytes(b"k" * 1000)
    (d / "initrd.img").write_bytes(b"i")
    write_manifest(d, {"name": name, "digest": digest, "local_digest": local_digest,
                       "kernel": "bzImage", "initrd": "initrd.img", "built": digest,
                       "packages": {"busybox-static": "1:1.35"}})
    return d


def test_path_list_and_clean_old_without_apt_lists(tmp_path):
    # No i386 lists in this cache: the image built from the same local inputs
    # (fragment, /init, recipe) stands for the current one.
    from emu.images.build import Builder
    from emu.images.cache import Cache
    root = tmp_path / "c"
    current = fake_image(root, "tiny", "a" * 16, Builder(cache=Cache(root)).local_digest("tiny"))
    old = fake_image(root, "tiny", "b" * 16, "0" * 16)
    env = {"PYEMU_IMAGE_DIR": str(root)}
    r = run(["path", "tiny"], env)
    assert r.returncode == 0 and r.stdout.split() == [str(current / "bzImage"),
                                                      str(current / "initrd.img")]
    assert run(["path", "tiny", "--initrd"], env).stdout.strip() == str(current / "initrd.img")
    assert run(["path", "tiny", "--cmdline"], env).stdout.strip() == "console=ttyS0 panic=-1"
    listing = run(["list"], env).stdout
    assert re.search(r"tiny +a{16} +current", listing) and re.search(r"tiny +b{16} +old", listing)
    assert "busybox-static 1:1.35" in listing
    r = run(["clean", "--old"], env)
    assert r.returncode == 0 and current.exists() and not old.exists()
    r = run(["clean"], env)
    assert r.returncode == 0 and not current.exists()


def test_no_network_is_a_clear_error(tmp_path):
    from emu.images import apt
    if not apt.apt_available():
        pytest.skip("apt is not installed")
    # apt honours the proxy variables: a closed port on loopback stands for no network.
    proxy = "http://127.0.0.1:9"
    r = run(["build", "debian"], {"PYEMU_IMAGE_DIR": str(tmp_path / "c"), "http_proxy": proxy,
                                  "https_proxy": proxy})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("pyemu-images: error: cannot reach Debian's package servers (no network?)")
    assert str(tmp_path / "c" / "logs" / "debian.log") in last


def test_a_failed_build_shows_the_end_of_its_log_then_one_error_line(monkeypatch, capsys):
    from emu.images import cli
    from emu.images.errors import ImageError

    def failing(args, reporter):
        raise ImageError("make bzImage failed (exit status 2)", log="/c/logs/tiny.log",
                         details=["  CC kernel/fork.o", "error: out of memory"])
    monkeypatch.setitem(cli.COMMANDS, "list", failing)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["pyemu-images: last lines of the log:", "      CC kernel/fork.o",
                   "    error: out of memory",
                   "pyemu-images: error: make bzImage failed (exit status 2) "
                   "(full log: /c/logs/tiny.log)"]
