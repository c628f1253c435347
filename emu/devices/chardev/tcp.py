"""The TCP back end: tcp:HOST:PORT,server[,nowait] (listen) or tcp:HOST:PORT (connect).

As a server it listens on HOST (127.0.0.1 when HOST is empty) and serves one
client at a time; the next client is accepted when the current one leaves.
Output written while no client is connected is dropped (as QEMU does), so a
client sees the guest from the moment it connects.  Without `nowait`, start()
prints "waiting for connection on: ..." to stderr and blocks until the first
client arrives, so nothing the guest prints is lost (QEMU's default too).
As a client it connects once at open; when the peer closes, output is dropped.
"""
import os
import select
import socket
import sys
import threading

from .base import CharBackend, ChardevError, OutputPump

TCP_FORM = "tcp:[HOST]:PORT[,server][,nowait]"


def server_options(opts):
    """QEMU's socket options -> (server, wait): server[=on|off], wait=on|off,
    nowait; nodelay, ipv4 and ipv6 are accepted and change nothing here.
    ValueError names the option that is wrong."""
    server, wait = False, True
    for opt in opts:
        name, _, value = opt.partition("=")
        if value not in ("", "on", "off", "yes", "no", "true", "false"):
            raise ValueError("option %s: '%s' is not on or off" % (name, value))
        on = value in ("", "on", "yes", "true")
        if name == "server":
            server = on
        elif name == "wait":
            wait = on
        elif name == "nowait" and not value:
            wait = False
        elif name not in ("nodelay", "ipv4", "ipv6"):
            raise ValueError("unknown option '%s'" % opt)
    return server, wait


def parse_tcp(spec):
    """'tcp:HOST:PORT,opt,...' -> dict(host, port, server, wait) or ChardevError."""
    body = spec[4:]
    addr, *opts = body.split(",")
    host, sep, port_text = addr.rpartition(":")
    if not sep:
        raise ChardevError("'%s': expected %s" % (spec, TCP_FORM))
    try:
        port = int(port_text, 10)
    except ValueError:
        raise ChardevError("'%s': port '%s' is not a number (expected %s)" % (spec, port_text, TCP_FORM)) from None
    if not 0 <= port <= 65535:
        raise ChardevError("'%s': port %d is out of range" % (spec, port))
    host = host.strip("[]") or "127.0.0.1"
    try:
        server, wait = server_options(opts)
    except ValueError as e:
        raise ChardevError("'%s': %s (pyemu knows server, nowait, wait=on|off)" % (spec, e)) from None
    return {"host": host, "port": port, "server": server, "wait": wait}


class TcpBackend(CharBackend):
    def __init__(self, host="127.0.0.1", port=0, server=True, wait=True):
        super().__init__()
        self.host, self.server, self.wait = host, server, wait
        self._lock = threading.Lock()
        self._pump = None               # the connected client's output pump
        self._conn = None
        self.connected = threading.Event()
        self._stop_r, self._stop_w = os.pipe()
        self._closed = False
        self.listener = None
        if server:
            try:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                self.listener = socket.socket(family, socket.SOCK_STREAM)
                self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.listener.bind((host, port))
                self.listener.listen(1)
            except OSError as e:
                if self.listener is not None:
                    self.listener.close()
                self._close_pipe()
                raise ChardevError("cannot listen on tcp:%s:%d: %s" % (host, port, e.strerror or e)) from None
            self.port = self.listener.getsockname()[1]
            threading.Thread(target=self._serve, name="pyemu-tcp-%d" % self.port, daemon=True).start()
        else:
            self.port = port
            try:
                conn = socket.create_connection((host, port), timeout=10)
                conn.settimeout(None)
            except OSError as e:
                self._close_pipe()
                raise ChardevError("cannot connect to tcp:%s:%d: %s" % (host, port, e.strerror or e)) from None
            self._attach(conn)
            threading.Thread(target=self._client, args=(conn,), name="pyemu-tcp-%d" % port, daemon=True).start()
        self.spec = "tcp:%s:%d%s" % (host, self.port, ",server" if server else "")

    # output: to the connected client, dropped while there is none
    def write(self, data):
        pump = self._pump
        if pump is not None:
            pump.write(data)

    def flush(self):
        pump = self._pump
        if pump is not None:
            pump.flush()

    def start(self, on_quit=None):
        super().start(on_quit)
        if self.server and self.wait and not self.connected.is_set():
            sys.stderr.write("pyemu: waiting for connection on: %s\n" % self.spec)
            sys.stderr.flush()
            while not self.connected.wait(0.5):     # a short wait keeps Ctrl-C responsive
                if self._closed:
                    return

    def _attach(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._conn = conn
            self._pump = OutputPump(conn.send, "tcp-%d" % self.port)
        self.connected.set()

    def _detach(self, conn):
        with self._lock:
            if self._conn is conn:
                pump, self._pump, self._conn = self._pump, None, None
            else:
                pump = None
        if pump is not None:
            pump.close(timeout=0)
        try:
            conn.close()
        except OSError:
            pass

    def _serve(self):
        while not self._closed:
            try:
                ready, _, _ = select.select([self.listener, self._stop_r], [], [])
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self._attach(conn)
            self._client(conn)

    def _client(self, conn):
        """Read one client's bytes into the input queue until it leaves."""
        try:
            while self.input.wait_room():
                ready, _, _ = select.select([conn, self._stop_r], [], [])
                if self._stop_r in ready:
                    break
                try:
                    data = conn.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    break
                if not data:
                    break
                self.input.put(data)
        except (OSError, ValueError):
            pass
        finally:
            self._detach(conn)

    def _close_pipe(self):
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.flush()
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        conn = self._conn
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.listener is not None:
            self.listener.close()
        super().close()
