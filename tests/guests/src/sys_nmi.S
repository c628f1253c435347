/* sys_nmi: NMI delivery and NMI blocking (Intel SDM Vol. 3A 6.7.1).
 *
 * An NMI (here a self-IPI through the local APIC's ICR, delivery mode NMI)
 * goes through vector 2 whatever EFLAGS.IF is.  While its handler runs,
 * further NMIs are held until the next IRET: the NMI the handler sends
 * itself is taken right after that IRET, not nested inside the handler.
 */
        .include "sys.inc"
        GUEST "sys_nmi", 0x3e

        .set APIC, 0xfee00000
        .set APIC_SVR, 0xf0
        .set APIC_ICR_LO, 0x300
        .set APIC_ICR_HI, 0x310
        .set ICR_NMI_ALL, 0x00080400    /* all including self, delivery mode NMI */

        .data
nmi_count:  .long 0
nmi_depth:  .long 0
nmi_max:    .long 0
seen_in_first: .long 0
nmi_eflags: .long 0

        .text
send_nmi:
        movl $0, APIC + APIC_ICR_HI
        movl $ICR_NMI_ALL, APIC + APIC_ICR_LO
        ret

main:
        call sys_init
        SET_IDT 2, KCODE, nmi_handler, GATE_INT32
        movl $0x1ff, APIC + APIC_SVR    /* software-enable the APIC */
        cli
        call send_nmi
        /* the NMI is taken at an instruction boundary soon after the ICR write */
        movl $100000, %ecx
1:      cmpl $2, nmi_count
        jae 2f
        loop 1b
2:      CHECKR nmi_count, "nmis taken with if = 0", 2
        CHECKR nmi_max, "deepest nesting", 1
        CHECKR seen_in_first, "nmis taken when the first handler was about to iret", 1
        movl nmi_eflags, %eax
        andl $EFL_IF, %eax
        CHECK "if at the nmi", 0
        ret

nmi_handler:
        pushl %eax
        incl nmi_count
        incl nmi_depth
        movl nmi_depth, %eax
        cmpl nmi_max, %eax
        jbe 1f
        movl %eax, nmi_max
1:      movl 12(%esp), %eax
        movl %eax, nmi_eflags
        cmpl $1, nmi_count
        jne 3f
        call send_nmi                   /* held until this handler's IRET */
        movl $1000, %eax
2:      decl %eax                       /* time for it to arrive, if it were not held */
        jnz 2b
        movl nmi_count, %eax
        movl %eax, seen_in_first
3:      decl nmi_depth
        popl %eax
        iretl
