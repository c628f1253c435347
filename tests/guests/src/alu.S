/* alu: add/adc/sub/sbb carry chains, inc/dec/neg, logic ops, cmp/test,
 * at 8, 16 and 32 bits, with the arithmetic flags after each (OSZAPC; AF is
 * masked where the SDM leaves it undefined).
 * Expected values: Intel SDM Vol. 2 (checked against qemu-system-i386). */
        .include "guest.inc"
        GUEST "alu", 0x11

main:
        /* 96-bit add with a carry running through all three words */
        movl $0xffffffff, %eax
        movl $0xffffffff, %ebx
        movl $0x7fffffff, %ecx
        addl $1, %eax
        adcl $0, %ebx
        adcl $0, %ecx
        CHECKF OSZAPC, "add96.flags", 0x00000894
        CHECKR %eax, "add96.w0", 0x00000000
        CHECKR %ebx, "add96.w1", 0x00000000
        CHECKR %ecx, "add96.w2", 0x80000000

        /* 96-bit subtract borrowing through all three words: 0 - 1 */
        xorl %eax, %eax
        xorl %ebx, %ebx
        xorl %ecx, %ecx
        subl $1, %eax
        sbbl $0, %ebx
        sbbl $0, %ecx
        CHECKF OSZAPC, "sub96.flags", 0x00000095
        CHECKR %ecx, "sub96.w2", 0xffffffff

        /* 64-bit add of memory operands: 0x89abcdef_fedcba98 + 0x76543210_12345679 */
        movl num_a, %eax
        movl num_a+4, %edx
        addl num_b, %eax
        adcl num_b+4, %edx
        CHECKF OSZAPC, "add64.flags", 0x00000055
        CHECKR %eax, "add64.lo", 0x11111111
        CHECKR %edx, "add64.hi", 0x00000000

        /* adc/sbb with an all-ones source and carry in: result unchanged, CF stays */
        movl $5, %eax
        stc
        adcl $0xffffffff, %eax
        CHECKF OSZAPC, "adc.minus1.flags", 0x00000015
        CHECK "adc.minus1", 0x00000005
        movl $5, %eax
        stc
        sbbl $0xffffffff, %eax
        CHECKF OSZAPC, "sbb.minus1.flags", 0x00000015
        CHECK "sbb.minus1", 0x00000005
        movl $0x7fffffff, %eax
        stc
        adcl $0, %eax
        CHECKF OSZAPC, "adc.ovf.flags", 0x00000894
        movl $0x80000000, %eax
        stc
        sbbl $0, %eax
        CHECKF OSZAPC, "sbb.ovf.flags", 0x00000814
        CHECK "sbb.ovf", 0x7fffffff

        /* 8-bit and 16-bit forms (upper bits must be kept) */
        movl $0x12345678, %eax
        movb $0x7f, %bl
        addb %bl, %al                   /* 0x78 + 0x7f = 0xf7 */
        CHECKF OSZAPC, "add8.flags", 0x00000890
        CHECK "add8", 0x123456f7
        addb $0x09, %ah                 /* 0x56 + 0x09 = 0x5f */
        CHECKF OSZAPC, "add8h.flags", 0x00000004
        CHECK "add8h", 0x12345ff7
        movl $0xabcdffff, %eax
        addw $1, %ax
        CHECKF OSZAPC, "add16.flags", 0x00000055
        CHECK "add16", 0xabcd0000
        movl $0xabcd8000, %eax
        subw $1, %ax
        CHECKF OSZAPC, "sub16.flags", 0x00000814
        CHECK "sub16", 0xabcd7fff
        movw $0x1234, %cx
        stc
        sbbw $0x1234, %cx
        CHECKF OSZAPC, "sbb16.flags", 0x00000095
        CHECKR %ecx, "sbb16", 0xffffffff
        movb $0x80, %dl
        stc
        adcb $0x7f, %dl
        CHECKF OSZAPC, "adc8.flags", 0x00000055
        CHECKR %edx, "adc8", 0x00000000

        /* add/sub with memory destinations */
        movl $0x10, mem_w
        addl $0xfffffff0, mem_w
        CHECKF OSZAPC, "addm.flags", 0x00000045
        CHECKR mem_w, "addm", 0x00000000
        subb $1, mem_w+1
        CHECKF OSZAPC, "subm8.flags", 0x00000095
        CHECKR mem_w, "subm8", 0x0000ff00

        /* inc and dec leave CF alone */
        movl $0x7fffffff, %eax
        stc
        incl %eax
        CHECKF OSZAPC, "inc.flags", 0x00000895
        CHECK "inc", 0x80000000
        clc
        decl %eax
        CHECKF OSZAPC, "dec.flags", 0x00000814
        movb $0, %bl
        stc
        decb %bl
        CHECKF OSZAPC, "dec8.flags", 0x00000095
        movw $0xffff, %si
        clc
        incw %si
        CHECKF OSZAPC, "inc16.flags", 0x00000054

        /* neg: CF = (operand != 0) */
        movl $0, %eax
        negl %eax
        CHECKF OSZAPC, "neg0.flags", 0x00000044
        movl $0x80000000, %eax
        negl %eax
        CHECKF OSZAPC, "neg.min.flags", 0x00000885
        CHECK "neg.min", 0x80000000
        movl $1, %eax
        negl %eax
        CHECKF OSZAPC, "neg1.flags", 0x00000095
        CHECK "neg1", 0xffffffff
        movb $0x05, %cl
        negb %cl
        CHECKR %ecx, "neg8", 0xfffffffb

        /* logic ops clear CF and OF; AF is undefined */
        movl $0xf0f0f0f0, %eax
        stc
        andl $0x0ff00ff0, %eax
        CHECKF OSZPC, "and.flags", 0x00000004
        CHECK "and", 0x00f000f0
        orl $0x0f000001, %eax
        CHECKF OSZPC, "or.flags", 0x00000000
        CHECK "or", 0x0ff000f1
        xorl %eax, %eax
        CHECKF OSZPC, "xor.self.flags", 0x00000044
        movl $0x55aa55aa, %eax
        xorw $0xffff, %ax
        CHECKF OSZPC, "xor16.flags", 0x00000084
        CHECK "xor16", 0x55aaaa55
        notl %eax
        CHECK "not", 0xaa5555aa
        testb $0x81, %al
        CHECKF OSZPC, "test8.flags", 0x00000080
        testl $0x01000000, %eax
        CHECKF OSZPC, "test.zero.flags", 0x00000044

        /* cmp sets flags like sub and keeps the operand */
        movl $3, %eax
        cmpl $5, %eax
        CHECKF OSZAPC, "cmp.3.5.flags", 0x00000091
        CHECK "cmp.keeps", 0x00000003
        movl $0x80000000, %eax
        cmpl $1, %eax
        CHECKF OSZAPC, "cmp.min.1.flags", 0x00000814
        movb $0x40, %al
        cmpb $0xc0, %al
        CHECKF OSZAPC, "cmp8.flags", 0x00000881
        movl $1, mem_w
        cmpl mem_w, %eax
        CHECKF OSZAPC, "cmpm.flags", 0x00000094

        /* a long dependent chain: sum and alternating-sign sum with carries counted */
        xorl %eax, %eax
        xorl %edx, %edx
        movl $0x9e3779b9, %ebx
        movl $1000, %ecx
1:      addl %ebx, %eax
        adcl $0, %edx
        roll $5, %ebx
        xorl %ecx, %ebx
        decl %ecx
        jnz 1b
        CHECK "chain.sum.lo", 0x55423eb6
        CHECKR %edx, "chain.sum.hi", 0x000001f3
        ret

        .data
        .align 4
num_a:  .long 0xfedcba98, 0x89abcdef
num_b:  .long 0x12345679, 0x76543210
mem_w:  .long 0
