/* ref_fused.c: the fused encoder layer and DynaCL-M's margin loss, in float64.
 *
 * LINEAR_BN: h = x W^T + b (x (R, K), W (C, K)), then BatchNorm of h (ref_bn_forward);
 *   outputs y, h, mean, istd.
 * LINEAR_BN_BACK: dh = BatchNorm's backward for (gy, h, y); ADDS dW += dh^T x, db += sum_r dh,
 *   dgamma += .., dbeta += ..; writes dx = dh W when asked.
 * MARGIN (docs/METHOD.md §4.4): zh = rows of z normalised by max(||z||, eps), S = zh zh^T,
 *   h = max(0, Mg - S), k = gamma / (2 tau), x_rc = exp(k (Y_c h_rc^2 - (1 - Y_c) S_rc^2)),
 *   Cx_c = sum over r != c of x_rc, l_j = exp(S_{j+1,j} / tau); anchors a at positions
 *   1..L-2 of their block of L rows: num_a = l_{a-1} + l_a, den_a = Cx_{a-1} + Cx_a - l_{a-1};
 *   loss = mean over anchors of log den_a - log num_a.
 *   Gradient, each S_rc read as its own variable: dL/dx_rc = w_c (r != c) with w_c the sum of
 *   1/(A den_a) over the anchors whose den holds Cx_c; dx_rc/dS_rc = x_rc k (-2 Y_c h_rc
 *   - 2 (1 - Y_c) S_rc) (h_rc is 0 where the hinge is flat); dL/dl_j from num and den, and
 *   dl_j/dS_{j+1,j} = l_j / tau. Then dzh = (G + G^T) zh and the normalisation's backward.
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

dc_status ref_linear_bn(dc_backend *be, const dc_kernel_args *a) {
    const int64_t R = a->in[0]->shape[0], K = a->in[0]->shape[1], C = a->in[1]->shape[0];
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    double *x = ref_load(a->in[0]), *W = ref_load(a->in[1]), *b = ref_load(a->in[2]), *gamma = ref_load(a->in[3]);
    double *beta = ref_load(a->in[4]), *rm = ref_load(a->in[5]), *rv = ref_load(a->in[6]);
    double *h = ref_zeros(R * C), *y = ref_zeros(R * C), *mean = ref_zeros(C), *istd = ref_zeros(C);
    dc_status st = DC_OK;
    if (!x || !W || !b || !gamma || !beta || !rm || !rv || !h || !y || !mean || !istd) {
        st = dc_last_status();
        goto done;
    }
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < C; c++) {
            double s = b[c];
            for (int64_t k = 0; k < K; k++) s += x[r * K + k] * W[c * K + k];
            h[r * C + c] = s;
        }
    ref_store(a->out[1], h);
    /* BatchNorm reads h as stored, as the composite's BATCHNORM does */
    free(h);
    if (!(h = ref_load(a->out[1]))) {
        st = dc_last_status();
        goto done;
    }
    ref_bn_forward(training, relu, a->p.f[0], a->p.f[1], R, C, h, gamma, beta, rm, rv, y, mean, istd);
    if (training) { /* the running statistics are updated in place */
        ref_store((dc_tensor *)a->in[5], rm);
        ref_store((dc_tensor *)a->in[6], rv);
    }
    ref_store(a->out[0], y);
    ref_store(a->out[2], mean);
    ref_store(a->out[3], istd);
done:
    free(x), free(W), free(b), free(gamma), free(beta), free(rm), free(rv), free(h), free(y), free(mean), free(istd);
    return st;
}

dc_status ref_linear_bn_back(dc_backend *be, const dc_kernel_args *a) {
    const int64_t R = a->in[1]->shape[0], K = a->in[1]->shape[1], C = a->in[2]->shape[0];
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    double *gy = ref_load(a->in[0]), *x = ref_load(a->in[1]), *W = ref_load(a->in[2]), *h = ref_load(a->in[3]);
    double *y = ref_load(a->in[4]), *gamma = ref_load(a->in[5]), *mean = ref_load(a->in[6]), *istd = ref_load(a->in[7]);
    double *dW = ref_load(a->out[0]), *db = ref_load(a->out[1]), *dgamma = ref_load(a->out[2]), *dbeta = ref_load(a->out[3]);
    double *dh = ref_zeros(R * C), *dg = ref_zeros(C), *dbt = ref_zeros(C), *dx = a->out[4] ? ref_zeros(R * K) : NULL;
    dc_status st = DC_OK;
    if (!gy || !x || !W || !h || !y || !gamma || !mean || !istd || !dW || !db || !dgamma || !dbeta || !dh || !dg ||
        !dbt || (a->out[4] && !dx)) {
        st = dc_last_status();
        goto done;
    }
    ref_bn_backward(training, relu, R, C, gy, h, y, gamma, mean, istd, dh, dg, dbt);
    for (int64_t c = 0; c < C; c++) {
        dgamma[c] += dg[c];
        dbeta[c] += dbt[c];
        for (int64_t r = 0; r < R; r++) db[c] += dh[r * C + c];
        for (int64_t k = 0; k < K; k++) {
            double s = 0;
            for (int64_t r = 0; r < R; r++) s += dh[r * C + c] * x[r * K + k];
            dW[c * K + k] += s;
        }
    }
    ref_store(a->out[0], dW);
    ref_store(a->out[1], db);
    ref_store(a->out[2], dgamma);
    ref_store(a->out[3], dbeta);
    if (dx) {
        for (int64_t r = 0; r < R; r++)
            for (int64_t k = 0; k < K; k++) {
                double s = 0;
                for (int64_t c = 0; c < C; c++) s += dh[r * C + c] * W[c * K + k];
                dx[r * K + k] = s;
            }
        ref_store(a->out[4], dx);
    }
done:
    free(gy), free(x), free(W), free(h), free(y), free(gamma), free(mean), free(istd);
    free(dW), free(db), free(dgamma), free(dbeta), free(dh), free(dg), free(dbt), free(dx);
    return st;
}

