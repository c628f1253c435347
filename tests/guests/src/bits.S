/* bits: BT/BTS/BTR/BTC on registers and memory (immediate and register bit
 * offsets, including register offsets that reach other dwords of a memory bit
 * string, forwards and backwards), BSF/BSR, BSWAP, and bit-twiddling loops.
 * After BTx only CF is defined; after BSF/BSR only ZF. */
        .include "guest.inc"
        GUEST "bits", 0x15

main:
        /* register operands */
        movl $0x80000010, %eax
        btl $4, %eax
        CHECKF CF, "bt.reg.4", 0x00000001
        btl $36, %eax                   /* imm offsets are taken mod 32 */
        CHECKF CF, "bt.reg.36", 0x00000001
        movl $31, %ecx
        btl %ecx, %eax
        CHECKF CF, "bt.reg.cl31", 0x00000001
        movl $63, %ecx                  /* register offsets too, for register operands */
        btl %ecx, %eax
        CHECKF CF, "bt.reg.cl63", 0x00000001
        btsl $0, %eax
        CHECKF CF, "bts.reg.flags", 0x00000000
        CHECK "bts.reg", 0x80000011
        btrl $31, %eax
        CHECKF CF, "btr.reg.flags", 0x00000001
        CHECK "btr.reg", 0x00000011
        btcl $4, %eax
        CHECKF CF, "btc.reg.flags", 0x00000001
        CHECK "btc.reg", 0x00000001
        movw $0x8000, %bx
        btcw $15, %bx
        CHECKF CF, "btc16.flags", 0x00000001
        btsw $17, %bx                   /* 17 mod 16 = 1 */
        CHECKR %ebx, "bts16", 0x00000002

        /* memory bit string (bitmap[0..3] = dwords) */
        btl $5, bitmap
        CHECKF CF, "bt.mem.5", 0x00000000
        movl $40, %ecx                  /* dword 1, bit 8 */
        btsl %ecx, bitmap
        CHECKF CF, "bts.mem.40.flags", 0x00000000
        CHECKR bitmap+4, "bts.mem.40", 0x00000100
        movl $100, %ecx                 /* dword 3, bit 4 */
        btsl %ecx, bitmap
        CHECKR bitmap+12, "bts.mem.100", 0x00000014
        btrl %ecx, bitmap
        CHECKF CF, "btr.mem.100.flags", 0x00000001
        CHECKR bitmap+12, "btr.mem.100", 0x00000004
        movl $-1, %ecx                  /* bit 31 of the dword before the base */
        btl %ecx, bitmap+4
        CHECKF CF, "bt.mem.-1", 0x00000001
        movl $-32, %ecx
        btcl %ecx, bitmap+8             /* dword 1, bit 0 */
        CHECKF CF, "btc.mem.-32.flags", 0x00000000
        CHECKR bitmap+4, "btc.mem.-32", 0x00000101
        movl $bitmap, %esi
        movl $15, %ecx
        btsw %cx, 2(%esi)               /* 16-bit form: word at +2, bit 15 */
        CHECKR bitmap, "bts16.mem", 0x80000000
        btcl $7, 3(%esi)                /* byte-unaligned memory operand */
        CHECKR bitmap, "btc.mem.unaligned", 0x00000000

        /* BSF / BSR */
        movl $0x00f01000, %eax
        bsfl %eax, %ecx
        CHECKF ZF, "bsf.flags", 0x00000000
        CHECKR %ecx, "bsf", 0x0000000c
        bsrl %eax, %ecx
        CHECKR %ecx, "bsr", 0x00000017
        movl $1, %eax
        bsrl %eax, %ecx
        CHECKR %ecx, "bsr.1", 0x00000000
        movl $0x80000000, %eax
        bsfl %eax, %ecx
        CHECKR %ecx, "bsf.top", 0x0000001f
        movl $0, %eax
        bsfl %eax, %ecx                 /* zero source: ZF=1, destination undefined */
        CHECKF ZF, "bsf.zero.flags", 0x00000040
        bsrl %eax, %ecx
        CHECKF ZF, "bsr.zero.flags", 0x00000040
        movl $0x00300000, mem
        bsfl mem, %edx
        CHECKR %edx, "bsf.mem", 0x00000014
        movw $0x0180, %ax
        bsrw %ax, %dx
        CHECKR %edx, "bsr16", 0x00000008

        /* BSWAP */
        movl $0x11223344, %eax
        bswapl %eax
        CHECK "bswap", 0x44332211
        movl $0xa1b2c3d4, %edi
        bswapl %edi
        CHECKR %edi, "bswap.edi", 0xd4c3b2a1

        /* population count three ways, over 64 words of a generated pattern */
        xorl %ebx, %ebx                 /* bt loop */
        xorl %edi, %edi                 /* clear-lowest-bit loop */
        xorl %ebp, %ebp                 /* bsf loop */
        movl $0x12345678, %esi
        movl $64, %ecx
1:      imull $1103515245, %esi, %esi   /* LCG */
        addl $12345, %esi
        movl %esi, %eax
        xorl %edx, %edx
2:      btl %edx, %eax
        adcl $0, %ebx
        incl %edx
        cmpl $32, %edx
        jne 2b
        movl %esi, %eax
3:      testl %eax, %eax
        jz 4f
        leal -1(%eax), %edx
        andl %edx, %eax
        incl %edi
        jmp 3b
4:      movl %esi, %eax
5:      bsfl %eax, %edx
        jz 6f
        btrl %edx, %eax
        incl %ebp
        jmp 5b
6:      loop 1b
        CHECKR %ebx, "popcount.bt", 0x00000409
        CHECKR %edi, "popcount.kernighan", 0x00000409
        CHECKR %ebp, "popcount.bsf", 0x00000409
        ret

        .data
        .align 4
bitmap: .long 0x80000000, 0, 0, 4
mem:    .long 0
