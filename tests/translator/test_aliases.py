"""One physical code page mapped at two virtual addresses (as Linux maps its
vDSO page in every process): each mapping runs with its own EIPs, never with
a block translated for the other one."""
import struct

from emu.cpu import hflags as H
from emu.snippet import CODE_ADDR, Snippet

PD, PT_LOW, PT_HIGH = 0x80000, 0x81000, 0x82000
ALIAS = 0x00400000                   # virtual alias of the code page


def _paging_with_alias(s):
    """Identity-map the first 4 MB and map ALIAS -> the page at CODE_ADDR."""
    s.write(PT_LOW, b"".join(struct.pack("<I", (k << 12) | 3) for k in range(1024)))
    s.write(PT_HIGH, struct.pack("<I", CODE_ADDR | 3) + bytes(4092))
    s.write(PD, struct.pack("<II", PT_LOW | 3, PT_HIGH | 3) + bytes(4088))


def _run_at(s, eip):
    m, cpu = s.machine, s.cpu
    m.enter_flat32(eip, regs={"esp": 0x70000})
    cpu.cr[3] = PD
    cpu.cr[0] |= H.CR0_PG
    m.flush_tlb()
    m.write_cr3(PD)
    m.update_hflags()
    m.exit_status = None
    assert m.run(stop_on_hlt=True, stop_on_exception=True) == "hlt", m.exit_message
    return cpu.regs[0] & 0xFFFFFFFF, cpu.eip & 0xFFFFFFFF


def test_the_same_code_at_two_virtual_addresses():
    s = Snippet(bits=32)
    try:
        # call next; next: pop eax; jmp short over; nop; over: hlt
        s.write(CODE_ADDR, bytes.fromhex("e800000000 58 eb01 90 f4"))
        _paging_with_alias(s)
        assert _run_at(s, CODE_ADDR) == (CODE_ADDR + 5, CODE_ADDR + 10)
        assert _run_at(s, ALIAS) == (ALIAS + 5, ALIAS + 10)
        assert _run_at(s, CODE_ADDR) == (CODE_ADDR + 5, CODE_ADDR + 10)
    finally:
        s.close()
