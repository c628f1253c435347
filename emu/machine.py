"""The PC: memory, CPU state, I/O bus, devices, and the run loop that services native exits.

The run loop enters native code (the dispatcher) for a slice of instructions
and handles whatever made it come back: a block to translate or link, an
exception or interrupt to deliver, HLT, a timer, a device that stopped the
machine.  Everything guest-visible that is not CPU semantics happens here or
in a device.
"""
import ctypes
import sys
import threading

from .clock import Clock
from .cpu import hflags as H
from .cpu import model
from .cpu.state import CS, EXC_HAS_ERROR, EXC_SOFTWARE, REG_NAMES32, SEG_NAMES, SS, CpuState
from .cpu.vectors import Vector, vector_name
from .block import DiskError
from .block.drive import open_drives
from .board import PcBoard
from .devices.base import IoBus
from .devices.chardev import open_backend
from .softmmu.linear import LinearMemory
from .softmmu.mmu import Mmu
from .softmmu.phys import PhysicalMemory
from .timers import TimerQueue, Watchdog, sleep_until
from .translator import callbacks, exits as X
from .translator.helpers.interrupts import TripleFault, raise_event
from .translator.irstate import Env
from .translator.runtime import compute_eflags, runtime
from .translator.translator import CodeFetchFault, Translator

SLICE = 4_000_000      # instructions per native run before Python looks at the world again

_DISPATCH = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)


def default_msrs():
    """MSRs that only hold a value (Intel SDM Vol. 4): MTRRs, PAT."""
    msrs = {0xFE: 0x508,                       # MTRRcap: 8 variable ranges, fixed ranges, WC
            0x2FF: 0,                          # MTRRdefType
            0x277: 0x0007040600070406}         # PAT power-on value
    for n in (0x250, 0x258, 0x259, *range(0x268, 0x270), *range(0x200, 0x210)):
        msrs[n] = 0
    return msrs


