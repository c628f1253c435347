/* What a workload needs: print to the serial port (guest) or stdout (native). */
#ifndef BENCH_H
#define BENCH_H
#ifdef NATIVE
#include <stdio.h>
static void put_str(const char *s) { fputs(s, stdout); }
#else
static inline void outb(unsigned short port, unsigned char v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static void put_str(const char *s) { while (*s) outb(0x3f8, (unsigned char)*s++); }
#endif
static void put_hex(unsigned v) {
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    buf[10] = 0;
    put_str(buf);
}
unsigned workload(unsigned scale);
#endif
