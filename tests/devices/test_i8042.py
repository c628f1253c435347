"""i8042 keyboard controller at the port level, and the probes Linux's i8042,
atkbd and psmouse drivers make."""
import pytest

from emu.devices.i8042 import I8042

from .conftest import plug


@pytest.fixture
def kbc(machine):
    return plug(machine, I8042(machine.ctx, machine.set_a20, machine.request_reset))


def status(m):
    return m.io.read(0x64, 1)


def cmd(m, c, data=None):
    m.io.write(0x64, 1, c)
    if data is not None:
        m.io.write(0x60, 1, data)


def send(m, b):
    m.io.write(0x60, 1, b)


def drain(m):
    out = []
    while status(m) & 1:
        out.append(m.io.read(0x60, 1))
    return out


def test_self_test_and_interface_tests(machine, kbc):
    cmd(machine, 0xAA)
    assert status(machine) & 0x01 and status(machine) & 0x04   # OBF, system flag
    assert drain(machine) == [0x55]
    cmd(machine, 0xAB)
    assert drain(machine) == [0x00]
    cmd(machine, 0xA9)
    assert drain(machine) == [0x00]
    assert not status(machine) & 0x01


def test_status_a2_bit_tracks_command_or_data(machine, kbc):
    cmd(machine, 0x20)
    assert status(machine) & 0x08
    drain(machine)
    send(machine, 0xF4)
    assert not status(machine) & 0x08


def test_command_byte_read_write(machine, kbc):
    cmd(machine, 0x60, 0x65)
    cmd(machine, 0x20)
    assert drain(machine) == [0x65]
    cmd(machine, 0x60, 0x47)
    cmd(machine, 0x20)
    assert drain(machine) == [0x47]


def test_disable_enable_ports_show_in_the_command_byte(machine, kbc):
    """Linux's i8042_check_aux bit assignment test and kbd port handling."""
    cmd(machine, 0x60, 0x00)
    cmd(machine, 0xA7)
    cmd(machine, 0xAD)
    cmd(machine, 0x20)
    assert drain(machine) == [0x30]
    cmd(machine, 0xA8)
    cmd(machine, 0x20)
    assert drain(machine) == [0x10]
    cmd(machine, 0xAE)
    cmd(machine, 0x20)
    assert drain(machine) == [0x00]


def test_output_buffer_raises_irq1_when_enabled(machine, kbc):
    cmd(machine, 0x60, 0x00)                 # interrupts off
    send(machine, 0xF2)
    assert not machine.irqs.get(1)
    drain(machine)
    cmd(machine, 0x60, 0x01)
    send(machine, 0xEE)                       # echo
    assert machine.irqs[1] is True and not machine.irqs.get(12)
    assert machine.io.read(0x60, 1) == 0xEE
    assert machine.irqs[1] is False


def test_aux_loopback_raises_irq12(machine, kbc):
    """Linux's AUX IRQ test: 0xD3 with interrupts on must give IRQ 12 and the byte back."""
    cmd(machine, 0x60, 0x02)
    cmd(machine, 0xD3, 0xA5)
    st = status(machine)
    assert st & 0x21 == 0x21                  # OBF from the AUX device
    assert machine.irqs[12] is True and not machine.irqs.get(1)
    assert machine.io.read(0x60, 1) == 0xA5
    assert machine.irqs[12] is False


def test_each_queued_byte_is_a_new_edge(machine, kbc):
    cmd(machine, 0x60, 0x01)
    send(machine, 0xFF)                       # keyboard reset: two bytes
    assert drain(machine) == [0xFA, 0xAA]
    assert machine.rising_edges(1) == 2


