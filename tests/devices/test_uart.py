"""16550A UART at the port level (PC16550D datasheet facts, and the probes
Linux's 8250 driver makes)."""
import pytest

from emu.devices.uart import Uart16550

from .conftest import plug

BASE = 0x3F8
RBR = THR = DLL = BASE
IER = DLM = BASE + 1
IIR = FCR = BASE + 2
LCR, MCR, LSR, MSR, SCR = BASE + 3, BASE + 4, BASE + 5, BASE + 6, BASE + 7


class Backend:
    """A character back end with the input interface of emu/devices/chardev."""

    def __init__(self):
        self.out = bytearray()
        self.pending = bytearray()
        self.notify = None
        self.asked = []              # n of every read(n)

    def write(self, data):
        self.out += data

    def read(self, n):
        self.asked.append(n)
        data, self.pending = bytes(self.pending[:n]), self.pending[n:]
        return data

    def set_input_notify(self, cb):
        self.notify = cb

    def type(self, data):
        self.pending += data
        if self.notify:
            self.notify()

    def flush(self):
        pass


@pytest.fixture
def uart(machine):
    be = Backend()
    u = plug(machine, Uart16550(machine.ctx, be, iobase=BASE, irq=4))
    u.test_backend = be
    return u


def rd(m, port):
    return m.io.read(port, 1)


def wr(m, port, v):
    m.io.write(port, 1, v)


def test_scratch_and_ier_bits(machine, uart):
    wr(machine, SCR, 0x5A)
    assert rd(machine, SCR) == 0x5A
    wr(machine, IER, 0xFF)
    assert rd(machine, IER) == 0x0F           # bits 7:4 are always 0 on a 16550A


def test_divisor_latch_is_separate_from_rbr_and_ier(machine, uart):
    wr(machine, IER, 0x05)
    wr(machine, LCR, 0x83)                    # DLAB, 8N1
    wr(machine, DLL, 0x01)
    wr(machine, DLM, 0x02)
    assert (rd(machine, DLL), rd(machine, DLM)) == (0x01, 0x02)
    wr(machine, LCR, 0x03)
    assert rd(machine, IER) == 0x05
    assert uart.baud() == 115200 / 0x201


def test_transmit_goes_to_backend_and_lsr_stays_empty(machine, uart):
    for b in b"hi\n":
        wr(machine, THR, b)
    assert bytes(uart.test_backend.out) == b"hi\n"
    assert rd(machine, LSR) & 0x60 == 0x60    # THRE and TEMT


def test_loopback_echoes_and_keeps_the_line_quiet(machine, uart):
    wr(machine, MCR, 0x10)
    wr(machine, THR, 0x41)
    assert rd(machine, LSR) & 0x01
    assert rd(machine, RBR) == 0x41
    assert not rd(machine, LSR) & 0x01
    assert uart.test_backend.out == b""       # nothing left on the wire in loopback


def test_loopback_modem_lines_as_linux_autoconfig_checks(machine, uart):
    wr(machine, MCR, 0x10 | 0x0A)             # LOOP, RTS, OUT2
    assert rd(machine, MSR) & 0xF0 == 0x90    # CTS (from RTS) and DCD (from OUT2)
    wr(machine, MCR, 0x10 | 0x05)             # LOOP, DTR, OUT1
    v = rd(machine, MSR)
    assert v & 0xF0 == 0x60                   # DSR, RI
    assert v & 0x0F == 0x0B                   # DCTS, DDSR, DDCD changed
    assert rd(machine, MSR) & 0x0F == 0       # reading MSR clears the deltas
    wr(machine, MCR, 0x10)                    # RI goes away: trailing edge
    assert rd(machine, MSR) & 0x04


def test_iir_reports_fifos(machine, uart):
    assert rd(machine, IIR) == 0x01
    wr(machine, FCR, 0x01)
    assert rd(machine, IIR) == 0xC1
    wr(machine, FCR, 0x00)
    assert rd(machine, IIR) == 0x01


