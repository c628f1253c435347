/* sys_rings: privilege levels, call gates, stack switches, returns to outer rings.
 *
 * Intel SDM Vol. 3A 5.8 (call gates: the DPL check against CPL and RPL, the
 * stack switch through the TSS with the parameters copied, RET to an outer
 * ring popping SS:ESP and nulling data segments the outer ring may not use),
 * 6.12.1 (interrupts from ring 3: SS:ESP of the inner ring from the TSS, the
 * outer SS:ESP pushed), 6.12.1.1 / Vol. 2A INT n (a software interrupt
 * through a gate with DPL < CPL is #GP(vector * 8 + 2)), Vol. 2A IRET and
 * Vol. 1 19.5 (IOPL, the I/O permission bitmap), Vol. 2B SYSENTER/SYSEXIT,
 * and the instructions ring 3 may not execute (#GP(0)).
 */
        .include "sys.inc"
        GUEST "sys_rings", 0x33

        .set SEL_GATE3, SCRATCH         /* call gate, DPL 3, to gate_target, 2 parameters */
        .set SEL_GATE0, SCRATCH + 8     /* call gate, DPL 0 */
        .set SEL_CONF0, SCRATCH + 16    /* conforming code, DPL 0 */
        .set SEL_GATE_CONF, SCRATCH + 24  /* call gate, DPL 3, to conforming code */
        .set VEC_DPL0, 0x40             /* interrupt gate, DPL 0 */
        .set VEC_DPL3, 0x41             /* interrupt gate, DPL 3 */
        .set VEC_TRAP3, 0x42            /* trap gate, DPL 3 */

        .set MSR_SYSENTER_CS, 0x174
        .set MSR_SYSENTER_ESP, 0x175
        .set MSR_SYSENTER_EIP, 0x176

/* U_FAULT name, vector, error, instruction: expect that fault (EIP = the instruction) */
.macro U_FAULT name:req, vec:req, err:req, insn:vararg
        TRY 9f
8:      \insn
9:      EXPECT "\name", \vec, \err, 8b
.endm

/* U_INT name, vector, instruction: expect a software interrupt (EIP = the next one) */
.macro U_INT name:req, vec:req, insn:vararg
        TRY 9f
8:      \insn
9:      EXPECT "\name", \vec, 0xffffffff, 9b
.endm

        .data
        .balign 4
user_cs:        .long 0
user_ss:        .long 0
user_ds:        .long 0
user_esp:       .long 0
gate_cs:        .long 0
gate_ss:        .long 0
gate_esp:       .long 0
gate_params:    .long 0, 0
gate_ret:       .long 0, 0, 0, 0        /* EIP, CS, ESP, SS on the inner stack */
after_ret_es:   .long 0
after_ret_fs:   .long 0
after_ret_esp:  .long 0
conf_cs:        .long 0
sys_cs:         .long 0
sys_ss:         .long 0
sys_esp:        .long 0
sys_eflags:     .long 0
after_sysexit:  .long 0, 0, 0
popf_if:        .long 0
iopl3_ok:       .long 0

        .text
