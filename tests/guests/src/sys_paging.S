/* sys_paging: 32-bit paging, #PF error codes and CR2, A/D bits, PSE, global
 * pages, TLB maintenance, self-modifying code through an alias (Intel SDM
 * Vol. 3A chapter 4).
 *
 * 4.3: the 2-level walk; 4.6: user accesses need U at both levels, writes need
 * W at both levels for CPL 3 and, with CR0.WP, for CPL 0 too; 4.7: the #PF
 * error code (P: protection violation vs not present, W/R, U/S) and CR2 (the
 * linear address: for an access crossing into a bad page, the first byte
 * of that page); 4.8: accessed and dirty bits; 4.3 with CR4.PSE: 4 MB pages;
 * 4.10.4: after INVLPG or a CR3 load (global pages: INVLPG or a CR4.PGE
 * change) the new mapping is used.  Whether a stale translation is used
 * without such a flush is not architecturally defined, so it is not tested.
 * 4.10.4.1 / Vol. 2B REP MOVS: a page fault in the middle of a repeated string
 * instruction leaves ECX/ESI/EDI at the element that faulted; after the
 * handler fixes the mapping the instruction resumes from there.
 */
        .include "sys.inc"
        GUEST "sys_paging", 0x36

        .set TEST, 0x40000000           /* the test region: PD entry 256 -> pt_test */
        .set ALIAS, 0x40400000          /* PD entry 257 -> pt_alias */
        .set BIG, 0x80000000            /* a 4 MB page */
        .set FRAMES, 0x00500000         /* 16 physical frames for the test region */
        .set BIGFRAME, 0x00c00000       /* the 4 MB page's frame */

        .set P, 1
        .set W, 2
        .set U, 4
        .set A, 0x20
        .set D, 0x40
        .set PS, 0x80
        .set G, 0x100

/* PTE k, value: pt_test[k] = value (no flush) */
.macro PTE k:req, value:req
        movl $(\value), pt_test + 4 * (\k)
.endm

/* PF name, error, cr2, instruction: expect a #PF at the instruction */
.macro PF name:req, err:req, addr:req, insn:vararg
        TRY 9f
8:      \insn
9:      EXPECT "\name", 14, \err, 8b
        CHECKR exc_cr2, "\name\().cr2", \addr
.endm

/* NOPF name, instruction */
.macro NOPF name:req, insn:vararg
        TRY 9f
        \insn
9:      EXPECT_NONE "\name"
.endm

        .bss
        .balign 4096
pd:         .space 4096
pd2:        .space 4096
pt_low:     .space 4096 * 2         /* identity map of 0-8 MB */
pt_test:    .space 4096
pt_test2:   .space 4096             /* the test region in pd2 */
pt_alias:   .space 4096
code_page:  .space 4096             /* self-modifying code */
        .space 4096

        .data
user_seen:  .long 0

        .text
/* fill pt (ecx entries) with an identity map starting at eax, flags in edx */
fill_identity:
        pushal
1:      movl %eax, %ebx
        orl %edx, %ebx
        movl %ebx, (%edi)
        addl $4096, %eax
        addl $4, %edi
        loop 1b
        popal
        ret

main:
        call sys_init
        /* identity 0-8 MB, user accessible; TEST and ALIAS regions */
        movl $pt_low, %edi
        xorl %eax, %eax
        movl $2048, %ecx
        movl $(P|W|U), %edx
        call fill_identity
        movl $(pt_low + P|W|U), pd
        movl $(pt_low + 4096 + P|W|U), pd + 4
        movl $(pt_test + P|W|U), pd + 4 * (TEST >> 22)
        movl $(pt_alias + P|W|U), pd + 4 * (ALIAS >> 22)
        movl $(pt_low + P|W|U), pd2
        movl $(pt_low + 4096 + P|W|U), pd2 + 4
        movl $(pt_test2 + P|W|U), pd2 + 4 * (TEST >> 22)
        /* frames: frame k holds k * 0x01010101 in its first dword */
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        imull $0x01010101, %eax
        movl %ecx, %edi
        shll $12, %edi
        movl %eax, FRAMES(%edi)
        incl %ecx
        cmpl $16, %ecx
        jne 1b
        movl $0xb16b16b1, BIGFRAME
        movl $0xb16b16b2, BIGFRAME + 0x1234
        /* test pages: page k -> frame k, supervisor read/write */
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        shll $12, %eax
        addl $(FRAMES + P|W), %eax
        movl %eax, pt_test(, %ecx, 4)
        incl %ecx
        cmpl $16, %ecx
        jne 1b
        /* pd2's test region: page k -> frame 15 - k */
        xorl %ecx, %ecx
