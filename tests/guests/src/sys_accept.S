/* sys_accept: the acceptance program of the system-level CPU (issue 3), a -bios image.
 *
 * It starts at the reset vector in real mode and prints from there, enters
 * protected mode, enables paging, takes and returns from a page fault (a
 * demand-paged page the handler maps), programs the 8259 PIC and the 8254
 * PIT and takes timer interrupts (IRQ 0) in HLT, drops to ring 3, takes a
 * timer interrupt there, and comes back to the kernel through INT 0x80
 * (returning with IRET) and through SYSENTER (returning with SYSEXIT).
 * Everything printed is deterministic: counts are waited for, not sampled.
 */
        .include "sys_bios.inc"
        GUEST "sys_accept", 0x38

        .set MSR_SYSENTER_CS, 0x174
        .set MSR_SYSENTER_ESP, 0x175
        .set MSR_SYSENTER_EIP, 0x176
        .set DEMAND, 0x40000000         /* a page the #PF handler maps on first touch */
        .set DEMAND_FRAME, 0x00600000
        .set VEC_TIMER, 0x20            /* the master PIC's base */
        .set VEC_SYSCALL, 0x80
        .set PIT_DIVISOR, 1193          /* ~1 kHz */

        .section .lowdata, "aw", @nobits
real_flags: .space 4

        .section .text16, "ax"
        .code16
putc16:
        pushw %dx
        pushw %ax
        movw $COM1_LSR, %dx
1:      inb %dx, %al
        testb $0x20, %al
        jz 1b
        popw %ax
        movw $COM1, %dx
        outb %al, %dx
        popw %dx
        ret

puts16:                                 /* CS:SI */
        pushw %ax
        pushw %si
1:      movb %cs:(%si), %al
        incw %si
        testb %al, %al
        jz 2f
        call putc16
        jmp 1b
2:      popw %si
        popw %ax
        ret

real_entry:
        movw $msg_real, %si
        call puts16
        movw %cs, %ax                   /* F000 after the reset vector's far jump */
        cmpw $0xf000, %ax
        jne 1f
        movl %cr0, %eax
        testb $1, %al
        jnz 1f
        movw $msg_real_ok, %si
        call puts16
1:      ret

msg_real:    .asciz "hello from the reset vector (real mode)\n"
msg_real_ok: .asciz "real mode: cs=f000, cr0.pe=0\n"

        .bss
        .balign 4096
pd:     .space 4096
pt_low: .space 4096 * 2                 /* identity 0-8 MB */
pt_demand: .space 4096

        .data
        .balign 4
ticks:          .long 0
tick_eip:       .long 0
tick_cs:        .long 0
demand_faults:  .long 0
demand_cr2:     .long 0
demand_err:     .long 0
syscalls:       .long 0
syscall_cs:     .long 0
syscall_eax:    .long 0
sysenter_eax:   .long 0
sysenter_cs:    .long 0
user_tick_cs:   .long 0
user_results:   .long 0, 0, 0, 0

        .text
        .code32
main:
        call sys_init
        PRINT "protected mode\n"

        /* The PIC's INTR reaches the CPU through the local APIC's LINT0 pin, which
           is masked after reset; firmware sets it to ExtINT ("virtual wire",
           Intel MP spec 3.6.2.2) after enabling the APIC in its spurious-vector
           register.  Done here while paging is off; on a machine without a
           local APIC the writes go to unassigned space. */
        movl $0x1ff, 0xfee000f0
        movl $0x700, 0xfee00350
        /* paging: identity 0-8 MB (user accessible), DEMAND not present */
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        shll $12, %eax
        orl $7, %eax
        movl %eax, pt_low(, %ecx, 4)
        incl %ecx
        cmpl $2048, %ecx
        jne 1b
        movl $(pt_low + 7), pd
        movl $(pt_low + 4096 + 7), pd + 4
        movl $(pt_demand + 7), pd + 4 * (DEMAND >> 22)
        SET_IDT 14, KCODE, page_fault_handler, GATE_INT32
        movl $pd, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $(CR0_PG|CR0_WP), %eax
        movl %eax, %cr0
        PRINT "paging on\n"
        movl $0x600d600d, DEMAND_FRAME + 0x23c
        movl DEMAND + 0x23c, %eax       /* not present: faults, the handler maps it */
        movl DEMAND + 0x23c, %ebx       /* mapped now: no fault */
        CHECKR demand_faults, "page faults taken", 1
        CHECKR demand_cr2, "cr2", DEMAND+0x23c
        CHECKR demand_err, "error code (read, not present)", 0
        CHECKR %eax, "value read after the fault", 0x600d600d
        CHECKR %ebx, "read again", 0x600d600d

        /* the PIC: ICW1-4, master at 0x20, slave at 0x28, only IRQ 0 unmasked */
        movb $0x11, %al
        outb %al, $0x20
        outb %al, $0xa0
        movb $VEC_TIMER, %al
        outb %al, $0x21
        movb $VEC_TIMER+8, %al
        outb %al, $0xa1
        movb $0x04, %al
        outb %al, $0x21
        movb $0x02, %al
        outb %al, $0xa1
        movb $0x01, %al
        outb %al, $0x21
        outb %al, $0xa1
        movb $0xfe, %al
        outb %al, $0x21
        movb $0xff, %al
        outb %al, $0xa1
        /* the PIT: channel 0, mode 2, ~1 kHz */
        movb $0x34, %al
        outb %al, $0x43
        movb $(PIT_DIVISOR & 0xff), %al
        outb %al, $0x40
        movb $(PIT_DIVISOR >> 8), %al
        outb %al, $0x40
        SET_IDT VEC_TIMER, KCODE, timer_handler, GATE_INT32
        PRINT "timer\n"
