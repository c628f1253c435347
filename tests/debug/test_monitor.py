"""The monitor: QMP driven by QEMU's own Python client (qemu.qmp), the wire format
seen from a raw socket, and the human monitor on -monitor stdio (alone on
stdio, and sharing it with the serial console: C-a c).

The guest is a small multiboot program: it sets up a GDT and an IDT (every
vector acknowledges the PICs and returns), prints "R" on COM1, enables
interrupts and loops, counting iterations in `counter` and storing the TSC
(guest time in ns) in `tsc`, so the monitor can tell from guest memory
whether the guest runs and how much guest time passed."""
import asyncio
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest
from qemu.qmp import ExecuteError, QMPClient

from .debuglib import MULTIBOOT_HEADER, free_port

HERE = pathlib.Path(__file__).parent
REPO = HERE.parents[1]

GUEST = MULTIBOOT_HEADER + """\
_start: cli
        lgdt gdtr
        ljmp $0x08, $1f
1:      mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $stack_top, %esp
        mov $idt, %edi
        mov $256, %ecx
        mov $handler, %eax
2:      mov %ax, (%edi)
        movw $0x08, 2(%edi)
        movw $0x8E00, 4(%edi)
        mov %eax, %edx
        shr $16, %edx
        mov %dx, 6(%edi)
        add $8, %edi
        loop 2b
        lidt idtr
        mov $0x3f8, %dx
        mov $0x52, %al
        out %al, %dx
        sti
spin:   incl counter
        rdtsc
        mov %eax, tsc
        mov %edx, tsc + 4
        jmp spin
handler:
        push %eax
        mov $0x20, %al
        out %al, $0xa0
        out %al, $0x20
        pop %eax
        iret
        .data
        .align 8
gdt:    .quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
gdtr:   .word 23
        .long gdt
idtr:   .word 2047
        .long idt
        .align 8
magic:  .long 0xC0FFEE42, 0x12345678
counter: .long 0
        .align 8
tsc:    .long 0, 0
        .align 8
idt:    .space 2048
stack:  .space 4096
stack_top:
"""


EXIT_GUEST = MULTIBOOT_HEADER + """\
_start: mov $3, %al
        out %al, $0xf4
        .data
"""


RESET_GUEST = MULTIBOOT_HEADER + """\
_start: mov $0xfe, %al
        out %al, $0x64                  # the keyboard controller's pulse on the reset line
1:      hlt
        jmp 1b
"""


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    """(elf path, {symbol: address})."""
    return _build(tmp_path_factory.mktemp("monguest"), GUEST)


@pytest.fixture(scope="module")
def exit_guest(tmp_path_factory):
    """A guest that ends pyemu at once through isa-debug-exit (status (3 << 1) | 1)."""
    return _build(tmp_path_factory.mktemp("exitguest"), EXIT_GUEST)[0]


def _build(d, src):
    for tool in ("as", "ld", "nm"):
        if not shutil.which(tool):
            pytest.fail("%s is missing: install binutils (Debian package), as .ci/run does" % tool)
    (d / "g.S").write_text(src)
    (d / "link.ld").write_text("ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.multiboot) *(.text) }"
                               " .data : { *(.data) } }\n")
    subprocess.run(["as", "--32", "-o", str(d / "g.o"), str(d / "g.S")], check=True, timeout=60)
    subprocess.run(["ld", "-m", "elf_i386", "-T", str(d / "link.ld"), "-o", str(d / "g.elf"), str(d / "g.o")],
                   check=True, capture_output=True, timeout=60)
    out = subprocess.run(["nm", str(d / "g.elf")], capture_output=True, text=True, check=True).stdout
    syms = {line.split()[-1]: int(line.split()[0], 16) for line in out.splitlines()}
    return d / "g.elf", syms


def _pyemu(elf, *args, stdin=subprocess.DEVNULL):
    cmd = [sys.executable, "-m", "emu.cli", "-kernel", str(elf), *args]
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO))


def _wait_for_guest(proc, timeout=120):
    """The guest prints R once it runs (with the console on stdout)."""
    got = proc.stdout.read(1)
    if got != b"R":
        proc.kill()
        raise AssertionError("the guest did not start: %r %s" % (got, proc.stderr.read().decode()))


def _wait_socket(path, proc, timeout=120):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError("pyemu ended: %s" % proc.stderr.read().decode())
        assert time.monotonic() < end, "no QMP socket"
        time.sleep(0.05)


async def _hmp(client, line):
    return await client.execute("human-monitor-command", {"command-line": line})


