/* sys_sdm: where QEMU 7.2's TCG departs from the Intel SDM, checked against the SDM.
 *
 * Run on pyemu only (test_sys_guests.py, PYEMU_ONLY); the expected values are
 * the SDM's.  On QEMU the checks marked below fail.
 *   - SDM Vol. 3A 6.13: a fault while delivering an exception or a hardware
 *     interrupt has EXT (bit 0) set in its error code; QEMU never sets it.
 *   - SDM Vol. 2A CALL (SAME-PRIVILEGE through a call gate): a call gate to a
 *     conforming code segment keeps CPL, so CS.RPL stays 3 at CPL 3; QEMU
 *     loads the segment's DPL as CPL.
 *   - SDM Vol. 2A "LOCK": LOCK with a register destination, or on an
 *     instruction that cannot be locked, is #UD; QEMU ignores the prefix on
 *     MOV.
 *   - SDM Vol. 2A INT n/INTO/INT3/INT1: INT1 (F1h) skips the gate DPL check;
 *     QEMU treats F1h as a debugger exit.
 *   - SDM Vol. 2B MOV to CR0: NW = 1 with CD = 0, and PG = 1 with PE = 0,
 *     raise #GP(0); QEMU takes the first and hangs on the second.  MOV to
 *     CR4 with a bit of a feature CPUID does not report (VME, UMIP) raises
 *     #GP(0); QEMU accepts VME and hangs on UMIP.
 */
        .include "sys.inc"
        GUEST "sys_sdm", 0x3a

        .set SEL_NP_CODE, SCRATCH
        .set SEL_CONF0, SCRATCH + 8
        .set SEL_GATE_CONF, SCRATCH + 16

        .data
conf_cs: .long 0
int1_vec: .long 0
int1_cs: .long 0

        .text
main:
        call sys_init
        SET_DESC SEL_NP_CODE, 0, 0xffffffff, 0x1a, FL_32
        SET_DESC SEL_CONF0, 0, 0xffffffff, 0x9e, FL_32
        SET_GATE_DESC SEL_GATE_CONF, SEL_CONF0, conforming_target, GATE_CALL32|0x60, 0

        PRINT "ext bit\n"
        andb $0x7f, idt + 6*8 + 5
        TRY 2f
1:      ud2
2:      EXPECT "#ud through a not-present gate: #np(idt|ext)", 11, 6*8+2+1, 1b
        orb $0x80, idt + 6*8 + 5
        SET_IDT 6, SEL_NP_CODE, 0, GATE_INT32
        TRY 2f
1:      ud2                             /* benign: a #NP while delivering it is no #DF */
2:      EXPECT "#ud, gate to a not-present segment: #np(sel|ext)", 11, SEL_NP_CODE|1, 1b
        SET_IDT 6, KCODE, exc_stubs+16*6, GATE_INT32
        SET_IDT 0x40, SEL_NP_CODE, 0, GATE_INT32
        TRY 2f
1:      int $0x40
2:      EXPECT "int 40h, gate to a not-present segment: #np(sel), no ext", 11, SEL_NP_CODE, 1b

        PRINT "int1\n"
        RUN_USER user_int1
        CHECKR int1_vec, "int1 at cpl 3 through a dpl 0 gate: vector", 1
        CHECKR int1_cs, "int1: pushed cs", UCODE

        PRINT "conforming code through a call gate\n"
        RUN_USER user_conforming
        CHECKR conf_cs, "cs in conforming code reached from cpl 3", SEL_CONF0|3

        PRINT "lock\n"
        TRY 2f
1:      .byte 0xf0, 0x89, 0xc0          /* lock mov %eax, %eax */
2:      EXPECT "lock mov", 6, 0xffffffff, 1b
        TRY 2f
1:      .byte 0xf0, 0x01, 0xc0          /* lock add %eax, %eax: a register destination */
2:      EXPECT "lock add to a register", 6, 0xffffffff, 1b
        TRY 2f
        lock addl $1, conf_cs
2:      EXPECT_NONE "lock add to memory"

        PRINT "control registers\n"
        movl %cr0, %ebx
        movl %ebx, %eax
        orl $0x20000000, %eax           /* NW without CD */
        andl $~0x40000000, %eax
        TRY 2f
1:      movl %eax, %cr0
2:      EXPECT "cr0.nw without cd", 13, 0, 1b
        movl %ebx, %eax
        andl $~CR0_PE, %eax
        orl $CR0_PG, %eax
        TRY 2f
1:      movl %eax, %cr0
2:      EXPECT "cr0.pg without pe", 13, 0, 1b
        movl %cr4, %ebx
        movl %ebx, %eax
        orl $1, %eax
        TRY 2f
1:      movl %eax, %cr4
2:      EXPECT "cr4.vme", 13, 0, 1b
        movl %ebx, %eax
        orl $0x800, %eax
        TRY 2f
1:      movl %eax, %cr4
2:      EXPECT "cr4.umip", 13, 0, 1b
        ret

conforming_target:
        movw %cs, %ax
        movzwl %ax, %eax
        movl %eax, conf_cs
        lret

user_int1:
        TRY 1f
        .byte 0xf1                      /* int1 */
1:      movl exc_vector, %eax
        movl %eax, int1_vec
        movl exc_cs, %eax
        movl %eax, int1_cs
        int $VEC_USER_RETURN

user_conforming:
        lcall $SEL_GATE_CONF, $0
        int $VEC_USER_RETURN
