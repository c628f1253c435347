/* A flag-heavy loop: ADC chains, SETcc, CMC and PUSHF/POPF that read and write
   EFLAGS as a whole, so lazily computed flags must be materialised often.
   unsigned workload(unsigned scale) */
        .text
        .globl workload
workload:
        push %ebx
        push %esi
        push %edi
        mov 16(%esp), %ecx
        imul $100000, %ecx
        xor %eax, %eax
        mov $0x12345678, %ebx
        mov $0x9abcdef0, %esi
        xor %edi, %edi
        jecxz 2f
1:      add %ebx, %esi
        adc %esi, %ebx
        setc %dl
        movzbl %dl, %edx
        add %edx, %edi
        pushf
        pop %edx
        xor %edx, %eax
        rol $3, %eax
        cmc
        adc $7, %eax
        mov %eax, %edx
        and $0x8d5, %edx        /* only the six arithmetic flags: no TF/IF/DF */
        push %edx
        popf
        sbb %ecx, %edi
        dec %ecx
        jnz 1b
2:      add %edi, %eax
        pop %edi
        pop %esi
        pop %ebx
        ret
        .section .note.GNU-stack, "", @progbits
