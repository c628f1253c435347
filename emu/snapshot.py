"""Snapshots of the whole machine: `savevm FILE`, `loadvm FILE` and `-loadvm FILE`.

A snapshot holds everything the guest can tell apart: the CPU (by field name),
guest time, every device's versioned state dict (their timers are deadlines on
the virtual clock, re-armed when the state is loaded), the interrupt lines, guest
RAM, and what the guest wrote to its disks under -snapshot.  Restored into a
fresh pyemu process started with the same options (as QEMU's -loadvm wants the
same command line), the guest goes on as if nothing had happened: with -icount
instruction for instruction.  Nothing the host owns is saved: translated code,
the TLB and shadow page tables are rebuilt as the guest runs again.

The file, little-endian:

    MAGIC                   16 bytes
    header length           4 bytes
    header                  JSON: format version, pyemu version, the machine
                            it needs (`machine_identity`), and the size and
                            SHA-256 of each part below
    state                   a pickle of plain data (dicts, lists, numbers,
                            bytes): read back by an unpickler that builds
                            nothing else
    RAM, from a 4 KB        a bitmap of the pages that hold anything but
    boundary                zeros, then those pages in order

Only pages that are not all zero are stored (an idle tiny guest's 128 MB of RAM
is a few MB of snapshot), and restoring is one read and one scatter into RAM.
"""
import hashlib
import io
import json
import mmap
import os
import pickle
import struct

import numpy as np

from . import __version__
from .softmmu.phys import PAGE_SIZE

MAGIC = b"PYEMU SNAPSHOT\n\0"
FORMAT = 1
_HEADER_LEN = struct.Struct("<I")

# CpuState fields that describe the host (pointers into pyemu's buffers) or
# one native run (budget, exit requests, the TLB): never saved, never loaded
HOST_CPU_FIELDS = frozenset((
    "zero", "exit_request", "budget", "mem_status", "tlb_asid", "link_slot", "smc_exit",
    "phys_host", "phys_flags", "code_bitmap", "ram_size", "shadow_key", "shadow_val",
    "shadow_gen", "asid_gen", "asid_dirty", "jmp_mask", "jmp_cache", "tlb"))


class SnapshotError(Exception):
    """A snapshot that cannot be taken or loaded; str() is a one-line message."""


# --- the machine's state as plain data ----------------------------------------------------------
def _ctypes_to_plain(value):
    if hasattr(value, "_fields_"):
        return {name: _ctypes_to_plain(getattr(value, name)) for name, _ in value._fields_}
    if hasattr(value, "_length_"):
        return [_ctypes_to_plain(v) for v in value]
    return value


def _plain_to_ctypes(struct_, d):
    """Load a dict made by _ctypes_to_plain into a ctypes structure, field by field."""
    for name, ctype in struct_._fields_:
        if name not in d:
            continue
        current = getattr(struct_, name)
        if hasattr(current, "_fields_"):
            _plain_to_ctypes(current, d[name])
        elif hasattr(current, "_length_"):
            for k, v in enumerate(d[name][:len(current)]):
                if hasattr(current[k], "_fields_"):
                    _plain_to_ctypes(current[k], v)
                else:
                    current[k] = v
        else:
            setattr(struct_, name, d[name])


def cpu_state(cpu):
    return {name: _ctypes_to_plain(getattr(cpu, name))
            for name, _ in cpu._fields_ if name not in HOST_CPU_FIELDS}


def device_keys(machine):
    """Each device of the board under a name that does not depend on the order
    devices were made in: its name, and its I/O base where two share a name."""
    devices = machine.board.devices
    names = [d.name for d in devices]
    keys = {}
    for dev in devices:
        key = dev.name
        if names.count(dev.name) > 1:
            key = "%s@%#x" % (dev.name, getattr(dev, "iobase", None) or getattr(dev, "cmd_base", 0) or id(dev))
        if key in keys:
            raise SnapshotError("two devices are both called %s: a snapshot could not tell them apart" % key)
        keys[key] = dev
    return keys


def machine_identity(machine):
    """What a snapshot needs of the machine it is loaded into: the same RAM, the
    same devices, the same firmware, the same disks, the same kind of clock."""
    cfg = machine.config
    roms = [[base, len(buf), hashlib.sha256(buf.tobytes()).hexdigest()] for base, buf in machine.phys._roms]
    drives = []
    for index, (spec, image) in sorted(machine.drives.items()):
        drives.append({"index": index, "cdrom": bool(spec.cdrom), "size": image.size if image else None,
                       "overlay": _is_overlay(image), "readonly": bool(getattr(image, "readonly", True))})
    return {"ram_size": machine.phys.ram_size, "apic": bool(cfg.apic), "icount_shift": cfg.icount_shift,
            "devices": sorted(device_keys(machine)), "roms": roms, "drives": drives}


def _is_overlay(image):
    return image is not None and hasattr(image, "_written")


