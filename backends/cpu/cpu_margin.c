/* cpu_margin.c: the MARGIN kernel of the `cpu` backend, DynaCL-M's margin contrastive loss
 * (docs/METHOD.md §4.4) and its gradient in one call, without the N x N matrices that the
 * composition from generic ops builds (e = exp(S/tau), the hinge, the modified scores x, ...).
 *
 * Notation: zh = rows of z over max(||z||, 1e-12), S = zh zh^T, k = gamma / (2 tau),
 * h_rc = max(0, Mg - S_rc), x_rc = exp(k (Y_c h_rc^2 - (1 - Y_c) S_rc^2)),
 * Cx_c = sum_r x_rc - x_cc (the diagonal is subtracted, as the authors do, so an overflowed
 * column gives inf - inf = NaN), l_j = exp(S_{j+1,j} / tau); anchors a (1..N-2, those at
 * positions 1..L-2 of their block of L rows): num_a = l_{a-1} + l_a,
 * den_a = Cx_{a-1} + Cx_a - l_{a-1}, L = mean_a (log den_a - log num_a).
 * Gradient: w_c = sum of 1/(A den_a) over the anchors whose den holds Cx_c; then off the
 * diagonal G_rc = dL/dS_rc through x = -2 k w_c x_rc (Y_c h_rc + (1 - Y_c) S_rc), and
 * dL/dzh = (G + G^T) zh plus the l_j terms on the sub-diagonal; then the normalisation's
 * backward. S is symmetric, so one pass over the upper tiles (cpu_pairs.h) gives every x_rc
 * and x_cr; the stored S tiles become H = G + G^T in the second pass.
 *
 * float32: tiled, one tile buffer. When Y is constant (the authors' pseudo-labels) pass 1 leaves
 * q = x (Y h + (1 - Y) S) in the tile, so pass 2 is one multiply per entry as in MP-Xent;
 * otherwise pass 2 recomputes both x from S. The tile loops are GCC vector extensions built for
 * AVX-512, AVX2 and plain C. Sums of x run in float within a tile: a column of x
 * beyond about 3e36 (a margin above about 40 at gamma 0.05) overflows there, where the
 * composition's double sums would not. float64 (finite-difference
 * checks): the same formulas on dense N x N arrays. Not here: the loss's composition from
 * generic ops (core/src/ops_fused.c), which backends without this kernel run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_mpxent.h"
#include "cpu_pairs.h"
#include "cpu_simd.h"
#include "cpu_vec.h"

/* anchors' loss, w (N) and the l_j coefficients dl (N-1) from Cx and l, all double */
static double margin_anchors(int64_t N, int64_t L, const double *Cx, const double *l, double *w, double *dl) {
    int64_t A = 0;
    double total = 0;
    for (int64_t a = 1; a + 1 < N; a++) A += cpu_mpx_is_anchor(a, L, 0);
    for (int64_t i = 0; i < N; i++) w[i] = dl[i] = 0;
    for (int64_t a = 1; a + 1 < N; a++) {
        if (!cpu_mpx_is_anchor(a, L, 0)) continue;
        double num = l[a - 1] + l[a], den = Cx[a - 1] + Cx[a] - l[a - 1];
        total += log(den) - log(num);
        double id = 1.0 / ((double)A * den), in = 1.0 / ((double)A * num);
        w[a - 1] += id;
        w[a] += id;
        dl[a - 1] -= id + in;
        dl[a] -= in;
    }
    return total / (double)A;
}

/* ---------------------------------------------------------------- float32 tiles */

/* pass 1 on one tile: colJ[c] = sum over the tile's rows of x_rc (Y of column c) and, off the
 * diagonal, colI[r] = sum over its columns of x_cr (Y of row r). Sums run in float inside the
 * tile (at most CPU_TB terms) and in double across tiles. Y is padded to whole blocks. When Y is
 * one constant, the tile is then overwritten with q_rc = x_rc (Y h_rc + (1 - Y) S_rc), all that
 * pass 2 needs (x_cr = x_rc then); otherwise S stays for pass 2 to recompute both x. */
