/* sys_segments: segment register loads, descriptor checks and their error codes.
 *
 * Intel SDM Vol. 2B MOV (segment register loads in protected mode), Vol. 3A
 * 5.4-5.7 (privilege and type checks) and 6.13 (the error code: selector
 * index and TI, RPL bits cleared, EXT bit 0 for software-caused faults):
 *   SS: null -> #GP(0); RPL != CPL, DPL != CPL or not writable -> #GP(sel);
 *       not present -> #SS(sel)
 *   DS/ES/FS/GS: null is allowed; not readable (execute-only code, system
 *       descriptor) or DPL < max(CPL, RPL) for data -> #GP(sel); not present
 *       -> #NP(sel); a selector beyond the table limit -> #GP(sel)
 *   loading sets the descriptor's accessed bit
 * LLDT, LTR, LAR, LSL, VERR, VERW, ARPL (Vol. 2A/2B), far JMP/CALL checks.
 * MOV to CS is #UD.
 *
 * Segment limits on data accesses are not checked: QEMU's TCG (the
 * reference, 7.2) does not check them either (docs/cpu-model.md).
 */
        .include "sys.inc"
        GUEST "sys_segments", 0x31

        .set SEL_NP_DATA, SCRATCH       /* data, not present */
        .set SEL_RO_DATA, SCRATCH + 8   /* read-only data */
        .set SEL_XO_CODE, SCRATCH + 16  /* execute-only code */
        .set SEL_RX_CODE, SCRATCH + 24  /* readable code */
        .set SEL_DATA3, SCRATCH + 32    /* data, DPL 3 */
        .set SEL_NP_CODE, SCRATCH + 40  /* code, not present */
        .set SEL_LDT, SCRATCH + 48      /* an LDT of 4 entries */
        .set SEL_FRESH, SCRATCH + 56    /* data, accessed bit clear */
        .set SEL_SMALL_CODE, SCRATCH + 64   /* code, limit 0xfff */
        .set SEL_CODE3, SCRATCH + 72    /* code, DPL 3 */
        .set SEL_CONF0, SCRATCH + 80    /* conforming code, DPL 0 */
        .set SEL_BASED, SCRATCH + 88    /* data with base = based_buf */

/* LOAD_FAULT name, seg, selector, vector, error: load seg, expect that fault at the MOV */
.macro LOAD_FAULT name:req, seg:req, sel:req, vec:req, err:req
        movw $(\sel), %ax
        TRY 9f
8:      movw %ax, %\seg
9:      EXPECT "\name", \vec, \err, 8b
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
.endm

/* LOAD_OK name, seg, selector */
.macro LOAD_OK name:req, seg:req, sel:req
        movw $(\sel), %ax
        TRY 9f
        movw %ax, %\seg
9:      EXPECT_NONE "\name"
.endm

        .data
        .balign 8
ldt:
        .quad 0
        .quad 0x00cf92000000ffff        /* 0x0c: flat data, DPL 0 */
        .quad 0
        .quad 0
ldt_end:
        .balign 4
based_buf:
        .long 0x600df00d, 0x12345678

        .text
