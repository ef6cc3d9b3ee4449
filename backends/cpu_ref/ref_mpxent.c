/* ref_mpxent.c: the MP-Xent loss (docs/METHOD.md §3) and its gradient, following the sums
 * literally in float64 and building dL/dE entry by entry (docs/METHOD.md §3.5).
 *
 * Notation: zh = rows normalised by max(||z||, eps); E_rc = exp((zh_r . zh_c - 1) / tau) for
 * r != c and E_cc = 0; C_c = sum_r E_rc (column sums); l_j = E_{j+1,j}. Anchors are the
 * rows whose position t inside their block of L = seq_len rows satisfies 1 <= t <= L-2
 * (multi-positive) or t <= L-2 (single positive); L = N is the authors' flattened batch.
 *   multi:  num_a = l_{a-1} + l_a,  den_a = (C_{a-1} - l_{a-1}) + (C_a - l_{a-1} - l_a)
 *   single: num_a = l_a,            den_a = C_a - l_a
 *   loss = mean over anchors of (log den_a - log num_a)
 * Gradient: G = dL/dE; dS = G .* E / tau; dzh = (dS + dS^T) zh; then the normalisation's
 * backward, dz = (dzh - zh (zh . dzh)) / ||z|| (or dzh / eps where ||z|| <= eps).
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

static int is_anchor(int64_t a, int64_t L, int single) {
    int64_t t = a % L;
    return single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
}

dc_status ref_mpxent(dc_backend *be, const dc_kernel_args *a) {
    const int64_t N = a->in[0]->shape[0], F = a->in[0]->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = a->p.i[2] && a->n_out > 1 && a->out[1];
    const double tau = a->p.f[0], eps = a->p.f[1];
    double *z = ref_load(a->in[0]), *nrm = ref_zeros(N), *E = ref_zeros(N * N), *G = want ? ref_zeros(N * N) : NULL;
    double *Cc = ref_zeros(N), *den = ref_zeros(N), *num = ref_zeros(N), *dzh = ref_zeros(F), *dz = ref_zeros(N * F);
    dc_status st = DC_OK;
    if (!z || !nrm || !E || (want && !G) || !Cc || !den || !num || !dzh || !dz) {
        st = dc_last_status();
        goto done;
    }
    for (int64_t i = 0; i < N; i++) { /* z becomes zh */
        double s = 0;
        for (int64_t f = 0; f < F; f++) s += z[i * F + f] * z[i * F + f];
        nrm[i] = sqrt(s);
        double d = nrm[i] > eps ? nrm[i] : eps;
        for (int64_t f = 0; f < F; f++) z[i * F + f] /= d;
    }
    const double *zh = z;
#define EL(r, c) E[(r) * N + (c)]
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < N; c++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += zh[r * F + f] * zh[c * F + f];
            EL(r, c) = r == c ? 0.0 : exp((s - 1.0) / tau); /* the factor exp(-1/tau) cancels */
        }
    for (int64_t c = 0; c < N; c++)
        for (int64_t r = 0; r < N; r++) Cc[c] += EL(r, c);
    int64_t A = 0;
    double total = 0;
    for (int64_t k = 0; k < N; k++) {
        if (!is_anchor(k, L, single)) continue;
        if (single) {
            num[k] = EL(k + 1, k);
            den[k] = Cc[k] - EL(k + 1, k);
        } else {
            double lm = EL(k, k - 1), lp = EL(k + 1, k);
            num[k] = lm + lp;
            den[k] = (Cc[k - 1] - lm) + (Cc[k] - lm - lp);
        }
        total += log(den[k]) - log(num[k]);
        A++;
    }
    double loss = total / (double)A;
    ref_store(a->out[0], &loss);
    if (!want) goto done;
    /* G = dL/dE, entry by entry, exactly as the sums above read E */
    for (int64_t k = 0; k < N; k++) {
        if (!is_anchor(k, L, single)) continue;
        double w = 1.0 / ((double)A * den[k]), u = 1.0 / ((double)A * num[k]);
        if (single) {
            for (int64_t r = 0; r < N; r++) G[r * N + k] += w; /* C_k */
            G[(k + 1) * N + k] -= w + u;                       /* -l_k in den, l_k in num */
        } else {
            for (int64_t r = 0; r < N; r++) {
                G[r * N + (k - 1)] += w; /* C_{k-1} */
                G[r * N + k] += w;       /* C_k */
            }
            G[k * N + (k - 1)] -= 2 * w + u; /* l_{k-1}: twice in den, once in num */
            G[(k + 1) * N + k] -= w + u;     /* l_k: once in den, once in num */
        }
    }
    for (int64_t i = 0; i < N; i++) {
        for (int64_t f = 0; f < F; f++) dzh[f] = 0;
        for (int64_t c = 0; c < N; c++) {
            double wsym = (G[i * N + c] * EL(i, c) + G[c * N + i] * EL(c, i)) / tau;
            for (int64_t f = 0; f < F; f++) dzh[f] += wsym * zh[c * F + f];
        }
        double dot = 0;
        for (int64_t f = 0; f < F; f++) dot += zh[i * F + f] * dzh[f];
        for (int64_t f = 0; f < F; f++)
            dz[i * F + f] = nrm[i] > eps ? (dzh[f] - zh[i * F + f] * dot) / nrm[i] : dzh[f] / eps;
    }
#undef EL
    ref_store(a->out[1], dz);
done:
    free(z), free(nrm), free(E), free(G), free(Cc), free(den), free(num), free(dzh), free(dz);
    return st;
}
