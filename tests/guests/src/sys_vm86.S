/* sys_vm86: virtual-8086 mode (Intel SDM Vol. 3A chapter 20, no VME).
 *
 * 20.2: entered by IRET from CPL 0 with EFLAGS.VM in the popped image (EIP,
 * CS, EFLAGS, ESP, SS, ES, DS, FS, GS); segments are real-mode style (base =
 * selector * 16, 64 KB), CPL is 3.  20.2.7: with IOPL < 3, CLI, STI, PUSHF,
 * POPF, INT n and IRET raise #GP(0); INT3 and INTO are not IOPL-sensitive;
 * IN/OUT consult the TSS I/O bitmap whatever IOPL is; privileged
 * instructions raise #GP(0) and protected-mode-only ones #UD.  With IOPL 3
 * POPF cannot change IOPL.  20.3.1: an interrupt or exception leaves through
 * the IDT to a CPL 0 handler (its gate DPL must be 3 for INT n / INT3),
 * pushing GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP on the TSS stack and
 * loading null selectors into DS, ES, FS, GS.
 */
        .include "sys.inc"
        GUEST "sys_vm86", 0x39

        .set V86_BASE, 0x7000           /* the virtual-8086 code is copied here */
        .set V86_CS, V86_BASE >> 4
        .set V86_DS, 0x0800
        .set V86_SS, 0x0900
        .set V86_SP, 0x1000
        .set VEC_EXIT, 0x30             /* INT 30h: back to the monitor (gate DPL 3) */

/* VM86 name, entry, eflags: run the snippet at entry in virtual-8086 mode */
.macro VM86 name:req, entry:req, eflags:req
        pushl $(\eflags)
        pushl $((\entry) - v86_start)
        call run_vm86
        leal 8(%esp), %esp
.endm

/* VFAULT name, entry, eflags, vector, error, offset: it must leave with that event */
.macro VFAULT name:req, entry:req, eflags:req, vec:req, err:req, ip:req
        VM86 "\name", \entry, \eflags
        EXPECT "\name", \vec, \err, (\ip)-v86_start
        CHECKR exc_cs, "\name\().cs", V86_CS
.endm

        .set TSS_V86, SCRATCH

        .data
        .balign 128
tss_v86:    .fill 0x68, 1, 0
        .balign 4
v86_frame:  .fill 9, 4, 0               /* EIP CS EFLAGS ESP SS ES DS FS GS */
v86_regs:   .fill 8, 4, 0               /* PUSHAL order */
v86_segs:   .fill 4, 4, 0               /* DS ES FS GS in the handler */

        .bss
        .balign 16
        .space 4096
v86_task_stack:

        .text
/* run_vm86(ip, eflags): IRET into virtual-8086 mode; back when it leaves */
run_vm86:
        pushal
        movl %esp, kernel_esp
        movl $1f, resume_kernel
        movl $0xffffffff, exc_vector
        movl $0xffffffff, exc_error
        movl $0xffffffff, exc_eip
        pushl $V86_DS                   /* GS */
        pushl $V86_DS                   /* FS */
        pushl $V86_DS                   /* DS */
        pushl $V86_DS                   /* ES */
        pushl $V86_SS
        pushl $V86_SP
        movl 64(%esp), %eax             /* eflags: 32 saved + return + ip + 6 pushed */
        orl $(EFL_VM|2), %eax
        pushl %eax
        pushl $V86_CS
        pushl 68(%esp)                  /* ip */
        iretl
1:      popal
        ret

/* INT 30h from virtual-8086 mode: record the frame and the null selectors */
v86_exit:
        pushal
        movw %ds, %ax
        movzwl %ax, %eax
        movl %eax, %ss:v86_segs
        movw %es, %ax
        movzwl %ax, %eax
        movl %eax, %ss:v86_segs + 4
        movw %fs, %ax
        movzwl %ax, %eax
        movl %eax, %ss:v86_segs + 8
        movw %gs, %ax
        movzwl %ax, %eax
        movl %eax, %ss:v86_segs + 12
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movl %esp, %esi
        movl $v86_regs, %edi
        movl $8, %ecx
        cld
        rep movsl                       /* the registers, then the CPU's frame */
        movl $v86_frame, %edi
        movl $9, %ecx
        rep movsl
        leal 32(%esp), %eax
        movl %eax, exc_frame
        movl $VEC_EXIT, exc_vector
        jmp user_return_handler

