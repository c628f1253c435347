/* sys_modes: mode switches, 16- and 32-bit code and stack segments (a -bios image).
 *
 * Intel SDM Vol. 3A 9.9 (switching to protected mode and back to real
 * mode through a 16-bit segment), 3.4.5 (D/B: the default operand size of a
 * code segment, the stack pointer size of a stack segment: with B = 0 pushes
 * use SP and leave ESP's upper half alone), 6.12.1 (a 16-bit interrupt gate
 * pushes FLAGS, CS and IP as words), Vol. 2 CALL/RET far (operand size
 * decides what is pushed and popped), LMSW (cannot clear PE), SMSW.
 */
        .include "sys_bios.inc"
        GUEST "sys_modes", 0x32

        .set SEL_STACK16, SCRATCH       /* 16-bit data (B = 0) at stack16_base */
        .set SEL_STACK32, SCRATCH + 8   /* 32-bit data (B = 1) at stack16_base */

        .section .lowdata, "aw", @nobits
        .balign 4
real_count:     .space 4
real_msw:       .space 4
real_cs:        .space 4
p16_sp_delta:   .space 4        /* SP inside int $0x41 (16-bit gate) minus SP before */
p16_frame:      .space 8        /* IP, CS, FLAGS the 16-bit gate pushed */
p16_values:     .space 16
p16_cs:         .space 4
p16_sp:         .space 4

        .section .text16, "ax"
        .code16
real_entry:
        ret

/* real mode: count the visits, look at MSW and CS */
real_visit:
        incl real_count
        smsw %ax
        movzwl %ax, %eax
        movl %eax, real_msw
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, real_cs
        ret

/* 16-bit protected-mode code (CS = CODE16), reached by a 32-bit far call */
pm16_func:
        movw %cs, %ax
        movw %ax, p16_cs                /* DS is KDATA, flat: .lowdata is reachable */
        movw %sp, %bx
        pushw $0x1234                   /* 16-bit push: 2 bytes */
        movw %sp, %cx
        subw %cx, %bx
        movw %bx, p16_values            /* 2 */
        pushl $0x89abcdef               /* operand-size prefix: 4 bytes */
        movw %sp, %dx
        subw %dx, %cx
        movw %cx, p16_values + 2        /* 4 */
        popl %eax
        movl %eax, p16_values + 4       /* 89abcdef */
        popw %ax
        movw %ax, p16_values + 8        /* 1234 */
        movl $0x00400000, %ebx          /* address-size prefix: a 32-bit address */
        addr32 movl (%ebx), %eax
        movl %eax, p16_values + 12
        /* a 16-bit interrupt gate: 3 words pushed */
        movw %sp, p16_sp
        int $0x41
pm16_int_ret:
        lretl                           /* the caller pushed a 32-bit CS:EIP */

gate16_handler:
        movw %sp, %ax
        movw p16_sp, %bx
        subw %ax, %bx
        movw %bx, p16_sp_delta
        movw (%esp), %ax                /* SS is KDATA (B = 1): ESP addresses the stack */
        movw %ax, p16_frame
        movw 2(%esp), %ax
        movw %ax, p16_frame + 2
        movw 4(%esp), %ax
        movw %ax, p16_frame + 4
        iret                            /* 16-bit IRET */

        .text
        .code32
