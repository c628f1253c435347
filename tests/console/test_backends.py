"""Character back ends, in-process: specs, output that is never lost, input through read().

The UART uses only write / read / set_input_notify; these tests drive a back end
the same way and check the far side (a file, a socket, a pipe, a pty).
"""
import os
import socket
import stat
import threading
import time

import pytest

from emu.devices import chardev
from emu.devices.chardev import ChardevError, open_backend, parse_spec
from emu.devices.chardev.stdio import StdioBackend


def read_until(backend, n, timeout=10):
    """What a UART would take: poll read() until n bytes came (or timeout)."""
    got = bytearray()
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        data = backend.read(n - len(got))
        if data:
            got += data
        else:
            time.sleep(0.005)
    return bytes(got)


def recv_exactly(sock, n, timeout=10):
    sock.settimeout(timeout)
    got = bytearray()
    while len(got) < n:
        data = sock.recv(n - len(got))
        if not data:
            break
        got += data
    return bytes(got)


# --- specs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,kind", [
    ("stdio", "stdio"), ("mon:stdio", "stdio"), ("null", "null"), ("none", "null"),
    ("file:/tmp/x.log", "file"), ("pipe:/tmp/p", "pipe"), ("pty", "pty"),
    ("tcp::4444,server,nowait", "tcp"), ("tcp:127.0.0.1:4444,server=on,wait=off", "tcp")])
def test_valid_specs(spec, kind):
    assert parse_spec(spec)[0] == kind


def test_tcp_spec_fields():
    assert parse_spec("tcp::4444,server,nowait")[1] == {"host": "127.0.0.1", "port": 4444,
                                                        "server": True, "wait": False}
    assert parse_spec("tcp:0.0.0.0:23,server")[1] == {"host": "0.0.0.0", "port": 23, "server": True, "wait": True}
    assert parse_spec("tcp:localhost:99")[1]["server"] is False


@pytest.mark.parametrize("spec", ["vc", "file:", "tcp:4444", "tcp::http,server", "tcp::70000,server",
                                  "tcp::4444,server,telnet", "udp::4444", ""])
def test_bad_specs_name_the_valid_ones(spec):
    with pytest.raises(ChardevError) as e:
        parse_spec(spec)
    msg = str(e.value)
    assert "\n" not in msg
    assert "tcp:[HOST]:PORT" in msg or "telnet" in msg or "out of range" in msg or "not a number" in msg


# --- null and file --------------------------------------------------------------------------

def test_null_has_no_input():
    b = open_backend("null")
    b.write(b"into the void")
    assert b.read(10) == b""
    b.close()


def test_file_backend_truncates_and_writes(tmp_path):
    path = tmp_path / "serial.log"
    path.write_bytes(b"old contents that must go")
    b = open_backend("file:%s" % path)
    b.write(b"hello ")
    b.write(bytes(range(256)))
    b.flush()
    assert b.read(5) == b""
    b.close()
    assert path.read_bytes() == b"hello " + bytes(range(256))


def test_file_backend_unopenable(tmp_path):
    with pytest.raises(ChardevError, match="cannot open"):
        open_backend("file:%s" % (tmp_path / "no" / "such" / "dir" / "x"))


# --- the input queue ------------------------------------------------------------------------

def test_input_stays_queued_until_taken_and_notify_fires():
    b = chardev.BufferBackend()
    calls = []
    b.feed(b"abc")
    b.set_input_notify(lambda: calls.append(1))     # input already waiting: told at once
    assert calls == [1]
    b.feed(b"def")
    assert len(calls) == 2
    assert b.read(2) == b"ab"                        # a FIFO with room for 2
    assert b.read(100) == b"cdef"
    assert b.read(1) == b""


# --- the output pump ------------------------------------------------------------------------

def test_output_to_a_nonblocking_pipe_is_not_lost():
    # EAGAIN on a full, non-blocking pipe must wait, not drop (the old code dropped)
    r, w = os.pipe()
    os.set_blocking(w, False)
    pump = chardev.OutputPump(chardev.fd_sink(w), "test")
    data = os.urandom(1 << 20)
    t0 = time.monotonic()
    for k in range(0, len(data), 1000):
        pump.write(data[k:k + 1000])
    assert time.monotonic() - t0 < 5, "the writer blocked although the pump buffers"
    got = bytearray()
    while len(got) < len(data):
        got += os.read(r, 1 << 16)
    assert bytes(got) == data
    assert pump.flush(5)
    pump.close()
    os.close(r)
    os.close(w)


def test_output_pump_applies_backpressure_beyond_its_limit():
    r, w = os.pipe()
    pump = chardev.OutputPump(chardev.fd_sink(w), "test", limit=1 << 16)
    done = threading.Event()

    def writer():
        for _ in range(64):
            pump.write(b"x" * 8192)          # 512 KB: far more than pipe + limit
        done.set()
    threading.Thread(target=writer, daemon=True).start()
    time.sleep(0.5)
    assert not done.is_set(), "write() should wait while the reader is that far behind"
    got = 0
    while got < 64 * 8192:
        got += len(os.read(r, 1 << 16))
    assert done.wait(5)
    pump.close()
    os.close(r)
    os.close(w)


# --- stdio on pipes -------------------------------------------------------------------------

