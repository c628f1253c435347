/* devices.S: the PC chipset as a bare-metal program sees it, with interrupts.
 *
 * Reads PCI configuration space (identity, class, header type, BAR sizing,
 * an absent slot), the RTC/CMOS (registers A-D, the memory-size bytes, an
 * update cycle seen through UIP, periodic interrupts on IRQ 8), the i8042
 * (self-test, interface tests, output port), the UART (scratch, loopback,
 * FIFO identification, the THRE interrupt on IRQ 4 when ETBEI is set), the
 * PIT (channel 0 mode 2 ticks on IRQ 0 through the 8259, channel 2 OUT on
 * port 0x61, read-back status), the local APIC (version, CPUID and MSR,
 * one-shot and periodic timer interrupts, TPR blocking a self-IPI) and the
 * IOAPIC (the PIT's IRQ 0 arriving on pin 2).  Every value printed is a
 * datasheet fact, so the output is the same on pyemu and qemu-system-i386.
 */
        .include "guest.inc"
        GUEST "devices", 0x21

        .set PIC1, 0x20
        .set PIC2, 0xA0
        .set LAPIC, 0xFEE00000
        .set IOAPIC, 0xFEC00000
        .set COM1_IER, 0x3f9
        .set COM1_IIR, 0x3fa
        .set COM1_LCR, 0x3fb
        .set COM1_MCR, 0x3fc
        .set COM1_MSR, 0x3fe
        .set COM1_SCR, 0x3ff

.macro PORT_OUT port:req, value:req
        movb $(\value), %al
        outb %al, $(\port)
.endm

/* EAX = CMOS register \reg */
.macro CMOS_READ reg:req
        movb $(\reg), %al
        outb %al, $0x70
        inb $0x71, %al
        movzbl %al, %eax
.endm

.macro CMOS_WRITE reg:req, value:req
        movb $(\reg), %al
        outb %al, $0x70
        movb $(\value), %al
        outb %al, $0x71
.endm

/* EAX = PCI configuration dword (bus 0, device \dev, function \fn, register \reg) */
.macro PCI_READ dev:req, fn:req, reg:req
        movl $(0x80000000 | (\dev << 11) | (\fn << 8) | \reg), %eax
        call pci_read
.endm

/* wait with interrupts enabled until the dword at \var is at least \count */
.macro WAIT_FOR var:req, count:req
.Lwait\@:
        cli
        cmpl $(\count), \var
        jae .Lwait_done\@
        sti
        hlt
        jmp .Lwait\@
.Lwait_done\@:
.endm

main:
        call idt_setup
        call pci_tests
        call cmos_tests
        call kbc_tests
        call uart_tests
        call pic_pit_tests
        call lapic_tests
        call ioapic_tests
        CHECKR unexpected_count, "unexpected_interrupts", 0
        ret

/* ---- IDT: every vector to a stub; the tests install their own handlers ---------------- */
idt_setup:
        xorl %ecx, %ecx
1:      movl stub_table(,%ecx,4), %eax
        call set_gate
        incl %ecx
        cmpl $256, %ecx
        jb 1b
        lidt idtr
        ret

/* set_gate: IDT vector ECX -> handler EAX (32-bit interrupt gate, selector 0x08) */
set_gate:
        pushl %edx
        movw %ax, idt(,%ecx,8)
        movw $0x08, idt+2(,%ecx,8)
        movw $0x8e00, idt+4(,%ecx,8)
        movl %eax, %edx
        shrl $16, %edx
        movw %dx, idt+6(,%ecx,8)
        popl %edx
        ret

.macro SET_HANDLER vector:req, handler:req
        pushl %eax
        pushl %ecx
        movl $(\vector), %ecx
        movl $\handler, %eax
        call set_gate
        popl %ecx
        popl %eax
.endm

        /* 256 stubs of 10 bytes each: pushl $imm32, jmp rel32 (fixed-size encodings) */
        .set .Lvec, 0
stubs:
        .rept 256
        .byte 0x68
        .long .Lvec
        .byte 0xe9
        .long unexpected - . - 4
        .set .Lvec, .Lvec + 1
        .endr

