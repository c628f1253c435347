"""Randomized paging stress test.

A generated guest program runs with paging on and does random reads and
writes through several address spaces with random page tables, rewrites
page-table entries (of the current address space, followed by INVLPG as the
architecture requires, and of inactive ones, with no flush: the ASID-tagged
TLB and shadow page table must notice by themselves), switches CR3 and
reloads it, and toggles CR0.WP (supervisor writes to read-only pages are
allowed while it is clear).  A #PF handler logs CR2 and the error code and
skips the access.

Every access is checked against a straightforward Python page walk over a
model of the same memory: values read, faults (address and error code), and
at the end every page-table entry and every test-region page-directory
entry, including their accessed and dirty bits.
"""
import random
import struct

import pytest

from emu.cpu import hflags as H

N_SPACES = 4
VBASE = 0x40000000                # the test region: 2 page tables' worth of pages
N_VPAGES = 2048
FRAME_POOL = 0x00300000           # 64 data frames
N_FRAMES = 64
PD_BASE = 0x00100000              # page directories, then page tables
GDT, IDT, HANDLER = 0x1000, 0x2000, 0x3000
FAULT_PTR, FAULT_LOG = 0x8000, 0x8004
LOG = 0x20000
STACK_TOP = 0x9F000
ID_PT = 0x000FF000                # identity map of the low 4 MB, shared by every space

P, W, A, D = 1, 2, 0x20, 0x40
FAULT_MARK = 0xFA000000


def pd_addr(space):
    return PD_BASE + space * 0x3000


def pt_addr(space, k):
    return pd_addr(space) + 0x1000 * (k + 1)


class Model:
    """The reference: page tables and frame contents as plain Python data."""

    def __init__(self, rng):
        self.rng = rng
        self.wp = True
        self.frames = {FRAME_POOL + 0x1000 * i: bytearray(rng.randbytes(4096)) for i in range(N_FRAMES)}
        self.pte = {}      # (space, vpage) -> PTE value
        self.pde_a = {}    # (space, k) -> accessed bit of the test-region PDE
        for s in range(N_SPACES):
            for v in range(N_VPAGES):
                self.pte[(s, v)] = self.random_pte()
            for k in range(2):
                self.pde_a[(s, k)] = 0

    def random_pte(self):
        frame = FRAME_POOL + 0x1000 * self.rng.randrange(N_FRAMES)
        flags = self.rng.choice((P | W, P | W, P | W, P, 0))
        return frame | flags

    def access(self, space, vaddr, write, value=None):
        """A supervisor access (SDM Vol. 3A 4.6: read-only pages are writable at
        CPL 0 while CR0.WP = 0): (value or None, fault error code or None)."""
        v = (vaddr - VBASE) >> 12
        pte = self.pte[(space, v)]
        if not pte & P:
            return None, 2 if write else 0
        if write and not pte & W and self.wp:
            return None, 3
        self.pde_a[(space, v >> 10)] = A
        self.pte[(space, v)] = pte | A | (D if write else 0)
        frame = self.frames[pte & 0xFFFFF000]
        off = vaddr & 0xFFF
        if write:
            frame[off:off + 4] = struct.pack("<I", value)
            return None, None
        return struct.unpack("<I", frame[off:off + 4])[0], None


def _idt_gate(handler):
    return struct.pack("<HHBBH", handler & 0xFFFF, 0x08, 0, 0x8E, handler >> 16)


# hand-assembled so the test needs no assembler
PF_HANDLER = b"".join(bytes.fromhex(h) for h, _ in (
    ("59", "pop ecx                  ; the error code"),
    ("0f20d0", "mov eax, cr2"),
    ("8b1500800000", "mov edx, [FAULT_PTR]"),
    ("8902", "mov [edx], eax"),
    ("83050080000004", "add dword [FAULT_PTR], 4"),
    ("89c8", "mov eax, ecx"),
    ("0d000000fa", "or eax, FAULT_MARK     ; what the access logs"),
    ("8b1424", "mov edx, [esp]           ; the faulting EIP"),
    ("803ac7", "cmp byte [edx], 0xc7     ; a 10-byte mov [m32], imm32?"),
    ("7505", "jne +5"),
    ("8304240a", "add dword [esp], 10"),
    ("cf", "iret"),
    ("83042405", "add dword [esp], 5     ; a 5-byte mov to/from moffs"),
    ("cf", "iret"),
))


def build(seed, n_ops=400):
    rng = random.Random(seed)
    model = Model(rng)
    # the frames' contents before the program runs (model.access changes model.frames)
    initial_frames = {base: bytes(frame) for base, frame in model.frames.items()}
    mem = {}

    def w32(addr, value):
        mem[addr] = struct.pack("<I", value & 0xFFFFFFFF)

    # page tables
    for s in range(N_SPACES):
        pd = pd_addr(s)
        w32(pd + 0, ID_PT | P | W | A)
        for k in range(2):
            w32(pd + 4 * ((VBASE >> 22) + k), pt_addr(s, k) | P | W)
            for i in range(1024):
                w32(pt_addr(s, k) + 4 * i, model.pte[(s, k * 1024 + i)])
    for i in range(1024):
        w32(ID_PT + 4 * i, (i << 12) | P | W | A | D)
    code = bytearray()

    def emit(b):
        code.extend(b)

    space = 0
    emit(b"\xb8" + struct.pack("<I", pd_addr(0)) + b"\x0f\x22\xd8")          # mov eax, pd; mov cr3, eax
    emit(bytes.fromhex("0f20c0 0d01000180 0f22c0"))                        # cr0 |= PG | WP
    expected_log = []
    expected_faults = []
    slot = 0
    for _ in range(n_ops):
        op = rng.random()
        vaddr = VBASE + 0x1000 * rng.randrange(N_VPAGES) + 4 * rng.randrange(1024)
        if op < 0.45:                                           # read
            emit(b"\xb8" + struct.pack("<I", 0x11111111))        # mov eax, sentinel
            emit(b"\xa1" + struct.pack("<I", vaddr))             # mov eax, [vaddr]
            val, fault = model.access(space, vaddr, False)
            emit(b"\xa3" + struct.pack("<I", LOG + 4 * slot))    # mov [log], eax
            expected_log.append(val if fault is None else FAULT_MARK | fault)
            if fault is not None:
                expected_faults.append(vaddr)
            slot += 1
        elif op < 0.7:                                          # write
            value = rng.getrandbits(32)
            emit(b"\xb8" + struct.pack("<I", 0))
            emit(b"\xc7\x05" + struct.pack("<II", vaddr, value))
            _, fault = model.access(space, vaddr, True, value)
            emit(b"\xa3" + struct.pack("<I", LOG + 4 * slot))
            expected_log.append(0 if fault is None else FAULT_MARK | fault)
            if fault is not None:
                expected_faults.append(vaddr)
            slot += 1
        elif op < 0.88:                                         # rewrite a PTE
            target = rng.randrange(N_SPACES) if rng.random() < 0.6 else space
            v = (vaddr - VBASE) >> 12
            new = model.random_pte()
            model.pte[(target, v)] = new
            pte_phys = pt_addr(target, v >> 10) + 4 * (v & 1023)
            emit(b"\xc7\x05" + struct.pack("<II", pte_phys, new))
            if target == space:
                emit(b"\x0f\x01\x3d" + struct.pack("<I", vaddr))  # invlpg [vaddr]
        elif op < 0.95:                                         # switch address space
            space = rng.randrange(N_SPACES)
            emit(b"\xb8" + struct.pack("<I", pd_addr(space)) + b"\x0f\x22\xd8")
        elif op < 0.975:                                        # toggle CR0.WP
            model.wp = not model.wp
            emit(bytes.fromhex("0f20c0 3500000100 0f22c0"))     # mov eax, cr0; xor eax, WP; mov cr0, eax
        else:                                                   # reload the same CR3
            emit(b"\x0f\x20\xd8\x0f\x22\xd8")
    return bytes(code), mem, model, initial_frames, expected_log, expected_faults


@pytest.mark.parametrize("seed", range(6))
def test_random_paging(snippet32, seed):
    code, mem, model, initial_frames, expected_log, expected_faults = build(seed)
    s = snippet32
    m = s.machine
    for addr, data in mem.items():
        s.write(addr, data)
    for base, frame in initial_frames.items():
        s.write(base, frame)
    s.write(GDT, struct.pack("<QQQ", 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF))
    s.write(IDT + 14 * 8, _idt_gate(HANDLER))
    s.write(HANDLER, PF_HANDLER)
    s.write(FAULT_PTR, struct.pack("<I", FAULT_LOG))
    m.cpu.gdtr.base, m.cpu.gdtr.limit = GDT, 23
    m.cpu.idtr.base, m.cpu.idtr.limit = IDT, 0x7FF
    r = s.run(code, regs={"esp": STACK_TOP}, deliver_exceptions=True)
    assert r.exception is None, "unexpected exception %s at %#x" % (r.exception, r.eip)
    got_log = list(struct.unpack("<%dI" % len(expected_log), s.read(LOG, 4 * len(expected_log))))
    for i, (got, want) in enumerate(zip(got_log, expected_log)):
        assert got == want, "access %d: got %#x, expected %#x" % (i, got, want)
    n = (struct.unpack("<I", s.read(FAULT_PTR, 4))[0] - FAULT_LOG) // 4
    got_faults = list(struct.unpack("<%dI" % n, s.read(FAULT_LOG, 4 * n)))
    assert got_faults == expected_faults
    for (space, v), pte in model.pte.items():
        addr = pt_addr(space, v >> 10) + 4 * (v & 1023)
        got = struct.unpack("<I", s.read(addr, 4))[0]
        assert got == pte, "PTE of space %d page %d: got %#x, expected %#x" % (space, v, got, pte)
    for (space, k), accessed in model.pde_a.items():
        got = struct.unpack("<I", s.read(pd_addr(space) + 4 * ((VBASE >> 22) + k), 4))[0]
        want = pt_addr(space, k) | P | W | accessed
        assert got == want, "PDE %d of space %d: got %#x, expected %#x" % (k, space, got, want)
    for base, frame in model.frames.items():
        got = s.read(base, 4096)
        assert got == bytes(frame), "frame %#x: the first differing byte is at %#x" % (
            base, next(i for i in range(4096) if got[i] != frame[i]))
    # leave the shared machine with paging off for the other tests
    m.cpu.cr[0] &= ~H.CR0_PG
    m.flush_tlb()
