"""QMP, the QEMU Machine Protocol, on -qmp unix:PATH,server,nowait or tcp:HOST:PORT,server,nowait.

The subset that QEMU's Python client (the qemu.qmp package) and labgrid use,
as QEMU's docs/interop/qmp-spec describes the wire format: JSON objects on a
stream socket; the server greets ({"QMP": {"version": ..., "capabilities": []}}),
the client negotiates with qmp_capabilities, then each {"execute": CMD,
"arguments": {...}, "id": ANY} gets {"return": ...} or {"error": {"class",
"desc"}} carrying the same id; events ({"event", "data", "timestamp"}) come
in between: STOP, RESUME, RESET, SHUTDOWN.

Commands: qmp_capabilities, query-status, query-version, query-commands, stop,
cont, system_reset, system_powerdown (an error: pyemu's PC has no ACPI power
button), quit, human-monitor-command, and, as pyemu's extension (QEMU has
them only in the human monitor, where they name a tag in a qcow2 image),
savevm and loadvm with {"file": PATH}.

Each client has a thread; the machine is touched only through the Monitor
(emu/debug/monitor.py), on the main thread.  Several clients may be connected
at once.  A TCP address without a host listens on 127.0.0.1 only.
"""
import json
import os
import socket
import stat
import sys
import threading
import time

from .. import __version__
from ..devices.chardev.tcp import server_options
from .monitor import HumanMonitor, MonitorError

FORMS = "unix:PATH,server,nowait or tcp:[HOST]:PORT,server,nowait (server=on,wait=off also)"


class QmpSpecError(ValueError):
    """A -qmp argument pyemu cannot use (one-line message)."""


def parse_spec(spec):
    """'-qmp' argument -> {"kind": "unix"|"tcp", "path"|"host","port", "wait": bool}."""
    head, *opts = spec.split(",")
    try:
        server, wait = server_options(opts)
    except ValueError as e:
        raise QmpSpecError("-qmp %s: %s (expected %s)" % (spec, e, FORMS)) from None
    if head.startswith("unix:"):
        path = head[5:]
        if not path:
            raise QmpSpecError("-qmp %s: a socket path is needed (expected %s)" % (spec, FORMS))
        out = {"kind": "unix", "path": path}
    elif head.startswith("tcp:"):
        host, sep, port_text = head[4:].rpartition(":")
        if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise QmpSpecError("-qmp %s: expected tcp:[HOST]:PORT with a port number (%s)" % (spec, FORMS))
        out = {"kind": "tcp", "host": host.strip("[]") or "127.0.0.1", "port": int(port_text)}
    else:
        raise QmpSpecError("-qmp %s: pyemu's QMP listens on unix:PATH or tcp:[HOST]:PORT (expected %s)"
                           % (spec, FORMS))
    if not server:
        raise QmpSpecError("-qmp %s: pyemu's QMP only listens: add ,server (expected %s)" % (spec, FORMS))
    out["wait"] = wait
    return out


def _version():
    parts = (__version__.split(".") + ["0", "0", "0"])[:3]
    nums = [int(p) if p.isdigit() else 0 for p in parts]
    return {"qemu": {"major": nums[0], "minor": nums[1], "micro": nums[2]}, "package": "pyemu " + __version__}


def _timestamp():
    t = time.time()
    return {"seconds": int(t), "microseconds": int((t - int(t)) * 1_000_000)}


