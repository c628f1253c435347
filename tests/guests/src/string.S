/* string: MOVS STOS LODS CMPS SCAS in byte/word/dword sizes, with REP,
 * REPE and REPNE, forwards (CLD) and backwards (STD), overlapping moves in
 * both directions, ECX = 0, and the final ESI/EDI/ECX and flags. */
        .include "guest.inc"
        GUEST "string", 0x17

main:
        /* rep stosb / stosl forwards */
        movl $buf, %edi
        movl $64, %ecx
        movb $0xaa, %al
        rep stosb
        CHECKR %ecx, "stosb.ecx", 0x00000000
        movl %edi, %eax
        subl $buf, %eax
        CHECK "stosb.edi", 0x00000040
        movl $buf, %edi
        movl $4, %ecx
        movl $0x11223344, %eax
        rep stosl
        CHECKR buf, "stosl.0", 0x11223344
        CHECKR buf+12, "stosl.3", 0x11223344
        CHECKR buf+16, "stosl.4", 0xaaaaaaaa

        /* rep stosw backwards */
        leal buf+62, %edi
        movl $8, %ecx
        movw $0x5566, %ax
        std
        rep stosw
        cld
        CHECKR buf+60, "stosw.back.last", 0x55665566
        CHECKR buf+48, "stosw.back.first", 0x55665566
        CHECKR buf+44, "stosw.back.before", 0xaaaaaaaa
        leal buf+46, %eax
        subl %edi, %eax
        CHECK "stosw.back.edi", 0x00000000

        /* ECX = 0: nothing moves, nothing changes */
        movl $src, %esi
        movl $buf, %edi
        xorl %ecx, %ecx
        rep movsb
        CHECKR buf, "rep0.buf", 0x11223344
        movl %esi, %eax
        subl $src, %eax
        CHECK "rep0.esi", 0x00000000

        /* rep movsb/movsl forwards, a non-rep movsw */
        movl $src, %esi
        movl $buf, %edi
        movl $11, %ecx
        rep movsb
        CHECKR buf, "movsb.0", 0x64636261
        CHECKR buf+8, "movsb.8", 0x116b6a69
        movl $src, %esi
        movl $buf, %edi
        movl $4, %ecx
        rep movsl
        CHECKR buf+12, "movsl.3", 0x706f6e6d
        movsw
        CHECKR buf+16, "movsw", 0xaaaa7271
        movl %esi, %eax
        subl $src, %eax
        CHECK "movsw.esi", 0x00000012

        /* overlapping moves: forwards smears, backwards shifts */
        movl $buf, %edi
        movl $0x03020100, (%edi)
        movl $0x07060504, 4(%edi)
        movl $0x0b0a0908, 8(%edi)
        movl $0x0f0e0d0c, 12(%edi)
        movl $buf, %esi
        leal 1(%esi), %edi
        movl $8, %ecx
        rep movsb                       /* byte 0 copied over bytes 1..8 */
        CHECKR buf, "overlap.fwd.0", 0x00000000
        CHECKR buf+8, "overlap.fwd.8", 0x0b0a0900
        movl $buf, %edi
        movl $0x03020100, (%edi)
        movl $0x07060504, 4(%edi)
        movl $0x0b0a0908, 8(%edi)
        leal buf+7, %esi
        leal buf+9, %edi
        movl $8, %ecx
        std
        rep movsb                       /* memmove by 2 upwards */
        cld
        CHECKR buf, "overlap.back.0", 0x01000100
        CHECKR buf+4, "overlap.back.4", 0x05040302
        CHECKR buf+8, "overlap.back.8", 0x0b0a0706
        leal buf-1, %eax
        subl %esi, %eax
        CHECK "overlap.back.esi", 0x00000000

        /* lodsb/lodsl forwards and backwards: sum of bytes */
        movl $src, %esi
        movl $26, %ecx
        xorl %ebx, %ebx
        xorl %eax, %eax