main:
        call sys_init
        SET_DESC SEL_NP_DATA, 0, 0xffffffff, 0x12, FL_32
        SET_DESC SEL_RO_DATA, 0, 0xffffffff, 0x90, FL_32
        SET_DESC SEL_XO_CODE, 0, 0xffffffff, 0x98, FL_32
        SET_DESC SEL_RX_CODE, 0, 0xffffffff, 0x9a, FL_32
        SET_DESC SEL_DATA3, 0, 0xffffffff, 0xf2, FL_32
        SET_DESC SEL_NP_CODE, 0, 0xffffffff, 0x1a, FL_32
        SET_DESC SEL_LDT, ldt, (ldt_end-ldt-1), 0x82, 0
        SET_DESC SEL_FRESH, 0, 0xffffffff, 0x92, FL_32
        SET_DESC SEL_SMALL_CODE, 0, 0xfff, 0x9a, 0x4
        SET_DESC SEL_CODE3, 0, 0xffffffff, 0xfa, FL_32
        SET_DESC SEL_CONF0, 0, 0xffffffff, 0x9e, FL_32
        SET_DESC SEL_BASED, based_buf, 0xfff, 0x92, 0x4

        PRINT "ss loads\n"
        LOAD_FAULT "ss null", ss, 0, 13, 0
        LOAD_FAULT "ss rpl 3", ss, KDATA|3, 13, KDATA
        LOAD_FAULT "ss read-only", ss, SEL_RO_DATA, 13, SEL_RO_DATA
        LOAD_FAULT "ss not present", ss, SEL_NP_DATA, 12, SEL_NP_DATA
        LOAD_FAULT "ss dpl 3", ss, SEL_DATA3, 13, SEL_DATA3
        LOAD_FAULT "ss code", ss, SEL_RX_CODE, 13, SEL_RX_CODE
        LOAD_FAULT "ss beyond gdt", ss, GDT_ENTRIES*8, 13, GDT_ENTRIES*8

        PRINT "data segment loads\n"
        LOAD_OK "ds null", ds, 0
        LOAD_OK "es null rpl 3", es, 3
        LOAD_FAULT "ds not present", ds, SEL_NP_DATA, 11, SEL_NP_DATA
        LOAD_FAULT "es execute-only", es, SEL_XO_CODE, 13, SEL_XO_CODE
        LOAD_FAULT "fs tss", fs, TSS_SEL, 13, TSS_SEL
        LOAD_FAULT "gs beyond gdt", gs, GDT_ENTRIES*8, 13, GDT_ENTRIES*8
        LOAD_FAULT "ds ldt descriptor", ds, SEL_LDT, 13, SEL_LDT
        LOAD_OK "fs readable code", fs, SEL_RX_CODE
        movl %fs:based_buf, %eax
        CHECK "read through readable code", 0x600df00d
        LOAD_OK "gs dpl 3 data", gs, SEL_DATA3
        LOAD_OK "ds rpl 3 of dpl 3 data", ds, SEL_DATA3|3
        movw $KDATA, %ax
        movw %ax, %ds
        LOAD_OK "es based", es, SEL_BASED
        movl %es:4, %eax
        CHECK "read through a based segment", 0x12345678
        /* the load set the accessed bit: a second load takes pyemu's native
           path (translator/semantics/segload.py), and the read that follows
           in the same block must see the new base */
        movw $KDATA, %ax
        movw %ax, %es
        movl $0, %ebx
        movw $SEL_BASED, %ax
        movw %ax, %fs
        movl %fs:4(%ebx), %eax
        CHECK "read through a based segment loaded again", 0x12345678
        movw $KDATA, %ax
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        movzbl gdt + SEL_FRESH + 5, %eax
        CHECK "access byte before the load", 0x92
        LOAD_OK "ds fresh", ds, SEL_FRESH
        movzbl gdt + SEL_FRESH + 5, %eax
        CHECK "access byte after the load", 0x93
        movw $KDATA, %ax
        movw %ax, %ds
        TRY 2f
1:      .byte 0x8e, 0xc8                /* mov %ax, %cs */
2:      EXPECT "mov cs", 6, 0xffffffff, 1b

        PRINT "ldt\n"
        movw $SEL_LDT, %ax
        lldt %ax
        sldt %ax
        movzwl %ax, %eax
        CHECK "sldt", SEL_LDT
        LOAD_OK "ds from the ldt", ds, 0x0c
        movl based_buf, %eax
        CHECK "read through the ldt segment", 0x600df00d
        movw %ds, %ax
        movzwl %ax, %eax
        CHECK "ds selector", 0x0c
        movw $KDATA, %ax
        movw %ax, %ds
        LOAD_FAULT "ldt entry beyond its limit", ds, 0x24, 13, 0x24
        LOAD_FAULT "ldt null entry", ds, 0x14, 13, 0x14
        movw $SEL_RO_DATA, %ax
        TRY 2f
1:      lldt %ax
2:      EXPECT "lldt data segment", 13, SEL_RO_DATA, 1b
        movw $0x0c, %ax
        TRY 2f
1:      lldt %ax
2:      EXPECT "lldt ldt selector", 13, 0x0c, 1b
        xorl %eax, %eax
        lldt %ax
        LOAD_FAULT "ds ldt after lldt 0", ds, 0x0c, 13, 0x0c

        PRINT "tr\n"
        str %ax
        movzwl %ax, %eax
        CHECK "str", TSS_SEL
        movzbl gdt + TSS_SEL + 5, %eax
        CHECK "tss busy after ltr", 0x8b
        movw $TSS_SEL, %ax
        TRY 2f
1:      ltr %ax
2:      EXPECT "ltr busy tss", 13, TSS_SEL, 1b
        movw $SEL_RO_DATA, %ax
        TRY 2f
