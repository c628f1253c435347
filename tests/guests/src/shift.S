/* shift: SHL/SAL/SHR/SAR, ROL/ROR, RCL/RCR, SHLD/SHRD by 1, by an immediate
 * and by CL (including 0, which leaves the flags alone, and counts that are
 * masked to 5 bits), at 8, 16 and 32 bits.  Flags compared only where the
 * SDM defines them: OF only for 1-bit shifts, AF never, CF not for SHL/SHR
 * counts >= the operand size, only CF (and OF for 1) for rotates. */
        .include "guest.inc"
        GUEST "shift", 0x13

        .set CO, CF | OF
        .set SZP, SF | ZF | PF

/* put a known pattern in EFLAGS (popf keeps reserved bit 1 set) */
.macro SETFLAGS value:req
        pushl $(\value | 2)
        popfl
.endm

main:
        /* by one */
        movl $0x81234567, %eax
        shll $1, %eax
        CHECKF OSZPC, "shl1.flags", 0x00000801
        CHECK "shl1", 0x02468ace
        movl $0x81234567, %eax
        shrl $1, %eax
        CHECKF OSZPC, "shr1.flags", 0x00000801
        CHECK "shr1", 0x4091a2b3
        movl $0x81234567, %eax
        sarl $1, %eax
        CHECKF OSZPC, "sar1.flags", 0x00000081
        CHECK "sar1", 0xc091a2b3
        movl $0x40000000, %eax
        sall %eax                       /* the short D1 /4 form */
        CHECKF OSZPC, "sal1.flags", 0x00000884

        /* by an immediate */
        movl $0x81234567, %eax
        shll $4, %eax
        CHECKF SZPC, "shl4.flags", 0x00000000
        CHECK "shl4", 0x12345670
        movl $0x81234567, %eax
        shrl $28, %eax
        CHECKF SZPC, "shr28.flags", 0x00000000
        CHECK "shr28", 0x00000008
        movl $0x81234567, %eax
        sarl $31, %eax
        CHECKF SZPC, "sar31.flags", 0x00000084
        CHECK "sar31", 0xffffffff
        movl $0x0000ff00, %ebx
        shrl $8, %ebx
        CHECKF SZPC, "shr8.flags", 0x00000004
        CHECKR %ebx, "shr8", 0x000000ff

        /* by CL: 0 keeps every flag, counts are taken mod 32 */
        movl $0x12345678, %eax
        movb $0, %cl
        SETFLAGS OSZAPC
        shll %cl, %eax
        CHECKF OSZAPC, "shl0.flags", 0x000008d5
        CHECK "shl0", 0x12345678
        SETFLAGS 0
        sarl %cl, %eax
        CHECKF OSZAPC, "sar0.flags", 0x00000000
        movb $33, %cl                   /* = 1 */
        shll %cl, %eax
        CHECKF OSZPC, "shl33.flags", 0x00000004
        CHECK "shl33", 0x2468acf0
        movb $0x24, %cl                 /* = 4 */
        shrl %cl, %eax
        CHECK "shr36", 0x02468acf
        movl $0xf0000000, %edx
        movb $0x3f, %cl                 /* = 31 */
        sarl %cl, %edx
        CHECKF SZPC, "sar63.flags", 0x00000085
        CHECKR %edx, "sar63", 0xffffffff

        /* 8 and 16 bits: counts up to 31 are not reduced mod the width */
        movl $0x11111181, %eax
        shlb $1, %al
        CHECKF OSZPC, "shl8.1.flags", 0x00000801
        CHECK "shl8.1", 0x11111102
        movl $0x111111c3, %eax
        movb $8, %cl
        shlb %cl, %al                   /* all bits out: 0 */
        CHECKF SZP, "shl8.8.flags", 0x00000044
        CHECK "shl8.8", 0x11111100
        movl $0x111111c3, %eax
        movb $7, %cl
        shrb %cl, %al
        CHECKF SZPC, "shr8.7.flags", 0x00000001
        CHECK "shr8.7", 0x11111101
        movl $0x11111183, %eax
        movb $12, %cl
        sarb %cl, %al                   /* sign fill */
        CHECKF SZP, "sar8.12.flags", 0x00000084
        CHECK "sar8.12", 0x111111ff
        movl $0x2222c001, %eax
        movb $15, %cl
        shlw %cl, %ax
        CHECKF SZPC, "shl16.15.flags", 0x00000084
        CHECK "shl16.15", 0x22228000
        movl $0x22228001, %eax
        sarw $3, %ax
        CHECKF SZPC, "sar16.3.flags", 0x00000084
        CHECK "sar16.3", 0x2222f000

        /* rotates */
        movl $0x80000001, %eax
        roll $1, %eax
        CHECKF CO, "rol1.flags", 0x00000801
        CHECK "rol1", 0x00000003
        movl $0x80000001, %eax
        rorl $1, %eax
        CHECKF CO, "ror1.flags", 0x00000001
        CHECK "ror1", 0xc0000000
        movl $0x12345678, %eax
        roll $12, %eax
        CHECKF CF, "rol12.flags", 0x00000001
        CHECK "rol12", 0x45678123
        movl $0x12345678, %eax
        movb $36, %cl                   /* = 4 */
        rorl %cl, %eax
        CHECKF CF, "ror36.flags", 0x00000001
        CHECK "ror36", 0x81234567
        movl $0x12345678, %eax
        movb $32, %cl                   /* = 0: nothing changes */
        SETFLAGS CF | OF | ZF
        roll %cl, %eax
        CHECKF OSZAPC, "rol32.flags", 0x00000841
        CHECK "rol32", 0x12345678
        movl $0xaaaa0081, %eax
        rolb $1, %al
        CHECKF CO, "rol8.flags", 0x00000801
        CHECK "rol8", 0xaaaa0003
        movb $9, %cl
        rolb %cl, %al                   /* 9 mod 8 = 1 */
        CHECK "rol8.9", 0xaaaa0006
        rorw $4, %ax
        CHECKF CF, "ror16.flags", 0x00000000
        CHECK "ror16", 0xaaaa6000

        /* through carry */
        movl $0x80000000, %eax
        clc
        rcll $1, %eax
        CHECKF CO, "rcl1.flags", 0x00000801
        CHECK "rcl1", 0x00000000
        rcll $1, %eax
        CHECKF CO, "rcl1.again.flags", 0x00000000
        CHECK "rcl1.again", 0x00000001
        movl $0x00000001, %eax
        stc
        rcrl $1, %eax
        CHECKF CO, "rcr1.flags", 0x00000801
        CHECK "rcr1", 0x80000000
        movl $0x12345678, %eax
        stc
        rcll $8, %eax
        CHECKF CF, "rcl8.flags", 0x00000000
        CHECK "rcl8", 0x34567889
        movl $0xffffff01, %eax
        clc
        movb $9, %cl
        rclb %cl, %al                   /* 9 mod 9 = 0: unchanged */
        CHECKF CF, "rcl8.9.flags", 0x00000000
        CHECK "rcl8.9", 0xffffff01
        movb $10, %cl                   /* 10 mod 9 = 1 */
        stc
        rclb %cl, %al
        CHECKF CF, "rcl8.10.flags", 0x00000000
        CHECK "rcl8.10", 0xffffff03
        movl $0x00000001, %eax
        stc
        movb $17, %cl
        rcrw %cl, %ax                   /* 17 mod 17 = 0 */
        CHECK "rcr16.17", 0x00000001
        movb $5, %cl
        stc
        rcrw %cl, %ax
        CHECKF CF, "rcr16.5.flags", 0x00000000
        CHECK "rcr16.5", 0x00001800

        /* double shifts */
        movl $0x12345678, %eax
        movl $0x9abcdef0, %edx
        shldl $8, %edx, %eax
        CHECKF SZPC, "shld8.flags", 0x00000004
        CHECK "shld8", 0x3456789a
        movl $0x12345678, %eax
        shrdl $8, %edx, %eax
        CHECKF SZPC, "shrd8.flags", 0x00000084
        CHECK "shrd8", 0xf0123456
        movl $0x80000000, %eax
        movl $0, %edx
        shldl $1, %edx, %eax
        CHECKF OSZPC, "shld1.flags", 0x00000845
        CHECK "shld1", 0x00000000
        movl $0x12345678, %eax
        movb $0, %cl
        SETFLAGS SF | PF
        shldl %cl, %edx, %eax
        CHECKF OSZAPC, "shld0.flags", 0x00000084
        movl $0xffffffff, %edx
        movb $36, %cl                   /* = 4 */
        shrdl %cl, %edx, %eax
        CHECKF SZPC, "shrd36.flags", 0x00000081
        CHECK "shrd36", 0xf1234567
        movw $0x1234, %ax
        movw $0xabcd, %bx
        shldw $4, %bx, %ax
        CHECK "shld16", 0xf123234a
        shrdw $12, %bx, %ax
        CHECK "shrd16", 0xf123bcd2
        movl $0x11111111, mem_s
        movl $0x22222222, %ebx
        shldl $4, %ebx, mem_s
        CHECKR mem_s, "shldm", 0x11111112
        ret

        .data
        .align 4
mem_s:  .long 0