def _busy_disk(machine):
    for ch in getattr(machine.board, "ide_channels", ()):
        if getattr(ch, "transfer", None) is not None:
            return ch.name
    return None


def _overlay_state(image):
    sectors = sorted(image._written)
    data = b"".join(image.read(s * 512, 512) for s in sectors)
    st = os.stat(image.path)
    return {"sectors": sectors, "data": data, "base_size": st.st_size, "base_mtime_ns": st.st_mtime_ns}


def machine_state(machine):
    """Everything but RAM, as plain data."""
    problem = _busy_disk(machine)
    if problem:
        raise SnapshotError("a disk transfer is in progress on %s; take the snapshot a moment later" % problem)
    for index, (spec, image) in sorted(machine.drives.items()):
        if image is not None and not image.readonly and not _is_overlay(image):
            raise SnapshotError("drive %d (%s) is written in place, so a snapshot could not restore it: "
                                "use -snapshot or readonly=on with savevm" % (index, image.path))
    board = machine.board
    return {
        "cpu": cpu_state(machine.cpu),
        "machine": {"instructions": machine.instructions, "msrs": dict(machine.msrs),
                    "nmi": machine._nmi, "nmi_blocked": machine.nmi_blocked},
        "clock": {"ns": machine.clock.ns(), "idle_ns": machine.clock.idle_ns},
        "irq_lines": board.line_sources(),
        "devices": {key: dev.save_state() for key, dev in device_keys(machine).items()},
        "overlays": {index: _overlay_state(image) for index, (spec, image) in machine.drives.items()
                     if _is_overlay(image)},
    }


# --- the file ----------------------------------------------------------------------------------------
def _ram_parts(ram):
    pages = ram.reshape(-1, PAGE_SIZE)
    used = pages.any(axis=1)
    return np.packbits(used).tobytes(), pages[used]


