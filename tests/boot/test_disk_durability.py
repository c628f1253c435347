"""Durability: pyemu killed with SIGKILL while the guest writes (issue
[disk-bios]).  Each round boots the tiny kernel with its root on the disk
image, starts a writer that creates files and syncs after each one, and
kills pyemu at a random moment.  Guest writes reach the image file before
their ATA command completes (docs/disks.md), so the image is exactly what
the guest's disk held at the kill: what the guest synced is there, and an
ext2 that was being written is only as inconsistent as after a power loss.
After each round, on the host: e2fsck -fn (read-only) is run and must
find nothing worse than an interrupted ext2 leaves; e2fsck -fy repairs it
as a booting system would (exit 0 or 1: nothing uncorrectable), and every
file any round saw synced is there with its content (debugfs).

PYEMU_DURABILITY_ROUNDS sets the rounds (20 by default); benchmarks/durability.py
runs the same rounds, more of them, and reports each."""
import os
import random
import re
import shutil
import subprocess
import time

import pytest

from .disklib import debugfs, disk_image, e2fsck, extract_partition, write_partition
from .test_disk_root import boot_from_disk

ROUNDS = int(os.environ.get("PYEMU_DURABILITY_ROUNDS", "20"))
# what e2fsck -n may report after an ext2 was cut off mid-write: counts and bitmaps
# not yet written back, an inode of an unsynced file half made (its inode table
# block written, its directory entry not yet: "Unattached zero-length inode");
# never a problem with a file that was synced (checked by content below)
EXPECTED_AFTER_A_CUT = re.compile(
    r"not cleanly unmounted|Free (blocks|inodes) count wrong|[Bb]lock bitmap differences|"
    r"[Ii]node bitmap differences|Directories count wrong|Padding at end of .* bitmap|"
    r"Unattached (zero-length )?inode|Inode \d+ ref count|Entry '.*' in .* has deleted/unused inode|"
    r"Inode \d+ was part of the orphaned|i_size is|i_blocks is|deleted inode|Illegal block|"
    r"Deleted inode \d+ has zero dtime|has zero dtime|Connect to /lost\+found")


def content(rnd, i):
    return "round-%d-file-%d-%s" % (rnd, i, "x" * (97 * (i % 40)))


def writer(rnd):
    # each file: its name's content, sync, then the marker the host waits for
    return ("i=0; while true; do printf 'round-%d-file-%%d-' $i > /root/r%d_$i; "
            "n=$((97 * (i %% 40))); [ $n -gt 0 ] && head -c $n /dev/zero | tr '\\0' x >> /root/r%d_$i; "
            "sync; echo SYNCED-%d-$i; i=$((i+1)); done" % (rnd, rnd, rnd, rnd))


def problems(report):
    """e2fsck's problems in its report, each the text that leads to one of its
    questions: a question may stand on its own line after what it is about
    ("Block bitmap differences:  +2849" then "Fix? no")."""
    found, lines = [], []
    for line in report.splitlines():
        if not line.strip() or line.startswith("Pass "):
            lines = []
        elif line[0].isupper() and "?" in line:
            found.append("\n".join(lines + [line]))
            lines = []
        else:
            lines.append(line)
    return found


def unexpected_problems(report):
    """The problems in an e2fsck -n report that are more than an interrupted write leaves."""
    return [p for p in problems(report) if not EXPECTED_AFTER_A_CUT.search(p)]


