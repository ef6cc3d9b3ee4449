/* fma_peak.c: the host CPU's measured fp32 FMA peak, for `dynacl bench --profile`: a short loop
 * of independent fused multiply-adds on registers only (no memory traffic), on every OpenMP
 * thread at once, in the widest vector ISA the CPU has (AVX-512, AVX2+FMA, else plain C).
 * Not a benchmark of anything dynacl does; it is the ceiling the profile is compared with.
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "fma_peak.h"
#include "tool_common.h"

#define N_ACC 12 /* > latency (4) x FMA ports (2): enough independent chains to fill both */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FMA_X86 1

#define LOOP_BODY(VEC, SET1, FMA, ADD, REDUCE)                                                              \
    VEC acc[N_ACC];                                                                                          \
    for (int k = 0; k < N_ACC; k++) acc[k] = SET1(seed + (float)k * 1e-3f);                                  \
    const VEC b = SET1(0.999999f), c = SET1(1e-6f);                                                          \
    for (int64_t i = 0; i < iters; i++)                                                                      \
        for (int k = 0; k < N_ACC; k++) acc[k] = FMA(acc[k], b, c);                                          \
    for (int k = 1; k < N_ACC; k++) acc[0] = ADD(acc[0], acc[k]);                                            \
    return REDUCE(acc[0]);

__attribute__((target("avx512f"))) static float loop_avx512(int64_t iters, float seed) {
    LOOP_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_reduce_add_ps)
}

__attribute__((target("avx2,fma"))) static float hsum256(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

__attribute__((target("avx2,fma"))) static float loop_avx2(int64_t iters, float seed) {
    LOOP_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, hsum256)
}
#endif

static float loop_generic(int64_t iters, float seed) {
    float acc[N_ACC];
    for (int k = 0; k < N_ACC; k++) acc[k] = seed + (float)k * 1e-3f;
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < N_ACC; k++) acc[k] = acc[k] * 0.999999f + 1e-6f;
    float s = 0;
    for (int k = 0; k < N_ACC; k++) s += acc[k];
    return s;
}

typedef float (*loop_fn)(int64_t, float);

static loop_fn pick(int *width, const char **isa) {
#ifdef FMA_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *width = 16, *isa = "AVX-512";
        return loop_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *width = 8, *isa = "AVX2+FMA";
        return loop_avx2;
    }
#endif
    *width = 1, *isa = "scalar";
    return loop_generic;
}

volatile float g_fma_sink; /* keeps the loops' results alive */

double dc_fma_peak_gflops(int *threads_out, const char **isa_out) {
    int width = 1, threads = 1;
    const char *isa = "scalar";
    loop_fn fn = pick(&width, &isa);
    const int64_t iters = width > 1 ? 1000000 : 200000;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = dc_now();
        float sink = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(+ : sink)
        {
#pragma omp single
            threads = omp_get_num_threads();
            sink += fn(iters, (float)omp_get_thread_num());
        }
#else
        sink = fn(iters, 0.0f);
#endif
        double s = dc_now() - t0;
        g_fma_sink = sink;
        double gflops = (double)iters * N_ACC * width * 2.0 * threads / s * 1e-9;
        if (gflops > best) best = gflops;
    }
    if (threads_out) *threads_out = threads;
    if (isa_out) *isa_out = isa;
    return best;
}
