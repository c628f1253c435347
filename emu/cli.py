"""pyemu's command line: QEMU-compatible option spellings, building a MachineConfig.

    pyemu -kernel prog.elf -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4
    pyemu demo                     build and boot the bundled bare-metal demo
    pyemu show 'b8 01 00 00 00'    show one block at every translation stage
"""
import argparse
import os
import sys

import emu
from . import __version__
from .block import DiskError
from .config import MachineConfig

# The rest of pyemu is imported inside the functions that need it, on purpose:
# `pyemu --help` and a wrong option must answer at once (0.1 s), and the
# machine (numba, llvmlite, the devices) takes most of a second to import.

LOG_ITEMS = {
    "in_asm": "guest instructions of each translated block (capstone)",
    "op": "the LLVM IR of each translated block",
    "op_opt": "the IR after LLVM's optimisation passes",
    "out_asm": "host machine code of each translated block",
    "exec": "each block execution (turns chaining off)",
    "int": "interrupts and exceptions",
    "cpu": "registers at each block entry (turns chaining off)",
    "stats": "a summary at exit: guest instructions, blocks translated, JIT time, caches "
             "(PYEMU_STATS=FILE writes it as JSON)",
}

# log items that only report at exit: they leave translation (and its object cache) as it is
EXIT_ONLY_ITEMS = frozenset({"stats"})


class UsageError(Exception):
    pass


def _size_mb(text):
    """-m: 128, 128M, 1G, size=128M."""
    t = text.strip()
    if t.startswith("size="):
        t = t[5:]
    mult = 1
    if t[-1:].upper() in ("M", "G", "K"):
        mult = {"K": 1 / 1024, "M": 1, "G": 1024}[t[-1].upper()]
        t = t[:-1]
    try:
        mb = float(t) * mult
    except ValueError:
        raise UsageError("invalid -m value '%s' (expected a size such as 128M or 1G)" % text) from None
    if mb != int(mb) or mb <= 0:
        raise UsageError("invalid -m value '%s' (a whole number of megabytes is needed)" % text)
    return int(mb)


def _parse_device(spec):
    """-device isa-debug-exit,iobase=0xf4,iosize=4 -> ('isa-debug-exit', {...})."""
    parts = spec.split(",")
    name, props = parts[0], {}
    for p in parts[1:]:
        if "=" not in p:
            raise UsageError("-device %s: property '%s' needs a value" % (name, p))
        k, v = p.split("=", 1)
        props[k] = v
    return name, props


def _on_off(value, what):
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise UsageError("%s: '%s' is not on or off" % (what, value))


def _parse_machine(spec, cfg):
    """-machine pc[,apic=on|off] (also type=pc)."""
    parts = [p for p in spec.split(",") if p]
    if parts and "=" not in parts[0]:
        mtype, parts = parts[0], parts[1:]
    else:
        mtype = "pc"
    props = {}
    for p in parts:
        if "=" not in p:
            raise UsageError("-machine: property '%s' needs a value" % p)
        k, v = p.split("=", 1)
        props[k] = v
    mtype = props.pop("type", mtype)
    if mtype not in ("pc", "pc-i440fx", "q35", "none"):
        raise UsageError("unsupported machine type '%s' (pyemu emulates a pc)" % mtype)
    if "apic" in props:
        cfg.apic = _on_off(props.pop("apic"), "-machine apic")
    if props:
        raise UsageError("-machine: unknown property '%s' (pyemu knows: apic=on|off)" % sorted(props)[0])


def _parse_rtc(spec, cfg):
    """-rtc base=utc|localtime|DATE (other QEMU -rtc properties are accepted and ignored)."""
    from .board import parse_rtc_base       # deferred: the board imports every device
    for p in spec.split(","):
        k, _, v = p.partition("=")
        if k == "base":
            try:
                parse_rtc_base(v)
            except ValueError as e:
                raise UsageError("-rtc: %s" % e) from None
            cfg.rtc_base = v
        elif k not in ("clock", "driftfix"):
            raise UsageError("-rtc: unknown property '%s' (pyemu knows: base=)" % k)


