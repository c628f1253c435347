/* sys_tasks: hardware task switching (Intel SDM Vol. 3A chapter 7).
 *
 * 7.3: a switch saves the outgoing task's registers, EFLAGS, EIP and
 * selectors into its TSS and loads the incoming task's; CR0.TS is set.
 * 7.4 Table 7-2: JMP clears the old task's busy bit and sets the new one's;
 * CALL, INT n through a task gate and exceptions through a task gate also set
 * EFLAGS.NT in the new task and its TSS back link to the old TSS, the old
 * task stays busy; IRET with NT set returns to the back-linked task and
 * clears the current task's busy bit.  JMP or CALL to a busy TSS is
 * #GP(selector).  An exception through a task gate pushes its error code on
 * the new task's stack (Linux i386 handles #DF this way).  The new task's
 * LDTR comes from its TSS.
 */
        .include "sys.inc"
        GUEST "sys_tasks", 0x34

        .set TSS2, SCRATCH              /* the second task */
        .set TSS_DF, SCRATCH + 8        /* the double-fault task */
        .set TASKGATE, SCRATCH + 16     /* a task gate in the GDT to TSS2 */
        .set SEL_LDT, SCRATCH + 24      /* the second task's LDT */
        .set VEC_TASK, 0x50             /* IDT task gate to TSS2 */

        .set TSS_LINK, 0x00
        .set TSS_CR3, 0x1c
        .set TSS_EIP, 0x20
        .set TSS_EFLAGS, 0x24
        .set TSS_EAX, 0x28
        .set TSS_EBX, 0x34
        .set TSS_ESP, 0x38
        .set TSS_ES, 0x48
        .set TSS_LDT, 0x60
        .set TSS_IOMAP, 0x66

/* init_task tss, eip, esp */
.macro INIT_TASK tss:req, eip:req, esp:req
        pushl $\esp
        pushl $\eip
        pushl $\tss
        call init_task
        leal 12(%esp), %esp
.endm

/* RECORD k: what task 2 sees on its k-th entry */
.macro RECORD k:req
        str %ax
        movzwl %ax, %eax
        movl %eax, seen + 32 * \k
        pushfl
        popl %eax
        andl $EFL_NT, %eax
        movl %eax, seen + 32 * \k + 4
        movzwl tss2 + TSS_LINK, %eax
        movl %eax, seen + 32 * \k + 8
        movzbl gdt + TSS_SEL + 5, %eax
        movl %eax, seen + 32 * \k + 12
        movzbl gdt + TSS2 + 5, %eax
        movl %eax, seen + 32 * \k + 16
        movl %cr0, %eax
        andl $CR0_TS, %eax
        movl %eax, seen + 32 * \k + 20
        sldt %ax
        movzwl %ax, %eax
        movl %eax, seen + 32 * \k + 24
        movl %ebx, seen + 32 * \k + 28
.endm

/* SHOW k, name: print what RECORD k saw */
.macro SHOW k:req, name:req
        CHECKR seen+32*\k, "\name: tr", TSS2
        CHECKR seen+32*\k+4, "\name: nt", \name\()_nt
        CHECKR seen+32*\k+8, "\name: back link", \name\()_link
        CHECKR seen+32*\k+12, "\name: main tss type", \name\()_main
        CHECKR seen+32*\k+16, "\name: task 2 tss type", 0x8b
        CHECKR seen+32*\k+20, "\name: cr0.ts", CR0_TS
        CHECKR seen+32*\k+24, "\name: ldtr", SEL_LDT
        CHECKR seen+32*\k+28, "\name: ebx (task 2's own)", 0x22222222
.endm

        .data
        .balign 128
tss2:   .fill 0x68, 1, 0
tss2_end:
        .balign 128
tss_df: .fill 0x68, 1, 0
tss_df_end:
        .balign 8
ldt2:   .quad 0, 0x00cf92000000ffff
ldt2_end:
        .balign 4
seen:   .fill 32 * 8, 1, 0
df_error:  .long 0xffffffff
df_link:   .long 0
df_tr:     .long 0
df_eip:    .long 0
main_ebx:  .long 0

        .bss
        .balign 16
        .space 4096
task2_stack:
        .space 4096
df_stack:

        .text
/* init_task(tss, eip, esp): a 32-bit TSS for CPL 0 code with flat segments */
init_task:
        pushal
        movl 36(%esp), %edi
        movl 40(%esp), %eax
        movl %eax, TSS_EIP(%edi)
        movl 44(%esp), %eax
        movl %eax, TSS_ESP(%edi)
        movl $2, TSS_EFLAGS(%edi)
        movl %cr3, %eax
        movl %eax, TSS_CR3(%edi)
        movl $0x22222222, TSS_EBX(%edi)
        movl $KDATA, TSS_ES(%edi)       /* es */
        movl $KCODE, TSS_ES + 4(%edi)   /* cs */
        movl $KDATA, TSS_ES + 8(%edi)   /* ss */
        movl $KDATA, TSS_ES + 12(%edi)  /* ds */
        movl $KDATA, TSS_ES + 16(%edi)  /* fs */
        movl $KDATA, TSS_ES + 20(%edi)  /* gs */
        movw $0x68, TSS_IOMAP(%edi)     /* no I/O bitmap */
        popal
        ret

