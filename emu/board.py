"""The PC board: which devices a Machine has, where they sit, and how their
interrupt lines are wired.  All IRQ routing is here.

    ISA IRQ n ──┬──► 8259 pair (pic.py) ── INTR ──► LINT0 of the local APIC ──► CPU
                │                                   (ExtINT: the PIC gives the vector;
                │                                    APIC disabled: straight to the CPU)
                └──► IOAPIC pin n (IRQ 0 -> pin 2) ── messages ──► local APIC
    PCI INTx# ──► PIRQA-D (piix.pirq_of) ──┬──► ISA IRQ per PIIX3 PIRQRC (shared, level)
                                           └──► IOAPIC pins 16-19

Devices: COM1-COM4 (one per -serial back end; COM1 0x3F8 IRQ 4, COM2 0x2F8
IRQ 3, COM3 0x3E8 IRQ 4, COM4 0x2E8 IRQ 3), the 8259 pair with ELCR, the
8254 PIT and port 0x61, the MC146818 RTC/CMOS, the i8042 keyboard
controller, ports 0x80 and 0x92, PCI bus 0 with the i440FX host bridge
(00:00.0), the PIIX3 ISA bridge (00:01.0) and IDE function (00:01.1) with
its two channels (0x1F0/0x3F6 IRQ 14, 0x170/0x376 IRQ 15) and the drives of
MachineConfig.drives, the
local APIC (0xFEE00000) and IOAPIC (0xFEC00000) unless MachineConfig.apic
is off, and the debug console / isa-debug-exit when configured.

Without a BIOS, the board also leaves the chipset the way PC firmware does
(`firmware_setup`): CMOS memory-size bytes and checksum, PCI interrupt
routing (PIRQA-D -> IRQ 10, 10, 11, 11, level-triggered in the ELCR), the
IDE bus-master BAR at 0xC000, and virtual-wire mode in the local APIC.
"""
import calendar
import time

from .devices import ata
from .devices import ioapic as IOAPIC_MOD
from .devices.ata_drives import make_drive
from .devices import lapic as LAPIC_MOD
from .devices.chardev import open_backend
from .devices.context import DeviceContext
from .devices.debugcon import DebugCon
from .devices.debugexit import DebugExit
from .devices.i440fx import I440FX, PAM0
from .devices.i8042 import I8042
from .devices.ioapic import IoApic
from .devices.lapic import ApicBus, LocalApic
from .devices.pci import COMMAND, INTERRUPT_LINE, PciBus
from .devices.pic import PicPair
from .devices.piix import IDETIM_PRI, IDETIM_SEC, PIRQRC, Piix3Ide, Piix3Isa, ResetControl, pirq_of
from .devices.pit import Pit8254
from .devices.ferr import FerrLatch
from .devices.fw_cfg import (BOOT_DEVICE, BOOT_MENU, CMDLINE_DATA, CMDLINE_SIZE, FwCfg, INITRD_DATA,
                             INITRD_SIZE, IRQ0_OVERRIDE, KERNEL_DATA, KERNEL_SIZE, MAX_CPUS, NB_CPUS,
                             NOGRAPHIC, RAM_SIZE, SETUP_DATA, SETUP_SIZE, UUID, e820_entries)
from .devices.port80 import Port80
from .devices.port92 import Port92
from .devices.rtc import Rtc
from .devices.uart import Uart16550

COM_PORTS = ((0x3F8, 4), (0x2F8, 3), (0x3E8, 4), (0x2E8, 3))
LAPIC_BASE = LAPIC_MOD.DEFAULT_BASE
IOAPIC_BASE = IOAPIC_MOD.DEFAULT_BASE
LAPIC_ID, IOAPIC_ID = 0, 1
PIIX_SLOT = 1
FIRMWARE_PIRQ_IRQS = (10, 10, 11, 11)     # what SeaBIOS programs on a PIIX board
IDE_BM_BASE = 0xC000
MSR_APIC_BASE = 0x1B