async def _word(client, addr, size="w"):
    """A value of guest physical memory, through the human monitor's xp."""
    out = await _hmp(client, "xp /1x%s %#x" % (size, addr))
    head, value = out.split()
    assert int(head.rstrip(":"), 16) == addr, out
    return int(value, 16)


async def _until_above(client, addr, value, timeout=60):
    """Poll a guest word until it exceeds value (the guest runs); returns it."""
    end = time.monotonic() + timeout
    while True:
        now = await _word(client, addr)
        if now > value:
            return now
        assert time.monotonic() < end, "the guest does not run: %#x stays %d" % (addr, now)
        time.sleep(0.05)


async def _events(client):
    names = []
    while not client.events.empty():
        names.append((await client.events.get())["event"])
    return names


async def _disconnect(client):
    try:
        await client.disconnect()
    except EOFError:
        pass                # pyemu hung up first (after quit), as QEMU does


def test_qmp_session(guest, tmp_path):
    """One pyemu driven through QMP: greeting, status, stop/cont (nothing runs and no
    guest time passes while stopped), errors, info registers, system_reset, quit."""
    elf, syms = guest
    sock = str(tmp_path / "qmp.sock")
    proc = _pyemu(elf, "-nographic", "-qmp", "unix:%s,server,nowait" % sock)
    try:
        _wait_for_guest(proc)
        _wait_socket(sock, proc)
        asyncio.run(_qmp_session(sock, syms))
        assert proc.wait(60) == 0, proc.stderr.read().decode()
        assert not os.path.exists(sock), "the socket file stays behind"
    finally:
        if proc.poll() is None:
            proc.kill()


async def _qmp_session(sock, syms):
    c = QMPClient("test")
    await c.connect(sock)
    greeting = c.greeting._raw["QMP"]
    assert greeting["capabilities"] == []
    assert set(greeting["version"]["qemu"]) == {"major", "minor", "micro"}
    assert greeting["version"]["package"].startswith("pyemu")

    st = await c.execute("query-status")
    assert st["running"] is True and st["status"] == "running"
    assert await _word(c, syms["magic"]) == 0xC0FFEE42
    assert await _word(c, syms["magic"], "g") == 0x12345678C0FFEE42

    # stop: the guest stays out of the run loop, its time stands still
    await _until_above(c, syms["counter"], 0)
    await c.execute("stop")
    st = await c.execute("query-status")
    assert st == {"running": False, "singlestep": False, "status": "paused"}
    count1, tsc1 = await _word(c, syms["counter"]), await _word(c, syms["tsc"], "g")
    assert count1 > 0                        # it did run
    time.sleep(1.5)
    assert await _word(c, syms["counter"]) == count1
    assert await _word(c, syms["tsc"], "g") == tsc1
    regs = await _hmp(c, "info registers")
    eip = int(regs.split("EIP=")[1].split()[0], 16)
    assert syms["spin"] <= eip < syms["handler"] + 8, regs
    assert "CS=0008" in regs and "SS=0010" in regs, regs
    assert regs.endswith("\r\n")
    # x goes through paging (off here: linear = physical); $esp is within the stack
    assert (await _hmp(c, "x /2xw %#x" % syms["magic"])).split()[1:] == ["0xc0ffee42", "0x12345678"]
    stack = await _hmp(c, "x /1xw $esp")
    assert syms["stack"] <= int(stack.split(":")[0], 16) <= syms["stack_top"], stack

    # cont: it runs again, and the 1.5 s it was stopped are not made up afterwards
    t0 = time.monotonic()
    await c.execute("cont")
    assert (await c.execute("query-status"))["status"] == "running"
    time.sleep(0.5)
    await c.execute("stop")
    host_ns = (time.monotonic() - t0) * 1e9
    count2, tsc2 = await _word(c, syms["counter"]), await _word(c, syms["tsc"], "g")
    assert count2 > count1
    assert 0 < tsc2 - tsc1 <= host_ns + 0.2e9, (tsc2 - tsc1, host_ns)

    # errors are QMP error objects
    with pytest.raises(ExecuteError) as e:
        await c.execute("no-such-command")
    assert e.value.error_class == "CommandNotFound"
    with pytest.raises(ExecuteError) as e:
        await c.execute("system_powerdown")
    assert e.value.error_class == "GenericError" and "ACPI" in str(e.value)
    with pytest.raises(ExecuteError) as e:
        await c.execute("stop", {"bogus": 1})
    assert e.value.error_class == "GenericError"
    assert (await _hmp(c, "frobnicate")).startswith("unknown command: 'frobnicate'")
    assert "Cannot access memory" not in await _hmp(c, "xp /1xw 0xfffffff0")   # physical: always readable

    # system_reset while stopped: back at the multiboot entry, data reloaded, still stopped
    await c.execute("system_reset")
    regs = await _hmp(c, "info registers")
    assert "EIP=%08x" % syms["_start"] in regs, regs
    assert await _word(c, syms["counter"]) == 0
    assert (await c.execute("query-status"))["status"] == "paused"
    await c.execute("cont")
    await _until_above(c, syms["counter"], 0)
    assert await _events(c) == ["STOP", "RESUME", "STOP", "RESET", "RESUME"]

    await c.execute("quit")
    await _disconnect(c)


