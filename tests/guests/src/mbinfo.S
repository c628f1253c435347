/* mbinfo: the machine state a multiboot loader must hand over (Multiboot
 * Specification 0.6.96, 3.2 and 3.3): EAX = 0x2BADB002, and the information
 * structure at EBX with the fields at their specified offsets: flags,
 * mem_lower/mem_upper (KB), the memory map (mmap_length at +44, mmap_addr at
 * +48, entries of size/base/length/type), boot_loader_name at +64.
 * Only what QEMU and pyemu must agree on is printed (the loader names and
 * QEMU's exact e820 map differ). */
        .include "guest.inc"
        GUEST "mbinfo", 0x1d

main:
        CHECKR mb_magic, "eax.magic", 0x2badb002
        movl mb_info, %ebx
        movl (%ebx), %eax
        andl $((1 << 0) | (1 << 6) | (1 << 9)), %eax
        CHECK "flags.mem.mmap.name", 0x00000241
        CHECKR 4(%ebx), "mem_lower.kb", 0x0000027f
        /* 128 MB of RAM: 127 MB above 1 MB, less what the firmware keeps at
           the top (QEMU's BIOS reserves 128 KB there) */
        movl 8(%ebx), %eax
        subl $(127 * 1024 - 1024), %eax
        cmpl $1024, %eax
        setbe %al
        movzbl %al, %eax
        CHECK "mem_upper.about.127mb", 0x00000001

        /* the memory map: the first entry is the low RAM at 0, and some
           available entry starts at 1 MB */
        movl 44(%ebx), %ecx             /* mmap_length */
        movl 48(%ebx), %esi             /* mmap_addr */
        xorl %eax, %eax
        cmpl $24, %ecx
        setae %al
        CHECK "mmap.length.nonempty", 0x00000001
        CHECKR 4(%esi), "mmap0.base.lo", 0x00000000
        CHECKR 8(%esi), "mmap0.base.hi", 0x00000000
        CHECKR 20(%esi), "mmap0.type", 0x00000001
        movl 12(%esi), %eax
        cmpl $0x9f000, %eax             /* at least 636 KB of low RAM */
        setae %al
        movzbl %al, %eax
        CHECK "mmap0.length.low.ram", 0x00000001
        leal (%esi,%ecx), %edx          /* end of the map */
        xorl %edi, %edi                 /* found an available entry at 1 MB */
1:      cmpl %edx, %esi
        jae 2f
        cmpl $0x100000, 4(%esi)
        jne 3f
        cmpl $0, 8(%esi)
        jne 3f
        cmpl $1, 20(%esi)
        jne 3f
        movl $1, %edi
3:      movl (%esi), %eax               /* the size field does not count itself */
        leal 4(%esi,%eax), %esi
        jmp 1b
2:      CHECKR %edi, "mmap.ram.at.1mb", 0x00000001

        /* the boot loader name: a non-empty string */
        movl 64(%ebx), %esi
        xorl %eax, %eax
        testl %esi, %esi
        jz 4f
        cmpb $0, (%esi)
        setne %al
4:      CHECK "loader.name.nonempty", 0x00000001
        ret