unexpected:
        incl unexpected_count
        cmpl $0x20, (%esp)
        jb 1f
        addl $4, %esp
        iret                            /* a stray interrupt: counted, the check at the end fails */
1:      PRINT "unexpected exception, vector "
        popl %eax
        PUTDEC %eax
        NEWLINE
        EXIT EXIT_PASS + FAIL_OFFSET

/* ---- PCI ------------------------------------------------------------------------------------ */
pci_read:
        pushl %edx
        movw $0xcf8, %dx
        outl %eax, %dx
        movw $0xcfc, %dx
        inl %dx, %eax
        popl %edx
        ret

pci_tests:
        PCI_READ 0, 0, 0x00
        CHECK "pci_00.0_id", 0x12378086
        PCI_READ 0, 0, 0x08
        shrl $8, %eax
        CHECK "pci_00.0_class", 0x060000
        PCI_READ 1, 0, 0x00
        CHECK "pci_01.0_id", 0x70008086
        PCI_READ 1, 0, 0x08
        shrl $8, %eax
        CHECK "pci_01.0_class", 0x060100
        PCI_READ 1, 0, 0x0c
        shrl $16, %eax
        andl $0x80, %eax
        CHECK "pci_01.0_multifunction", 0x80
        PCI_READ 1, 1, 0x00
        CHECK "pci_01.1_id", 0x70108086
        PCI_READ 1, 1, 0x08
        shrl $8, %eax
        CHECK "pci_01.1_class", 0x010180
        PCI_READ 0, 0x1f, 0x00
        CHECK "pci_00.1f_absent", 0xffffffff
        /* BAR4 of the IDE function: write all ones, read the size mask, restore */
        PCI_READ 1, 1, 0x20
        movl %eax, %ebx
        movw $0xcfc, %dx
        movl $0xffffffff, %eax
        outl %eax, %dx
        inl %dx, %eax
        CHECK "pci_ide_bar4_sizing", 0xfffffff1
        movl %ebx, %eax
        outl %eax, %dx
        ret

/* ---- RTC / CMOS ----------------------------------------------------------------------------- */
/* EAX = seconds (binary) right after the next update cycle ends */
rtc_next_second:
1:      CMOS_READ 0x0a
        testb $0x80, %al
        jz 1b
2:      CMOS_READ 0x0a
        testb $0x80, %al
        jnz 2b
        CMOS_READ 0x00
        movl %eax, %edx                 /* BCD -> binary */
        shrl $4, %edx
        andl $15, %eax
        imull $10, %edx
        addl %edx, %eax
        ret

rtc_irq:
        pushl %eax
        CMOS_READ 0x0c                  /* acknowledge: clears IRQF and the line */
        cmpl $8, rtc_count
        jae 1f                          /* one more may come before PIE is off: not counted */
        incl rtc_count
        cmpl $8, rtc_count
        jb 1f
        CMOS_WRITE 0x0b, 0x02           /* enough: PIE off */
1:      PORT_OUT PIC2, 0x20
        PORT_OUT PIC1, 0x20
        popl %eax
        iret