1:      ltr %ax
2:      EXPECT "ltr data segment", 13, SEL_RO_DATA, 1b

        PRINT "lar lsl verr verw arpl\n"
        movl $0xdeadbeef, %ebx
        movw $SEL_RX_CODE, %ax
        larl %ax, %ebx
        CHECKF ZF, "lar code zf", ZF
        CHECKR %ebx, "lar code (accessed by the fs load)", 0x00c09b00
        movl $0xdeadbeef, %ebx
        movw $TSS_SEL, %ax
        larl %ax, %ebx
        CHECKF ZF, "lar tss zf", ZF
        CHECKR %ebx, "lar busy tss", 0x00008b00
        movl $0xdeadbeef, %ebx
        xorl %eax, %eax
        larl %ax, %ebx
        CHECKF ZF, "lar null zf", 0
        CHECKR %ebx, "lar null leaves the register", 0xdeadbeef
        movw $(GDT_ENTRIES*8), %ax
        larl %ax, %ebx
        CHECKF ZF, "lar beyond gdt zf", 0
        movw $SEL_SMALL_CODE, %ax
        lsll %ax, %ebx
        CHECKF ZF, "lsl zf", ZF
        CHECKR %ebx, "lsl byte-granular", 0xfff
        movw $KDATA, %ax
        lsll %ax, %ebx
        CHECKR %ebx, "lsl page-granular", 0xffffffff
        movw $TSS_SEL, %ax
        lsll %ax, %ebx
        CHECKR %ebx, "lsl tss", tss_end-tss-1
        SET_GATE_DESC SCRATCH+96, KCODE, 0, GATE_CALL32, 0
        movl $0xdeadbeef, %ebx
        movw $(SCRATCH+96), %ax
        lsll %ax, %ebx
        CHECKF ZF, "lsl call gate zf", 0
        larl %ax, %ebx
        CHECKF ZF, "lar call gate zf", ZF
        CHECKR %ebx, "lar call gate", 0x00008c00
        movw $SEL_XO_CODE, %ax
        verr %ax
        CHECKF ZF, "verr execute-only", 0
        movw $SEL_RX_CODE, %ax
        verr %ax
        CHECKF ZF, "verr readable code", ZF
        movw $SEL_RX_CODE, %ax
        verw %ax
        CHECKF ZF, "verw code", 0
        movw $SEL_RO_DATA, %ax
        verw %ax
        CHECKF ZF, "verw read-only", 0
        movw $KDATA, %ax
        verw %ax
        CHECKF ZF, "verw data", ZF
        movw $SEL_NP_DATA, %ax
        verr %ax
        CHECKF ZF, "verr not present", ZF
        movw $0x0010, %ax
        movw $0x0013, %bx
        arpl %bx, %ax
        CHECKF ZF, "arpl raises zf", ZF
        movzwl %ax, %eax
        CHECK "arpl raised", 0x0013
        movw $0x0013, %ax
        movw $0x0010, %bx
        arpl %bx, %ax
        CHECKF ZF, "arpl keeps zf", 0
        movzwl %ax, %eax
        CHECK "arpl kept", 0x0013

        PRINT "far jumps and calls\n"
        TRY 2f
1:      ljmp $SEL_RO_DATA, $0
2:      EXPECT "jmp data segment", 13, SEL_RO_DATA, 1b
        TRY 2f
1:      ljmp $SEL_NP_CODE, $0
2:      EXPECT "jmp not present", 11, SEL_NP_CODE, 1b
        TRY 2f
1:      ljmp $(KCODE|3), $0
2:      EXPECT "jmp rpl 3 code", 13, KCODE, 1b
        TRY 2f
1:      ljmp $SEL_CODE3, $0
2:      EXPECT "jmp dpl 3 code", 13, SEL_CODE3, 1b
        TRY 2f
1:      ljmp $SEL_SMALL_CODE, $0x2000
2:      EXPECT "jmp beyond the limit", 13, 0, 1b
        TRY 2f
1:      lcall $SEL_CODE3, $0
2:      EXPECT "call dpl 3 code", 13, SEL_CODE3, 1b
        TRY 2f
1:      ljmp $0, $0
2:      EXPECT "jmp null", 13, 0, 1b
        movl %esp, %esi
        lcall $SEL_CONF0, $conforming_target
        CHECKR conf_cs, "cs in a conforming segment (rpl = cpl)", SEL_CONF0
        subl %esp, %esi
        CHECKR %esi, "far call pushed", 0
        ljmp $SEL_RX_CODE, $1f
1:      movw %cs, %ax
        movzwl %ax, %eax
        CHECK "cs after far jmp", SEL_RX_CODE
        ljmp $KCODE, $1f
1:      ret

conforming_target:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, conf_cs
        lret

        .data
conf_cs: .long 0