1:      lodsb
        addl %eax, %ebx
        loop 1b
        CHECKR %ebx, "lodsb.sum", 0x00000b1f
        leal src+24, %esi
        movl $7, %ecx
        xorl %ebx, %ebx
        std
2:      lodsl
        xorl %eax, %ebx
        loop 2b
        cld
        CHECKR %ebx, "lodsl.back.xor", 0x1c047e7d
        leal src-4, %eax
        subl %esi, %eax
        CHECK "lodsl.back.esi", 0x00000000

        /* repe cmpsb: stop at the first difference */
        movl $str_a, %esi
        movl $str_b, %edi
        movl $20, %ecx
        repe cmpsb
        CHECKF OSZAPC, "repe.cmpsb.flags", 0x00000004
        CHECKR %ecx, "repe.cmpsb.ecx", 0x0000000c
        movl %esi, %eax
        subl $str_a, %eax
        CHECK "repe.cmpsb.pos", 0x00000008
        /* repe cmpsl over equal data runs to the end with ZF=1 */
        movl $src, %esi
        movl $src, %edi
        movl $6, %ecx
        repe cmpsl
        CHECKF ZF, "repe.cmpsl.equal.zf", 0x00000040
        CHECKR %ecx, "repe.cmpsl.equal.ecx", 0x00000000
        /* repne cmpsw: stop at the first equal word */
        movl $words_a, %esi
        movl $words_b, %edi
        movl $8, %ecx
        repne cmpsw
        CHECKF ZF, "repne.cmpsw.zf", 0x00000040
        CHECKR %ecx, "repne.cmpsw.ecx", 0x00000003

        /* repne scasb: strlen */
        movl $str_a, %edi
        movl $-1, %ecx
        xorb %al, %al
        repne scasb
        notl %ecx
        decl %ecx
        CHECKR %ecx, "strlen", 0x0000000c
        /* repe scasl: skip a run of equal dwords */
        movl $run, %edi
        movl $10, %ecx
        movl $7, %eax
        repe scasl
        CHECKF OSZAPC, "repe.scasl.flags", 0x00000091
        CHECKR %ecx, "repe.scasl.ecx", 0x00000005
        /* backwards scasb finds the last 'l' */
        leal str_a+10, %edi
        movl $11, %ecx
        movb $'l', %al
        std
        repne scasb
        cld
        leal 1(%edi), %eax
        subl $str_a, %eax
        CHECK "scasb.back.pos", 0x0000000a

        /* memcpy of 4 KB + 3 bytes with rep movsl + rep movsb, then compare */
        movl $big_src, %edi
        movl $1027, %ecx
        movl $0x01234567, %eax
3:      stosl
        roll $3, %eax
        addl %ecx, %eax
        loop 3b
        movl $big_src + 1, %esi
        movl $big_dst + 3, %edi
        movl $4099, %ecx
        movl %ecx, %edx
        shrl $2, %ecx
        rep movsl
        movl %edx, %ecx
        andl $3, %ecx
        rep movsb
        movl $big_src + 1, %esi
        movl $big_dst + 3, %edi
        movl $4099, %ecx
        repe cmpsb
        CHECKF ZF, "memcpy.equal", 0x00000040
        movl $big_dst + 3, %esi
        movl $4099, %ecx
        xorl %ebx, %ebx
        xorl %eax, %eax
4:      lodsb
        imull $31, %ebx
        addl %eax, %ebx
        loop 4b
        CHECKR %ebx, "memcpy.hash", 0x1b7a27c9
        ret

        .data
src:    .ascii "abcdefghijklmnopqrstuvwxyz"
        .align 4
str_a:  .asciz "hello, world"
str_b:  .asciz "hello, there"
        .align 4
words_a: .word 1, 2, 3, 4, 5, 6, 7, 8
words_b: .word 9, 9, 9, 9, 5, 9, 9, 9
run:    .long 7, 7, 7, 7, 9, 7, 7, 7, 7, 7

        .bss
        .align 16
buf:    .space 128
big_src: .space 4112
big_dst: .space 4112
