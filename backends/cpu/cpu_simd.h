/* cpu_simd.h: the `cpu` backend's run-time choice of instruction set and the vector exp used
 * by its fused loss kernels. Kernels keep one plain-C version of every hot loop and add
 * AVX2+FMA and AVX-512 versions with intrinsics, compiled with target attributes (not
 * target_clones, which GCC 11 cannot build) and picked by cpu_isa() at run time.
 * Not here: the GEMM micro-kernels (cpu_gemm.c).
 */
#ifndef DC_CPU_SIMD_H
#define DC_CPU_SIMD_H

#include <stdint.h>

typedef enum { CPU_ISA_GENERIC = 0, CPU_ISA_AVX2 = 1, CPU_ISA_AVX512 = 2 } cpu_isa_level;

/* The widest level the CPU has, or a narrower one forced by DC_CPU_ISA=avx2|generic (tests). */
cpu_isa_level cpu_isa(void);

/* exp for float (Cephes expf: reduction by ln 2, degree-6 polynomial; about 1 ulp for
 * |x| < 88; inputs are clamped to [-87, 88], so no inf or denormal comes out). The vector
 * versions round n to nearest-even, this one half away from zero: they agree but at ties. */
static inline float cpu_expf(float x) {
    x = x > 88.0f ? 88.0f : (x < -87.0f ? -87.0f : x);
    float fx = x * 1.44269504088896341f;
    int n = (int)(fx + (fx >= 0 ? 0.5f : -0.5f));
    float nf = (float)n;
    float r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    union { uint32_t u; float f; } s;
    s.u = (uint32_t)(n + 127) << 23;
    return p * s.f;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_X86 1
#define CPU_AVX512 __attribute__((target("avx512f")))
#define CPU_AVX2 __attribute__((target("avx2,fma")))

#define CPU_EXP_POLY(FMA, SET1, MUL, ADD)                                                                  \
    p = FMA(SET1(1.9875691500e-4f), r, SET1(1.3981999507e-3f));                                              \
    p = FMA(p, r, SET1(8.3334519073e-3f));                                                                   \
    p = FMA(p, r, SET1(4.1665795894e-2f));                                                                   \
    p = FMA(p, r, SET1(1.6666665459e-1f));                                                                   \
    p = FMA(p, r, SET1(5.0000001201e-1f));                                                                   \
    p = FMA(p, MUL(r, r), ADD(r, SET1(1.0f)));

/* exp without the upper clamp: inf where exp overflows float (scalef saturates), as expf */
static inline CPU_AVX512 __m512 cpu_exp16_inf(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p;
    CPU_EXP_POLY(_mm512_fmadd_ps, _mm512_set1_ps, _mm512_mul_ps, _mm512_add_ps)
    return _mm512_scalef_ps(p, n);
}

/* exp clamped as cpu_expf */
static inline CPU_AVX512 __m512 cpu_exp16(__m512 x) { return cpu_exp16_inf(_mm512_min_ps(x, _mm512_set1_ps(88.0f))); }

static inline CPU_AVX2 __m256 cpu_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p;
    CPU_EXP_POLY(_mm256_fmadd_ps, _mm256_set1_ps, _mm256_mul_ps, _mm256_add_ps)
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* lanes [0, n) of a 16-lane (AVX-512) or 8-lane (AVX2) vector */
static inline __mmask16 cpu_mask16(int64_t n) { return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1); }
static inline CPU_AVX2 __m256i cpu_mask8(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

#endif