VIN void tile_sums_body(float *S, int rn, int cn, const float *Yr, const float *Yc, float Mg, float k, int diag,
                        int ysym, double *colJ, double *colI) {
    vf cj[CPU_TB / VL];
    for (int i = 0; i < CPU_TB / VL; i++) cj[i] = vset(0.0f);
    for (int r = 0; r < rn; r++) {
        float *s = S + (int64_t)r * CPU_TB;
        const vf yr = vset(Yr[r]);
        vf ai = vset(0.0f);
        for (int c0 = 0; c0 < cn; c0 += VL) {
            vf sv, yc;
            memcpy(&sv, s + c0, sizeof sv);
            memcpy(&yc, Yc + c0, sizeof yc);
            const vi ok = (vi)lane_ok(c0, cn);
            vf hv = Mg - sv;
            hv = vsel(hv > vset(0.0f), hv, vset(0.0f));
            const vf h2 = hv * hv, s2 = sv * sv;
            const vf xc = (vf)((vi)vexp(k * (yc * (h2 + s2) - s2)) & ok);
            cj[c0 / VL] += xc;
            if (ysym) {
                if (!diag) ai += xc;
                const vf q = xc * (yc * (hv - sv) + sv);
                memcpy(s + c0, &q, sizeof q);
            } else if (!diag) {
                ai += (vf)((vi)vexp(k * (yr * (h2 + s2) - s2)) & ok);
            }
        }
        if (!diag) colI[r] = vsum(ai);
    }
    for (int c = 0; c < cn; c++) colJ[c] = cj[c / VL][c % VL];
}

/* pass 2 on one tile: it becomes H_rc = G_rc + G_cr (zero on the diagonal of a diagonal tile),
 * from q (constant Y) or from S with both x recomputed */
VIN void tile_grad_body(float *S, int rn, int cn, const float *Yr, const float *Yc, const float *wr, const float *wc,
                        float Mg, float k, int diag, int ysym) {
    const vf m2k = vset(-2.0f * k);
    for (int r = 0; r < rn; r++) {
        float *s = S + (int64_t)r * CPU_TB;
        const vf yr = vset(Yr[r]), wrv = vset(wr[r]);
        for (int c0 = 0; c0 < cn; c0 += VL) {
            vf sv, wcv, g;
            memcpy(&sv, s + c0, sizeof sv);
            memcpy(&wcv, wc + c0, sizeof wcv);
            if (ysym) {
                g = (wcv + wrv) * m2k * sv;
            } else {
                vf yc;
                memcpy(&yc, Yc + c0, sizeof yc);
                vf hv = Mg - sv;
                hv = vsel(hv > vset(0.0f), hv, vset(0.0f));
                const vf h2 = hv * hv, s2 = sv * sv;
                const vf xc = vexp(k * (yc * (h2 + s2) - s2)), xr = vexp(k * (yr * (h2 + s2) - s2));
                g = wcv * xc * m2k * (yc * (hv - sv) + sv) + wrv * xr * m2k * (yr * (hv - sv) + sv);
            }
            if (diag && r >= c0 && r < c0 + VL) g[r - c0] = 0.0f;
            memcpy(s + c0, &g, sizeof g);
        }
    }
}

#define TILE_FNS(SUF, ATTR)                                                                                  \
    ATTR static void tile_sums##SUF(float *S, int rn, int cn, const float *Yr, const float *Yc, float Mg, float k, \
                                    int diag, int ysym, double *colJ, double *colI) {                          \
        tile_sums_body(S, rn, cn, Yr, Yc, Mg, k, diag, ysym, colJ, colI);                                    \
    }                                                                                                        \
    ATTR static void tile_grad##SUF(float *S, int rn, int cn, const float *Yr, const float *Yc, const float *wr,   \
                                    const float *wc, float Mg, float k, int diag, int ysym) {                 \
        tile_grad_body(S, rn, cn, Yr, Yc, wr, wc, Mg, k, diag, ysym);                                        \
    }
TILE_FNS(_generic, )
#ifdef CPU_X86
TILE_FNS(_avx2, CPU_AVX2)
TILE_FNS(_avx512, CPU_AVX512)
#endif

#ifdef CPU_X86
/* AVX-512 pass 1 for constant Y (the authors' pseudo-labels, the common case) in intrinsics, with
 * FMAs and the column sums in registers; other Y go to the vector-extension build */