main:
        call sys_init
        SET_GATE_DESC SEL_GATE3, KCODE, gate_target, GATE_CALL32|0x60, 2
        SET_GATE_DESC SEL_GATE0, KCODE, gate_target, GATE_CALL32, 2
        SET_DESC SEL_CONF0, 0, 0xffffffff, 0x9e, FL_32
        SET_GATE_DESC SEL_GATE_CONF, SEL_CONF0, conforming_target, GATE_CALL32|0x60, 0
        SET_IDT VEC_DPL0, KCODE, exc_stubs+16*VEC_DPL0, GATE_INT32
        SET_IDT VEC_DPL3, KCODE, exc_stubs+16*VEC_DPL3, GATE_INT32|0x60
        SET_IDT VEC_TRAP3, KCODE, exc_stubs+16*VEC_TRAP3, GATE_TRAP32|0x60
        SET_IDT 3, KCODE, exc_stubs+16*3, GATE_INT32|0x60     /* INT3 usable from ring 3 */

        PRINT "ring 3 via iret\n"
        RUN_USER user_basics
        CHECKR user_cs, "cs at ring 3", UCODE
        CHECKR user_ss, "ss at ring 3", UDATA
        CHECKR user_ds, "ds at ring 3", UDATA
        CHECKR user_esp, "esp at ring 3", user_stack_top

        PRINT "ring 3: privileged instructions\n"
        RUN_USER user_privileged

        PRINT "ring 3: interrupts and the tss stack\n"
        RUN_USER user_interrupts

        PRINT "call gates\n"
        RUN_USER user_call_gates
        CHECKR gate_cs, "cs in the gate target", KCODE
        CHECKR gate_ss, "ss from the tss", KDATA
        CHECKR gate_esp, "esp from the tss, after the pushes", tss_stack_top-24
        CHECKR gate_params, "parameter 1 copied", 0x1111
        CHECKR gate_params+4, "parameter 2 copied", 0x2222
        CHECKR gate_ret, "pushed eip", user_gate_ret
        CHECKR gate_ret+4, "pushed cs", UCODE
        CHECKR gate_ret+8, "pushed esp", user_stack_top-8
        CHECKR gate_ret+12, "pushed ss", UDATA
        CHECKR after_ret_es, "es (dpl 0) nulled by ret to ring 3", 0
        CHECKR after_ret_fs, "fs (dpl 3) kept", UDATA
        CHECKR after_ret_esp, "esp after ret 8", user_stack_top
        /* through a call gate to conforming code the CPL stays 3 and CS.RPL is 3
           (SDM Vol. 2A CALL, SAME-PRIVILEGE); QEMU 7.2 loads RPL 0 there, so
           only the round trip is compared (pyemu's CS: tests/cpu/test_far.py) */
        CHECKR conf_cs, "call gate to conforming code and back", 1

        PRINT "ring 3 via retf\n"
        movl %esp, kernel_esp
        movl $1f, resume_kernel
        pushl $UDATA
        pushl $user_stack_top
        pushl $UCODE
        pushl $user_retf
        lret
1:      CHECKR user_cs, "cs after retf", UCODE

        PRINT "iopl 3\n"
        movl %esp, kernel_esp
        movl $1f, resume_kernel
        pushl $UDATA
        pushl $user_stack_top
        pushl $(2|EFL_IOPL3)
        pushl $UCODE
        pushl $user_iopl3
        iretl
1:      CHECKR iopl3_ok, "cli, sti, in at iopl 3", 1

        PRINT "time stamp counter\n"
        rdtsc
        movl %eax, %esi
        movl %edx, %edi
        rdtsc
        subl %esi, %eax
        sbbl %edi, %edx
        orl %eax, %edx                  /* nonzero unless the two reads were equal */
        setnz %al
        movzbl %al, %eax
        CHECK "rdtsc advances", 1
        movl %cr4, %eax
        orl $4, %eax                    /* CR4.TSD: RDTSC at CPL 0 only */
        movl %eax, %cr4
        TRY 1f
        rdtsc
1:      EXPECT_NONE "rdtsc at cpl 0 with tsd"
        RUN_USER user_rdtsc
        movl %cr4, %eax
        andl $~4, %eax
        movl %eax, %cr4
        RUN_USER user_rdtsc_ok

        PRINT "sysenter / sysexit\n"
        xorl %edx, %edx
        movl $MSR_SYSENTER_CS, %ecx
        movl $KCODE, %eax
        wrmsr
        movl $MSR_SYSENTER_ESP, %ecx
        movl $tss_stack_top-64, %eax
        wrmsr
        movl $MSR_SYSENTER_EIP, %ecx
        movl $sysenter_target, %eax
        wrmsr
        movl $MSR_SYSENTER_ESP, %ecx
        rdmsr
        CHECK "sysenter_esp reads back", tss_stack_top-64
        RUN_USER user_sysenter
        CHECKR sys_cs, "cs after sysenter", KCODE
        CHECKR sys_ss, "ss after sysenter", KDATA
        CHECKR sys_esp, "esp after sysenter", tss_stack_top-64
        movl sys_eflags, %eax
        andl $(EFL_IF|EFL_TF), %eax
        CHECK "if tf after sysenter", 0
        CHECKR after_sysexit, "cs after sysexit", UCODE
        CHECKR after_sysexit+4, "ss after sysexit", UDATA
        CHECKR after_sysexit+8, "esp after sysexit", user_stack_top-0x40
        ret

