/* x87: formats, rounding, precision control, compares, state save/restore,
 * exception flags, #MF (CR0.NE = 1) and #NM (CR0.TS), checked against the
 * values the SDM gives and printed, so the output can be compared with
 * qemu-system-i386's byte for byte.
 *
 * It keeps to what QEMU 7.2 models as the SDM says: no stack faults, no
 * denormal operands (QEMU never raises #D), no C1 round-up checks, no
 * precision control on anything but the arithmetic it applies to, #MF only
 * from FWAIT (QEMU checks pending exceptions there alone), and FXSAVE's
 * x87 fields without FOP.  tests/fpu covers the rest against the SDM.
 */
        .include "sys.inc"
        GUEST "x87", 0x1e

        .set CR0_MP, 2
        .set CR0_NE, 0x20

/* M80 name, addr: print (and check) the 80-bit value stored at addr */
.macro M80 name:req, addr:req, se:req, hi:req, lo:req
        pushl %eax
        movzwl \addr + 8, %eax
        CHECK "\name\().se", \se
        popl %eax
        CHECKR \addr + 4, "\name\().hi", \hi
        CHECKR \addr, "\name\().lo", \lo
.endm

/* STATUS name, expected: FNSTSW AX, then check AX & mask */
.macro STATUS name:req, mask:req, expected:req
        pushl %eax
        fnstsw %ax
        andl $(\mask), %eax
        CHECK "\name", \expected
        popl %eax
.endm

.macro SETCW value:req
        movw $(\value), cw_buf
        fldcw cw_buf
.endm

main:
        call sys_init
        fninit
        call formats
        call rounding
        call precision
        call compares
        call arithmetic
        call flags
        call save_restore
        call fxsave_test
        call faults
        ret

/* ---- formats: every load and store ---------------------------------------------------- */
formats:
        PRINT "-- formats\n"
        fninit
        fld1
        fldl2e                          /* exact constants, both to memory */
        fstpt t80
        M80 "fldl2e", t80, 0x3fff, 0xb8aa3b29, 0x5c17f0bc
        fldpi
        fsts f32
        CHECKR f32, "pi.f32", 0x40490fdb
        fstl f64
        CHECKR f64 + 4, "pi.f64.hi", 0x400921fb
        CHECKR f64, "pi.f64.lo", 0x54442d18
        fstpt t80
        M80 "pi", t80, 0x4000, 0xc90fdaa2, 0x2168c235
        fdivs f32_three                 /* 1 / 3 (ST0 is 1 again) */
        fsts f32
        CHECKR f32, "third.f32", 0x3eaaaaab
        fstl f64
        CHECKR f64 + 4, "third.f64.hi", 0x3fd55555
        CHECKR f64, "third.f64.lo", 0x55555555
        fstpt t80
        M80 "third", t80, 0x3ffd, 0xaaaaaaaa, 0xaaaaaaab
        /* integers */
        fnclex
        fildl i32_in                    /* -123456789 */
        fistl i32
        CHECKR i32, "fild/fist32", -123456789
        fistps i16                      /* out of range: the integer indefinite, #IA */
        movzwl i16, %eax
        CHECK "fistp16.indefinite", 0x8000
        STATUS "fistp16.ie", 0x3f, 0x01
        fnclex
        fildll i64_in
        fistpll i64
        CHECKR i64 + 4, "fild/fist64.hi", 0x80000000
        CHECKR i64, "fild/fist64.lo", 0x00000001
        filds i16_in                    /* -32768 */
        fistpl i32
        CHECKR i32, "fild16", -32768
        /* packed BCD */
        fbld bcd_in
        fbstp bcd_out
        CHECKR bcd_out, "bcd.lo", 0x90785634
        CHECKR bcd_out + 4, "bcd.mid", 0x78563412
        movzwl bcd_out + 8, %eax
        CHECK "bcd.hi", 0x8012
        fldt big80                      /* 2^61: no 18-digit BCD */
        fbstp bcd_out
        movzwl bcd_out + 8, %eax
        CHECK "bcd.indefinite", 0xffff
        STATUS "fbstp.ie", 0x3f, 0x01
        fnclex
        /* 32/64-bit specials: a signaling NaN loads quieted, with #IA */
        flds f32_snan
        fstps f32
        CHECKR f32, "snan.f32", 0x7fc00001
        STATUS "snan.ie", 0x3f, 0x01
        fnclex
        flds f32_inf
        fstpl f64
        CHECKR f64 + 4, "inf.f64.hi", 0xfff00000
        STATUS "inf.flags", 0x3f, 0
        ret