main:
        call sys_init
        SET_IDT VEC_EXIT, KCODE, v86_exit, GATE_INT32|0x60
        SET_IDT 3, KCODE, exc_stubs+16*3, GATE_INT32|0x60
        movl $v86_start, %esi
        movl $V86_BASE, %edi
        movl $(v86_end - v86_start), %ecx
        cld
        rep movsb

        PRINT "entering virtual-8086 mode\n"
        VM86 "basic", v_basic, EFL_IOPL3   /* INT 30h needs IOPL 3 */
        CHECKR exc_vector, "left through int 30h", VEC_EXIT
        movzwl v86_regs+28, %eax
        CHECK "cs in v86 mode (ax)", V86_CS
        movzwl v86_regs+16, %eax
        CHECK "ds (bx)", V86_DS
        movzwl v86_regs+24, %eax
        CHECK "ss (cx)", V86_SS
        movzwl v86_regs+20, %eax
        CHECK "popped (dx)", 0x1111
        movzwl v86_regs+4, %eax
        CHECK "sp after push (si)", V86_SP-2
        CHECKR V86_DS*16+0x10, "write through ds", 0x1234
        CHECKR 0x12340, "write through es = 1234h", 0x5678
        CHECKR v86_frame, "frame: ip (after the int)", v_basic_exit+2-v86_start
        CHECKR v86_frame+4, "frame: cs", V86_CS
        movl v86_frame+8, %eax
        andl $(EFL_VM|EFL_IF|0x3000), %eax
        CHECK "frame: eflags vm, iopl", EFL_VM|0x3000
        CHECKR v86_frame+12, "frame: sp", V86_SP
        CHECKR v86_frame+16, "frame: ss", V86_SS
        CHECKR v86_frame+20, "frame: es", 0x1234
        CHECKR v86_frame+24, "frame: ds", V86_DS
        CHECKR v86_frame+28, "frame: fs", V86_DS
        CHECKR v86_frame+32, "frame: gs", 0x0abc
        CHECKR v86_segs, "handler ds", 0
        CHECKR v86_segs+4, "handler es", 0
        CHECKR v86_segs+8, "handler fs", 0
        CHECKR v86_segs+12, "handler gs", 0
        CHECKR exc_frame, "frame on the tss stack", tss_stack_top-36

        PRINT "iopl 0: sensitive instructions\n"
        VFAULT "cli", v_cli, 0, 13, 0, v_cli
        VFAULT "sti", v_sti, 0, 13, 0, v_sti
        VFAULT "pushf", v_pushf, 0, 13, 0, v_pushf
        VFAULT "popf", v_popf, 0, 13, 0, v_popf_insn
        VFAULT "int n", v_intn, 0, 13, 0, v_intn
        VFAULT "iret", v_iret, 0, 13, 0, v_iret
        VFAULT "int3 (not sensitive)", v_int3, 0, 3, 0xffffffff, v_int3+1
        VFAULT "int 3, the cd 03 form (sensitive)", v_int_3, 0, 13, 0, v_int_3
        VFAULT "hlt", v_hlt, EFL_IOPL3, 13, 0, v_hlt
        VFAULT "mov from cr0", v_cr0, EFL_IOPL3, 13, 0, v_cr0
        VFAULT "lar (#ud)", v_lar, EFL_IOPL3, 6, 0xffffffff, v_lar
        VFAULT "in 80h (bitmap)", v_in80, EFL_IOPL3, 13, 0, v_in80
        VFAULT "in 3fdh allowed, then int3", v_inlsr, 0, 3, 0xffffffff, v_inlsr_end
        VFAULT "div by zero", v_div, 0, 0, 0xffffffff, v_div_insn

        PRINT "iopl 3\n"
        VM86 "iopl 3", v_iopl3, EFL_IOPL3
        CHECKR exc_vector, "iopl 3: left through int 30h", VEC_EXIT
        movl v86_frame+8, %eax
        andl $(EFL_VM|EFL_IF|0x3000), %eax
        CHECK "iopl 3: vm, if set by sti, iopl kept by popf", EFL_VM|EFL_IF|0x3000
        movzwl v86_regs+20, %eax
        CHECK "iopl 3: pushf image (dx)", 0x3202
        movzwl v86_regs+16, %eax
        CHECK "iopl 3: far call returned (bx)", 0x4321

        /* SDM Vol. 3A 7.3: a task switch to a TSS whose EFLAGS has VM set
           loads the segment registers as in real mode and enters v86 mode */
        PRINT "task switch into virtual-8086 mode\n"
        movl $(v_task - v86_start), tss_v86 + 0x20      /* EIP */
        movl $(EFL_VM|EFL_IOPL3|2), tss_v86 + 0x24      /* EFLAGS */
        movl $V86_SP, tss_v86 + 0x38                    /* ESP */
        movl $V86_DS, tss_v86 + 0x48                    /* ES */
        movl $V86_CS, tss_v86 + 0x4c                    /* CS */
        movl $V86_SS, tss_v86 + 0x50                    /* SS */
        movl $V86_DS, tss_v86 + 0x54                    /* DS */
        movl $V86_DS, tss_v86 + 0x58                    /* FS */
        movl $0x0abc, tss_v86 + 0x5c                    /* GS */
        movl $v86_task_stack, tss_v86 + 4               /* ESP0 */
        movl $KDATA, tss_v86 + 8                        /* SS0 */
        movl %cr3, %eax
        movl %eax, tss_v86 + 0x1c
        movw $0x68, tss_v86 + 0x66
        SET_DESC TSS_V86, tss_v86, 0x67, ACC_TSS32, 0
        movl %esp, kernel_esp
        movl $1f, resume_kernel
        ljmp $TSS_V86, $0
