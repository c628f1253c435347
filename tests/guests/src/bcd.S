/* bcd: DAA DAS AAA AAS AAM AAD, singly and in a packed-BCD adder.
 * Flags compared where the SDM defines them: DAA/DAS: SZAPC (OF undefined);
 * AAA/AAS: AF CF; AAM/AAD: SF ZF PF.
 * AAA/AAS are only used with AL >= 6 / no borrow from AL: there the SDM's
 * "AX <- AX + 106H" and the 8086's "AL <- AL + 6; AH <- AH + 1" (which QEMU
 * implements) agree. */
        .include "guest.inc"
        GUEST "bcd", 0x14

        .set SZAPC, SF | ZF | AF | PF | CF
        .set AC, AF | CF
        .set SZP, SF | ZF | PF

main:
        /* DAA after packed adds */
        movl $0x11223338, %eax
        addb $0x45, %al                 /* 38 + 45 = 83 */
        daa
        CHECKF SZAPC, "daa.38.45.flags", 0x00000090
        CHECK "daa.38.45", 0x11223383
        movb $0x99, %al
        addb $0x01, %al                 /* 99 + 01 = 100 */
        daa
        CHECKF SZAPC, "daa.99.01.flags", 0x00000055
        CHECK "daa.99.01", 0x11223300
        movb $0x58, %al
        addb $0x79, %al                 /* 58 + 79 = 137 */
        daa
        CHECKF SZAPC, "daa.58.79.flags", 0x00000011
        CHECK "daa.58.79", 0x11223337
        movb $0x9a, %al                 /* not BCD: both nibbles adjusted */
        clc
        daa
        CHECKF SZAPC, "daa.9a.flags", 0x00000055
        CHECK "daa.9a", 0x11223300

        /* DAS after packed subtracts */
        movb $0x83, %al
        subb $0x45, %al                 /* 83 - 45 = 38 */
        das
        CHECKF SZAPC, "das.83.45.flags", 0x00000010
        CHECK "das.83.45", 0x11223338
        movb $0x12, %al
        subb $0x34, %al                 /* 12 - 34 = -22 -> 78 borrow */
        das
        CHECKF SZAPC, "das.12.34.flags", 0x00000015
        CHECK "das.12.34", 0x11223378
        movb $0x40, %al
        subb $0x40, %al
        das
        CHECKF SZAPC, "das.zero.flags", 0x00000044

        /* AAA / AAS: unpacked (ASCII) digits */
        movl $0x00000039, %eax
        addb $0x35, %al                 /* '9' + '5' */
        aaa
        CHECKF AC, "aaa.9.5.flags", 0x00000011
        CHECK "aaa.9.5", 0x00000104
        movl $0x00000032, %eax
        addb $0x34, %al                 /* '2' + '4' */
        aaa
        CHECKF AC, "aaa.2.4.flags", 0x00000000
        CHECK "aaa.2.4", 0x00000006
        movl $0x00000538, %eax
        addb $0x38, %al                 /* '8' + '8' = 0x70, AF set */
        aaa
        CHECKF AC, "aaa.8.8.flags", 0x00000011
        CHECK "aaa.8.8", 0x00000606
        movl $0x00000033, %eax
        subb $0x35, %al                 /* '3' - '5' */
        aas
        CHECKF AC, "aas.3.5.flags", 0x00000011
        CHECK "aas.3.5", 0x0000ff08
        movl $0x00000237, %eax
        subb $0x32, %al                 /* '7' - '2' */
        aas
        CHECKF AC, "aas.7.2.flags", 0x00000000
        CHECK "aas.7.2", 0x00000205

        /* AAM / AAD */
        movl $0x0000003f, %eax          /* 63 */
        aam
        CHECKF SZP, "aam.63.flags", 0x00000004
        CHECK "aam.63", 0x00000603
        movl $0x000000ff, %eax
        aam $16
        CHECKF SZP, "aam16.flags", 0x00000004
        CHECK "aam16", 0x00000f0f
        movl $0x00000000, %eax
        aam
        CHECKF SZP, "aam.0.flags", 0x00000044
        movl $0x00000603, %eax
        aad
        CHECKF SZP, "aad.flags", 0x00000004
        CHECK "aad", 0x0000003f
        movl $0x00000f0f, %eax
        aad $16
        CHECKF SZP, "aad16.flags", 0x00000084
        CHECK "aad16", 0x000000ff
        movl $0x00000909, %eax
        aad $30                         /* 9 * 30 + 9 = 279: AL = 279 & 0xff */
        CHECK "aad30", 0x00000017

        /* a 16-digit packed BCD adder: 1234567890123456 + 8765432109876544 */
        movl $bcd_a, %esi
        movl $bcd_b, %edi
        movl $bcd_sum, %ebx
        movl $8, %ecx
        clc
1:      movb (%esi), %al
        adcb (%edi), %al
        daa
        movb %al, (%ebx)
        incl %esi                       /* inc/lea keep CF for the next adc */
        leal 1(%edi), %edi
        incl %ebx
        loop 1b
        setc %al
        movzbl %al, %eax
        CHECK "bcdadd.carry", 0x00000001
        CHECKR bcd_sum, "bcdadd.lo", 0x00000000
        CHECKR bcd_sum+4, "bcdadd.hi", 0x00000000

        /* decimal to ASCII with AAM: 4096 digit by digit */
        movl $4096, %eax
        xorl %edx, %edx
        movl $1000, %ecx
        divl %ecx                       /* 4 rem 96 */
        movl %edx, %ebx
        addb $'0', %al
        movb %al, ascii_buf
        movl %ebx, %eax
        movb $100, %cl
        divb %cl                        /* AL = 0, AH = 96 */
        addb $'0', %al
        movb %al, ascii_buf+1
        movb %ah, %al
        aam                             /* AH = 9, AL = 6 */
        orw $0x3030, %ax
        xchgb %al, %ah
        movw %ax, ascii_buf+2
        CHECKR ascii_buf, "ascii.4096", 0x36393034
        ret

        .data
        .align 4
bcd_a:  .byte 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12
bcd_b:  .byte 0x44, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87
bcd_sum: .space 8
ascii_buf: .space 4