def test_thre_interrupt_on_enabling_etbei(machine, uart):
    """The UART_BUG_THRE test of Linux's serial8250_do_startup."""
    wr(machine, IER, 0x02)
    iir1 = rd(machine, IIR)
    wr(machine, IER, 0x00)
    wr(machine, IER, 0x02)
    iir = rd(machine, IIR)
    wr(machine, IER, 0x00)
    assert iir1 & 0x0F == 0x02 and iir & 0x0F == 0x02
    assert rd(machine, IIR) & 0x01            # reading IIR cleared it


def test_thre_interrupt_after_each_write(machine, uart):
    wr(machine, IER, 0x02)
    assert rd(machine, IIR) == 0x02
    assert rd(machine, IIR) == 0x01
    wr(machine, THR, 0x20)
    assert rd(machine, IIR) == 0x02


def test_priorities_line_status_then_data_then_thre(machine, uart):
    wr(machine, FCR, 0x07)                    # FIFO on, trigger 1
    wr(machine, MCR, 0x10)
    for k in range(17):                       # one more than the FIFO holds: overrun
        wr(machine, THR, k)
    wr(machine, IER, 0x07)
    assert rd(machine, IIR) == 0xC6           # receiver line status first
    lsr = rd(machine, LSR)
    assert lsr & 0x02 and lsr & 0x01          # OE and DR
    assert not rd(machine, LSR) & 0x02        # OE cleared by the read
    assert rd(machine, IIR) == 0xC4           # then received data
    got = [rd(machine, RBR) for _ in range(16)]
    assert got == list(range(16))             # the 17th byte was the one lost
    assert rd(machine, IIR) == 0xC2           # then THR empty


@pytest.mark.parametrize("fcr,level", [(0x01, 1), (0x41, 4), (0x81, 8), (0xC1, 14)])
def test_fifo_trigger_levels(machine, uart, fcr, level):
    wr(machine, FCR, fcr | 0x06)
    wr(machine, MCR, 0x10)
    wr(machine, IER, 0x01)
    for k in range(level - 1):
        wr(machine, THR, k)
    assert rd(machine, IIR) == 0xC1
    wr(machine, THR, 0xFF)
    assert rd(machine, IIR) == 0xC4


def test_character_timeout(machine, uart):
    wr(machine, LCR, 0x83)
    wr(machine, DLL, 1)                       # 115200 baud
    wr(machine, DLM, 0)
    wr(machine, LCR, 0x03)                    # 8N1: 10 bits a character
    wr(machine, FCR, 0x41)                    # trigger 4
    wr(machine, MCR, 0x10)
    wr(machine, IER, 0x01)
    for b in b"ab":
        wr(machine, THR, b)
    four_chars = 4 * 10 * 1e9 / 115200
    machine.advance(int(four_chars * 0.9))
    assert rd(machine, IIR) == 0xC1
    machine.advance(int(four_chars * 0.2))
    assert rd(machine, IIR) == 0xCC           # character timeout
    assert rd(machine, RBR) == ord("a")       # a read clears it and restarts the count
    assert rd(machine, IIR) == 0xC1
    machine.advance(int(four_chars * 1.1))
    assert rd(machine, IIR) == 0xCC


def test_irq_line_is_gated_by_out2(machine, uart):
    wr(machine, IER, 0x02)
    assert not machine.irqs.get(4)
    wr(machine, MCR, 0x08)                    # OUT2: the PC's IRQ enable
    assert machine.irqs[4] is True
    rd(machine, IIR)                          # THRE acknowledged
    assert machine.irqs[4] is False
    wr(machine, THR, 0x30)
    assert machine.irqs[4] is True
    wr(machine, MCR, 0x18)                    # loopback forces OUT2 inactive
    assert machine.irqs[4] is False


def test_input_waits_until_the_guest_enables_receive_interrupts(machine, uart):
    be = uart.test_backend
    be.type(b"early")
    machine.advance(0)
    wr(machine, FCR, 0x07)                    # what Linux does at every open: clear,
    rd(machine, LSR)                          # then read LSR and RBR to discard
    rd(machine, RBR)
    assert not rd(machine, LSR) & 0x01 and be.asked == []
    wr(machine, IER, 0x01)
    got = bytearray()
    while rd(machine, LSR) & 0x01:
        got.append(rd(machine, RBR))
    assert bytes(got) == b"early"             # nothing was lost


