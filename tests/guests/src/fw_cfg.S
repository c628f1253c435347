/* fw_cfg: what a bare-metal program written for QEMU reads from the firmware
 * configuration device (QEMU docs/specs/fw_cfg.rst): the signature, the
 * interface ID, the CPU count (a program that finds 0xFFFF here waits for
 * 65534 application processors), the RAM size, and etc/e820 found through
 * the file directory, each through the port interface and the signature
 * again through the DMA interface.  Run with -m 128 on pyemu and QEMU. */
        .include "guest.inc"
        GUEST "fw_cfg", 0x23

        .set FW_SEL, 0x510
        .set FW_DATA, 0x511
        .set FW_DMA_HI, 0x514
        .set FW_DMA_LO, 0x518

/* select item \key */
.macro SELECT key:req
        movw $(\key), %ax
        movw $FW_SEL, %dx
        outw %ax, %dx
.endm

main:
        SELECT 0x0000
        call read32
        CHECK "signature", 0x554d4551           /* "QEMU" */
        SELECT 0x0001
        call read32
        andl $1, %eax                           /* the port interface; DMA varies by version */
        CHECK "id.traditional", 1
        SELECT 0x0005
        call read16
        CHECK "cpus", 1
        SELECT 0x0003
        call read32
        CHECK "ram.low", 0x08000000
        call read32
        CHECK "ram.high", 0

        /* etc/e820 through the file directory, then its first entry */
        call find_e820
        xorl %eax, %eax
        testl %ebx, %ebx
        setnz %al
        CHECK "e820.found", 1
        movl %ebx, %eax
        movw $FW_SEL, %dx
        outw %ax, %dx
        call read32
        CHECK "e820.addr.low", 0
        call read32
        call read32
        CHECK "e820.length.low", 0x08000000
        call read32
        call read32
        CHECK "e820.type", 1

        /* the DMA interface: select the signature and read it into memory */
        movl $0, dma_buf
        movl $((0x0000 << 16) | 0x08 | 0x02), %eax
        bswap %eax
        movl %eax, dma_access                   /* control */
        movl $0x04000000, dma_access+4          /* length 4, big-endian */
        movl $0, dma_access+8                   /* address high */
        movl $dma_buf, %eax
        bswap %eax
        movl %eax, dma_access+12                /* address low */
        xorl %eax, %eax
        movw $FW_DMA_HI, %dx
        outl %eax, %dx
        movl $dma_access, %eax
        bswap %eax
        movw $FW_DMA_LO, %dx
        outl %eax, %dx
        movl dma_access, %eax
        CHECK "dma.control", 0
        movl dma_buf, %eax
        CHECK "dma.signature", 0x554d4551
        ret

/* ebx = the selector of etc/e820 (0 if absent): the directory is a be32 count,
 * then per file be32 size, be16 selector, be16 reserved, a 56-byte name */
find_e820:
        SELECT 0x0019
        call read32be
        movl %eax, %ecx
        xorl %ebx, %ebx
1:      testl %ecx, %ecx
        jz 3f
        call read32be
        call read16be
        movl %eax, %ebp
        call read16be
        movl $name_buf, %edi
        movl $56, %esi
2:      movw $FW_DATA, %dx
        inb %dx, %al
        stosb
        decl %esi
        jnz 2b
        pushl %ecx
        movl $name_buf, %esi
        movl $e820_name, %edi
        movl $9, %ecx
        repe cmpsb
        popl %ecx
        jne 4f
        movl %ebp, %ebx
4:      decl %ecx
        jmp 1b
3:      ret

/* eax = the next 4 (2) bytes of the selected item, little- or big-endian */
read32:
        pushl %ecx
        pushl %edx
        movw $FW_DATA, %dx
        movl $4, %ecx
1:      inb %dx, %al
        rorl $8, %eax
        loop 1b
        popl %edx
        popl %ecx
        ret
read32be:
        call read32
        bswap %eax
        ret
read16:
        pushl %edx
        movw $FW_DATA, %dx
        xorl %eax, %eax
        inb %dx, %al
        movb %al, %ah
        inb %dx, %al
        xchgb %al, %ah
        popl %edx
        ret
read16be:
        call read16
        xchgb %al, %ah
        ret

        .section .rodata
e820_name:
        .asciz "etc/e820"
        .data
        .balign 16
dma_access:
        .long 0, 0, 0, 0
dma_buf:
        .long 0
        .bss
name_buf:
        .skip 64
