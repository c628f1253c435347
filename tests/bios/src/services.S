/* services.S: a boot sector (and the sectors it loads) that calls the BIOS
 * services a boot loader and Linux's setup use, and prints what they return
 * as "name=value" lines straight on COM1 (not through INT 10h, which is one
 * of the services under test); it ends through isa-debug-exit.
 * Run with -m 32 and -rtc base=2024-03-05T10:20:30 on a disk image whose
 * sector n (n >= 16) starts with "SECTOR" and n as a 32-bit number. */
        .code16
        .include "macros.inc"
        .text
        .globl _start
_start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw $0x7C00, %sp
        sti
        pushw %dx                       /* DL: the boot drive (boot_drive is not loaded yet) */
        /* INT 13h AH=02h (CHS): the rest of the program, sectors 2-16 of cylinder 0 head 0 */
        movw $0x020F, %ax
        movw $0x0002, %cx
        xorb %dh, %dh
        movw $0x7E00, %bx
        int $0x13
        jc load_failed
        popw %dx
        movb %dl, boot_drive
        jmp main
load_failed:
        movw $0x3F8, %dx
        movb $'!', %al
        outb %al, %dx
        cli
        hlt
        . = _start + 510
        .byte 0x55, 0xAA

/* ---- sector 2 on: the tests ------------------------------------------------------------ */
main:
        PRINT_LINE "BIOS-TEST-START"
        movb boot_drive, %al
        PRINT_BYTE "boot.dl"

        int $0x12
        PRINT_WORD "int12.ax"

        /* INT 15h E801h and 88h */
        movw $0xE801, %ax
        int $0x15
        pushw %dx
        pushw %cx
        pushw %bx
        PRINT_WORD "e801.ax"
        popw %ax
        PRINT_WORD "e801.bx"
        popw %ax
        PRINT_WORD "e801.cx"
        popw %ax
        PRINT_WORD "e801.dx"
        movb $0x88, %ah
        int $0x15
        PRINT_WORD "int88.ax"

        /* INT 15h E820h: the first entry, and the RAM entry at 1 MB */
        xorl %ebx, %ebx
        movl $0, e820_ram1m
1:      movl $0xE820, %eax
        movl $20, %ecx
        movl $0x534D4150, %edx
        movw $e820_buf, %di
        int $0x15
        jc 3f
        cmpl $0x534D4150, %eax
        jne 3f
        cmpl $0, e820_count
        jne 2f
        movl e820_buf, %eax
        PRINT_DWORD "e820.first.base"
        movl e820_buf + 16, %eax
        PRINT_DWORD "e820.first.type"
2:      incl e820_count
        cmpl $0x100000, e820_buf
        jne 4f
        cmpl $1, e820_buf + 16
        jne 4f
        movl e820_buf + 8, %eax
        movl %eax, e820_ram1m
4:      testl %ebx, %ebx
        jnz 1b