1:      sti
        hlt                             /* the STI shadow covers the HLT: no tick is lost */
after_hlt:
        cli
        cmpl $3, ticks
        jb 1b
        cmpl $3, ticks
        setae %al
        movzbl %al, %eax
        CHECK "timer interrupts taken in hlt: at least 3", 1
        CHECKR tick_eip, "eip pushed by the interrupt (after hlt)", after_hlt
        CHECKR tick_cs, "cs pushed", KCODE

        /* system calls */
        SET_IDT VEC_SYSCALL, KCODE, syscall_handler, GATE_INT32|0x60
        xorl %edx, %edx
        movl $MSR_SYSENTER_CS, %ecx
        movl $KCODE, %eax
        wrmsr
        movl $MSR_SYSENTER_ESP, %ecx
        movl $tss_stack_top - 256, %eax
        wrmsr
        movl $MSR_SYSENTER_EIP, %ecx
        movl $sysenter_handler, %eax
        wrmsr
        PRINT "ring 3\n"
        RUN_USER user_main
        CHECKR user_results, "user: cpl", 3
        CHECKR user_tick_cs, "timer interrupt taken in ring 3: pushed cs", UCODE
        CHECKR syscalls, "int 0x80 calls", 1
        CHECKR syscall_cs, "int 0x80: pushed cs", UCODE
        CHECKR syscall_eax, "int 0x80: eax", 0x1234
        CHECKR user_results+4, "int 0x80 returned (iret) to ring 3", 0x1235
        CHECKR sysenter_eax, "sysenter: eax", 0x5678
        CHECKR sysenter_cs, "sysenter: cs", KCODE
        CHECKR user_results+8, "sysexit returned to ring 3", 0x5679
        CHECKR user_results+12, "cs after sysexit", UCODE
        movb $0xff, %al
        outb %al, $0x21
        movl %cr0, %eax
        andl $~CR0_PG, %eax
        movl %eax, %cr0
        ret

/* ---- kernel handlers ---- */
page_fault_handler:
        pushl %eax
        incl demand_faults
        movl %cr2, %eax
        movl %eax, demand_cr2
        movl 4(%esp), %eax
        movl %eax, demand_err
        movl $(DEMAND_FRAME + 7), pt_demand     /* map the page; the access is retried */
        popl %eax
        addl $4, %esp                   /* the error code */
        iretl

timer_handler:
        pushl %eax
        incl ticks
        movl 4(%esp), %eax
        movl %eax, tick_eip
        movl 8(%esp), %eax
        movl %eax, tick_cs
        testb $3, %al
        jz 1f
        movl %eax, user_tick_cs         /* from ring 3 */
1:      movb $0x20, %al                 /* EOI */
        outb %al, $0x20
        popl %eax
        iretl

syscall_handler:                        /* int 0x80 from ring 3 */
        testl %eax, %eax
        jz user_return_handler          /* eax = 0: leave ring 3 for good */
        cmpl $2, %eax
        jne 1f
        orl $EFL_IF, 8(%esp)            /* eax = 2: return with interrupts on */
        iretl
1:      pushl %ebx
        incl syscalls
        movl %eax, syscall_eax
        movl 8(%esp), %ebx              /* the pushed CS */
        movl %ebx, syscall_cs
        popl %ebx
        incl %eax
        iretl

sysenter_handler:
        movl %eax, sysenter_eax
        movw %cs, %dx
        movzwl %dx, %edx
        movl %edx, sysenter_cs
        incl %eax
        movl $user_after_sysexit, %edx
        movl $user_stack_top - 64, %ecx
        sysexit

/* ---- ring 3 ---- */
user_main:
        movw %cs, %ax
        andl $3, %eax
        movl %eax, user_results
        movl $0x1234, %eax
        int $VEC_SYSCALL
        movl %eax, user_results + 4
        movl $0x5678, %eax
        sysenter
user_after_sysexit:
        movl %eax, user_results + 8
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, user_results + 12
        /* wait for a tick in ring 3: POPF cannot set IF at CPL 3 with IOPL 0,
           so a system call returns with IF = 1 */
        movl $2, %eax
        int $VEC_SYSCALL
        movl ticks, %ebx
1:      cmpl ticks, %ebx
        je 1b
        xorl %eax, %eax
        int $VEC_SYSCALL                /* back to the kernel for good */
