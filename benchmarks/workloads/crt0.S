/* Multiboot entry for the benchmark workloads: a stack, main(), exit through
   isa-debug-exit (port 0xf4) with main's return value. */
        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002
        .long 0x00000003
        .long -(0x1BADB002 + 0x00000003)

        .text
        .globl _start
_start:
        mov $stack_top, %esp
        call main
        out %al, $0xf4
1:      hlt
        jmp 1b

        .bss
        .align 16
        .space 65536
stack_top:
        .section .note.GNU-stack, "", @progbits
