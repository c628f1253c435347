/* kpaths: the kernel paths a Linux guest takes all the time, one loop per row
 * (issue [native-system]).  A static i386 program without a C library, so
 * that it builds with any gcc that has -m32 and runs in the busybox guests.
 *
 *     kpaths ROW N
 *
 * prints "KP B ROW" before the loop and "KP E ROW N SEC NSEC" after it (the
 * loop's time by the guest's own CLOCK_MONOTONIC).  benchmarks/kernel_paths.py
 * timestamps the two lines as they reach the host: time pyemu spends in
 * Python passes no guest time, so only the host's figure is the cost.
 *
 * Rows: int80 (getppid through INT 0x80), vdso (getppid through the vDSO's
 * __kernel_vsyscall: SYSENTER), fault (a write to a fresh anonymous page),
 * fork (fork + wait), exec (fork + exec of /bin/true + wait), pipe (one byte
 * there and back between two processes: two context switches), zero (read
 * 16 MB from /dev/zero in 64 KB reads).  System call numbers: the kernel's
 * arch/x86/entry/syscalls/syscall_32.tbl.
 */
#define SYS_exit 1
#define SYS_fork 2
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_execve 11
#define SYS_pipe 42
#define SYS_getppid 64
#define SYS_old_mmap 90
#define SYS_munmap 91
#define SYS_wait4 114
#define SYS_clock_gettime 265
#define CLOCK_MONOTONIC 1
#define AT_SYSINFO 32
#define PAGE 4096

typedef unsigned long ulong;

__asm__(".globl _start\n"
        "_start:\n"
        "  xorl %ebp, %ebp\n"
        "  movl %esp, %eax\n"
        "  andl $-16, %esp\n"
        "  subl $12, %esp\n"
        "  pushl %eax\n"
        "  call start_c\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "0"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}

static long sys4(long n, long a, long b, long c, long d)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "0"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
    return r;
}

static void (*vsyscall)(void);
static char **environ;
static char buf[65536];

static void out(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    sys3(SYS_write, 1, (long)s, n);
}

static char *decimal(char *p, ulong v)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static __attribute__((noreturn)) void die(const char *why)
{
    out("kpaths: ");
    out(why);
    out("\n");
    sys3(SYS_exit, 2, 0, 0);
    for (;;)
        ;
}

static long getppid_vdso(void)
{
    long r;
    __asm__ volatile("call *%1" : "=a"(r) : "r"(vsyscall), "0"(SYS_getppid) : "memory", "ecx", "edx");
    return r;
}

static void wait_child(long pid)
{
    if (pid < 0)
        die("fork failed");
    if (sys4(SYS_wait4, pid, 0, 0, 0) != pid)
        die("wait4 failed");
}

static void row_fault(ulong n)
{
    /* in chunks of 256 pages, so that any N fits in the guest's memory */
    while (n) {
        ulong pages = n < 256 ? n : 256;
        long args[6] = {0, (long)(pages * PAGE), 3 /* read|write */, 0x22 /* private|anonymous */, -1, 0};
        char *p = (char *)sys3(SYS_old_mmap, (long)args, 0, 0);
        if ((ulong)p > (ulong)-4096)
            die("mmap failed");
        for (ulong i = 0; i < pages; i++)
            p[i * PAGE] = 1;
        sys3(SYS_munmap, (long)p, (long)(pages * PAGE), 0);
        n -= pages;
    }
}

static void row_exec(ulong n)
{
    static char *argv[] = {"/bin/true", 0};
    for (ulong i = 0; i < n; i++) {
        long pid = sys3(SYS_fork, 0, 0, 0);
        if (pid == 0) {
            sys3(SYS_execve, (long)argv[0], (long)argv, (long)environ);
            sys3(SYS_exit, 127, 0, 0);
        }
        wait_child(pid);
    }
}