class Machine:
    def __init__(self, config, serial_backends=None, log=None):
        self.config = config
        self.log = log
        self.phys = PhysicalMemory(config.ram_size)
        self.cpu = CpuState()
        self.cpu_addr = ctypes.addressof(self.cpu)
        self.instructions = 0
        self._slice_budget = 0
        self._running = False
        self.in_run = False         # inside run() or step(): signals only ask it to stop
        self._started = False
        self.clock = Clock(config.icount_shift, self._retired)
        # guest time passes only while the guest runs (native code) or waits in
        # HLT: the run loop's Python work between native runs is not the guest's
        self.clock.pause()
        self.timers = TimerQueue(self.clock)
        self.watchdog = None if self.clock.deterministic else Watchdog(self.clock, self.cpu)
        if self.watchdog:
            self.timers.became_first = self._timer_moved_up
        self.wake = threading.Event()       # set by devices when an interrupt arrives
        self.exit_status = None
        self.exit_message = None
        self._callback_error = None
        # -d stats: why native code came back to the run loop (exit code ->
        # count), and the Python work it called for without leaving (helper
        # function, ("in" | "out", port), "mmio read" ... -> count)
        self.native_exits = {}
        self.python_calls = {}
        self._stop_on_hlt = self._stop_on_exception = False
        # The CPU's interrupt controller (the local APIC, or the PIC without one):
        # it calls set_intr(level) when "an interrupt can be delivered" changes,
        # and acknowledge() returns the vector to deliver (None if it went away).
        self.intc = None
        self.msr_hooks = {}                 # MSR number -> (read() -> value, write(value) -> ok)
        self._nmi = False                   # an NMI is pending
        self.nmi_blocked = False            # an NMI handler runs: NMIs wait for its IRET
        self.reboot_hook = None             # set by the boot code: how to start again after a reset
        self.on_reset = None                # the monitor's: told of every reset, with its cause
        self._reset_reason = None           # a device pulled the reset line: taken between blocks
        self.paused = None                  # why run() returned to a debugger ("breakpoint", "interrupt")
        self.pause_requested = False        # a debugger asks the running guest to stop
        rt = runtime()
        self._dispatch = _DISPATCH(rt.addresses["pyemu_dispatch"])
        self.translator = Translator(self.phys, self.cpu, log=log)
        self.tbs = self.translator.cache
        self.phys.code_write_hook = self._code_written
        self.env = Env()
        self.tbs.attach(self.env, chain=not config.nochain)
        self.env_addr = ctypes.addressof(self.env)
        cpu = self.cpu
        cpu.phys_host = self.phys.host.ctypes.data
        cpu.phys_flags = self.phys.flags.ctypes.data
        cpu.code_bitmap = self.tbs.code_bitmap.ctypes.data
        cpu.ram_size = self.phys.ram_size
        self.mmu = Mmu(cpu, self.phys, self.tbs)
        self.tlb = self.mmu.tlb
        self.mem = LinearMemory(cpu, self.phys)
        self.msrs = default_msrs()
        callbacks.register_machine(self.cpu_addr, self)
        self.io = IoBus()
        self.serial_backends = serial_backends or [open_backend(s) for s in config.serial]
        self.drives = open_drives(config)   # IDE index -> (DriveSpec, image or None)
        try:
            self.board = PcBoard(self)      # the PC's devices and IRQ wiring (emu/board.py)
        except BaseException:
            self.close_drives()
            raise
        self.serial = self.board.serial
        self.reset_cpu()
        self.attach_devices()

    def attach_devices(self):
        """The board is complete: its interrupt controller becomes the CPU's, and
        the chipset is left as firmware leaves it."""
        self.board.attach()

    def _retired(self):
        """Instructions retired so far, including the current native slice."""
        if self._running:
            return self.instructions + self._slice_budget - self.cpu.budget
        return self.instructions

    # --- CPU state ------------------------------------------------------------------
    def reset_cpu(self):
        """Power-on state (Intel SDM Vol. 3A 9.1.1)."""
        cpu = self.cpu
        for r in range(16):
            cpu.regs[r] = 0
        cpu.regs[2] = model.signature()    # EDX: the processor signature
        cpu.eip = 0xFFF0
        cpu.eflags = H.FIXED_ONE
        cpu.cc_op = 0
        cpu.cc_src = cpu.cc_dst = cpu.cc_src2 = 0
        cpu.cr[0] = 0x60000010
        for k in range(1, 5):
            cpu.cr[k] = 0
        for k in range(8):
            cpu.dr[k] = 0
        cpu.dr[6] = 0xFFFF0FF0
        cpu.dr[7] = 0x400
        for s in range(6):
            seg = cpu.seg[s]
            seg.selector = 0
            seg.base = 0
            seg.limit = 0xFFFF
            seg.flags = H.DESC_P | H.DESC_S | H.DESC_RW | H.DESC_ACCESSED
        cs = cpu.seg[CS]
        cs.selector = 0xF000
        cs.base = 0xFFFF0000
        cs.flags |= H.DESC_CODE
        for t in (cpu.ldtr, cpu.tr):
            t.selector, t.base, t.limit = 0, 0, 0xFFFF
        cpu.ldtr.flags = H.DESC_P | (2 << 8)
        cpu.tr.flags = H.DESC_P | (11 << 8)
        cpu.gdtr.base = cpu.idtr.base = 0
        cpu.gdtr.limit = cpu.idtr.limit = 0xFFFF
        cpu.a20_mask = 0xFFFFFFFF
        cpu.tlb_asid = 0
        cpu.efer = 0
        # x87 power-on state (SDM Vol. 3A Table 9-1): FINIT-like, tags empty
        cpu.fpu_cw = 0x0040
        cpu.fpu_sw = 0
        cpu.fpu_tag = 0x5555
        cpu.fpu_top = 0
        cpu.halted = 0
        cpu.irq_inhibit = 0
        self.nmi_blocked = False
        self.flush_tlb(everything=True)
        self.update_hflags()

    def enter_flat32(self, entry, code_selector=0x08, data_selector=0x10, regs=None):
        """32-bit protected mode with flat 4 GB segments, paging and interrupts off:
        the entry state of the multiboot and Linux 32-bit boot protocols.
        regs: {"eax": value, ...}; every other general register is 0."""
        cpu = self.cpu
        cpu.cr[0] = H.CR0_PE | H.CR0_ET
        code = H.DESC_P | H.DESC_S | H.DESC_CODE | H.DESC_RW | H.DESC_ACCESSED | H.DESC_B | H.DESC_G
        data = H.DESC_P | H.DESC_S | H.DESC_RW | H.DESC_ACCESSED | H.DESC_B | H.DESC_G
        for s in range(6):
            seg = cpu.seg[s]
            seg.selector, seg.flags = (code_selector, code) if s == CS else (data_selector, data)
            seg.base, seg.limit = 0, 0xFFFFFFFF
        cpu.eip = entry
        cpu.eflags = H.FIXED_ONE
        values = regs or {}
        for k, name in enumerate(REG_NAMES32):
            cpu.regs[k] = values.get(name, 0)
        self.flush_tlb(everything=True)
        self.update_hflags()

    def update_hflags(self):
        cpu = self.cpu
        # CPL is CS.RPL in protected mode (a conforming CS load keeps RPL = CPL),
        # 3 in virtual-8086 mode, 0 in real mode
        cpl = cpu.seg[CS].selector & 3 if cpu.cr[0] & H.CR0_PE else 0
        if cpu.eflags & H.VM:
            cpl = 3
        cpu.hflags = H.compute_hflags(cpl, cpu.seg[CS].flags, cpu.seg[SS].flags, cpu.cr[0], cpu.eflags)

    def eflags(self):
        """The whole EFLAGS value, arithmetic flags computed from the lazy state."""
        return (self.cpu.eflags | compute_eflags(self.cpu)) & 0xFFFFFFFF

    def format_registers(self):
        """A register dump in the style of QEMU's -d cpu."""
        cpu = self.cpu
        regs = " ".join("%s=%08x" % (n.upper(), cpu.regs[k] & 0xFFFFFFFF) for k, n in enumerate(REG_NAMES32))
        fl = self.eflags()
        bits = "".join(ch if fl & (1 << b) else "-" for ch, b in (("O", 11), ("D", 10), ("I", 9), ("T", 8),
                                                                   ("S", 7), ("Z", 6), ("A", 4), ("P", 2),
                                                                   ("C", 0)))
        segs = " ".join("%s=%04x" % (n.upper(), cpu.seg[k].selector) for k, n in enumerate(SEG_NAMES))
        return "%s\nEIP=%08x EFL=%08x [%s] CPL=%d\n%s CR0=%08x CR3=%08x" % (
            regs, cpu.eip & 0xFFFFFFFF, fl, bits, cpu.hflags & 3, segs, cpu.cr[0] & 0xFFFFFFFF,
            cpu.cr[3] & 0xFFFFFFFF)

    # --- memory management ------------------------------------------------------------------
    def flush_tlb(self, everything=True):
        """Forget every cached translation (paging-mode changes, A20, reset)."""
        self.mmu.paging_enabled(bool(self.cpu.cr[0] & H.CR0_PG))

    def write_cr3(self, value):
        self.mmu.write_cr3(value & 0xFFFFFFFF, bool(self.cpu.cr[0] & H.CR0_PG))

    def invlpg(self, lin):
        self.mmu.invlpg(lin & 0xFFFFFFFF)

    def set_a20(self, enabled):
        self.cpu.a20_mask = 0xFFFFFFFF if enabled else 0xFFEFFFFF
        self.flush_tlb()

    def msr_written(self, n, value):
        pass

    # --- interrupts ---------------------------------------------------------------------------
    def apic_enabled(self):
        """CPUID reports the APIC only while there is one and it is globally enabled."""
        return self.board.apic_enabled()

    def fpu_error_irq(self):
        """The x87 signalled an unmasked exception with CR0.NE clear (FERR#)."""
        self.board.ferr.fpu_error()

    def set_intr(self, level):
        """The interrupt controller's INTR output changed."""
        self.cpu.irq_pending = 1 if level else 0
        if level:
            if self.cpu.eflags & H.IF:
                self.cpu.exit_request = 1
            self.wake.set()

    def nmi(self):
        self._nmi = True
        self.cpu.exit_request = 1
        self.wake.set()

    def end_nmi_blocking(self):
        """IRET: NMIs are delivered again (SDM Vol. 3A 6.7.1); one that arrived
        while the handler ran is taken now."""
        if self.nmi_blocked:
            self.nmi_blocked = False
            if self._nmi:
                self.cpu.exit_request = 1

    def interrupts_may_be_enabled(self):
        """After EFLAGS.IF may have been set: leave native code if an interrupt waits."""
        if self.cpu.irq_pending and self.cpu.eflags & H.IF:
            self.cpu.exit_request = 1

    def _interrupt_shadow(self):
        """True while the instruction after STI / MOV SS has not run yet."""
        cpu = self.cpu
        if cpu.irq_inhibit:
            if (cpu.eip & 0xFFFFFFFF) == cpu.inhibit_eip:
                return True
            cpu.irq_inhibit = 0
        return False

    def _step_one(self):
        """Run exactly one instruction (blocks of one instruction, budget 1): the
        instruction in an STI / MOV SS shadow, before a waiting interrupt is taken.

        The one-instruction block may need translating first (nothing ran yet);
        whatever the instruction itself causes (HLT, an exception) is serviced,
        so `sti; hlt` halts after the interrupt, not before it."""
        cpu = self.cpu
        start = self.instructions
        try:
            for _ in range(100):
                cpu.hflags |= H.HF_SINGLE
                try:
                    r = self._native(1)
                finally:
                    cpu.hflags &= ~H.HF_SINGLE
                if self.instructions != start or r not in (X.EXIT_MISS, X.EXIT_LINK, X.EXIT_REQUEST):
                    break
                if r == X.EXIT_REQUEST:
                    cpu.exit_request = 0
                    continue
                cpu.link_slot = 0
                try:
                    with self.clock.stopped():      # translating costs the guest no time
                        self.translator.lookup_with(cpu.hflags | H.HF_SINGLE)
                except CodeFetchFault:
                    self._exception()
                    return
            if r in (X.EXIT_MISS, X.EXIT_LINK):
                cpu.link_slot = 0             # the next turn translates the following block
            elif r != X.EXIT_REQUEST:
                self._service(r)
        finally:
            cpu.irq_inhibit = 0

    def _deliver_interrupts(self):
        """Deliver a pending NMI or maskable interrupt if the CPU accepts it; True if one was."""
        cpu = self.cpu
        if self._nmi and not self.nmi_blocked:
            self._nmi = False
            self.nmi_blocked = True
            self._raise(Vector.NMI, external=True)
            return True
        if cpu.irq_pending and cpu.eflags & H.IF and self.intc is not None:
            if self._interrupt_shadow():
                return False
            vector = self.intc.acknowledge()
            if vector is None:
                return False
            self._raise(vector, external=True)
            return True
        return False

    def _raise(self, vector, error=None, soft=False, external=False):
        cpu = self.cpu
        self._counted("interrupt" if external else "INT n" if soft else "exception")
        cpu.halted = 0
        try:
            self.clock.charged(self.EVENT_NS, raise_event, self, vector, error, soft, external)
        except TripleFault:
            self.triple_fault(vector, error, soft)

    def log_interrupt(self, vector, error, soft, external):
        cpu = self.cpu
        kind = "INT" if soft else ("IRQ" if external else "exception")
        self.log.write("%s vector %#04x%s at %04x:%08x (CPL %d) EAX=%08x ESP=%08x CR3=%08x%s" % (
            kind, vector, "" if error is None else " error %#x" % error, cpu.seg[CS].selector,
            cpu.eip & 0xFFFFFFFF, cpu.hflags & 3, cpu.regs[0] & 0xFFFFFFFF, cpu.regs[4] & 0xFFFFFFFF,
            cpu.cr[3] & 0xFFFFFFFF, " CR2=%08x" % cpu.cr[2] if vector == Vector.PF and not soft and not external else ""))

    # --- callbacks from native code -------------------------------------------------------
    # What work done in Python costs in guest time (clock.py: charged), about
    # what it takes on hardware rather than what Python takes: a port access is
    # an ISA bus cycle, a memory-mapped register (APIC) is faster; a system
    # instruction done by a Python helper (far jump, IRET, CPUID, RDTSC, ...)
    # and the delivery of an interrupt or exception are a few hundred cycles;
    # invalidating translated code is the translator's business and costs nothing.
    PORT_ACCESS_NS = 1000
    MMIO_ACCESS_NS = 100
    HELPER_NS = 100
    EVENT_NS = 200

    def _counted(self, key):
        counts = self.python_calls
        counts[key] = counts.get(key, 0) + 1

    def call_helper(self, helper, a0, a1, a2):
        self._counted(helper)
        return self.clock.charged(self.HELPER_NS, helper, self, a0, a1, a2)

    def io_read(self, port, size):
        self._counted(("in", port))
        return self.clock.charged(self.PORT_ACCESS_NS, self.io.read, port, size)

    def io_write(self, port, size, value):
        self._counted(("out", port))
        self.clock.charged(self.PORT_ACCESS_NS, self.io.write, port, size, value)

    def mmio_read(self, phys, size):
        self._counted("mmio read")
        return self.clock.charged(self.MMIO_ACCESS_NS, self.phys.mmio_read, phys, size)

    def mmio_write(self, phys, size, value):
        self._counted("mmio write")
        self.clock.charged(self.MMIO_ACCESS_NS, self.phys.mmio_write, phys, size, value)
        if self.cpu.exit_request:
            # the write made an interrupt deliverable (a self-IPI, an EOI, a lower
            # TPR): leave the block after this instruction through the check that
            # follows every store, so it is taken at the next instruction boundary
            self.cpu.smc_exit = 1

    def code_write(self, phys, size):
        self._counted("write to translated code")
        if self.clock.charged(0, self.tbs.invalidate_range, phys, size):
            self.cpu.smc_exit = 1

    def _code_written(self, phys, size):
        self.tbs.invalidate_range(phys, size)

    def callback_failed(self, exc):
        if self._callback_error is None:
            self._callback_error = exc
        self.cpu.exit_request = 1

    def call_soon(self, fn):
        """Run fn() on the run loop's thread at its next turn (thread-safe; wakes a
        halted CPU).  Threads that feed devices (serial input) use it."""
        self.timers.schedule(0, fn)
        self.cpu.exit_request = 1
        self.wake.set()

    def _end_runs_at(self, deadline):
        """Real-time mode: native code runs until deadline (the next timer; None:
        none), when the watchdog ends it, and guest time waits there until the
        run loop has fired the timer (Clock.limit)."""
        self.clock.limit = deadline
        if deadline is not None:
            self.watchdog.arm(deadline)

    def _timer_moved_up(self, deadline):
        """A timer now comes first (a device written from native code, or
        call_soon from another thread): the native run ends there, and guest
        time stops there until the run loop has fired it."""
        limit = self.clock.limit
        if limit is None or deadline < limit:
            self.clock.limit = max(deadline, self.clock.ns())
            if self._running:
                self.watchdog.arm(deadline)

    def request_exit(self, status, message=None):
        """Stop the run loop with this exit status (devices call it)."""
        if self.exit_status is None:
            self.exit_status = status
            self.exit_message = message
        self.cpu.exit_request = 1
        self.wake.set()

    def stop_unimplemented(self):
        from .frontend.disasm import disassemble     # deferred: capstone, for this message only
        cpu = self.cpu
        lin = (cpu.seg[CS].base + cpu.eip) & 0xFFFFFFFF
        try:
            phys = self.translator.code_phys(lin, (cpu.hflags & 3) == 3)
            code = self.phys.read(phys, 15)
            d = disassemble(code, cpu.eip, 32 if cpu.hflags & H.HF_CS32 else 16)
            text = d[0][2] if d else code.hex(" ")
        except CodeFetchFault:
            text = "?"
        self.request_exit(3, "pyemu: instruction '%s' at %04x:%08x is not implemented"
                          % (text, cpu.seg[CS].selector, cpu.eip))

    # --- running ----------------------------------------------------------------------------
    def _native(self, budget):
        """Run native code for at most `budget` instructions; returns the exit reason."""
        cpu = self.cpu
        self._slice_budget = budget
        cpu.budget = budget
        self._running = True
        try:
            with self.clock.running():
                r = self._dispatch(self.cpu_addr, self.env_addr)
            counts = self.native_exits
            counts[r] = counts.get(r, 0) + 1
        finally:
            self.instructions += budget - cpu.budget
            self._running = False
            cpu.budget = 0
        if self._callback_error is not None:
            err, self._callback_error = self._callback_error, None
            raise err
        return r

    def _make_up(self, deadline):
        """Real-time mode: time held back (translation, Python, a descheduled
        host) passes now, up to deadline (emu/clock.py: make_up); True when
        the deadline came.  Not while interrupts are off, nor while an
        interrupt waits for the instruction in an STI shadow (Linux idles
        with `sti; hlt`): the jump would reach the next tick before the CPU
        has taken this one, and the PIC would merge the two."""
        cpu = self.cpu
        return self.clock.make_up(deadline, bool(cpu.eflags & H.IF) and not cpu.irq_pending)

    def run(self, stop_on_hlt=False, stop_on_exception=False):
        """Run until the guest stops; returns the exit status.

        With stop_on_hlt / stop_on_exception (the snippet runner) a HLT or an
        exception ends the run instead: the exit status is then "hlt" or
        "exception" and the CPU state is left as it is."""
        cpu = self.cpu
        self._stop_on_hlt = stop_on_hlt
        self._stop_on_exception = stop_on_exception
        self.paused = None
        made_up = False             # guest time jumped to a timer since the last native run
        if not self._started:
            # the machine's time starts with its first instruction: the RTC reads
            # the host's date as of now, and guest time is not behind yet
            self._started = True
            self.clock.rebase()
            self.board.time_starts()
        self.in_run = True
        try:
            while self.exit_status is None and self.paused is None:
                if self.pause_requested:
                    self.pause_requested = False
                    self.paused = "interrupt"
                    break
                self._take_reset()
                if self.exit_status is not None:
                    break           # -no-reboot
                self.timers.run_due()
                if self.exit_status is not None:
                    break
                self.translator.install_hot()   # O2 code the compiler thread finished
                self._deliver_interrupts()
                if cpu.halted:
                    self._wait_while_halted()
                    continue
                budget = SLICE
                deadline = self.timers.next_deadline()
                if self.clock.deterministic:
                    if deadline is not None:
                        budget = max(1, min(budget, self.clock.instructions_until(deadline)))
                else:
                    # one timer at a time, with guest code between two (a jump
                    # from timer to timer alone would leave the guest no time to
                    # take the interrupts they raise)
                    if not made_up and self._make_up(deadline):
                        made_up = True
                        continue            # the next timer is due: fire it first
                    self._end_runs_at(deadline)
                if cpu.irq_inhibit and cpu.irq_pending and cpu.eflags & H.IF:
                    self._step_one()
                    continue
                before = self.instructions
                r = self._native(budget)
                made_up = False
                if self.exit_status is not None:
                    break
                if r == X.EXIT_REQUEST and self.instructions == before and not cpu.exit_request:
                    # -icount: the next block is longer than the budget left before
                    # the deadline; run up to the deadline one instruction at a time
                    cpu.hflags |= H.HF_SINGLE
                    try:
                        r = self._native(budget)
                        while r in (X.EXIT_MISS, X.EXIT_LINK) and self.exit_status is None:
                            # translate (and link) the one-instruction blocks while
                            # HF_SINGLE is set (it is part of their key), and go on
                            self._service(r)
                            left = budget - (self.instructions - before)
                            r = self._native(left) if left > 0 else None
                    finally:
                        cpu.hflags &= ~H.HF_SINGLE
                    if self.exit_status is not None:
                        break
                if r is not None:
                    self._service(r)
        finally:
            self.in_run = False
            if self.watchdog:
                self.watchdog.disarm()
            for b in self.serial_backends:
                b.flush()
        if self.exit_status is not None and self.exit_message:
            sys.stderr.write(self.exit_message.rstrip("\n") + "\n")
            self.exit_message = None
        return self.exit_status if self.exit_status is not None else "paused"

    # --- debugger support -------------------------------------------------------------------
    def set_breakpoints(self, addresses):
        """Linear addresses the guest stops at (before the instruction runs)."""
        self.translator.breakpoints = set(a & 0xFFFFFFFF for a in addresses)
        self.tbs.flush()

    def step(self):
        """Execute exactly one instruction (or deliver the exception it raises)."""
        self.in_run = True
        try:
            self._step()
            self._take_reset()      # a stepped write to a reset register resets now
        finally:
            self.in_run = False

    def _step(self):
        cpu = self.cpu
        start = self.instructions
        for _ in range(100):
            self.timers.run_due()
            if not self.clock.deterministic:
                self._end_runs_at(self.timers.next_deadline())
            cpu.hflags |= H.HF_SINGLE | H.HF_NOBP
            try:
                r = self._native(1)
            finally:
                cpu.hflags &= ~(H.HF_SINGLE | H.HF_NOBP)
            if r == X.EXIT_REQUEST and self.instructions == start:
                cpu.exit_request = 0
                continue
            if r in (X.EXIT_MISS, X.EXIT_LINK) and self.instructions == start:
                cpu.link_slot = 0
                try:
                    with self.clock.stopped():
                        self.translator.lookup_with(cpu.hflags | H.HF_SINGLE | H.HF_NOBP)
                except CodeFetchFault:
                    self._exception()
                    return
                continue
            if r not in (X.EXIT_REQUEST, X.EXIT_MISS, X.EXIT_LINK):
                self._service(r)
            return

    def _service(self, r):
        cpu = self.cpu
        if r in (X.EXIT_MISS, X.EXIT_LINK):
            slot = cpu.link_slot
            cpu.link_slot = 0
            try:
                with self.clock.stopped():
                    tb = self.translator.lookup()
            except CodeFetchFault:
                self._exception()
                return
            if slot and not self.config.nochain:
                self.tbs.link(slot, tb)
        elif r == X.EXIT_REQUEST:
            cpu.exit_request = 0
        elif r == X.EXIT_EXCEPTION:
            self._exception()
        elif r == X.EXIT_HLT:
            if self._stop_on_hlt:
                self.exit_status = "hlt"
            else:
                cpu.halted = 1
        elif r == X.EXIT_STOP:
            pass
        elif r == X.EXIT_DEBUG:
            self.paused = "breakpoint"
        elif r == X.EXIT_HOT:
            with self.clock.stopped():
                self.translator.tier_up()
        else:
            raise RuntimeError("native code returned unknown exit %d" % r)

    def _exception(self):
        """Deliver the exception recorded in the CPU state through the IVT/IDT."""
        cpu = self.cpu
        if self._stop_on_exception:
            self.exit_status = "exception"
            return
        error = cpu.exc_error & 0xFFFFFFFF if cpu.exc_flags & EXC_HAS_ERROR else None
        self._raise(cpu.exc_vector, error, soft=bool(cpu.exc_flags & EXC_SOFTWARE))

    def _wait_while_halted(self):
        """HLT: sleep until an interrupt can be taken or a timer is due (no spinning)."""
        cpu = self.cpu
        deadline = self.timers.next_deadline()
        can_wake = cpu.eflags & H.IF and (self.intc is not None or deadline is not None)
        if not can_wake and not self._nmi:
            self.request_exit(0, "pyemu: the guest halted with %s at %04x:%08x; stopping" % (
                "interrupts disabled" if not cpu.eflags & H.IF else "no device that could wake it",
                cpu.seg[CS].selector, cpu.eip & 0xFFFFFFFF))
            return
        if cpu.irq_pending and cpu.eflags & H.IF:
            return
        if self.clock.deterministic:
            if deadline is not None:
                self.clock.skip_to(deadline)
            return
        if self.clock.catch_up(deadline):
            return                      # the guest was behind the host: its timer is due now
        self.clock.limit = deadline     # a late wake-up does not make the timer late
        with self.clock.halted():
            sleep_until(self.clock, deadline, self.wake)

    def triple_fault(self, vector, error, soft):
        cpu = self.cpu
        name = vector_name(vector)
        what = ("software interrupt INT %#x" % vector) if soft else "exception %s" % name
        detail = "" if error is None else ", error code %#x" % error
        if vector == Vector.PF:
            detail += ", address %#x" % cpu.cr[2]
        message = "pyemu: triple fault after the guest's %s at %04x:%08x%s" % (
            what, cpu.seg[CS].selector, cpu.eip & 0xFFFFFFFF, detail)
        if self.config.no_reboot or self.reboot_hook is None:
            self.request_exit(0 if self.config.no_reboot else 2, message + (
                "; exiting (-no-reboot)" if self.config.no_reboot else "; stopping (nothing to reboot into)"))
            return
        sys.stderr.write(message + "; rebooting\n")
        self.reset()

    def request_reset(self, reason="guest-reset"):
        """A device's reset line (the keyboard controller, port 0x92, 0xCF9).
        The device's register write runs inside a native block, which goes on
        to its end with the state it holds; resetting there would let the
        block's last instructions (the HLT that follows a reset pulse) run on,
        and write their EIP over, the power-on state.  The run loop resets
        between blocks, as a real reset line takes effect some cycles after
        the write."""
        self._reset_reason = reason
        self.cpu.exit_request = 1
        self.wake.set()

    def _take_reset(self):
        if self._reset_reason is not None:
            reason, self._reset_reason = self._reset_reason, None
            self.reset(reason)

    def reset(self, reason="guest-reset"):
        """A machine reset: the guest's (triple fault, port 0x92, 0xCF9 or the
        keyboard controller, through request_reset) or the monitor's (reason
        "host-qmp-system-reset", QEMU's names for the two causes)."""
        if self.config.no_reboot:
            self.request_exit(0, "pyemu: the guest reset the machine; exiting (-no-reboot)")
            return
        self.reset_cpu()
        self.board.reset()
        self.tbs.flush()
        if self.reboot_hook is not None:
            self.reboot_hook()
        self.cpu.exit_request = 1
        if self.on_reset is not None:
            self.on_reset(reason)

    def flush_drives(self):
        """Every image's writes to stable storage (fsync)."""
        for _, image in self.drives.values():
            if image is not None:
                image.flush()

    def close_drives(self):
        """Flush and close every image (and drop its lock); every way out of pyemu
        that runs Python comes through here (emu/cli.py run_config's finally)."""
        drives, self.drives = self.drives, {}
        error = None
        for _, image in drives.values():
            if image is not None:
                try:
                    image.close()
                except OSError as e:
                    error = error or DiskError("cannot write back disk image '%s': %s" % (image.path, e.strerror))
        if error is not None:
            raise error

    def close(self):
        try:
            self.close_drives()
        finally:
            self._close_rest()

    def _close_rest(self):
        if self.watchdog:
            self.watchdog.stop()
        self.translator.close()
        callbacks.unregister_machine(self.cpu_addr)
        for b in self.serial_backends:
            b.close()
