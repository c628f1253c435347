"""16550A UART (COM1-COM4): FIFOs, divisor latch, interrupts, loopback.

Behaviour from the National Semiconductor PC16550D datasheet:
- Registers (DLAB = LCR bit 7 selects the divisor latch at offsets 0 and 1):
  RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR.
- Interrupt priorities (IIR bits 3:1): receiver line status (OE/PE/FE/BI,
  cleared by reading LSR) > received data available (RX FIFO at its trigger
  level, or any data without FIFOs) and character timeout (FIFO not empty,
  nothing read or received for 4 character times) > THR empty (cleared by
  reading IIR while it is the source, or by writing THR) > modem status
  (delta bits of MSR, cleared by reading MSR).  IIR bits 7:6 are 11 while
  the FIFOs are enabled, which is how a 16550A is told from a 16450.
- THRE interrupt: raised when the transmitter holding register becomes empty
  and also when ETBEI is set while it is already empty; Linux's 8250 driver
  checks the second case (its UART_BUG_THRE test) at every port open.
- Loopback (MCR bit 4): the transmitter feeds the receiver, the modem control
  outputs drive the modem status inputs (RTS->CTS, DTR->DSR, OUT1->RI,
  OUT2->DCD) and the output pins are forced inactive.  On a PC the IRQ line
  is gated by the OUT2 pin, so no IRQ reaches the PIC in loopback.

Transmission is immediate: a byte written to THR goes to the character back
end at once and THR/TSR are empty again (LSR THRE and TEMT stay set, a THRE
interrupt follows every write when enabled).  This keeps a polled Linux
console as fast as the back end and gives the interrupt-driven driver one
THRE interrupt per burst it writes, which is what it expects.

Reception pulls from the back end: `backend.read(n)` (non-blocking) is asked
for at most the room left in the RX FIFO, when the back end signals input
(`backend.set_input_notify`, from any thread, forwarded to the run loop with
the device context's call_soon) and whenever the guest makes room.  Input therefore waits
in the back end rather than overrunning the FIFO.  It is only taken while the
guest has the received-data interrupt enabled (IER bit 0): Linux's driver
clears the FIFOs and reads RBR to discard stale bytes each time the port is
opened, and turns IER bit 0 off to throttle, so input that arrived early
waits for the reader instead of being thrown away.  (A guest that polls must
set IER bit 0; with OUT2 clear that raises no IRQ.)
"""
from collections import deque

from .base import Device

RBR = THR = DLL = 0
IER = DLM = 1
IIR = FCR = 2
LCR, MCR, LSR, MSR, SCR = 3, 4, 5, 6, 7

IER_RDI, IER_THRI, IER_RLSI, IER_MSI = 0x01, 0x02, 0x04, 0x08

IIR_NO_INT = 0x01
IIR_MSI, IIR_THRI, IIR_RDI, IIR_RLSI, IIR_TIMEOUT = 0x00, 0x02, 0x04, 0x06, 0x0C
IIR_FIFOS = 0xC0

FCR_ENABLE, FCR_CLEAR_RX, FCR_CLEAR_TX = 0x01, 0x02, 0x04
TRIGGER_LEVELS = (1, 4, 8, 14)

LCR_DLAB = 0x80
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10

LSR_DR, LSR_OE, LSR_PE, LSR_FE, LSR_BI = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_THRE, LSR_TEMT = 0x20, 0x40
LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI

MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD = 0x01, 0x02, 0x04, 0x08
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
# no modem on the back end: carrier, data set ready and clear to send are on
MSR_LINES_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS

FIFO_SIZE = 16
BASE_BAUD = 115200            # the 1.8432 MHz crystal / 16