/* ---- kernel-side targets ---- */
gate_target:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, gate_cs
        movw %ss, %ax
        movzwl %ax, %eax
        movl %eax, gate_ss
        movl %esp, gate_esp
        movl 8(%esp), %eax              /* EIP, CS, then the parameters (last pushed first) */
        movl %eax, gate_params + 4
        movl 12(%esp), %eax
        movl %eax, gate_params
        movl (%esp), %eax
        movl %eax, gate_ret
        movl 4(%esp), %eax
        movl %eax, gate_ret + 4
        movl 16(%esp), %eax
        movl %eax, gate_ret + 8
        movl 20(%esp), %eax
        movl %eax, gate_ret + 12
        movw $KDATA, %ax                /* DPL 0: must not survive the return to ring 3 */
        movw %ax, %es
        lret $8

conforming_target:
        movl $1, conf_cs
        lret

sysenter_target:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, sys_cs
        movw %ss, %ax
        movzwl %ax, %eax
        movl %eax, sys_ss
        movl %esp, sys_esp
        pushfl
        popl sys_eflags
        movl $user_after_sysexit, %edx
        movl $user_stack_top-0x40, %ecx
        sysexit

/* ---- ring 3 ---- */
user_basics:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, user_cs
        movw %ss, %ax
        movzwl %ax, %eax
        movl %eax, user_ss
        movw %ds, %ax
        movzwl %ax, %eax
        movl %eax, user_ds
        movl %esp, user_esp
        int $VEC_USER_RETURN

user_privileged:
        U_FAULT "cli", 13, 0, cli
        U_FAULT "sti", 13, 0, sti
        U_FAULT "hlt", 13, 0, hlt
        U_FAULT "mov from cr0", 13, 0, movl %cr0, %eax
        U_FAULT "mov to cr3", 13, 0, movl %eax, %cr3
        U_FAULT "mov from dr7", 13, 0, movl %dr7, %eax
        U_FAULT "lgdt", 13, 0, lgdt gdt_ptr
        U_FAULT "lidt", 13, 0, lidt idt_ptr
        U_FAULT "lldt", 13, 0, lldt %ax
        U_FAULT "ltr", 13, 0, ltr %ax
        U_FAULT "clts", 13, 0, clts
        U_FAULT "invlpg", 13, 0, invlpg 0
        U_FAULT "wrmsr", 13, 0, wrmsr
        U_FAULT "rdmsr", 13, 0, rdmsr
        U_FAULT "lmsw", 13, 0, lmsw %ax
        U_FAULT "wbinvd", 13, 0, wbinvd
        U_FAULT "in 80h (bitmap)", 13, 0, inb $0x80, %al
        U_FAULT "out 21h (bitmap)", 13, 0, outb %al, $0x21
        movw $0x80, %dx
        movl $user_stack_top-16, %edi
        U_FAULT "insb", 13, 0, insb
        movw $KDATA, %ax
        U_FAULT "mov kdata to ds", 13, KDATA, movw %ax, %ds
        movw $KDATA|3, %ax
        U_FAULT "mov kdata to ss", 13, KDATA, movw %ax, %ss
        movl %esp, %ebx
        pushl $2
        pushl $KCODE
        pushl $0
        U_FAULT "iret to ring 0", 13, KCODE, iretl
        movl %ebx, %esp
        pushl $KCODE
        pushl $0
        U_FAULT "retf to ring 0", 13, KCODE, lret
        movl %ebx, %esp
        U_FAULT "call gate dpl 0", 13, SEL_GATE0, lcall $SEL_GATE0|3, $0
        U_FAULT "jmp to kernel code", 13, KCODE, ljmp $KCODE, $0
        /* allowed at ring 3 */
        movw $0x3fd, %dx
        TRY 1f
        inb %dx, %al                    /* COM1 LSR: the bitmap allows it */
        smsw %ax                        /* not privileged */
        sgdt user_stack_top - 16
        str %ax
        movl $1, %eax
        cpuid
        rdtsc
