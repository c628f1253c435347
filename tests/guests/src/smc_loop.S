/* smc_loop: a loop whose body is rewritten between iterations; every
 * iteration must run the code as it is now, not a translation of what it
 * was.  Hot loops are the case a translator chains to itself, so the
 * rewrite must also unlink the chained jumps into the stale code.
 * Iteration counts are small: every rewrite costs pyemu an LLVM compile of
 * the blocks it invalidates (milliseconds each). */
        .include "guest.inc"
        GUEST "smc_loop", 0x1b

main:
        /* 1: the immediate of the body's add is set to i*i for the next
           iteration: sum of i*i for i = 0..29 = 8555 */
        xorl %eax, %eax
        movl $1, %ecx
1:
body1:  .byte 0x05                      /* addl $imm32, %eax: the immediate is rewritten */
        .long 0
        movl %ecx, %edx
        imull %edx, %edx
        movl %edx, body1 + 1
        incl %ecx
        cmpl $31, %ecx
        jne 1b
        CHECK "imm.squares", 0x0000216b

        /* 2: the opcode cycles add, sub, xor (05 / 2d / 35, all op $imm32, %eax)
           and the immediate i, then EAX is rotated left by 1.  Python:
             for i in range(24):
                 eax = [add, sub, xor, add][i & 3](eax, i); eax = rol32(eax, 1) */
        movl $0x12345678, %eax
        xorl %ecx, %ecx
2:      movl %ecx, %edx
        andl $3, %edx
        movb opcodes(%edx), %bl
        movb %bl, body2
        movl %ecx, body2 + 1
body2:  .byte 0x05                      /* op $imm32, %eax, rewritten */
        .long 0
        roll $1, %eax
        incl %ecx
        cmpl $24, %ecx
        jne 2b
        CHECK "opcode.cycle", 0x77a30044

        /* 3: a hot self-loop that patches its own backward jump into two
           NOPs after 5000 iterations, so the loop falls through */
        xorl %ecx, %ecx
3:      incl %ecx
        cmpl $5000, %ecx
        jne 4f
        movw $0x9090, jump3
4:
jump3:  jmp 3b                          /* eb xx: 2 bytes */
        CHECKR %ecx, "patched.exit", 0x00001388

        /* 4: a JIT in miniature: write "mov $k, %eax; ret" into a buffer, call
           it, 24 times at the same address: sum of k = 300 */
        xorl %ebx, %ebx
        movl $1, %ecx
5:      movb $0xb8, jit_buf
        movl %ecx, jit_buf + 1
        movb $0xc3, jit_buf + 5
        call jit_buf
        addl %eax, %ebx
        incl %ecx
        cmpl $25, %ecx
        jne 5b
        CHECKR %ebx, "jit.sum", 0x0000012c

        /* 5: the JIT buffer holds a loop that is itself rewritten from inside:
           the generated code increments its own immediate each call */
        movl $jit_gen, %esi
        movl $jit_buf, %edi
        movl $jit_gen_end - jit_gen, %ecx
        rep movsb
        xorl %ebx, %ebx
        movl $20, %ecx
6:      call jit_buf
        addl %eax, %ebx
        loop 6b
        CHECKR %ebx, "jit.self.bump", 0x000000d2          /* 1 + 2 + ... + 20 */

        /* 6: two blocks that rewrite each other alternately */
        movl $0, %eax
        movl $24, %ecx
7:      call ping
        call pong
        loop 7b
        CHECK "ping.pong", 0x0000608c
        ret

/* copied into jit_buf: returns its immediate, then adds 1 to it (an add to
   its own code in the same block, after the read) */
jit_gen:
        .byte 0xb8                      /* mov $imm32, %eax */
        .long 1
        .byte 0xff, 0x05                /* incl abs32: the imm32 above */
        .long jit_buf + 1
        .byte 0xc3                      /* ret */
jit_gen_end:

/* ping adds its imm8 p to EAX and bumps pong's immediate q by 1; pong adds
   q and bumps p by 2 (an imm8, so it wraps and turns negative).  Python:
     p, q = 101, 1000
     for _ in range(24): eax += sext8(p); q += 1; eax += q; p = (p + 2) & 0xff */
ping:
ping_add:
        addl $101, %eax
        incl pong_add + 1
        ret
pong:
pong_add:
        addl $1000, %eax
        addb $2, ping_add + 2           /* 83 c0 ib: the imm8 */
        ret

        .data
opcodes: .byte 0x05, 0x2d, 0x35, 0x05

        .bss
        .align 16
jit_buf: .space 64
