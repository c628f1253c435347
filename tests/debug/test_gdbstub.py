"""gdb (Debian's, in batch mode) drives pyemu's remote stub: connect to a guest
started halted (-S), break, continue, read registers and memory, step, detach."""
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
GUEST_SRC = """
        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
        .text
        .globl _start
_start: mov $0x1234, %eax
        mov $msg, %esi
        mov $0x3f8, %dx
        mov $5, %ecx
marker: add $1, %eax
        loop marker
        lodsb
        out %al, %dx
        mov $0x7, %al
        out %al, $0xf4
        .data
msg:    .ascii "Z"
"""


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    for tool in ("as", "ld", "gdb"):
        if not shutil.which(tool):
            pytest.fail("%s is missing: install binutils and gdb (Debian packages), as .ci/run does" % tool)
    d = tmp_path_factory.mktemp("gdbguest")
    (d / "g.S").write_text(GUEST_SRC)
    (d / "link.ld").write_text("ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.multiboot) *(.text) }"
                               " .data : { *(.data) } }\n")
    subprocess.run(["as", "--32", "-o", str(d / "g.o"), str(d / "g.S")], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-T", str(d / "link.ld"), "-o", str(d / "g.elf"), str(d / "g.o")],
                   check=True, capture_output=True)
    syms = subprocess.run(["nm", str(d / "g.elf")], capture_output=True, text=True, check=True).stdout
    marker = int(next(line.split()[0] for line in syms.splitlines() if line.endswith(" marker")), 16)
    return d / "g.elf", marker


def _start_pyemu(elf, port, wait=True):
    cmd = [sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-gdb", "tcp::%d" % port]
    if wait:
        cmd.append("-S")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(HERE.parents[1]))


def _wait_listening(proc):
    """pyemu says on stderr when its stub listens."""
    line = proc.stderr.readline()
    if "waiting for gdb" not in line:
        raise AssertionError("pyemu did not start its gdb stub: %s%s" % (line, proc.stderr.read()))


def test_gdb_batch_session(guest):
    elf, marker = guest
    port = _free_port()
    proc = _start_pyemu(elf, port)
    try:
        _wait_listening(proc)
        gdb = subprocess.run(
            ["gdb", "-batch", "-nx", "-ex", "set architecture i386", "-ex", "target remote 127.0.0.1:%d" % port,
             "-ex", "break *%#x" % marker, "-ex", "continue", "-ex", "info registers eip eax ecx",
             "-ex", "x/2xb %#x" % marker, "-ex", "stepi", "-ex", "p/x $eax",
             "-ex", "set var $ebx = 0x55", "-ex", "p/x $ebx", "-ex", "detach"],
            capture_output=True, text=True, timeout=60)
        out = gdb.stdout + gdb.stderr
        assert "Breakpoint 1, %#010x" % marker in out, out
        assert "eip            %#x" % marker in out, out
        assert "0x1234" in out.split("eax")[1].split("\n")[0], out          # eax before the add
        assert "ecx            0x5" in out, out
        assert "0x83\t0xc0" in out, out                                      # add $1, %eax
        assert "$1 = 0x1235" in out, out                                     # after one stepi
        assert "$2 = 0x55" in out, out                                       # register write
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 15                                         # (7 << 1) | 1
        assert stdout == "Z"
    finally:
        if proc.poll() is None:
            proc.kill()
