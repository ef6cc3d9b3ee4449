/* cpu_mpxent_tiled.c: the float32 MP-Xent kernel of the `cpu` backend (docs/METHOD.md §3),
 * loss and gradient, without an N x N buffer of its own in flight at once beyond the upper
 * triangle of E. Notation as in cpu_mpxent.c.
 *
 *   pass 1, per tile pair (I <= J) of cpu_pairs.h: S = Zh_I Zh_J^T (a GEMM on the tile),
 *           E = exp((S - 1) / tau) in place with the diagonal zeroed, its row sums and (off the
 *           diagonal) column sums kept per pair; E is symmetric, so the upper triangle gives
 *           every column sum C_c as a row sum. Half the GEMM work and half the exps of a
 *           dense pass.
 *   anchors (cpu_mpx_anchors): the loss, the column weights w and the sub-diagonal terms.
 *   pass 2, if the gradient is wanted: each stored tile becomes W = (w_r + w_c) E / tau, then
 *           dL/dZh_I = sum_J op(W_IJ) Zh_J per block row I (the lower tiles read transposed),
 *           plus the sub-diagonal corrections, then the normalisation's backward.
 * Block sums are reduced in a fixed order and every output row is written by one thread, so
 * the result does not depend on the number of threads. Not here: float64 (cpu_mpxent.c).
 */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_mpxent.h"
#include "cpu_pairs.h"
#include "cpu_simd.h"

/* ------------------------------------------------ E = exp((S - 1) s) = exp(S s - s), row/column sums */

static void tile_exp_generic(float *E, int rn, int cn, float s, int diag, float *rs, float *cs) {
    if (!diag) memset(cs, 0, (size_t)cn * sizeof *cs);
    for (int r = 0; r < rn; r++) {
        float *e = E + (int64_t)r * CPU_TB, acc = 0;
        for (int c = 0; c < cn; c++) {
            float v = (diag && c == r) ? 0.0f : cpu_expf(e[c] * s - s);
            e[c] = v;
            acc += v;
            if (!diag) cs[c] += v;
        }
        rs[r] = acc;
    }
}

#ifdef CPU_X86
CPU_AVX512 static void tile_exp_avx512(float *E, int rn, int cn, float s, int diag, float *rs, float *cs) {
    const __m512 vs = _mm512_set1_ps(s);
    if (!diag) memset(cs, 0, (size_t)cn * sizeof *cs);
    for (int r = 0; r < rn; r++) {
        float *e = E + (int64_t)r * CPU_TB;
        __m512 acc = _mm512_setzero_ps();
        for (int c0 = 0; c0 < cn; c0 += 16) {
            __mmask16 m = cpu_mask16(cn - c0);
            if (diag && r >= c0 && r < c0 + 16) m &= (__mmask16) ~(1u << (r - c0));
            __m512 v = _mm512_maskz_mov_ps(m, cpu_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(e + c0), vs), vs)));
            _mm512_mask_storeu_ps(e + c0, cpu_mask16(cn - c0), v);
            acc = _mm512_add_ps(acc, v);
            if (!diag) _mm512_mask_storeu_ps(cs + c0, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, cs + c0), v));
        }
        rs[r] = _mm512_reduce_add_ps(acc);
    }
}

CPU_AVX2 static void tile_exp_avx2(float *E, int rn, int cn, float s, int diag, float *rs, float *cs) {
    const __m256 vs = _mm256_set1_ps(s);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (!diag) memset(cs, 0, (size_t)cn * sizeof *cs);
    for (int r = 0; r < rn; r++) {
        float *e = E + (int64_t)r * CPU_TB;
        __m256 acc = _mm256_setzero_ps();
        for (int c0 = 0; c0 < cn; c0 += 8) {
            __m256i mt = cpu_mask8(cn - c0), m = mt;
            if (diag) m = _mm256_andnot_si256(_mm256_cmpeq_epi32(lane, _mm256_set1_epi32(r - c0)), mt);
            __m256 v = _mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(e + c0, mt), vs), vs);
            v = _mm256_and_ps(cpu_exp8(v), _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(e + c0, mt, v);
            acc = _mm256_add_ps(acc, v);
            if (!diag) _mm256_maskstore_ps(cs + c0, mt, _mm256_add_ps(_mm256_maskload_ps(cs + c0, mt), v));
        }
        float t[8];
        _mm256_storeu_ps(t, acc);
        rs[r] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
    }
}
#endif

