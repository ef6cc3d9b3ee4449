/* fuzz_npy.c: libFuzzer harness for the .npy header parser (built with -DDC_FUZZ=ON, run
 * by tools/fuzz.sh; seeds in corpus/npy). An accepted image must describe exactly its own bytes, and its header must
 * re-format to one the parser accepts with the same dtype and shape.
 */
#include <stdint.h>
#include <string.h>

#include "dc/dc_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_npy a;
    if (dc_npy_parse(data, size, "fuzz.npy", &a) != DC_OK) return 0;
    if (a.hdr.data_offset + a.hdr.data_bytes != size) __builtin_trap();
    uint8_t hdr[1024];
    size_t hl;
    if (dc_npy_format_header(a.dtype, a.ndim, a.shape, hdr, sizeof hdr, &hl) != DC_OK) __builtin_trap();
    dc_npy_header h;
    if (dc_npy_parse_header(hdr, hl, 0, "re.npy", &h) != DC_OK || h.dtype != a.dtype || h.ndim != a.ndim ||
        memcmp(h.shape, a.shape, sizeof h.shape) || hl % 64 != 0)
        __builtin_trap();
    return 0;
}