1:      movl $15, %eax
        subl %ecx, %eax
        shll $12, %eax
        addl $(FRAMES + P|W), %eax
        movl %eax, pt_test2(, %ecx, 4)
        incl %ecx
        cmpl $16, %ecx
        jne 1b

        PRINT "paging on\n"
        movl $pd, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $(CR0_PG|CR0_WP), %eax
        movl %eax, %cr0
        movl TEST + 0x3000, %eax
        CHECK "page 3 -> frame 3", 0x03030303
        movl TEST + 0x0000, %eax
        CHECK "page 0 -> frame 0", 0

        PRINT "not present, read-only, wp\n"
        PTE 1, FRAMES+0x1000  /* not present */
        invlpg TEST + 0x1000
        PF "read not present", 0, TEST+0x1010, movl TEST + 0x1010, %eax
        PF "write not present", 2, TEST+0x1020, movl %eax, TEST + 0x1020
        PTE 2, FRAMES+0x2000+P  /* read-only */
        invlpg TEST + 0x2000
        NOPF "read read-only", movl TEST + 0x2000, %eax
        CHECK "read-only page value", 0x02020202
        PF "write read-only, wp=1", 3, TEST+0x2004, movl %eax, TEST + 0x2004
        movl %cr0, %eax
        andl $~CR0_WP, %eax
        movl %eax, %cr0
        NOPF "write read-only, wp=0", movl $0x12345678, TEST + 0x2004
        movl TEST + 0x2004, %eax
        CHECK "written with wp=0", 0x12345678
        movl %cr0, %eax
        orl $CR0_WP, %eax
        movl %eax, %cr0
        /* W must be set at both levels: pd entry read-only, pte writable */
        andl $~W, pd + 4 * (TEST >> 22)
        movl %cr3, %eax
        movl %eax, %cr3
        PF "write, pde read-only", 3, TEST+0x3000, movl %eax, TEST + 0x3000
        orl $W, pd + 4 * (TEST >> 22)
        movl %cr3, %eax
        movl %eax, %cr3
        /* an access crossing into a not-present page: CR2 is that page's start */
        PF "dword across into page 1", 0, TEST+0x1000, movl TEST + 0xffe, %eax
        movl $0xaaaaaaaa, TEST + 0xffc
        PF "write across into page 1", 2, TEST+0x1000, movl $0xbbbbbbbb, TEST + 0xffe
        movl TEST + 0xffc, %eax
        CHECK "nothing of the faulting write landed", 0xaaaaaaaa
        /* instruction fetch from a not-present page */
        TRY 1f
        movl $TEST + 0x1000, %eax
        jmp *%eax
