/* cpu_rng.c: the RNG fill (Philox4x32-10, the stream every backend reproduces bit for bit) and
 * AdamW, the `cpu` backend's two per-step kernels over whole buffers.
 *
 * RNG: Philox blocks are computed 16 at a time in lanes (the same arithmetic as
 * dc_philox4x32_block, so the same numbers), in plain C and AVX2 / AVX-512 builds of the same
 * loop, and in parallel over batches for long tensors; element j is lane j % 4 of block
 * counter + j / 4. Uniform and Bernoulli values are exact functions of the 24-bit uniform, so
 * they match the other backends exactly (byte masks compare the 24 bits with ceil(p 2^24) and
 * are written as whole words); normal values are dc_rng_normal.h's Box-Muller, which uses no
 * libm, so they match too.
 * AdamW: the update of cpu-ref's kernel (double arithmetic per element), in AVX-512 lanes
 * where the CPU has them. Not here: the host-side generator (core/src/rng.c).
 */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_simd.h"
#include "dc/dc_rng.h"
#include "dc/dc_rng_normal.h"

#define RB 16 /* Philox blocks per batch: 64 numbers */

static inline __attribute__((always_inline)) void philox_body(uint64_t seed, uint64_t ctr, uint32_t out[4][RB]) {
    uint32_t c0[RB], c1[RB], c2[RB], c3[RB];
    for (int l = 0; l < RB; l++) {
        const uint64_t c = ctr + (uint64_t)l;
        c0[l] = (uint32_t)c;
        c1[l] = (uint32_t)(c >> 32);
        c2[l] = c3[l] = 0;
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        for (int l = 0; l < RB; l++) {
            const uint64_t p0 = (uint64_t)0xD2511F53u * c0[l], p1 = (uint64_t)0xCD9E8D57u * c2[l];
            const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1;
            c3[l] = (uint32_t)p0;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int l = 0; l < RB; l++) out[0][l] = c0[l], out[1][l] = c1[l], out[2][l] = c2[l], out[3][l] = c3[l];
}

/* Bernoulli bytes of one batch: byte 4 b + l is (w[l][b] >> 8) < thr, i.e. u < p exactly for
 * thr = ceil(p 2^24); four lanes of a block make one little-endian 32-bit word. */
static inline __attribute__((always_inline)) void bernoulli_body(uint64_t seed, uint64_t ctr, uint32_t thr,
                                                                 uint32_t out[RB]) {
    uint32_t w[4][RB];
    philox_body(seed, ctr, w);
    for (int b = 0; b < RB; b++)
        out[b] = (uint32_t)((w[0][b] >> 8) < thr) | (uint32_t)((w[1][b] >> 8) < thr) << 8 |
                 (uint32_t)((w[2][b] >> 8) < thr) << 16 | (uint32_t)((w[3][b] >> 8) < thr) << 24;
}

#define RNG_FNS(SUF, ATTR)                                                                                   \
    ATTR static void philox##SUF(uint64_t seed, uint64_t ctr, uint32_t out[4][RB]) { philox_body(seed, ctr, out); } \
    ATTR static void bernoulli##SUF(uint64_t seed, uint64_t ctr, uint32_t thr, uint32_t out[RB]) {           \
        bernoulli_body(seed, ctr, thr, out);                                                                 \
    }
RNG_FNS(_generic, )
#ifdef CPU_X86
RNG_FNS(_avx2, CPU_AVX2)

/* The 16 blocks of a batch in the 16 lanes of AVX-512 words, the same rounds as philox_body:
 * the 32 x 32 -> 64-bit products of the even lanes and (shifted down) of the odd lanes, their
 * high and low halves put back in place by blends. About three times the compiler's code. */
CPU_AVX512 static void philox16_avx512(uint64_t seed, uint64_t ctr, __m512i w[4]) {
    const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i cA = _mm512_add_epi64(_mm512_set1_epi64((long long)ctr), lane);
    const __m512i cB = _mm512_add_epi64(cA, _mm512_set1_epi64(8));
    /* counters of blocks 0..15: low words in c0, high words in c1 */
    const __m512i lo_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i hi_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512i c0 = _mm512_permutex2var_epi32(cA, lo_idx, cB), c1 = _mm512_permutex2var_epi32(cA, hi_idx, cB);
    __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
    const __m512i M0 = _mm512_set1_epi64(0xD2511F53u), M1 = _mm512_set1_epi64(0xCD9E8D57u);
    const __mmask16 odd = 0xAAAA;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        const __m512i pe0 = _mm512_mul_epu32(c0, M0), po0 = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), M0);
        const __m512i pe1 = _mm512_mul_epu32(c2, M1), po1 = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), M1);
        const __m512i hi0 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe0, 32), po0);
        const __m512i lo0 = _mm512_mask_blend_epi32(odd, pe0, _mm512_slli_epi64(po0, 32));
        const __m512i hi1 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(pe1, 32), po1);
        const __m512i lo1 = _mm512_mask_blend_epi32(odd, pe1, _mm512_slli_epi64(po1, 32));
        const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
        const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
        c1 = lo1;
        c3 = lo0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    w[0] = c0, w[1] = c1, w[2] = c2, w[3] = c3;
}

