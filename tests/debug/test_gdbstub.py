"""gdb (Debian's, in batch mode) drives pyemu's remote stub: connect to a guest
started halted (-S), break, continue, read registers and memory, step, detach;
hardware breakpoints, memory and breakpoints through the guest's paging,
Ctrl-C, and `-s -S` on the default port."""
import os
import pathlib
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from .debuglib import MULTIBOOT_HEADER, free_port

HERE = pathlib.Path(__file__).parent
# gdb sees the guest through pyemu's stub only: no symbol file, so addresses are given as *ADDR
GDB = ["gdb", "-batch", "-nx", "-ex", "set architecture i386"]

GUEST_SRC = """
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


def _build(d, src, syms):
    """Assemble and link a multiboot guest at 1 MB; returns (elf, {symbol: address})."""
    for tool in ("as", "ld", "gdb"):
        if not shutil.which(tool):
            pytest.fail("%s is missing: install binutils and gdb (Debian packages), as .ci/run does" % tool)
    (d / "g.S").write_text(MULTIBOOT_HEADER + src)
    (d / "link.ld").write_text("ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.multiboot) *(.text) }"
                               " .data : { *(.data) } }\n")
    subprocess.run(["as", "--32", "-o", str(d / "g.o"), str(d / "g.S")], check=True, timeout=60)
    subprocess.run(["ld", "-m", "elf_i386", "-T", str(d / "link.ld"), "-o", str(d / "g.elf"), str(d / "g.o")],
                   check=True, capture_output=True, timeout=60)
    out = subprocess.run(["nm", str(d / "g.elf")], capture_output=True, text=True, check=True, timeout=60).stdout
    table = {line.split()[-1]: int(line.split()[0], 16) for line in out.splitlines()}
    return d / "g.elf", {name: table[name] for name in syms}


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("gdbguest"), GUEST_SRC, ["marker", "_start"])


def _start_pyemu(elf, port, wait=True):
    cmd = [sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-gdb", "tcp::%d" % port]
    if wait:
        cmd.append("-S")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(HERE.parents[1]))


def _gdb(port, *commands, timeout=60):
    """One gdb -batch session against the stub on port: its stdout and stderr together."""
    cmd = GDB + ["-ex", "target remote 127.0.0.1:%d" % port]
    for c in commands:
        cmd += ["-ex", c]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.stdout + r.stderr


def _wait_listening(proc):
    """pyemu says on stderr when its stub listens."""
    line = proc.stderr.readline()
    if "waiting for gdb" not in line:
        raise AssertionError("pyemu did not start its gdb stub: %s%s" % (line, proc.stderr.read()))


def test_gdb_batch_session(guest):
    elf, syms = guest
    marker = syms["marker"]
    port = free_port()
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


def test_hbreak_then_delete(guest):
    """hbreak (Z1) stops before the instruction; after delete (z1) continue runs to the end:
    the breakpoint is inside a 5-times loop, so a z1 that did not remove it stops again."""
    elf, syms = guest
    marker = syms["marker"]
    port = free_port()
    proc = _start_pyemu(elf, port)
    try:
        _wait_listening(proc)
        out = _gdb(port, "hbreak *%#x" % marker, "continue", "info registers eip ecx", "delete", "continue")
        assert "Hardware assisted breakpoint 1 at %#x" % marker in out, out
        assert out.count("Breakpoint 1, %#010x" % marker) == 1, out
        assert "eip            %#x" % marker in out, out
        assert "ecx            0x5" in out, out                        # the first time round the loop
        assert "exited with code 017" in out, out           # gdb prints W0f in octal: pyemu's status 15
        stdout, _ = proc.communicate(timeout=60)
        assert proc.returncode == 15 and stdout == "Z", (proc.returncode, stdout)
    finally:
        if proc.poll() is None:
            proc.kill()


PAGING_SETUP = {
    # 2-level paging with 4 KB pages
    "2level": """
        mov $pt0, %edi                  # pt0: 0-4 MB identity-mapped
        mov $0x003, %eax
        mov $1024, %ecx
1:      mov %eax, (%edi)
        add $4, %edi
        add $0x1000, %eax
        loop 1b
        movl $(pt0 + 3), pd
        movl $(pt1 + 3), pd + 0x400     # 0x40000000-0x403fffff: pt1
        movl $(pattern + 3), pt1        #   0x40000000 -> the pattern's page
        movl $(hicode + 3), pt1 + 4     #   0x40001000 -> hicode's page
        movl $(pattern + 3), pt1 + 8    #   0x40002000 mapped too (see below)
        mov $pd, %eax
        mov %eax, %cr3