cmos_tests:
        CMOS_READ 0x0d
        CHECK "rtc_reg_d", 0x80
        CMOS_READ 0x0a
        andl $0x7f, %eax
        CHECK "rtc_reg_a", 0x26
        CMOS_READ 0x0b
        CHECK "rtc_reg_b", 0x02
        CMOS_READ 0x15
        movl %eax, %ebx
        CMOS_READ 0x16
        shll $8, %eax
        orl %ebx, %eax
        CHECK "cmos_base_kb", 640
        CMOS_READ 0x17
        movl %eax, %ebx
        CMOS_READ 0x18
        shll $8, %eax
        orl %ebx, %eax
        CHECK "cmos_ext_kb", 0xffff
        CMOS_READ 0x34
        movl %eax, %ebx
        CMOS_READ 0x35
        shll $8, %eax
        orl %ebx, %eax
        CHECK "cmos_above_16m_64k", 0x700      /* (128 MB - 16 MB) / 64 KB */
        /* after an update cycle (UIP seen set, then clear) the seconds have moved on
           (by how much depends on how fast the polling loop runs: not compared) */
        call rtc_next_second
        movl %eax, %ebx
        call rtc_next_second
        cmpl %ebx, %eax
        setne %al
        movzbl %al, %eax
        CHECK "rtc_seconds_advance_after_uip", 1
        /* periodic interrupts at 1024 Hz on IRQ 8 (slave line 0, cascade on master line 2) */
        call pic_init
        SET_HANDLER 0x28, rtc_irq
        PORT_OUT PIC1 + 1, 0xfb
        PORT_OUT PIC2 + 1, 0xfe
        CMOS_READ 0x0c
        CMOS_WRITE 0x0a, 0x26
        CMOS_WRITE 0x0b, 0x42           /* PIE */
        WAIT_FOR rtc_count, 8
        CHECKR rtc_count, "rtc_periodic_irqs", 8
        PORT_OUT PIC1 + 1, 0xff
        PORT_OUT PIC2 + 1, 0xff
        ret

/* ---- i8042 ------------------------------------------------------------------------------------ */
kbc_flush:
1:      inb $0x64, %al
        testb $1, %al
        jz 2f
        inb $0x60, %al
        jmp 1b
2:      ret

/* EAX = the controller's answer to command AL */
kbc_command:
        outb %al, $0x64
1:      inb $0x64, %al
        testb $1, %al
        jz 1b
        inb $0x60, %al
        movzbl %al, %eax
        ret

kbc_tests:
        call kbc_flush
        movb $0xaa, %al
        call kbc_command
        CHECK "kbc_self_test", 0x55
        movb $0xab, %al
        call kbc_command
        CHECK "kbc_kbd_interface_test", 0x00
        movb $0xa9, %al
        call kbc_command
        CHECK "kbc_aux_interface_test", 0x00
        movb $0xd0, %al
        call kbc_command
        andl $0x03, %eax
        CHECK "kbc_output_port_reset_a20", 0x03
        inb $0x64, %al
        andl $0x04, %eax
        CHECK "kbc_system_flag", 0x04
        ret

/* ---- UART ------------------------------------------------------------------------------------- */
uart_irq:
        pushl %eax
        pushl %edx
        movw $COM1_IIR, %dx
        inb %dx, %al
        movzbl %al, %eax
        movl %eax, uart_iir
        movw $COM1_IER, %dx
        movb $0, %al
        outb %al, %dx                   /* one is enough */
        incl uart_count
        PORT_OUT PIC1, 0x20
        popl %edx
        popl %eax
        iret

uart_tests:
        movw $COM1_SCR, %dx
        movb $0xa5, %al
        outb %al, %dx
        inb %dx, %al
        movzbl %al, %eax
        CHECK "uart_scratch", 0xa5
        /* loopback: nothing may be printed until MCR is restored */
        movw $COM1_MCR, %dx
        inb %dx, %al
        movb %al, %bl                   /* the MCR to restore */
        movb $0x1a, %al                 /* LOOP, OUT2, RTS */
        outb %al, %dx
        movw $COM1_MSR, %dx
        inb %dx, %al
        andb $0xf0, %al
        movb %al, %bh                   /* CTS and DCD: 0x90 */
        movw $COM1, %dx
        movb $0x5a, %al
        outb %al, %dx
        movw $COM1_LSR, %dx
        inb %dx, %al
        movb %al, %cl                   /* DR set */
        movw $COM1, %dx
        inb %dx, %al
        movb %al, %ch                   /* the byte came back */
        movw $COM1_MCR, %dx
        movb %bl, %al
        outb %al, %dx
        movzbl %bh, %eax
        CHECK "uart_loopback_msr", 0x90
        movzbl %cl, %eax
        andl $0x61, %eax
        CHECK "uart_loopback_lsr", 0x61
        movzbl %ch, %eax
        CHECK "uart_loopback_data", 0x5a
        /* FIFOs: IIR bits 7:6 */
        movw $COM1_IIR, %dx
        movb $0x07, %al
        outb %al, %dx
        inb %dx, %al
        movzbl %al, %eax
        andl $0xc0, %eax
        CHECK "uart_iir_fifos", 0xc0
        movb $0x00, %al
        outb %al, %dx
        inb %dx, %al
        movzbl %al, %eax
        andl $0xc0, %eax
        CHECK "uart_iir_no_fifos", 0x00
        /* the THRE interrupt follows setting ETBEI while THR is empty (IRQ 4) */
        call pic_init
        SET_HANDLER 0x24, uart_irq
        PORT_OUT PIC1 + 1, 0xef
        movw $COM1_MCR, %dx
        inb %dx, %al
        orb $0x08, %al                  /* OUT2 drives the PC's IRQ line */
        outb %al, %dx
        movw $COM1_IER, %dx
        movb $0x02, %al
        outb %al, %dx
        WAIT_FOR uart_count, 1
        CHECKR uart_count, "uart_thre_irqs", 1
        movl uart_iir, %eax
        andl $0x0f, %eax
        CHECK "uart_thre_iir", 0x02
        PORT_OUT PIC1 + 1, 0xff
        ret

