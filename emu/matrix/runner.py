"""Running a matrix on Dask distributed: one task per case, one guest per worker thread.

    from emu.matrix import load_matrix, run_matrix
    results = run_matrix(load_matrix("matrix.toml"), workers=2)      # a LocalCluster
    results = run_matrix("matrix.toml", scheduler="tcp://host:8786")  # an existing cluster

A task (run_case, on a worker) boots its guest with GuestSession, waits for
the configuration's ready pattern, types the test's script in if it has one,
runs the command and returns a Result.  Its guest always ends: powered off
(`reboot -f`, so pyemu merges what it compiled into the shared on-disk cache)
when the command finished, killed otherwise; a watchdog thread kills it when
the task overruns its limits.  The caller keeps an outer deadline per task
too (counted from the task's start, which the worker reports as a Dask event):
a task that still has not returned is reported as a timeout, cancelled, its
guest killed and its worker restarted, so a wedged worker cannot hang the
run.  If no task starts or ends for longer than any task may take, what is
left is reported as errors and the run ends.

Workers use the caches of the machine they run on (PYEMU_CACHE_DIR, shared
safely between processes); on an existing cluster the kernel and initrd
paths must be readable on the workers, or use `image =`, which each worker
resolves from its own image cache.
"""
import dataclasses
import functools
import logging
import os
import pathlib
import re
import signal
import socket
import tempfile
import threading
import time
import traceback
import uuid

from .. import images
from ..booted import start_booted
from ..session import GuestSession, SessionError, SessionExited, SessionTimeout
from .spec import DEFAULT_APPEND, Matrix, load_matrix

POWEROFF_TIMEOUT = 30.0     # `reboot -f` to pyemu's exit (it saves its caches on the way)
WATCHDOG_GRACE = 15.0       # the worker's watchdog: after every limit of the task has passed
CALLER_GRACE = 45.0         # the caller's deadline: later still, in case the worker is wedged
SCRIPT_PATH = "/tmp/pyemu-matrix-script"
SCRIPT_CHUNK = 240          # characters of printf argument per typed line

STATUSES = ("passed", "failed", "timeout", "error")


@dataclasses.dataclass
class Result:
    """What one case came to.  status: passed (exit status and output as expected),
    failed (not), timeout (a limit passed: boot, command or the outer deadline),
    error (the guest or the emulator died, or the task could not run)."""
    config: str
    test: str
    status: str = "error"
    exit_status: int = None         # the command's, when it finished
    output: str = ""                # the command's output (no echo, no prompt)
    console: str = ""               # the whole console log (and pyemu's stderr after it)
    duration: float = 0.0           # seconds, boot included
    message: str = ""               # why it did not pass
    phase: str = ""                 # where it ended: boot, script, command, done
    worker: str = ""                # host:pid of the worker process
    emulator_status: int = None     # pyemu's exit status after poweroff (None: killed)
    log_path: str = None            # set by run_matrix(logs=DIR)

    @property
    def name(self):
        return "%s/%s" % (self.config, self.test)

    @property
    def ok(self):
        return self.status == "passed"

    def to_dict(self):
        return dataclasses.asdict(self)


def _limits(case):
    """Seconds the whole case may take on the worker: boot, the test, the poweroff."""
    return case.config.boot_timeout + case.test.timeout + POWEROFF_TIMEOUT


def _printf_chunks(data, width=SCRIPT_CHUNK):
    """data (bytes) as printf format strings to type in single quotes: printable
    ASCII stays as it is, everything else (newlines, tabs, quotes, %, \\) becomes
    an octal escape, so neither the shell nor the line editor sees anything special."""
    chunks, cur = [], []
    n = 0
    for b in data:
        if 32 <= b < 127 and b not in b"'%\\":
            piece = chr(b)
        else:
            piece = "\\%03o" % b
        if n + len(piece) > width:
            chunks.append("".join(cur))
            cur, n = [], 0
        cur.append(piece)
        n += len(piece)
    if cur or not chunks:
        chunks.append("".join(cur))
    return chunks


