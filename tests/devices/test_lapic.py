"""Local APIC through its MMIO registers (SDM Vol. 3A chapter 10 facts)."""
import pytest

from emu.devices.lapic import ApicBus, LocalApic, timer_divisor


ID, VER, TPR, APR, PPR, EOI, LDR, DFR, SVR = 0x20, 0x30, 0x80, 0x90, 0xA0, 0xB0, 0xD0, 0xE0, 0xF0
ISR, TMR, IRR, ESR, ICR_LO, ICR_HI = 0x100, 0x180, 0x200, 0x280, 0x300, 0x310
LVT_TIMER, LVT_LINT0, LVT_LINT1, LVT_ERROR = 0x320, 0x350, 0x360, 0x370
TIMER_INIT, TIMER_CUR, TIMER_DIV = 0x380, 0x390, 0x3E0


class FakePic:
    def __init__(self, vector=0x30):
        self.vector = vector
        self.acks = 0

    def acknowledge(self):
        self.acks += 1
        return self.vector


class FakeIoApic:
    def __init__(self, bus):
        self.eois = []
        bus.io_apics.append(self)

    def eoi(self, vector):
        self.eois.append(vector)


@pytest.fixture
def apic(machine):
    pic, bus = FakePic(), ApicBus()
    a = new_apic(machine, extint=pic.acknowledge, bus=bus)
    a.reset()
    a.test_pic = pic
    a.test_ioapic = FakeIoApic(bus)
    return a


def new_apic(machine, **wires):
    return LocalApic(machine.ctx, machine.set_intr, machine.nmi, **wires)


def rd(a, reg):
    return a.mmio_read(reg, 4)


def wr(a, reg, v):
    a.mmio_write(reg, 4, v)


def enable(a, spurious=0xFF):
    wr(a, SVR, 0x100 | spurious)


def irr_bit(a, v):
    return bool(rd(a, IRR + 0x10 * (v >> 5)) & (1 << (v & 31)))


def isr_bit(a, v):
    return bool(rd(a, ISR + 0x10 * (v >> 5)) & (1 << (v & 31)))


def test_reset_values(apic):
    assert rd(apic, VER) == 0x00050014        # version 0x14, 6 LVT entries
    assert rd(apic, ID) == 0
    assert rd(apic, SVR) == 0xFF              # software disabled
    assert rd(apic, DFR) == 0xFFFFFFFF
    assert rd(apic, LVT_TIMER) == 0x10000 and rd(apic, LVT_ERROR) == 0x10000
    assert rd(apic, LVT_LINT0) == 0x700 and rd(apic, LVT_LINT1) == 0x400   # virtual wire, by the board
    assert apic.read_base_msr() == 0xFEE00900


def test_software_disable_masks_lvts(apic):
    wr(apic, LVT_TIMER, 0x40)
    assert rd(apic, LVT_TIMER) == 0x10040     # cannot unmask while disabled
    enable(apic)
    wr(apic, LVT_TIMER, 0x40)
    assert rd(apic, LVT_TIMER) == 0x40
    wr(apic, SVR, 0xFF)
    assert rd(apic, LVT_TIMER) & 0x10000 and rd(apic, LVT_LINT0) & 0x10000


def test_priority_and_acknowledge(machine, apic):
    enable(apic)
    apic.accept(0x51)
    apic.accept(0x72)
    assert machine.intr and irr_bit(apic, 0x51) and irr_bit(apic, 0x72)
    assert apic.acknowledge() == 0x72         # highest first
    assert isr_bit(apic, 0x72) and not irr_bit(apic, 0x72)
    assert rd(apic, PPR) == 0x70
    assert not machine.intr                   # 0x51 is below the class in service
    assert apic.acknowledge() is None
    wr(apic, EOI, 0)
    assert not isr_bit(apic, 0x72) and rd(apic, PPR) == 0
    assert machine.intr
    assert apic.acknowledge() == 0x51


