/* muldiv: MUL and IMUL (one-, two- and three-operand forms, 8/16/32-bit),
 * DIV and IDIV with signed and unsigned operands, and a #DE-free division
 * path (quotients chosen to fit; the divisor checked against EDX first).
 * After MUL/IMUL only CF and OF are defined; after DIV/IDIV no flag is. */
        .include "guest.inc"
        GUEST "muldiv", 0x12

        .set CO, CF | OF

main:
        /* unsigned multiply */
        movl $0x12345678, %eax
        movl $0x9abcdef0, %ecx
        mull %ecx
        CHECKF CO, "mul32.flags", 0x00000801
        CHECK "mul32.lo", 0x242d2080
        CHECKR %edx, "mul32.hi", 0x0b00ea4e
        movl $0x10000, %eax
        movl $0xffff, %ebx
        mull %ebx
        CHECKF CO, "mul32.small.flags", 0x00000000
        CHECK "mul32.small.lo", 0xffff0000
        CHECKR %edx, "mul32.small.hi", 0x00000000
        movl $0xdeadbe80, %eax
        movb $0x02, %bl
        mulb %bl                        /* AX = 0x80 * 2 */
        CHECKF CO, "mul8.flags", 0x00000801
        CHECK "mul8", 0xdead0100
        movl $0xffffffff, %edx
        movl $0x1234ffff, %eax
        movw $0xffff, %cx
        mulw %cx                        /* DX:AX = 0xffff * 0xffff = 0xfffe0001 */
        CHECKF CO, "mul16.flags", 0x00000801
        CHECK "mul16.ax", 0x12340001
        CHECKR %edx, "mul16.dx", 0xfffffffe
        movl $3, mem_a
        movl $7, %eax
        mull mem_a
        CHECK "mulm", 0x00000015

        /* signed multiply, one operand */
        movl $-5, %eax
        movl $7, %ecx
        imull %ecx
        CHECKF CO, "imul1.flags", 0x00000000
        CHECK "imul1.lo", 0xffffffdd
        CHECKR %edx, "imul1.hi", 0xffffffff
        movl $0x40000000, %eax
        movl $4, %ecx
        imull %ecx
        CHECKF CO, "imul1.big.flags", 0x00000801
        CHECK "imul1.big.lo", 0x00000000
        CHECKR %edx, "imul1.big.hi", 0x00000001
        movb $-128, %al
        movb $-1, %cl
        imulb %cl                       /* AX = 128: does not fit in AL */
        CHECKF CO, "imul8.flags", 0x00000801
        CHECK "imul8", 0x00000080
        movw $-300, %ax
        movw $200, %bx
        imulw %bx                       /* -60000 = 0xffff:0x15a0 */
        CHECKF CO, "imul16.flags", 0x00000801
        CHECK "imul16.ax", 0x000015a0
        CHECKR %edx, "imul16.dx", 0x0000ffff

        /* two- and three-operand forms: truncated result, CF=OF=overflow */
        movl $-123456, %eax
        movl $1000, %ebx
        imull %ebx, %eax
        CHECKF CO, "imul2.flags", 0x00000000
        CHECK "imul2", 0xf8a43600
        movl $0x10000, %eax
        imull %eax, %eax
        CHECKF CO, "imul2.ovf.flags", 0x00000801
        CHECK "imul2.ovf", 0x00000000
        movl $77, %ecx
        imull $-3, %ecx, %edx           /* imm8 form */
        CHECKF CO, "imul3.imm8.flags", 0x00000000
        CHECKR %edx, "imul3.imm8", 0xffffff19
        movl $0x12345, mem_a
        imull $0x10001, mem_a, %esi     /* imm32 form with a memory source */
        CHECKF CO, "imul3.mem.flags", 0x00000801
        CHECKR %esi, "imul3.mem", 0x23462345
        movw $-2, %cx
        imulw $0x4000, %cx, %cx         /* -0x8000 fits in 16 bits */
        CHECKF CO, "imul3.16.flags", 0x00000000
        CHECKR %ecx, "imul3.16", 0x00008000
        movw $2, %cx
        imulw $0x4000, %cx, %cx         /* +0x8000 does not */
        CHECKF CO, "imul3.16.ovf.flags", 0x00000801

        /* unsigned divide */
        movl $0x00000003, %edx
        movl $0x12345678, %eax
        movl $0x10000, %ecx
        divl %ecx                       /* 0x3_12345678 / 0x10000 */
        CHECK "div32.q", 0x00031234
        CHECKR %edx, "div32.r", 0x00005678
        movl $0, %edx
        movl $1000000007, %eax
        movl $97, %ebx
        divl %ebx
        CHECK "div32.small.q", 0x009d4e9e
        CHECKR %edx, "div32.small.r", 0x00000029
        movl $0xabcd03e8, %eax          /* AX = 1000 */
        movb $7, %bl
        divb %bl                        /* AL = 142, AH = 6 */
        CHECK "div8", 0xabcd068e
        movl $0x11110001, %edx
        movl $0x22220000, %eax          /* DX:AX = 0x0001:0000 = 65536 */
        movw $300, %cx
        divw %cx                        /* 218 rem 136 */
        CHECK "div16.ax", 0x222200da
        CHECKR %edx, "div16.dx", 0x11110088
        movl $100, mem_a
        movl $0, %edx
        movl $12345, %eax
        divl mem_a
        CHECK "divm.q", 0x0000007b
        CHECKR %edx, "divm.r", 0x0000002d

        /* signed divide: the quotient truncates toward zero, the remainder
           takes the dividend's sign */
        movl $-7, %eax
        cltd
        movl $2, %ecx
        idivl %ecx
        CHECK "idiv.-7.2.q", 0xfffffffd
        CHECKR %edx, "idiv.-7.2.r", 0xffffffff
        movl $7, %eax
        cltd
        movl $-2, %ecx
        idivl %ecx
        CHECK "idiv.7.-2.q", 0xfffffffd
        CHECKR %edx, "idiv.7.-2.r", 0x00000001
        movl $-7, %eax
        cltd
        movl $-2, %ecx
        idivl %ecx
        CHECK "idiv.-7.-2.q", 0x00000003
        CHECKR %edx, "idiv.-7.-2.r", 0xffffffff
        movl $0x80000000, %eax          /* the most negative dividend, divided by 1 */
        cltd
        movl $1, %ecx
        idivl %ecx
        CHECK "idiv.min.q", 0x80000000
        CHECKR %edx, "idiv.min.r", 0x00000000
        movl $-1000, %eax
        cwtl                            /* no-op on a 32-bit value already sign-extended */
        movw $-1000, %ax
        cwtd                            /* DX:AX = -1000 */
        movw $33, %bx
        idivw %bx                       /* -30 rem -10 */
        CHECK "idiv16.ax", 0xffffffe2
        CHECKR %edx, "idiv16.dx", 0x0000fff6
        movw $-100, %ax
        movb $7, %cl
        idivb %cl                       /* AL = -14, AH = -2 */
        CHECK "idiv8", 0xfffffef2

        /* #DE-free path: divide 64-bit numbers by a 32-bit one in two steps,
           so the first quotient always fits (EDX < divisor) */
        movl $0x12345678, %edx          /* dividend 0x12345678_9abcdef0 */
        movl $0x9abcdef0, %eax
        movl $0x1000, %ecx
        call div64
        CHECK "div64.q.lo", 0x6789abcd
        CHECKR %edx, "div64.q.hi", 0x00012345
        CHECKR %ebx, "div64.r", 0x00000ef0
        movl $0xffffffff, %edx
        movl $0xffffffff, %eax
        movl $3, %ecx
        call div64
        CHECK "div64.max.q.lo", 0x55555555
        CHECKR %edx, "div64.max.q.hi", 0x55555555
        CHECKR %ebx, "div64.max.r", 0x00000000

        /* factorials by repeated multiply, checked by repeated divide */
        movl $1, %eax
        movl $1, %ecx
1:      mull %ecx
        incl %ecx
        cmpl $13, %ecx                  /* 12! = 479001600 fits in 32 bits */
        jne 1b
        CHECK "fact12", 0x1c8cfc00
        movl $12, %ecx
2:      xorl %edx, %edx
        divl %ecx
        testl %edx, %edx
        jnz 3f
        loop 2b
3:      CHECK "fact12.undone", 0x00000001
        CHECKR %ecx, "fact12.left", 0x00000000
        ret

/* div64: EDX:EAX / ECX -> quotient EDX:EAX, remainder EBX (ECX != 0) */
div64:
        pushl %esi
        movl %eax, %esi                 /* low word */
        movl %edx, %eax
        xorl %edx, %edx
        divl %ecx                       /* high word: 0:hi / ecx always fits */
        xchgl %eax, %esi                /* ESI = high quotient, EAX = low word */
        divl %ecx                       /* rem:lo / ecx fits since rem < ecx */
        movl %edx, %ebx
        movl %esi, %edx
        popl %esi
        ret

        .data
        .align 4
mem_a:  .long 0
