/* echo: a serial console guest for the console and session tests.
 *
 * Prints "ECHO READY", then echoes every byte received on COM1 (polling LSR
 * bit 0, Data Ready, then reading RBR; 16550 datasheet, Line Status Register),
 * a carriage return as CR LF.  It keeps the current line, and at the end of
 * a line acts on two words:
 *   exit       return from main: guest.inc prints "PASS echo" and leaves
 *              through isa-debug-exit with 0x21 (exit status 0x43)
 *   reboot -f  print "ECHO RESET" and reset the machine through port 0x92
 *              (bit 0, fast reset): with -no-reboot the emulator exits
 * It never takes an interrupt (IF stays clear): it polls.
 */
        .include "guest.inc"
        GUEST "echo", 0x21

        .set COM1_RBR, 0x3f8
        .set COM1_IER, 0x3f9
        .set LSR_DR, 0x01
        .set LINE_MAX, 64

main:
        /* IER bit 0 (received data available interrupt): pyemu's UART takes input
           from its back end only while it is set (emu/devices/uart.py); with OUT2
           clear in MCR and IF clear no interrupt reaches the CPU either way */
        movw $COM1_IER, %dx
        movb $0x01, %al
        outb %al, %dx
        PRINT "ECHO READY\n"
next:   movw $COM1_LSR, %dx
1:      inb %dx, %al
        testb $LSR_DR, %al
        jz 1b
        movw $COM1_RBR, %dx
        inb %dx, %al
        call putc
        cmpb $'\r', %al
        jne 2f
        movb $'\n', %al
        call putc
        jmp end_of_line
2:      cmpb $'\n', %al
        je end_of_line
        movl line_len, %ecx
        cmpl $LINE_MAX, %ecx
        jae next
        movb %al, line(%ecx)
        incl line_len
        jmp next

end_of_line:
        movl $word_exit, %esi
        movl $word_exit_len, %ecx
        call line_is
        je 3f
        movl $word_reboot, %esi
        movl $word_reboot_len, %ecx
        call line_is
        je reboot
        movl $0, line_len
        jmp next
3:      ret

reboot:
        PRINT "ECHO RESET\n"
        inb $0x92, %al
        orb $1, %al
        outb %al, $0x92
        cli
4:      hlt
        jmp 4b

/* line_is: ZF = the current line equals the ECX bytes at ESI */
line_is:
        cmpl line_len, %ecx
        jne 5f
        movl $line, %edi
        cld
        repe cmpsb
5:      ret

        .section .rodata
word_exit:
        .ascii "exit"
        .set word_exit_len, . - word_exit
word_reboot:
        .ascii "reboot -f"
        .set word_reboot_len, . - word_reboot

        .data
line_len:
        .long 0
line:
        .space LINE_MAX