1:      EXPECT_NONE "in 3fdh, smsw, sgdt, str, cpuid, rdtsc"
        /* popf cannot change IF at CPL 3 with IOPL 0 (no fault) */
        pushl $(2|EFL_IF)
        popfl
        pushfl
        popl %eax
        andl $EFL_IF, %eax
        movl %eax, popf_if
        CHECKR popf_if, "popf at cpl 3 leaves if", 0
        int $VEC_USER_RETURN

user_interrupts:
        U_FAULT "int 40h (dpl 0)", 13, VEC_DPL0*8+2, int $VEC_DPL0
        movl $0x7fffffff, %eax
        addl $1, %eax                   /* OF = 1 */
        U_FAULT "into (dpl 0 gate)", 13, 4*8+2, into
        U_FAULT "int 5 (dpl 0)", 13, 5*8+2, int $5
        U_INT "int 41h (dpl 3)", VEC_DPL3, int $VEC_DPL3
        CHECKR exc_cs, "int 41h: pushed cs", UCODE
        CHECKR exc_ss, "int 41h: pushed ss", UDATA
        CHECKR exc_esp, "int 41h: pushed esp", user_stack_top
        CHECKR exc_frame, "int 41h: frame on the tss stack", tss_stack_top-20
        movl exc_eflags, %eax
        andl $0x3200, %eax
        CHECK "int 41h: pushed eflags (if, iopl)", 0
        U_INT "int3", 3, int3
        U_INT "int 42h (trap gate)", VEC_TRAP3, int $VEC_TRAP3
        movl exc_eflags, %eax
        andl $0x3200, %eax
        CHECK "int 42h: pushed eflags", 0
        /* a #GP from ring 3 goes to ring 0 through the DPL 0 gate of vector 13 */
        U_FAULT "#gp from ring 3", 13, 0, hlt
        CHECKR exc_cs, "#gp: pushed cs", UCODE
        CHECKR exc_frame, "#gp: frame on the tss stack", tss_stack_top-20
        int $VEC_USER_RETURN

user_call_gates:
        movw $UDATA, %ax
        movw %ax, %es
        movw %ax, %fs
        pushl $0x1111
        pushl $0x2222
        lcall $SEL_GATE3, $0xdead       /* the offset is ignored: the gate's counts */
user_gate_ret:
        movl %esp, after_ret_esp
        movw %es, %ax
        movzwl %ax, %eax
        movl %eax, after_ret_es
        movw %fs, %ax
        movzwl %ax, %eax
        movl %eax, after_ret_fs
        movw $UDATA, %ax
        movw %ax, %es
        lcall $SEL_GATE_CONF, $0
        int $VEC_USER_RETURN

user_retf:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, user_cs
        int $VEC_USER_RETURN

user_iopl3:
        cli
        sti
        cli
        inb $0x80, %al
        movl $1, iopl3_ok
        int $VEC_USER_RETURN

user_rdtsc:
        U_FAULT "rdtsc at cpl 3 with tsd", 13, 0, rdtsc
        int $VEC_USER_RETURN

user_rdtsc_ok:
        TRY 1f
        rdtsc
1:      EXPECT_NONE "rdtsc at cpl 3 without tsd"
        int $VEC_USER_RETURN

user_sysenter:
        sysenter
user_after_sysexit:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, after_sysexit
        movw %ss, %ax
        movzwl %ax, %eax
        movl %eax, after_sysexit + 4
        movl %esp, after_sysexit + 8
        int $VEC_USER_RETURN