def test_qmp_savevm_loadvm(guest, tmp_path):
    """savevm/loadvm through QMP ({"file": PATH}, pyemu's extension) and as human
    monitor commands: a stopped guest restored has its counter back."""
    elf, syms = guest
    sock = str(tmp_path / "qmp.sock")
    snap = str(tmp_path / "vm.snap")
    proc = _pyemu(elf, "-nographic", "-qmp", "unix:%s,server=on,wait=off" % sock)

    async def session():
        c = QMPClient("test")
        await c.connect(sock)
        await c.execute("stop")
        saved = await _word(c, syms["counter"])
        await c.execute("savevm", {"file": snap})
        assert os.path.getsize(snap) > 0
        await c.execute("cont")
        await _until_above(c, syms["counter"], saved)
        await c.execute("stop")
        await c.execute("loadvm", {"file": snap})
        assert await _word(c, syms["counter"]) == saved
        assert (await c.execute("query-status"))["status"] == "paused"
        # the human monitor spelling, and a broken file
        assert await _hmp(c, "savevm %s" % (snap + "2")) == ""
        assert await _hmp(c, "loadvm %s" % (snap + "2")) == ""
        pathlib.Path(snap + "3").write_bytes(b"not a snapshot")
        with pytest.raises(ExecuteError) as e:
            await c.execute("loadvm", {"file": snap + "3"})
        assert e.value.error_class == "GenericError" and snap + "3" in str(e.value)
        assert (await _hmp(c, "loadvm %s" % (snap + "3"))).startswith("Error: loadvm")
        with pytest.raises(ExecuteError):
            await c.execute("savevm", {})
        await c.execute("cont")
        await _until_above(c, syms["counter"], saved)
        await c.execute("quit")
        await _disconnect(c)
    try:
        _wait_for_guest(proc)
        _wait_socket(sock, proc)
        asyncio.run(session())
        assert proc.wait(60) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()


def _raw_connect(port, proc, timeout=120):
    end = time.monotonic() + timeout
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            return s, s.makefile("rb")
        except OSError:
            if proc.poll() is not None:
                raise AssertionError("pyemu ended: %s" % proc.stderr.read().decode())
            assert time.monotonic() < end, "no QMP listener"
            time.sleep(0.05)