""",
    # PAE: 8-byte entries, the low 2 MB as one large page
    "pae": """
        movl $(pd + 1), pdpt            # 0-1 GB: pd
        movl $(pt0 + 1), pdpt + 8       # 1-2 GB: pt0 serves as its page directory
        movl $0x83, pd                  #   0-2 MB: a large page (PS), identity
        movl $(pt1 + 3), pt0            #   0x40000000-0x401fffff: pt1
        movl $(pattern + 3), pt1        #     0x40000000 -> the pattern's page
        movl $(hicode + 3), pt1 + 8     #     0x40001000 -> hicode's page
        movl $(pattern + 3), pt1 + 16   #     0x40002000 mapped too (see below)
        mov %cr4, %eax
        or $0x20, %eax
        mov %eax, %cr4
        mov $pdpt, %eax
        mov %eax, %cr3
""",
}

PAGING_SRC = """
_start: mov $stack_top, %esp
@SETUP@
        mov $0x12345678, %eax           # the debugger's reads must leave CR2 alone
        mov %eax, %cr2
        mov %cr0, %eax
        or $0x80000000, %eax
        mov %eax, %cr0
        mov $0x40001000, %eax
        jmp *%eax

        .align 4096
hicode: mov 0x40000000, %eax            # runs at 0x40001000, never at its physical address
hi_bp:  add $1, %eax
        mov $0x3f8, %dx
        mov %cr2, %ebx
        cmp $0x12345678, %ebx
        mov $'C', %al                   # C: CR2 as the guest set it
        je 1f
        mov $'c', %al
1:      out %al, %dx
        cmpl $0x5555aaaa, pattern + 4   # W: gdb's write through 0x40000004 reached the page
        mov $'W', %al
        je 1f
        mov $'w', %al
1:      out %al, %dx
        mov $0x7, %al
        out %al, $0xf4

        .data
        .align 4096
pattern: .long 0xdeadbeef, 0x01234567, 0x89abcdef, 0xfeedface
        .align 4096
pd:     .fill 1024, 4, 0
pt0:    .fill 1024, 4, 0
pt1:    .fill 1024, 4, 0
pdpt:   .fill 4, 8, 0
        .fill 256, 4, 0
stack_top:
"""
# 0x40002000 is mapped so that the CR2 check is about the stub alone: the
# translator, decoding the block at 0x40001000, also looks at the next page for
# instructions that cross into it (with no side effect either, which
# tests/translator/test_code_fetch.py checks).
HI_VIRT = 0x40001000


@pytest.fixture(scope="module", params=sorted(PAGING_SETUP))
def paging_guest(request, tmp_path_factory):
    return _build(tmp_path_factory.mktemp("gdbpaging"), PAGING_SRC.replace("@SETUP@", PAGING_SETUP[request.param]),
                  ["hicode", "hi_bp", "pattern"])


def test_memory_and_breakpoints_through_paging(paging_guest):
    """With paging on, gdb's addresses are the guest's virtual ones: a breakpoint at a
    virtual address that is not identity-mapped hits (and one at its physical alias
    does not), memory reads and writes go through the page tables, an unmapped
    address is gdb's "Cannot access memory" (and leaves CR2 alone), pyemu carries on."""
    elf, syms = paging_guest
    virt_bp = HI_VIRT + syms["hi_bp"] - syms["hicode"]
    port = free_port()
    proc = _start_pyemu(elf, port)
    try:
        _wait_listening(proc)
        out = _gdb(port, "break *%#x" % virt_bp, "break *%#x" % syms["hi_bp"], "continue",
                   "info registers eip eax", "x/4xw 0x40000000", "x/2xb %#x" % virt_bp,
                   "x/xw 0x80000000", "x/2xw 0x40000ffc",
                   "set var *(int *)0x40000004 = 0x5555aaaa", "x/xw %#x" % (syms["pattern"] + 4),
                   "info registers eip", "delete", "continue")
        assert "Breakpoint 1, %#010x" % virt_bp in out, out
        assert "Breakpoint 2," not in out, out                          # the physical alias never runs
        assert "eip            %#x" % virt_bp in out, out
        assert "eax            0xdeadbeef" in out, out                  # the guest read 0x40000000 too
        assert "0x40000000:\t0xdeadbeef\t0x01234567\t0x89abcdef\t0xfeedface" in out, out
        assert "%#x:\t0x83\t0xc0" % virt_bp in out, out                 # add $1, %eax, read at 0x4000100x
        assert "Cannot access memory at address 0x80000000" in out, out
        assert "0x40000ffc:\t0x00000000\t0x000000a1" in out, out        # crosses into hicode (a1: mov moffs)
        assert "%#x:\t0x5555aaaa" % (syms["pattern"] + 4) in out, out      # written at its virtual address
        assert out.count("eip            %#x" % virt_bp) == 2, out        # the stub is still there
        assert "exited with code 017" in out, out
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 15, stderr
        assert stdout == "CW", stdout
    finally:
        if proc.poll() is None:
            proc.kill()


