/* cpu_linear_bn.c: the fused 1x1-conv + BatchNorm (+ ReLU) layer of the `cpu` backend, forward
 * (LINEAR_BN) and backward (LINEAR_BN_BACK), float32 and float64. The math is cpu_norm.c's
 * BatchNorm on h = x W^T + b; the fusion saves the separate bias add, its gradient's reduction,
 * and the gradient additions, and runs all per-element passes in one parallel region.
 *
 *   forward:  h = x W^T (GEMM); per row chunk, h += b with per-channel sums; mean; per chunk
 *             sums of (h - mean)^2; var, istd, running statistics; y = relu?(h scale + shift)
 *   backward: per chunk sums of g and g xhat (g = gy masked by y > 0 under ReLU); dh = gamma
 *             istd (g - mean(g) - xhat mean(g xhat)) (training) or gamma istd g (eval), with
 *             per-chunk sums of dh for db; dW += dh^T x and dx = dh W (GEMMs)
 *
 * Statistics accumulate in double per chunk of CHUNK rows and are reduced in chunk order, so
 * results do not depend on the thread count. The per-element loops exist in plain C and, for
 * float32, in AVX2 and AVX-512 builds of the same code (cpu_simd.h picks one).
 */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_simd.h"

#define CHUNK 64

/* The per-chunk loops, written once for T and an ISA attribute. */
#define BN_LOOPS(T, SUF, ATTR)                                                                                \
    ATTR static void fwd_sum##SUF(T *h, const T *b, int64_t rows, int64_t C, double *s) {                     \
        for (int64_t c = 0; c < C; c++) s[c] = 0;                                                            \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                T v = h[r * C + c] + b[c];                                                                   \
                h[r * C + c] = v;                                                                            \
                s[c] += (double)v;                                                                           \
            }                                                                                                \
    }                                                                                                        \
    ATTR static void fwd_sq##SUF(const T *h, int64_t rows, int64_t C, const double *mean, double *s) {        \
        for (int64_t c = 0; c < C; c++) s[c] = 0;                                                            \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                double d = (double)h[r * C + c] - mean[c];                                                   \
                s[c] += d * d;                                                                               \
            }                                                                                                \
    }                                                                                                        \
    ATTR static void fwd_apply##SUF(const T *h, T *y, int64_t rows, int64_t C, const T *scale, const T *shift, \
                                    int relu) {                                                              \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                T v = h[r * C + c] * scale[c] + shift[c];                                                    \
                y[r * C + c] = (relu && v < 0) ? (T)0 : v;                                                   \
            }                                                                                                \
    }                                                                                                        \
    ATTR static void bwd_sums##SUF(const T *gy, const T *h, const T *y, int64_t rows, int64_t C,             \
                                   const double *mean, const double *istd, int relu, double *sg, double *sgx) { \
        for (int64_t c = 0; c < C; c++) sg[c] = sgx[c] = 0;                                                  \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                const int64_t k = r * C + c;                                                                 \
                double g = (relu && !(y[k] > 0)) ? 0.0 : (double)gy[k];                                      \
                sg[c] += g;                                                                                  \
                sgx[c] += g * (((double)h[k] - mean[c]) * istd[c]);                                          \
            }                                                                                                \
    }                                                                                                        \
    ATTR static void bwd_dh##SUF(const T *gy, const T *h, const T *y, T *dh, int64_t rows, int64_t C,        \
                                 const double *k1, const double *msg, const double *msgx, const double *mean, \
                                 const double *istd, int relu, int training, double *sdh) {                  \
        for (int64_t c = 0; c < C; c++) sdh[c] = 0;                                                          \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                const int64_t k = r * C + c;                                                                 \
                double g = (relu && !(y[k] > 0)) ? 0.0 : (double)gy[k];                                      \
                double xh = ((double)h[k] - mean[c]) * istd[c];                                              \
                T d = (T)(training ? k1[c] * (g - msg[c] - xh * msgx[c]) : k1[c] * g);                       \
                dh[k] = d;                                                                                   \
                sdh[c] += (double)d;                                                                         \
            }                                                                                                \
    }

BN_LOOPS(float, _f32, )
BN_LOOPS(double, _f64, )
#ifdef CPU_X86
BN_LOOPS(float, _f32_avx2, CPU_AVX2)
BN_LOOPS(float, _f32_avx512, CPU_AVX512)
#endif

typedef struct bn_loops_f32 {
    void (*fwd_sum)(float *, const float *, int64_t, int64_t, double *);
    void (*fwd_sq)(const float *, int64_t, int64_t, const double *, double *);
    void (*fwd_apply)(const float *, float *, int64_t, int64_t, const float *, const float *, int);
    void (*bwd_sums)(const float *, const float *, const float *, int64_t, int64_t, const double *, const double *,
                     int, double *, double *);
    void (*bwd_dh)(const float *, const float *, const float *, float *, int64_t, int64_t, const double *,
                   const double *, const double *, const double *, const double *, int, int, double *);
} bn_loops_f32;