def test_receive_pulls_only_what_fits(machine, uart):
    be = uart.test_backend
    data = bytes(range(40))
    wr(machine, IER, 0x01)
    be.type(data)
    machine.advance(0)
    assert be.asked and max(be.asked) <= 1    # FIFOs off: one byte of room
    rd(machine, RBR)
    wr(machine, FCR, 0x01)                    # enabling the FIFOs clears them (FCR0 changed)
    data = data[2:]
    got = bytearray()
    while rd(machine, LSR) & 0x01:
        got.append(rd(machine, RBR))
    assert bytes(got) == data
    assert max(be.asked) <= 16
    assert not rd(machine, LSR) & 0x02        # never an overrun


def test_received_data_interrupt_from_backend(machine, uart):
    wr(machine, FCR, 0x01)
    wr(machine, IER, 0x01)
    wr(machine, MCR, 0x08)
    uart.test_backend.type(b"x")
    assert not machine.irqs.get(4)            # input is taken on the run loop's turn
    machine.advance(0)
    assert machine.irqs[4] is True and rd(machine, IIR) == 0xC4
    assert rd(machine, RBR) == ord("x")
    assert machine.irqs[4] is False


def test_backend_without_input_interface(machine):
    class OutputOnly:
        def __init__(self):
            self.out = b""

        def write(self, data):
            self.out += data

    be = OutputOnly()
    plug(machine, Uart16550(machine.ctx, be, iobase=BASE))
    wr(machine, THR, 0x31)
    assert be.out == b"1" and not rd(machine, LSR) & 0x01


def test_linux_8250_autoconfig_finds_a_16550a(machine, uart):
    """The decisions of Linux's autoconfig() / autoconfig_16550a(), step by step."""
    m = machine
    scratch = rd(m, IER)
    wr(m, IER, 0)
    scratch2 = rd(m, IER) & 0x0F
    wr(m, IER, 0x0F)
    scratch3 = rd(m, IER) & 0x0F
    wr(m, IER, scratch)
    assert scratch2 == 0 and scratch3 == 0x0F          # "there is something here"
    save_mcr = rd(m, MCR)
    wr(m, MCR, 0x10 | 0x0A)
    status1 = rd(m, MSR) & 0xF0
    wr(m, MCR, save_mcr)
    assert status1 == 0x90                             # the loopback test passes
    wr(m, LCR, 0xBF)
    wr(m, 2, 0)                                        # EFR (absent) on a 16650
    wr(m, LCR, 0)
    wr(m, FCR, 0x01)
    assert rd(m, IIR) >> 6 == 3                        # FIFOs: a 16550A candidate
    wr(m, LCR, 0xBF)
    assert rd(m, IIR) != 0                             # no EFR: not a 16650
    wr(m, LCR, 0x80)
    assert rd(m, IIR) != 0                             # not a 16C950/16850 either
    wr(m, LCR, 0)
    status1 = rd(m, MCR)
    wr(m, LCR, 0xE0)
    status2 = rd(m, IIR)                               # EXCR1 on an NS16550A
    assert not (status2 ^ status1) & 0x10
    wr(m, LCR, 0)
    wr(m, MCR, status1 ^ 0x10)
    wr(m, LCR, 0xE0)
    status2 = rd(m, IIR)
    wr(m, LCR, 0)
    wr(m, MCR, status1)
    assert not (status2 ^ status1) & 0x10              # no EXCR1 following MCR: not an NS16550A
    wr(m, IER, 0x40)                                   # UART_IER_UUE (XScale)
    assert rd(m, IER) & 0x40 == 0                      # not an XScale: a plain 16550A


def test_state_round_trip(machine, uart):
    wr(machine, FCR, 0x81)
    wr(machine, MCR, 0x10)
    wr(machine, THR, 7)
    wr(machine, SCR, 9)
    d = uart.save_state()
    assert d["version"] == 2 and d["rx"] == [7] and d["scr"] == 9
    fresh = machine.__class__()
    other = plug(fresh, Uart16550(fresh.ctx, Backend(), iobase=BASE))
    other.load_state(d)
    assert other.rx[0] == 7 and other.trigger == 8 and other.fifo_enabled
