/* cond: the 16 conditions (o no b ae e ne be a s ns p np l ge le g) read by
 * SETcc, CMOVcc (register and memory source) and Jcc after many kinds of
 * flag producers (cmp, add, sub, adc, sbb, inc, dec, neg, logic, shifts,
 * popf), and after the flags have crossed a jump, a call/ret and a
 * flag-preserving sequence.  Each reader must give the same 16-bit mask:
 * bit k set when condition k holds. */
        .include "guest.inc"
        GUEST "cond", 0x16

/* the readers, each checked against the same expected mask; jcc runs in a
   shared routine (inline, 16 conditional branches cost pyemu 32 block
   compiles per use), and inline too where inline_jcc=1 */
.macro MASKS name:req, expected:req, inline_jcc=0
        SETCC_MASK
        CHECK "\name\().setcc", \expected
        CMOV_MASK
        CHECK "\name\().cmov", \expected
        CMOVM_MASK
        CHECK "\name\().cmovm", \expected
        call jcc_mask
        CHECK "\name\().jcc", \expected
        .if \inline_jcc
        JCC_MASK
        CHECK "\name\().jcc.inline", \expected
        .endif
.endm

main:
        movl $5, %eax
        cmpl $5, %eax
        MASKS "cmp.eq", 0x0000665a
        movl $3, %eax
        cmpl $5, %eax                   /* below, less */
        MASKS "cmp.3.5", 0x00005966, 1
        movl $-1, %eax
        cmpl $1, %eax                   /* above (unsigned), less (signed) */
        MASKS "cmp.-1.1", 0x000059aa
        movl $0x80000000, %eax
        cmpl $1, %eax                   /* signed overflow: greater-or-equal despite SF=0 */
        MASKS "cmp.min.1", 0x000056a9, 1
        movl $1, %eax
        cmpl $0x80000000, %eax
        MASKS "cmp.1.min", 0x0000a965
        movw $0x8000, %ax
        cmpw $0x7fff, %ax
        MASKS "cmp16", 0x00005aa9
        movb $0x7f, %al
        cmpb $0x80, %al
        MASKS "cmp8", 0x0000a565

        movl $0x7fffffff, %eax
        addl $1, %eax
        MASKS "add.ovf", 0x0000a5a9
        movl $0xffffffff, %eax
        addl $1, %eax
        MASKS "add.carry.zero", 0x00006656, 1
        movb $0x0f, %al
        subb $0x10, %al
        MASKS "sub8", 0x00005566
        movl $0, %eax
        stc
        adcl $0xffffffff, %eax          /* 0 + -1 + 1 = 0, carry */
        MASKS "adc.zero", 0x00006656
        movl $0, %eax
        stc
        sbbl $0, %eax                   /* -1, borrow */
        MASKS "sbb", 0x00005566

        movl $-1, %eax
        stc
        incl %eax                       /* zero, CF kept from stc */
        MASKS "inc.cf", 0x00006656
        movl $0x80000000, %eax
        clc
        decl %eax
        MASKS "dec.ovf", 0x000056a9
        movl $7, %eax
        negl %eax
        MASKS "neg", 0x00005566

        movl $0xf0f0f0f0, %eax
        andl $0x80000001, %eax
        MASKS "and", 0x000055aa
        movl $0x0f0f0f0f, %eax
        testl $0xf0f0f0f0, %eax
        MASKS "test.zero", 0x0000665a
        xorl %eax, %eax
        MASKS "xor.self", 0x0000665a
        movl $0x40000001, %eax
        shll $1, %eax                   /* OF = CF ^ MSB = 1 */
        MASKS "shl1", 0x0000a9a9
        movl $0x80000003, %eax
        sarl $1, %eax
        MASKS "sar1", 0x00005966, 1
        movl $0x80000000, %eax
        shrl $1, %eax
        MASKS "shr1", 0x000056a9

        pushl $(2 | SF | PF)            /* SF set, OF clear: less */
        popfl
        MASKS "popf.sf", 0x000055aa
        pushl $(2 | OF | ZF | CF)
        popfl
        MASKS "popf.of.zf.cf", 0x00005a55, 1

        /* flags that cross block boundaries and flag-preserving instructions */
        movl $3, %eax
        cmpl $5, %eax
        jmp 1f
1:      MASKS "after.jmp", 0x00005966
        call set_flags_above
        MASKS "after.call", 0x0000aaaa
        movl $10, %ecx
        cmpl $10, %ecx
        leal 4(%ecx), %ecx
        movl $0, %edx
        pushl %edx
        popl %edx
        notl %edx
        MASKS "after.lea.mov.not", 0x0000665a
        movl $2, %ecx
        movl $-5, %eax
        cmpl $-5, %eax
2:      loop 2b                         /* LOOP does not touch the flags */
        MASKS "after.loop", 0x0000665a

        /* a conditional move chain: max/min of a list, signed and unsigned */
        movl $list, %esi
        movl $8, %ecx
        movl (%esi), %eax               /* signed max */
        movl (%esi), %ebx               /* signed min */
        movl (%esi), %edx               /* unsigned max */
        movl (%esi), %edi               /* unsigned min */
3:      movl (%esi), %ebp
        cmpl %eax, %ebp
        cmovgl %ebp, %eax
        cmpl %ebx, %ebp
        cmovll %ebp, %ebx
        cmpl %edx, %ebp
        cmoval %ebp, %edx
        cmpl %edi, %ebp
        cmovbl %ebp, %edi
        addl $4, %esi
        loop 3b
        CHECK "list.smax", 0x7ffffff0
        CHECKR %ebx, "list.smin", 0x80000005
        CHECKR %edx, "list.umax", 0xfffffffe
        CHECKR %edi, "list.umin", 0x00000003
        ret

set_flags_above:
        movl $9, %eax
        cmpl $2, %eax
        ret

        .data
        .align 4
list:   .long 17, -2, 0x7ffffff0, 3, 0x80000005, 1000, -100, 42