CPU_AVX512 static void tile_sums_y_avx512(float *S, int rn, int cn, const float *Yr, const float *Yc, float Mg,
                                          float k, int diag, int ysym, double *colJ, double *colI) {
    if (!ysym) {
        tile_sums_avx512(S, rn, cn, Yr, Yc, Mg, k, diag, ysym, colJ, colI);
        return;
    }
    const __m512 y = _mm512_set1_ps(Yr[0]), vk = _mm512_set1_ps(k), vm = _mm512_set1_ps(Mg), z = _mm512_setzero_ps();
    __m512 cj[CPU_TB / 16];
    for (int i = 0; i < CPU_TB / 16; i++) cj[i] = z;
    for (int r = 0; r < rn; r++) {
        float *s = S + (int64_t)r * CPU_TB;
        __m512 ai = z;
#pragma GCC unroll 6
        for (int i = 0; i < CPU_TB / 16; i++) {
            const int c0 = 16 * i;
            if (c0 >= cn) break;
            const __mmask16 m = cpu_mask16(cn - c0);
            const __m512 sv = _mm512_maskz_loadu_ps(m, s + c0);
            const __m512 hv = _mm512_max_ps(_mm512_sub_ps(vm, sv), z), s2 = _mm512_mul_ps(sv, sv);
            /* k (y (h^2 + s^2) - s^2) */
            const __m512 arg = _mm512_mul_ps(vk, _mm512_fmsub_ps(y, _mm512_fmadd_ps(hv, hv, s2), s2));
            const __m512 x = _mm512_maskz_mov_ps(m, cpu_exp16_inf(arg));
            cj[i] = _mm512_add_ps(cj[i], x);
            ai = _mm512_add_ps(ai, x);
            /* q = x (y (h - s) + s) */
            _mm512_mask_storeu_ps(s + c0, m, _mm512_mul_ps(x, _mm512_fmadd_ps(y, _mm512_sub_ps(hv, sv), sv)));
        }
        if (!diag) colI[r] = (double)_mm512_reduce_add_ps(ai);
    }
    float t[CPU_TB];
    for (int i = 0; i < CPU_TB / 16; i++) _mm512_storeu_ps(t + 16 * i, cj[i]);
    for (int c = 0; c < cn; c++) colJ[c] = t[c];
}
#endif

typedef void (*tile_sums_fn)(float *, int, int, const float *, const float *, float, float, int, int, double *,
                             double *);
typedef void (*tile_grad_fn)(float *, int, int, const float *, const float *, const float *, const float *, float,
                             float, int, int);

