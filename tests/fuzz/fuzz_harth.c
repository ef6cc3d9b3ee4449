/* fuzz_harth.c: libFuzzer harness for the HARTH CSV reader (built with -DDC_FUZZ=ON, run
 * by tools/fuzz.sh; seeds in corpus/harth). Also a differential check of the float parser against strtof:
 * any accepted number must round to the same float32 bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dc_harth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_harth *h = NULL;
    if (dc_harth_parse((const char *)data, size, "fuzz.csv", &h) == DC_OK) {
        for (int64_t i = 0; i < h->n; i++)
            if (h->y[i] < 0 || h->y[i] >= DC_HARTH_CLASSES) __builtin_trap();
    }
    dc_harth_free(h);
    if (size < 64) {
        char buf[65];
        float f;
        memcpy(buf, data, size);
        buf[size] = '\0';
        if (strlen(buf) == size && dc_harth_parse_f32(buf, size, &f)) {
            char *end;
            float g = strtof(buf, &end);
            if (end != buf + size || memcmp(&f, &g, sizeof f)) __builtin_trap();
        }
    }
    return 0;
}
