/* Runs workload(scale) and prints its result; scale comes from the build. */
#include "bench.h"
#ifndef SCALE
#define SCALE 1
#endif
int main(void) {
    unsigned r = workload(SCALE);
    put_str("result ");
    put_hex(r);
    put_str("\n");
    return 0;
}
