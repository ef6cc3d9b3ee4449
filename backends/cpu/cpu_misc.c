/* cpu_misc.c: RFFT and IRFFT through the any-length CPU FFT (cpu_fft.c). The RNG fill and AdamW
 * are in cpu_rng.c. */
#include <math.h>
#include <stdlib.h>

#include "cpu_fft.h"
#include "cpu_kernels.h"

dc_status cpu_rfft(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = a->p.i[0], rows = a->p.i[1], nb = n / 2 + 1;
    const cpu_fft_plan *plan = cpu_fft_plan_cached(be, n);
    if (!plan) return dc_fail_prefix("rfft: planning length %lld", (long long)n);
    size_t scratch = cpu_fft_scratch_doubles(plan);
    double *buf = malloc(((size_t)n + 2 * (size_t)nb + scratch) * sizeof(double));
    if (!buf) return dc_fail(DC_ERR_OOM, "rfft: out of host memory");
    double *in = buf, *out = buf + n, *sc = out + 2 * nb;
    dc_status st = DC_OK;
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < rows && st == DC_OK; r++) {
            for (int64_t i = 0; i < n; i++) in[i] = x[r * n + i];
            st = cpu_fft_r2c(plan, in, out, sc);
            for (int64_t i = 0; i < 2 * nb; i++) y[r * 2 * nb + i] = (T)out[i];
        }
    });
    free(buf);
    return st;
}

dc_status cpu_irfft(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = a->p.i[0], rows = a->p.i[1], nb = n / 2 + 1;
    const double scale = a->p.f[0];
    const cpu_fft_plan *plan = cpu_fft_plan_cached(be, n);
    if (!plan) return dc_fail_prefix("irfft: planning length %lld", (long long)n);
    size_t scratch = cpu_fft_scratch_doubles(plan);
    double *buf = malloc(((size_t)n + 2 * (size_t)nb + scratch) * sizeof(double));
    if (!buf) return dc_fail(DC_ERR_OOM, "irfft: out of host memory");
    double *in = buf, *out = buf + 2 * nb, *sc = out + n;
    dc_status st = DC_OK;
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < rows && st == DC_OK; r++) {
            for (int64_t i = 0; i < 2 * nb; i++) in[i] = x[r * 2 * nb + i];
            st = cpu_fft_c2r(plan, in, out, sc);
            for (int64_t i = 0; i < n; i++) y[r * n + i] = (T)(scale * out[i]);
        }
    });
    free(buf);
    return st;
}
