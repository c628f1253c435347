/* stack: PUSH/POP (registers, immediates, memory, ESP itself, 16-bit forms),
 * PUSHA/POPA, PUSHF/POPF, CALL/RET (direct, through a register, through
 * memory, RET imm16), ENTER with nesting levels 0..3 and LEAVE, and
 * recursion (Fibonacci, Ackermann) deep enough to use a few KB of stack. */
        .include "guest.inc"
        GUEST "stack", 0x18

main:
        movl %esp, saved_esp

        /* push/pop basics */
        pushl $0x12345678
        pushl $-2                       /* imm8, sign-extended */
        popl %eax
        popl %ebx
        CHECK "push.imm8", 0xfffffffe
        CHECKR %ebx, "push.imm32", 0x12345678
        movl %esp, %ecx
        pushl %esp                      /* pushes the value before the push */
        popl %eax
        subl %ecx, %eax
        CHECK "push.esp.delta", 0x00000000
        movl $0xcafe, mem1
        pushl mem1
        popl mem2
        CHECKR mem2, "push.pop.mem", 0x0000cafe
        pushl $0x55
        pushl $0x66
        popl (%esp)                     /* ESP is incremented before the store address is computed */
        popl %eax
        CHECK "pop.to.esp.mem", 0x00000066
        movl %esp, %ecx
        pushw $0x1234                   /* 16-bit push: ESP moves by 2 */
        movl %ecx, %eax
        subl %esp, %eax
        CHECK "pushw.delta", 0x00000002
        movl $0xffff0000, %edx
        popw %dx                        /* the upper half of EDX stays */
        CHECKR %edx, "popw", 0xffff1234
        cmpl %esp, %ecx
        sete %al
        movzbl %al, %eax
        CHECK "pushw.balanced", 0x00000001

        /* pusha/popa: ESP slot pushed as the original, ignored on pop */
        movl $0xa, %eax
        movl $0xc, %ecx
        movl $0xd, %edx
        movl $0xb, %ebx
        movl $0xbb, %ebp
        movl $0x51, %esi
        movl $0xd1, %edi
        movl %esp, mem1
        pushal
        movl 12(%esp), %eax             /* the ESP slot */
        subl mem1, %eax
        CHECK "pusha.esp.slot", 0x00000000
        movl 28(%esp), %eax
        CHECK "pusha.eax.slot", 0x0000000a
        movl $0x99999999, 12(%esp)
        xorl %eax, %eax
        xorl %ecx, %ecx
        xorl %edx, %edx
        xorl %ebx, %ebx
        xorl %ebp, %ebp
        xorl %esi, %esi
        xorl %edi, %edi
        popal
        leal (%eax,%ecx,2), %eax        /* 0xa + 2*0xc = 0x22 */
        addl %edx, %eax
        addl %ebx, %eax
        addl %ebp, %eax
        addl %esi, %eax
        addl %edi, %eax
        CHECK "popa.sum", 0x00000217
        movl %esp, %eax
        subl mem1, %eax
        CHECK "popa.esp", 0x00000000

        /* pushf/popf round trip of the arithmetic flags and DF */
        pushl $(2 | OF | SF | ZF | AF | PF | CF | DF)
        popfl
        pushfl
        popl %eax
        cld
        andl $(OSZAPC | DF), %eax
        CHECK "popf.pushf", 0x00000cd5
        pushl $2
        popfl
        pushfl
        popl %eax
        andl $(OSZAPC | DF), %eax
        CHECK "popf.clear", 0x00000000

        /* calls and returns */
        call ret_sum                    /* direct */
        CHECK "call.direct", 0x00003333
        movl $ret_sum, %ebx
        call *%ebx                      /* through a register */
        CHECK "call.reg", 0x00003333
        call *fn_ptr                    /* through memory */
        CHECK "call.mem", 0x00003333
        movl $2, %ecx
        call *fn_table(,%ecx,4)         /* through a table */
        CHECK "call.table", 0x00000003
        movl %esp, %ebx
        pushl $5
        pushl $7
        pushl $11
        call add3_stdcall               /* ret $12 pops the arguments */
        CHECK "ret.imm", 0x00000017
        subl %esp, %ebx
        CHECKR %ebx, "ret.imm.balanced", 0x00000000
        call get_eip                    /* call/pop idiom */
