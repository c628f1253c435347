/* sys_biosmap: where -bios puts a firmware image larger than 64 KB.
 *
 * bios-size: 256
 * (syslib.py pads the 64 KB ROM this file builds to 256 KB: every 4 KB page of
 * the padding starts with its offset in the image.)
 *
 * A PC maps the whole image just below 4 GB and its last 128 KB also at
 * E0000-FFFFF, under the first megabyte (QEMU's pc.bios and isa-bios, pyemu's
 * emu/boot/firmware.py); both are read-only.
 */
        .include "sys_bios.inc"
        GUEST "sys_biosmap", 0x3d

        .section .text16, "ax"
        .code16
real_entry:
        ret

        .text
        .code32
main:
        call sys_init
        PRINT "the image below 4 gb\n"
        CHECKR 0xfffc0000, "fffc0000: image offset", 0
        CHECKR 0xfffd0000, "fffd0000", 0x10000
        CHECKR 0xfffe0000, "fffe0000", 0x20000
        CHECKR 0xfffef000, "fffef000", 0x2f000
        movl 0xffff0000, %eax
        cmpl 0xf0000, %eax
        sete %al
        movzbl %al, %eax
        CHECK "ffff0000 = f0000 (the last 64 kb)", 1
        PRINT "the last 128 kb below 1 mb\n"
        CHECKR 0xe0000, "e0000", 0x20000
        CHECKR 0xe8000, "e8000", 0x28000
        CHECKR 0xef000, "ef000", 0x2f000
        PRINT "read-only\n"
        movl $0x12345678, 0xfffe0000
        movl $0x12345678, 0xe1000
        CHECKR 0xfffe0000, "fffe0000 after a write", 0x20000
        CHECKR 0xe1000, "e1000 after a write", 0x21000
        ret
