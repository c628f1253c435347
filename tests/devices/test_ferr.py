"""FERR# -> IRQ 13 latch, cleared by a write to port 0xF0 (PC/AT x87 error reporting)."""
from .test_board import init_pic


def test_fpu_error_raises_irq13_until_port_f0_is_written(pc):
    init_pic(pc, base=0x20)
    pc.board.ferr.fpu_error()
    assert pc.irqs.get(13)
    assert pc.board.pic.slave.irr & (1 << 5)
    assert pc.intr and pc.intc.acknowledge() == 0x2D
    pc.board.ferr.fpu_error()                 # still latched: no second edge
    assert pc.irq_log.count((13, True)) == 1
    pc.io.write(0xF0, 1, 0)
    assert pc.irqs.get(13) is False
    pc.io.write(0xF0, 1, 0)                   # nothing latched: no change
    assert pc.irq_log.count((13, False)) == 1
