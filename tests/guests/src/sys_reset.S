/* sys_reset: power-on state, real mode, the A20 gate (a -bios image).
 *
 * Intel SDM Vol. 3A 9.1.1 (Table 9-1): after reset CS = F000 with base
 * FFFF0000, EIP = FFF0, EFLAGS = 2, CR0 = 60000010, EDX = the processor
 * signature (family/model/stepping, what CPUID.1:EAX reports), the other
 * general registers 0, data segments 0 with limit FFFF.  The signature
 * itself differs between CPU models (QEMU's qemu32 and pyemu's are not the
 * same CPU), so only "EDX = CPUID.1:EAX" and the family (6) are printed.
 *
 * Real mode (SDM Vol. 3A 20.1): linear = selector * 16 + offset, 16-bit
 * effective addresses wrap at 64 KB, INT n and exceptions through the IVT at
 * 0, FLAGS/CS/IP on the stack.  A20 (port 92h bit 1): when off, bit 20 of
 * every physical address is 0, so FFFF:0010 is address 0.
 */
        .include "sys_bios.inc"
        GUEST "sys_reset", 0x30

        .section .lowdata, "aw", @nobits
        .balign 4
cpuid1_eax:     .space 4
seg_read1:      .space 4
seg_read2:      .space 4
wrap_read:      .space 4
int_flags:      .space 4        /* FLAGS inside the INT 40h handler */
int_frame:      .space 8        /* IP, CS, FLAGS it found on the stack */
int_ret_ok:     .space 4
de_ip:          .space 4        /* the IP #DE pushed */
a20_off_alias:  .space 4        /* byte at 0:0 after a write to FFFF:0010 with A20 off */
a20_on_alias:   .space 4        /* the same with A20 on */
a20_on_high:    .space 4        /* byte at 1 MB (read through FFFF:0010) with A20 on */
port92_off:     .space 4
port92_on:      .space 4
far_ret_ok:     .space 4
lds_ok:         .space 4
saved_ivt:      .space 8

        .section .text16, "ax"
        .code16
/* runs right after reset, before anything else touched the machine */
real_entry:
        xorl %eax, %eax
        movw %ax, %ds
        movw %ax, %es
        movl $1, %eax
        cpuid
        movl %eax, cpuid1_eax
        ret

/* real-mode checks, run from main through CALL_REAL (DS = ES = SS = 0) */
real_tests:
        /* segment arithmetic: 1234:5678 and 179B:0008 are linear 179B8 */
        movw $0x1234, %ax
        movw %ax, %es
        movl $0xa5c3e1f0, %es:0x5678
        movw $0x179b, %ax
        movw %ax, %fs
        movl %fs:0x0008, %eax
        movl %eax, seg_read1
        /* 16-bit effective addresses wrap: [bx+si] with bx=FFFF si=3 is offset 2 */
        movw $0x2000, %ax
        movw %ax, %es
        movl $0x11223344, %es:0x0002
        movw $0xffff, %bx
        movw $3, %si
        movl %es:(%bx,%si), %eax
        movl %eax, wrap_read
        /* the word at ES:0 of 1234 through a different segment:offset pair */
        movw $0x1000, %ax
        movw %ax, %fs
        movl %fs:0x79b8, %eax
        movl %eax, seg_read2
        xorw %ax, %ax
        movw %ax, %es
        movw %ax, %fs

        /* INT n through the IVT: vector 40h -> int40_handler */
        movl 0x40 * 4, %eax
        movl %eax, saved_ivt
        movw $int40_handler, 0x40 * 4
        movw $ROMSEG, 0x40 * 4 + 2
        pushw $0x0001                   /* CF set before the INT (IF stays 0: no IRQ may come in) */
        popfw
        int $0x40
int40_ret:
        cli
        movl $1, int_ret_ok
        /* #DE in real mode: vector 0, the pushed IP is the DIV's own (a fault) */
        movl 0, %eax
        movl %eax, saved_ivt + 4
        movw $de_handler, 0
        movw $ROMSEG, 2
        xorw %cx, %cx
        movw $1, %ax
de_insn:
        divb %cl
        movl saved_ivt + 4, %eax
        movl %eax, 0
        movl saved_ivt, %eax
        movl %eax, 0x40 * 4

        /* far call and far return in real mode */
        lcall $ROMSEG, $far_target
        /* LDS loads a segment:offset pair (base = selector * 16) */
        movl $((0x0123 << 16) | 0x0456), 0x6f00
        ldsw 0x6f00, %si
        movw %ds, %ax
        cmpw $0x0123, %ax
        jne 1f
        cmpw $0x0456, %si
        jne 1f
        xorw %ax, %ax
        movw %ax, %ds
        movl $1, lds_ok
