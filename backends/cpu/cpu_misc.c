/* cpu_misc.c: RFFT (through the any-length CPU FFT), the Philox RNG fill and AdamW. */
#include <math.h>
#include <stdlib.h>

#include "cpu_fft.h"
#include "cpu_kernels.h"
#include "dc/dc_rng.h"
#include "dc/dc_rng_normal.h"

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

dc_status cpu_rng(dc_backend *be, const dc_kernel_args *a) {
    dc_tensor *t = a->out[0];
    const int dist = (int)a->p.i[0];
    const uint64_t seed = (uint64_t)a->p.i[1], ctr = (uint64_t)a->p.i[2];
    const double f0 = a->p.f[0], f1 = a->p.f[1];
    const int64_t n = dc_tensor_numel(t);
    void *p = CPU_PTR(t);
    for (int64_t b = 0; b * 4 < n; b++) {
        uint32_t w[4];
        double v[4];
        dc_philox4x32(seed, ctr + (uint64_t)b, w);
        for (int l = 0; l < 4; l++) {
            if (dist == DC_RNG_UNIFORM) v[l] = f0 + (f1 - f0) * dc_rng_u01(w[l]);
            else if (dist == DC_RNG_BERNOULLI) v[l] = dc_rng_u01(w[l]) < f0 ? 1.0 : 0.0;
        }
        if (dist == DC_RNG_NORMAL) /* Box-Muller on lanes (0,1) and (2,3), as every backend */
            for (int l = 0; l < 4; l += 2) dc_rng_box_muller(w[l], w[l + 1], f0, f1, &v[l], &v[l + 1]);
        for (int l = 0; l < 4 && b * 4 + l < n; l++) {
            int64_t j = b * 4 + l;
            switch (t->dtype) {
            case DC_F32: ((float *)p)[j] = (float)v[l]; break;
            case DC_F64: ((double *)p)[j] = v[l]; break;
            case DC_U8: ((uint8_t *)p)[j] = (uint8_t)v[l]; break;
            default: return dc_fail(DC_ERR_DTYPE, "rng: unsupported dtype %s", dc_dtype_name(t->dtype));
            }
        }
    }
    return DC_OK;
}

dc_status cpu_adamw(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    const double lr = a->p.f[0], b1 = a->p.f[1], b2 = a->p.f[2], eps = a->p.f[3], wd = a->p.f[4];
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const double t = (double)*(const T *)CPU_PTR(a->in[4]) + 1.0;
        const double step = lr / (1.0 - pow(b1, t)), sqrt_bc2 = sqrt(1.0 - pow(b2, t));
        T *p = CPU_PTR(a->in[0]), *m = CPU_PTR(a->in[2]), *v = CPU_PTR(a->in[3]);
        const T *g = CPU_PTR(a->in[1]);
        for (int64_t i = 0; i < n; i++) {
            double pi = (double)p[i] * (1.0 - lr * wd);
            double mi = b1 * m[i] + (1.0 - b1) * g[i];
            double vi = b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i];
            m[i] = (T)mi;
            v[i] = (T)vi;
            p[i] = (T)(pi - step * mi / (sqrt(vi) / sqrt_bc2 + eps));
        }
    });
    return DC_OK;
}
