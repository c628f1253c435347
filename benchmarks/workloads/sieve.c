/* Sieve of Eratosthenes over 2^20 numbers, repeated: loads, stores, branches. */
#include "bench.h"
#define N (1u << 20)
static unsigned char composite[N];

unsigned workload(unsigned scale) {
    unsigned count = 0;
    for (unsigned rep = 0; rep < scale; rep++) {
        for (unsigned i = 0; i < N; i++) composite[i] = 0;
        count = 0;
        for (unsigned i = 2; i < N; i++) {
            if (composite[i]) continue;
            count++;
            for (unsigned j = i + i; j < N; j += i) composite[j] = 1;
        }
    }
    return count;   /* 82025 primes below 2^20 */
}