class QmpServer:
    """One -qmp listener: accepts clients and gives each a QmpSession thread."""

    def __init__(self, monitor, spec):
        self.mon = monitor
        self.spec = spec
        self.opts = parse_spec(spec)
        self.sock = None
        self.sessions = []
        self._closed = False
        self.address = None

    def listen(self):
        """Bind and listen (OSError if the address cannot be had)."""
        o = self.opts
        if o["kind"] == "unix":
            path = o["path"]
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.unlink(path)         # a stale socket of an earlier run, as QEMU does
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(path)
            except OSError:
                s.close()
                raise
            self.address = path
        else:
            family = socket.AF_INET6 if ":" in o["host"] else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((o["host"], o["port"]))
            except OSError:
                s.close()
                raise
            self.address = "%s:%d" % s.getsockname()[:2]
        s.listen(4)
        self.sock = s

    def start(self):
        """Serve clients on a thread; with wait (no nowait), first wait here for one."""
        first = None
        if self.opts["wait"]:
            sys.stderr.write("pyemu: waiting for a QMP client on %s:%s\n" % (self.opts["kind"], self.address))
            first, _ = self.sock.accept()
        threading.Thread(target=self._accept_loop, args=(first,), name="pyemu-qmp", daemon=True).start()

    def _accept_loop(self, first):
        conn = first
        while True:
            if conn is not None:
                session = QmpSession(self.mon, conn)
                self.sessions.append(session)
                threading.Thread(target=session.run, name="pyemu-qmp-client", daemon=True).start()
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return              # closed
            if self._closed:
                conn.close()
                return

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for s in list(self.sessions):
            s.close()
        if self.opts["kind"] == "unix":
            try:
                os.unlink(self.opts["path"])
            except OSError:
                pass


