"""Stand-ins for what devices are wired to.  FakeMachine gives a device its
DeviceContext (`ctx`: a virtual clock the test moves by hand, the real timer
queue on it, IRQ lines that record every change) and the other wires device
constructors take (the CPU's INTR and NMI, the A20 gate, the reset line),
recording each.  BoardMachine adds what the real PcBoard needs of a machine.
Devices are driven through their ports and MMIO exactly as the guest would,
without the CPU or the JIT."""
import pytest

from emu.board import PcBoard
from emu.config import MachineConfig
from emu.devices.base import IoBus
from emu.devices.context import DeviceContext
from emu.softmmu.phys import PhysicalMemory
from emu.timers import TimerQueue


class FakeClock:
    deterministic = True

    def __init__(self):
        self.t = 0

    def ns(self):
        return self.t

    def behind(self):
        return 0                # a device test's time is only what the test sets


class FakeMachine:
    def __init__(self):
        self.clock = FakeClock()
        self.timers = TimerQueue(self.clock)
        self.ctx = DeviceContext(self.clock, self.timers, self.set_irq, self.call_soon)
        self.io = IoBus()            # the tests' ports; devices go on it with plug()
        self.irq_log = []            # (irq, level) in order
        self.irqs = {}               # irq -> current level
        self.intr = False
        self.nmis = 0
        self.a20 = True
        self.resets = 0

    # the context's
    def set_irq(self, n, level):
        level = bool(level)
        self.irqs[n] = level
        self.irq_log.append((n, level))

    def call_soon(self, fn):
        self.timers.schedule(0, fn)

    # the wires device constructors take
    def set_intr(self, level):
        self.intr = bool(level)

    def nmi(self):
        self.nmis += 1

    def set_a20(self, on):
        self.a20 = bool(on)

    def request_reset(self, reason="guest-reset"):
        self.resets += 1

    # what tests call
    def advance(self, ns):
        """Move virtual time forward by ns, firing each timer at its own deadline."""
        target = self.clock.t + ns
        while True:
            d = self.timers.next_deadline()
            if d is None or d > target:
                break
            self.clock.t = max(self.clock.t, d)
            self.timers.run_due()
        self.clock.t = target
        self.timers.run_due()

    def rising_edges(self, irq):
        edges, level = 0, False
        for n, lv in self.irq_log:
            if n == irq:
                if lv and not level:
                    edges += 1
                level = lv
        return edges


class RecordingBoard(PcBoard):
    """The PcBoard, recording what devices drive on the ISA lines in the
    machine's irqs and irq_log."""

    def set_irq(self, irq, level, source="isa"):
        if source == "isa":
            self.machine.set_irq(irq, level)
        super().set_irq(irq, level, source)


class BoardMachine(FakeMachine):
    """A FakeMachine carrying the real PcBoard and what the board takes of a
    Machine: device IRQs are routed by the board (and still recorded); intc
    is the board's choice."""

    def __init__(self, config=None, drives=None):
        from emu.devices.chardev import open_backend
        super().__init__()
        self.config = config or MachineConfig(ram_mb=16, serial=["null"])
        self.phys = PhysicalMemory(self.config.ram_size)
        self.msr_hooks = {}
        self.exit_status = None
        self.intc = None
        self.drives = drives or {}       # IDE index -> (DriveSpec, image), as Machine opens them
        self.serial_backends = [open_backend(s) for s in self.config.serial]
        self.board = RecordingBoard(self)
        self.board.attach()

    def request_exit(self, status, message=None):
        self.exit_status = status

    def flush_tlb(self, everything=True):
        pass

    def apic_enabled(self):
        return self.board.apic_enabled()


@pytest.fixture
def machine():
    return FakeMachine()


@pytest.fixture
def pc():
    return BoardMachine()


def plug(machine, dev):
    """Put dev on the fake machine's I/O bus."""
    if dev.ports:
        machine.io.add(dev)
    return dev