def kill_round(boot, disk, work, rnd, rng, synced):
    """One round (benchmarks/durability.py runs it too): boot(disk) gives a session
    at the prompt; start the writer, kill -9 after a random number of synced files
    and a random moment, then check the image on the host and put the repaired
    root back for the next round.  synced (name -> content) gains this round's
    synced files and is checked whole.  Returns what was seen: files synced, the
    e2fsck -n status and report, its unexpected lines, the e2fsck -fy status and
    the synced files missing or wrong after the repair."""
    s = boot(disk)
    s.sendline(writer(rnd))
    want = rng.randint(1, 6)
    last = -1
    while last + 1 < want:
        m = s.expect(r"SYNCED-%d-(\d+)" % rnd, timeout=300)
        last = int(m.group(1))
    time.sleep(rng.uniform(0, 0.6))           # the kill lands anywhere in the next file
    s.kill()
    for i in range(last + 1):
        synced["r%d_%d" % (rnd, i)] = content(rnd, i)
    root = extract_partition(disk, 1, work / "root.ext2")
    status, report = e2fsck(root)
    repaired = work / "repaired.ext2"
    shutil.copyfile(root, repaired)
    r = subprocess.run(["e2fsck", "-fy", str(repaired)], capture_output=True, text=True)
    missing = [name for name, text in synced.items() if debugfs(repaired, "cat /root/%s" % name) != text]
    write_partition(disk, 1, repaired)
    return {"synced": last + 1, "fsck_n": status, "report": report,
            "unexpected": unexpected_problems(report),
            "fsck_y": r.returncode, "fsck_y_output": r.stdout + r.stderr, "missing": missing}


@pytest.mark.slow
def test_kill_9_while_the_guest_writes(guest_session, tmp_path):
    img, disk = disk_image(tmp_path)
    rng = random.Random(20261204)
    synced = {}                                   # name -> content of every file seen synced
    complaints = []
    for rnd in range(ROUNDS):
        got = kill_round(lambda d: boot_from_disk(guest_session, img, d), disk, tmp_path, rnd, rng, synced)
        assert got["fsck_n"] in (0, 4), got["report"]
        if got["unexpected"]:
            pytest.fail("round %d: e2fsck -n found more than an interrupted write:\n%s" % (rnd, got["report"]))
        complaints.append(got["fsck_n"])
        assert got["fsck_y"] in (0, 1), got["fsck_y_output"]
        assert not got["missing"], (rnd, got["missing"])
    print("e2fsck -n statuses over %d rounds: %s" % (ROUNDS, complaints))


def _small_ext2(path, *debugfs_requests):
    """A 4 MB ext2 made by mke2fs, changed by debugfs -w requests."""
    subprocess.run(["truncate", "-s", "4M", str(path)], check=True)
    subprocess.run(["mke2fs", "-q", "-t", "ext2", "-b", "1024", str(path)], check=True)
    for request in debugfs_requests:
        subprocess.run(["debugfs", "-w", "-R", request, str(path)], check=True, capture_output=True)
    return path


def test_a_file_cut_off_before_its_directory_entry_is_expected(tmp_path):
    """The state a kill leaves when the new file's inode reached the disk and its
    directory entry did not (CI saw it once under load): e2fsck's complaints about
    it are what an interrupted write leaves."""
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    fs = _small_ext2(tmp_path / "cut.ext2", "write %s r0_1" % empty, "unlink r0_1")
    status, report = e2fsck(fs)
    assert status == 4 and problems(report), report
    assert not unexpected_problems(report), report


def test_bitmaps_behind_the_inode_table_are_expected(tmp_path):
    """The state the last CI run's kill left: a new file's inode and block written,
    the bitmaps not yet ("Block bitmap differences: +N" with its "Fix?" on the next
    line).  It is an interrupted write; its question must be read with its line."""
    data = tmp_path / "data"
    data.write_bytes(b"x" * 1000)
    fs = _small_ext2(tmp_path / "behind.ext2", "write %s r0_1" % data)
    block = debugfs(fs, "blocks r0_1").split()[0]
    for request in ("freeb %s" % block, "freei r0_1"):
        subprocess.run(["debugfs", "-w", "-R", request, str(fs)], check=True, capture_output=True)
    status, report = e2fsck(fs)
    assert status == 4, report
    assert any("Block bitmap differences:  +%s" % block in p for p in problems(report)), report
    assert any("Inode bitmap differences" in p for p in problems(report)), report
    assert not unexpected_problems(report), report


def test_a_torn_directory_is_unexpected(tmp_path):
    """A directory block of garbage is more than an interrupted write leaves: the
    check must say so."""
    fs = _small_ext2(tmp_path / "torn.ext2", "mkdir d")
    block = int(debugfs(fs, "blocks d").split()[0])
    with open(fs, "r+b") as f:
        f.seek(block * 1024)
        f.write(b"\xff" * 1024)
    status, report = e2fsck(fs)
    assert status != 0, report
    assert unexpected_problems(report), report