def isa_irq_to_ioapic_pin(irq):
    """ISA IRQ 0 (the PIT) is wired to IOAPIC pin 2 (the usual interrupt source
    override); IRQ 2 is the 8259 cascade and reaches no pin; the others are 1:1."""
    if irq == 0:
        return 2
    if irq == 2:
        return None
    return irq


def parse_rtc_base(spec):
    """-rtc base=: 'utc' (default), 'localtime', or a date 'YYYY-MM-DD[THH:MM:SS]'
    -> seconds since 1970 as the guest's clock shows them (None: host UTC)."""
    if spec in (None, "", "utc"):
        return None
    if spec == "localtime":
        t = time.time()
        return t + time.localtime(t).tm_gmtoff
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return float(calendar.timegm(time.strptime(spec, fmt)))
        except ValueError:
            pass
    raise ValueError("invalid RTC base '%s' (use utc, localtime or YYYY-MM-DDTHH:MM:SS)" % spec)


class PcBoard:
    def __init__(self, machine):
        self.machine = machine
        config = machine.config
        io = machine.io
        self.devices = []                  # everything reset() resets and snapshots save
        self._line_sources = [dict() for _ in range(16)]
        # what every device is given: its ISA lines (routed by set_irq), the clock and timers
        ctx = self.ctx = DeviceContext(machine.clock, machine.timers, self.set_irq, machine.call_soon)

        # the local APIC is made before the 8259 pair, whose INTR drives its LINT0;
        # it reaches the 8259s' INTA cycle through the board (_pic_acknowledge)
        self.lapic = self.ioapic = None
        if getattr(config, "apic", True):
            apic_bus = ApicBus()
            self.lapic = LocalApic(ctx, machine.set_intr, machine.nmi, extint=self._pic_acknowledge,
                                   bus=apic_bus, apic_id=LAPIC_ID)
            self.ioapic = IoApic(apic_bus, apic_id=IOAPIC_ID)

        self.serial = []
        for k, backend in enumerate(machine.serial_backends[:4]):
            base, irq = COM_PORTS[k]
            self.serial.append(self._add_io(Uart16550(ctx, backend, iobase=base, irq=irq)))
        self.pic = self._add_io(PicPair(intr=machine.set_intr if self.lapic is None else self.lapic.set_lint0))
        self.pit = self._add_io(Pit8254(ctx, irq0_waiting=self._irq0_waiting))
        self.rtc = self._add_io(Rtc(ctx, irq=8, start=parse_rtc_base(getattr(config, "rtc_base", None))))
        self.kbc = self._add_io(I8042(ctx, machine.set_a20, machine.request_reset))
        self.port80 = self._add_io(Port80())
        self.port92 = self._add_io(Port92(machine.set_a20, machine.request_reset))
        self.ferr = self._add_io(FerrLatch(ctx))

        self.reset_control = ResetControl(machine.request_reset)
        self.pci = self._add_io(PciBus(isa_fallback=self.reset_control))
        self.host_bridge = self.pci.add(0, 0, I440FX(shadow_hook=self._shadow_changed))
        self.isa_bridge = self.pci.add(PIIX_SLOT, 0, Piix3Isa(isa_irq=self.set_irq, apic_irq=self._pirq_to_ioapic))
        self.ide = self.pci.add(PIIX_SLOT, 1, Piix3Ide(machine.phys, io))
        self.ide_channels = self._ide_channels(getattr(machine, "drives", {}))
        self.devices.append(self.reset_control)

        if self.lapic is not None:
            self.devices += [self.lapic, self.ioapic]
            self._lapic_bases = set()
            self._map_lapic(LAPIC_BASE)
            machine.phys.add_mmio(IOAPIC_BASE, 0x1000, self.ioapic.mmio_read, self.ioapic.mmio_write, "ioapic")
            machine.msr_hooks[MSR_APIC_BASE] = (self.lapic.read_base_msr, self._write_apic_base)

        self.fw_cfg = self._add_io(FwCfg(machine.phys))
        self.fill_fw_cfg()

        if config.debugcon:
            self._add_io(DebugCon(open_backend(config.debugcon)))
        if config.debug_exit:
            base, size = config.debug_exit
            self._add_io(DebugExit(machine.request_exit, base, size))

    def _ide_channels(self, drives):
        """The primary and secondary IDE channels (legacy ports, IRQ 14 and 15)
        with the drives of MachineConfig.drives at their indexes."""
        channels = []
        for k, (cmd, ctl, irq) in enumerate((ata.PRIMARY, ata.SECONDARY)):
            units = []
            for unit in range(2):
                spec, image = drives.get(2 * k + unit, (None, None))
                units.append(None if spec is None else make_drive(spec, image, serial="PYEMU%04d" % (2 * k + unit)))
            channels.append(self._add_io(ata.AtaChannel(cmd, ctl, self.ctx.irq(irq).set, units, name="ide%d" % k,
                                                         bus_master=self.ide.bm.channels[k])))
        return channels

    def _add_io(self, dev):
        self.machine.io.add(dev)
        self.devices.append(dev)
        return dev

    # --- once the machine is complete ---------------------------------------------------------
    def attach(self):
        """The CPU's interrupt controller (the local APIC, or the 8259 pair
        without one), and the chipset as PC firmware leaves it."""
        self.machine.intc = self.pic if self.lapic is None else self.lapic
        self.firmware_setup()

    def firmware_setup(self):
        """The chipset state a PC BIOS leaves behind (pyemu boots kernels without one)."""
        self.fill_cmos()
        self.host_bridge.set_memory_size(self.machine.config.ram_size)
        if not self.machine.config.bios:
            # no firmware: 0xC0000-0xFFFFF is plain RAM, as a BIOS leaves its shadow
            for k in range(7):
                self.host_bridge.config_write(PAM0 + k, 1, 0x33)
        elcr = 0
        for k, irq in enumerate(FIRMWARE_PIRQ_IRQS):
            self.isa_bridge.config_write(PIRQRC + k, 1, irq)
            elcr |= 1 << irq
        self.pic.io_write(0x4D0, 1, elcr & 0xFF)
        self.pic.io_write(0x4D1, 1, elcr >> 8)
        for devfn, fn in self.pci.functions.items():
            if fn.interrupt_pin:
                pirq = pirq_of(devfn >> 3, fn.interrupt_pin - 1)
                fn.config_write(INTERRUPT_LINE, 1, FIRMWARE_PIRQ_IRQS[pirq])
        self.ide.config_write(0x20, 4, IDE_BM_BASE)
        self.ide.config_write(IDETIM_PRI, 2, 0x8000)
        self.ide.config_write(IDETIM_SEC, 2, 0x8000)
        self.ide.config_write(COMMAND, 2, 0x0005)
        if self.lapic is not None:
            self.lapic.virtual_wire()

    def fill_cmos(self):
        """CMOS bytes BIOSes leave for the OS (IBM AT layout plus the common extensions)."""
        rtc = self.rtc
        ram = self.machine.config.ram_size
        kb = ram >> 10
        below_4g = min(ram, 0xFFFFFFFF + 1)
        put = rtc.cmos_write
        put(0x0F, 0x00)                              # shutdown status: normal
        put(0x10, 0x00)                              # no floppy drives
        put(0x12, 0x00)                              # no (CMOS-typed) hard disks
        put(0x14, 0x06)                              # equipment: x87, PS/2 mouse, VGA/EGA, no floppy
        put(0x15, 640 & 0xFF)                        # base memory in KB
        put(0x16, 640 >> 8)
        ext = min(max(kb - 1024, 0), 0xFFFF)         # KB above 1 MB, capped at 64 MB
        for lo in (0x17, 0x30):
            put(lo, ext & 0xFF)
            put(lo + 1, ext >> 8)
        above16 = min(max(below_4g - (16 << 20), 0) >> 16, 0xFFFF)   # 64 KB units
        put(0x34, above16 & 0xFF)
        put(0x35, above16 >> 8)
        above4g = max(ram - (1 << 32), 0) >> 16
        put(0x5B, above4g & 0xFF)
        put(0x5C, (above4g >> 8) & 0xFF)
        put(0x5D, (above4g >> 16) & 0xFF)
        put(0x5F, 0)                                 # CPUs - 1 (Bochs/QEMU layout, SeaBIOS reads it)
        # boot order (Bochs/QEMU layout, read by SeaBIOS and pyemu's BIOS): one nibble per
        # device, 1 floppy, 2 hard disk, 3 CD-ROM, 4 network; 0x3D holds the first two,
        # 0x38 bits 7:4 the third and bit 0 "skip the floppy boot signature check"
        codes = [{"a": 1, "c": 2, "d": 3, "n": 4}[ch] for ch in getattr(self.machine.config, "boot_order", "cd")]
        codes = (codes + [0, 0, 0])[:3]
        put(0x3D, codes[0] | (codes[1] << 4))
        put(0x38, (codes[2] << 4) | 0x01)
        s = sum(rtc.cmos_read(k) for k in range(0x10, 0x2E))
        put(0x2E, (s >> 8) & 0xFF)                   # checksum of 0x10-0x2D, big-endian
        put(0x2F, s & 0xFF)

    def _shadow_changed(self, base, size, read_ram, write_ram):
        """The i440FX's PAM registers moved a segment between ROM and shadow RAM."""
        m = self.machine
        m.phys.set_shadow(base, size, read_ram, write_ram)
        tbs = getattr(m, "tbs", None)
        if tbs is not None:
            tbs.invalidate_range(base, size)       # code translated from the other side
        m.flush_tlb()

    def fill_fw_cfg(self):
        """What QEMU's fw_cfg tells firmware about this PC (docs/specs/fw_cfg.rst):
        one CPU, the RAM size and map, the boot device; the serial console port
        for SeaBIOS (pyemu has no display, as QEMU with -nographic)."""
        config = self.machine.config
        f = self.fw_cfg
        f.add(UUID, bytes(16))
        f.add_i64(RAM_SIZE, config.ram_size)
        f.add_i16(NB_CPUS, 1)
        f.add_i16(MAX_CPUS, 1)
        f.add_i16(NOGRAPHIC, 1)
        f.add_i16(BOOT_DEVICE, ord(getattr(config, "boot_order", "c")[:1] or "c"))
        f.add_i16(BOOT_MENU, 0)
        f.add_i32(IRQ0_OVERRIDE, 1)               # the PIT reaches IOAPIC pin 2
        f.add_file("etc/e820", e820_entries([(0, min(config.ram_size, 0xE0000000), 1)]))
        f.add_file("etc/sercon-port", (0x3F8).to_bytes(2, "little"))
        for key, size_key in ((KERNEL_DATA, KERNEL_SIZE), (INITRD_DATA, INITRD_SIZE),
                              (CMDLINE_DATA, CMDLINE_SIZE), (SETUP_DATA, SETUP_SIZE)):
            f.add(key, b"")
            f.add_i32(size_key, 0)

    def set_boot_files(self, kernel, initrd=None, cmdline=""):
        """fw_cfg's kernel, initrd and command line items for -kernel (a bzImage's
        setup part and protected-mode part separately, as QEMU gives them)."""
        f = self.fw_cfg
        setup, body = b"", kernel or b""
        if len(body) > 0x202 and body[0x202:0x206] == b"HdrS":
            setup_sects = body[0x1F1] or 4
            setup, body = body[:(setup_sects + 1) * 512], body[(setup_sects + 1) * 512:]
        cmd = cmdline.encode() + b"\0"
        for key, size_key, data in ((SETUP_DATA, SETUP_SIZE, setup), (KERNEL_DATA, KERNEL_SIZE, body),
                                    (INITRD_DATA, INITRD_SIZE, initrd or b""), (CMDLINE_DATA, CMDLINE_SIZE, cmd)):
            f.add(key, data)
            f.add_i32(size_key, len(data))

    def _irq0_waiting(self):
        """The last IRQ 0 edge has not been taken by the CPU yet: the 8259 holds
        it in its IRR, or, through the IOAPIC, the local APIC holds its vector in
        its IRR.  Another edge now would merge into that request (the PIT's
        lost-tick catch-up waits instead)."""
        master = self.pic.master
        if master.irr & 1 and not master.imr & 1:
            return True
        if self.ioapic is not None:
            vector = self.ioapic.fixed_vector(isa_irq_to_ioapic_pin(0))
            return vector is not None and self.lapic.requested(vector)
        return False

    # --- interrupt lines ----------------------------------------------------------------------------
    def set_irq(self, irq, level, source="isa"):
        """ISA interrupt line irq: the OR of what its sources drive (an ISA
        device, PCI interrupts the PIIX3 steers there)."""
        if not 0 <= irq < 16:
            raise ValueError("ISA IRQ %r does not exist" % (irq,))
        sources = self._line_sources[irq]
        before = any(sources.values())
        if level:
            sources[source] = True
        else:
            sources.pop(source, None)
        after = any(sources.values())
        if after == before:
            return
        self.pic.set_irq(irq, 1 if after else 0)
        if self.ioapic is not None:
            pin = isa_irq_to_ioapic_pin(irq)
            if pin is not None:
                self.ioapic.set_irq(pin, after)

    def line_level(self, irq):
        return any(self._line_sources[irq].values())

    def line_sources(self):
        """What drives each ISA line: 16 sorted lists of source names (a snapshot keeps them)."""
        return [sorted(sources) for sources in self._line_sources]

    def restore_line_sources(self, line_sources):
        """Set what drives each line, as line_sources() gave it, without telling
        the interrupt controllers: their own state is restored with them."""
        for irq, sources in enumerate(line_sources):
            self._line_sources[irq] = {s: True for s in sources}

    def after_restore(self):
        """After the devices' state is restored: the local APIC's memory window
        follows the base the guest had moved it to."""
        if self.lapic is not None:
            self._map_lapic(self.lapic.base)

    def set_pci_irq(self, slot, function, intx, level):
        """A PCI function drives INTx# (0 = INTA#)."""
        self.isa_bridge.set_pci_irq(slot, function, intx, level)

    def _pic_acknowledge(self):
        """The INTA cycle of an ExtINT interrupt: the 8259 pair gives the vector."""
        return self.pic.acknowledge()

    def _pirq_to_ioapic(self, pirq, level):
        if self.ioapic is not None:
            self.ioapic.set_irq(16 + pirq, level)

    # --- local APIC memory window ----------------------------------------------------------------
    def _map_lapic(self, base):
        if base in self._lapic_bases:
            return
        self._lapic_bases.add(base)
        lapic = self.lapic

        def read(offset, size):
            if lapic.base != base:
                return (1 << (8 * size)) - 1
            return lapic.mmio_read(offset, size)

        def write(offset, size, value):
            if lapic.base == base:
                lapic.mmio_write(offset, size, value)

        self.machine.phys.add_mmio(base, 0x1000, read, write, "lapic")

    def _write_apic_base(self, value):
        if not self.lapic.write_base_msr(value):
            return False
        if self.lapic.base != LAPIC_BASE:
            self._map_lapic(self.lapic.base)
            self.machine.flush_tlb()
        return True

    def apic_enabled(self):
        """CPUID.1:EDX.APIC: a local APIC that is globally enabled."""
        return self.lapic is not None and self.lapic.globally_enabled

    def time_starts(self):
        """The guest's first instruction is about to run: the RTC takes the
        host's date now (building the machine and loading took a while)."""
        self.rtc.power_on()

    # --- reset ---------------------------------------------------------------------------------------
    def reset(self):
        """A system reset: every device to its power-on state (the RTC keeps
        time and CMOS), then the firmware's setup again."""
        for dev in self.devices:
            dev.reset()
        self.firmware_setup()