3:      movl e820_ram1m, %eax
        PRINT_DWORD "e820.ram1m.length"

        /* INT 15h A20 */
        movw $0x2401, %ax
        int $0x15
        movw $0x2402, %ax
        int $0x15
        PRINT_BYTE "a20.status"
        /* INT 15h C0h: the model byte */
        movb $0xC0, %ah
        int $0x15
        movb %es:2(%bx), %al
        xorw %cx, %cx
        movw %cx, %es
        PRINT_BYTE "c0.model"

        /* INT 13h 41h, 08h, 15h, 48h on the boot disk */
        movb $0x41, %ah
        movw $0x55AA, %bx
        movb boot_drive, %dl
        int $0x13
        setc %al
        PRINT_BYTE "int13.41.cf"
        movw %bx, %ax
        PRINT_WORD "int13.41.bx"
        movw %cx, %ax
        andw $1, %ax
        PRINT_WORD "int13.41.cx.fixed"
        movb $0x08, %ah
        movb boot_drive, %dl
        int $0x13
        pushw %dx
        movw %cx, %ax
        PRINT_WORD "int13.08.cx"
        popw %ax
        PRINT_WORD "int13.08.dx"
        movb $0x15, %ah
        movb boot_drive, %dl
        int $0x13
        pushw %dx
        movb %ah, %al
        PRINT_BYTE "int13.15.ah"
        movw %cx, %ax
        shll $16, %eax
        popw %ax
        PRINT_DWORD "int13.15.sectors"
        movw $0x1A, edd_params
        movb $0x48, %ah
        movb boot_drive, %dl
        movw $edd_params, %si
        int $0x13
        setc %al
        PRINT_BYTE "int13.48.cf"
        movl edd_params + 16, %eax
        PRINT_DWORD "int13.48.sectors"
        movw edd_params + 24, %ax
        PRINT_WORD "int13.48.bps"

        /* INT 13h 42h: sector 20 */
        movl $20, dap_lba
        movw $1, dap_count
        movb $0x42, %ah
        call ext_io
        PRINT_BYTE "int13.42.cf"
        movl buffer + 6, %eax
        PRINT_DWORD "int13.42.sector"
        /* INT 13h 02h: sector 17 is cylinder 0, head 0, sector 18 */
        movw $0x0201, %ax
        movw $18, %cx
        xorb %dh, %dh
        movb boot_drive, %dl
        movw $buffer, %bx
        int $0x13
        setc %al
        PRINT_BYTE "int13.02.cf"
        movl buffer + 6, %eax
        PRINT_DWORD "int13.02.sector"
        /* sector number 0 does not exist */
        movw $0x0201, %ax
        movw $0, %cx
        movb boot_drive, %dl
        movw $buffer, %bx
        int $0x13
        setc %al
        PRINT_BYTE "int13.02.sector0.cf"
        /* INT 13h 43h: write sector 30 and read it back */
        movl $0x57524954, buffer        /* "TIRW" */
        movl $30, dap_lba
        movb $0x43, %ah
        call ext_io
        PRINT_BYTE "int13.43.cf"
        movl $0, buffer
        movb $0x42, %ah
        call ext_io
        movl buffer, %eax
        PRINT_DWORD "int13.43.readback"

        /* INT 13h 44h, 47h: verify and seek, at sector 20 and at the first sector past the
         * end (the count from 48h); CF and the status in AH */
        movl $20, dap_lba
        movb $0x44, %ah
        call ext_io
        PRINT_BYTE "int13.44.cf"
        movl edd_params + 16, %eax
        movl %eax, dap_lba
        movb $0x44, %ah
        call ext_io
        PRINT_BYTE "int13.44.end.cf"
        movb %ah, %al
        PRINT_BYTE "int13.44.end.ah"
        movw $1, dap_count              /* a failed call sets the count to the blocks done */
        movl $20, dap_lba
        movb $0x47, %ah
        call ext_io
        PRINT_BYTE "int13.47.cf"
        movl edd_params + 16, %eax
        movl %eax, dap_lba
        movb $0x47, %ah
        call ext_io
        PRINT_BYTE "int13.47.end.cf"
        movb %ah, %al
        PRINT_BYTE "int13.47.end.ah"
        movw $1, dap_count
        /* INT 13h 45h (AL=00h lock) and 46h (eject) on the fixed disk */
        movw $0x4500, %ax
        movb boot_drive, %dl
        int $0x13
        setc %al
        PRINT_BYTE "int13.45.cf"
        movb %ah, %al
        PRINT_BYTE "int13.45.ah"
        movw $0x4600, %ax
        movb boot_drive, %dl
        int $0x13
        setc %al
        PRINT_BYTE "int13.46.cf"
        movb %ah, %al
        PRINT_BYTE "int13.46.ah"

        /* INT 11h: the equipment word */
        int $0x11
        PRINT_WORD "int11.ax"
        andw $0x0E02, %ax               /* serial ports (bits 11-9) and the x87 (bit 1) */
        PRINT_WORD "int11.serial.x87"

        /* INT 1Ah: date and time from the RTC (-rtc base=2024-03-05T10:20:30) */
        movb $0x04, %ah
        int $0x1A
        pushw %dx
        movw %cx, %ax
        PRINT_WORD "rtc.century.year"
        popw %ax
        PRINT_WORD "rtc.month.day"
        movb $0x02, %ah
        int $0x1A
        movw %cx, %ax
        PRINT_WORD "rtc.hour.minute"
        /* the tick count moves */
        xorb %ah, %ah
        int $0x1A
        movw %cx, ticks_before + 2
        movw %dx, ticks_before
        movw $12, %cx
