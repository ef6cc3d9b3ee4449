/* fuzz_safetensors.c: libFuzzer harness for the safetensors parser (built with -DDC_FUZZ=ON,
 * run by tools/fuzz.sh; seeds in corpus/safetensors): every tensor's bytes are read. */
#include <stddef.h>
#include <stdint.h>

#include "dc/dc_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_st_file *f = NULL;
    if (dc_st_parse(data, size, "fuzz", &f) == DC_OK) {
        volatile unsigned s = 0;
        for (int i = 0; i < dc_st_count(f); i++) {
            const dc_st_tensor *t = dc_st_get(f, i);
            for (size_t j = 0; j < t->nbytes; j++) s += ((const unsigned char *)t->data)[j];
        }
        (void)s;
        dc_st_meta(f, "format");
        dc_st_close(f);
    }
    return 0;
}