/* ---- 8259 + 8254 ----------------------------------------------------------------------------- */
/* both 8259s initialised (vectors 0x20 and 0x28), everything masked */
pic_init:
        PORT_OUT PIC1, 0x11
        PORT_OUT PIC2, 0x11
        PORT_OUT PIC1 + 1, 0x20
        PORT_OUT PIC2 + 1, 0x28
        PORT_OUT PIC1 + 1, 0x04
        PORT_OUT PIC2 + 1, 0x02
        PORT_OUT PIC1 + 1, 0x01
        PORT_OUT PIC2 + 1, 0x01
        PORT_OUT PIC1 + 1, 0xff
        PORT_OUT PIC2 + 1, 0xff
        ret

pit_irq:
        pushl %eax
        incl pit_count
        cmpl $20, pit_count
        jb 1f
        inb $PIC1 + 1, %al              /* twenty: mask IRQ 0 */
        orb $0x01, %al
        outb %al, $PIC1 + 1
1:      PORT_OUT PIC1, 0x20
        popl %eax
        iret

pic_pit_tests:
        call pic_init
        SET_HANDLER 0x20, pit_irq
        PORT_OUT 0x43, 0x34                 /* channel 0, lobyte/hibyte, mode 2 */
        PORT_OUT 0x40, 1193 & 0xff          /* ~1 ms */
        PORT_OUT 0x40, 1193 >> 8
        PORT_OUT PIC1 + 1, 0xfe
        WAIT_FOR pit_count, 20
        CHECKR pit_count, "pit_irq0_ticks", 20
        /* channel 2, mode 0, gate on through port 0x61: OUT2 rises in bit 5 */
        inb $0x61, %al
        andb $0xfc, %al
        orb $0x01, %al
        outb %al, $0x61
        PORT_OUT 0x43, 0xb0
        PORT_OUT 0x42, 0xe8                 /* 1000 counts */
        PORT_OUT 0x42, 0x03
        PORT_OUT 0x43, 0xe8                 /* read-back: status of channel 2 */
        inb $0x42, %al
        movzbl %al, %eax
        andl $0x3f, %eax
        CHECK "pit_ch2_status", 0x30
        movl $10000000, %ecx
1:      inb $0x61, %al
        testb $0x20, %al
        jnz 2f
        loop 1b
2:      xorl %eax, %eax
        testl %ecx, %ecx
        setnz %al
        CHECK "pit_ch2_out_rose", 1
        inb $0x61, %al
        andb $0xfc, %al
        outb %al, $0x61
        ret

/* ---- local APIC ----------------------------------------------------------------------------- */
lapic_irq:
        cmpl $5, lapic_count
        jae 1f                          /* one more may already be in IRR: not counted */
        incl lapic_count
        cmpl $5, lapic_count
        jb 1f
        movl $0, LAPIC + 0x380          /* fifth: stop the timer */
1:      movl $0, LAPIC + 0xb0           /* EOI */
        iret