5:      sti
        hlt
        loop 5b
        xorb %ah, %ah
        int $0x1A
        movw %cx, %ax
        shll $16, %eax
        movw %dx, %ax
        subl ticks_before, %eax
        cmpl $0, %eax
        setg %al
        PRINT_BYTE "ticks.advance"

        /* INT 15h 86h: wait CX:DX = 1,000,000 us; the tick count (18.2 Hz) shows the time
         * went by: the timer interrupt must keep running while the BIOS waits */
        xorb %ah, %ah
        int $0x1A
        movw %cx, ticks_before + 2
        movw %dx, ticks_before
        movw $0x000F, %cx
        movw $0x4240, %dx
        movb $0x86, %ah
        int $0x15
        setc %al
        PRINT_BYTE "int15.86.cf"
        xorb %ah, %ah
        int $0x1A
        movw %cx, %ax
        shll $16, %eax
        movw %dx, %ax
        subl ticks_before, %eax
        PRINT_DWORD "int15.86.ticks"

        /* INT 16h 01h: no key waiting */
        movb $0x01, %ah
        int $0x16
        setz %al
        PRINT_BYTE "int16.01.nokey"

        /* INT 10h 0Eh: teletype (where it goes depends on the BIOS's console) */
        movw $0x0E3C, %ax
        xorw %bx, %bx
        int $0x10
        movw $0x0E3E, %ax
        int $0x10
        PRINT_LINE ""
        PRINT_LINE "BIOS-TEST-DONE"
        movb $0x31, %al
        outb %al, $0xF4
        cli
        hlt

/* INT 13h ah (42h/43h) with the DAP, on sector dap_lba into buffer; al = CF */
ext_io:
        movw $dap, %si
        movb boot_drive, %dl
        xorb %al, %al
        int $0x13
        setc %al
        ret

/* COM1 output */
putc:
        pushw %dx
        pushw %ax
        movw $0x3FD, %dx
1:      inb %dx, %al
        testb $0x20, %al
        jz 1b
        popw %ax
        movw $0x3F8, %dx
        outb %al, %dx
        popw %dx
        ret
puts:                                   /* ds:si, NUL-terminated */
        lodsb
        testb %al, %al
        jz 1f
        call putc
        jmp puts
1:      ret
puthex:                                 /* eax, cx digits */
        pushl %eax
        pushw %cx
        movw %cx, %dx
        shlw $2, %dx
        movw $32, %cx
        subw %dx, %cx
        shll %cl, %eax
        movw %dx, %cx
        shrw $2, %cx
1:      roll $4, %eax
        pushl %eax
        andb $0x0F, %al
        addb $'0', %al
        cmpb $'9', %al
        jbe 2f
        addb $7, %al
2:      call putc
        popl %eax
        loop 1b
        popw %cx
        popl %eax
        ret

        .data
boot_drive: .byte 0
        .balign 4
e820_count: .long 0
e820_ram1m: .long 0
e820_buf:   .fill 24, 1, 0
ticks_before: .long 0
dap:        .byte 0x10, 0
dap_count:  .word 1
            .word buffer, 0
dap_lba:    .long 0, 0
edd_params: .fill 0x20, 1, 0
buffer:     .fill 512, 1, 0
