"""Durability benchmark: pyemu killed with SIGKILL while the guest writes, for
more rounds than the test in .ci/run (issue [disk-bios]).

    python benchmarks/durability.py [--rounds N] [--seed S]

Each round is tests/boot/test_disk_durability.py's kill_round, imported from
there: boot the tiny kernel with its root on a copy of the tiny-disk image,
write and sync files in the guest, kill -9 pyemu at a random moment, then on
the host e2fsck -fn (must find nothing worse than an interrupted ext2
leaves), e2fsck -fy, and every file any round saw synced checked by content.
One line per round and a summary go to stdout; the exit status is 1 if any
round found more than an interrupted write or lost a synced file.
"""
import argparse
import pathlib
import random
import shutil
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))      # the test package is "boot", as pytest imports it

from emu import images  # noqa: E402
from emu.session import GuestSession  # noqa: E402
from boot.test_disk_durability import kill_round  # noqa: E402
from boot.test_disk_root import boot_from_disk  # noqa: E402


class Sessions:
    """The session factory boot_from_disk wants; kills whatever a failed round left."""

    def __init__(self, work):
        self.work, self.started = work, []

    def __call__(self, **kwargs):
        kwargs.setdefault("log_path", self.work / ("console-%d.log" % (len(self.started) + 1)))
        s = GuestSession.start(**kwargs)
        self.started.append(s)
        return s

    def kill_all(self):
        for s in self.started:
            s.kill()


def round_line(rnd, got, seconds):
    verdict = "ok" if good(got) else "FAIL"
    return ("round %3d: %s  synced %d  e2fsck -n %d  e2fsck -fy %d  missing %d  %.1f s" % (
        rnd, verdict, got["synced"], got["fsck_n"], got["fsck_y"], len(got["missing"]), seconds))


def good(got):
    return (got["fsck_n"] in (0, 4) and not got["unexpected"] and got["fsck_y"] in (0, 1)
            and not got["missing"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261204,
                    help="seed of the kill moments (the test's by default)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (image, logs)")
    args = ap.parse_args(argv)
    img = images.ensure("tiny-disk", quiet=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="pyemu-durability-"))
    disk = work / "disk.img"
    shutil.copyfile(img.disk, disk)
    sessions = Sessions(work)
    rng = random.Random(args.seed)
    synced, results = {}, []
    print("durability: %d rounds, seed %d, image %s" % (args.rounds, args.seed, img.disk))
    try:
        for rnd in range(args.rounds):
            t0 = time.monotonic()
            got = kill_round(lambda d: boot_from_disk(sessions, img, d), disk, work, rnd, rng, synced)
            results.append(got)
            print(round_line(rnd, got, time.monotonic() - t0), flush=True)
            for problem in got["unexpected"]:
                print("    e2fsck -n: %s" % problem.replace("\n", " | "))
            if got["missing"]:
                print("    missing or wrong: %s" % " ".join(got["missing"][:10]))
    finally:
        sessions.kill_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work directory kept: %s" % work)
    failed = [k for k, got in enumerate(results) if not good(got)]
    print("summary: %d rounds, %d failed%s; %d files synced and checked; e2fsck -n clean after "
          "%d rounds, found an interrupted write's traces after %d" % (
              len(results), len(failed), (" (rounds %s)" % ", ".join(map(str, failed))) if failed else "",
              len(synced), sum(g["fsck_n"] == 0 for g in results), sum(g["fsck_n"] == 4 for g in results)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
