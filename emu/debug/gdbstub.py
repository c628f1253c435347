"""A gdb remote-protocol stub: `-s` (= `-gdb tcp::1234`) and `-S` (wait for gdb before running).

Registers, memory (through the guest's paging), software and hardware
breakpoints (both stop before the instruction at the address), single-step,
continue, Ctrl-C, detach and kill, as GDB's "Remote Protocol" documentation
describes the packets.  One client at a time; it listens on 127.0.0.1 unless
the -gdb address names another host.
"""
import select
import socket
import struct
import sys
import threading

from ..fpu import control as C
from ..fpu import layouts as L
from ..translator.helpers.common import set_eflags

SIGINT, SIGTRAP = 2, 5

TARGET_XML = """<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>i386</architecture>
  <feature name="org.gnu.gdb.i386.core">
    <flags id="i386_eflags" size="4">
      <field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
      <field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
      <field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
      <field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
      <field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
      <field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
      <field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
      <field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/>
      <field name="ID" start="21" end="21"/>
    </flags>
    <reg name="eax" bitsize="32" type="int32"/>
    <reg name="ecx" bitsize="32" type="int32"/>
    <reg name="edx" bitsize="32" type="int32"/>
    <reg name="ebx" bitsize="32" type="int32"/>
    <reg name="esp" bitsize="32" type="data_ptr"/>
    <reg name="ebp" bitsize="32" type="data_ptr"/>
    <reg name="esi" bitsize="32" type="int32"/>
    <reg name="edi" bitsize="32" type="int32"/>
    <reg name="eip" bitsize="32" type="code_ptr"/>
    <reg name="eflags" bitsize="32" type="i386_eflags"/>
    <reg name="cs" bitsize="32" type="int32"/>
    <reg name="ss" bitsize="32" type="int32"/>
    <reg name="ds" bitsize="32" type="int32"/>
    <reg name="es" bitsize="32" type="int32"/>
    <reg name="fs" bitsize="32" type="int32"/>
    <reg name="gs" bitsize="32" type="int32"/>
    <reg name="st0" bitsize="80" type="i387_ext"/>
    <reg name="st1" bitsize="80" type="i387_ext"/>
    <reg name="st2" bitsize="80" type="i387_ext"/>
    <reg name="st3" bitsize="80" type="i387_ext"/>
    <reg name="st4" bitsize="80" type="i387_ext"/>
    <reg name="st5" bitsize="80" type="i387_ext"/>
    <reg name="st6" bitsize="80" type="i387_ext"/>
    <reg name="st7" bitsize="80" type="i387_ext"/>
    <reg name="fctrl" bitsize="32" type="int" group="float"/>
    <reg name="fstat" bitsize="32" type="int" group="float"/>
    <reg name="ftag" bitsize="32" type="int" group="float"/>
    <reg name="fiseg" bitsize="32" type="int" group="float"/>
    <reg name="fioff" bitsize="32" type="int" group="float"/>
    <reg name="foseg" bitsize="32" type="int" group="float"/>
    <reg name="fooff" bitsize="32" type="int" group="float"/>
    <reg name="fop" bitsize="32" type="int" group="float"/>
  </feature>
</target>
"""

N_REGS = 32
SEG_ORDER = (1, 2, 3, 0, 4, 5)      # gdb's cs ss ds es fs gs -> pyemu segment numbers


def parse_address(spec):
    """-gdb tcp::1234 / tcp:HOST:PORT / :PORT -> (host, port)."""
    s = spec
    if s.startswith("tcp:"):
        s = s[4:]
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1"), int(port)