static bn_loops_f32 loops_f32(void) {
#ifdef CPU_X86
    if (cpu_isa() == CPU_ISA_AVX512)
        return (bn_loops_f32){fwd_sum_f32_avx512, fwd_sq_f32_avx512, fwd_apply_f32_avx512, bwd_sums_f32_avx512,
                              bwd_dh_f32_avx512};
    if (cpu_isa() == CPU_ISA_AVX2)
        return (bn_loops_f32){fwd_sum_f32_avx2, fwd_sq_f32_avx2, fwd_apply_f32_avx2, bwd_sums_f32_avx2,
                              bwd_dh_f32_avx2};
#endif
    return (bn_loops_f32){fwd_sum_f32, fwd_sq_f32, fwd_apply_f32, bwd_sums_f32, bwd_dh_f32};
}

/* sum over chunks, in chunk order, of part[ch * C + c] into out[c] */
static void reduce_chunks(const double *part, int64_t nch, int64_t C, double *out) {
    for (int64_t c = 0; c < C; c++) out[c] = 0;
    for (int64_t ch = 0; ch < nch; ch++)
        for (int64_t c = 0; c < C; c++) out[c] += part[ch * C + c];
}

#define CHUNK_ROWS(ch) (R - (ch) * CHUNK < CHUNK ? R - (ch) * CHUNK : CHUNK)

dc_status cpu_linear_bn(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *W = a->in[1];
    const int64_t R = x->shape[0], K = x->shape[1], C = W->shape[0], nch = (R + CHUNK - 1) / CHUNK;
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const double mom = a->p.f[0], eps = a->p.f[1];
    const size_t es = dc_dtype_size(x->dtype);
    double *part = cpu_scratch(CPU_SCR_K1, (size_t)((nch + 3) * C) * sizeof(double));
    void *ss = cpu_scratch(CPU_SCR_K2, (size_t)(2 * C) * es);
    if (!part || !ss) return dc_fail(DC_ERR_OOM, "linear_bn: out of host memory");
    double *mean_d = part + nch * C, *istd_d = mean_d + C, *tmp = istd_d + C;
    const int par = R * C >= CPU_PAR_MIN;
    const bn_loops_f32 lf = loops_f32();
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x), *pw = CPU_PTR(W), *b = CPU_PTR(a->in[2]), *g = CPU_PTR(a->in[3]),
                *bt = CPU_PTR(a->in[4]);
        T *rm = CPU_PTR(a->in[5]), *rv = CPU_PTR(a->in[6]);
        T *y = CPU_PTR(a->out[0]), *h = CPU_PTR(a->out[1]), *mean = CPU_PTR(a->out[2]), *istd = CPU_PTR(a->out[3]);
        T *scale = ss, *shift = scale + C;
        const int f32 = sizeof(T) == 4;
        if (f32) cpu_sgemm(0, 1, R, C, K, 1.0f, (const float *)px, K, (const float *)pw, K, 0.0f, (float *)h, C);
        else cpu_dgemm(0, 1, R, C, K, 1.0, (const double *)px, K, (const double *)pw, K, 0.0, (double *)h, C);
        _Pragma("omp parallel if(par)")
        {
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                T *hc = h + ch * CHUNK * C;
                if (f32) lf.fwd_sum((float *)hc, (const float *)b, CHUNK_ROWS(ch), C, part + ch * C);
                else fwd_sum_f64((double *)hc, (const double *)b, CHUNK_ROWS(ch), C, part + ch * C);
            }
            _Pragma("omp single")
            {
                reduce_chunks(part, nch, C, mean_d);
                for (int64_t c = 0; c < C; c++) mean_d[c] = training ? mean_d[c] / (double)R : (double)rm[c];
            }
            if (training) {
                _Pragma("omp for schedule(static)")
                for (int64_t ch = 0; ch < nch; ch++) {
                    const T *hc = h + ch * CHUNK * C;
                    if (f32) lf.fwd_sq((const float *)hc, CHUNK_ROWS(ch), C, mean_d, part + ch * C);
                    else fwd_sq_f64((const double *)hc, CHUNK_ROWS(ch), C, mean_d, part + ch * C);
                }
            }
            _Pragma("omp single")
            {
                if (training) reduce_chunks(part, nch, C, tmp);
                for (int64_t c = 0; c < C; c++) {
                    if (training) {
                        double var = tmp[c] / (double)R;
                        istd_d[c] = 1.0 / sqrt(var + eps);
                        rm[c] = (T)((1.0 - mom) * rm[c] + mom * mean_d[c]);
                        rv[c] = (T)((1.0 - mom) * rv[c] + mom * var * (double)R / (double)(R - 1));
                    } else {
                        istd_d[c] = 1.0 / sqrt((double)rv[c] + eps);
                    }
                    mean[c] = (T)mean_d[c];
                    istd[c] = (T)istd_d[c];
                    scale[c] = g[c] * istd[c];
                    shift[c] = bt[c] - mean[c] * scale[c];
                }
            }
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                if (f32)
                    lf.fwd_apply((const float *)h + o, (float *)y + o, CHUNK_ROWS(ch), C, (const float *)scale,
                                 (const float *)shift, relu);
                else
                    fwd_apply_f64((const double *)h + o, (double *)y + o, CHUNK_ROWS(ch), C, (const double *)scale,
                                  (const double *)shift, relu);
            }
        }
    });
    return DC_OK;
}

