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
 * Sums run in T within a chunk of CHUNK rows and in double across chunks, in chunk order, so
 * results do not depend on the thread count; float32 does its per-element arithmetic in float. The per-element loops exist in plain C and, for
 * float32, in AVX2 and AVX-512 builds of the same code (cpu_simd.h picks one).
 */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_simd.h"

#define CHUNK 64

/* The per-chunk loops, written once for T and an ISA attribute. Within a chunk they sum in T
 * (into acc) and hand the chunk's sums on as double. */
#define BN_LOOPS(T, SUF, ATTR)                                                                                \
    ATTR static void fwd_sum##SUF(T *restrict h, const T *restrict b, int64_t rows, int64_t C, T *restrict acc, double *s) {             \
        for (int64_t c = 0; c < C; c++) acc[c] = 0;                                                          \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                T v = h[r * C + c] + b[c];                                                                   \
                h[r * C + c] = v;                                                                            \
                acc[c] += v;                                                                                 \
            }                                                                                                \
        for (int64_t c = 0; c < C; c++) s[c] = (double)acc[c];                                               \
    }                                                                                                        \
    ATTR static void fwd_sq##SUF(const T *restrict h, int64_t rows, int64_t C, const T *restrict mean, T *restrict acc, double *s) {     \
        for (int64_t c = 0; c < C; c++) acc[c] = 0;                                                          \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                T d = h[r * C + c] - mean[c];                                                                \
                acc[c] += d * d;                                                                             \
            }                                                                                                \
        for (int64_t c = 0; c < C; c++) s[c] = (double)acc[c];                                               \
    }                                                                                                        \
    ATTR static void fwd_apply##SUF(const T *restrict h, T *restrict y, int64_t rows, int64_t C, const T *restrict scale, const T *restrict shift, \
                                    int relu) {                                                              \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                T v = h[r * C + c] * scale[c] + shift[c];                                                    \
                y[r * C + c] = (relu && v < 0) ? (T)0 : v;                                                   \
            }                                                                                                \
    }                                                                                                        \
    ATTR static void bwd_sums##SUF(const T *restrict gy, const T *restrict h, const T *restrict y, int64_t rows, int64_t C, const T *restrict mean, \
                                   const T *restrict istd, int relu, T *restrict acc, double *sg, double *sgx) {                 \
        for (int64_t c = 0; c < 2 * C; c++) acc[c] = 0;                                                      \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                const int64_t k = r * C + c;                                                                 \
                T g = (relu && !(y[k] > 0)) ? (T)0 : gy[k];                                                  \
                acc[c] += g;                                                                                 \
                acc[C + c] += g * ((h[k] - mean[c]) * istd[c]);                                              \
            }                                                                                                \
        for (int64_t c = 0; c < C; c++) sg[c] = (double)acc[c], sgx[c] = (double)acc[C + c];                 \
    }                                                                                                        \
    ATTR static void bwd_dh##SUF(const T *restrict gy, const T *restrict h, const T *restrict y, T *restrict dh, int64_t rows, int64_t C,        \
                                 const T *restrict k1, const T *restrict msg, const T *restrict msgx, const T *restrict mean, const T *restrict istd,      \
                                 int relu, int training, T *restrict acc, double *sdh) {                              \
        for (int64_t c = 0; c < C; c++) acc[c] = 0;                                                          \
        for (int64_t r = 0; r < rows; r++)                                                                   \
            for (int64_t c = 0; c < C; c++) {                                                                \
                const int64_t k = r * C + c;                                                                 \
                T g = (relu && !(y[k] > 0)) ? (T)0 : gy[k];                                                  \
                T xh = (h[k] - mean[c]) * istd[c];                                                           \
                T d = training ? k1[c] * (g - msg[c] - xh * msgx[c]) : k1[c] * g;                            \
                dh[k] = d;                                                                                   \
                acc[c] += d;                                                                                 \
            }                                                                                                \
        for (int64_t c = 0; c < C; c++) sdh[c] = (double)acc[c];                                             \
    }

