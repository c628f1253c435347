"""i440FX host bridge (82441FX PMC) at PCI 00:00.0: vendor 8086, device 1237.

Register defaults from the 82441FX datasheet (Intel 290549), section 3.2.  The
DRAM and cache registers are storage only.  The PAM registers (3.2.18,
0x59-0x5F) say, for 0xF0000-0xFFFFF (PAM0 bits 5:4) and for each 16 KB of
0xC0000-0xEFFFF (PAM1-PAM6, low and high nibble), whether reads (bit 0 of the
nibble) and writes (bit 1) go to DRAM or to the PCI bus, where the BIOS ROM
answers: firmware copies itself to shadow RAM this way.  A change is passed
to shadow_hook(base, size, read_ram, write_ram), which the board points at
the physical memory map.
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

    def __init__(self, shadow_hook=None):
        self.shadow_hook = shadow_hook
        self._shadow = {}
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

    def shadow_segments(self):
        """(base, size, read_ram, write_ram) of each PAM-controlled segment."""
        out = []
        pam0 = self.config[PAM0] >> 4
        out.append((0xF0000, 0x10000, bool(pam0 & 1), bool(pam0 & 2)))
        for k in range(1, 7):
            v = self.config[PAM0 + k]
            for half in range(2):
                nib = (v >> (4 * half)) & 3
                base = 0xC0000 + (k - 1) * 0x8000 + half * 0x4000
                out.append((base, 0x4000, bool(nib & 1), bool(nib & 2)))
        return out

    def config_written(self, off, size):
        if not hasattr(self, "_shadow") or off > PAM0 + 6 or off + size <= PAM0:
            return
        for base, length, r, w in self.shadow_segments():
            if self._shadow.get(base) != (r, w):
                self._shadow[base] = (r, w)
                if self.shadow_hook is not None:
                    self.shadow_hook(base, length, r, w)