1:      CHECKR exc_vector, "task: left through int 30h", VEC_EXIT
        movzwl v86_regs+28, %eax
        CHECK "task: ax set in v86 mode", 0xbeef
        CHECKR v86_frame, "task: frame ip", v_task_exit+2-v86_start
        CHECKR v86_frame+4, "task: frame cs", V86_CS
        movl v86_frame+8, %eax
        andl $(EFL_VM|0x3000), %eax
        CHECK "task: frame eflags", EFL_VM|0x3000
        CHECKR v86_frame+32, "task: frame gs", 0x0abc
        CHECKR exc_frame, "task: frame on the new task's ring-0 stack", v86_task_stack-36
        str %ax
        movzwl %ax, %eax
        CHECK "task: tr", TSS_V86
        ret

/* ---- virtual-8086 code (copied to V86_BASE, run with CS = V86_CS) ---- */
        .code16
v86_start:
v_basic:
        movw %cs, %ax
        movw %ds, %bx
        movw %ss, %cx
        movw $0x1234, 0x10
        movw $0x1234, %dx
        movw %dx, %es
        movw $0x5678, %es:0
        movw $0x0abc, %dx
        movw %dx, %gs
        pushw $0x1111
        movw %sp, %si
        popw %dx
v_basic_exit:
        int $VEC_EXIT
v_cli:  cli
v_sti:  sti
v_pushf:
        pushf
v_popf: pushw $0
v_popf_insn:
        popf
v_intn: int $0x31
v_iret: iret
v_int3: int3
v_int_3:
        .byte 0xcd, 0x03                /* int $3 (gas would emit CC) */
v_hlt:  hlt
v_cr0:  movl %cr0, %eax
v_lar:  larw %ax, %ax
v_in80: inb $0x80, %al
v_inlsr:
        movw $0x3fd, %dx
        inb %dx, %al
        int3
v_inlsr_end:
v_div:  xorb %cl, %cl
        movw $1, %ax
v_div_insn:
        divb %cl
v_iopl3:
        cli
        sti
        pushw $0x0202                   /* IOPL 0 in the image: POPF keeps IOPL 3 */
        popf
        pushf
        popw %dx
        lcall $V86_CS, $(v_far - v86_start)
        int $VEC_EXIT
v_far:  movw $0x4321, %bx
        lret
v_task: movw $0xbeef, %ax
v_task_exit:
        int $VEC_EXIT
v86_end:
        .code32