1:      xorw %ax, %ax
        movw %ax, %ds

        /* A20 off: FFFF:0010 is physical 0 */
        movw $0xffff, %ax
        movw %ax, %es
        movl 0, %eax
        movl %eax, saved_ivt            /* the IVT's first entry, restored below */
        inb $0x92, %al
        andb $~0x03, %al                /* bit 0 is the fast reset: keep it 0 */
        outb %al, $0x92
        inb $0x92, %al
        movzbl %al, %eax
        andl $0x02, %eax
        movl %eax, port92_off
        movb $0x5a, %es:0x10
        movzbl 0, %eax
        movl %eax, a20_off_alias
        /* A20 on: FFFF:0010 is 1 MB */
        inb $0x92, %al
        orb $0x02, %al
        andb $~0x01, %al
        outb %al, $0x92
        inb $0x92, %al
        movzbl %al, %eax
        andl $0x02, %eax
        movl %eax, port92_on
        movb $0x00, 0
        movb $0xc3, %es:0x10
        movzbl 0, %eax
        movl %eax, a20_on_alias
        movzbl %es:0x10, %eax
        movl %eax, a20_on_high
        movl saved_ivt, %eax
        movl %eax, 0
        xorw %ax, %ax
        movw %ax, %es
        ret

int40_handler:
        pushfw
        popw %ax
        movw %ax, int_flags
        movw %sp, %bp
        movw (%bp), %ax
        movw %ax, int_frame             /* IP */
        movw 2(%bp), %ax
        movw %ax, int_frame + 2         /* CS */
        movw 4(%bp), %ax
        movw %ax, int_frame + 4         /* FLAGS */
        iret

de_handler:
        movw %sp, %bp
        movw (%bp), %ax
        movw %ax, de_ip
        addw $2, (%bp)                  /* skip the 2-byte DIV */
        iret

far_target:
        movl $1, far_ret_ok
        lret

        .text
        .code32
main:
        call sys_init
        PRINT "reset state\n"
        CHECKR reset_state + RS_EAX, "eax", 0
        CHECKR reset_state + RS_EBX, "ebx", 0
        CHECKR reset_state + RS_ECX, "ecx", 0
        CHECKR reset_state + RS_ESI, "esi", 0
        CHECKR reset_state + RS_EDI, "edi", 0
        CHECKR reset_state + RS_EBP, "ebp", 0
        CHECKR reset_state + RS_ESP, "esp after the reset vector's call", 0xfffe
        movzwl reset_state + RS_PUSHED, %eax
        CHECK "ip pushed by the call at the reset vector", 0xfff3
        CHECKR reset_state + RS_EFLAGS, "eflags", 0x00000002
        CHECKR reset_state + RS_CR0, "cr0", 0x60000010
        movzwl reset_state + RS_CS, %eax
        CHECK "cs after the jump", 0xf000
        movzwl reset_state + RS_DS, %eax
        movzwl reset_state + RS_ES, %ebx
        orl %ebx, %eax
        movzwl reset_state + RS_SS, %ebx
        orl %ebx, %eax
        movzwl reset_state + RS_FS, %ebx
        orl %ebx, %eax
        movzwl reset_state + RS_GS, %ebx
        orl %ebx, %eax
        CHECK "ds|es|ss|fs|gs", 0
        movl reset_state + RS_EDX, %eax
        cmpl cpuid1_eax, %eax
        sete %al
        movzbl %al, %eax
        CHECK "edx = cpuid.1:eax", 1
        movl reset_state + RS_EDX, %eax
        shrl $8, %eax
        andl $0xf, %eax
        CHECK "family", 6

        PRINT "real mode\n"
        CALL_REAL real_tests
        CHECKR seg_read1, "1234:5678 via 179b:0008", 0xa5c3e1f0
        CHECKR seg_read2, "via 1000:79b8", 0xa5c3e1f0
        CHECKR wrap_read, "[bx+si] wraps at 64k", 0x11223344
        movzwl int_flags, %eax
        andl $0x0301, %eax
        CHECK "int 40h: if tf cleared, cf kept", 0x0001
        movzwl int_frame, %eax
        CHECK "int 40h: pushed ip", int40_ret
        movzwl int_frame + 2, %eax
        CHECK "int 40h: pushed cs", 0xf000
        movzwl int_frame + 4, %eax
        andl $0x0fd5, %eax
        CHECK "int 40h: pushed flags", 0x0001
        CHECKR int_ret_ok, "iret returned", 1
        movzwl de_ip, %eax
        CHECK "#de pushed ip", de_insn
        CHECKR far_ret_ok, "far call/ret", 1
        CHECKR lds_ok, "lds", 1

        PRINT "a20\n"
        CHECKR port92_off, "port 92h bit 1 after clearing", 0
        CHECKR a20_off_alias, "a20 off: ffff:0010 is 0", 0x5a
        CHECKR port92_on, "port 92h bit 1 after setting", 2
        CHECKR a20_on_alias, "a20 on: 0 unchanged", 0
        CHECKR a20_on_high, "a20 on: ffff:0010 is 1 MB", 0xc3

        /* A20 also masks protected-mode addresses (paging off) */
        movl $0x11111111, 0x500000
        movl $0x22222222, 0x400000
        inb $0x92, %al
        andb $~0x03, %al
        outb %al, $0x92
        movl 0x500000, %eax
        CHECK "pm, a20 off: 5 MB reads 4 MB", 0x22222222
        movl $0x33333333, 0x500000
        inb $0x92, %al
        orb $0x02, %al
        andb $~0x01, %al
        outb %al, $0x92
        movl 0x400000, %eax
        CHECK "pm, a20 on: 4 MB was written through 5 MB", 0x33333333
        movl 0x500000, %eax
        CHECK "pm, a20 on: 5 MB", 0x11111111
        ret