def test_a20_through_the_output_port(machine, kbc):
    cmd(machine, 0xD0)
    assert drain(machine)[0] & 0x03 == 0x03   # reset line high, A20 on
    cmd(machine, 0xD1, 0x01)
    assert machine.a20 is False
    cmd(machine, 0xD0)
    assert drain(machine)[0] & 0x02 == 0
    cmd(machine, 0xD1, 0x03)
    assert machine.a20 is True
    cmd(machine, 0xDD)
    assert machine.a20 is False
    cmd(machine, 0xDF)
    assert machine.a20 is True
    assert machine.resets == 0


def test_pulse_reset_line(machine, kbc):
    cmd(machine, 0xFF)                        # pulses nothing
    assert machine.resets == 0
    cmd(machine, 0xFE)
    assert machine.resets == 1
    cmd(machine, 0xD1, 0x02)                  # output port bit 0 low: reset
    assert machine.resets == 2


def test_keyboard_commands(machine, kbc):
    send(machine, 0xFF)
    assert drain(machine) == [0xFA, 0xAA]
    send(machine, 0xF2)
    assert drain(machine) == [0xFA, 0xAB, 0x41]   # translated (command byte bit 6)
    cmd(machine, 0x60, 0x01)
    send(machine, 0xF2)
    assert drain(machine) == [0xFA, 0xAB, 0x83]
    send(machine, 0xF0)
    send(machine, 0x00)
    assert drain(machine) == [0xFA, 0xFA, 0x02]
    send(machine, 0xED)
    send(machine, 0x07)
    assert drain(machine) == [0xFA, 0xFA] and kbc.keyboard.leds == 7
    for c in (0xF5, 0xF4, 0xF6):
        send(machine, c)
        assert drain(machine) == [0xFA]
    send(machine, 0x01)
    assert drain(machine) == [0xFE]           # not a command: resend


def test_mouse_through_d4(machine, kbc):
    def mouse(b):
        cmd(machine, 0xD4, b)
        out = []
        while status(machine) & 1:
            assert status(machine) & 0x20
            out.append(machine.io.read(0x60, 1))
        return out

    assert mouse(0xFF) == [0xFA, 0xAA, 0x00]
    assert mouse(0xF2) == [0xFA, 0x00]        # a plain PS/2 mouse
    # the IntelliMouse knock leaves it a plain mouse
    for rate in (200, 100, 80):
        assert mouse(0xF3) == [0xFA] and mouse(rate) == [0xFA]
    assert mouse(0xF2) == [0xFA, 0x00]
    assert mouse(0xE8) == [0xFA] and mouse(0x03) == [0xFA]
    assert mouse(0xE9) == [0xFA, 0x00, 0x03, 80]
    assert mouse(0xF4) == [0xFA]
    assert mouse(0xE9)[1] & 0x20              # reporting enabled
    assert mouse(0x42) == [0xFE]


def test_linux_i8042_probe(machine, kbc):
    """The order of i8042_controller_check / selftest / init / check_aux."""
    m = machine
    assert len(drain(m)) < 16                 # i8042_flush
    cmd(m, 0xAA)
    assert drain(m) == [0x55]
    ctr = []
    for _ in range(2):
        cmd(m, 0x20)
        ctr += drain(m)
    assert ctr[0] == ctr[1]
    new = (ctr[0] | 0x30) & ~0x03             # disable both ports and their IRQs
    cmd(m, 0x60, new)
    cmd(m, 0x20)
    assert drain(m) == [new]
    cmd(m, 0xD3, 0x5A)                       # AUX loopback
    assert drain(m) == [0x5A]
    cmd(m, 0x60, new | 0x02)                  # AUX IRQ test
    cmd(m, 0xD3, 0xA5)
    assert m.irqs[12] is True
    drain(m)


def test_state_round_trip(machine, kbc):
    cmd(machine, 0x60, 0x61)
    send(machine, 0xED)
    d = kbc.save_state()
    fresh = machine.__class__()
    other = plug(fresh, I8042(fresh.ctx, lambda on: None, lambda: None))
    other.load_state(d)
    assert other.ccb == 0x61 and other.keyboard.pending == 0xED and other.queue or other.obf