static int margin_anchor(int64_t a, int64_t L) {
    int64_t t = a % L;
    return t >= 1 && t <= L - 2;
}

dc_status ref_margin(dc_backend *be, const dc_kernel_args *a) {
    const int64_t N = a->in[0]->shape[0], F = a->in[0]->shape[1], L = a->p.i[0] > 0 ? a->p.i[0] : N;
    const int want = a->p.i[2] && a->n_out > 1 && a->out[1];
    const double tau = a->p.f[0], Mg = a->p.f[1], k = 0.5 * a->p.f[2] / tau, eps = a->p.f[3];
    double *z = ref_load(a->in[0]), *Y = ref_load(a->in[1]), *nrm = ref_zeros(N), *S = ref_zeros(N * N);
    double *X = ref_zeros(N * N), *Cx = ref_zeros(N), *l = ref_zeros(N), *den = ref_zeros(N), *num = ref_zeros(N);
    double *G = want ? ref_zeros(N * N) : NULL, *w = ref_zeros(N), *dl = ref_zeros(N), *dz = ref_zeros(N * F);
    dc_status st = DC_OK;
    if (!z || !Y || !nrm || !S || !X || !Cx || !l || !den || !num || (want && !G) || !w || !dl || !dz) {
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
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < N; c++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += zh[r * F + f] * zh[c * F + f];
            S[r * N + c] = s;
            double hh = Mg - s > 0 ? Mg - s : 0;
            X[r * N + c] = exp(k * (Y[c] * hh * hh - (1.0 - Y[c]) * s * s));
        }
    for (int64_t c = 0; c < N; c++)
        for (int64_t r = 0; r < N; r++)
            if (r != c) Cx[c] += X[r * N + c];
    for (int64_t j = 0; j + 1 < N; j++) l[j] = exp(S[(j + 1) * N + j] / tau);
    int64_t A = 0;
    double total = 0;
    for (int64_t q = 0; q < N; q++) {
        if (!margin_anchor(q, L)) continue;
        num[q] = l[q - 1] + l[q];
        den[q] = Cx[q - 1] + Cx[q] - l[q - 1];
        total += log(den[q]) - log(num[q]);
        A++;
    }
    double loss = total / (double)A;
    ref_store(a->out[0], &loss);
    if (!want) goto done;
    for (int64_t q = 0; q < N; q++) { /* dL/dCx_c = w_c, dL/dl_j = dl_j */
        if (!margin_anchor(q, L)) continue;
        double iden = 1.0 / ((double)A * den[q]), inum = 1.0 / ((double)A * num[q]);
        w[q - 1] += iden;
        w[q] += iden;
        dl[q - 1] += -iden - inum;
        dl[q] += -inum;
    }
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < N; c++) {
            if (r == c) continue;
            double s = S[r * N + c], hh = Mg - s > 0 ? Mg - s : 0;
            G[r * N + c] = w[c] * X[r * N + c] * k * (-2.0 * Y[c] * hh - 2.0 * (1.0 - Y[c]) * s);
        }
    for (int64_t j = 0; j + 1 < N; j++) G[(j + 1) * N + j] += dl[j] * l[j] / tau;
    for (int64_t i = 0; i < N; i++) { /* dzh_i = sum_c (G_ic + G_ci) zh_c, then the normalisation */
        double *g = dz + i * F, dot = 0;
        for (int64_t c = 0; c < N; c++) {
            double wsym = G[i * N + c] + G[c * N + i];
            for (int64_t f = 0; f < F; f++) g[f] += wsym * zh[c * F + f];
        }
        for (int64_t f = 0; f < F; f++) dot += zh[i * F + f] * g[f];
        for (int64_t f = 0; f < F; f++) g[f] = nrm[i] > eps ? (g[f] - zh[i * F + f] * dot) / nrm[i] : g[f] / eps;
    }
    ref_store(a->out[1], dz);
done:
    free(z), free(Y), free(nrm), free(S), free(X), free(Cx), free(l), free(den), free(num), free(G), free(w), free(dl);
    free(dz);
    return st;
}