main:
        call sys_init
        INIT_TASK tss2, task2_entry, task2_stack
        movw $SEL_LDT, tss2 + TSS_LDT
        INIT_TASK tss_df, df_task, df_stack
        SET_DESC TSS2, tss2, (tss2_end-tss2-1), ACC_TSS32, 0
        SET_DESC TSS_DF, tss_df, (tss_df_end-tss_df-1), ACC_TSS32, 0
        SET_DESC SEL_LDT, ldt2, (ldt2_end-ldt2-1), 0x82, 0
        SET_GATE_DESC TASKGATE, TSS2, 0, GATE_TASK, 0
        SET_IDT VEC_TASK, TSS2, 0, GATE_TASK
        SET_IDT 8, TSS_DF, 0, GATE_TASK

        PRINT "jmp to a tss\n"
        movl $0x11111111, %ebx
        ljmp $TSS2, $0xdead             /* the offset is ignored */
back_from_jmp:
        movl %ebx, main_ebx
        SHOW 0, jmp
        CHECKR main_ebx, "jmp: main ebx restored", 0x11111111
        CHECKR tss + TSS_EIP, "jmp: main eip saved", back_from_jmp
        CHECKR tss + TSS_EBX, "jmp: main ebx saved", 0x11111111
        str %ax
        movzwl %ax, %eax
        CHECK "tr back in main", TSS_SEL
        movzbl gdt + TSS2 + 5, %eax
        CHECK "task 2 left by jmp: available", 0x89
        sldt %ax
        movzwl %ax, %eax
        CHECK "main ldtr", 0
        clts

        PRINT "call to a tss\n"
        lcall $TSS2, $0
        SHOW 1, call
        movzbl gdt + TSS2 + 5, %eax
        CHECK "call: task 2 after iret", 0x89
        movl tss2 + TSS_EFLAGS, %eax
        andl $EFL_NT, %eax
        CHECK "call: nt cleared in task 2's saved eflags", 0
        pushfl
        popl %eax
        andl $EFL_NT, %eax
        CHECK "call: main nt", 0

        PRINT "int through a task gate\n"
        int $VEC_TASK
        SHOW 2, int

        PRINT "jmp through a task gate\n"
        ljmp $TASKGATE, $0
        SHOW 3, gjmp

        PRINT "busy tss\n"
        TRY 2f
1:      ljmp $TSS_SEL, $0
2:      EXPECT "jmp to the busy main tss", 13, TSS_SEL, 1b
        TRY 2f
1:      lcall $TSS_SEL, $0
2:      EXPECT "call to the busy main tss", 13, TSS_SEL, 1b

        PRINT "double fault through a task gate\n"
        andb $0x7f, idt + 13 * 8 + 5    /* #GP gate not present: #GP -> #NP -> #DF */
        movw $TSS_SEL, %ax
        TRY 2f
1:      movw %ax, %ds                   /* #GP(38h) */
2:      EXPECT "#gp after the #df task fixed the gate", 13, TSS_SEL, 1b
        CHECKR df_error, "#df error code on the task's stack", 0
        CHECKR df_link, "#df task back link", TSS_SEL
        CHECKR df_tr, "#df task tr", TSS_DF
        CHECKR df_eip, "main eip saved by the #df switch", 1b
        movzbl gdt + TSS_DF + 5, %eax
        CHECK "#df task after iret", 0x89
        clts
        ret

/* ---- task 2: each entry runs the next section ---- */
task2_entry:
        RECORD 0
        ljmp $TSS_SEL, $0               /* back by jmp */
        RECORD 1
        iretl                           /* back to the caller (nt) */
        RECORD 2
        iretl
        RECORD 3
        ljmp $TSS_SEL, $0
1:      hlt
        jmp 1b

/* ---- the #df task ---- */
df_task:
        popl %eax
        movl %eax, df_error
        movzwl tss_df + TSS_LINK, %eax
        movl %eax, df_link
        str %ax
        movzwl %ax, %eax
        movl %eax, df_tr
        movl tss + TSS_EIP, %eax
        movl %eax, df_eip
        orb $0x80, idt + 13 * 8 + 5     /* make the #GP gate present again */
        iretl                           /* back to the main task: the MOV runs again */
        jmp df_task

        .set jmp_nt, 0
        .set jmp_link, 0
        .set jmp_main, 0x89
        .set call_nt, EFL_NT
        .set call_link, TSS_SEL
        .set call_main, 0x8b
        .set int_nt, EFL_NT
        .set int_link, TSS_SEL
        .set int_main, 0x8b
        .set gjmp_nt, 0
        .set gjmp_link, TSS_SEL         /* left from the int: a jmp does not write it */
        .set gjmp_main, 0x89
