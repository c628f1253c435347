/* smc_next: self-modifying code that patches an instruction it is about to
 * run, in the same straight-line block as the store.  On x86 a store to the
 * instruction stream is seen by the next instruction fetched (Intel SDM Vol.
 * 3A 8.1.3: the processor detects the write and refetches), so a translator
 * that compiled the whole block ahead must notice the store, stop after it
 * and retranslate.  Each case prints what the patched code computed. */
        .include "guest.inc"
        GUEST "smc_next", 0x1a

main:
        /* 1: the immediate of the very next instruction */
        movl $0, %eax
        movl $0x0000002a, patch1 + 1    /* b8 imm32: the imm32 */
patch1: movl $0x11111111, %eax
        CHECK "next.imm", 0x0000002a

        /* 2: the opcode of the very next instruction: inc -> dec */
        movl $10, %eax
        movb $0x48, patch2              /* 0x40 inc %eax -> 0x48 dec %eax */
patch2: incl %eax
        CHECK "next.opcode", 0x00000009

        /* 3: an instruction a few instructions further on in the same block */
        movl $100, %eax
        movl $0, %ebx
        movb $0x29, patch3              /* 01 d8 add %ebx,%eax -> 29 d8 sub %ebx,%eax */
        addl $5, %ebx
        nop
        leal 1(%ebx), %ebx              /* EBX = 6 */
patch3: addl %ebx, %eax
        CHECK "later.opcode", 0x0000005e

        /* 4: through a computed address, read-modify-write */
        movl $patch4 + 1, %edi
        movl $7, %eax
        addb $0x10, 1(%edi)             /* 83 c0 01: add $1 -> add $0x11 */
patch4: addl $1, %eax
        CHECK "rmw.imm8", 0x00000018

        /* 5: rep stosb overwrites the next instructions with NOPs */
        movl $1, %eax
        movl $patch5, %edi
        movl $patch5_end - patch5, %ecx
        movb $0x90, %al
        rep stosb
patch5: movl $0xdead, %eax              /* 5 bytes */
        movl $0xbeef, %eax              /* 5 bytes */
patch5_end:
        CHECK "rep.stos.nops", 0x00000090

        /* 6: a 32-bit store spanning the end of one instruction and the next */
        movl $3, %eax
        movl $0x00059090, patch6 + 1    /* 40 48 40 05 00 10 .. -> 40 90 90 05 00 10 .. */
patch6: incl %eax
        decl %eax
        incl %eax
        .byte 0x05                      /* add $0x1000, %eax with its first byte here */
        .long 0x00001000
        CHECK "span.store", 0x00001004

        /* 7: the displacement of the next jump */
        movl $0, %eax
        movb $(patch7_b - patch7_a), patch7 + 1
patch7: jmp patch7_a
patch7_a:
        movl $0xaaaa, %eax
        jmp 1f
patch7_b:
        movl $0xbbbb, %eax
1:      CHECK "next.jump", 0x0000bbbb

        /* 8: xchg with the next instruction's immediate (the old value comes back) */
        movl $0x77, %ecx
        xchgl %ecx, patch8 + 1
patch8: movl $0x66, %eax
        CHECK "xchg.new", 0x00000077
        CHECKR %ecx, "xchg.old", 0x00000066

        /* 9: an instruction that straddles a page boundary (opcode on one
           page, immediate on the next), patched on the second page by the
           store just before it in the same block */
        jmp 1f
        .balign 4096
page9:  .skip 4096 - 16
1:      movl $0, %eax                   /* 5 bytes */
        movl $0x12345678, patch9 + 1    /* 10 bytes */
patch9: movl $0x87654321, %eax          /* b8 at offset 4095 | imm32 on the next page */
        .if (patch9 - page9) != 4095
        .error "patch9 must start on the last byte of a page"
        .endif
        CHECK "page.straddle", 0x12345678

        /* 10: a function run once, then patched by a loop of byte stores, then
           run again */
        call patch10_fn
        CHECK "fn.before", 0xfffffffc
        movl $patch10, %edi
        movl $4, %ecx
        movl $0x40404040, %edx          /* dec %eax -> inc %eax */
1:      movb %dl, (%edi)
        incl %edi
        loop 1b
        call patch10_fn
        CHECK "fn.after", 0x00000004
        ret

patch10_fn:
        movl $0, %eax
patch10: .byte 0x48, 0x48, 0x48, 0x48   /* four dec %eax */
        ret
