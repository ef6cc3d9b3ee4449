/* cpu_loss.c: log-softmax (forward/backward), cross-entropy with its fused gradient,
 * and MSE. Row reductions use the max-shift for stability and accumulate in double. Float32
 * cross-entropy (TS2Vec's and InfoTS's contrastive losses, the linear probe) runs rows in
 * parallel with one float exp per logit (cpu_vec.h, AVX-512 / AVX2 / plain builds); the loss is
 * summed in row order, so it does not depend on the thread count. */
#include <math.h>

#include "cpu_kernels.h"
#include "cpu_simd.h"
#include "cpu_vec.h"

/* One row of float32 cross-entropy: returns lse - x[t] (0 for a target outside [0, C)) and
 * writes dl = (softmax - onehot) * invR (zeros for such a row). */
VIN double ce_row_body(const float *x, int64_t C, int32_t t, float *dl, float invR) {
    const int64_t full = C - C % VL;
    vf mv = vset(-INFINITY);
    float m = -INFINITY;
    for (int64_t c = 0; c < full; c += VL) {
        vf v;
        __builtin_memcpy(&v, x + c, sizeof v);
        mv = vsel(v > mv, v, mv);
    }
    for (int i = 0; i < VL && full; i++) m = mv[i] > m ? mv[i] : m;
    for (int64_t c = full; c < C; c++) m = x[c] > m ? x[c] : m;
    double s = 0;
    for (int64_t c = 0; c < full; c += VL) {
        vf v;
        __builtin_memcpy(&v, x + c, sizeof v);
        v = vexp(v - m);
        __builtin_memcpy(dl + c, &v, sizeof v);
        s += vsum(v);
    }
    for (int64_t c = full; c < C; c++) s += (double)(dl[c] = cpu_expf(x[c] - m));
    const int valid = t >= 0 && t < C;
    const float k = valid ? (float)(1.0 / s) * invR : 0.0f;
    for (int64_t c = 0; c < C; c++) dl[c] *= k;
    if (!valid) return 0;
    dl[t] -= invR;
    return (double)m + log(s) - (double)x[t];
}

static double ce_row_generic(const float *x, int64_t C, int32_t t, float *dl, float invR) {
    return ce_row_body(x, C, t, dl, invR);
}
#ifdef CPU_X86
CPU_AVX2 static double ce_row_avx2(const float *x, int64_t C, int32_t t, float *dl, float invR) {
    return ce_row_body(x, C, t, dl, invR);
}
CPU_AVX512 static double ce_row_avx512(const float *x, int64_t C, int32_t t, float *dl, float invR) {
    return ce_row_body(x, C, t, dl, invR);
}
#endif

static dc_status cross_entropy_f32(const dc_kernel_args *a) {
    const int32_t *t = CPU_PTR(a->in[1]);
    const int64_t R = a->in[0]->shape[0], C = a->in[0]->shape[1];
    const float *x = CPU_PTR(a->in[0]);
    float *dl = a->n_out > 1 && a->out[1] ? (float *)CPU_PTR(a->out[1]) : NULL;
    double *terms = cpu_scratch(CPU_SCR_K0, (size_t)R * sizeof(double));
    float *tmp = dl ? NULL : cpu_scratch(CPU_SCR_K1, (size_t)(R * C) * sizeof(float));
    if (!terms || (!dl && !tmp)) return dc_fail(DC_ERR_OOM, "cross_entropy: out of host memory");
    double (*row)(const float *, int64_t, int32_t, float *, float) = ce_row_generic;
#ifdef CPU_X86
    if (cpu_isa() == CPU_ISA_AVX512) row = ce_row_avx512;
    else if (cpu_isa() == CPU_ISA_AVX2) row = ce_row_avx2;
#endif
    float *out = dl ? dl : tmp;
    const float invR = (float)(1.0 / (double)R);
    const int par = R * C >= CPU_PAR_MIN;
    _Pragma("omp parallel for schedule(static) if(par)")
    for (int64_t r = 0; r < R; r++) terms[r] = row(x + r * C, C, t[r], out + r * C, invR);
    double total = 0;
    for (int64_t r = 0; r < R; r++) total += terms[r];
    *(float *)CPU_PTR(a->out[0]) = (float)(total / (double)R);
    return DC_OK;
}

dc_status cpu_log_softmax(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int64_t C = x->shape[x->ndim - 1], R = dc_tensor_numel(x) / C;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < R; r++) {
            const T *xr = px + r * C;
            double m = xr[0], s = 0;
            for (int64_t c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
            for (int64_t c = 0; c < C; c++) s += exp((double)xr[c] - m);
            double lse = m + log(s);
            for (int64_t c = 0; c < C; c++) y[r * C + c] = (T)((double)xr[c] - lse);
        }
    });
    return DC_OK;
}

dc_status cpu_log_softmax_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *y = a->in[1];
    const int64_t C = y->shape[y->ndim - 1], R = dc_tensor_numel(y) / C;
    CPU_FLOAT_SWITCH(y->dtype, {
        const T *gy = CPU_PTR(a->in[0]), *py = CPU_PTR(y);
        T *dx = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < R; r++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += gy[r * C + c];
            for (int64_t c = 0; c < C; c++) dx[r * C + c] = (T)(gy[r * C + c] - exp((double)py[r * C + c]) * s);
        }
    });
    return DC_OK;
}

/* loss = (1/R) sum_r [lse(x_r) - x_r[t_r]];  dlogits = (softmax(x_r) - onehot(t_r)) / R. */
dc_status cpu_cross_entropy(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    if (x->dtype == DC_F32) return cross_entropy_f32(a);
    const int32_t *t = CPU_PTR(a->in[1]);
    const int64_t R = x->shape[0], C = x->shape[1];
    double total = 0;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *loss = CPU_PTR(a->out[0]), *dl = a->n_out > 1 ? (T *)CPU_PTR(a->out[1]) : NULL;
        for (int64_t r = 0; r < R; r++) {
            const T *xr = px + r * C;
            int valid = t[r] >= 0 && t[r] < C;
            double m = xr[0], s = 0;
            for (int64_t c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
            for (int64_t c = 0; c < C; c++) s += exp((double)xr[c] - m);
            double lse = m + log(s);
            if (valid) total += lse - (double)xr[t[r]];
            if (dl)
                for (int64_t c = 0; c < C; c++)
                    dl[r * C + c] = valid ? (T)((exp((double)xr[c] - lse) - (c == t[r])) / (double)R) : 0;
        }
        *loss = (T)(total / (double)R);
    });
    return DC_OK;
}

dc_status cpu_mse(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *pa = CPU_PTR(a->in[0]), *pb = CPU_PTR(a->in[1]);
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = (double)pa[i] - pb[i];
            s += d * d;
        }
        *(T *)CPU_PTR(a->out[0]) = (T)(s / (double)n);
    });
    return DC_OK;
}

/* mean of max(x,0) - x t + log(1 + exp(-|x|)); dx = (sigmoid(x) - t) / n */
dc_status cpu_bce_logits(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]), *t = CPU_PTR(a->in[1]);
        T *dx = a->n_out > 1 ? (T *)CPU_PTR(a->out[1]) : NULL;
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = x[i], e = exp(-fabs(v));
            s += (v > 0 ? v : 0) - v * (double)t[i] + log1p(e);
            if (dx) {
                double sig = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                dx[i] = (T)((sig - (double)t[i]) / (double)n);
            }
        }
        *(T *)CPU_PTR(a->out[0]) = (T)(s / (double)n);
    });
    return DC_OK;
}
