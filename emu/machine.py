"""The PC: memory, CPU state, I/O bus, devices, and the run loop that services native exits."""
import ctypes
import sys

from .clock import Clock
from .cpu import hflags as H
from .cpu.state import CS, DS, ES, FS, GS, SS, CpuState, EAX, EBX
from .devices.base import IoBus
from .devices.chardev import open_backend
from .devices.debugcon import DebugCon
from .devices.debugexit import DebugExit
from .devices.uart import Uart16550
from .softmmu import tlb as softmmu
from .softmmu.phys import PhysicalMemory
from .translator import callbacks, exits as X
from .translator import helpers  # noqa: F401  (registers the Python helpers)
from .translator.irstate import Env
from .translator.runtime import runtime
from .translator.translator import CodeFetchFault, Translator

SLICE = 4_000_000      # instructions per native run before Python looks at the world again

EXCEPTION_NAMES = {0: "#DE divide error", 1: "#DB debug", 2: "NMI", 3: "#BP breakpoint", 4: "#OF overflow",
                   5: "#BR bound range", 6: "#UD invalid opcode", 7: "#NM device not available",
                   8: "#DF double fault", 10: "#TS invalid TSS", 11: "#NP segment not present",
                   12: "#SS stack fault", 13: "#GP general protection", 14: "#PF page fault",
                   16: "#MF x87 error", 17: "#AC alignment check", 18: "#MC machine check"}

_DISPATCH = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)


class GuestStop(Exception):
    """Raised inside the run loop to end the run with a status and message."""