static void row_pipe(ulong n)
{
    int there[2], back[2];
    char c = 'x';
    if (sys3(SYS_pipe, (long)there, 0, 0) || sys3(SYS_pipe, (long)back, 0, 0))
        die("pipe failed");
    long pid = sys3(SYS_fork, 0, 0, 0);
    if (pid == 0) {
        for (ulong i = 0; i < n; i++) {
            sys3(SYS_read, there[0], (long)&c, 1);
            sys3(SYS_write, back[1], (long)&c, 1);
        }
        sys3(SYS_exit, 0, 0, 0);
    }
    for (ulong i = 0; i < n; i++) {
        sys3(SYS_write, there[1], (long)&c, 1);
        if (sys3(SYS_read, back[0], (long)&c, 1) != 1)
            die("pipe read failed");
    }
    wait_child(pid);
    sys3(SYS_close, there[0], 0, 0); sys3(SYS_close, there[1], 0, 0);
    sys3(SYS_close, back[0], 0, 0); sys3(SYS_close, back[1], 0, 0);
}

static void row_zero(ulong n)
{
    long fd = sys3(SYS_open, (long)"/dev/zero", 0, 0);
    if (fd < 0)
        die("cannot open /dev/zero");
    for (ulong i = 0; i < n; i++)
        for (ulong done = 0; done < (16ul << 20); done += sizeof buf)
            if (sys3(SYS_read, fd, (long)buf, sizeof buf) != sizeof buf)
                die("short read from /dev/zero");
    sys3(SYS_close, fd, 0, 0);
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void run(const char *row, ulong n)
{
    /* both getppid rows check every answer: a wrong return path shows */
    long parent = sys3(SYS_getppid, 0, 0, 0);
    if (same(row, "int80")) {
        for (ulong i = 0; i < n; i++)
            if (sys3(SYS_getppid, 0, 0, 0) != parent)
                die("getppid through INT 0x80 gave another answer");
    } else if (same(row, "vdso")) {
        if (!vsyscall)
            die("no AT_SYSINFO: the kernel gave no vDSO entry");
        for (ulong i = 0; i < n; i++)
            if (getppid_vdso() != parent)
                die("getppid through the vDSO gave another answer");
    } else if (same(row, "fault")) {
        row_fault(n);
    } else if (same(row, "fork")) {
        for (ulong i = 0; i < n; i++) {
            long pid = sys3(SYS_fork, 0, 0, 0);
            if (pid == 0)
                sys3(SYS_exit, 0, 0, 0);
            wait_child(pid);
        }
    } else if (same(row, "exec")) {
        row_exec(n);
    } else if (same(row, "pipe")) {
        row_pipe(n);
    } else if (same(row, "zero")) {
        row_zero(n);
    } else {
        die("unknown row (int80 vdso fault fork exec pipe zero)");
    }
}

void start_c(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    environ = argv + argc + 1;
    char **e = environ;
    while (*e)
        e++;
    for (ulong *aux = (ulong *)(e + 1); aux[0]; aux += 2)
        if (aux[0] == AT_SYSINFO)
            vsyscall = (void (*)(void))aux[1];
    if (argc != 3)
        die("usage: kpaths ROW N");
    ulong n = 0;
    for (const char *p = argv[2]; *p; p++)
        n = n * 10 + (*p - '0');

    long t0[2], t1[2];
    char line[96], *p = line;
    for (const char *s = "KP B "; *s; s++)
        *p++ = *s;
    for (const char *s = argv[1]; *s; s++)
        *p++ = *s;
    *p++ = '\n';
    *p = 0;
    out(line);
    sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)t0, 0);
    run(argv[1], n);
    sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)t1, 0);
    long sec = t1[0] - t0[0], nsec = t1[1] - t0[1];
    if (nsec < 0)
        sec--, nsec += 1000000000;
    p = line;
    for (const char *s = "KP E "; *s; s++)
        *p++ = *s;
    for (const char *s = argv[1]; *s; s++)
        *p++ = *s;
    *p++ = ' ';
    p = decimal(p, n);
    *p++ = ' ';
    p = decimal(p, sec);
    *p++ = ' ';
    p = decimal(p, nsec);
    *p++ = '\n';
    *p = 0;
    out(line);
    sys3(SYS_exit, 0, 0, 0);
}
