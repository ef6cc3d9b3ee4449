/* fuzz_edf.c: libFuzzer harness for the EDF/EDF+ reader (built with -DDC_FUZZ=ON, run by
 * tools/fuzz.sh; seeds in corpus/edf): header parse, every signal as digital and physical values, TAL
 * annotations, hypnogram epochs and the SleepEEG builder (the input as PSG and hypnogram).
 */
#include <stdint.h>
#include <stdlib.h>

#include "data/dc_edf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_edf *e = NULL;
    if (dc_edf_parse(data, size, "fuzz.edf", &e) != DC_OK) return 0;
    for (int i = 0; i < e->n_signals && i < 16; i++) {
        int64_t n = dc_edf_signal_length(e, i);
        double *p = malloc(((size_t)n + 1) * sizeof *p);
        int32_t *d = malloc(((size_t)n + 1) * sizeof *d);
        if (p && d) {
            dc_edf_read_physical(e, i, p);
            dc_edf_read_digital(e, i, d);
        }
        free(p);
        free(d);
        dc_edf_signal_rate(e, i);
    }
    dc_edf_find_signal(e, "EEG Fpz-Cz");
    dc_edf_annots *a = NULL;
    if (dc_edf_read_annotations(e, &a) == DC_OK) {
        int32_t *st = NULL;
        int64_t ne = 0;
        if (dc_sleep_hypnogram_epochs(a, &st, &ne) == DC_OK) free(st);
    }
    dc_edf_annots_free(a);
    float *x = NULL;
    int32_t *y = NULL;
    int64_t rows = 0;
    if (dc_sleepeeg_build(e, e, &x, &y, &rows) == DC_OK) {
        free(x);
        free(y);
    }
    dc_edf_free(e);
    return 0;
}
