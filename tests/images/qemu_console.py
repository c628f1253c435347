"""Booting a built image on qemu-system-i386, the reference peer, over its serial console."""
import os
import re
import select
import subprocess
import time


class QemuConsole:
    def __init__(self, image, memory="128"):
        self.proc = subprocess.Popen(
            ["qemu-system-i386", "-kernel", str(image.kernel), "-initrd", str(image.initrd),
             "-append", image.cmdline_hint, "-m", memory, "-nographic", "-no-reboot"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buffer = b""
        self.transcript = b""

    def expect(self, pattern, timeout=120):
        """The text up to and including the first match of `pattern` (bytes regex)."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.buffer)
            if m:
                text, self.buffer = self.buffer[:m.end()], self.buffer[m.end():]
                return text.decode(errors="replace"), m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %ss; console ends with %r"
                                     % (pattern, timeout, self.transcript[-1500:]))
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("qemu exited (%s) before %r; console ends with %r"
                                         % (self.proc.poll(), pattern, self.transcript[-1500:]))
                self.buffer += data
                self.transcript += data

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("qemu did not exit; console ends with %r"
                                 % (self.transcript[-1500:] + self.buffer[-500:])) from None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