class Machine:
    def __init__(self, config, serial_backends=None, log=None):
        self.config = config
        self.phys = PhysicalMemory(config.ram_size)
        self.cpu = CpuState()
        self.cpu_addr = ctypes.addressof(self.cpu)
        self.instructions = 0
        self.clock = Clock(config.icount_shift, lambda: self.instructions + SLICE - self.cpu.budget
                           if self._running else self.instructions)
        self._running = False
        self.exit_status = None
        self.exit_message = None
        self._callback_error = None
        self._stop_on_hlt = self._stop_on_exception = False
        self.log = log
        rt = runtime()
        self._dispatch = _DISPATCH(rt.addresses["pyemu_dispatch"])
        self.translator = Translator(self.phys, self.cpu, log=log)
        self.tbs = self.translator.cache
        self.phys.code_write_hook = self._code_written
        self.env = Env()
        self.env.jmp_cache = ctypes.addressof(self.tbs.jmp_cache)
        self.env.jmp_mask = self.tbs.jmp_mask
        self.env_addr = ctypes.addressof(self.env)
        cpu = self.cpu
        cpu.phys_host = self.phys.host.ctypes.data
        cpu.phys_flags = self.phys.flags.ctypes.data
        cpu.code_bitmap = self.tbs.code_bitmap.ctypes.data
        cpu.ram_size = self.phys.ram_size
        self.tlb = softmmu.tlb_array(cpu)
        callbacks.register_machine(self.cpu_addr, self)
        self.io = IoBus()
        self.serial_backends = serial_backends or [open_backend(s) for s in config.serial]
        self.serial = []
        for k, backend in enumerate(self.serial_backends[:4]):
            base = (0x3F8, 0x2F8, 0x3E8, 0x2E8)[k]
            dev = Uart16550(backend, iobase=base)
            self.io.add(dev)
            self.serial.append(dev)
        if config.debugcon:
            self.io.add(DebugCon(open_backend(config.debugcon)))
        if config.debug_exit:
            base, size = config.debug_exit
            self.io.add(DebugExit(self.request_exit, base, size))
        for dev in self.io.devices:
            dev.attach(self)
        self.reset_cpu()

    # --- CPU state ------------------------------------------------------------------
    def reset_cpu(self):
        """Power-on state (Intel SDM Vol. 3A 9.1.1)."""
        cpu = self.cpu
        for r in range(16):
            cpu.regs[r] = 0
        cpu.regs[2] = 0x600 | 0x30 | 3     # EDX: the CPU signature (family 6)
        cpu.eip = 0xFFF0
        cpu.eflags = H.FIXED_ONE
        cpu.cc_op = 0
        cpu.cc_src = cpu.cc_dst = cpu.cc_src2 = 0
        cpu.cr[0] = 0x60000010
        for k in range(1, 5):
            cpu.cr[k] = 0
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
        cpu.gdtr.base = cpu.idtr.base = 0
        cpu.gdtr.limit = cpu.idtr.limit = 0xFFFF
        cpu.a20_mask = 0xFFFFFFFF
        cpu.tlb_asid = 0
        self.flush_tlb()
        self.update_hflags()

    def enter_flat32(self, entry, eax=0, ebx=0):
        """32-bit protected mode with flat segments, paging off: the multiboot entry state."""
        cpu = self.cpu
        cpu.cr[0] = H.CR0_PE | H.CR0_ET
        code = H.DESC_P | H.DESC_S | H.DESC_CODE | H.DESC_RW | H.DESC_ACCESSED | H.DESC_B | H.DESC_G
        data = H.DESC_P | H.DESC_S | H.DESC_RW | H.DESC_ACCESSED | H.DESC_B | H.DESC_G
        for s, sel, flags in ((CS, 0x08, code), (SS, 0x10, data), (DS, 0x10, data), (ES, 0x10, data),
                              (FS, 0x10, data), (GS, 0x10, data)):
            seg = cpu.seg[s]
            seg.selector, seg.base, seg.limit, seg.flags = sel, 0, 0xFFFFFFFF, flags
        cpu.eip = entry
        cpu.eflags = H.FIXED_ONE
        cpu.regs[EAX] = eax
        cpu.regs[EBX] = ebx
        self.flush_tlb()
        self.update_hflags()

    def update_hflags(self):
        cpu = self.cpu
        # CPL is CS.RPL in protected mode (a conforming CS load keeps RPL = CPL),
        # 3 in virtual-8086 mode, 0 in real mode
        cpl = cpu.seg[CS].selector & 3 if cpu.cr[0] & H.CR0_PE else 0
        if cpu.eflags & H.VM:
            cpl = 3
        cpu.hflags = H.compute_hflags(cpl, cpu.seg[CS].flags, cpu.seg[SS].flags, cpu.cr[0], cpu.eflags)

    def flush_tlb(self):
        softmmu.flush_all(self.tlb)
        self.tbs.flush_jump_cache()

    def eflags(self):
        """The whole EFLAGS value, arithmetic flags computed from the lazy state."""
        from .translator.runtime import compute_eflags
        return (self.cpu.eflags | compute_eflags(self.cpu)) & 0xFFFFFFFF

    # --- callbacks from native code -------------------------------------------------------
    def io_read(self, port, size):
        return self.io.read(port, size)

    def io_write(self, port, size, value):
        self.io.write(port, size, value)

    def mmio_read(self, phys, size):
        return self.phys.mmio_read(phys, size)

    def mmio_write(self, phys, size, value):
        self.phys.mmio_write(phys, size, value)

    def code_write(self, phys, size):
        if self.tbs.invalidate_range(phys, size):
            self.cpu.smc_exit = 1

    def _code_written(self, phys, size):
        self.tbs.invalidate_range(phys, size)

    def callback_failed(self, exc):
        if self._callback_error is None:
            self._callback_error = exc
        self.cpu.exit_request = 1

    def request_exit(self, status, message=None):
        """Stop the run loop with this exit status (devices call it)."""
        if self.exit_status is None:
            self.exit_status = status
            self.exit_message = message
        self.cpu.exit_request = 1

    def stop_unimplemented(self):
        from .frontend.disasm import disassemble
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
    def run(self, stop_on_hlt=False, stop_on_exception=False):
        """Run until the guest stops; returns the exit status.

        With stop_on_hlt / stop_on_exception (the snippet runner) a HLT or an
        exception ends the run instead: the exit status is then "hlt" or
        "exception" and the CPU state is left as it is."""
        cpu = self.cpu
        self._stop_on_hlt = stop_on_hlt
        self._stop_on_exception = stop_on_exception
        self._running = True
        try:
            while self.exit_status is None:
                cpu.budget = SLICE
                r = self._dispatch(self.cpu_addr, self.env_addr)
                self.instructions += SLICE - cpu.budget
                cpu.budget = SLICE
                if self._callback_error is not None:
                    err, self._callback_error = self._callback_error, None
                    raise err
                if self.exit_status is not None:
                    break
                self._service(r)
        finally:
            self._running = False
            for b in self.serial_backends:
                b.flush()
        if self.exit_message:
            sys.stderr.write(self.exit_message.rstrip("\n") + "\n")
        return self.exit_status

    def _service(self, r):
        cpu = self.cpu
        if r in (X.EXIT_MISS, X.EXIT_LINK):
            slot = cpu.link_slot
            cpu.link_slot = 0
            try:
                tb = self.translator.lookup()
            except CodeFetchFault:
                if self._stop_on_exception:
                    self.exit_status = "exception"
                else:
                    self.exception()
                return
            if slot and not self.config.nochain:
                self.tbs.link(slot, tb)
        elif r == X.EXIT_REQUEST:
            cpu.exit_request = 0
        elif r == X.EXIT_EXCEPTION:
            if self._stop_on_exception:
                self.exit_status = "exception"
            else:
                self.exception()
        elif r == X.EXIT_HLT:
            if self._stop_on_hlt:
                self.exit_status = "hlt"
            else:
                self.halt()
        elif r == X.EXIT_STOP:
            pass
        else:
            raise RuntimeError("native code returned unknown exit %d" % r)

    def exception(self):
        """Deliver the exception recorded in the CPU state (the IDT arrives in issue [system])."""
        cpu = self.cpu
        vec = cpu.exc_vector
        name = EXCEPTION_NAMES.get(vec, "interrupt %#x" % vec)
        soft = cpu.exc_flags & 1
        what = ("software interrupt INT %#x" % vec) if soft else "exception %s" % name
        detail = ""
        if cpu.exc_flags & 2:
            detail = ", error code %#x" % (cpu.exc_error & 0xFFFFFFFF)
        if vec == 14:
            detail += ", address %#x" % cpu.cr[2]
        self.request_exit(2 if not self.config.no_reboot else 0,
                          "pyemu: guest %s at %04x:%08x%s; no handler can be reached (triple fault), "
                          "stopping" % (what, cpu.seg[CS].selector, cpu.eip, detail))

    def halt(self):
        cpu = self.cpu
        if not cpu.eflags & H.IF:
            self.request_exit(0, "pyemu: the guest halted with interrupts disabled at %04x:%08x; stopping"
                              % (cpu.seg[CS].selector, cpu.eip))
            return
        self.request_exit(0, "pyemu: the guest halted and no device can wake it; stopping")

    def close(self):
        callbacks.unregister_machine(self.cpu_addr)
        for b in self.serial_backends:
            b.close()
