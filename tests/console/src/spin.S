/* spin: a guest that never ends, for the signal tests.
 * Prints "SPIN READY", then either loops in one chained block forever (no I/O,
 * so pyemu stays in native code) or, built with --defsym HALT=1, waits in HLT
 * with interrupts enabled and nothing programmed to interrupt it. */
        .include "guest.inc"
        GUEST "spin", 0x22

main:
        PRINT "SPIN READY\n"
        .ifdef HALT
        sti
1:      hlt
        jmp 1b
        .else
        xorl %eax, %eax
2:      incl %eax
        jmp 2b
        .endif
