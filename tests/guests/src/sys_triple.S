/* sys_triple: a triple fault (Intel SDM Vol. 3A 6.15, interrupt 8: an exception
 * while delivering #DF shuts the processor down; a PC then resets).  With
 * -no-reboot both emulators exit instead of resetting; the program never
 * reaches PASS: the test compares the output up to the fault and the exit
 * status with QEMU's.
 */
        .include "sys.inc"
        GUEST "sys_triple", 0x3b

        .data
empty_idt:
        .word 0
        .long 0

        .text
main:
        call sys_init
        PRINT "about to triple fault\n"
        lidt empty_idt                  /* every vector beyond the IDT limit */
        int3                            /* #GP(1ah) -> #GP beyond the limit: #DF -> shutdown */
        PRINT "still running after a triple fault\n"
        ret