static dc_status margin_f32(const dc_kernel_args *a) {
    const int64_t N = a->in[0]->shape[0], F = a->in[0]->shape[1], L = a->p.i[0];
    const int want = (int)a->p.i[2] && a->out[1];
    const double tau = a->p.f[0], eps = a->p.f[3];
    const float Mg = (float)a->p.f[1], k = (float)(0.5 * a->p.f[2] / tau);
    const cpu_pairs P = cpu_pairs_of(N);
    const int64_t TT = (int64_t)CPU_TB * CPU_TB, NP = P.nb * CPU_TB; /* N padded to whole blocks */
    float *zh = cpu_scratch(CPU_SCR_K0, (size_t)(2 * N * F + 2 * NP) * sizeof(float));
    float *tiles = cpu_scratch(CPU_SCR_K1, (size_t)(P.np * TT) * sizeof(float));
    double *dv = cpu_scratch(CPU_SCR_K2, (size_t)(7 * N + 2 * P.np * CPU_TB) * sizeof(double));
    if (!zh || !tiles || !dv)
        return dc_fail(DC_ERR_OOM, "margin loss: out of host memory for N = %lld", (long long)N);
    float *zhT = zh + N * F, *Y = zhT + N * F, *wf = Y + NP;
    double *nrm = dv, *Cx = dv + N, *l = dv + 2 * N, *w = dv + 3 * N, *dl = dv + 4 * N, *part = dv + 7 * N;
    double *sdiag = dv + 5 * N, *ssup = dv + 6 * N; /* S_cc and S_{j,j+1}, taken out in pass 1 */
    const float *Yin = CPU_PTR(a->in[1]);
    int ysym = 1;
    for (int64_t i = 0; i < NP; i++) {
        Y[i] = i < N ? Yin[i] : 0.0f;
        wf[i] = 0.0f;
        if (i < N && Yin[i] != Yin[0]) ysym = 0;
    }
    tile_sums_fn sums = tile_sums_generic;
    tile_grad_fn grad = tile_grad_generic;
#ifdef CPU_X86
    if (cpu_isa() == CPU_ISA_AVX512) sums = tile_sums_y_avx512, grad = tile_grad_avx512;
    else if (cpu_isa() == CPU_ISA_AVX2) sums = tile_sums_avx2, grad = tile_grad_avx2;
#endif
    cpu_pairs_normalise(CPU_PTR(a->in[0]), N, F, eps, zh, zhT, nrm);
    _Pragma("omp parallel for schedule(dynamic)")
    for (int64_t p = 0; p < P.np; p++) {
        int64_t I, J;
        cpu_pair_blocks(&P, p, &I, &J);
        const int64_t r0 = cpu_block_start(I), c0 = cpu_block_start(J);
        const int rn = cpu_block_len(&P, I), cn = cpu_block_len(&P, J);
        float *S = tiles + p * TT;
        cpu_sgemm_serial(0, rn, cn, F, 1.0f, zh + r0 * F, F, zhT + c0, N, 0.0f, S, CPU_TB);
        if (I == J)
            for (int r = 0; r < rn; r++) {
                sdiag[r0 + r] = S[(int64_t)r * CPU_TB + r];
                if (r + 1 < rn) ssup[r0 + r] = S[(int64_t)r * CPU_TB + r + 1];
            }
        else if (J == I + 1)
            ssup[r0 + rn - 1] = S[(int64_t)(rn - 1) * CPU_TB];
        sums(S, rn, cn, Y + r0, Y + c0, Mg, k, I == J, ysym, part + p * 2 * CPU_TB, part + p * 2 * CPU_TB + CPU_TB);
    }
    /* Cx_c: block b's column sums from the tiles (I <= b, b), then from (b, J > b); minus x_cc */
    for (int64_t b = 0; b < P.nb; b++) {
        const int64_t c0 = cpu_block_start(b);
        const int n = cpu_block_len(&P, b);
        for (int c = 0; c < n; c++) Cx[c0 + c] = 0;
        for (int64_t I = 0; I <= b; I++) {
            const double *cj = part + cpu_pair_index(&P, I, b) * 2 * CPU_TB;
            for (int c = 0; c < n; c++) Cx[c0 + c] += cj[c];
        }
        for (int64_t J = b + 1; J < P.nb; J++) {
            const double *ci = part + cpu_pair_index(&P, b, J) * 2 * CPU_TB + CPU_TB;
            for (int c = 0; c < n; c++) Cx[c0 + c] += ci[c];
        }
        for (int c = 0; c < n; c++) {
            const float s = (float)sdiag[c0 + c], h = Mg - s > 0 ? Mg - s : 0.0f, y = Y[c0 + c];
            Cx[c0 + c] -= (double)(float)exp((double)(k * (y * h * h - (1.0f - y) * s * s)));
        }
    }
    for (int64_t j = 0; j + 1 < N; j++) l[j] = (double)(float)exp(ssup[j] / tau); /* l_j = exp(S_{j,j+1} / tau) */
    *(float *)CPU_PTR(a->out[0]) = (float)margin_anchors(N, L, Cx, l, w, dl);
    if (!want) return DC_OK;
    for (int64_t i = 0; i < N; i++) wf[i] = (float)w[i];
    _Pragma("omp parallel for schedule(dynamic)")
    for (int64_t p = 0; p < P.np; p++) {
        int64_t I, J;
        cpu_pair_blocks(&P, p, &I, &J);
        const int64_t r0 = cpu_block_start(I), c0 = cpu_block_start(J);
        grad(tiles + p * TT, cpu_block_len(&P, I), cpu_block_len(&P, J), Y + r0, Y + c0, wf + r0, wf + c0, Mg, k,
             I == J, ysym);
    }
    float *dz = CPU_PTR(a->out[1]);
    cpu_pairs_sym_gemm(&P, tiles, zh, F, dz);
    for (int64_t j = 0; j + 1 < N; j++) dl[j] *= l[j] / tau; /* dL/dS_{j+1,j} through l_j */
    cpu_pairs_sub_terms(zh, N, F, dl, dz);
    cpu_mpx_norm_back_f32(dz, zh, nrm, N, F, eps);
    return DC_OK;
}