1:      EXPECT "fetch not present", 14, 0, TEST+0x1000
        CHECKR exc_cr2, "fetch not present.cr2", TEST+0x1000

        PRINT "accessed and dirty bits\n"
        PTE 4, FRAMES+0x4000+P|W
        PTE 5, FRAMES+0x5000+P|W
        invlpg TEST + 0x4000
        invlpg TEST + 0x5000
        andl $~A, pd + 4 * (TEST >> 22)
        movl %cr3, %eax
        movl %eax, %cr3
        movl TEST + 0x4000, %eax
        CHECKR pt_test + 16, "pte after a read", FRAMES+0x4000+P|W|A
        movl %eax, TEST + 0x5000
        CHECKR pt_test + 20, "pte after a write", FRAMES+0x5000+P|W|A|D
        movl pd + 4 * (TEST >> 22), %eax
        andl $(A|D), %eax
        CHECK "pde accessed, no dirty bit", A
        PTE 4, FRAMES+0x4000+P|W|A
        invlpg TEST + 0x4000
        movl %eax, TEST + 0x4000
        CHECKR pt_test + 16, "pte after a write to an accessed page", FRAMES+0x4000+P|W|A|D
        PTE 6, FRAMES+0x6000+P
        invlpg TEST + 0x6000
        PF "write read-only, no dirty bit", 3, TEST+0x6000, movl %eax, TEST + 0x6000

        PRINT "user and supervisor\n"
        PTE 7, FRAMES+0x7000+P|W|U
        PTE 8, FRAMES+0x8000+P|U  /* user read-only */
        PTE 9, FRAMES+0x9000+P|W  /* supervisor */
        PTE 10, FRAMES+0xa000+W|U  /* not present */
        invlpg TEST + 0x7000
        invlpg TEST + 0x8000
        invlpg TEST + 0x9000
        invlpg TEST + 0xa000
        RUN_USER user_accesses
        CHECKR user_seen, "user read of its page", 0x07070707
        /* CPL 0 may write a user read-only page when WP = 0 only */
        PF "supervisor write to user read-only, wp=1", 3, TEST+0x8000, movl %eax, TEST + 0x8000

        PRINT "tlb maintenance\n"
        movl TEST + 0x3000, %eax
        CHECK "before the switch", 0x03030303
        movl $pd2, %eax
        movl %eax, %cr3
        movl TEST + 0x3000, %eax
        CHECK "other address space", 0x0c0c0c0c
        movl $pd, %eax
        movl %eax, %cr3
        movl TEST + 0x3000, %eax
        CHECK "back", 0x03030303
        PTE 3, FRAMES+0xd000+P|W
        invlpg TEST + 0x3000
        movl TEST + 0x3000, %eax
        CHECK "after pte change and invlpg", 0x0d0d0d0d
        PTE 3, FRAMES+0xe000+P|W
        movl %cr3, %eax
        movl %eax, %cr3
        movl TEST + 0x3000, %eax
        CHECK "after pte change and cr3 reload", 0x0e0e0e0e
        /* a page table written while another address space is current */
        movl $pd2, %eax
        movl %eax, %cr3
        PTE 3, FRAMES+0xf000+P|W
        movl $pd, %eax
        movl %eax, %cr3
        movl TEST + 0x3000, %eax
        CHECK "pte written from another space", 0x0f0f0f0f
        /* global pages: INVLPG and a CR4.PGE change flush them */
        movl %cr4, %eax
        orl $CR4_PGE, %eax
        movl %eax, %cr4
        PTE 11, FRAMES+0xb000+P|W|G
        invlpg TEST + 0xb000
        movl TEST + 0xb000, %eax
        CHECK "global page", 0x0b0b0b0b
        PTE 11, FRAMES+0xc000+P|W|G
        invlpg TEST + 0xb000
        movl TEST + 0xb000, %eax
        CHECK "global page after invlpg", 0x0c0c0c0c
        PTE 11, FRAMES+0x3000+P|W|G
        movl %cr4, %eax
        andl $~CR4_PGE, %eax
        movl %eax, %cr4
        movl TEST + 0xb000, %eax
        CHECK "global page after clearing cr4.pge", 0x03030303

        PRINT "4 MB pages\n"
        movl %cr4, %eax
        orl $CR4_PSE, %eax
        movl %eax, %cr4
        movl $(BIGFRAME + P|W|PS), pd + 4 * (BIG >> 22)
        movl BIG, %eax
        CHECK "4 mb page", 0xb16b16b1
        movl BIG + 0x1234, %eax
        CHECK "4 mb page + 1234h", 0xb16b16b2
        movl %eax, BIG + 0x3ff000
        movl pd + 4 * (BIG >> 22), %eax
        CHECK "pde after a write", BIGFRAME+P|W|PS|A|D
        movl $(BIGFRAME + P|PS), pd + 4 * (BIG >> 22)
        invlpg BIG
        PF "write read-only 4 mb page", 3, BIG+0x10, movl %eax, BIG + 0x10
        /* INVLPG of any address in a 4 MB page drops the whole page (SDM Vol. 3A 4.10.4.1) */
        PF "write read-only 4 mb page, last 4 kb", 3, BIG+0x3ff000, movl %eax, BIG + 0x3ff000

        PRINT "rep movs across a fault\n"
        PTE 12, FRAMES+0xc000+P|W
        PTE 13, FRAMES+0xd000+W  /* not present until the handler runs */
        invlpg TEST + 0xc000
        invlpg TEST + 0xd000
        movl $fix_page_13, exc_hook
        movl $1, exc_hook_resumes
        movl exc_count, %eax
        movl %eax, exc_count_before
        movl $TEST + 0xc000 + 0xf00, %edi
        movl $code_page, %esi
        movl $0x80, %ecx
        cld
        rep movsl                       /* 0x40 dwords fit, then #PF at page 13 */
        movl $0, exc_hook
        movl $0, exc_hook_resumes
        CHECKR exc_count_at_fix, "faults taken", 1
        CHECKR fault_ecx, "ecx at the fault", 0x40
        CHECKR fault_edi, "edi at the fault", TEST+0xd000
        CHECKR fault_esi, "esi at the fault", code_page+0x100
        CHECKR fault_cr2, "cr2", TEST+0xd000
        CHECKR %ecx, "ecx after the resumed movs", 0
        CHECKR %edi, "edi after", TEST+0xd100

        PRINT "self-modifying code through an alias\n"
        movl $code_page, %eax
        orl $(P|W), %eax
        movl %eax, pt_alias
        invlpg ALIAS
        movl $0x000001b8, code_page     /* mov $1, %eax; ret */
        movl $0xc3000000, code_page + 4
        call code_page
        CHECK "first version", 1
        movb $2, ALIAS + 1              /* mov $2, %eax through the alias */
        call code_page
        CHECK "patched through the alias", 2
        movb $3, ALIAS + 1
        movl $ALIAS, %eax
        call *%eax                      /* run it through the alias too */
        CHECK "run through the alias", 3
        movb $4, code_page + 1
        movl $ALIAS, %eax
        call *%eax
        CHECK "patched directly, run through the alias", 4

        /* paging off again: the other programs' conventions */
        movl %cr0, %eax
        andl $~CR0_PG, %eax
        movl %eax, %cr0
        ret

