"""Machine snapshots (emu/snapshot.py), in process: a restored -icount run goes
on instruction for instruction as the original did, and every snapshot that
cannot be loaded is refused with a one-line message before the machine changes."""
import os
import subprocess
import sys

import pytest

from emu import images
from emu.block.drive import parse_drive
from emu.boot import linux
from emu.config import MachineConfig
from emu.machine import Machine
from emu.session import REPO
from emu.snapshot import SnapshotError, cpu_state, load_snapshot, save_snapshot


@pytest.fixture(scope="module")
def tiny():
    img = images.ensure("tiny", quiet=True)
    return img, img.kernel.read_bytes(), img.initrd.read_bytes()


def tiny_machine(tiny, serial_file, icount_shift=3):
    img, kernel, initrd = tiny
    cfg = MachineConfig()
    cfg.icount_shift = icount_shift
    cfg.serial = ["file:%s" % serial_file]
    cfg.no_reboot = True
    m = Machine(cfg)
    linux.load(m, kernel, img.cmdline_hint, initrd)
    return m


def run_until(m, ns):
    """Run the machine until virtual time ns (-icount: an exact instruction)."""
    def stop():
        m.pause_requested = True
        m.cpu.exit_request = 1
    m.timers.schedule(ns, stop)
    assert m.run() == "paused"


@pytest.fixture
def machines():
    """Machines a test made, closed when it ends."""
    made = []
    yield made
    for m in made:
        m.close()


def test_icount_run_goes_on_instruction_for_instruction(tiny, tmp_path, machines):
    """Snapshot the tiny kernel's boot half way, boot on to the shell prompt;
    a second machine restored from the snapshot reaches the same instruction
    count with the same registers, having printed the same bytes (the timer
    interrupts, the serial FIFO and pending interrupts all came back)."""
    snap = tmp_path / "boot.snap"
    a = tiny_machine(tiny, tmp_path / "a.out")
    machines.append(a)
    run_until(a, 4_000_000_000)
    save_snapshot(a, snap)
    printed_before = (tmp_path / "a.out").stat().st_size
    run_until(a, 6_000_000_000)
    after = (tmp_path / "a.out").read_bytes()[printed_before:]
    assert b"BOOT-OK" in after, "the boot did not go on long enough to print after the snapshot"

    b = tiny_machine(tiny, tmp_path / "b.out")
    machines.append(b)
    load_snapshot(b, snap)
    assert b.instructions == 4_000_000_000 >> 3
    run_until(b, 6_000_000_000)
    assert b.instructions == a.instructions
    assert cpu_state(b.cpu) == cpu_state(a.cpu)
    assert (tmp_path / "b.out").read_bytes() == after

    # loadvm into the machine that ran on (the monitor's loadvm): nothing of its
    # later state may survive (device state outside the snapshot would)
    end_a = (a.instructions, cpu_state(a.cpu))
    load_snapshot(a, snap)
    again = (tmp_path / "a.out").stat().st_size
    run_until(a, 6_000_000_000)
    assert (a.instructions, cpu_state(a.cpu)) == end_a
    assert (tmp_path / "a.out").read_bytes()[again:] == after


@pytest.fixture
def small_machine(tmp_path):
    made = []

    def make(ram_mb=16, icount_shift=None, drives=(), snapshot=False):
        cfg = MachineConfig(ram_mb=ram_mb, serial=["null"], icount_shift=icount_shift,
                            drives=list(drives), snapshot=snapshot)
        m = Machine(cfg)
        made.append(m)
        return m
    yield make
    for m in made:
        m.close()


@pytest.fixture
def snap(small_machine, tmp_path):
    """A snapshot of a 16 MB machine with a few bytes in its RAM."""
    m = small_machine()
    m.phys.write(0x12345, b"remember me")
    m.cpu.regs[0] = 0xC0FFEE
    path = tmp_path / "m.snap"
    save_snapshot(m, path)
    return path


def test_ram_and_registers_come_back(small_machine, snap):
    m = small_machine()
    m.phys.write(0x200000, b"gone after the restore")
    load_snapshot(m, snap)
    assert m.phys.read(0x12345, 11) == b"remember me"
    assert m.phys.read(0x200000, 22) == bytes(22)
    assert m.cpu.regs[0] == 0xC0FFEE


@pytest.mark.parametrize("other,message", [
    (dict(ram_mb=32), "a different RAM size (-m)"),
    (dict(icount_shift=3), "a different -icount"),
])
def test_a_snapshot_of_another_machine_is_refused(small_machine, snap, other, message):
    m = small_machine(**other)
    m.phys.write(0x12345, b"untouched")
    with pytest.raises(SnapshotError) as e:
        load_snapshot(m, snap)
    assert str(e.value) == ("snapshot '%s' was taken with %s: start pyemu with the options it was saved with"
                            % (snap, message))
    assert m.phys.read(0x12345, 9) == b"untouched"


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2:]
    elif how == "a flipped bit in RAM":
        data[-100] ^= 0x10
    elif how == "a flipped bit in the state":
        data[600] ^= 0x01
    elif how == "not a snapshot":
        data[:16] = b"\x7fELF" + bytes(12)
    elif how == "a damaged header":
        data[20:30] = b"}}}}}}}}}}"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how,message", [
    ("truncated", "snapshot '{p}' is truncated ({n} bytes)"),
    ("a flipped bit in RAM", "snapshot '{p}' is damaged (its checksum does not match)"),
    ("a flipped bit in the state", "snapshot '{p}' is damaged (its checksum does not match)"),
    ("not a snapshot", "'{p}' is not a pyemu snapshot"),
    ("a damaged header", "'{p}' is not a pyemu snapshot (its header is damaged)"),
])
def test_a_damaged_snapshot_is_refused(small_machine, snap, how, message):
    _damage(snap, how)
    m = small_machine()
    m.phys.write(0x12345, b"untouched")
    with pytest.raises(SnapshotError) as e:
        load_snapshot(m, snap)
    assert str(e.value) == message.format(p=snap, n=snap.stat().st_size)
    assert m.phys.read(0x12345, 9) == b"untouched"


def test_a_disk_written_in_place_cannot_be_snapshotted(small_machine, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    m = small_machine(drives=[parse_drive("file=%s,index=0" % disk)])
    with pytest.raises(SnapshotError, match="drive 0 .* is written in place"):
        save_snapshot(m, tmp_path / "x.snap")
    assert not (tmp_path / "x.snap").exists()


def test_what_the_guest_wrote_under_snapshot_comes_back(small_machine, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    spec = "file=%s,index=0" % disk
    m = small_machine(drives=[parse_drive(spec)], snapshot=True)
    m.drives[0][1].write(512 * 7, b"written by the guest".ljust(512, b"."))
    save_snapshot(m, tmp_path / "d.snap")
    other = small_machine(drives=[parse_drive(spec)], snapshot=True)
    load_snapshot(other, tmp_path / "d.snap")
    assert other.drives[0][1].read(512 * 7, 20) == b"written by the guest"
    assert disk.read_bytes() == bytes(1 << 20)


def test_loadvm_of_a_missing_file_is_a_one_line_error(tmp_path):
    kernel = tmp_path / "k.bin"
    kernel.write_bytes(b"not a kernel")
    r = subprocess.run([sys.executable, "-m", "emu.cli", "-loadvm", str(tmp_path / "none.snap"), "-nographic"],
                       cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert r.stderr == "pyemu: cannot read snapshot '%s': No such file or directory\n" % (tmp_path / "none.snap")
    assert os.listdir(tmp_path) == ["k.bin"]
