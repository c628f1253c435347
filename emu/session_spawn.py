"""The console of a GuestSession as a pexpect spawn: pexpect's expect engine
(patterns, buffer, `before`/`after`/`match`, EOF and TIMEOUT) on output that
the session's reader thread hands over.

pexpect's own spawners do not fit an emulator's console (docs/architecture.md,
Guest sessions): `pexpect.spawn` puts the child on a pty, where pyemu's console
becomes a raw terminal with C-a as its escape key and a guest that prints
while nobody reads is stopped once the pty's buffer is full; `PopenSpawn`
merges the child's stderr into the stream it searches.  This spawn is fed by
the session, which owns the process (its own process group, stderr apart)
and reads its stdout all the time, so the guest never waits for the test.
"""
import queue

import pexpect
from pexpect.spawnbase import SpawnBase


class ConsoleSpawn(SpawnBase):
    """Bytes mode; feed() and feed_eof() are called by the reader thread, the
    expect family by the session's user."""

    def __init__(self, timeout):
        super().__init__(timeout=timeout, maxread=1 << 16)
        self.delaybeforesend = None         # nothing is sent through pexpect
        self.delayafterread = None          # read_nonblocking blocks on the queue instead
        self._chunks = queue.Queue()
        self._left = b""                    # the part of a chunk longer than a read wanted
        self._ended = False

    # --- the reader thread's side -------------------------------------------------------------
    def feed(self, data):
        self._chunks.put(bytes(data))

    def feed_eof(self):
        self._chunks.put(None)

    # --- pexpect's side ----------------------------------------------------------------------
    def read_nonblocking(self, size=1, timeout=-1):
        """Up to size bytes: what is there, or the first chunk to come within
        timeout (TIMEOUT if none does, EOF once the console has ended and
        everything before the end has been read)."""
        if timeout == -1:
            timeout = self.timeout
        data = self._left
        if not data and not self._ended:
            try:
                data = self._next(timeout)
            except queue.Empty:
                raise pexpect.TIMEOUT("no console output within %s s" % timeout) from None
        while len(data) < size and not self._ended:   # and whatever else is there already
            try:
                data += self._next(0)
            except queue.Empty:
                break
        if not data:
            self.flag_eof = True
            raise pexpect.EOF("the console ended")
        data, self._left = data[:size], data[size:]
        self._log(data, "read")
        return data

    def _next(self, timeout):
        if timeout is not None and timeout <= 0:
            chunk = self._chunks.get_nowait()
        else:
            chunk = self._chunks.get(timeout=timeout)       # None: as long as it takes
        if chunk is None:
            self._ended = True
            return b""
        return chunk