dc_status cpu_linear_bn_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *gyt = a->in[0], *x = a->in[1], *W = a->in[2];
    const int64_t R = x->shape[0], K = x->shape[1], C = W->shape[0], nch = (R + CHUNK - 1) / CHUNK;
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const size_t es = dc_dtype_size(x->dtype);
    double *part = cpu_scratch(CPU_SCR_K1, (size_t)((2 * nch + 6) * C) * sizeof(double));
    void *dhv = cpu_scratch(CPU_SCR_K0, (size_t)(R * C) * es);
    if (!part || !dhv) return dc_fail(DC_ERR_OOM, "linear_bn backward: out of host memory");
    double *part2 = part + nch * C, *v = part2 + nch * C;
    double *mean_d = v, *istd_d = v + C, *k1 = v + 2 * C, *msg = v + 3 * C, *msgx = v + 4 * C, *tmp = v + 5 * C;
    const int par = R * C >= CPU_PAR_MIN;
    const bn_loops_f32 lf = loops_f32();
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *gy = CPU_PTR(gyt), *px = CPU_PTR(x), *pw = CPU_PTR(W), *h = CPU_PTR(a->in[3]), *y = CPU_PTR(a->in[4]);
        const T *g = CPU_PTR(a->in[5]), *mean = CPU_PTR(a->in[6]), *istd = CPU_PTR(a->in[7]);
        T *dW = CPU_PTR(a->out[0]), *db = CPU_PTR(a->out[1]), *dg = CPU_PTR(a->out[2]), *dbt = CPU_PTR(a->out[3]);
        T *dh = dhv;
        const int f32 = sizeof(T) == 4;
        for (int64_t c = 0; c < C; c++) {
            mean_d[c] = mean[c];
            istd_d[c] = istd[c];
            k1[c] = (double)g[c] * istd[c];
        }
        _Pragma("omp parallel if(par)")
        {
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                if (f32)
                    lf.bwd_sums((const float *)gy + o, (const float *)h + o, (const float *)y + o, CHUNK_ROWS(ch), C,
                                mean_d, istd_d, relu, part + ch * C, part2 + ch * C);
                else
                    bwd_sums_f64((const double *)gy + o, (const double *)h + o, (const double *)y + o, CHUNK_ROWS(ch),
                                 C, mean_d, istd_d, relu, part + ch * C, part2 + ch * C);
            }
            _Pragma("omp single")
            {
                reduce_chunks(part, nch, C, msg);
                reduce_chunks(part2, nch, C, msgx);
                for (int64_t c = 0; c < C; c++) {
                    dbt[c] = (T)(dbt[c] + msg[c]);
                    dg[c] = (T)(dg[c] + msgx[c]);
                    msg[c] /= (double)R;
                    msgx[c] /= (double)R;
                }
            }
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                if (f32)
                    lf.bwd_dh((const float *)gy + o, (const float *)h + o, (const float *)y + o, (float *)dh + o,
                              CHUNK_ROWS(ch), C, k1, msg, msgx, mean_d, istd_d, relu, training, part + ch * C);
                else
                    bwd_dh_f64((const double *)gy + o, (const double *)h + o, (const double *)y + o, (double *)dh + o,
                               CHUNK_ROWS(ch), C, k1, msg, msgx, mean_d, istd_d, relu, training, part + ch * C);
            }
        }
        reduce_chunks(part, nch, C, tmp);
        for (int64_t c = 0; c < C; c++) db[c] = (T)(db[c] + tmp[c]);
        T *dx = a->out[4] ? CPU_PTR(a->out[4]) : NULL;
        if (f32) {
            cpu_sgemm(1, 0, C, K, R, 1.0f, (const float *)dh, C, (const float *)px, K, 1.0f, (float *)dW, K);
            if (dx) cpu_sgemm(0, 0, R, K, C, 1.0f, (const float *)dh, C, (const float *)pw, K, 0.0f, (float *)dx, K);
        } else {
            cpu_dgemm(1, 0, C, K, R, 1.0, (const double *)dh, C, (const double *)px, K, 1.0, (double *)dW, K);
            if (dx) cpu_dgemm(0, 0, R, K, C, 1.0, (const double *)dh, C, (const double *)pw, K, 0.0, (double *)dx, K);
        }
    });
    return DC_OK;
}
