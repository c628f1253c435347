/* sys_log: a few events at known addresses, for the -d int / -d cpu log test
 * (tests/guests/test_sys_log.py reads the labels' addresses from the ELF). */
        .include "sys.inc"
        GUEST "sys_log", 0x3c

        .globl log_ud, log_int, log_gp, log_after_int, log_block
        .text
main:
        call sys_init
        TRY 1f
log_ud: ud2
1:      TRY 1f
log_int:
        int $0x40
log_after_int:
1:      movw $TSS_SEL, %ax
        TRY 1f
log_gp: movw %ax, %ds
1:      movl $0x12345678, %ebx
        jmp log_block
log_block:
        movl $0x9abcdef0, %ecx
        ret