def save_snapshot(machine, path):
    """Write the machine's snapshot to path (atomically: a file that exists is
    either the old one or the whole new one).  Call it between native runs."""
    state = pickle.dumps(machine_state(machine), protocol=pickle.HIGHEST_PROTOCOL)
    bitmap, pages = _ram_parts(machine.phys.ram)
    ram_sha = hashlib.sha256(bitmap)
    ram_sha.update(pages.data if pages.size else b"")
    header = json.dumps({
        "format": FORMAT, "pyemu": __version__, "machine": machine_identity(machine),
        "state": {"size": len(state), "sha256": hashlib.sha256(state).hexdigest()},
        "ram": {"size": len(bitmap) + pages.size, "pages": len(pages), "sha256": ram_sha.hexdigest()},
    }, sort_keys=True).encode()
    head = MAGIC + _HEADER_LEN.pack(len(header)) + header + state
    pad = -len(head) % PAGE_SIZE
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            f.write(bytes(pad))
            f.write(bitmap)
            if pages.size:
                f.write(pages.data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SnapshotError("cannot write snapshot '%s': %s" % (path, e.strerror)) from None


class _PlainUnpickler(pickle.Unpickler):
    """Builds plain data only: a snapshot file can never name code to run."""
    SAFE = {("builtins", "bytearray"), ("builtins", "set"), ("builtins", "frozenset"),
            ("collections", "deque")}

    def find_class(self, module, name):
        if (module, name) in self.SAFE:
            return super().find_class(module, name)
        raise pickle.UnpicklingError("%s.%s is not plain data" % (module, name))


def read_snapshot(path):
    """(header, state, ram bitmap, ram pages) of a snapshot file, every part checked."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SnapshotError("cannot read snapshot '%s': %s" % (path, e.strerror)) from None
    bad = "'%s' is not a pyemu snapshot" % path
    if not data.startswith(MAGIC):
        raise SnapshotError(bad)
    pos = len(MAGIC)
    try:
        (hlen,) = _HEADER_LEN.unpack_from(data, pos)
        header = json.loads(data[pos + 4:pos + 4 + hlen])
        state_size, ram_size = header["state"]["size"], header["ram"]["size"]
    except (struct.error, ValueError, KeyError, TypeError):
        raise SnapshotError(bad + " (its header is damaged)") from None
    if header.get("format") != FORMAT:
        raise SnapshotError("snapshot '%s' is in format %r, made by pyemu %s; this pyemu %s reads format %d"
                            % (path, header.get("format"), header.get("pyemu"), __version__, FORMAT))
    pos += 4 + hlen
    state = data[pos:pos + state_size]
    pos += state_size
    pos += -pos % PAGE_SIZE
    ram = data[pos:pos + ram_size]
    if len(state) != state_size or len(ram) != ram_size:
        raise SnapshotError("snapshot '%s' is truncated (%d bytes)" % (path, len(data)))
    if hashlib.sha256(state).hexdigest() != header["state"]["sha256"] or \
            hashlib.sha256(ram).hexdigest() != header["ram"]["sha256"]:
        raise SnapshotError("snapshot '%s' is damaged (its checksum does not match)" % path)
    try:
        plain = _PlainUnpickler(io.BytesIO(state)).load()
    except Exception as e:                  # anything a damaged pickle raises
        raise SnapshotError("snapshot '%s' is damaged (%s)" % (path, e)) from None
    return header, plain, ram, header["ram"]["pages"]


_IDENTITY = (("ram_size", "a different RAM size (-m)"), ("apic", "a different APIC (-machine apic=)"),
             ("icount_shift", "a different -icount"),
             ("devices", "different devices (-serial, -debugcon, isa-debug-exit)"),
             ("roms", "different firmware (-bios)"), ("drives", "different drives (-hda ..., -cdrom, -drive, -snapshot)"))


def _check_identity(path, saved, current):
    for key, what in _IDENTITY:
        if saved.get(key) != current.get(key):
            raise SnapshotError("snapshot '%s' was taken with %s: start pyemu with the options it was saved with"
                                % (path, what))
    if saved != current:
        raise SnapshotError("snapshot '%s' was taken on another machine" % path)


def load_snapshot(machine, path):
    """Restore the machine from the snapshot at path.  Call it between native
    runs; the file is checked whole before anything of the machine changes."""
    header, state, ram, page_count = read_snapshot(path)
    _check_identity(path, header["machine"], machine_identity(machine))
    phys = machine.phys
    bitmap_len = (phys.ram_size // PAGE_SIZE + 7) // 8
    used = np.unpackbits(np.frombuffer(ram[:bitmap_len], np.uint8))[:phys.ram_size // PAGE_SIZE].astype(bool)
    if int(used.sum()) != page_count or len(ram) != bitmap_len + page_count * PAGE_SIZE:
        raise SnapshotError("snapshot '%s' is damaged (its RAM does not add up)" % path)
    for index, saved in state["overlays"].items():
        image = machine.drives[index][1]
        st = os.stat(image.path)
        if (st.st_size, st.st_mtime_ns) != (saved["base_size"], saved["base_mtime_ns"]):
            raise SnapshotError("snapshot '%s' was taken on '%s' as it was before it changed"
                                % (path, image.path))
    _restore(machine, state, used, np.frombuffer(ram, np.uint8, offset=bitmap_len))


def _restore(machine, state, used, pages):
    cpu, board = machine.cpu, machine.board
    # the translation of the machine's past goes, and every timer with it:
    # the devices re-arm theirs from their state, on the restored clock
    machine.translator.flush_all()
    with machine.timers._lock:
        machine.timers._heap.clear()
    clock = machine.clock
    m = state["machine"]
    machine.instructions = m["instructions"]
    if clock.deterministic:
        clock.idle_ns = state["clock"]["idle_ns"]
    else:
        clock.limit = None
        clock._state = (state["clock"]["ns"], None, 0)
    clock.rebase()                          # not behind the host: time restarts now
    machine._started = True                 # nor does the RTC take the host's date again
    machine.msrs = dict(m["msrs"])
    machine._nmi, machine.nmi_blocked = m["nmi"], m["nmi_blocked"]
    _plain_to_ctypes(cpu, state["cpu"])
    board.restore_line_sources(state["irq_lines"])
    for key, dev in device_keys(machine).items():
        if key in state["devices"]:
            dev.load_state(state["devices"][key])
    board.after_restore()
    _zero_pages(machine.phys, ~used)
    machine.phys.ram.reshape(-1, PAGE_SIZE)[used] = pages.reshape(-1, PAGE_SIZE)
    for index, saved in state["overlays"].items():
        _restore_overlay(machine.drives[index][1], saved)
    # what the CPU state implies for the MMU (paging mode, address space)
    machine.mmu.paging_enabled(bool(cpu.cr[0] & 0x80000000))
    machine.write_cr3(cpu.cr[3])
    machine.flush_tlb()
    machine.update_hflags()
    cpu.exit_request = 1                    # a pending interrupt is looked at first
    machine.wake.set()


def _zero_pages(phys, which):
    """Zero the RAM pages where `which` is set, run by run, by giving them back
    to the host where it can (RAM is a shared anonymous mapping: MADV_REMOVE
    frees its pages, which then read as zeros and cost nothing until written)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], which.view(np.int8), [0]))))
    ram = phys.ram
    for first, end in zip(edges[0::2] * PAGE_SIZE, edges[1::2] * PAGE_SIZE):
        try:
            phys._ram_map.madvise(mmap.MADV_REMOVE, int(first), int(end - first))
        except (AttributeError, OSError):
            ram[first:end] = 0


def _restore_overlay(image, saved):
    image._written.clear()
    data = saved["data"]
    for k, sector in enumerate(saved["sectors"]):
        image.write(sector * 512, data[k * 512:(k + 1) * 512])
