/* The pyemu demo: a small bare-metal program (multiboot v1, 32-bit flat mode).
 *
 * It prints a banner and the name of the boot loader that started it, finds
 * the primes below 100000 with a sieve, draws the Mandelbrot set in ASCII with
 * integer fixed-point arithmetic, and exits through isa-debug-exit (port 0xf4)
 * with code 0, which QEMU and pyemu report as exit status 1.
 *
 * Build by hand:  as --32 -o demo.o demo.S && ld -m elf_i386 -T link.ld -o demo.elf demo.o
 * Run:            pyemu -kernel demo.elf -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4
 * (`pyemu demo` does both.)  The same image runs on qemu-system-i386.
 */
        .code32
        .set COM1, 0x3f8
        .set COM1_LSR, 0x3fd
        .set DEBUG_EXIT_PORT, 0xf4
        .set SIEVE_LIMIT, 100000

        /* Mandelbrot: 12 fractional bits, 72 x 23 characters */
        .set FRAC, 12
        .set COLS, 72
        .set ROWS, 23
        .set MAX_ITER, 40
        .set X0, -8602                  /* -2.1  * 4096 */
        .set XSTEP, 153                 /* 2.7 / 72 * 4096 */
        .set Y0, -4710                  /* -1.15 * 4096 */
        .set YSTEP, 428                 /* 2.3 / 22 * 4096 */

        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002
        .long 0
        .long -0x1BADB002

        .text
        .globl _start
_start:
        movl $stack_top, %esp
        movl %ebx, mb_info              /* the multiboot information (EAX = 0x2BADB002) */
        cld

        movl $banner, %esi
        call puts
        call show_loader
        call primes
        call mandelbrot
        movl $goodbye, %esi
        call puts

        xorl %eax, %eax                 /* exit code 0: status (0 << 1) | 1 = 1 */
        outl %eax, $DEBUG_EXIT_PORT
        cli
1:      hlt                             /* no isa-debug-exit device: stop here */
        jmp 1b

/* "Booted by <name>": multiboot information flag bit 9, boot_loader_name at +64 */
show_loader:
        movl mb_info, %ebx
        testl $(1 << 9), (%ebx)
        jz 1f
        movl $booted_by, %esi
        call puts
        movl 64(%ebx), %esi
        call puts
        movb $'\n', %al
        call putc
1:      ret

/* the sieve of Eratosthenes up to SIEVE_LIMIT: list the primes below 100,
   then count and add up all of them */
primes:
        movl $sieve, %edi               /* sieve[k] = 1: k is composite */
        movl $SIEVE_LIMIT, %ecx
        xorl %eax, %eax
        rep stosb
        movl $2, %ebx
1:      movl %ebx, %eax
        mull %ebx
        cmpl $SIEVE_LIMIT, %eax
        jae 3f
        cmpb $0, sieve(%ebx)
        jne 2f
        /* cross out k*k, k*k + k, ... */
4:      movb $1, sieve(%eax)
        addl %ebx, %eax
        cmpl $SIEVE_LIMIT, %eax
        jb 4b
2:      incl %ebx
        jmp 1b

3:      movl $primes_title, %esi
        call puts
        movl $2, %ebx
5:      cmpb $0, sieve(%ebx)
        jne 6f
        movb $' ', %al
        call putc
        movl %ebx, %eax
        call putdec
6:      incl %ebx
        cmpl $100, %ebx
        jb 5b
        movb $'\n', %al
        call putc

        xorl %ecx, %ecx                 /* count */
        xorl %edx, %edx                 /* sum */
        movl $2, %ebx
7:      cmpb $0, sieve(%ebx)
        jne 8f
        incl %ecx
        addl %ebx, %edx
8:      incl %ebx
        cmpl $SIEVE_LIMIT, %ebx
        jb 7b
        movl $count_text, %esi
        call puts
        movl %ecx, %eax
        call putdec
        movl $sum_text, %esi
        call puts
        movl %edx, %eax
        call putdec
        movb $'\n', %al
        call putc
        ret

