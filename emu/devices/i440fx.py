"""i440FX host bridge (82441FX PMC) at PCI 00:00.0: vendor 8086, device 1237.

Register defaults from the 82441FX datasheet (Intel 290549), section 3.2.  The
DRAM, cache and PAM (BIOS shadowing) registers are storage only: pyemu's
memory map does not change with them (RAM is RAM, a -bios image is ROM).
"""
from .pci import STATUS, COMMAND, PciFunction

VENDOR_INTEL = 0x8086
DEVICE_82441FX = 0x1237
CLASS_HOST_BRIDGE = 0x060000

PMCCFG, DETURBO, DBC, AXC, DRT, DRAMC, DRAMT = 0x50, 0x52, 0x53, 0x54, 0x55, 0x57, 0x58
PAM0 = 0x59                 # PAM0-PAM6: 0x59-0x5F
DRB0 = 0x60                 # DRB0-DRB7: 0x60-0x67
FDHC, MTT, CLT, SMRAM = 0x68, 0x70, 0x71, 0x72
ERRCMD, ERRSTS = 0x90, 0x91


class I440FX(PciFunction):
    name = "i440fx"

    def __init__(self):
        super().__init__(VENDOR_INTEL, DEVICE_82441FX, CLASS_HOST_BRIDGE, revision=0x02)

    def setup(self):
        self.put16(COMMAND, 0x0006)          # memory and bus master always on
        self.put16(STATUS, 0x0280)           # fast back-to-back, medium DEVSEL
        self.set_writable(COMMAND, 2, 0x0140)
        self.set_writable(PMCCFG, 2, 0xFFFF)
        for off in (DETURBO, DBC, AXC, DRAMC, DRAMT, FDHC, MTT, CLT, ERRCMD):
            self.set_writable(off, 1, 0xFF)
        self.set_writable(DRT, 2, 0xFFFF)
        self.put8(DRAMC, 0x01)
        self.put8(DRAMT, 0x10)
        for k in range(7):
            self.set_writable(PAM0 + k, 1, 0x33)  # read/write enable for each half
        for k in range(8):
            self.put8(DRB0 + k, 0x01)
            self.set_writable(DRB0 + k, 1, 0xFF)
        self.put8(MTT, 0x20)
        self.put8(CLT, 0x10)
        # SMRAM: the compatible SMRAM base segment field reads 010 (0xA0000)
        self.put8(SMRAM, 0x02)
        self.set_writable(SMRAM, 1, 0x78)
        self.set_w1c(ERRSTS, 1, 0xFF)

    def set_memory_size(self, ram_size):
        """The DRAM row boundaries (in 8 MB units, cumulative), as firmware programs them."""
        units = min(0xFF, (ram_size + (8 << 20) - 1) >> 23)
        for k in range(8):
            self.put8(DRB0 + k, units)