class Uart16550(Device):
    name = "serial"
    state_version = 2
    state_fields = ("ier", "lcr", "mcr", "scr", "dll", "dlm", "fifo_enabled", "trigger",
                    "lsr_errors", "msr_deltas", "thre_pending", "timeout_pending", "rx")

    def __init__(self, ctx, backend, iobase=0x3F8, irq=4):
        self.ports = ((iobase, 8),)
        self.iobase = iobase
        self.irq = irq
        self.backend = backend
        self.line = ctx.irq(irq)
        self.timers = ctx.timers
        self.call_soon = ctx.call_soon
        self._timeout_timer = None
        self._irq_level = False
        self._read = getattr(backend, "read", None)
        self.reset()
        notify = getattr(backend, "set_input_notify", None)
        if notify is not None and self._read is not None:
            notify(self._input_arrived)

    def reset(self):
        """Master reset (datasheet Table IV): everything but the divisor and scratch."""
        self.ier = self.lcr = self.mcr = 0
        self.scr = getattr(self, "scr", 0)
        self.dll, self.dlm = getattr(self, "dll", 12), getattr(self, "dlm", 0)
        self.fifo_enabled = False
        self.trigger = 1
        self.lsr_errors = 0
        self.msr_deltas = 0
        self.thre_pending = False
        self.timeout_pending = False
        self.rx = deque()
        self._cancel_timeout()
        self._update_irq()

    # --- derived state ---------------------------------------------------------------------
    @property
    def loopback(self):
        return bool(self.mcr & MCR_LOOP)

    def _modem_lines(self):
        if self.loopback:
            m = self.mcr
            return ((MSR_CTS if m & MCR_RTS else 0) | (MSR_DSR if m & MCR_DTR else 0)
                    | (MSR_RI if m & MCR_OUT1 else 0) | (MSR_DCD if m & MCR_OUT2 else 0))
        return MSR_LINES_CONNECTED

    def _rx_capacity(self):
        return FIFO_SIZE if self.fifo_enabled else 1

    def _interrupt_id(self):
        """The highest-priority pending interrupt's IIR code, or None."""
        ier = self.ier
        if ier & IER_RLSI and self.lsr_errors:
            return IIR_RLSI
        if ier & IER_RDI and self.rx:
            if not self.fifo_enabled or len(self.rx) >= self.trigger:
                return IIR_RDI
            if self.timeout_pending:
                return IIR_TIMEOUT
        if ier & IER_THRI and self.thre_pending:
            return IIR_THRI
        if ier & IER_MSI and self.msr_deltas:
            return IIR_MSI
        return None

    def _update_irq(self):
        # the PC's IRQ driver is enabled by the OUT2 pin, which loopback forces inactive
        level = (self._interrupt_id() is not None and bool(self.mcr & MCR_OUT2) and not self.loopback)
        if level != self._irq_level:
            self._irq_level = level
            self.line.set(level)

    def baud(self):
        divisor = self.dll | (self.dlm << 8)
        return BASE_BAUD / (divisor or 0x10000)

    def char_time_ns(self):
        """One character on the wire: start bit, data bits, parity, stop bits."""
        lcr = self.lcr
        data = 5 + (lcr & 3)
        stop = 1 if not lcr & 0x04 else (1.5 if data == 5 else 2)
        bits = 1 + data + (1 if lcr & 0x08 else 0) + stop
        return int(bits * 1e9 / self.baud())

    # --- receive ----------------------------------------------------------------------------
    def _input_arrived(self):
        """Back-end notification (any thread): pull on the run loop's thread."""
        self.call_soon(self._pull)

    def _pull(self):
        if self._read is None or self.loopback or not self.ier & IER_RDI:
            return              # loopback disconnects the input; without IER bit 0 nobody reads
        room = self._rx_capacity() - len(self.rx)
        if room <= 0:
            return
        data = self._read(room)
        if data:
            for b in data:
                self._receive(b)
            self._update_irq()

    def _receive(self, b):
        if len(self.rx) >= self._rx_capacity():
            # overrun: in FIFO mode the character in the shift register is lost,
            # without FIFOs it replaces the unread one
            self.lsr_errors |= LSR_OE
            if not self.fifo_enabled:
                self.rx[-1] = b
        else:
            self.rx.append(b)
        self._restart_timeout()

    def _cancel_timeout(self):
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
            self._timeout_timer = None

    def _restart_timeout(self):
        """The character timeout counts from the last character received or read."""
        self._cancel_timeout()
        self.timeout_pending = False
        if self.fifo_enabled and self.rx:
            self._timeout_timer = self.timers.after(4 * self.char_time_ns(), self._timeout)

    def _timeout(self):
        self._timeout_timer = None
        if self.rx and self.fifo_enabled:
            self.timeout_pending = True
            self._update_irq()

    # --- transmit ---------------------------------------------------------------------------
    def _transmit(self, b):
        if self.loopback:
            self._receive(b)
        else:
            self.backend.write(bytes([b]))
        self.thre_pending = True          # THR (and the FIFO) are empty again

    # --- ports ------------------------------------------------------------------------------
    def io_read(self, port, size):
        reg = (port - self.iobase) & 7
        if reg == RBR:
            if self.lcr & LCR_DLAB:
                return self.dll
            v = self.rx.popleft() if self.rx else 0
            self._restart_timeout()
            self._pull()
            self._update_irq()
            return v
        if reg == IER:
            return self.dlm if self.lcr & LCR_DLAB else self.ier
        if reg == IIR:
            iid = self._interrupt_id()
            if iid == IIR_THRI:
                self.thre_pending = False
                self._update_irq()
            return (IIR_NO_INT if iid is None else iid) | (IIR_FIFOS if self.fifo_enabled else 0)
        if reg == LCR:
            return self.lcr
        if reg == MCR:
            return self.mcr
        if reg == LSR:
            v = LSR_THRE | LSR_TEMT | self.lsr_errors | (LSR_DR if self.rx else 0)
            if self.lsr_errors:
                self.lsr_errors = 0
                self._update_irq()
            return v
        if reg == MSR:
            v = self._modem_lines() | self.msr_deltas
            if self.msr_deltas:
                self.msr_deltas = 0
                self._update_irq()
            return v
        return self.scr

    def io_write(self, port, size, value):
        reg = (port - self.iobase) & 7
        value &= 0xFF
        if reg == THR:
            if self.lcr & LCR_DLAB:
                self.dll = value
            else:
                self._transmit(value)
        elif reg == IER:
            if self.lcr & LCR_DLAB:
                self.dlm = value
            else:
                old, self.ier = self.ier, value & 0x0F
                if self.ier & IER_THRI and not old & IER_THRI:
                    self.thre_pending = True      # THR is always empty here
                if self.ier & IER_RDI and not old & IER_RDI:
                    self._pull()
        elif reg == FCR:
            self._write_fcr(value)
        elif reg == LCR:
            self.lcr = value
        elif reg == MCR:
            self._write_mcr(value & 0x1F)
        elif reg == SCR:
            self.scr = value
        # LSR and MSR are read-only (factory test writes are ignored)
        self._update_irq()

    def _write_fcr(self, value):
        enable = bool(value & FCR_ENABLE)
        if enable != self.fifo_enabled:
            self.rx.clear()                       # changing FCR0 clears both FIFOs
            self.fifo_enabled = enable
        if enable:
            if value & FCR_CLEAR_RX:
                self.rx.clear()
            if value & FCR_CLEAR_TX:
                self.thre_pending = True
            self.trigger = TRIGGER_LEVELS[value >> 6]
        self._restart_timeout()
        self._pull()

    def _write_mcr(self, value):
        old_lines = self._modem_lines()
        was_loop = self.loopback
        self.mcr = value
        new_lines = self._modem_lines()
        changed = old_lines ^ new_lines
        if changed & MSR_CTS:
            self.msr_deltas |= MSR_DCTS
        if changed & MSR_DSR:
            self.msr_deltas |= MSR_DDSR
        if changed & MSR_DCD:
            self.msr_deltas |= MSR_DDCD
        if old_lines & MSR_RI and not new_lines & MSR_RI:
            self.msr_deltas |= MSR_TERI           # trailing edge of ring indicator
        if was_loop and not self.loopback:
            self._pull()

    # --- state ------------------------------------------------------------------------------
    def save_state(self):
        d = super().save_state()
        d["rx"] = list(self.rx)
        return d

    def load_state(self, d):
        super().load_state(d)
        self.rx = deque(self.rx)
        if not self.timeout_pending:
            self._restart_timeout()
        self._irq_level = None
        self._update_irq()

    def migrate_state(self, d):
        if d.get("version", 1) < 2:       # version 1 was the transmit-only UART
            d.setdefault("rx", [])
        return d
