/* cpu_mpxent.c: the MP-Xent loss (docs/METHOD.md §3) with its gradient, in one kernel.
 *
 * Notation: zh = rows normalised by max(||z||, eps); E_rc = exp(zh_r.zh_c / tau) for r != c
 * and E_cc = 0; C_c = sum_r E_rc (column sums); l_j = E_{j+1,j}. Anchors are the rows whose
 * position t inside their block of L = seq_len rows satisfies 1 <= t <= L-2 (multi-positive)
 * or t <= L-2 (single positive); L = N reproduces the authors' flattened batch.
 *   multi:  num_a = l_{a-1} + l_a,  den_a = (C_{a-1} - l_{a-1}) + (C_a - l_{a-1} - l_a)
 *   single: num_a = l_a,            den_a = C_a - l_a
 *   L = mean_a (log den_a - log num_a)
 *
 * The reference backend follows these sums literally (backends/cpu_ref/ref_mpxent.c); this
 * kernel uses the structure of dL/dE (docs/METHOD.md §3.5): every entry of column c
 * gets w_c = sum of 1/den over anchors whose denominator holds column c, plus corrections
 * sub_j on the sub-diagonal (j+1, j). With S symmetric,
 *   dL/dzh = W zh,  W_rc = (w_r + w_c) E_rc / tau  (+ sub_j E_{j+1,j} / tau at (j+1,j), (j,j+1)),
 * all scaled by 1/#anchors; then the normalisation's backward. Two GEMMs and N^2 exps. That
 * dense form is the float64 path here; float32 runs the tiled, symmetric form of
 * cpu_mpxent_tiled.c, which shares the anchor arithmetic below.
 *
 * Every kernel (and the CUDA and OpenCL ones) computes E as exp((S - 1) / tau): rows of zh
 * have norm <= 1, so S <= 1 and nothing overflows for any tau > 0, while the common factor
 * exp(-1/tau) cancels in every ratio of the loss and of the gradient (exp(S / tau) itself
 * overflows float below tau = 1/88).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cpu_mpxent.h"

#define is_anchor cpu_mpx_is_anchor

/* ---------------------------------------------------------------- fast */

double cpu_mpx_anchors(int64_t N, int64_t L, int single, const double *Cc, const double *l, double *w, double *sub) {
    int64_t A = 0;
    double total = 0;
    for (int64_t k = 0; k < N; k++) {
        w[k] = sub[k] = 0;
        A += is_anchor(k, L, single);
    }
    for (int64_t k = 0; k < N; k++) {
        if (!is_anchor(k, L, single)) continue;
        double lp = l[k], num, den;
        if (single) {
            num = lp;
            den = Cc[k] - lp;
        } else {
            double lm = l[k - 1];
            num = lm + lp;
            den = (Cc[k - 1] - lm) + (Cc[k] - lm - lp);
        }
        total += log(den) - log(num);
        double wd = 1.0 / ((double)A * den), wn = 1.0 / ((double)A * num);
        w[k] += wd;
        sub[k] -= wd + wn;
        if (!single) {
            w[k - 1] += wd;
            sub[k - 1] -= 2 * wd + wn;
        }
    }
    return total / (double)A;
}

void cpu_mpx_norm_back_f32(float *dz, const float *zh, const double *nrm, int64_t N, int64_t F, double eps) {
    for (int64_t i = 0; i < N; i++) {
        float *g = dz + i * F;
        const float *hi = zh + i * F;
        if (nrm[i] > eps) {
            double dot = 0;
            for (int64_t f = 0; f < F; f++) dot += (double)hi[f] * g[f];
            for (int64_t f = 0; f < F; f++) g[f] = (float)((g[f] - hi[f] * dot) / nrm[i]);
        } else {
            for (int64_t f = 0; f < F; f++) g[f] = (float)(g[f] / eps);
        }
    }
}

