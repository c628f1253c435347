/* checksum: CRC-32 (bit by bit, and with a 256-entry table built at run
 * time), Adler-32 and Fletcher-16, over "123456789" and over 64 KB of
 * pseudo-random bytes.  Long-running loops with many taken and not-taken
 * branches: the block chaining and loop code paths.  Expected values come
 * from Python's zlib and struct. */
        .include "guest.inc"
        GUEST "checksum", 0x19

        .set BIG, 65536

main:
        /* zlib.crc32(b"123456789") = 0xcbf43926, the standard check value */
        movl $digits, %esi
        movl $9, %ecx
        call crc32_bitwise
        CHECK "crc32.bit.check", 0xcbf43926
        call crc32_make_table
        movl $digits, %esi
        movl $9, %ecx
        call crc32_table
        CHECK "crc32.table.check", 0xcbf43926
        /* zlib.adler32(b"123456789") */
        movl $digits, %esi
        movl $9, %ecx
        call adler32
        CHECK "adler32.check", 0x091e01de
        /* Fletcher-16 of "abcde" = 0xc8f0 */
        movl $abcde, %esi
        movl $5, %ecx
        call fletcher16
        CHECK "fletcher16.abcde", 0x0000c8f0

        /* 64 KB of bytes from the LCG x = x * 1103515245 + 12345, byte = x >> 16 */
        movl $big, %edi
        movl $BIG, %ecx
        movl $1, %eax
1:      imull $1103515245, %eax, %eax
        addl $12345, %eax
        movl %eax, %edx
        shrl $16, %edx
        movb %dl, (%edi)
        incl %edi
        decl %ecx
        jnz 1b
        movl $big, %esi
        movl $BIG, %ecx
        call crc32_bitwise
        CHECK "crc32.bit.big", 0x12e573a3
        movl $big, %esi
        movl $BIG, %ecx
        call crc32_table
        CHECK "crc32.table.big", 0x12e573a3
        movl $big, %esi
        movl $BIG, %ecx
        call adler32
        CHECK "adler32.big", 0x04f60207
        /* a 32-bit sum of the dwords, with the carries counted */
        movl $big, %esi
        movl $BIG / 4, %ecx
        xorl %eax, %eax
        xorl %edx, %edx
2:      addl (%esi), %eax
        adcl $0, %edx
        addl $4, %esi
        loop 2b
        CHECK "sum32.big", 0x12f9e7e8
        CHECKR %edx, "sum32.carries", 0x00002004
        ret

/* crc32_bitwise: EAX = CRC-32 of ECX bytes at ESI (reflected, poly 0xedb88320) */
crc32_bitwise:
        pushl %ebx
        pushl %edx
        movl $0xffffffff, %eax
        testl %ecx, %ecx
        jz 3f
1:      xorb (%esi), %al
        incl %esi
        movl $8, %edx
2:      shrl $1, %eax
        jnc 4f
        xorl $0xedb88320, %eax
4:      decl %edx
        jnz 2b
        decl %ecx
        jnz 1b
3:      notl %eax
        popl %edx
        popl %ebx
        ret

/* crc32_make_table: crc_table[n] = CRC register after 8 steps from n, branch-free */
crc32_make_table:
        pushal
        xorl %ebx, %ebx
1:      movl %ebx, %eax
        movl $8, %ecx
2:      movl %eax, %edx
        andl $1, %edx
        negl %edx                       /* all ones when the low bit was set */
        andl $0xedb88320, %edx
        shrl $1, %eax
        xorl %edx, %eax
        loop 2b
        movl %eax, crc_table(,%ebx,4)
        incl %ebx
        cmpl $256, %ebx
        jb 1b
        popal
        ret

/* crc32_table: EAX = CRC-32 of ECX bytes at ESI, a table step per byte */
crc32_table:
        pushl %ebx
        pushl %edx
        movl $0xffffffff, %eax
        jecxz 2f
1:      movzbl (%esi), %edx
        incl %esi
        xorb %al, %dl
        shrl $8, %eax
        xorl crc_table(,%edx,4), %eax
        loop 1b
2:      notl %eax
        popl %edx
        popl %ebx
        ret

/* adler32: EAX = Adler-32 of ECX bytes at ESI (mod 65521 with DIV) */
adler32:
        pushl %ebx
        pushl %edx
        pushl %edi
        pushl %ebp
        movl $1, %ebx                   /* a */
        xorl %edi, %edi                 /* b */
        movl $65521, %ebp
        jecxz 2f
1:      movzbl (%esi), %eax
        incl %esi
        addl %ebx, %eax
        xorl %edx, %edx
        divl %ebp
        movl %edx, %ebx
        leal (%edi,%ebx), %eax
        xorl %edx, %edx
        divl %ebp
        movl %edx, %edi
        loop 1b
2:      movl %edi, %eax
        shll $16, %eax
        orl %ebx, %eax
        popl %ebp
        popl %edi
        popl %edx
        popl %ebx
        ret

/* fletcher16: EAX = Fletcher-16 of ECX bytes at ESI (mod 255 with 8-bit DIV) */
fletcher16:
        pushl %ebx
        pushl %edx
        xorl %ebx, %ebx                 /* BL = sum1, BH = sum2 */
        movb $255, %dl
1:      movzbl (%esi), %eax
        incl %esi
        addb %bl, %al
        adcb $0, %ah                    /* AX = sum1 + byte (up to 509) */
        divb %dl
        movb %ah, %bl
        movzbl %bh, %eax
        addb %bl, %al
        adcb $0, %ah
        divb %dl
        movb %ah, %bh
        loop 1b
        movzwl %bx, %eax                /* sum2 << 8 | sum1 */
        popl %edx
        popl %ebx
        ret

        .data
digits: .ascii "123456789"
abcde:  .ascii "abcde"

        .bss
        .align 16
crc_table: .space 1024
big:    .space BIG
