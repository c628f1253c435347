/* Bitwise CRC-32 of a 64 KB buffer, repeated: shifts, masks, a tight inner loop. */
#include "bench.h"
#define LEN 65536
static unsigned char data[LEN];

static unsigned crc32(const unsigned char *p, unsigned n) {
    unsigned c = ~0u;
    for (unsigned i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

unsigned workload(unsigned scale) {
    unsigned x = 12345;
    for (unsigned i = 0; i < LEN; i++) { x = x * 1103515245u + 12345u; data[i] = x >> 16; }
    unsigned c = 0;
    for (unsigned rep = 0; rep < scale; rep++) c ^= crc32(data, LEN) + rep;
    return c;
}
