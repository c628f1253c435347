/* random: load registers from random bytes and jump into random code.
 *
 * The test writes random.bin (into the build directory, found through -I):
 * 32 bytes for POPA (EDI ESI EBP - EBX EDX ECX EAX), 4 bytes of ESP, then
 * the code.  Whatever the bytes do (fault, halt, loop, write anywhere in
 * memory or to any port), the emulator must stop cleanly: an exception or
 * halt message, a debug-exit status, or, for an endless loop, a clean stop
 * on Ctrl-C.  Never a crash. */
        .include "guest.inc"
        GUEST "random", 0x1e

main:
        PRINT "jumping into random bytes\n"
        movl $random_regs, %esp
        popal
        movl random_esp, %esp
        jmp random_code

        .balign 16
random_regs:
        .incbin "random.bin", 0, 32
random_esp:
        .incbin "random.bin", 32, 4
random_code:
        .incbin "random.bin", 36