/* ---- rounding control ------------------------------------------------------------------ */
.macro THIRD rc:req, name:req, lo:req
        SETCW 0x037f | (\rc << 10)
        fld1
        fdivs f32_three
        fstpt t80
        CHECKR t80, "\name", \lo
.endm

.macro FIST_RC rc:req, value:req, name:req, expected:req
        SETCW 0x037f | (\rc << 10)
        flds \value
        fistpl i32
        CHECKR i32, "\name", \expected
.endm

rounding:
        PRINT "-- rounding\n"
        fninit
        THIRD 0, "1/3.near", 0xaaaaaaab
        THIRD 1, "1/3.down", 0xaaaaaaaa
        THIRD 2, "1/3.up", 0xaaaaaaab
        THIRD 3, "1/3.zero", 0xaaaaaaaa
        FIST_RC 0, f32_2_5, "2.5.near", 2
        FIST_RC 0, f32_3_5, "3.5.near", 4
        FIST_RC 0, f32_m2_5, "-2.5.near", -2
        FIST_RC 1, f32_2_5, "2.5.down", 2
        FIST_RC 1, f32_m2_5, "-2.5.down", -3
        FIST_RC 2, f32_2_5, "2.5.up", 3
        FIST_RC 2, f32_m2_5, "-2.5.up", -2
        FIST_RC 3, f32_m2_5, "-2.5.zero", -2
        FIST_RC 3, f32_3_5, "3.5.zero", 3
        /* FRNDINT follows RC too */
        SETCW 0x0b7f                    /* up */
        flds f32_m2_5
        frndint
        fistpl i32
        CHECKR i32, "frndint.up", -2
        /* a double store rounds in the current mode: 1/3 to f32 rounding down */
        SETCW 0x077f
        fld1
        fdivs f32_three
        fstps f32
        CHECKR f32, "1/3.f32.down", 0x3eaaaaaa
        /* the constants follow RC (the 66-bit internal values) */
        fldpi
        fstpt t80
        CHECKR t80, "fldpi.down", 0x2168c234
        SETCW 0x037f
        ret

/* ---- precision control (applies to the arithmetic) -------------------------------------- */
.macro PC_THIRD pc:req, name:req, hi:req, lo:req
        SETCW 0x007f | (\pc << 8)
        fld1
        fdivs f32_three
        fstpt t80
        CHECKR t80 + 4, "\name\().hi", \hi
        CHECKR t80, "\name\().lo", \lo
.endm

precision:
        PRINT "-- precision control\n"
        fninit
        PC_THIRD 0, "1/3.pc24", 0xaaaaab00, 0
        PC_THIRD 2, "1/3.pc53", 0xaaaaaaaa, 0xaaaaa800
        PC_THIRD 3, "1/3.pc64", 0xaaaaaaaa, 0xaaaaaaab
        SETCW 0x027f                    /* 53 bits: sqrt(2) */
        fildl two
        fsqrt
        fstpt t80
        M80 "sqrt2.pc53", t80, 0x3fff, 0xb504f333, 0xf9de6800
        SETCW 0x037f
        fildl two
        fsqrt
        fstpt t80
        M80 "sqrt2.pc64", t80, 0x3fff, 0xb504f333, 0xf9de6484
        ret

/* ---- comparisons -------------------------------------------------------------------------- */
compares:
        PRINT "-- compares\n"
        fninit
        fld1
        fldz                            /* ST0 = 0, ST1 = 1 */
        fcom %st(1)
        STATUS "fcom.less", 0x4500, 0x0100
        fcomi %st(1), %st
        CHECKF (CF|PF|ZF), "fcomi.less", CF
        fxch
        fcom %st(1)
        STATUS "fcom.greater", 0x4500, 0
        fcom %st(0)
        STATUS "fcom.equal", 0x4500, 0x4000
        fcompp
        /* SAHF after FNSTSW: the classic compare idiom */
        flds f32_3_5
        fcomps f32_2_5
        fnstsw %ax
        sahf
        seta %al
        movzbl %al, %eax
        CHECK "sahf.above", 1
        /* unordered: FUCOM quietly, FCOM with #IA */
        flds f32_qnan
        fld1
        fucom %st(1)
        STATUS "fucom.unordered", 0x4501, 0x4500
        fcom %st(1)
        STATUS "fcom.unordered", 0x4501, 0x4501
        fnclex
        fucomip %st(1), %st
        CHECKF (CF|PF|ZF), "fucomi.unordered", CF|PF|ZF
        fstp %st(0)
        /* FXAM classes: zero, normal, infinity, NaN, empty; C1 = sign */
        fldz
        fchs
        fxam
        STATUS "fxam.-zero", 0x4700, 0x4200
        fstp %st(0)
        fld1
        fxam
        STATUS "fxam.normal", 0x4700, 0x0400
        fstp %st(0)
        flds f32_inf
        fxam
        STATUS "fxam.-inf", 0x4700, 0x0700
        fstp %st(0)
        flds f32_qnan
        fxam
        STATUS "fxam.nan", 0x4700, 0x0100
        ffree %st(0)
        fxam
        STATUS "fxam.empty", 0x4500, 0x4100
        fincstp
        fldpi
        fchs
        ftst
        STATUS "ftst.negative", 0x4500, 0x0100
        fstp %st(0)
        ret