/* E = exp(S / tau) in place with zero diagonal; rowsum[r] = sum_c E_rc. */
static void exp_rows_f64(double *S, int64_t N, double inv_tau, double *rowsum) {
    _Pragma("omp parallel for schedule(static)")
    for (int64_t r = 0; r < N; r++) {
        double *row = S + r * N, s = 0;
        for (int64_t c = 0; c < N; c++) {
            row[c] = c == r ? 0.0 : exp((row[c] - 1.0) * inv_tau);
            s += row[c];
        }
        rowsum[r] = s;
    }
}

dc_status cpu_mpxent(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *z = a->in[0];
    if (z->dtype == DC_F32) return cpu_mpxent_f32(be, a);
    const int64_t N = z->shape[0], F = z->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = (int)a->p.i[2] && a->n_out > 1;
    const double tau = a->p.f[0], eps = a->p.f[1];
    double *h = calloc((size_t)(N * F) + 1, sizeof *h), *S = malloc((size_t)(N * N) * sizeof *S); /* calloc: GCC 11 sees h maybe unset (F = 0) */
    double *nrm = malloc((size_t)N * sizeof(double)), *Cc = malloc((size_t)N * sizeof(double));
    double *w = malloc((size_t)N * sizeof(double)), *sub = malloc((size_t)N * sizeof(double));
    double *lsub = malloc((size_t)N * sizeof(double));
    dc_status st = DC_OK;
    if (!h || !S || !nrm || !Cc || !w || !sub || !lsub) {
        st = dc_fail(DC_ERR_OOM, "mpxent: out of host memory for N = %lld (needs %zu bytes)", (long long)N,
                     (size_t)(N * N) * sizeof *S);
        goto done;
    }
    const double *pz = CPU_PTR(z);
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t f = 0; f < F; f++) s += pz[i * F + f] * pz[i * F + f];
        nrm[i] = sqrt(s);
        double d = nrm[i] > eps ? nrm[i] : eps;
        for (int64_t f = 0; f < F; f++) h[i * F + f] = pz[i * F + f] / d;
    }
    /* S = zh zh^T, then E in place; S is exactly symmetric so row sums are column sums */
    cpu_dgemm(0, 1, N, N, F, 1.0, h, F, h, F, 0.0, S, N);
    exp_rows_f64(S, N, 1.0 / tau, Cc);
    for (int64_t j = 0; j + 1 < N; j++) lsub[j] = S[(j + 1) * N + j];
    *(double *)CPU_PTR(a->out[0]) = cpu_mpx_anchors(N, L, single, Cc, lsub, w, sub);
    if (want) {
        /* W in place of E, with the sub-diagonal corrections added symmetrically */
        const double it = 1.0 / tau;
        _Pragma("omp parallel for schedule(static)")
        for (int64_t r = 0; r < N; r++)
            for (int64_t c = 0; c < N; c++) S[r * N + c] = (w[r] + w[c]) * S[r * N + c] * it;
        for (int64_t j = 0; j + 1 < N; j++) {
            double add = sub[j] * lsub[j] * it;
            S[(j + 1) * N + j] += add;
            S[j * N + j + 1] += add;
        }
        /* dzh = W zh into dz, then the normalisation backward in place */
        double *dz = CPU_PTR(a->out[1]);
        cpu_dgemm(0, 0, N, F, N, 1.0, S, N, h, F, 0.0, dz, F);
        for (int64_t i = 0; i < N; i++) {
            double *g = dz + i * F, dot = 0;
            const double *hi = h + i * F;
            if (nrm[i] > eps) {
                for (int64_t f = 0; f < F; f++) dot += hi[f] * g[f];
                for (int64_t f = 0; f < F; f++) g[f] = (g[f] - hi[f] * dot) / nrm[i];
            } else {
                for (int64_t f = 0; f < F; f++) g[f] = g[f] / eps;
            }
        }
    }
done:
    free(h), free(S), free(nrm), free(Cc), free(w), free(sub), free(lsub);
    return st;
}