class QmpSession:
    """One client: greeting, negotiation, then commands until it goes."""

    def __init__(self, monitor, conn):
        self.mon = monitor
        self.conn = conn
        self.hmp = HumanMonitor(monitor)
        self.negotiated = False
        self._send_lock = threading.Lock()
        self._buf = ""
        self._decoder = json.JSONDecoder()
        self._closed = False

    def send(self, obj):
        data = (json.dumps(obj) + "\r\n").encode()
        with self._send_lock:
            if self._closed:
                return
            self.conn.sendall(data)

    def _event(self, name, data):
        self.send({"event": name, "data": data, "timestamp": _timestamp()})

    def close(self):
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
        self.mon.remove_listener(self._event)
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()

    def run(self):
        try:
            self.send({"QMP": {"version": _version(), "capabilities": []}})
            while True:
                msg = self._next_message()
                if msg is None:
                    return
                reply = self.handle(msg)
                if reply is not None:
                    self.send(reply)
        except OSError:
            pass
        finally:
            self.close()

    def _next_message(self):
        """The next JSON value from the client, {"__bad__": why} for one that
        does not parse, or None at EOF.  Values are split by counting braces
        and brackets outside strings (clients need not end them with a newline)."""
        while True:
            text = self._buf.lstrip()
            self._buf = text
            if text and text[0] not in "{[":
                # junk before a value: up to the end of its line
                nl = text.find("\n")
                self._buf = text[nl + 1:] if nl >= 0 else ""
                return {"__bad__": "JSON parse error, expected an object"}
            end = _value_end(text)
            if end is not None:
                chunk, self._buf = text[:end], text[end:]
                try:
                    return json.loads(chunk)
                except ValueError as e:
                    return {"__bad__": "JSON parse error, %s" % getattr(e, "msg", e)}
            data = self.conn.recv(65536)
            if not data:
                return None
            self._buf += data.decode("utf-8", "replace")

    @staticmethod
    def _error(desc, klass="GenericError", msg_id=None, has_id=False):
        reply = {"error": {"class": klass, "desc": desc}}
        if has_id:
            reply["id"] = msg_id
        return reply

    def handle(self, msg):
        """One message -> the reply (None: sent already, or nothing to send)."""
        if not isinstance(msg, dict):
            return self._error("QMP input must be a JSON object")
        if "__bad__" in msg and len(msg) == 1:
            return self._error(msg["__bad__"])
        has_id, msg_id = "id" in msg, msg.get("id")
        if "exec-oob" in msg:
            return self._error("out-of-band execution is not enabled (pyemu offers no 'oob' capability)",
                               msg_id=msg_id, has_id=has_id)
        if "execute" not in msg:
            return self._error("QMP input lacks member 'execute'", msg_id=msg_id, has_id=has_id)
        for key in msg:
            if key not in ("execute", "arguments", "id"):
                return self._error("QMP input member '%s' is unexpected" % key, msg_id=msg_id, has_id=has_id)
        cmd, args = msg["execute"], msg.get("arguments", {})
        if not isinstance(cmd, str):
            return self._error("QMP input member 'execute' must be a string", msg_id=msg_id, has_id=has_id)
        if not isinstance(args, dict):
            return self._error("QMP input member 'arguments' must be an object", msg_id=msg_id, has_id=has_id)
        if not self.negotiated and cmd != "qmp_capabilities":
            return self._error("Expecting capabilities negotiation with 'qmp_capabilities'",
                               "CommandNotFound", msg_id, has_id)
        try:
            result = self.command(cmd, args)
        except MonitorError as e:
            return self._error(str(e), e.klass, msg_id, has_id)
        reply = {"return": result}
        if has_id:
            reply["id"] = msg_id
        if cmd == "quit":
            # the answer goes first, then pyemu ends (SHUTDOWN follows as an event)
            self.send(reply)
            self.mon.request_quit(0)
            return None
        return reply

    def command(self, cmd, args):
        mon = self.mon
        handler = COMMANDS.get(cmd)
        if handler is None:
            raise MonitorError("The command %s has not been found" % cmd, "CommandNotFound")
        allowed = handler[1]
        for key in args:
            if key not in allowed:
                raise MonitorError("Parameter '%s' is unexpected" % key)
        if cmd == "qmp_capabilities":
            if self.negotiated:
                raise MonitorError("Capabilities negotiation is already complete, command ignored",
                                   "CommandNotFound")
            enable = args.get("enable", [])
            if enable:
                raise MonitorError("Capability '%s' not available" % enable[0])
            self.negotiated = True
            mon.add_listener(self._event)
            return {}
        if cmd == "query-status":
            return {"running": mon.status == "running", "singlestep": False, "status": mon.status}
        if cmd == "query-version":
            return _version()
        if cmd == "query-commands":
            return [{"name": name} for name in sorted(COMMANDS)]
        if cmd == "stop":
            mon.stop()
            return {}
        if cmd == "cont":
            mon.cont()
            return {}
        if cmd == "system_reset":
            mon.system_reset()
            return {}
        if cmd == "system_powerdown":
            mon.system_powerdown()
            return {}
        if cmd == "quit":
            return {}
        if cmd == "human-monitor-command":
            line = args.get("command-line")
            if not isinstance(line, str):
                raise MonitorError("Parameter 'command-line' is missing" if line is None
                                   else "Parameter 'command-line' expects a string")
            return self.hmp.execute(line)
        if cmd in ("savevm", "loadvm"):
            path = args.get("file")
            if not isinstance(path, str) or not path:
                raise MonitorError("Parameter 'file' is missing (pyemu's %s takes {\"file\": PATH})" % cmd)
            (mon.savevm if cmd == "savevm" else mon.loadvm)(path)
            return {}
        raise MonitorError("The command %s has not been found" % cmd, "CommandNotFound")


def _value_end(text):
    """The end of the first complete {...} or [...] in text, or None if it is incomplete."""
    depth, in_str, esc = 0, False, False
    for k, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return k + 1
    return None

# name -> (description, allowed arguments)
COMMANDS = {
    "qmp_capabilities": ("leave capabilities negotiation", ("enable",)),
    "query-status": ("whether the guest runs", ()),
    "query-version": ("pyemu's version", ()),
    "query-commands": ("the commands", ()),
    "stop": ("stop the guest", ()),
    "cont": ("resume the guest", ()),
    "system_reset": ("reset the machine", ()),
    "system_powerdown": ("(not supported: no ACPI power button)", ()),
    "quit": ("end pyemu", ()),
    "human-monitor-command": ("a human monitor command line; its output", ("command-line", "cpu-index")),
    "savevm": ("pyemu: save the machine to {\"file\": PATH}", ("file",)),
    "loadvm": ("pyemu: restore the machine from {\"file\": PATH}", ("file",)),
}
