"""Port 0x80: writes are taken and kept, reads float high like an ISA bus."""
from emu.devices.port80 import Port80

from .conftest import plug


def test_port80(machine):
    p = plug(machine, Port80())
    assert machine.io.read(0x80, 1) == 0xFF
    machine.io.write(0x80, 1, 0x55)
    assert p.last_code == 0x55 and machine.io.read(0x80, 1) == 0xFF
    assert machine.io.read(0x80, 2) == 0xFFFF
    assert p.save_state() == {"version": 1, "last_code": 0x55}