static void tile_exp(float *E, int rn, int cn, float s, int diag, float *rs, float *cs) {
#ifdef CPU_X86
    switch (cpu_isa()) {
    case CPU_ISA_AVX512: tile_exp_avx512(E, rn, cn, s, diag, rs, cs); return;
    case CPU_ISA_AVX2: tile_exp_avx2(E, rn, cn, s, diag, rs, cs); return;
    default: break;
    }
#endif
    tile_exp_generic(E, rn, cn, s, diag, rs, cs);
}

/* ---------------------------------------------------------------- W = (w_r + w_c) E / tau */

static inline __attribute__((always_inline)) void tile_w_body(float *E, int rn, int cn, const float *wr,
                                                               const float *wc, float it) {
    for (int r = 0; r < rn; r++) {
        float *e = E + (int64_t)r * CPU_TB;
        const float a = wr[r];
        for (int c = 0; c < cn; c++) e[c] = (a + wc[c]) * e[c] * it;
    }
}
#ifdef CPU_X86
CPU_AVX512 static void tile_w_avx512(float *E, int rn, int cn, const float *wr, const float *wc, float it) {
    tile_w_body(E, rn, cn, wr, wc, it);
}
CPU_AVX2 static void tile_w_avx2(float *E, int rn, int cn, const float *wr, const float *wc, float it) {
    tile_w_body(E, rn, cn, wr, wc, it);
}
#endif
static void tile_w(float *E, int rn, int cn, const float *wr, const float *wc, float it) {
#ifdef CPU_X86
    if (cpu_isa() == CPU_ISA_AVX512) return tile_w_avx512(E, rn, cn, wr, wc, it);
    if (cpu_isa() == CPU_ISA_AVX2) return tile_w_avx2(E, rn, cn, wr, wc, it);
#endif
    tile_w_body(E, rn, cn, wr, wc, it);
}

/* ---------------------------------------------------------------- shared with the margin loss */

void cpu_pairs_sym_gemm(const cpu_pairs *P, const float *tiles, const float *zh, int64_t F, float *out) {
    const int64_t TT = (int64_t)CPU_TB * CPU_TB;
    _Pragma("omp parallel for schedule(dynamic)")
    for (int64_t I = 0; I < P->nb; I++) {
        const int rn = cpu_block_len(P, I);
        float *oI = out + cpu_block_start(I) * F;
        for (int64_t J = 0; J < P->nb; J++) {
            const int cn = cpu_block_len(P, J);
            const int up = J >= I;
            const float *W = tiles + (up ? cpu_pair_index(P, I, J) : cpu_pair_index(P, J, I)) * TT;
            cpu_sgemm_serial(!up, rn, F, cn, 1.0f, W, CPU_TB, zh + cpu_block_start(J) * F, F, J ? 1.0f : 0.0f, oI,
                             F);
        }
    }
}

void cpu_pairs_sub_terms(const float *zh, int64_t N, int64_t F, const double *coef, float *out) {
    for (int64_t j = 0; j + 1 < N; j++) {
        const float add = (float)coef[j];
        if (add == 0) continue;
        for (int64_t f = 0; f < F; f++) {
            out[(j + 1) * F + f] += add * zh[j * F + f];
            out[j * F + f] += add * zh[(j + 1) * F + f];
        }
    }
}

void cpu_pairs_normalise(const float *z, int64_t N, int64_t F, double eps, float *zh, float *zhT, double *nrm) {
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t f = 0; f < F; f++) s += (double)z[i * F + f] * z[i * F + f];
        nrm[i] = sqrt(s);
        double d = nrm[i] > eps ? nrm[i] : eps;
        for (int64_t f = 0; f < F; f++) zhT[f * N + i] = zh[i * F + f] = (float)(z[i * F + f] / d);
    }
}

/* ---------------------------------------------------------------- the kernel */