def test_tpr_blocks_lower_classes(machine, apic):
    enable(apic)
    wr(apic, TPR, 0x50)
    apic.accept(0x55)                         # same class as TPR: held
    assert not machine.intr and rd(apic, PPR) == 0x50
    apic.accept(0x61)
    assert machine.intr
    assert apic.acknowledge() == 0x61
    wr(apic, EOI, 0)
    wr(apic, TPR, 0x00)
    assert machine.intr and apic.acknowledge() == 0x55


def test_apr(apic):
    enable(apic)
    wr(apic, TPR, 0x35)
    apic.accept(0x40)
    assert rd(apic, APR) == 0x40


def test_level_triggered_eoi_is_broadcast(apic):
    enable(apic)
    apic.accept(0x60, level_triggered=True)
    assert rd(apic, TMR + 0x30) & 1           # TMR bit of vector 0x60
    assert apic.acknowledge() == 0x60
    wr(apic, EOI, 0)
    apic.accept(0x61, level_triggered=False)
    assert apic.acknowledge() == 0x61
    wr(apic, EOI, 0)
    assert apic.test_ioapic.eois == [0x60]


@pytest.mark.parametrize("dcr,div", [(0x0, 2), (0x1, 4), (0x2, 8), (0x3, 16), (0x8, 32), (0x9, 64),
                                     (0xA, 128), (0xB, 1)])
def test_timer_divide_values(dcr, div):
    assert timer_divisor(dcr) == div


def test_timer_one_shot_counts_at_the_divided_rate(machine, apic):
    enable(apic)
    wr(apic, TIMER_DIV, 0x3)                  # divide by 16
    wr(apic, LVT_TIMER, 0x40)
    wr(apic, TIMER_INIT, 1000)
    assert rd(apic, TIMER_CUR) == 1000
    machine.advance(8000)                     # 1 GHz bus / 16: 500 counts
    assert rd(apic, TIMER_CUR) == 500
    assert not irr_bit(apic, 0x40)
    machine.advance(7999)
    assert not irr_bit(apic, 0x40)
    machine.advance(1)
    assert irr_bit(apic, 0x40) and machine.intr
    assert rd(apic, TIMER_CUR) == 0
    machine.advance(100000)
    assert rd(apic, TIMER_CUR) == 0           # one-shot: stays at zero


def test_timer_periodic_reloads(machine, apic):
    enable(apic)
    wr(apic, TIMER_DIV, 0xB)                  # divide by 1
    wr(apic, LVT_TIMER, 0x20000 | 0x41)
    wr(apic, TIMER_INIT, 10000)
    fired = 0
    for _ in range(5):
        machine.advance(10000)
        if irr_bit(apic, 0x41):
            fired += 1
            assert apic.acknowledge() == 0x41
            wr(apic, EOI, 0)
    assert fired == 5
    machine.advance(2500)
    assert rd(apic, TIMER_CUR) == 7500
    wr(apic, TIMER_INIT, 0)                   # stop
    machine.advance(50000)
    assert not irr_bit(apic, 0x41) and rd(apic, TIMER_CUR) == 0


def test_masked_timer_counts_without_interrupting(machine, apic):
    enable(apic)
    wr(apic, TIMER_DIV, 0xB)
    wr(apic, LVT_TIMER, 0x10042)
    wr(apic, TIMER_INIT, 100)
    machine.advance(200)
    assert not irr_bit(apic, 0x42) and rd(apic, TIMER_CUR) == 0


def test_self_ipi_and_illegal_vector_error(machine, apic):
    enable(apic)
    wr(apic, ICR_LO, (1 << 18) | 0x66)        # shorthand self, fixed
    assert irr_bit(apic, 0x66)
    wr(apic, LVT_ERROR, 0xFE)
    wr(apic, ESR, 0)
    wr(apic, ICR_LO, (1 << 18) | 0x03)        # vector below 16
    assert rd(apic, ESR) == 0                 # errors show after the next ESR write
    wr(apic, ESR, 0)
    assert rd(apic, ESR) == 0x20              # send illegal vector
    assert irr_bit(apic, 0xFE)                # the error interrupt
    wr(apic, ESR, 0)
    assert rd(apic, ESR) == 0


def test_ipi_destinations(machine, apic):
    enable(apic)
    wr(apic, LDR, 0x01000000)
    wr(apic, ICR_HI, 0x01000000)
    wr(apic, ICR_LO, (1 << 11) | 0x70)        # logical, flat, dest 1: us
    assert irr_bit(apic, 0x70)
    wr(apic, ICR_HI, 0x02000000)
    wr(apic, ICR_LO, (1 << 11) | 0x71)        # logical dest 2: nobody
    assert not irr_bit(apic, 0x71)
    wr(apic, ICR_HI, 0x00000000)
    wr(apic, ICR_LO, 0x72)                    # physical ID 0: us
    assert irr_bit(apic, 0x72)
    wr(apic, ICR_LO, (3 << 18) | 0x73)        # all excluding self
    assert not irr_bit(apic, 0x73)
    wr(apic, ICR_LO, (2 << 18) | 0x74)        # all including self
    assert irr_bit(apic, 0x74)
    wr(apic, ICR_LO, (1 << 18) | (4 << 8))    # NMI to self
    assert machine.nmis == 1
    assert rd(apic, ICR_LO) & 0x1000 == 0     # delivery status: idle


def test_cluster_logical_destination(apic):
    wr(apic, DFR, 0x0FFFFFFF)
    wr(apic, LDR, 0x21000000)                 # cluster 2, member 1
    assert apic.matches(0x21, True) and apic.matches(0x23, True)
    assert not apic.matches(0x11, True) and not apic.matches(0x22, True)
    assert apic.matches(0xFF, True)


def test_extint_through_lint0(machine, apic):
    enable(apic)
    apic.set_lint0(True)                      # the PIC's INTR
    assert machine.intr
    assert apic.acknowledge() == 0x30 and apic.test_pic.acks == 1
    wr(apic, LVT_LINT0, 0x10700)              # masked ExtINT
    assert not machine.intr


def test_fixed_interrupts_go_before_extint(machine, apic):
    enable(apic)
    apic.set_lint0(True)
    apic.accept(0x90)
    assert apic.acknowledge() == 0x90
    assert apic.acknowledge() == 0x30


def test_pic_goes_straight_through_while_disabled(machine, apic):
    wr(apic, LVT_LINT0, 0x10700)              # (software disabled anyway)
    apic.set_lint0(True)
    assert machine.intr
    assert apic.acknowledge() == 0x30
    apic.set_lint0(False)
    assert not machine.intr


def test_lint1_nmi(machine, apic):
    enable(apic)
    wr(apic, LVT_LINT1, 0x400)
    apic.set_lint1(True)
    assert machine.nmis == 1


def test_apic_base_msr(machine, apic):
    assert not apic.write_base_msr(0xFEE00900 | (1 << 10))    # x2APIC enable: reserved here
    assert not apic.write_base_msr(0xFEE00901)
    enable(apic)
    apic.accept(0x80)
    assert apic.write_base_msr(0xFEE00100)    # global disable (BSP bit is read-only)
    assert apic.read_base_msr() == 0xFEE00100
    assert apic.passthrough()
    assert apic.mmio_read(VER, 4) == 0xFFFFFFFF
    assert apic.write_base_msr(0xFEE00900)    # back on: in its power-up state
    assert rd(apic, SVR) == 0xFF and not irr_bit(apic, 0x80)


def test_byte_access_and_reserved_register(apic):
    assert apic.mmio_read(VER + 2, 1) == 0x05
    assert apic.mmio_read(VER + 4, 4) == 0    # the other 12 bytes of a slot
    enable(apic)
    wr(apic, LVT_ERROR, 0xFD)
    wr(apic, ESR, 0)
    rd(apic, 0x40)                            # a reserved register
    wr(apic, ESR, 0)
    assert rd(apic, ESR) == 0x80


def test_state_round_trip(machine, apic):
    enable(apic)
    wr(apic, TPR, 0x20)
    wr(apic, TIMER_DIV, 0xB)
    wr(apic, LVT_TIMER, 0x45)
    wr(apic, TIMER_INIT, 500)
    d = apic.save_state()
    other = new_apic(machine)
    other.load_state(d)
    assert other.tpr == 0x20 and other.timer_current() == 500
    machine.advance(500)
    assert other.irr >> 0x45 & 1
