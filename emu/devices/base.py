"""The device interface.

A device declares the I/O port ranges it decodes (`ports`), answers reads and
writes on them, and saves its state as a dict keyed by field name with a
version number.  What it is wired to it is given at construction: a
DeviceContext (context.py: its IRQ lines, the virtual clock and timer queue,
call_soon) and whatever else its constructor names (the A20 gate, a reset
line, another interrupt controller).  A device never touches the CPU or the
Machine.
"""


class Device:
    name = "device"
    ports = ()                  # ((first port, count), ...)
    state_version = 1
    state_fields = ()           # attribute names saved by save_state

    def io_read(self, port, size):
        return (1 << (8 * size)) - 1

    def io_write(self, port, size, value):
        pass

    def reset(self):
        pass

    def save_state(self):
        d = {"version": self.state_version}
        for f in self.state_fields:
            d[f] = getattr(self, f)
        return d

    def load_state(self, d):
        d = self.migrate_state(dict(d))
        for f in self.state_fields:
            if f in d:
                setattr(self, f, d[f])

    def migrate_state(self, d):
        """Bring an older version of the state dict up to date."""
        return d


class IoBus:
    """Port number -> device; unclaimed ports read all ones and ignore writes."""

    def __init__(self):
        self._owner = [None] * 0x10000
        self.devices = []

    def add(self, dev):
        for first, count in dev.ports:
            for p in range(first, first + count):
                if self._owner[p] is not None:
                    raise ValueError("port %#x claimed by %s and %s" % (p, self._owner[p].name, dev.name))
                self._owner[p] = dev
        self.devices.append(dev)

    def map_range(self, dev, first, count):
        """Give dev the free ports of [first, first+count) (a PCI I/O BAR moving
        in); ports another device owns stay with it."""
        for p in range(first, min(first + count, 0x10000)):
            if self._owner[p] is None:
                self._owner[p] = dev

    def unmap_range(self, dev, first, count):
        """Take back the ports of [first, first+count) that dev owns."""
        for p in range(first, min(first + count, 0x10000)):
            if self._owner[p] is dev:
                self._owner[p] = None

    def read(self, port, size):
        dev = self._owner[port & 0xFFFF]
        if dev is None:
            return (1 << (8 * size)) - 1
        return dev.io_read(port & 0xFFFF, size) & ((1 << (8 * size)) - 1)

    def write(self, port, size, value):
        dev = self._owner[port & 0xFFFF]
        if dev is not None:
            dev.io_write(port & 0xFFFF, size, value & ((1 << (8 * size)) - 1))
