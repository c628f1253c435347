/* itrace.S: where the timer interrupts land, sampled by the guest itself.
 *
 * The PIT (channel 0, mode 2, ~8 kHz) interrupts through the master PIC at
 * vector 0x20.  The handler records, for each of its first SAMPLES
 * interrupts, the interrupted EIP and EFLAGS (from the IRET frame) and the
 * general registers (from PUSHA), and the program prints them all at the end.
 * Under -icount the interrupts arrive at exact instruction counts, so this is
 * an instruction-level trace of the run: the instruction each interrupt fell
 * before, with the state there.  The work between interrupts mixes what the
 * translator handles differently: a hot hashing loop (tiered up to O2 when
 * tiering is on), REP MOVSB (interrupted in the middle: EIP stays on it with
 * ECX, ESI, EDI part way), a loop whose 32-bit immediate the program rewrites
 * every round (self-modifying code), and a called routine with MUL, DIV and
 * LOOP.  Every tier, and every cache state, must print the same trace
 * (tests/translator/test_icount_trace.py).  qemu-system-i386 -icount 3 takes
 * some interrupts an instruction or two earlier than pyemu does (the two
 * time models differ in rounding somewhere), so its trace is not compared.
 */
        .include "guest.inc"
        GUEST "itrace", 0x22
        .set SAMPLES, 48
        .set SAMPLE_BYTES, 32           /* eip eflags eax ecx edx ebx esi edi */
        .set COPY_BYTES, 3000

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
        /* PIT channel 0, lobyte/hibyte, mode 2, divisor 149 (~8 kHz) */
        movb $0x34, %al
        outb %al, $0x43
        movw $149, %ax
        outb %al, $0x40
        movb %ah, %al
        outb %al, $0x40

        xorl %edx, %edx
        xorl %ebx, %ebx
        sti
outer:
        /* a hashing loop, hot */
        movl $300, %ecx
1:      movl %ecx, %eax
        imull $2654435761, %eax, %eax
        xorl %eax, %edx
        roll $5, %edx
        movl %edx, scratch(,%ecx,4)
        decl %ecx
        jnz 1b
        /* REP MOVSB, long enough to be interrupted in the middle */
        movl $scratch, %esi
        movl $copy, %edi
        movl $COPY_BYTES, %ecx
        cld
        rep movsb
        /* self-modifying code: this round's number becomes the loop's immediate */
        movl rounds, %eax
        movl %eax, patched + 2
        movl $50, %ecx
2:
patched:
        .byte 0x81, 0xc2                /* addl $imm32, %edx */
        .long 0
        rorl $3, %edx
        decl %ecx
        jnz 2b
        call mixer
        incl rounds
        cmpl $SAMPLES, ticks
        jb outer
        cli

        /* the trace */
        xorl %ecx, %ecx
        movl $samples, %esi
3:      PUTDEC %ecx
        PRINT " eip="
        PUTHEX (%esi)
        PRINT " efl="
        PUTHEX 4(%esi)
        PRINT " eax="
        PUTHEX 8(%esi)
        PRINT " ecx="
        PUTHEX 12(%esi)
        PRINT " edx="
        PUTHEX 16(%esi)
        PRINT " ebx="
        PUTHEX 20(%esi)
        PRINT " esi="
        PUTHEX 24(%esi)
        PRINT " edi="
        PUTHEX 28(%esi)
        NEWLINE
        addl $SAMPLE_BYTES, %esi
        incl %ecx
        cmpl $SAMPLES, %ecx
        jb 3b
        PRINT "rounds="
        PUTDEC rounds
        PRINT " edx="
        PUTHEX %edx
        PRINT " ebx="
        PUTHEX %ebx
        NEWLINE
        ret

/* mixer: MUL, DIV (by a nonzero ECX, high half cleared first) and LOOP over EDX, EBX */
mixer:
        pushl %ecx
        movl $40, %ecx
4:      leal 0x9e3779b9(%edx,%ecx,8), %eax
        mull %ecx
        addl %eax, %ebx
        xorl %edx, %edx
        movl %ebx, %eax
        divl %ecx
        xorl %eax, %edx
        addl %edx, %ebx
        loop 4b
        popl %ecx
        ret

irq0:   pushal
        movl ticks, %ebx
        cmpl $SAMPLES, %ebx
        jae 5f
        shll $5, %ebx                   /* * SAMPLE_BYTES */
        movl 32(%esp), %eax             /* the interrupted EIP */
        movl %eax, samples(%ebx)
        movl 40(%esp), %eax             /* its EFLAGS */
        movl %eax, samples + 4(%ebx)
        movl 28(%esp), %eax             /* PUSHA: EAX ECX EDX EBX ESP EBP ESI EDI, downwards */
        movl %eax, samples + 8(%ebx)
        movl 24(%esp), %eax
        movl %eax, samples + 12(%ebx)
        movl 20(%esp), %eax
        movl %eax, samples + 16(%ebx)
        movl 16(%esp), %eax
        movl %eax, samples + 20(%ebx)
        movl 4(%esp), %eax
        movl %eax, samples + 24(%ebx)
        movl (%esp), %eax
        movl %eax, samples + 28(%ebx)
5:      incl ticks
        movb $0x20, %al
        outb %al, $0x20
        popal
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
samples: .skip SAMPLES * SAMPLE_BYTES
scratch: .skip 1024 * 4
copy:   .skip COPY_BYTES