/* ---- arithmetic and the misc instructions ------------------------------------------------ */
arithmetic:
        PRINT "-- arithmetic\n"
        fninit
        /* FPREM: 100 mod 7 = 2, quotient 14 (C0 C3 C1 = q2 q1 q0 = 1 1 0) */
        fildl seven
        fildl hundred
        fprem
        STATUS "fprem.q", 0x4700, 0x4100
        fistpl i32
        CHECKR i32, "fprem.r", 2
        fstp %st(0)
        /* FSCALE: 3 * 2^-2 */
        fildl minus_two
        fildl three
        fscale
        fstpt t80
        M80 "fscale", t80, 0x3ffe, 0xc0000000, 0
        fstp %st(0)
        /* FXTRACT: 48 = 1.5 * 2^5 */
        fildl fortyeight
        fxtract
        fstpt t80
        M80 "fxtract.sig", t80, 0x3fff, 0xc0000000, 0
        fistpl i32
        CHECKR i32, "fxtract.exp", 5
        /* a 64-bit chain: 10/7 */
        fildl ten
        fidivl seven_i
        fstpt t80
        M80 "10/7", t80, 0x3fff, 0xb6db6db6, 0xdb6db6db
        /* FIADD, FISUBR, FIMUL with 16-bit integers */
        fld1
        fiadds i16_5
        fisubrs i16_5                   /* 5 - 6 */
        fimuls i16_5
        fistpl i32
        CHECKR i32, "int.ops", -5
        /* FCMOVcc and FABS */
        fld1
        fldpi
        fchs
        movl $1, %eax
        cmpl $2, %eax                   /* CF = 1 */
        fcmovb %st(1), %st
        fabs
        fistpl i32
        CHECKR i32, "fcmovb", 1
        fstp %st(0)
        ret

/* ---- exception flags (all masked) ------------------------------------------------------- */
flags:
        PRINT "-- exception flags\n"
        fninit
        fld1
        fldz
        fdivr %st(1), %st               /* 1 / 0 */
        STATUS "div0.ze", 0x3f, 0x04
        fstpt t80
        M80 "div0", t80, 0x7fff, 0x80000000, 0
        fnclex
        fchs
        fsqrt                           /* sqrt(-1) */
        STATUS "sqrt.ie", 0x3f, 0x01
        fstpt t80
        M80 "indefinite", t80, 0xffff, 0xc0000000, 0
        fnclex
        fldt max80
        fmul %st(0), %st
        STATUS "overflow", 0x3f, 0x28
        fstp %st(0)
        fnclex
        fldt tiny80
        fmul %st(0), %st
        STATUS "underflow", 0x3f, 0x30
        fstp %st(0)
        fnclex
        fld1
        fidivl three
        STATUS "precision", 0x3f, 0x20
        fstp %st(0)
        fnclex
        STATUS "fnclex", 0x80ff, 0
        ret

/* ---- FNSAVE / FRSTOR / FNSTENV / FLDENV --------------------------------------------------- */
save_restore:
        PRINT "-- fnsave/frstor\n"
        fninit
        SETCW 0x027f
        fldpi
        fld1
        fldz
        fnsave save_area
        movzwl save_area, %eax
        CHECK "fnsave.cw", 0x027f
        movzwl save_area + 4, %eax
        CHECK "fnsave.sw", 0x2800       /* TOP = 5 */
        movzwl save_area + 8, %eax
        CHECK "fnsave.tw", 0x07ff       /* r5 zero, r6 r7 valid */
        M80 "fnsave.st1", save_area + 38, 0x3fff, 0x80000000, 0
        fnstcw cw_buf
        movzwl cw_buf, %eax
        CHECK "after.fnsave.cw", 0x037f
        frstor save_area
        fnstenv env_area
        movzwl env_area + 8, %eax
        CHECK "frstor.tw", 0x07ff
        fldcw env_area                  /* FNSTENV left every exception masked (SDM) */
        fstp %st(0)
        fstp %st(0)
        fistpl i32
        CHECKR i32, "frstor.pi", 3
        /* 16-bit operand size: the 14-byte environment */
        fninit
        fld1
        data16 fnstenv env_area
        movzwl env_area + 4, %eax
        CHECK "fnstenv16.tw", 0x3fff
        ret