ipi_irq:
        incl ipi_count
        movl $0, LAPIC + 0xb0
        iret

lapic_tests:
        movl LAPIC + 0x30, %eax
        CHECK "lapic_version", 0x00050014
        pushl %ebx
        movl $1, %eax
        cpuid
        popl %ebx
        movl %edx, %eax
        shrl $9, %eax
        andl $1, %eax
        CHECK "cpuid_apic", 1
        movl $0x1b, %ecx
        rdmsr
        andl $0xfffff900, %eax
        CHECK "apic_base_msr", 0xfee00900
        SET_HANDLER 0x40, lapic_irq
        SET_HANDLER 0x45, ipi_irq
        SET_HANDLER 0x65, ipi_irq
        movl $0x1ff, LAPIC + 0xf0       /* software enable, spurious vector 0xff */
        movl $0x0b, LAPIC + 0x3e0       /* divide by 1 */
        movl $0x40, LAPIC + 0x320       /* one-shot, vector 0x40 */
        movl $100000, LAPIC + 0x380
        WAIT_FOR lapic_count, 1
        CHECKR lapic_count, "lapic_oneshot_irqs", 1
        movl LAPIC + 0x390, %eax
        CHECK "lapic_oneshot_current", 0
        movl $0x20040, LAPIC + 0x320    /* periodic */
        movl $200000, LAPIC + 0x380
        WAIT_FOR lapic_count, 5
        CHECKR lapic_count, "lapic_periodic_irqs", 5
        movl $0x10040, LAPIC + 0x320
        /* TPR 0x50 holds back a self-IPI of class 4, not one of class 6 */
        movl $0x50, LAPIC + 0x80
        sti
        movl $0x40045, LAPIC + 0x300    /* self, fixed, vector 0x45 */
        nop
        nop
        cli
        CHECKR ipi_count, "ipi_held_by_tpr", 0
        sti
        movl $0x40065, LAPIC + 0x300
        nop
        nop
        cli
        CHECKR ipi_count, "ipi_above_tpr", 1
        sti
        movl $0, LAPIC + 0x80
        nop
        nop
        cli
        CHECKR ipi_count, "ipi_after_tpr_lowered", 2
        ret

/* ---- IOAPIC ------------------------------------------------------------------------------------ */
ioapic_irq:
        cmpl $10, ioapic_count
        jae 1f                          /* one more may already be in IRR: not counted */
        incl ioapic_count
        cmpl $10, ioapic_count
        jb 1f
        movl $0x14, IOAPIC              /* tenth: mask pin 2 */
        movl $0x10050, IOAPIC + 0x10
1:      movl $0, LAPIC + 0xb0
        iret

ioapic_tests:
        movl $0x01, IOAPIC
        movl IOAPIC + 0x10, %eax
        shrl $16, %eax
        andl $0xff, %eax
        CHECK "ioapic_max_entry", 23
        call pic_init                   /* all 8259 lines masked: only the IOAPIC path */
        SET_HANDLER 0x50, ioapic_irq
        movl $0x15, IOAPIC              /* pin 2, destination: APIC ID 0 */
        movl $0x00000000, IOAPIC + 0x10
        movl $0x14, IOAPIC              /* edge, active high, fixed, vector 0x50 */
        movl $0x00000050, IOAPIC + 0x10
        PORT_OUT 0x43, 0x34                 /* the PIT again, ~1 ms */
        PORT_OUT 0x40, 1193 & 0xff
        PORT_OUT 0x40, 1193 >> 8
        WAIT_FOR ioapic_count, 10
        CHECKR ioapic_count, "ioapic_pit_irqs", 10
        ret

        .data
        .align 8
idt:
        .space 256 * 8
idtr:
        .word 256 * 8 - 1
        .long idt
        .align 4
stub_table:
        .set .Lk, 0
        .rept 256
        .long stubs + .Lk * 10
        .set .Lk, .Lk + 1
        .endr
unexpected_count: .long 0
rtc_count: .long 0
uart_count: .long 0
uart_iir: .long 0
pit_count: .long 0
lapic_count: .long 0
ipi_count: .long 0
ioapic_count: .long 0
