"""MachineConfig: everything the command line (or the Python API) decides."""
from dataclasses import dataclass, field


@dataclass
class MachineConfig:
    ram_mb: int = 128
    kernel: str = None
    initrd: str = None
    append: str = ""
    serial: list = field(default_factory=lambda: ["stdio"])
    debugcon: str = None
    debug_exit: tuple = None          # (iobase, iosize) of isa-debug-exit
    no_reboot: bool = False
    log_items: frozenset = frozenset()
    log_file: str = None
    icount_shift: int = None          # None: real time
    bios: str = None
    drives: list = field(default_factory=list)   # emu.block.drive.DriveSpec, one per IDE slot used
    snapshot: bool = False            # -snapshot: every drive's writes go to a temporary overlay
    boot_order: str = "cd"            # -boot: c = first hard disk, d = CD-ROM
    gdb: str = None
    gdb_wait: bool = False
    nochain: bool = False             # PYEMU_NOCHAIN=1: never link blocks (bisecting the JIT)
    apic: bool = True                 # local APIC + IOAPIC (-machine pc,apic=off: 8259 PIC only)
    qmp: list = field(default_factory=list)   # -qmp specs (emu/debug/qmp.py)
    monitor: str = None               # -monitor: stdio, none (emu/debug/monitor.py)
    loadvm: str = None                # -loadvm: a snapshot file to start from (emu/snapshot.py)
    rtc_base: str = "utc"             # RTC time at power-on: utc, localtime or YYYY-MM-DDTHH:MM:SS

    @property
    def ram_size(self):
        return self.ram_mb << 20