SPIN_SRC = """
_start: mov $0x3f8, %dx
        mov $'R', %al                   # running: the test interrupts from now on
        out %al, %dx
        xor %eax, %eax
spin:   add $1, %eax
        jmp spin
spin_end:
"""


@pytest.fixture(scope="module")
def spin_guest(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("gdbspin"), SPIN_SRC, ["spin", "spin_end"])


def _read_byte(proc, timeout):
    """One byte of pyemu's stdout (the guest's serial line), or b'' after timeout seconds."""
    fd = proc.stdout.fileno()
    r, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 1) if r else b""


def test_ctrl_c_interrupts_a_running_guest(spin_guest):
    """gdb's Ctrl-C: gdb -batch cannot type it and its async `continue &` + `interrupt`
    never processes the stop in batch mode (gdb 13), so the test does what a terminal
    does: SIGINT to gdb while it waits in `continue`.  gdb then sends 0x03, the stub
    stops the endless loop and reports SIGINT, and gdb reads registers and kills."""
    elf, syms = spin_guest
    port = free_port()
    proc = _start_pyemu(elf, port)
    gdb = None
    try:
        _wait_listening(proc)
        gdb = subprocess.Popen(GDB + ["-ex", "target remote 127.0.0.1:%d" % port, "-ex", "continue",
                                      "-ex", "info registers eip eax", "-ex", "kill"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert _read_byte(proc, 60) == b"R", "the guest did not start running"
        time.sleep(0.5)                              # gdb is waiting for the stop reply
        for attempt in range(4):
            # a SIGINT that reached gdb before it waited (a loaded machine) is sent again
            gdb.send_signal(signal.SIGINT)
            try:
                out, _ = gdb.communicate(timeout=5)
                break
            except subprocess.TimeoutExpired:
                pass
        else:
            raise AssertionError("gdb did not stop the guest on SIGINT (Ctrl-C)")
        assert "Program received signal SIGINT, Interrupt." in out, out
        eip = int(out.split("eip            ")[1].split()[0], 16)
        assert syms["spin"] <= eip < syms["spin_end"], out
        assert int(out.split("eax            ")[1].split()[0], 16) > 1000, out     # the loop ran
        assert "Remote connection closed" not in out, out                           # vKill answered
        proc.communicate(timeout=60)
        assert proc.returncode == 0                                                  # killed by gdb
    finally:
        for p in (gdb, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def test_dash_s_listens_on_1234(guest):
    """`pyemu -s -S`, the issue's spelling: the stub on 127.0.0.1:1234.  The only test on
    1234 (the others take free ephemeral ports, never 1234, so -n 2 cannot collide)."""
    elf, syms = guest
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as pyemu's: a TIME_WAIT is no obstacle
    try:
        probe.bind(("127.0.0.1", 1234))
    except OSError as e:
        pytest.skip("port 1234 is in use on this machine (%s): -s cannot be tried here" % e.strerror)
    finally:
        probe.close()
    proc = subprocess.Popen([sys.executable, "-m", "emu.cli", "-kernel", str(elf), "-nographic", "-no-reboot",
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-s", "-S"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(HERE.parents[1]))
    try:
        line = proc.stderr.readline()
        assert "waiting for gdb on 127.0.0.1:1234" in line, line + proc.stderr.read()
        out = subprocess.run(GDB + ["-ex", "target remote :1234", "-ex", "info registers eip", "-ex", "detach"],
                             capture_output=True, text=True, timeout=60)
        out = out.stdout + out.stderr
        assert "eip            %#x" % syms["_start"] in out, out           # -S: nothing ran yet
        assert "[Inferior 1 (Remote target) detached]" in out, out
        stdout, _ = proc.communicate(timeout=60)                            # detached: runs to the end
        assert proc.returncode == 15 and stdout == "Z", (proc.returncode, stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
