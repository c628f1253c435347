"""What the builder shows while it works, and the log file behind it.

Every command's full output goes to the build log.  On a terminal, a long step
shows one status line that is rewritten in place; elsewhere (CI, a pipe) a
short line is printed every PLAIN_INTERVAL seconds at most, so a log of a CI
run stays readable.  `quiet` keeps only warnings and errors.
"""
import collections
import os
import shutil
import subprocess
import sys
import threading
import time

from .errors import ImageError

PLAIN_INTERVAL = 20.0       # seconds between status lines when not on a terminal
TTY_INTERVAL = 0.2
TAIL_LINES = 25             # log lines shown with a failed command


def _duration(seconds):
    seconds = int(seconds)
    return "%dm%02ds" % divmod(seconds, 60) if seconds >= 60 else "%ds" % seconds


class Reporter:
    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.log_path = None
        self._log = None
        self._status_shown = False

    # -- log file -----------------------------------------------------------------------------
    def open_log(self, path):
        """Append to the build log at `path` from the first thing logged on (a lookup
        that finds the image built leaves no trace)."""
        self.close_log()
        self.log_path = path

    def close_log(self):
        if self._log:
            self._log.close()
        self._log = None

    def log(self, text):
        if self.log_path is None:
            return
        if self._log is None:
            try:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = open(self.log_path, "a", encoding="utf-8", errors="replace")
            except OSError as e:
                raise ImageError("cannot write the build log %s: %s" % (self.log_path, e.strerror)) from None
            self._log.write("==== %s, pid %d\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.getpid()))
        self._log.write(text if text.endswith("\n") else text + "\n")
        self._log.flush()

    # -- messages -----------------------------------------------------------------------------
    def step(self, text):
        """A new stage of the build."""
        self.log("---- " + text)
        if not self.quiet:
            self._clear_status()
            print("pyemu-images: " + text, file=self.stream, flush=True)

    def warn(self, text):
        self.log("WARNING: " + text)
        self._clear_status()
        print("pyemu-images: warning: " + text, file=self.stream, flush=True)

    def status(self, text):
        """Rewrite the terminal's status line (nothing when quiet or not a terminal)."""
        if self.quiet or not self.tty:
            return
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.stream.write("\r\033[K" + text[:width])
        self.stream.flush()
        self._status_shown = True

    def _clear_status(self):
        if self._status_shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._status_shown = False

    # -- commands -----------------------------------------------------------------------------
    def run(self, cmd, what, cwd=None, env=None, on_line=None, poll=None, check=True):
        """Run `cmd`, its output to the log; show `what` with a status while it runs.

        on_line(line) sees each output line and may return a short status text;
        poll() is called a few times a second and may return one too (e.g. a
        download's size so far).  A failure raises ImageError with the end of the
        output, unless check is False; the result is (returncode, last lines).
        """
        self.log("$ " + " ".join(str(c) for c in cmd) + ("   (in %s)" % cwd if cwd else ""))
        full_env = dict(os.environ, LC_ALL="C")
        full_env.update(env or {})
        try:
            proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=full_env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except OSError as e:
            raise ImageError("cannot run %s: %s" % (cmd[0], e.strerror or e)) from None
        tail = collections.deque(maxlen=TAIL_LINES)
        state = {"text": ""}

        def reader():
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                # apt's own progress rewrites one line with \r: keep the last part.
                line = line.rsplit("\r", 1)[-1]
                tail.append(line)
                self.log(line)
                if on_line:
                    text = on_line(line)
                    if text:
                        state["text"] = text

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        start = last_plain = time.monotonic()
        while thread.is_alive():
            thread.join(TTY_INTERVAL)
            if poll:
                text = poll()
                if text:
                    state["text"] = text
            now = time.monotonic()
            line = "  %s %s%s" % (what, _duration(now - start),
                                  (": " + state["text"]) if state["text"] else "")
            if self.tty:
                self.status(line)
            elif not self.quiet and now - last_plain >= PLAIN_INTERVAL:
                print(line, file=self.stream, flush=True)
                last_plain = now
        rc = proc.wait()
        self._clear_status()
        self.log("(exit status %d after %s)" % (rc, _duration(time.monotonic() - start)))
        if rc != 0 and check:
            raise ImageError("%s failed (exit status %d)" % (what, rc), log=self.log_path,
                             details=list(tail))
        return rc, list(tail)
