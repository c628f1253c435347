/* spin: a guest that never ends, for the signal and output tests.
 * Prints "SPIN READY", then either loops in one chained block forever (no I/O,
 * so pyemu stays in native code), or, built with --defsym HALT=1, waits in HLT
 * with interrupts enabled and nothing programmed to interrupt it, or, with
 * --defsym LOUD=1, prints numbered lines on COM1 forever. */
        .include "guest.inc"
        GUEST "spin", 0x22

main:
        PRINT "SPIN READY\n"
        .ifdef LOUD
        xorl %eax, %eax
3:      PRINT "line "
        PUTDEC %eax
        NEWLINE
        incl %eax
        jmp 3b
        .endif
        .ifdef HALT
        sti
1:      hlt
        jmp 1b
        .else
        xorl %eax, %eax
2:      incl %eax
        jmp 2b
        .endif