class GdbStub:
    def __init__(self, machine, host="127.0.0.1", port=1234):
        self.m = machine
        self.host, self.port = host, port
        self.breakpoints = set()        # linear addresses, software and hardware ones together
        self._bp_kinds = {"0": set(), "1": set()}
        self.sock = None
        self.conn = None
        self.no_ack = False
        self.listener = None

    # --- transport ------------------------------------------------------------------------
    def listen(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((self.host, self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(1)

    def accept(self):
        sys.stderr.write("pyemu: waiting for gdb on %s:%d\n" % (self.host, self.port))
        self.conn, _ = self.listener.accept()
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""

    def _recv(self):
        data = self.conn.recv(4096)
        if not data:
            raise ConnectionError("gdb closed the connection")
        self._buf += data

    def read_packet(self):
        """The next packet's payload, or b'\\x03' for an interrupt."""
        while True:
            while not self._buf:
                self._recv()
            if self._buf[:1] == b"\x03":
                self._buf = self._buf[1:]
                return b"\x03"
            if self._buf[:1] in (b"+", b"-"):
                self._buf = self._buf[1:]
                continue
            start = self._buf.find(b"$")
            if start < 0:
                self._buf = b""
                continue
            end = self._buf.find(b"#", start)
            while end < 0 or len(self._buf) < end + 3:
                self._recv()
                end = self._buf.find(b"#", start)
            payload = self._buf[start + 1:end]
            checksum = self._buf[end + 1:end + 3]
            self._buf = self._buf[end + 3:]
            if not self.no_ack:
                ok = int(checksum, 16) == sum(payload) & 0xFF
                self.conn.sendall(b"+" if ok else b"-")
                if not ok:
                    continue
            return _unescape(payload)

    def send(self, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        data = b"$" + payload + b"#%02x" % (sum(payload) & 0xFF)
        self.conn.sendall(data)

    # --- state ------------------------------------------------------------------------------
    def _reg_bytes(self):
        m, cpu = self.m, self.m.cpu
        out = b"".join(struct.pack("<I", cpu.regs[k] & 0xFFFFFFFF) for k in range(8))
        out += struct.pack("<II", cpu.eip & 0xFFFFFFFF, m.eflags())
        out += b"".join(struct.pack("<I", cpu.seg[s].selector) for s in SEG_ORDER)
        out += b"".join(L.reg_bytes(cpu, i) for i in range(8))
        sw = C.status_word(cpu.fpu_sw, cpu.fpu_top)
        out += struct.pack("<8I", cpu.fpu_cw, sw, cpu.fpu_tag, cpu.fpu_cs, cpu.fpu_ip, cpu.fpu_ds,
                           cpu.fpu_dp, cpu.fpu_op)
        return out

    def _set_reg(self, n, raw):
        m, cpu = self.m, self.m.cpu
        if n < 8:
            cpu.regs[n] = struct.unpack("<I", raw[:4])[0]
        elif n == 8:
            cpu.eip = struct.unpack("<I", raw[:4])[0]
        elif n == 9:
            set_eflags(m, struct.unpack("<I", raw[:4])[0])
            m.update_hflags()
        elif n < 16:
            cpu.seg[SEG_ORDER[n - 10]].selector = struct.unpack("<I", raw[:4])[0] & 0xFFFF
        elif n < 24:
            L.set_reg_bytes(cpu, n - 16, raw)

    @staticmethod
    def _reg_size(n):
        return 10 if 16 <= n < 24 else 4

    def _reg_offset(self, n):
        return sum(self._reg_size(k) for k in range(n))

    # --- memory -------------------------------------------------------------------------------
    # Through the guest's paging with no side effect (LinearMemory.peek/poke):
    # no accessed/dirty bits, no #PF recorded (CR2 stays as the guest left it),
    # nothing cached, and no write protection (a debugger may write read-only pages).
    def read_memory(self, lin, length):
        """Bytes at a linear address as the guest sees them, or None (gdb: Cannot access memory)."""
        return self.m.mem.peek(lin, length)

    def write_memory(self, lin, data):
        return self.m.mem.poke(lin, data)

    # --- commands -----------------------------------------------------------------------------
    def handle(self, pkt):
        """Reply to one packet; returns 'continue', 'step', 'detach', 'kill' or None."""
        m = self.m
        p = pkt.decode("latin-1")
        if p == "?":
            self.send("S%02x" % SIGTRAP)
        elif p.startswith("qSupported"):
            self.send("PacketSize=4000;qXfer:features:read+;QStartNoAckMode+")
        elif p == "QStartNoAckMode":
            self.send("OK")
            self.no_ack = True
        elif p.startswith("qXfer:features:read:target.xml:"):
            off, length = (int(x, 16) for x in p.rsplit(":", 1)[1].split(","))
            chunk = TARGET_XML[off:off + length]
            self.send(("l" if off + length >= len(TARGET_XML) else "m") + chunk)
        elif p == "qAttached":
            self.send("1")
        elif p == "qC":
            self.send("QC1")
        elif p == "qfThreadInfo":
            self.send("m1")
        elif p == "qsThreadInfo":
            self.send("l")
        elif p.startswith("H") or p.startswith("T"):
            self.send("OK")
        elif p == "vCont?":
            self.send("vCont;c;C;s;S")
        elif p.startswith("vCont;"):
            action = p[6:7]
            return "step" if action in "sS" else "continue"
        elif p == "g":
            self.send(self._reg_bytes().hex())
        elif p.startswith("G"):
            raw = bytes.fromhex(p[1:])
            for n in range(N_REGS):
                off = self._reg_offset(n)
                if off + self._reg_size(n) <= len(raw):
                    self._set_reg(n, raw[off:off + self._reg_size(n)])
            self.send("OK")
        elif p.startswith("p"):
            n = int(p[1:], 16)
            if n >= N_REGS:
                self.send("E45")
            else:
                off = self._reg_offset(n)
                self.send(self._reg_bytes()[off:off + self._reg_size(n)].hex())
        elif p.startswith("P"):
            n, val = p[1:].split("=")
            self._set_reg(int(n, 16), bytes.fromhex(val))
            self.send("OK")
        elif p.startswith("m"):
            addr, length = (int(x, 16) for x in p[1:].split(","))
            data = self.read_memory(addr, length)
            self.send("E14" if data is None else data.hex())
        elif p.startswith("M"):
            head, data = p[1:].split(":", 1)
            addr, length = (int(x, 16) for x in head.split(","))
            self.send("OK" if self.write_memory(addr, bytes.fromhex(data)[:length]) else "E14")
        elif p[:2] in ("Z0", "Z1", "z0", "z1"):
            # Z0 (break) and Z1 (hbreak) are kept apart, so that removing one
            # leaves the other at the same address; both stop before the instruction
            addr = int(p[3:].split(",")[0], 16) & 0xFFFFFFFF
            kind = self._bp_kinds[p[1]]
            if p[0] == "Z":
                kind.add(addr)
            else:
                kind.discard(addr)
            self.breakpoints = self._bp_kinds["0"] | self._bp_kinds["1"]
            m.set_breakpoints(self.breakpoints)
            self.send("OK")
        elif p == "c" or p.startswith("c"):
            if len(p) > 1:
                m.cpu.eip = int(p[1:], 16)
            return "continue"
        elif p == "s" or p.startswith("s"):
            if len(p) > 1:
                m.cpu.eip = int(p[1:], 16)
            return "step"
        elif p == "D" or p.startswith("D;"):
            self.send("OK")
            return "detach"
        elif p.startswith("vKill"):
            self.send("OK")                 # gdb waits for this reply (to k it expects none)
            return "kill"
        elif p == "k":
            return "kill"
        else:
            self.send("")
        return None

    # --- running --------------------------------------------------------------------------------
    def _continue(self):
        """Run the guest until a breakpoint, Ctrl-C from gdb, or the end; reply to gdb."""
        m = self.m
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                r, _, _ = select.select([self.conn], [], [], 0.05)
                if r and not stop.is_set():
                    data = self.conn.recv(1, socket.MSG_PEEK)
                    if data == b"\x03":
                        self.conn.recv(1)
                        m.pause_requested = True
                        m.cpu.exit_request = 1
                        return
                    if not data:
                        return
                    stop.wait(0.05)
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        try:
            m.step()                        # the instruction at a breakpoint runs first
            if m.exit_status is None and (m.cpu.eip + m.cpu.seg[1].base) & 0xFFFFFFFF not in self.breakpoints:
                status = m.run()
            else:
                status = m.exit_status if m.exit_status is not None else "paused"
        finally:
            stop.set()
            t.join()
            m.pause_requested = False       # a Ctrl-C that came as the guest stopped anyway
        return self._report(status)

    def _report(self, status):
        m = self.m
        if status == "paused" or status is None:
            self.send("S%02x" % (SIGINT if m.paused == "interrupt" else SIGTRAP))
            return False
        code = status if isinstance(status, int) else 0
        self.send("W%02x" % (code & 0xFF))
        return True

    def serve(self, wait_first=True):
        """Talk to gdb until it detaches (then keep running) or kills; returns the exit status.

        wait_first (-S): wait for gdb before the first instruction; otherwise
        the guest runs and a gdb that connects later stops it."""
        m = self.m
        if self.listener is None:
            self.listen()
        if wait_first:
            self.accept()
        else:
            def acceptor():
                self.accept()
                m.pause_requested = True
                m.cpu.exit_request = 1
            threading.Thread(target=acceptor, daemon=True).start()
            status = m.run()
            if status != "paused":
                return status
        while True:
            try:
                pkt = self.read_packet()
            except ConnectionError:
                return m.run()                 # gdb went away: the guest runs on
            if pkt == b"\x03":
                self.send("S%02x" % SIGINT)
                continue
            action = self.handle(pkt)
            if action == "continue":
                if self._continue():
                    return m.exit_status
            elif action == "step":
                m.step()
                if m.exit_status is not None:
                    self._report(m.exit_status)
                    return m.exit_status
                self.send("S%02x" % SIGTRAP)
            elif action == "detach":
                self.conn.close()
                m.set_breakpoints(())
                return m.run()
            elif action == "kill":
                self.conn.close()
                m.request_exit(0, "pyemu: killed by gdb")
                return 0


def _unescape(payload):
    """Binary data in packets escapes #, $, } and * with } and XOR 0x20."""
    if b"}" not in payload:
        return payload
    out = bytearray()
    it = iter(payload)
    for b in it:
        if b == 0x7D:
            out.append(next(it) ^ 0x20)
        else:
            out.append(b)
    return bytes(out)