/* ---------------------------------------------------------------- float64, dense */

static dc_status margin_f64(const dc_kernel_args *a) {
    const int64_t N = a->in[0]->shape[0], F = a->in[0]->shape[1], L = a->p.i[0];
    const int want = (int)a->p.i[2] && a->out[1];
    const double tau = a->p.f[0], Mg = a->p.f[1], k = 0.5 * a->p.f[2] / tau, eps = a->p.f[3];
    const double *z = CPU_PTR(a->in[0]), *Y = CPU_PTR(a->in[1]);
    double *zh = calloc((size_t)(N * F), sizeof *zh), *S = malloc((size_t)(N * N) * sizeof *S);
    double *v = calloc((size_t)(5 * N), sizeof *v);
    if (!zh || !S || !v) {
        free(zh), free(S), free(v);
        return dc_fail(DC_ERR_OOM, "margin loss: out of host memory for N = %lld", (long long)N);
    }
    double *nrm = v, *Cx = v + N, *l = v + 2 * N, *w = v + 3 * N, *dl = v + 4 * N;
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t f = 0; f < F; f++) s += z[i * F + f] * z[i * F + f];
        nrm[i] = sqrt(s);
        for (int64_t f = 0; f < F; f++) zh[i * F + f] = z[i * F + f] / (nrm[i] > eps ? nrm[i] : eps);
    }
    cpu_dgemm(0, 1, N, N, F, 1.0, zh, F, zh, F, 0.0, S, N);
#define XM(s, y) exp(k * ((y) * ((Mg - (s)) > 0 ? (Mg - (s)) * (Mg - (s)) : 0.0) - (1.0 - (y)) * (s) * (s)))
    for (int64_t c = 0; c < N; c++) {
        double sum = 0;
        for (int64_t r = 0; r < N; r++) sum += XM(S[r * N + c], Y[c]);
        Cx[c] = sum - XM(S[c * N + c], Y[c]);
    }
    for (int64_t j = 0; j + 1 < N; j++) l[j] = exp(S[(j + 1) * N + j] / tau);
    *(double *)CPU_PTR(a->out[0]) = margin_anchors(N, L, Cx, l, w, dl);
    if (want) {
        double *dz = CPU_PTR(a->out[1]);
        for (int64_t i = 0; i < N; i++) { /* dzh_i = sum_c (G_ic + G_ci) zh_c, G from x off the diagonal */
            double *g = dz + i * F;
            for (int64_t f = 0; f < F; f++) g[f] = 0;
            for (int64_t c = 0; c < N; c++) {
                if (c == i) continue;
                const double s = S[i * N + c], h = Mg - s > 0 ? Mg - s : 0.0;
                double H = w[c] * XM(s, Y[c]) * -2 * k * (Y[c] * h + (1 - Y[c]) * s) +
                           w[i] * XM(s, Y[i]) * -2 * k * (Y[i] * h + (1 - Y[i]) * s);
                if (c == i + 1 || c == i - 1) H += dl[c < i ? c : i] * l[c < i ? c : i] / tau;
                for (int64_t f = 0; f < F; f++) g[f] += H * zh[c * F + f];
            }
            double dot = 0;
            for (int64_t f = 0; f < F; f++) dot += zh[i * F + f] * g[f];
            for (int64_t f = 0; f < F; f++) g[f] = nrm[i] > eps ? (g[f] - zh[i * F + f] * dot) / nrm[i] : g[f] / eps;
        }
    }
#undef XM
    free(zh), free(S), free(v);
    return DC_OK;
}

dc_status cpu_margin(dc_backend *be, const dc_kernel_args *a) {
    return a->in[0]->dtype == DC_F32 ? margin_f32(a) : margin_f64(a);
}
