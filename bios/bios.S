/* pyemu's BIOS: power-on self test and the PC BIOS services that boot
 * loaders and Linux's real-mode setup call.  GNU as, 16-bit code for a 386 or
 * later (32-bit registers are used freely).  emu/boot/bios.py assembles it
 * at first use and caches the image; the board maps it at 0xF0000 and below
 * 4 GB, and the CPU starts at F000:FFF0.
 *
 * What it leaves to the board (emu/board.py firmware_setup): the PCI set-up
 * (interrupt routing, the IDE bus-master BAR at 0xC000, bus mastering on)
 * and the CMOS bytes (memory size, boot order).  What it does itself:
 *   POST     interrupt vectors, BIOS data area, 8259 PICs (vectors 08h/70h),
 *            8254 PIT (18.2 Hz), COM1 (115200 8N1), the RTC's format, the
 *            memory size from CMOS (0x30/0x31, 0x34/0x35), the IDE drives
 *            (IDENTIFY / IDENTIFY PACKET DEVICE)              -> post.inc
 *   INT 10h  teletype output, mirrored to COM1 (there is no display)   -> video.inc
 *   INT 13h  disks: CHS and the EDD extensions 41h-48h; CD-ROM 4Bh  -> disk.inc, ata.inc
 *   INT 15h  E820, E801, 88h, A20 (24h), C0h, 86h                   -> system.inc
 *   INT 16h  keyboard (the PS/2 buffer, and COM1 input)              -> keyboard.inc
 *   INT 1Ah  tick count, RTC time and date                           -> system.inc
 *   INT 11h, 12h, 18h, 19h (boot order from CMOS, MBR 55AAh, El Torito) -> boot.inc
 * The code is pyemu's own, written from the IBM PC/AT Technical Reference's
 * BIOS interface, Ralf Brown's interrupt list for the calling conventions,
 * Phoenix EDD 3.0, the El Torito specification and ATA/ATAPI-6.
 */
        .code16
        .text
        .include "frame.inc"

/* ---- EBDA layout (FS = EBDA_SEG while a service runs) ----------------------------------- */
        .set EB_SIZE_KB, 0x000          /* word: size of the EBDA in KB (read by the OS) */
        .set EB_NHD, 0x010              /* byte: number of hard disks */
        .set EB_CDSLOT, 0x011           /* byte: drive-table slot of the CD-ROM, 0xFF none */
        .set EB_PUSHBACK, 0x012         /* word: a COM1 key read ahead by INT 16h AH=01, 0 none */
        .set EB_CDBOOT, 0x014           /* byte: 1 once booted from the CD (El Torito) */
        .set EB_E820N, 0x015            /* byte: number of E820 entries */
        .set EB_RAMTOP, 0x018           /* dword: end of RAM below 4 GB */
        .set EB_CURSOR, 0x01C           /* word: cursor row << 8 | column (INT 10h) */
        .set EB_HDMAP, 0x020            /* 4 bytes: drive-table slot of hard disk 80h + n */
        .set EB_IO_LBA, 0x030           /* dword: the transfer in progress (ata.inc) */
        .set EB_IO_LBAHI, 0x034         /* word: its LBA bits 47:32 */
        .set EB_IO_COUNT, 0x036         /* word: its sector count */
        .set EB_IO_STATUS, 0x038        /* byte: its INT 13h status */
        .set EB_DRIVES, 0x040           /* 4 slots of DRV_SIZE: the IDE devices found */
        .set EB_PRD, 0x100              /* PRD table for bus-master DMA (dword aligned) */
        .set EB_PACKET, 0x180           /* 12-byte ATAPI command packet */
        .set EB_BOOTINFO, 0x190         /* El Torito: load RBA (dword), load segment (word),
                                           sector count (word) */
        .set EB_E820, 0x200             /* E820 entries, 20 bytes each */

        .set DRV_SIZE, 32
        .set DRV_CMD, 0                 /* word: command block base (0x1F0 / 0x170) */
        .set DRV_CTL, 2                 /* word: control block (0x3F6 / 0x376) */
        .set DRV_BM, 4                  /* word: bus-master registers of the channel */
        .set DRV_SELECT, 6              /* byte: device register value, 0xA0 or 0xB0 */
        .set DRV_TYPE, 7                /* byte: 0 none, 1 ATA disk, 2 ATAPI */
        .set DRV_SECTORS, 8             /* qword: capacity in sectors */
        .set DRV_LCYLS, 16              /* word: logical geometry for CHS calls */
        .set DRV_LHEADS, 18
        .set DRV_LSPT, 20

        .set TYPE_ATA, 1
        .set TYPE_ATAPI, 2
        .set BM_BASE, 0xC000            /* where the board put the bus-master BAR */
        .set COM1, 0x3F8
        .set SCRATCH_SEG, 0x0600        /* 0x6000: POST and boot scratch (IDENTIFY, El Torito) */

        .globl start
start:                                  /* offset 0: not an entry point */
        .ascii "pyemu BIOS"

        .include "post.inc"
        .include "video.inc"
        .include "ata.inc"
        .include "disk.inc"
        .include "keyboard.inc"
        .include "system.inc"
        .include "boot.inc"

/* the reset vector: F000:FFF0 */
        .section .reset, "ax"
reset_vector:
        ljmp $0xF000, $post
        .ascii "12/04/26"               /* BIOS date at F000:FFF5 */
        .byte 0
        .byte 0xFC                      /* model byte at F000:FFFE: AT */
        .byte 0