/* exc_hook: page 13 becomes present, the instruction is retried */
fix_page_13:
        movl exc_count, %eax
        subl exc_count_before, %eax
        movl %eax, exc_count_at_fix
        movl exc_regs + 24, %eax
        movl %eax, fault_ecx
        movl exc_regs + 0, %eax
        movl %eax, fault_edi
        movl exc_regs + 4, %eax
        movl %eax, fault_esi
        movl exc_cr2, %eax
        movl %eax, fault_cr2
        orl $P, pt_test + 4 * 13
        invlpg TEST + 0xd000
        ret

/* CPL 3 */
user_accesses:
        movl TEST + 0x7000, %eax
        movl %eax, user_seen
        PF "user read of a supervisor page", 5, TEST+0x9000, movl TEST + 0x9000, %eax
        PF "user write of a supervisor page", 7, TEST+0x9000, movl %eax, TEST + 0x9000
        PF "user write of a read-only page", 7, TEST+0x8000, movl %eax, TEST + 0x8000
        NOPF "user read of a read-only page", movl TEST + 0x8000, %eax
        PF "user read not present", 4, TEST+0xa000, movl TEST + 0xa000, %eax
        PF "user write not present", 6, TEST+0xa000, movl %eax, TEST + 0xa000
        int $VEC_USER_RETURN

        .data
exc_count_before: .long 0
exc_count_at_fix: .long 0
fault_ecx:      .long 0
fault_edi:      .long 0
fault_esi:      .long 0
fault_cr2:      .long 0