@pytest.fixture
def stdio_pipes():
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    b = StdioBackend(stdin_fd=in_r, stdout_fd=out_w)
    yield b, in_w, out_r
    b.close()
    for fd in (in_r, in_w, out_r, out_w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_stdio_pipe_input_is_typed_into_the_guest(stdio_pipes):
    b, in_w, out_r = stdio_pipes
    notified = threading.Event()
    b.set_input_notify(notified.set)
    b.start(on_quit=lambda status, msg: None)
    assert b.mode == "pipe"
    os.write(in_w, b"ls /proc\n\x01x\x03")          # no escapes on a pipe: every byte goes in
    assert notified.wait(5)
    assert read_until(b, 12) == b"ls /proc\n\x01x\x03"
    b.write(b"output")
    b.flush()
    assert os.read(out_r, 100) == b"output"


def test_stdio_pipe_large_input_is_not_lost(stdio_pipes):
    b, in_w, out_r = stdio_pipes
    b.start()
    data = os.urandom(300_000)                       # several times the input queue's limit

    def feed():
        os.write(in_w, data)
        os.close(in_w)                               # then EOF: input just stops
    threading.Thread(target=feed, daemon=True).start()
    assert read_until(b, len(data), timeout=30) == data
    time.sleep(0.1)
    assert b.read(10) == b""


def test_stdio_broken_stdout_asks_to_quit(stdio_pipes):
    b, in_w, out_r = stdio_pipes
    quits = []
    b.start(on_quit=lambda status, msg: quits.append((status, msg)))
    os.close(out_r)                                  # the reader went away
    b.write(b"nobody reads this")
    b.flush()
    deadline = time.monotonic() + 5
    while not quits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert quits and quits[0][0] == 0 and "went away" in quits[0][1]
    b.write(b"more")                                 # dropped, no exception


# --- tcp ------------------------------------------------------------------------------------

def test_tcp_server_one_client_at_a_time():
    b = open_backend("tcp:127.0.0.1:0,server,nowait")
    try:
        b.write(b"before anyone connects: dropped")
        c1 = socket.create_connection(("127.0.0.1", b.port))
        assert b.connected.wait(5)
        b.write(b"hello")
        assert recv_exactly(c1, 5) == b"hello"
        c1.sendall(b"typed")
        assert read_until(b, 5) == b"typed"
        c2 = socket.create_connection(("127.0.0.1", b.port))   # queued until c1 leaves
        c2.sendall(b"early")
        time.sleep(0.3)
        assert b.read(10) == b""
        c1.close()
        assert read_until(b, 5) == b"early"
        b.write(b"second")
        assert recv_exactly(c2, 6) == b"second"
        c2.close()
    finally:
        b.close()


def test_tcp_server_without_nowait_waits_for_a_client(capsys):
    b = open_backend("tcp:127.0.0.1:0,server")
    try:
        started = threading.Event()
        threading.Thread(target=lambda: (b.start(), started.set()), daemon=True).start()
        time.sleep(0.5)
        assert not started.is_set(), "start() returned with no client connected"
        c = socket.create_connection(("127.0.0.1", b.port))
        assert started.wait(5)
        assert "waiting for connection on: tcp:127.0.0.1:%d,server" % b.port in capsys.readouterr().err
        b.write(b"first byte kept")
        assert recv_exactly(c, 15) == b"first byte kept"
        c.close()
    finally:
        b.close()


def test_tcp_port_in_use_is_a_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        with pytest.raises(ChardevError, match="cannot listen on tcp:127.0.0.1:%d" % s.getsockname()[1]):
            open_backend("tcp:127.0.0.1:%d,server,nowait" % s.getsockname()[1])
    finally:
        s.close()


def test_tcp_client_mode():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    b = open_backend("tcp:127.0.0.1:%d" % srv.getsockname()[1])
    try:
        peer, _ = srv.accept()
        b.write(b"to the server")
        assert recv_exactly(peer, 13) == b"to the server"
        peer.sendall(b"reply")
        assert read_until(b, 5) == b"reply"
        peer.close()
    finally:
        b.close()
        srv.close()


def test_tcp_client_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ChardevError, match="cannot connect"):
        open_backend("tcp:127.0.0.1:%d" % port)


# --- pipe and pty ---------------------------------------------------------------------------

def test_pipe_backend_uses_in_and_out_fifos(tmp_path):
    base = str(tmp_path / "guest")
    os.mkfifo(base + ".in")
    os.mkfifo(base + ".out")
    b = open_backend("pipe:" + base)
    try:
        out = os.open(base + ".out", os.O_RDONLY | os.O_NONBLOCK)
        inp = os.open(base + ".in", os.O_WRONLY)
        b.write(b"guest says hi")
        b.flush()
        time.sleep(0.1)
        assert os.read(out, 100) == b"guest says hi"
        os.write(inp, b"host answers")
        assert read_until(b, 12) == b"host answers"
        os.close(inp)
        os.close(out)
    finally:
        b.close()
    assert stat.S_ISFIFO(os.stat(base + ".in").st_mode)


def test_pty_backend(capsys):
    b = open_backend("pty")
    try:
        assert "pyemu: serial on %s" % b.name in capsys.readouterr().err
        fd = os.open(b.name, os.O_RDWR | os.O_NOCTTY)
        b.write(b"login: ")
        b.flush()
        assert os.read(fd, 100) == b"login: "
        os.write(fd, b"root\n")
        assert read_until(b, 5) == b"root\n"          # raw: no echo, no CR/NL change
        os.close(fd)
    finally:
        b.close()