1:      subl $1b, %eax
        CHECK "get.eip", 0x00000000

        /* enter/leave */
        movl $0xbbbb0000, %ebp
        movl %esp, %edi
        enter $16, $0
        movl %edi, %eax
        subl %esp, %eax
        CHECK "enter0.size", 0x00000014
        movl (%ebp), %eax
        CHECK "enter0.saved.ebp", 0xbbbb0000
        leave
        CHECKR %ebp, "leave.ebp", 0xbbbb0000
        subl %esp, %edi
        CHECKR %edi, "leave.balanced", 0x00000000
        /* nested frames: level 1, then 2, then 3 below it */
        movl %esp, %edi
        movl $outer_frame_end, %ebp     /* a fake caller frame with display entries */
        enter $8, $1
        movl %ebp, frame1
        movl %edi, %eax
        subl %esp, %eax
        CHECK "enter1.size", 0x00000010
        movl -4(%ebp), %eax             /* level 1 pushes the new frame pointer */
        subl %ebp, %eax
        CHECK "enter1.display", 0x00000000
        enter $4, $2
        movl -4(%ebp), %eax             /* copied from the level-1 frame's display */
        subl frame1, %eax
        CHECK "enter2.display0", 0x00000000
        movl -8(%ebp), %eax
        subl %ebp, %eax
        CHECK "enter2.display1", 0x00000000
        enter $0, $3
        movl -4(%ebp), %eax
        subl frame1, %eax
        CHECK "enter3.display0", 0x00000000
        movl -12(%ebp), %eax
        subl %ebp, %eax
        CHECK "enter3.display2", 0x00000000
        leave
        leave
        leave
        CHECKR %ebp, "leave3.ebp", outer_frame_end
        movl %edi, %eax
        subl %esp, %eax
        CHECK "leave3.balanced", 0x00000000

        /* recursion */
        movl $20, %eax
        call fib
        CHECK "fib20", 0x00001a6d
        movl $2, %eax                   /* ackermann(2, 3) = 9 */
        movl $3, %ebx
        call ackermann
        CHECK "ack.2.3", 0x00000009
        movl $3, %eax                   /* ackermann(3, 4) = 125, ~1 KB deep */
        movl $4, %ebx
        call ackermann
        CHECK "ack.3.4", 0x0000007d

        movl saved_esp, %eax
        subl %esp, %eax
        CHECK "main.balanced", 0x00000000
        ret

ret_sum:
        movl $0x1111, %eax
        addl $0x2222, %eax
        ret
ret_two:
        movl $2, %eax
        ret
ret_three:
        movl $3, %eax
        ret
add3_stdcall:
        movl 4(%esp), %eax
        addl 8(%esp), %eax
        addl 12(%esp), %eax
        ret $12
get_eip:
        movl (%esp), %eax
        ret

/* fib: EAX = fib(EAX), naive recursion, clobbers nothing else */
fib:
        cmpl $2, %eax
        jb 2f
        pushl %ebx
        pushl %eax
        decl %eax
        call fib
        movl %eax, %ebx
        popl %eax
        subl $2, %eax
        call fib
        addl %ebx, %eax
        popl %ebx
2:      ret

/* ackermann: EAX = A(EAX, EBX), with EBP frames */
ackermann:
        pushl %ebp
        movl %esp, %ebp
        testl %eax, %eax
        jnz 1f
        leal 1(%ebx), %eax              /* A(0, n) = n + 1 */
        jmp 3f
1:      testl %ebx, %ebx
        jnz 2f
        decl %eax                       /* A(m, 0) = A(m - 1, 1) */
        movl $1, %ebx
        call ackermann
        jmp 3f
2:      pushl %eax                      /* A(m, n) = A(m - 1, A(m, n - 1)) */
        decl %ebx
        call ackermann
        movl %eax, %ebx
        popl %eax
        decl %eax
        call ackermann
3:      movl %ebp, %esp
        popl %ebp
        ret

        .data
        .align 4
fn_ptr: .long ret_sum
fn_table: .long ret_sum, ret_two, ret_three
mem1:   .long 0
mem2:   .long 0
saved_esp: .long 0
frame1: .long 0
outer_display:
        .long 0x0d150001, 0x0d150002, 0x0d150003
outer_frame_end:
        .long 0
