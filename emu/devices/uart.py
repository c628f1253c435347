"""16550A UART (transmit side): THR output, LSR reports the transmitter empty.

The receive path, FIFOs and interrupts arrive with the PC chipset.
"""
from .base import Device

THR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
LSR_THRE = 0x20
LSR_TEMT = 0x40
LCR_DLAB = 0x80


class Uart16550(Device):
    name = "serial"
    state_fields = ("ier", "lcr", "mcr", "scr", "dll", "dlm")

    def __init__(self, backend, iobase=0x3F8, irq=4):
        self.ports = ((iobase, 8),)
        self.iobase = iobase
        self.backend = backend
        self.ier = self.lcr = self.mcr = self.scr = 0
        self.dll, self.dlm = 12, 0

    def io_read(self, port, size):
        reg = port - self.iobase
        if reg == THR:
            return self.dll if self.lcr & LCR_DLAB else 0
        if reg == IER:
            return self.dlm if self.lcr & LCR_DLAB else self.ier
        if reg == IIR:
            return 0x01          # no interrupt pending
        if reg == LCR:
            return self.lcr
        if reg == MCR:
            return self.mcr
        if reg == LSR:
            return LSR_THRE | LSR_TEMT
        if reg == MSR:
            return 0xB0          # DCD DSR CTS
        return self.scr

    def io_write(self, port, size, value):
        reg = port - self.iobase
        value &= 0xFF
        if reg == THR:
            if self.lcr & LCR_DLAB:
                self.dll = value
            else:
                self.backend.write(bytes([value]))
        elif reg == IER:
            if self.lcr & LCR_DLAB:
                self.dlm = value
            else:
                self.ier = value & 0x0F
        elif reg == LCR:
            self.lcr = value
        elif reg == MCR:
            self.mcr = value & 0x1F
        elif reg == SCR:
            self.scr = value
