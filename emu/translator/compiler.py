"""LLVM at O2 for hot blocks, on a thread of its own.

The run loop hands a hot block over (`submit`) and goes on running it from
its baseline code; this thread builds the block's relocatable IR (hot.py)
and has LLVM compile it into a stencil library, several waiting blocks in
one module.  Python holds the GIL while it builds IR, but LLVM's work runs
with the GIL released (llvmlite's calls go through ctypes), mostly while the
run loop is inside native code, which does not hold it either: on a host
with a second core the guest loses next to nothing to O2.  The run loop
collects finished blocks at its turns (`finished`) and puts them in place
of the baseline code (Translator.install_hot).

PYEMU_BACKGROUND=0 compiles on the run loop's thread instead, at once (tests
that must see the tier-up happen use it).
"""
import collections
import os
import threading
import time

import llvmlite.ir as ir

from .baseline.stencilgen import stencil_ir
from .cnp import build_library
from .codecache import HotEntry
from .errors import TranslationError
from .hot import emit_hot_block

BATCH = 8                   # blocks compiled in one LLVM module at most


def background_from_env():
    v = os.environ.get("PYEMU_BACKGROUND", "").strip()
    if v not in ("", "0", "1"):
        raise ValueError("PYEMU_BACKGROUND must be 0 or 1, not %r" % v)
    return v != "0"


class Job:
    __slots__ = ("key", "insns", "cs_base", "hflags", "result", "where")

    def __init__(self, key, insns, cs_base, hflags, where=None):
        self.key = key
        self.insns = insns
        self.cs_base = cs_base
        self.hflags = hflags
        self.where = where          # what the submitter needs to install the result
        self.result = None          # (library, HotEntry) or None when it cannot be compiled


def compile_jobs(jobs):
    """Compile jobs into one library; sets each job's result.  A block that
    cannot be translated (TranslationError) leaves its job without one; the
    others are then compiled one module each."""
    module = ir.Module("hot")
    made = []
    for job in jobs:
        name = "hot.%016x%016x" % (job.key[0] & (2**64 - 1), job.key[1] & (2**64 - 1))
        try:
            _, g = emit_hot_block(job.insns, name, job.cs_base, job.hflags, module=module)
        except TranslationError:
            if len(jobs) > 1:           # the module holds half a function: start again, one by one
                for j in jobs:
                    compile_jobs([j])
            return
        exits = [t.delta for t in g.slot_targets]
        made.append((job, HotEntry(job.key, name, len(job.insns), exits)))
    lib = build_library(stencil_ir(module), roles=("block_eip",), addr_names=("slots",))
    for job, entry in made:
        job.result = (lib, entry)


class BackgroundCompiler:
    def __init__(self, background=None):
        self.background = background_from_env() if background is None else background
        self._queue = collections.deque()
        self._done = collections.deque()
        self._cond = threading.Condition()
        self._pending = set()           # keys submitted and not collected yet
        self.compiled = 0               # blocks compiled
        self.seconds = 0.0              # LLVM and IR time spent on them
        self._alive = True
        self._thread = None

    def pending(self, key):
        return key in self._pending

    def submit(self, job):
        """Compile job: in the background, or now (PYEMU_BACKGROUND=0)."""
        self._pending.add(job.key)
        if not self.background:
            self._compile([job])
            return
        with self._cond:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="pyemu-o2", daemon=True)
                self._thread.start()
            self._cond.notify()

    def has_finished(self):
        return bool(self._done)

    def finished(self):
        """Jobs compiled since the last call (the run loop installs them)."""
        out = []
        while self._done:
            job = self._done.popleft()
            self._pending.discard(job.key)
            out.append(job)
        return out

    def _compile(self, jobs):
        t0 = time.perf_counter()
        try:
            compile_jobs(jobs)
        except Exception:                   # noqa: BLE001 - a bad block stays at the baseline
            for job in jobs:
                job.result = None
        self.seconds += time.perf_counter() - t0
        self.compiled += sum(1 for j in jobs if j.result is not None)
        self._done.extend(jobs)

    def _loop(self):
        while True:
            with self._cond:
                while self._alive and not self._queue:
                    self._cond.wait()
                if not self._alive:
                    return
                jobs = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            self._compile(jobs)

    def stop(self):
        with self._cond:
            self._alive = False
            self._queue.clear()
            self._cond.notify()
