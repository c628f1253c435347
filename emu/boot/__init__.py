"""Boot protocols: how a -kernel file is put into memory and started."""


class BootError(Exception):
    """The kernel or initrd cannot be booted; the message says why."""
