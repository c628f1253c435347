"""The drive options on pyemu's command line as a user meets them: -hda is not
-h, and every bad disk input is one line on stderr and exit status 1."""
import ctypes
import os
import subprocess
import sys

import pytest

from emu import cli
from emu.block.image import RawImage
from emu.session import REPO


def pyemu(*args, timeout=300, preexec_fn=None):
    r = subprocess.run([sys.executable, "-m", "emu.cli", *args], cwd=REPO, capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=preexec_fn)
    return r.returncode, r.stdout, r.stderr


# prctl(2) and capabilities(7): a process without CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH in its bounding set execs with neither, and then even
# root is held to a file's permission bits.  (Running as nobody instead would
# need the interpreter and the repository reachable by nobody, and a root-only
# pyenv under /root is not.)
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_permission_override():
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, %d)" % cap)


def pyemu_as_a_user(*args):
    """pyemu run so that file permissions apply to it, as they do to any user but root."""
    if os.geteuid() != 0:
        return pyemu(*args)
    try:
        return pyemu(*args, preexec_fn=_drop_file_permission_override)
    except subprocess.SubprocessError:
        pytest.skip("root here cannot drop CAP_DAC_OVERRIDE (no CAP_SETPCAP)")


@pytest.fixture
def files(tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)          # never booted: the disk error comes first
    good = tmp_path / "good.img"
    good.write_bytes(b"\0" * 512 * 16)
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"\0" * 1000)
    return {"kernel": str(kernel), "good": str(good), "odd": str(odd), "dir": str(tmp_path),
            "missing": str(tmp_path / "missing.img")}


def test_hda_is_not_help(files):
    status, out, err = pyemu("-hda", files["missing"], "-kernel", files["kernel"])
    assert "usage" not in out
    assert status == 1


@pytest.mark.parametrize("args,message", [
    (["-hda", "{missing}"], "pyemu: cannot open disk image '{missing}': No such file or directory"),
    (["-hdb", "{dir}"], "pyemu: disk image '{dir}' is a directory"),
    (["-hdc", "{odd}"], "pyemu: disk image '{odd}' is 1000 bytes, not a whole number of 512-byte sectors"),
    (["-drive", "file={good},format=qcow2"], "pyemu: -drive format=qcow2: unknown image format (pyemu reads raw)"),
    (["-drive", "file={good},if=scsi"], "pyemu: -drive if=scsi: pyemu's PC has IDE drives only (if=ide)"),
    (["-hda", "{good}", "-drive", "file={good},index=0"],
     "pyemu: -hda and -drive file={good},index=0 both want IDE index 0 (the primary master)"),
    (["-boot", "z"], "pyemu: -boot z: boot devices are letters of c (hard disk), d (CD-ROM), a, n"),
    (["-m", "100G"], "pyemu: -m 100G: pyemu's PC takes at most 3584M of RAM (it has no memory above 4 GB)"),
])
def test_bad_input_is_one_line(files, args, message):
    args = [a.format(**files) for a in args]
    status, out, err = pyemu(*args, "-kernel", files["kernel"], "-nographic")
    assert status == 1
    assert err.strip() == message.format(**files)
    assert out == ""


def test_an_image_in_use_is_refused(files):
    holder = RawImage(files["good"])           # as another pyemu writing it would
    try:
        status, out, err = pyemu("-hda", files["good"], "-kernel", files["kernel"], "-nographic")
        assert status == 1
        assert err.strip() == ("pyemu: disk image '%s' is in use by another process (it holds a lock "
                               "on it); use readonly=on or -snapshot to share it" % files["good"])
    finally:
        holder.close()


@pytest.mark.parametrize("mode,drive,message", [
    # the file cannot be written: the hint names the ways to use it read-only,
    # but only where it can be read
    (0o444, "file={img}", "pyemu: cannot open disk image '{img}' for writing: Permission denied "
                          "(add readonly=on, or -snapshot, to use it without writing)"),
    (0o000, "file={img}", "pyemu: cannot open disk image '{img}' for writing: Permission denied"),
    (0o000, "file={img},readonly=on", "pyemu: cannot open disk image '{img}' for reading: Permission denied"),
])
def test_an_image_the_user_may_not_open(files, mode, drive, message):
    img = files["good"]
    os.chmod(img, mode)
    status, out, err = pyemu_as_a_user("-drive", drive.format(img=img), "-kernel", files["kernel"], "-nographic")
    assert status == 1
    assert out == ""
    assert err == message.format(img=img) + "\n"


def test_more_ram_than_the_host_has(monkeypatch):
    sizes = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": (512 << 20) // 4096}     # a 512 MB host
    monkeypatch.setattr(cli.os, "sysconf", lambda name: sizes[name])
    with pytest.raises(cli.UsageError) as e:
        cli.parse_args(["-m", "1G"])
    assert str(e.value) == "-m 1G is more than this host's memory (512 MB)"
    cli.parse_args(["-m", "256M"])


def test_drive_options_build_the_config(files):
    cfg = cli.parse_args(["-hdb", files["good"], "-cdrom", files["good"],
                          "-drive", "file=%s,readonly=on" % files["good"], "-snapshot", "-boot", "order=dc"])
    assert [(d.index, d.media, d.readonly) for d in cfg.drives] == [(0, "disk", True), (1, "disk", False),
                                                                     (2, "cdrom", False)]
    assert cfg.snapshot and cfg.boot_order == "dc"