def _resolve(config):
    """kernel, initrd, append of a configuration (an image is looked up on this machine)."""
    if config.image is not None:
        img = images.find(config.image)     # never a build here: N workers would build it N times
        if img is None:
            raise RuntimeError("image %r is not built on %s: run `pyemu-images build %s` there"
                               % (config.image, socket.gethostname(), config.image))
        if img.initrd is None:
            raise RuntimeError("image %r has no initrd (a disk image); use kernel/initrd/args instead"
                               % config.image)
        append = config.append if config.append is not None else img.cmdline_hint
        return str(img.kernel), str(img.initrd), append
    return config.kernel, config.initrd, config.append if config.append is not None else DEFAULT_APPEND


def _report(topic, msg):
    """Tell the caller (a Dask event) what this task is doing; nothing outside a worker."""
    if not topic:
        return
    try:
        from distributed import get_worker      # deferred: the matrix extra's, heavy (0.3 s)
        get_worker().log_event(topic, msg)
    except Exception:           # not in a worker (run_case called directly), or an old worker
        pass


def _worker_address():
    try:
        from distributed import get_worker      # deferred: the matrix extra's, heavy (0.3 s)
        return get_worker().address
    except Exception:
        return None


def _first_line(exc):
    return str(exc).split("\n", 1)[0]


def run_case(case, task_id=None, topic=None):
    """Run one case here (a Dask task, or directly); returns a Result, never raises
    for the guest's sake, and leaves no emulator running."""
    config, test = case.config, case.test
    res = Result(config=config.name, test=test.name, worker="%s:%d" % (socket.gethostname(), os.getpid()))
    t0 = time.monotonic()
    _report(topic, {"id": task_id, "event": "start", "worker": res.worker, "address": _worker_address()})
    session = None
    watchdog = None
    fired = threading.Event()
    tmp = tempfile.TemporaryDirectory(prefix="pyemu-matrix-")
    try:
        res.phase = "boot"
        kernel, initrd, append = _resolve(config)
        start = GuestSession.start
        if config.restore:                  # the first case of a configuration boots it, once
            start = functools.partial(start_booted, ready=config.ready, boot_timeout=config.boot_timeout)
        session = start(kernel=kernel, initrd=initrd, append=append, extra_args=config.args,
                        memory=config.memory, timeout=config.boot_timeout,
                        log_path=pathlib.Path(tmp.name) / "console.log")
        _report(topic, {"id": task_id, "event": "guest", "pid": session.proc.pid,
                        "host": socket.gethostname()})

        def kill():
            fired.set()
            try:
                os.killpg(session.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        watchdog = threading.Timer(_limits(case) + WATCHDOG_GRACE, kill)
        watchdog.daemon = True
        watchdog.start()

        try:
            if not config.restore:          # a restored guest is at its prompt already
                session.expect(config.ready, timeout=config.boot_timeout)
        except SessionTimeout:
            res.status = "timeout"
            res.message = "boot: the ready pattern %r did not appear within %gs" % (config.ready,
                                                                                  config.boot_timeout)
            return res
        deadline = time.monotonic() + test.timeout

        def left():
            return max(deadline - time.monotonic(), 0.1)

        command = test.command
        if test.script is not None:
            res.phase = "script"
            session.run("mkdir -p /tmp; : > %s" % SCRIPT_PATH, timeout=left(), check=True)
            for chunk in _printf_chunks(test.script):
                session.run("printf '%s' >> %s" % (chunk, SCRIPT_PATH), timeout=left(), check=True)
            command = "chmod +x %s; %s" % (SCRIPT_PATH, SCRIPT_PATH)

        res.phase = "command"
        try:
            res.output = session.run(command, timeout=left())
        except SessionTimeout:
            res.status = "timeout"
            res.message = "the command did not finish within %gs" % test.timeout
            return res
        res.exit_status = session.last_status
        res.phase = "done"

        problems = []
        if res.exit_status != test.expect_status:
            problems.append("exit status %d, expected %d" % (res.exit_status, test.expect_status))
        if test.expect_output is not None and not _search(test.expect_output, res.output):
            problems.append("the output does not match %r" % test.expect_output)
        res.status = "failed" if problems else "passed"
        res.message = "; ".join(problems)

        if config.poweroff:
            try:
                res.emulator_status = session.poweroff(POWEROFF_TIMEOUT)
            except SessionError:
                pass                    # killed below
        return res
    except SessionExited as e:
        res.status = "error"
        res.message = "%s: %s" % (res.phase, _first_line(e))
        if fired.is_set():
            res.status = "timeout"
            res.message = "%s: killed by the watchdog after %gs" % (res.phase, _limits(case) + WATCHDOG_GRACE)
        return res
    except SessionTimeout as e:
        res.status = "timeout"
        res.message = "%s: %s" % (res.phase, _first_line(e))
        return res
    except Exception as e:          # a bad kernel path, a failed script copy, a bug here
        res.status = "error"
        res.message = "%s: %s: %s" % (res.phase, type(e).__name__, _first_line(e))
        if not isinstance(e, SessionError):
            res.console = traceback.format_exc()
        return res
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if session is not None:
            session.kill()
            if res.emulator_status is None and session.returncode is not None and res.phase == "done":
                res.emulator_status = session.returncode
            console = session.text
            err = session.stderr.strip()
            if err:
                console += "\n--- pyemu stderr ---\n" + err + "\n"
            res.console = console + res.console
        tmp.cleanup()
        res.duration = time.monotonic() - t0


def _search(pattern, text):
    return re.search(pattern, text, re.M) is not None


# --- the caller -------------------------------------------------------------------------------
def _safe_name(name):
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name) or "_"


