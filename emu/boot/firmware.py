"""-bios FILE: a firmware image mapped as ROM below 4 GB, its last 128 KB also
at the top of the first megabyte, as on a PC (the reset vector, F000:FFF0,
reads the image's last 16 bytes)."""
from . import BootError

MAX_BIOS = 16 << 20


def load_bios(machine, data):
    if not data:
        raise BootError("the firmware image is empty")
    if len(data) > MAX_BIOS:
        raise BootError("the firmware image is larger than 16 MB")
    if len(data) % 4096:
        raise BootError("the firmware image size must be a multiple of 4 KB (it is %d bytes)" % len(data))
    machine.phys.add_rom(0x100000000 - len(data), data)
    low = data[-min(len(data), 128 * 1024):]
    machine.phys.add_rom(0x100000 - len(low), low)
    machine.reset_cpu()