CPU_AVX512 static void philox_avx512(uint64_t seed, uint64_t ctr, uint32_t out[4][RB]) {
    __m512i w[4];
    philox16_avx512(seed, ctr, w);
    for (int l = 0; l < 4; l++) _mm512_storeu_si512((void *)out[l], w[l]);
}

CPU_AVX512 static void bernoulli_avx512(uint64_t seed, uint64_t ctr, uint32_t thr, uint32_t out[RB]) {
    __m512i w[4], acc = _mm512_setzero_si512();
    philox16_avx512(seed, ctr, w);
    const __m512i t = _mm512_set1_epi32((int)thr);
    for (int l = 0; l < 4; l++) { /* byte l of each block's word: (w >> 8) < thr */
        const __mmask16 k = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(w[l], 8), t);
        acc = _mm512_or_si512(acc, _mm512_maskz_set1_epi32(k, 1 << (8 * l)));
    }
    _mm512_storeu_si512((void *)out, acc);
}
#endif

dc_status cpu_rng(dc_backend *be, const dc_kernel_args *a) {
    dc_tensor *t = a->out[0];
    const int dist = (int)a->p.i[0];
    const uint64_t seed = (uint64_t)a->p.i[1], ctr = (uint64_t)a->p.i[2];
    const double f0 = a->p.f[0], f1 = a->p.f[1];
    const int64_t n = dc_tensor_numel(t), nbatch = (n + 4 * RB - 1) / (4 * RB);
    if (t->dtype != DC_F32 && t->dtype != DC_F64 && t->dtype != DC_U8)
        return dc_fail(DC_ERR_DTYPE, "rng: unsupported dtype %s", dc_dtype_name(t->dtype));
    void (*philox)(uint64_t, uint64_t, uint32_t[4][RB]) = philox_generic;
    void (*bernoulli)(uint64_t, uint64_t, uint32_t, uint32_t[RB]) = bernoulli_generic;
#ifdef CPU_X86
    if (cpu_isa() == CPU_ISA_AVX512) philox = philox_avx512, bernoulli = bernoulli_avx512;
    else if (cpu_isa() == CPU_ISA_AVX2) philox = philox_avx2, bernoulli = bernoulli_avx2;
#endif
    void *p = CPU_PTR(t);
    const int par = n >= CPU_PAR_MIN;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (dist == DC_RNG_BERNOULLI && t->dtype == DC_U8) { /* the feature masks: whole words at once */
        const double pt = ceil(f0 * 16777216.0);
        const uint32_t thr = f0 <= 0 ? 0u : (pt >= 16777216.0 ? 16777216u : (uint32_t)pt);
        _Pragma("omp parallel for schedule(static) if(par)")
        for (int64_t bt = 0; bt < nbatch; bt++) {
            uint32_t words[RB];
            bernoulli(seed, ctr + (uint64_t)(bt * RB), thr, words);
            const int64_t j0 = bt * RB * 4, nb = n - j0 < RB * 4 ? n - j0 : RB * 4;
            memcpy((uint8_t *)p + j0, words, (size_t)nb); /* bytes in element order (little-endian words) */
        }
        return DC_OK;
    }
#else
    (void)bernoulli;
#endif
    _Pragma("omp parallel for schedule(static) if(par)")
    for (int64_t bt = 0; bt < nbatch; bt++) {
        uint32_t w[4][RB];
        philox(seed, ctr + (uint64_t)(bt * RB), w);
        for (int b = 0; b < RB; b++) {
            const int64_t j0 = (bt * RB + b) * 4;
            if (j0 >= n) break;
            double v[4];
            if (dist == DC_RNG_NORMAL) {
                for (int l = 0; l < 4; l += 2) /* Box-Muller on lanes (0,1) and (2,3), as every backend */
                    dc_rng_box_muller(w[l][b], w[l + 1][b], f0, f1, &v[l], &v[l + 1]);
            } else {
                for (int l = 0; l < 4; l++) {
                    const double u = dc_rng_u01(w[l][b]);
                    v[l] = dist == DC_RNG_UNIFORM ? f0 + (f1 - f0) * u : (u < f0 ? 1.0 : 0.0);
                }
            }
            for (int l = 0; l < 4 && j0 + l < n; l++) {
                if (t->dtype == DC_F32) ((float *)p)[j0 + l] = (float)v[l];
                else if (t->dtype == DC_F64) ((double *)p)[j0 + l] = v[l];
                else ((uint8_t *)p)[j0 + l] = (uint8_t)v[l];
            }
        }
    }
    return DC_OK;
}