def _check_ram(text, mb):
    """-m must fit pyemu's PC and the host.  The PC has 32-bit physical
    addresses and its RAM is one block from 0, which must end below the
    devices and firmware at the top of the 4 GB (IOAPIC, local APIC, BIOS), so
    3.5 GB at most.  The RAM is one host buffer: more than the host has is a
    clear error here, not a failed allocation later."""
    if mb > 3584:
        raise UsageError("-m %s: pyemu's PC takes at most 3584M of RAM (it has no memory above "
                         "4 GB)" % text)
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    if mb << 20 > host:
        raise UsageError("-m %s is more than this host's memory (%d MB)" % (text, host >> 20))


def _parse_drives(args, cfg):
    from .block.drive import DriveSpec, assign_slots, parse_drive     # deferred: --help's start-up
    drives = []
    for k, name in enumerate(("hda", "hdb", "hdc", "hdd")):
        path = getattr(args, name)
        if path is not None:
            drives.append(DriveSpec(file=path, index=k, option="-" + name))
    if args.cdrom is not None:
        drives.append(DriveSpec(file=args.cdrom, index=2, media="cdrom", option="-cdrom"))
    try:
        for spec in args.drive:
            d = parse_drive(spec)
            d.option = "-drive " + spec
            drives.append(d)
        cfg.drives = [d for _, d in sorted(assign_slots(drives).items())]
    except DiskError as e:
        raise UsageError(str(e)) from None
    cfg.snapshot = args.snapshot


def _parse_boot(spec):
    """-boot c | d | cd | order=dc[,once=d][,menu=on] -> the drive letters in order.
    c is the first hard disk, d the first CD-ROM; a (floppy) and n (network) are
    accepted and skipped, as there are none."""
    order = None
    for p in spec.split(","):
        k, eq, v = p.partition("=")
        if not eq:
            k, v = "order", p
        if k in ("order", "once"):
            if not v or any(ch not in "abcdn" for ch in v):
                raise UsageError("-boot %s: boot devices are letters of c (hard disk), d (CD-ROM), "
                                 "a, n" % spec)
            if order is None or k == "once":
                order = v
        elif k not in ("menu", "splash", "splash-time", "reboot-timeout", "strict"):
            raise UsageError("-boot: unknown property '%s' (pyemu knows: order=, once=, menu=)" % k)
    return order or "cd"


def _int(text, what):
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError("%s: '%s' is not a number" % (what, text)) from None