dc_status cpu_mpxent_f32(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *zt = a->in[0];
    const int64_t N = zt->shape[0], F = zt->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = (int)a->p.i[2] && a->n_out > 1 && a->out[1];
    const double tau = a->p.f[0], eps = a->p.f[1];
    const cpu_pairs P = cpu_pairs_of(N);
    const int64_t TT = (int64_t)CPU_TB * CPU_TB;
    float *zh = cpu_scratch(CPU_SCR_K0, (size_t)(2 * N * F) * sizeof(float));
    float *tiles = cpu_scratch(CPU_SCR_K1, (size_t)(P.np * TT) * sizeof(float));
    double *dv = cpu_scratch(CPU_SCR_K2, (size_t)(5 * N) * sizeof(double));
    float *part = cpu_scratch(CPU_SCR_K3, (size_t)(P.np * 2 * CPU_TB + N) * sizeof(float));
    if (!zh || !tiles || !dv || !part)
        return dc_fail(DC_ERR_OOM, "mpxent: out of host memory for N = %lld (needs %lld bytes of tiles)", (long long)N,
                       (long long)(P.np * TT * 4));
    float *zhT = zh + N * F, *wf = part + P.np * 2 * CPU_TB;
    double *nrm = dv, *Cc = dv + N, *w = dv + 2 * N, *sub = dv + 3 * N, *lsub = dv + 4 * N;
    cpu_pairs_normalise(CPU_PTR(zt), N, F, eps, zh, zhT, nrm);
    /* pass 1: E tiles and their sums */
    const float s = (float)(1.0 / tau);
    _Pragma("omp parallel for schedule(dynamic)")
    for (int64_t p = 0; p < P.np; p++) {
        int64_t I, J;
        cpu_pair_blocks(&P, p, &I, &J);
        const int rn = cpu_block_len(&P, I), cn = cpu_block_len(&P, J);
        float *E = tiles + p * TT;
        cpu_sgemm_serial(0, rn, cn, F, 1.0f, zh + cpu_block_start(I) * F, F, zhT + cpu_block_start(J), N, 0.0f, E,
                         CPU_TB);
        tile_exp(E, rn, cn, s, I == J, part + p * 2 * CPU_TB, part + p * 2 * CPU_TB + CPU_TB);
    }
    /* C_c: block c's row sums over J >= c, then column sums over I < c, in this order */
    for (int64_t b = 0; b < P.nb; b++) {
        const int64_t r0 = cpu_block_start(b);
        const int n = cpu_block_len(&P, b);
        for (int r = 0; r < n; r++) Cc[r0 + r] = 0;
        for (int64_t J = b; J < P.nb; J++) {
            const float *rs = part + cpu_pair_index(&P, b, J) * 2 * CPU_TB;
            for (int r = 0; r < n; r++) Cc[r0 + r] += rs[r];
        }
        for (int64_t I = 0; I < b; I++) {
            const float *cs = part + cpu_pair_index(&P, I, b) * 2 * CPU_TB + CPU_TB;
            for (int r = 0; r < n; r++) Cc[r0 + r] += cs[r];
        }
    }
    /* l_j = E_{j+1,j} = E_{j,j+1}, from the upper tiles */
    for (int64_t j = 0; j + 1 < N; j++) {
        const int64_t I = j / CPU_TB, J = (j + 1) / CPU_TB;
        lsub[j] = tiles[cpu_pair_index(&P, I, J) * TT + (j - cpu_block_start(I)) * CPU_TB + (j + 1 - cpu_block_start(J))];
    }
    double loss = cpu_mpx_anchors(N, L, single, Cc, lsub, w, sub);
    *(float *)CPU_PTR(a->out[0]) = (float)loss;
    if (!want) return DC_OK;

    /* pass 2: W tiles in place, then dZh = W Zh per block row */
    const float it = (float)(1.0 / tau);
    for (int64_t i = 0; i < N; i++) wf[i] = (float)w[i];
    float *dz = CPU_PTR(a->out[1]);
    _Pragma("omp parallel for schedule(dynamic)")
    for (int64_t p = 0; p < P.np; p++) {
        int64_t I, J;
        cpu_pair_blocks(&P, p, &I, &J);
        tile_w(tiles + p * TT, cpu_block_len(&P, I), cpu_block_len(&P, J), wf + cpu_block_start(I),
               wf + cpu_block_start(J), it);
    }
    cpu_pairs_sym_gemm(&P, tiles, zh, F, dz);
    /* sub-diagonal corrections at (j+1, j) and (j, j+1), then the normalisation's backward */
    for (int64_t j = 0; j + 1 < N; j++) sub[j] *= lsub[j] * it;
    cpu_pairs_sub_terms(zh, N, F, sub, dz);
    cpu_mpx_norm_back_f32(dz, zh, nrm, N, F, eps);
    return DC_OK;
}
