"""Every guest access is bounds-checked: outside RAM, reads return all ones and
writes are dropped, as on an unassigned PC bus; host memory is never touched."""
from emu.snippet import Snippet


def test_read_outside_ram_is_all_ones(snippet32):
    # mov eax, [0xF0000000]; mov bx, [0xFFFFFFFE] (wraps at 4 GB); mov cl, [0x7FFFFFFF]
    code = bytes.fromhex("a1000000f0 668b1dfeffffff 8a0dffffff7f")
    r = snippet32.run(code)
    assert r.exception is None
    assert r.regs["eax"] == 0xFFFFFFFF
    assert r.regs["ebx"] & 0xFFFF == 0xFFFF
    assert r.regs["ecx"] & 0xFF == 0xFF


def test_write_outside_ram_is_dropped(snippet32):
    # mov dword [0xE0000000], 0x12345678; mov eax, [0xE0000000]
    code = bytes.fromhex("c705 000000e0 78563412 a1 000000e0")
    r = snippet32.run(code)
    assert r.regs["eax"] == 0xFFFFFFFF


def test_access_straddling_end_of_ram(snippet32):
    end = snippet32.machine.phys.ram_size
    snippet32.write(end - 2, b"\x11\x22")
    # mov eax, [end-2]: two RAM bytes, two unassigned ones
    code = bytes.fromhex("a1") + (end - 2).to_bytes(4, "little")
    r = snippet32.run(code)
    assert r.regs["eax"] == 0xFFFF2211


def test_vga_hole_is_unassigned(snippet32):
    code = bytes.fromhex("c705 00800b00 aabbccdd a1 00800b00")
    r = snippet32.run(code)
    assert r.regs["eax"] == 0xFFFFFFFF