def write_log(result, logs):
    """Write the result's console log to logs/<config>/<test>.log; returns the path."""
    path = pathlib.Path(logs) / _safe_name(result.config) / (_safe_name(result.test) + ".log")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result.console.encode("utf-8", "replace"))     # as the console gave it (CR LF)
    result.log_path = str(path)
    return path


class _Events:
    """Start/guest events of this run's tasks (Dask events, handled on the client's loop)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = {}           # task id -> monotonic time the caller heard of it
        self.worker = {}            # task id -> worker host:pid
        self.guest = {}             # task id -> (host, pid) of its pyemu process
        self.address = {}           # task id -> the Dask address of its worker
        self.last = time.monotonic()
        self.wake = threading.Event()

    def __call__(self, event):
        _, msg = event
        if not isinstance(msg, dict):
            return
        tid = msg.get("id")
        with self.lock:
            now = time.monotonic()
            self.last = now
            if msg.get("event") == "start":
                self.started[tid] = now
                self.worker[tid] = msg.get("worker", "")
                self.address[tid] = msg.get("address")
            elif msg.get("event") == "guest":
                self.guest[tid] = (msg.get("host"), msg.get("pid"))
        self.wake.set()


def _build_images(matrix):
    """Build (once, here, with progress on stderr) the images a local run needs."""
    for name in sorted({c.image for c in matrix.configs if c.image is not None}):
        try:
            images.ensure(name)
        except images.ImageError as e:
            raise RuntimeError("cannot build the %r guest image: %s" % (name, e)) from None


def _start_cluster(scheduler, workers):
    from distributed import Client, LocalCluster     # deferred: the matrix extra's, heavy (0.3 s)
    if scheduler:
        client = Client(scheduler, timeout=30)
        try:
            client.wait_for_workers(1, timeout=60)
        except Exception:
            client.close()
            raise RuntimeError("the cluster at %s has no workers" % scheduler) from None
        return client, None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit=0, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _kill_local_guest(host, pid):
    if host == socket.gethostname() and pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def run_matrix(matrix, scheduler=None, workers=None, timeout=None, logs=None, progress=None, client=None,
               task=None):
    """Run every case of matrix (a Matrix or a path to a TOML file) and return their
    Results in the matrix's order.

    scheduler: the address of an existing Dask scheduler; else a LocalCluster of
    `workers` processes (default: one per CPU), one thread each, started and closed
    here.  client: an existing distributed.Client to use instead.  timeout: the
    limit of tests that set none (when matrix is a path).  logs: a directory for
    each case's console log.  progress(done, total, failed, running): called as
    the run advances.  task: the function each task runs (run_case; tests replace it)."""
    if not isinstance(matrix, Matrix):
        matrix = load_matrix(matrix, timeout=timeout)
    cases = matrix.cases()
    results = [None] * len(cases)
    if not cases:
        return []
    own = client is None
    cluster = None
    if own and not scheduler:
        _build_images(matrix)
    if own:
        client, cluster = _start_cluster(scheduler, min(workers or os.cpu_count() or 1, len(cases)))
    topic = "pyemu-matrix-" + uuid.uuid4().hex
    events = _Events()
    client.subscribe_topic(topic, events)
    futures = {}
    try:
        for i, case in enumerate(cases):
            f = client.submit(task or run_case, case, i, topic, key="pyemu-test-%d-%s" % (i, uuid.uuid4().hex[:8]),
                              pure=False, retries=0)
            f.add_done_callback(lambda _f: events.wake.set())
            futures[i] = f
        _collect(client, cases, futures, results, events, logs, progress)
    finally:
        for f in futures.values():
            if not f.done():
                f.cancel()
        try:
            client.unsubscribe_topic(topic)
        except Exception:
            pass
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return results


def _collect(client, cases, futures, results, events, logs, progress):
    total = len(cases)
    pending = dict(futures)
    longest = max(_limits(c) for c in cases) + CALLER_GRACE
    idle_limit = longest + 60.0
    done = failed = 0

    def finish(i, res):
        nonlocal done, failed
        results[i] = res
        done += 1
        failed += not res.ok
        if logs is not None:
            write_log(res, logs)
        with events.lock:
            events.last = time.monotonic()      # an end resets the idle clock as a start does

    while pending:
        events.wake.wait(1.0)
        events.wake.clear()
        now = time.monotonic()
        for i, f in list(pending.items()):
            case = cases[i]
            if f.done():
                del pending[i]
                finish(i, _result_of(f, case))
                continue
            with events.lock:
                started = events.started.get(i)
                worker = events.worker.get(i, "")
                guest = events.guest.get(i)
                address = events.address.get(i)
            if started is not None and now - started > _limits(case) + CALLER_GRACE:
                # the worker neither returned nor let its watchdog end the task: give up on it
                del pending[i]
                f.cancel()
                if guest:
                    _kill_local_guest(*guest)
                if address:
                    _restart_worker(client, address)
                res = Result(config=case.config.name, test=case.test.name, status="timeout", phase="outer",
                             worker=worker, duration=now - started,
                             message="the worker did not return the task within %gs of its start: "
                                     "cancelled, its guest killed and the worker restarted"
                                     % (_limits(case) + CALLER_GRACE))
                finish(i, res)
        with events.lock:
            last = events.last
            running = sum(1 for i in pending if i in events.started)
        if pending and now - last > idle_limit and not any(f.done() for f in pending.values()):
            for i in list(pending):
                case = cases[i]
                pending.pop(i).cancel()
                finish(i, Result(config=case.config.name, test=case.test.name, status="error", phase="queued",
                                 message="no task of the run started or ended for %gs: the cluster "
                                         "is not running them" % idle_limit))
        if progress is not None:
            progress(done, total, failed, running)


def _restart_worker(client, address):
    """Restart a worker (its nanny kills the process, and with it the guest:
    GuestSession's children die with the thread that started them)."""
    try:
        client.restart_workers([address], timeout=30, raise_for_error=False)
    except Exception:
        pass


def _result_of(future, case):
    status = future.status
    if status == "finished":
        try:
            res = future.result(timeout=30)
            if isinstance(res, Result):
                return res
            if isinstance(res, dict):
                return Result(**res)
            message = "the task returned %r" % (res,)
        except Exception as e:
            message = "the result could not be fetched: %s: %s" % (type(e).__name__, e)
    elif status == "cancelled":
        message = "the task was cancelled"
    else:
        try:
            exc = future.exception(timeout=30)
            message = "the task failed: %s: %s" % (type(exc).__name__, _first_line(exc))
        except Exception as e:
            message = "the task failed: %s" % e
    return Result(config=case.config.name, test=case.test.name, status="error", phase="task", message=message)