/* ---- FXSAVE / FXRSTOR --------------------------------------------------------------------- */
fxsave_test:
        PRINT "-- fxsave\n"
        fninit
        SETCW 0x027f
        fld1
        fldpi
        fxsave fx_area
        movzwl fx_area, %eax
        CHECK "fxsave.fcw", 0x027f
        movzwl fx_area + 2, %eax
        CHECK "fxsave.fsw", 0x3000
        movzbl fx_area + 4, %eax
        CHECK "fxsave.ftw", 0xc0       /* abridged: r6 r7 in use */
        M80 "fxsave.st0", fx_area + 32, 0x4000, 0xc90fdaa2, 0x2168c235
        M80 "fxsave.st1", fx_area + 48, 0x3fff, 0x80000000, 0
        fninit
        fxrstor fx_area
        fnstcw cw_buf
        movzwl cw_buf, %eax
        CHECK "fxrstor.cw", 0x027f
        fistpl i32
        CHECKR i32, "fxrstor.st0", 3
        fistpl i32
        CHECKR i32, "fxrstor.st1", 1
        ret

/* ---- #MF and #NM --------------------------------------------------------------------------- */
faults:
        PRINT "-- faults\n"
        movl %cr0, %eax
        orl $CR0_NE, %eax
        movl %eax, %cr0
        fninit
        SETCW 0x037b                    /* divide-by-zero unmasked */
        fld1
        fldz
        fdivr %st(1), %st               /* pending: ZE, ES */
        fnstsw %ax                      /* no wait: no fault */
        andl $0x80bf, %eax
        CHECK "pending.sw", 0x8084
        TRY 1f
        movl $2f, %eax
2:      fwait
        nop
1:      EXPECT "#mf", 16, 0xffffffff, 2b
        fnclex
        fwait                           /* nothing pending any more */
        fninit
        /* #NM: CR0.TS */
        movl %cr0, %eax
        orl $CR0_TS, %eax
        movl %eax, %cr0
        TRY 3f
4:      fld1
3:      EXPECT "#nm", 7, 0xffffffff, 4b
        TRY 5f
        fwait                           /* WAIT ignores TS while MP is clear */
5:      EXPECT_NONE "wait.ts"
        movl %cr0, %eax
        orl $CR0_MP, %eax
        movl %eax, %cr0
        TRY 7f
6:      fwait
7:      EXPECT "#nm.wait.mp", 7, 0xffffffff, 6b
        clts
        TRY 8f
        fld1
        fstp %st(0)
8:      EXPECT_NONE "after.clts"
        movl %cr0, %eax
        andl $~(CR0_MP | CR0_NE), %eax
        movl %eax, %cr0
        ret

        .data
        .align 16
fx_area:        .space 512
save_area:      .space 108
env_area:       .space 28
t80:            .space 10
        .align 4
f32:            .long 0
f64:            .quad 0
i16:            .word 0
                .word 0
i32:            .long 0
i64:            .quad 0
cw_buf:         .word 0
                .word 0
bcd_out:        .space 10
        .align 4
f32_three:      .float 3.0
f32_2_5:        .float 2.5
f32_3_5:        .float 3.5
f32_m2_5:       .float -2.5
f32_snan:       .long 0x7f800001
f32_qnan:       .long 0x7fc00000
f32_inf:        .long 0xff800000
i32_in:         .long -123456789
i64_in:         .quad 0x8000000000000001
i16_in:         .word -32768
i16_5:          .word 5
two:            .long 2
three:          .long 3
seven:          .long 7
seven_i:        .long 7
ten:            .long 10
hundred:        .long 100
minus_two:      .long -2
fortyeight:     .long 48
bcd_in:         .byte 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x12, 0x80
big80:          .quad 0x8000000000000000
                .word 0x403c
max80:          .quad 0xffffffffffffffff
                .word 0x7ffe
tiny80:         .quad 0x8000000000000000
                .word 0x0001
