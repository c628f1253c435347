/* Long straight-line blocks looped: 48 instructions per iteration (register
   ALU, immediates, loads and stores to a small array), so the per-block
   costs (entry check, exits) are small next to the per-instruction ones.
   unsigned workload(unsigned scale) */
        .text
        .globl workload
workload:
        push %ebx
        push %esi
        push %edi
        push %ebp
        mov 20(%esp), %ecx
        imul $100000, %ecx
        mov $0x12345678, %eax
        mov $0x9abcdef0, %ebx
        mov $0x0f1e2d3c, %edx
        mov $0x55aa33cc, %esi
        mov $buf, %edi
        test %ecx, %ecx
        jz 2f
1:      add %ebx, %eax
        xor %eax, %edx
        add $0x1234, %esi
        mov %eax, (%edi)
        sub %edx, %ebx
        rol $5, %eax
        and $0x7ffffff, %esi
        mov 4(%edi), %ebp
        add %ebp, %edx
        or %esi, %ebx
        mov %ebx, 8(%edi)
        lea 3(%eax,%edx,2), %ebp
        xor %ebp, %esi
        mov %esi, 4(%edi)
        shr $3, %ebp
        add %ebp, %eax
        mov 8(%edi), %ebp
        sub %ebp, %edx
        add %ebx, %eax
        xor %eax, %edx
        add $0x1234, %esi
        mov %eax, 12(%edi)
        sub %edx, %ebx
        rol $7, %eax
        and $0x7ffffff, %esi
        mov 12(%edi), %ebp
        add %ebp, %edx
        or %esi, %ebx
        mov %ebx, 16(%edi)
        lea 1(%eax,%edx,4), %ebp
        xor %ebp, %esi
        mov %esi, 20(%edi)
        shr $2, %ebp
        add %ebp, %eax
        mov 16(%edi), %ebp
        sub %ebp, %edx
        add %ebx, %eax
        xor %eax, %edx
        add $0x4321, %esi
        mov %eax, 24(%edi)
        sub %edx, %ebx
        rol $11, %eax
        and $0x7ffffff, %esi
        mov 20(%edi), %ebp
        add %ebp, %edx
        or %esi, %ebx
        dec %ecx
        jnz 1b
2:      xor %ebx, %eax
        xor %edx, %eax
        xor %esi, %eax
        pop %ebp
        pop %edi
        pop %esi
        pop %ebx
        ret

        .bss
        .align 64
buf:    .space 64
        .section .note.GNU-stack, "", @progbits
