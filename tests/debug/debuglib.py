"""What the debugger and monitor tests share: the start of a multiboot guest and a free TCP port."""
import socket

# every guest starts with this: a multiboot v1 header, then _start (the test's source follows)
MULTIBOOT_HEADER = """\
        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
        .text
        .globl _start
"""


def free_port():
    """A TCP port on the loopback that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