/* The Mandelbrot set: z <- z*z + c until |z| > 2 or MAX_ITER steps.
   ESI = row, EDI = column; c = (cr, ci) in 20.12 fixed point. */
mandelbrot:
        movl $mandel_title, %esi
        call puts
        xorl %esi, %esi
1:      xorl %edi, %edi
2:      movl %edi, %eax
        imull $XSTEP, %eax
        addl $X0, %eax
        movl %eax, cr
        movl %esi, %eax
        imull $YSTEP, %eax
        addl $Y0, %eax
        movl %eax, ci

        xorl %ebx, %ebx                 /* zr */
        xorl %ecx, %ecx                 /* zi */
        xorl %ebp, %ebp                 /* iteration count */
3:      movl %ebx, %eax
        imull %eax, %eax
        sarl $FRAC, %eax                /* zr^2 */
        movl %ecx, %edx
        imull %edx, %edx
        sarl $FRAC, %edx                /* zi^2 */
        pushl %eax
        addl %edx, %eax
        cmpl $(4 << FRAC), %eax         /* |z|^2 > 4: escaped */
        popl %eax
        jg 4f
        imull %ebx, %ecx                /* zi = 2 zr zi + ci */
        sarl $(FRAC - 1), %ecx
        addl ci, %ecx
        subl %edx, %eax                 /* zr = zr^2 - zi^2 + cr */
        addl cr, %eax
        movl %eax, %ebx
        incl %ebp
        cmpl $MAX_ITER, %ebp
        jb 3b
4:      movl %ebp, %eax                 /* shade by escape time */
        movl $(palette_end - palette - 1), %edx
        cmpl %edx, %eax
        cmova %edx, %eax
        movb palette(%eax), %al
        cmpl $MAX_ITER, %ebp
        jne 5f
        movb $'@', %al                  /* inside the set */
5:      call putc
        incl %edi
        cmpl $COLS, %edi
        jb 2b
        movb $'\n', %al
        call putc
        incl %esi
        cmpl $ROWS, %esi
        jb 1b
        ret

/* ---- serial output (COM1); every routine preserves the registers it does not return ---- */

putc:                                   /* AL */
        pushl %edx
        pushl %eax
        movw $COM1_LSR, %dx
1:      inb %dx, %al                    /* wait until the transmitter is empty */
        testb $0x20, %al
        jz 1b
        popl %eax
        movw $COM1, %dx
        outb %al, %dx
        popl %edx
        ret

puts:                                   /* the NUL-terminated string at ESI */
        pushl %eax
        pushl %esi
1:      lodsb
        testb %al, %al
        jz 2f
        call putc
        jmp 1b
2:      popl %esi
        popl %eax
        ret

putdec:                                 /* EAX, unsigned decimal */
        pushal
        movl $10, %ebx
        xorl %ecx, %ecx
1:      xorl %edx, %edx
        divl %ebx
        pushl %edx
        incl %ecx
        testl %eax, %eax
        jnz 1b
2:      popl %eax
        addb $'0', %al
        call putc
        loop 2b
        popal
        ret

        .section .rodata
banner:
        .ascii "\n"
        .ascii "  pyemu demo: bare-metal x86 code, decoded, translated to LLVM IR\n"
        .ascii "  and compiled to host code, talking to an emulated 16550 UART.\n"
        .asciz "  ------------------------------------------------------------------\n"
booted_by:
        .asciz "  Booted by: "
primes_title:
        .asciz "\n  Primes below 100:\n "
count_text:
        .asciz "  Below 100000 there are "
sum_text:
        .asciz " primes; their sum is "
mandel_title:
        .asciz "\n  The Mandelbrot set, in 32-bit fixed-point arithmetic:\n\n"
goodbye:
        .asciz "\n  Done: leaving through isa-debug-exit with code 0.\n"
palette:
        .ascii "   ...,,,::;;==++**##%%%"
palette_end:

        .bss
        .align 4
mb_info:
        .long 0
cr:     .long 0
ci:     .long 0
sieve:  .space SIEVE_LIMIT
        .align 16
        .space 8192
stack_top:
