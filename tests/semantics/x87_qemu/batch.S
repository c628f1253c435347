/* x87 batch runner: run every case of cases.bin and dump the FPU state after it.
 *
 * Built by tests/semantics/test_x87_qemu.py, which writes cases.bin (a u32
 * count, then fixed-size records) and compares what pyemu and
 * qemu-system-i386 write to the debug console (port 0xe9).  A record:
 *      0   FRSTOR image, 32-bit protected-mode layout (108 bytes)
 *    108   the operand area's first 160 bytes
 *    268   EFLAGS, EAX
 *    276   code: the fragment, then RET (24 bytes)
 * The fragment addresses memory through EBX = the operand area (512 bytes,
 * 16-aligned).  Output per case: FNSAVE image (108), operand area (160),
 * EFLAGS, EAX.
 */
        .include "guest.inc"
        GUEST "x87batch", 0x31

        .set REC, 300

main:
        fninit
        movl $cases + 4, %esi
        movl cases, %ecx
1:      pushl %ecx
        pushl %esi
        leal 108(%esi), %esi
        movl $opnd, %edi
        movl $40, %ecx
        cld
        rep movsl
        movl (%esp), %esi
        frstor (%esi)
        movl 272(%esi), %eax
        leal 276(%esi), %edx
        movl $opnd, %ebx
        pushl 268(%esi)
        popfl
        call *%edx
        pushfl
        popl out_eflags
        movl %eax, out_eax
        fnsave out_state
        cld
        movw $0xe9, %dx
        movl $out_state, %esi
        movl $108, %ecx
        rep outsb
        movl $opnd, %esi
        movl $160, %ecx
        rep outsb
        movl $out_eflags, %esi
        movl $8, %ecx
        rep outsb
        popl %esi
        popl %ecx
        addl $REC, %esi
        decl %ecx
        jnz 1b
        ret

        .data
        .align 16
opnd:
        .space 512
out_state:
        .space 108
out_eflags:
        .long 0
out_eax:
        .long 0
        .align 4
cases:
        .incbin "cases.bin"
