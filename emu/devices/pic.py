"""Intel 8259A programmable interrupt controllers: the master/slave pair of a PC,
plus the ELCR edge/level registers (ports 0x4D0/0x4D1) of the PIIX.

Behaviour from the 8259A datasheet: ICW1-ICW4 initialisation, OCW1 mask,
OCW2 EOI / specific EOI / rotation, OCW3 IRR/ISR read, poll mode and special
mask mode, automatic EOI, special fully nested mode, spurious IRQ 7 (and 15),
edge or level triggering per ELCR.
"""
from .base import Device


class Pic8259:
    """One 8259A."""

    FIELDS = ("irr", "isr", "imr", "last_level", "base", "init_step", "needs_icw4", "single",
              "auto_eoi", "rotate_on_aeoi", "priority_add", "read_isr", "poll", "special_mask",
              "sfnm", "elcr", "elcr_mask")

    def __init__(self, master):
        self.master = master
        self.elcr = 0
        self.elcr_mask = 0xF8 if master else 0xDE   # IRQ 0, 1, 2, 8, 13 are always edge
        self.reset()

    def reset(self):
        self.irr = self.isr = self.imr = 0
        self.last_level = 0
        self.base = 0
        self.init_step = 0
        self.needs_icw4 = False
        self.single = False
        self.auto_eoi = False
        self.rotate_on_aeoi = False
        self.priority_add = 0
        self.read_isr = False
        self.poll = False
        self.special_mask = False
        self.sfnm = False

    # --- priorities ------------------------------------------------------------------
    def _highest(self, mask):
        """The highest-priority set bit (as a priority 0..7), or 8 for none."""
        if mask == 0:
            return 8
        p = 0
        while not mask & (1 << ((p + self.priority_add) & 7)):
            p += 1
        return p

    def pending_irq(self):
        """The IRQ this chip would signal now, or -1."""
        req = self._highest(self.irr & ~self.imr)
        if req == 8:
            return -1
        in_service = self.isr
        if self.special_mask:
            in_service &= ~self.imr
        if self.master and self.sfnm:
            in_service &= ~(1 << 2)        # a slave IRQ may nest over its own cascade line
        cur = self._highest(in_service)
        if req < cur:
            return (req + self.priority_add) & 7
        return -1

    # --- inputs ----------------------------------------------------------------------------
    def set_irq(self, n, level):
        bit = 1 << n
        if self.elcr & bit:                # level triggered: IRR follows the line
            if level:
                self.irr |= bit
                self.last_level |= bit
            else:
                self.irr &= ~bit
                self.last_level &= ~bit
        elif level:                        # edge triggered: a rising edge requests
            if not self.last_level & bit:
                self.irr |= bit
            self.last_level |= bit
        else:
            self.last_level &= ~bit

    def acknowledge_irq(self, irq):
        """INTA for irq: set ISR (unless automatic EOI), clear an edge request."""
        bit = 1 << irq
        if self.auto_eoi:
            if self.rotate_on_aeoi:
                self.priority_add = (irq + 1) & 7
        else:
            self.isr |= bit
        if not self.elcr & bit:
            self.irr &= ~bit

    # --- registers ------------------------------------------------------------------------------
    def write_command(self, value):
        if value & 0x10:                   # ICW1
            self.reset_for_init()
            self.needs_icw4 = bool(value & 1)
            self.single = bool(value & 2)
            self.init_step = 1
        elif value & 0x08:                 # OCW3
            if value & 0x04:
                self.poll = True
            if value & 0x02:
                self.read_isr = bool(value & 0x01)
            if value & 0x40:
                self.special_mask = bool(value & 0x20)
        else:                              # OCW2
            cmd = value >> 5
            if cmd in (1, 5):              # non-specific EOI (and rotate)
                p = self._highest(self.isr)
                if p != 8:
                    irq = (p + self.priority_add) & 7
                    self.isr &= ~(1 << irq)
                    if cmd == 5:
                        self.priority_add = (irq + 1) & 7
            elif cmd in (3, 7):            # specific EOI (and rotate)
                irq = value & 7
                self.isr &= ~(1 << irq)
                if cmd == 7:
                    self.priority_add = (irq + 1) & 7
            elif cmd == 6:                 # set priority: irq becomes the lowest
                self.priority_add = ((value & 7) + 1) & 7
            elif cmd == 4:
                self.rotate_on_aeoi = True
            elif cmd == 0:
                self.rotate_on_aeoi = False

    def reset_for_init(self):
        """ICW1: the datasheet's initialisation sequence clears these."""
        self.imr = 0
        self.isr = 0
        self.irr &= self.last_level & self.elcr     # keep requests of lines still held (level)
        self.priority_add = 0
        self.special_mask = False
        self.read_isr = False
        self.auto_eoi = False
        self.rotate_on_aeoi = False
        self.sfnm = False

    def write_data(self, value):
        if self.init_step == 1:            # ICW2
            self.base = value & 0xF8
            if not self.single:
                self.init_step = 2
            else:
                self.init_step = 3 if self.needs_icw4 else 0
        elif self.init_step == 2:          # ICW3 (cascade wiring; a PC's is fixed)
            self.init_step = 3 if self.needs_icw4 else 0
        elif self.init_step == 3:          # ICW4
            self.auto_eoi = bool(value & 0x02)
            self.sfnm = bool(value & 0x10)
            self.init_step = 0
        else:                              # OCW1
            self.imr = value

    def read_command(self):
        return self.isr if self.read_isr else self.irr

    def state(self):
        return {f: getattr(self, f) for f in self.FIELDS}

    def load(self, d):
        for f in self.FIELDS:
            if f in d:
                setattr(self, f, d[f])


class PicPair(Device):
    """The cascaded master (0x20) and slave (0xA0) of a PC, slave on master IRQ 2."""
    name = "pic"
    ports = ((0x20, 2), (0xA0, 2), (0x4D0, 2))
    state_version = 1

    def __init__(self, intr):
        """intr(level): where the master's INTR output goes (the board: the
        local APIC's LINT0, or the CPU's INTR on a PC without one)."""
        self.master = Pic8259(True)
        self.slave = Pic8259(False)
        self.intr = intr
        self._output = False

    def reset(self):
        """Power-on state of both chips, ELCR all edge."""
        for chip in (self.master, self.slave):
            chip.reset()
            chip.elcr = 0
        self._update()

    # --- lines -------------------------------------------------------------------------------
    def set_irq(self, n, level):
        if n < 8:
            self.master.set_irq(n, level)
        else:
            self.slave.set_irq(n - 8, level)
        self._update()

    def pulse_irq(self, n):
        self.set_irq(n, 1)
        self.set_irq(n, 0)

    def _update(self):
        # the slave's output drives the master's IRQ 2
        self.master.set_irq(2, 1 if self.slave.pending_irq() >= 0 else 0)
        out = self.master.pending_irq() >= 0
        if out != self._output or out:
            self._output = out
            self.intr(out)

    def output(self):
        return self._output

    def acknowledge(self):
        """INTA cycle: the vector to deliver (spurious IRQ 7 / 15 when the request went away)."""
        m = self.master
        irq = m.pending_irq()
        if irq < 0:
            vector = m.base + 7                         # spurious master IRQ 7
        elif irq == 2:
            m.acknowledge_irq(2)
            sirq = self.slave.pending_irq()
            if sirq >= 0:
                self.slave.acknowledge_irq(sirq)
                vector = self.slave.base + sirq
            else:
                vector = self.slave.base + 7            # spurious slave IRQ 15
        else:
            m.acknowledge_irq(irq)
            vector = m.base + irq
        self._update()
        return vector

    def _poll(self, chip):
        """Poll mode: a read acknowledges the highest request (datasheet, poll command)."""
        chip.poll = False
        irq = chip.pending_irq()
        if irq < 0:
            return 0
        chip.acknowledge_irq(irq)
        if chip is self.master and irq == 2:
            sirq = self.slave.pending_irq()
            if sirq >= 0:
                self.slave.acknowledge_irq(sirq)
        self._update()
        return 0x80 | irq

    # --- ports ------------------------------------------------------------------------------------
    def io_read(self, port, size):
        if port in (0x4D0, 0x4D1):
            return (self.master if port == 0x4D0 else self.slave).elcr
        chip = self.master if port < 0xA0 else self.slave
        if chip.poll:
            return self._poll(chip)
        return chip.read_command() if port & 1 == 0 else chip.imr

    def io_write(self, port, size, value):
        value &= 0xFF
        if port in (0x4D0, 0x4D1):
            chip = self.master if port == 0x4D0 else self.slave
            chip.elcr = value & chip.elcr_mask
        else:
            chip = self.master if port < 0xA0 else self.slave
            if port & 1 == 0:
                chip.write_command(value)
            else:
                chip.write_data(value)
        self._update()

    def save_state(self):
        return {"version": self.state_version, "master": self.master.state(), "slave": self.slave.state()}

    def load_state(self, d):
        self.master.load(d["master"])
        self.slave.load(d["slave"])
        self._update()
