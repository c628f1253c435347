"""-d int and -d cpu (QEMU's log items) on a guest with known events.

-d int must log every interrupt and exception with its vector, error code and
CS:EIP (for INT n the EIP after the instruction, as QEMU logs it); -d cpu the
registers at each block entry.  sys_log.S raises #UD, INT 40h and #GP(38h) at
labels whose addresses come from the ELF's symbol table.
"""
import re
import subprocess

import pytest

from . import guestlib, syslib


@pytest.fixture(scope="module")
def log_guest(tmp_path_factory):
    d = tmp_path_factory.mktemp("syslog")
    elf, kind = syslib.build("sys_log", d)
    nm = subprocess.run(["nm", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = {line.split()[2]: int(line.split()[0], 16) for line in nm.splitlines() if len(line.split()) == 3}
    return d, elf, kind, syms


def _run_with_log(log_guest, items):
    d, elf, kind, syms = log_guest
    log = d / ("log-%s.txt" % items.replace(",", "-"))
    run = syslib.run_pyemu(elf, kind, extra=["-d", items, "-D", str(log)])
    assert "PASS sys_log" in run.stdout.decode("latin-1"), run.describe()
    return log.read_text(), syms


def test_d_int_logs_vector_error_and_cs_eip(log_guest):
    text, syms = _run_with_log(log_guest, "int")
    events = re.findall(r"^(exception|INT|IRQ) vector (0x[0-9a-f]+)(?: error (0x[0-9a-f]+))? at "
                        r"([0-9a-f]{4}):([0-9a-f]{8})", text, re.M)
    got = [(kind, int(vec, 16), int(err, 16) if err else None, int(cs, 16), int(eip, 16))
           for kind, vec, err, cs, eip in events]
    want = [("exception", 6, None, 0x08, syms["log_ud"]),
            ("INT", 0x40, None, 0x08, syms["log_after_int"]),
            ("exception", 13, 0x38, 0x08, syms["log_gp"])]
    assert got == want, "-d int log:\n" + text


def test_d_cpu_dumps_registers_at_block_entry(log_guest):
    text, syms = _run_with_log(log_guest, "cpu")
    # the block at log_block starts with EBX just set by the block before it
    m = re.search(r"^EAX=[0-9a-f]{8} ECX=([0-9a-f]{8}) EDX=[0-9a-f]{8} EBX=([0-9a-f]{8}) ESP=[0-9a-f]{8} "
                  r"EBP=[0-9a-f]{8} ESI=[0-9a-f]{8} EDI=[0-9a-f]{8}\nEIP=%08x EFL=[0-9a-f]{8} "
                  % syms["log_block"], text, re.M)
    assert m, "no register dump at the block entry %#x in:\n%s" % (syms["log_block"], text[-3000:])
    assert m.group(2) == "12345678"
    assert m.group(1) != "9abcdef0"      # the dump is taken before the block runs