def build_parser():
    p = argparse.ArgumentParser(
        prog="pyemu",
        usage="pyemu [options]   |   pyemu demo   |   pyemu show HEX",
        description="pyemu: a full-system x86 PC emulator whose CPU is a dynamic binary translator "
                    "(guest x86 -> LLVM IR -> host code).  Options use QEMU's spellings.",
        epilog="Examples:\n"
               "  pyemu demo\n"
               "  pyemu -kernel bzImage -initrd initrd.gz -append console=ttyS0 -nographic\n"
               "  pyemu-images build tiny      # the reference Linux guests (pyemu-images --help)\n"
               "  pyemu -kernel \"$(pyemu-images path tiny --kernel)\" -initrd \"$(pyemu-images path tiny --initrd)\" "
               "-append \"console=ttyS0\"\n"
               "  pyemu -hda disk.img -nographic             # boot a disk (pyemu-images build tiny-disk)\n"
               "  pyemu -kernel bzImage -append \"console=ttyS0 root=/dev/sda1\" -hda disk.img -nographic\n"
               "  pyemu -cdrom boot.iso -boot d -nographic\n"
               "  pyemu -kernel prog.elf -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4\n"
               "  pyemu -kernel prog.elf -d in_asm,op,out_asm -D trace.log\n"
               "  pyemu show 'b8 2a 00 00 00 01 c8 c3'\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False, allow_abbrev=False)
    p.add_argument("-h", "-help", "--help", action="help", help="show this help and exit")
    p.add_argument("-version", "--version", action="version", version="pyemu " + __version__)
    g = p.add_argument_group("machine")
    g.add_argument("-m", metavar="SIZE", default="128M", help="guest RAM, e.g. 128M or 1G (default 128M)")
    g.add_argument("-machine", "-M", metavar="pc[,apic=on|off]",
                   help="the PC; apic=off leaves out the local APIC and IOAPIC (8259 PIC only, "
                        "no MP table, CPUID without the APIC flag)")
    g.add_argument("-rtc", metavar="base=utc|localtime|DATE",
                   help="RTC time at power-on: utc (default), localtime, or YYYY-MM-DD[THH:MM:SS]")
    g.add_argument("-cpu", metavar="MODEL", help="accepted for compatibility (one CPU model: docs/cpu-model.md)")
    g.add_argument("-device", metavar="DRIVER[,PROP=VALUE...]", action="append", default=[],
                   help="add a device: isa-debug-exit[,iobase=0xf4,iosize=4]")
    g = p.add_argument_group("boot")
    g.add_argument("-kernel", metavar="FILE", help="boot this kernel: a Linux bzImage or a multiboot ELF")
    g.add_argument("-initrd", metavar="FILE", help="initial RAM disk (Linux), or multiboot modules, comma separated")
    g.add_argument("-append", metavar="CMDLINE", default="", help="kernel command line")
    g.add_argument("-bios", metavar="FILE", help="firmware image, mapped below 4 GB; the CPU starts at its reset vector "
                                               "(without -kernel and -bios, pyemu's own BIOS boots the drives; "
                                               "Debian's SeaBIOS: /usr/share/seabios/bios.bin)")
    g.add_argument("-no-reboot", action="store_true", help="exit instead of rebooting")
    g.add_argument("-loadvm", metavar="FILE",
                   help="start from a snapshot file that savevm wrote (give the options it was taken with; "
                        "unlike QEMU, which keeps snapshots inside qcow2 images, a snapshot is a file)")
    g.add_argument("-boot", metavar="c|d|order=DRIVES",
                   help="boot order without -kernel: c = first hard disk, d = CD-ROM "
                        "(default: c, then d); order=dc, once=d, menu=on are accepted as in QEMU")
    g = p.add_argument_group("disks (IDE: primary master/slave, secondary master/slave)")
    for k, name in enumerate(("-hda", "-hdb", "-hdc", "-hdd")):
        g.add_argument(name, metavar="FILE", help="raw disk image as IDE index %d (%s)"
                       % (k, ("primary master", "primary slave", "secondary master", "secondary slave")[k]))
    g.add_argument("-cdrom", metavar="FILE", help="ISO image in an ATAPI CD-ROM drive at IDE index 2")
    g.add_argument("-drive", metavar="file=FILE[,index=N,media=disk|cdrom,...]", action="append", default=[],
                   help="a drive, QEMU's way: file=, if=ide, index=0-3 (or bus=,unit=), media=disk|cdrom, "
                        "format=raw, readonly=on, snapshot=on, cache= (',,' in a value is a comma)")
    g.add_argument("-snapshot", action="store_true",
                   help="guest writes go to a temporary file: every image stays byte-identical")
    g = p.add_argument_group("console and devices")
    g.add_argument("-nographic", action="store_true", help="no display: the serial port is on the terminal")
    g.add_argument("-display", metavar="TYPE", help="accepted for compatibility: none (pyemu has no display)")
    g.add_argument("-serial", metavar="DEV", action="append", default=[],
                   help="serial port back end (default stdio; repeat for COM2..COM4): stdio, null, "
                        "file:PATH, pipe:PATH, pty, tcp:[HOST]:PORT[,server][,nowait].  On a terminal, "
                        "stdio is raw: C-a x quits, C-a h helps")
    g.add_argument("-debugcon", metavar="DEV", help="debug console on port 0xE9, same back ends as -serial")
    g.add_argument("-monitor", metavar="DEV",
                   help="human monitor: stdio (shares the terminal with a console on stdio: C-a c "
                        "switches), or none.  Without -monitor, C-a c on a terminal opens it")
    g.add_argument("-qmp", metavar="DEV", action="append", default=[],
                   help="QMP server: unix:PATH,server,nowait or tcp:[HOST]:PORT,server,nowait "
                        "(127.0.0.1 without HOST); savevm/loadvm take {\"file\": PATH}")
    g = p.add_argument_group("debugging")
    g.add_argument("-d", metavar="ITEM[,...]", help="log items: " + ", ".join(LOG_ITEMS) + " (-d help lists them)")
    g.add_argument("-D", metavar="FILE", help="write the -d log to FILE instead of stderr")
    g.add_argument("-s", dest="gdb_default", action="store_true", help="gdb stub on tcp::1234 (= -gdb tcp::1234)")
    g.add_argument("-gdb", metavar="DEV", help="gdb stub at DEV, e.g. tcp::1234 (listens on 127.0.0.1)")
    g.add_argument("-S", dest="gdb_wait", action="store_true",
                   help="do not start the CPU until gdb says so (or QMP/the monitor says cont)")
    g.add_argument("-icount", metavar="SHIFT", help="deterministic time: each instruction is 2^SHIFT ns "
                                                       "(shift=N or auto)")
    return p


def parse_args(argv):
    """argv -> MachineConfig (raises UsageError with a one-line message)."""
    p = build_parser()
    args, rest = p.parse_known_args(argv)
    if rest:
        raise UsageError("unknown option '%s' (see pyemu --help)" % rest[0])
    cfg = MachineConfig()
    cfg.ram_mb = _size_mb(args.m)
    _check_ram(args.m, cfg.ram_mb)
    _parse_drives(args, cfg)
    if args.boot:
        cfg.boot_order = _parse_boot(args.boot)
    cfg.kernel = args.kernel
    cfg.initrd = args.initrd
    cfg.append = args.append or ""
    cfg.no_reboot = args.no_reboot
    cfg.loadvm = args.loadvm
    if cfg.loadvm:
        _check_readable(cfg.loadvm, "snapshot")     # before the machine is built
    cfg.bios = args.bios
    if args.machine:
        _parse_machine(args.machine, cfg)
    if args.rtc:
        _parse_rtc(args.rtc, cfg)
    cfg.serial = args.serial or ["stdio"]
    cfg.debugcon = args.debugcon
    try:
        from .console import check_options      # deferred: --help's start-up
        check_options(cfg.serial, cfg.debugcon, args.monitor, args.display)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for spec in args.device:
        name, props = _parse_device(spec)
        if name == "isa-debug-exit":
            cfg.debug_exit = (_int(props.get("iobase", "0x501"), "iobase"), _int(props.get("iosize", "2"), "iosize"))
        else:
            raise UsageError("unknown device '%s' (pyemu knows: isa-debug-exit)" % name)
    if args.d:
        items = set(x.strip() for x in args.d.split(",") if x.strip())
        if "help" in items:
            raise UsageError("log items:\n" + "\n".join("  %-8s %s" % kv for kv in LOG_ITEMS.items()))
        bad = items - set(LOG_ITEMS)
        if bad:
            raise UsageError("unknown -d item '%s' (try -d help)" % sorted(bad)[0])
        cfg.log_items = frozenset(items)
    cfg.log_file = args.D
    if args.icount:
        v = args.icount
        v = v.split("shift=")[-1].split(",")[0]
        cfg.icount_shift = 3 if v == "auto" else _int(v, "-icount")
    cfg.nochain = os.environ.get("PYEMU_NOCHAIN") == "1"
    if args.gdb or args.gdb_default:
        cfg.gdb = args.gdb or "tcp::1234"
        from .debug.gdbstub import parse_address     # deferred: only -gdb needs the stub
        try:
            parse_address(cfg.gdb)
        except ValueError:
            raise UsageError("invalid -gdb address '%s' (expected tcp::PORT)" % cfg.gdb) from None
    cfg.gdb_wait = args.gdb_wait
    cfg.qmp, cfg.monitor = args.qmp, args.monitor
    from .debug.qmp import QmpSpecError, parse_spec as parse_qmp     # deferred: --help's start-up
    try:
        for spec in cfg.qmp:
            parse_qmp(spec)
    except QmpSpecError as e:
        raise UsageError(str(e)) from None
    monitored = bool(cfg.qmp) or cfg.monitor in ("stdio", "mon:stdio")
    if cfg.gdb and monitored:
        raise UsageError("pyemu cannot run the gdb stub and a monitor (-qmp, -monitor stdio) together yet")
    if cfg.gdb_wait and not cfg.gdb and not monitored:
        raise UsageError("-S waits for a debugger or a monitor: give -s, -gdb tcp::PORT, -qmp or "
                         "-monitor stdio too")
    return cfg


def _read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError("cannot read %s '%s': %s" % (what, path, e.strerror)) from None


def _check_readable(path, what):
    try:
        open(path, "rb").close()
    except OSError as e:
        raise UsageError("cannot read %s '%s': %s" % (what, path, e.strerror)) from None


def run_config(cfg):
    """Build the machine for cfg, boot it, run it; returns the exit status."""
    # deferred, as the machine is (the top of this file says why); the run's
    # clock starts first, so that its time counts the imports after it
    from .debug.stats import RunClock, report
    clock = RunClock()
    from .boot import BootError
    from .console import attached
    from .debug.log import open_log
    from .devices.chardev import ChardevError
    from .machine import Machine
    if not cfg.kernel and not cfg.bios:
        if not cfg.drives:
            raise UsageError("nothing to boot: give -kernel FILE, -hda DISK, -cdrom ISO or -bios FILE "
                             "(or try 'pyemu demo')")
        from .boot.bios import BiosError, bios_image     # deferred: only a run without -kernel
        try:
            cfg.bios = str(bios_image())       # pyemu's own BIOS boots the drives
        except BiosError as e:
            raise UsageError(str(e)) from None
    kernel = _read_file(cfg.kernel, "kernel") if cfg.kernel else None
    bios = _read_file(cfg.bios, "firmware") if cfg.bios else None
    modules = []
    if cfg.initrd:
        for item in cfg.initrd.split(","):
            path = item.split(" ")[0]
            modules.append((_read_file(path, "initrd"), item))
    log = open_log(cfg.log_items, cfg.log_file)
    # a Log given to the machine turns the object cache off (per-block logging needs
    # the IR), so -d stats alone does not give it one
    machine_log = log if log is not None and log.items - EXIT_ONLY_ITEMS else None
    if emu.numba_cache_cold and sys.stderr.isatty():
        sys.stderr.write("pyemu: first run of this pyemu build: compiling its native code "
                         "(about a minute, once; kept in %s)\n" % emu.cache_root())
    _stencils_once()
    try:
        machine = Machine(cfg, log=machine_log)
    except (ChardevError, DiskError) as e:   # a back end or a disk image that cannot be opened
        raise UsageError(str(e)) from None
    except (MemoryError, OSError) as e:      # the guest RAM (-m) could not be had
        raise UsageError("cannot make %d MB of guest RAM (-m): %s" % (
            cfg.ram_mb, getattr(e, "strerror", None) or "out of memory")) from None
    try:
        from .boot import firmware, linux, multiboot     # deferred: the machine's
        if bios is not None:
            firmware.load_bios(machine, bios)
        if kernel is not None:
            if linux.is_bzimage(kernel):
                initrd = modules[0][0] if modules else None
                address = _kernel_address()

                def boot():
                    linux.load(machine, kernel, cfg.append, initrd, address)
            elif multiboot.is_multiboot(kernel):
                def boot():
                    multiboot.load(machine, kernel, cfg.append, modules)
            else:
                raise BootError("'%s' is not a kernel pyemu can boot (neither a Linux bzImage nor a "
                                "multiboot kernel)" % cfg.kernel)
            boot()
            machine.reboot_hook = boot
            machine.board.set_boot_files(kernel, modules[0][0] if modules else None, cfg.append)
        if cfg.loadvm:
            from .snapshot import SnapshotError, load_snapshot     # deferred: only -loadvm
            try:
                load_snapshot(machine, cfg.loadvm)
            except SnapshotError as e:
                raise UsageError(str(e)) from None
        from .debug.monitored import run_monitored, wanted     # deferred: the machine's
        qmp_specs, monitor_mode = wanted(cfg)
        if not cfg.gdb and (qmp_specs or monitor_mode):
            return run_monitored(machine, cfg, qmp_specs, monitor_mode, clock.guest_starts, UsageError)
        if cfg.gdb:
            from .debug.gdbstub import GdbStub, parse_address     # deferred: only -gdb
            try:
                stub = GdbStub(machine, *parse_address(cfg.gdb))
                stub.listen()
            except OSError as e:
                raise UsageError("cannot listen for gdb on %s: %s" % (cfg.gdb, e.strerror)) from None
            with attached(machine):      # back ends started, terminal and signals handled
                clock.guest_starts()
                return stub.serve(wait_first=cfg.gdb_wait)
        with attached(machine):
            clock.guest_starts()
            return machine.run()
    except BootError as e:
        raise UsageError(str(e)) from None
    finally:
        report(machine, clock, log, machine.exit_status)
        machine.close()
        if log:
            log.close()


def _stencils_once():
    """The first run of a pyemu build builds the baseline tier's common stencils
    (half a minute, once: emu/translator/baseline/build.py), so that a first
    boot does not stop for them, with a progress line on a terminal."""
    # deferred: the translator imports llvmlite and numba
    from .translator.translator import baseline_from_env, baseline_supported
    try:
        if not (baseline_supported() and baseline_from_env()):
            return
    except ValueError:
        return                  # a bad PYEMU_BASELINE: the machine says so
    from .translator.baseline.build import build_with_progress, library_ready
    if not library_ready():
        build_with_progress(quiet=not sys.stderr.isatty())


def _kernel_address():
    """PYEMU_KERNEL_ADDR: load a relocatable bzImage at this physical address
    instead of 1 MB (a test of the translation cache across relocation)."""
    text = os.environ.get("PYEMU_KERNEL_ADDR", "").strip()
    if not text:
        return None
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError("PYEMU_KERNEL_ADDR must be an address such as 0x2000000, not %r" % text) from None


def run_demo(argv):
    """`pyemu demo [options]`: build the bundled demo (emu/demo), boot it with
    the options after its own; 0 when it ran and exited as expected."""
    # deferred: --help's start-up (the demo imports the toolchain's modules)
    from . import demo
    from .boot.toolchain import ToolchainError
    argv = list(argv)
    if any(a in ("-h", "-help", "--help") for a in argv):
        sys.stdout.write(demo.USAGE % (emu.cache_root() / "demo"))
        return 0
    try:
        elf = demo.demo_image()
    except ToolchainError as e:
        sys.stderr.write("pyemu demo: %s\n" % e)
        return 1
    except OSError as e:
        sys.stderr.write("pyemu demo: cannot build the demo in %s: %s\n" % (emu.cache_root() / "demo", e))
        return 1
    status = run_config(parse_args(demo.pyemu_args(elf) + argv))
    if status == demo.EXPECTED_STATUS:
        return 0
    sys.stderr.write("pyemu demo: the demo ended with status %r instead of %d (it did not finish as expected)\n"
                     % (status, demo.EXPECTED_STATUS))
    return status if isinstance(status, int) and status not in (0, demo.EXPECTED_STATUS) else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] == "demo":
            return run_demo(argv[1:])
        if argv and argv[0] == "show":
            from .debug.show import main as show_main      # deferred: show imports the translator
            return show_main(argv[1:])
        cfg = parse_args(argv)
        return run_config(cfg)
    except UsageError as e:
        sys.stderr.write("pyemu: %s\n" % e)
        return 1
    except DiskError as e:            # an image that could not be written back at exit
        sys.stderr.write("pyemu: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\npyemu: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
