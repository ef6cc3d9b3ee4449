/* cpu_reduce.c: SUM over one axis of a contiguous tensor seen as (outer, n, inner),
 * accumulated in double and scaled by f0 (1 for sum, 1/n for mean). */
#include <stdlib.h>

#include "cpu_kernels.h"

dc_status cpu_sum(dc_backend *be, const dc_kernel_args *a) {
    const int64_t outer = a->p.i[1], n = a->p.i[2], inner = a->p.i[3];
    const double scale = a->p.f[0];
    double *acc = malloc((size_t)(inner ? inner : 1) * sizeof *acc);
    if (!acc) return dc_fail(DC_ERR_OOM, "sum: out of host memory");
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t o = 0; o < outer; o++) {
            for (int64_t j = 0; j < inner; j++) acc[j] = 0;
            for (int64_t k = 0; k < n; k++) {
                const T *row = x + (o * n + k) * inner;
                for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
            }
            for (int64_t j = 0; j < inner; j++) y[o * inner + j] = (T)(acc[j] * scale);
        }
    });
    free(acc);
    return DC_OK;
}
