/* ticks.S: count loop iterations between PIT interrupts.
 *
 * The PIT (channel 0, mode 2) interrupts through the master PIC remapped to
 * vector 0x20; the main loop counts iterations (with loads, stores and flag
 * work, so its blocks get hot and are translated again at tier 2) until the
 * handler has seen TICKS interrupts, then prints the count and a checksum.
 * Under -icount the interrupts arrive at exact instruction counts, so the
 * printed numbers are a fingerprint of the run: every tier, and a cold or a
 * warm object cache, must print the same ones (tests/translator/test_tiering.py).
 */
        .include "guest.inc"
        GUEST "ticks", 0x21
        .set TICKS, 12

main:
        /* PIC: ICW1 edge, cascade, ICW4; vectors 0x20 / 0x28; only IRQ0 unmasked */
        movb $0x11, %al
        outb %al, $0x20
        outb %al, $0xa0
        movb $0x20, %al
        outb %al, $0x21
        movb $0x28, %al
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
        /* IDT gate 0x20 -> irq0 (32-bit interrupt gate, selector 0x08) */
        movl $irq0, %eax
        movw %ax, idt + 0x20 * 8
        movw $0x08, idt + 0x20 * 8 + 2
        movw $0x8e00, idt + 0x20 * 8 + 4
        shrl $16, %eax
        movw %ax, idt + 0x20 * 8 + 6
        lidt idtr
        /* PIT channel 0, lobyte/hibyte, mode 2, divisor 600 (~2 kHz) */
        movb $0x34, %al
        outb %al, $0x43
        movw $600, %ax
        outb %al, $0x40
        movb %ah, %al
        outb %al, $0x40

        xorl %ecx, %ecx
        xorl %edx, %edx
        sti
1:      incl %ecx
        movl %ecx, %eax
        imull $2654435761, %eax, %eax
        xorl %eax, %edx
        roll $5, %edx
        movl %edx, scratch(,%ecx,4)
        andl $255, %ecx
        jnz 2f
        addl $1, rounds
2:      cmpl $TICKS, ticks
        jb 1b
        cli
        PRINT "ticks done, rounds="
        PUTDEC rounds
        PRINT " ecx="
        PUTDEC %ecx
        PRINT " sum="
        PUTHEX %edx
        NEWLINE
        ret

irq0:   pushl %eax
        incl ticks
        movb $0x20, %al
        outb %al, $0x20
        popl %eax
        iret

        .data
        .balign 8
idtr:   .word 256 * 8 - 1
        .long idt
ticks:  .long 0
rounds: .long 0
        .bss
        .balign 8
idt:    .skip 256 * 8
scratch: .skip 1024 * 4