BN_LOOPS(float, _f32, )
BN_LOOPS(double, _f64, )
#ifdef CPU_X86
BN_LOOPS(float, _f32_avx2, CPU_AVX2)
BN_LOOPS(float, _f32_avx512, CPU_AVX512)
#endif

typedef struct bn_loops_f32 {
    void (*fwd_sum)(float *, const float *, int64_t, int64_t, float *, double *);
    void (*fwd_sq)(const float *, int64_t, int64_t, const float *, float *, double *);
    void (*fwd_apply)(const float *, float *, int64_t, int64_t, const float *, const float *, int);
    void (*bwd_sums)(const float *, const float *, const float *, int64_t, int64_t, const float *, const float *, int,
                     float *, double *, double *);
    void (*bwd_dh)(const float *, const float *, const float *, float *, int64_t, int64_t, const float *,
                   const float *, const float *, const float *, const float *, int, int, float *, double *);
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
/* the chunk's loop, float32 through the ISA's build, float64 plain */
#define LOOP(name, ...) (f32 ? (void)lf.name(__VA_ARGS__) : (void)name##_f64(__VA_ARGS__))

dc_status cpu_linear_bn(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *W = a->in[1];
    const int64_t R = x->shape[0], K = x->shape[1], C = W->shape[0], nch = (R + CHUNK - 1) / CHUNK;
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const double mom = a->p.f[0], eps = a->p.f[1];
    const size_t es = dc_dtype_size(x->dtype);
    double *part = cpu_scratch(CPU_SCR_K1, (size_t)((nch + 2) * C) * sizeof(double));
    void *tv = cpu_scratch(CPU_SCR_K2, (size_t)((nch + 3) * C) * es);
    if (!part || !tv) return dc_fail(DC_ERR_OOM, "linear_bn: out of host memory");
    double *mean_d = part + nch * C, *tmp = mean_d + C;
    const int par = R * C >= CPU_PAR_MIN;
    const bn_loops_f32 lf = loops_f32();
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x), *pw = CPU_PTR(W), *b = CPU_PTR(a->in[2]), *g = CPU_PTR(a->in[3]),
                *bt = CPU_PTR(a->in[4]);
        T *rm = CPU_PTR(a->in[5]), *rv = CPU_PTR(a->in[6]);
        T *y = CPU_PTR(a->out[0]), *h = CPU_PTR(a->out[1]), *mean = CPU_PTR(a->out[2]), *istd = CPU_PTR(a->out[3]);
        T *scale = tv, *shift = scale + C, *mean_t = shift + C, *acc = mean_t + C; /* acc: C per chunk */
        const int f32 = sizeof(T) == 4;
        if (f32) cpu_sgemm(0, 1, R, C, K, 1.0f, (const float *)px, K, (const float *)pw, K, 0.0f, (float *)h, C);
        else cpu_dgemm(0, 1, R, C, K, 1.0, (const double *)px, K, (const double *)pw, K, 0.0, (double *)h, C);
        _Pragma("omp parallel if(par)")
        {
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++)
                LOOP(fwd_sum, (void *)(h + ch * CHUNK * C), (const void *)b, CHUNK_ROWS(ch), C, (void *)(acc + ch * C),
                     part + ch * C);
            _Pragma("omp single")
            {
                reduce_chunks(part, nch, C, mean_d);
                for (int64_t c = 0; c < C; c++) {
                    mean_d[c] = training ? mean_d[c] / (double)R : (double)rm[c];
                    mean_t[c] = (T)mean_d[c];
                }
            }
            if (training) {
                _Pragma("omp for schedule(static)")
                for (int64_t ch = 0; ch < nch; ch++)
                    LOOP(fwd_sq, (const void *)(h + ch * CHUNK * C), CHUNK_ROWS(ch), C, (const void *)mean_t,
                         (void *)(acc + ch * C), part + ch * C);
            }
            _Pragma("omp single")
            {
                if (training) reduce_chunks(part, nch, C, tmp);
                for (int64_t c = 0; c < C; c++) {
                    double is;
                    if (training) {
                        double var = tmp[c] / (double)R;
                        is = 1.0 / sqrt(var + eps);
                        rm[c] = (T)((1.0 - mom) * rm[c] + mom * mean_d[c]);
                        rv[c] = (T)((1.0 - mom) * rv[c] + mom * var * (double)R / (double)(R - 1));
                    } else {
                        is = 1.0 / sqrt((double)rv[c] + eps);
                    }
                    mean[c] = mean_t[c];
                    istd[c] = (T)is;
                    scale[c] = g[c] * istd[c];
                    shift[c] = bt[c] - mean[c] * scale[c];
                }
            }
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                LOOP(fwd_apply, (const void *)(h + o), (void *)(y + o), CHUNK_ROWS(ch), C, (const void *)scale,
                     (const void *)shift, relu);
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
    double *part = cpu_scratch(CPU_SCR_K1, (size_t)((2 * nch + 3) * C) * sizeof(double));
    void *dhv = cpu_scratch(CPU_SCR_K0, (size_t)(R * C) * es);
    void *tv = cpu_scratch(CPU_SCR_K2, (size_t)((2 * nch + 5) * C) * es);
    if (!part || !dhv || !tv) return dc_fail(DC_ERR_OOM, "linear_bn backward: out of host memory");
    double *part2 = part + nch * C, *sg = part2 + nch * C, *sgx = sg + C, *tmp = sgx + C;
    const int par = R * C >= CPU_PAR_MIN;
    const bn_loops_f32 lf = loops_f32();
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *gy = CPU_PTR(gyt), *px = CPU_PTR(x), *pw = CPU_PTR(W), *h = CPU_PTR(a->in[3]), *y = CPU_PTR(a->in[4]);
        const T *g = CPU_PTR(a->in[5]), *mean = CPU_PTR(a->in[6]), *istd = CPU_PTR(a->in[7]);
        T *dW = CPU_PTR(a->out[0]), *db = CPU_PTR(a->out[1]), *dg = CPU_PTR(a->out[2]), *dbt = CPU_PTR(a->out[3]);
        T *dh = dhv, *k1 = tv, *msg = k1 + C, *msgx = msg + C, *acc = msgx + C; /* acc: 2C per chunk */
        const int f32 = sizeof(T) == 4;
        for (int64_t c = 0; c < C; c++) k1[c] = (T)((double)g[c] * istd[c]);
        _Pragma("omp parallel if(par)")
        {
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                LOOP(bwd_sums, (const void *)(gy + o), (const void *)(h + o), (const void *)(y + o), CHUNK_ROWS(ch), C,
                     (const void *)mean, (const void *)istd, relu, (void *)(acc + 2 * ch * C), part + ch * C,
                     part2 + ch * C);
            }
            _Pragma("omp single")
            {
                reduce_chunks(part, nch, C, sg);
                reduce_chunks(part2, nch, C, sgx);
                for (int64_t c = 0; c < C; c++) {
                    dbt[c] = (T)(dbt[c] + sg[c]);
                    dg[c] = (T)(dg[c] + sgx[c]);
                    msg[c] = (T)(sg[c] / (double)R);
                    msgx[c] = (T)(sgx[c] / (double)R);
                }
            }
            _Pragma("omp for schedule(static)")
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t o = ch * CHUNK * C;
                LOOP(bwd_dh, (const void *)(gy + o), (const void *)(h + o), (const void *)(y + o), (void *)(dh + o),
                     CHUNK_ROWS(ch), C, (const void *)k1, (const void *)msg, (const void *)msgx, (const void *)mean,
                     (const void *)istd, relu, training, (void *)(acc + 2 * ch * C), part + ch * C);
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