def test_qmp_wire_format_on_tcp_with_S(guest):
    """-S -qmp tcp:...: the guest waits for cont ("prelaunch"); negotiation first;
    ids come back; bad JSON is an error reply; two messages in one packet; events."""
    elf, syms = guest
    port = free_port()
    proc = _pyemu(elf, "-nographic", "-S", "-qmp", "tcp:127.0.0.1:%d,server,nowait" % port)
    try:
        s, f = _raw_connect(port, proc)

        def ask(obj):
            s.sendall(obj if isinstance(obj, bytes) else json.dumps(obj).encode())
            return json.loads(f.readline())
        greeting = json.loads(f.readline())
        assert greeting["QMP"]["capabilities"] == []
        assert ask({"execute": "query-status"})["error"]["class"] == "CommandNotFound"
        assert ask({"execute": "qmp_capabilities", "id": 7}) == {"return": {}, "id": 7}
        assert ask({"execute": "qmp_capabilities"})["error"]["class"] == "CommandNotFound"
        assert ask({"execute": "query-status", "id": "a"}) == {
            "return": {"running": False, "singlestep": False, "status": "prelaunch"}, "id": "a"}
        bad = ask(b'{"execute": }\n')
        assert bad["error"]["class"] == "GenericError" and "JSON" in bad["error"]["desc"]
        assert ask({"arguments": {}})["error"]["desc"] == "QMP input lacks member 'execute'"
        out = ask({"execute": "human-monitor-command", "arguments": {"command-line": "xp /1xw %#x"
                                                                       % syms["counter"]}})
        assert out["return"].split()[1] == "0x00000000"               # nothing ran yet
        # two commands in one packet, no newlines: two answers in order
        s.sendall(b'{"execute":"cont","id":1}{"execute":"query-status","id":2}')
        answers = []
        while len(answers) < 2:
            msg = json.loads(f.readline())
            if "event" in msg:
                assert msg["event"] == "RESUME" and set(msg["timestamp"]) == {"seconds", "microseconds"}
                continue
            answers.append(msg)
        assert answers[0] == {"return": {}, "id": 1}
        assert answers[1]["return"]["status"] == "running" and answers[1]["id"] == 2
        end = time.monotonic() + 60
        while True:
            out = ask({"execute": "human-monitor-command", "arguments": {"command-line": "xp /1xw %#x"
                                                                           % syms["counter"]}})
            if int(out["return"].split()[1], 16) > 0:
                break
            assert time.monotonic() < end, "the guest does not run after cont"
            time.sleep(0.05)
        assert ask({"execute": "quit", "id": "q"}) == {"return": {}, "id": "q"}
        shutdown = json.loads(f.readline())
        assert shutdown["event"] == "SHUTDOWN" and shutdown["data"]["guest"] is False
        assert f.readline() == b""
        assert proc.wait(60) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("spec,message", [
    ("unix:/tmp/x.sock", "pyemu: -qmp unix:/tmp/x.sock: pyemu's QMP only listens: add ,server"),
    ("tcp:127.0.0.1:notaport,server", "pyemu: -qmp tcp:127.0.0.1:notaport,server: expected tcp:[HOST]:PORT"),
    ("stdio", "pyemu: -qmp stdio: pyemu's QMP listens on unix:PATH or tcp:[HOST]:PORT"),
    ("unix:/tmp/x.sock,server,wait=maybe", "pyemu: -qmp unix:/tmp/x.sock,server,wait=maybe: option wait: "
                                            "'maybe' is not on or off"),
])
def test_bad_qmp_spec_is_one_line_error(guest, spec, message):
    elf, _ = guest
    r = subprocess.run([sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic", "-qmp", spec],
                       capture_output=True, text=True, timeout=60, cwd=str(REPO), stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert r.stdout == ""


def test_guest_exit_ends_the_session(exit_guest, tmp_path):
    """-S: nothing runs before cont; then the guest leaves through isa-debug-exit,
    the client gets SHUTDOWN (guest: true) and pyemu the guest's exit status."""
    sock = str(tmp_path / "qmp.sock")
    proc = _pyemu(exit_guest, "-nographic", "-S", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                  "-qmp", "unix:%s,server,nowait" % sock)

    async def session():
        c = QMPClient("test")
        await c.connect(sock)
        assert (await c.execute("query-status"))["status"] == "prelaunch"
        assert await _hmp(c, "info status") == "VM status: paused (prelaunch)\r\n"
        time.sleep(0.3)
        assert proc.poll() is None                  # -S: the guest has not run (it would have ended)
        await c.execute("cont")
        ev = await asyncio.wait_for(c.events.get(), 60)
        assert ev["event"] == "RESUME"
        ev = await asyncio.wait_for(c.events.get(), 60)
        assert ev["event"] == "SHUTDOWN" and ev["data"]["guest"] is True, ev
        await _disconnect(c)
    try:
        _wait_socket(sock, proc)
        asyncio.run(session())
        assert proc.wait(60) == 7, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_reset_by_the_guest_is_a_reset_event(tmp_path):
    """A guest that resets the machine (through the keyboard controller; it boots
    again and does it again): the client gets RESET with guest: true and QEMU's
    reason, as for system_reset it gets guest: false."""
    elf = _build(tmp_path, RESET_GUEST)[0]
    sock = str(tmp_path / "qmp.sock")
    proc = _pyemu(elf, "-nographic", "-S", "-qmp", "unix:%s,server,nowait" % sock)

    async def session():
        c = QMPClient("test")
        await c.connect(sock)
        await c.execute("cont")
        ev = await asyncio.wait_for(c.events.get(), 60)
        assert ev["event"] == "RESUME"
        ev = await asyncio.wait_for(c.events.get(), 60)
        assert ev["event"] == "RESET" and ev["data"] == {"guest": True, "reason": "guest-reset"}, ev
        await c.execute("quit")
        await _disconnect(c)
    try:
        _wait_socket(sock, proc)
        asyncio.run(session())
        assert proc.wait(60) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_qmp_address_in_use_is_one_line_error(guest):
    elf, _ = guest
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        r = subprocess.run([sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic",
                            "-qmp", "tcp::%d,server,nowait" % port],
                           capture_output=True, text=True, timeout=120, cwd=str(REPO), stdin=subprocess.DEVNULL)
    finally:
        holder.close()
    assert r.returncode == 1
    assert r.stderr.strip() == "pyemu: cannot listen for QMP on tcp::%d,server,nowait: Address already in use" % port


def test_human_monitor_on_stdio(guest):
    """-monitor stdio with the console elsewhere: stdin is the monitor's, by lines."""
    elf, syms = guest
    script = ("info status\n"
              "info registers\n"
              "xp /2xw %#x\n"
              "x/2xw %#x\n"
              "xp /3db %#x\n"
              "stop\n"
              "info status\n"
              "nonsense\n"
              "quit\n") % (syms["magic"], syms["magic"], syms["magic"])
    proc = subprocess.run([sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-serial", "null",
                           "-monitor", "stdio"], input=script.encode(), capture_output=True, timeout=120,
                          cwd=str(REPO))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert out.startswith("pyemu ") and "monitor - type 'help' for more information\r\n(qemu) " in out, out
    assert "VM status: running\r\n" in out and "VM status: paused\r\n" in out, out
    assert "EIP=" in out and "CS=0008" in out, out
    assert "%016x: 0xc0ffee42 0x12345678\r\n" % syms["magic"] in out, out
    # The word after magic is the spinning guest's counter, so both reads stay inside magic.
    assert "%08x: 0xc0ffee42 0x12345678\r\n" % syms["magic"] in out, out
    assert "%016x: 66 -18 -1\r\n" % syms["magic"] in out, out       # 0x42 0xee 0xff as signed bytes
    assert "unknown command: 'nonsense'" in out, out
    assert out.count("(qemu) ") == 9, out        # one prompt before each command; none after quit


def test_human_monitor_muxed_with_console(guest):
    """-monitor stdio and the serial console both on stdio (pipes): the console has
    the input; C-a c switches to the monitor, C-a c again back."""
    elf, syms = guest
    proc = _pyemu(elf, "-monitor", "stdio", stdin=subprocess.PIPE)
    try:
        _wait_for_guest(proc)               # the console's output
        proc.stdin.write(b"\x01c")
        proc.stdin.write(b"info status\r")
        proc.stdin.write(b"xp /1xw %#x\r" % syms["magic"])
        proc.stdin.write(b"\x01c")          # back to the console, and again to the monitor
        proc.stdin.write(b"\x01cquit\r")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
        text = out.decode("latin-1")
        assert proc.returncode == 0, err.decode() + text
        assert "monitor - type 'help'" in text and "(qemu) info status\r\nVM status: running\r\n" in text, text
        assert "%016x: 0xc0ffee42\r\n" % syms["magic"] in text, text
        assert "(qemu) quit\r\n" in text, text      # echoed: the monitor echoes what it is typed
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_a_c_on_a_terminal_opens_the_monitor(guest):
    """-nographic on a terminal, no -monitor option: C-a c switches to the monitor
    (echo and backspace are the monitor's, the terminal being raw), C-a c back."""
    import pty
    import select
    elf, syms = guest
    pid, fd = pty.fork()
    if pid == 0:                            # the child: pyemu on the pty
        try:
            os.chdir(str(REPO))
            os.execv(sys.executable, [sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic"])
        finally:
            os._exit(127)
    out = bytearray()

    def expect(what, timeout=60):
        end = time.monotonic() + timeout
        while what not in out:
            assert time.monotonic() < end, "%r not seen; output so far: %r" % (what, bytes(out))
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out.extend(os.read(fd, 4096))
                except OSError:
                    break
        assert what in out, "%r not seen; output: %r" % (what, bytes(out))
    try:
        expect(b"R", 120)
        os.write(fd, b"\x01c")
        expect(b"(qemu) ")
        os.write(fd, b"info sx\x7ftatus\r")
        expect(b"VM status: running")
        assert b"info sx\b \btatus" in out, bytes(out)      # echoed, with the backspace
        os.write(fd, b"xp /1xw %#x\r" % syms["magic"])
        expect(b"0xc0ffee42")
        os.write(fd, b"\x01c")                              # back to the console
        time.sleep(0.3)
        os.write(fd, b"\x01x")                              # C-a x: quit
        _, status = os.waitpid(pid, 0)
        pid = None
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, bytes(out))
    finally:
        if pid is not None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