main:
        call sys_init
        PRINT "real <-> protected\n"
        CALL_REAL real_visit
        CALL_REAL real_visit
        CALL_REAL real_visit
        CHECKR real_count, "visits to real mode", 3
        CHECKR real_msw, "msw in real mode", 0x0010
        CHECKR real_cs, "cs in real mode", 0xf000
        smsw %eax
        andl $0xffff, %eax
        CHECK "msw back in protected mode", 0x0011
        movl %cr0, %eax
        CHECK "cr0 back in protected mode", 0x60000011
        xorl %eax, %eax
        lmsw %ax
        movl %cr0, %eax
        CHECK "lmsw 0 keeps pe", 0x60000011
        movw %cs, %ax
        movzwl %ax, %eax
        CHECK "cs", KCODE

        PRINT "16-bit code segment\n"
        movl $0x5a5aa5a5, 0x00400000
        SET_IDT 0x41, CODE16, gate16_handler, 0x86
        movl %esp, %esi
        lcall $CODE16, $pm16_func
        subl %esp, %esi
        CHECKR %esi, "esp after lretl", 0
        movzwl p16_cs, %eax
        CHECK "cs in the 16-bit segment", CODE16
        movzwl p16_values, %eax
        CHECK "pushw: 2 bytes", 2
        movzwl p16_values + 2, %eax
        CHECK "pushl with 66h: 4 bytes", 4
        CHECKR p16_values + 4, "popl", 0x89abcdef
        movzwl p16_values + 8, %eax
        CHECK "popw", 0x1234
        CHECKR p16_values + 12, "addr32 load", 0x5a5aa5a5
        movzwl p16_sp_delta, %eax
        CHECK "16-bit gate pushed 3 words", 6
        movzwl p16_frame, %eax
        CHECK "16-bit gate: ip", pm16_int_ret
        movzwl p16_frame + 2, %eax
        CHECK "16-bit gate: cs", CODE16
        movzwl p16_frame + 4, %eax
        andl $0x0702, %eax              /* the fixed bit 1, TF IF DF */
        CHECK "16-bit gate: flags", 0x0002

        PRINT "16-bit stack segment\n"
        SET_DESC SEL_STACK16, stack16_base, 0xffff, ACC_DATA0, FL_16
        SET_DESC SEL_STACK32, stack16_base, 0xffffffff, ACC_DATA0, FL_32
        SET_IDT 0x42, KCODE, stack16_int_handler, GATE_INT32
        movl %esp, saved_esp
        movw $SEL_STACK16, %ax
        movw %ax, %ss
        movl $0xabcd0100, %esp
        movl $0x11223344, %eax
        pushl %eax                      /* SP = 00fc, ESP's upper half stays */
        movl %esp, %ebx
        pushw $0x5566                   /* SP = 00fa */
        movl %esp, %ecx
        call 1f                         /* 4 bytes at SS:00f6 */
1:      movl %esp, %edx
        popl %edi                       /* the return address */
        int $0x42                       /* EFLAGS, CS, EIP at SS:00ee */
after_int42:
        movl %esp, %ebp
        popw %si
        popl %eax
        movw $KDATA, %si
        movw %si, %ss
        movl saved_esp, %esp
        CHECKR %ebx, "esp after pushl (b = 0)", 0xabcd00fc
        CHECKR %ecx, "esp after pushw", 0xabcd00fa
        CHECKR %edx, "esp after call", 0xabcd00f6
        CHECKR %edi, "call pushed", 1b
        CHECKR %ebp, "esp after int and iret", 0xabcd00fa
        CHECKR %eax, "value popped", 0x11223344
        CHECKR stack16_base + 0xfc, "memory at ss:00fc", 0x11223344
        CHECKR int_esp, "esp in the handler", 0xabcd00ee
        CHECKR stack16_base + 0xee, "eip pushed at ss:00ee", after_int42
        /* the same with B = 1: ESP is used whole */
        movw $SEL_STACK32, %ax
        movw %ax, %ss
        movl $0x200, %esp
        pushl $0x77
        movl %esp, %ebx
        movw $KDATA, %ax
        movw %ax, %ss
        movl saved_esp, %esp
        CHECKR %ebx, "esp after pushl (b = 1)", 0x1fc
        CHECKR stack16_base + 0x1fc, "memory at ss:01fc", 0x77
        ret

/* int $0x42 on a 16-bit stack through a 32-bit gate: the frame goes to SS:SP */
stack16_int_handler:
        movl %esp, int_esp
        iretl

        .data
saved_esp: .long 0
int_esp:   .long 0

        .bss
        .balign 4096
stack16_base:
        .space 0x1000
