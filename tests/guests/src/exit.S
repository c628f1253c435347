/* exit: leave through isa-debug-exit with the value given at build time
 * (--defsym EXIT_VALUE=V, EXIT_WIDTH=1/2/4 for an outb/outw/outl), after
 * printing a line.  QEMU's exit status is (V << 1) | 1, truncated to 8 bits
 * by the OS; pyemu must give the same status and the same output. */
        .include "guest.inc"
        GUEST "exit", 0x1c

        .ifndef EXIT_VALUE
        .set EXIT_VALUE, 0
        .endif
        .ifndef EXIT_WIDTH
        .set EXIT_WIDTH, 4
        .endif

main:
        PRINT "exit value "
        PUTHEX $EXIT_VALUE
        PRINT " width "
        PUTDEC $EXIT_WIDTH
        NEWLINE
        movl $EXIT_VALUE, %eax
        .if EXIT_WIDTH == 1
        outb %al, $DEBUG_EXIT_PORT
        .elseif EXIT_WIDTH == 2
        outw %ax, $DEBUG_EXIT_PORT
        .else
        outl %eax, $DEBUG_EXIT_PORT
        .endif
        PRINT "still running after the exit write\n"
        ret