/* ---------------------------------------------------------------- AdamW */

#define ADAMW_BODY(T)                                                                                        \
    for (int64_t i = 0; i < n; i++) {                                                                        \
        double pi = (double)p[i] * (1.0 - lr * wd);                                                          \
        double mi = b1 * m[i] + (1.0 - b1) * g[i];                                                           \
        double vi = b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i];                                            \
        m[i] = (T)mi;                                                                                        \
        v[i] = (T)vi;                                                                                        \
        p[i] = (T)(pi - step * mi / (sqrt(vi) / sqrt_bc2 + eps));                                            \
    }

#ifdef CPU_X86
/* the same arithmetic, 8 doubles per instruction (sqrt and division are correctly rounded) */
CPU_AVX512 static void adamw_f32_avx512(float *p, const float *g, float *m, float *v, int64_t n, double lr, double b1,
                                        double b2, double eps, double wd, double step, double sqrt_bc2) {
    const __m512d decay = _mm512_set1_pd(1.0 - lr * wd), vb1 = _mm512_set1_pd(b1), vb2 = _mm512_set1_pd(b2);
    const __m512d c1 = _mm512_set1_pd(1.0 - b1), c2 = _mm512_set1_pd(1.0 - b2), vstep = _mm512_set1_pd(step);
    const __m512d vbc = _mm512_set1_pd(sqrt_bc2), veps = _mm512_set1_pd(eps);
#define LD8(q) _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(k, (q) + i)))
#define ST8(q, x) _mm512_mask_storeu_ps((q) + i, k, _mm512_castps256_ps512(_mm512_cvtpd_ps(x)))
    for (int64_t i = 0; i < n; i += 8) {
        const __mmask16 k = cpu_mask16(n - i < 8 ? n - i : 8); /* 8 floats, as the low half of a vector */
        const __m512d gi = LD8(g);
        const __m512d pi = _mm512_mul_pd(LD8(p), decay);
        const __m512d mi = _mm512_add_pd(_mm512_mul_pd(vb1, LD8(m)), _mm512_mul_pd(c1, gi));
        const __m512d vi = _mm512_add_pd(_mm512_mul_pd(vb2, LD8(v)), _mm512_mul_pd(_mm512_mul_pd(c2, gi), gi));
        const __m512d den = _mm512_add_pd(_mm512_div_pd(_mm512_sqrt_pd(vi), vbc), veps);
        const __m512d pn = _mm512_sub_pd(pi, _mm512_div_pd(_mm512_mul_pd(vstep, mi), den));
        ST8(m, mi);
        ST8(v, vi);
        ST8(p, pn);
    }
#undef LD8
#undef ST8
}
#endif

dc_status cpu_adamw(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    const double lr = a->p.f[0], b1 = a->p.f[1], b2 = a->p.f[2], eps = a->p.f[3], wd = a->p.f[4];
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const double t = (double)*(const T *)CPU_PTR(a->in[4]) + 1.0;
        const double step = lr / (1.0 - pow(b1, t)), sqrt_bc2 = sqrt(1.0 - pow(b2, t));
        T *p = CPU_PTR(a->in[0]), *m = CPU_PTR(a->in[2]), *v = CPU_PTR(a->in[3]);
        const T *g = CPU_PTR(a->in[1]);
#ifdef CPU_X86
        if (sizeof(T) == 4 && cpu_isa() == CPU_ISA_AVX512) {
            adamw_f32_avx512((float *)p, (const float *)g, (float *)m, (float *)v, n, lr, b1, b2, eps, wd, step,
                             sqrt_bc2);
            break;
        }
#endif
        ADAMW_BODY(T)
    });
    return DC_OK;
}
