"""Guest runs shared by the pytest-xdist workers of one session.

Several tests look at one run (a program's "passes" and "matches QEMU"
tests), and xdist hands them to different workers: without sharing, each
worker would run the same guest again.  A run is made once per session by
whichever worker asks first (the others wait on a lock file) and kept as a
pickle in the session's temporary directory, which all workers share.
"""
import fcntl
import hashlib
import os
import pickle


def session_dir(tmp_path_factory, name):
    """A directory every worker of this session sees (the workers' temporary
    directories are subdirectories of the session's)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    d = base / ("shared-" + name)
    d.mkdir(parents=True, exist_ok=True)
    return d


class SharedRuns:
    def __init__(self, directory):
        self.dir = directory
        self._mine = {}

    def get(self, key, make):
        """make()'s result for key, made once in the session."""
        if key in self._mine:
            return self._mine[key]
        stem = self.dir / hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        with open(str(stem) + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                path = str(stem) + ".pickle"
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        value = pickle.load(f)
                else:
                    value = make()
                    with open(path + ".tmp", "wb") as f:
                        pickle.dump(value, f)
                    os.replace(path + ".tmp", path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._mine[key] = value
        return value
