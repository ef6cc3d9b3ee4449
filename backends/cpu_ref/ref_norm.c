/* ref_norm.c: batch normalisation over the rows of (R, C) with optional fused ReLU, and
 * row-wise L2 normalisation, forward and backward, in float64 (PyTorch semantics).
 *
 * BatchNorm training: mu_c = mean_r x_rc, var_c = mean_r (x_rc - mu_c)^2 (biased),
 *   istd_c = 1 / sqrt(var_c + eps), y = gamma (x - mu) istd + beta (then ReLU if fused);
 *   running stats, in place: rm = (1 - m) rm + m mu, rv = (1 - m) rv + m var R / (R - 1).
 * Eval: mu = rm, istd = 1 / sqrt(rv + eps).
 * Backward with g = gy (zero where the fused ReLU output is not positive), xh = (x - mu) istd:
 *   dbeta = sum_r g, dgamma = sum_r g xh,
 *   dx = gamma istd (g - dbeta / R - xh dgamma / R)  (training),  gamma istd g  (eval).
 * L2 norm: y = x / max(||x||, eps), norms = ||x||;
 *   dx = (gy - y (y . gy)) / ||x|| when ||x|| > eps, else gy / eps.
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

static int64_t last_dim(const dc_tensor *t) { return t->shape[t->ndim - 1]; }
static int64_t rows(const dc_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim - 1; d++) n *= t->shape[d];
    return n;
}

void ref_bn_forward(int training, int relu, double mom, double eps, int64_t R, int64_t C, const double *x,
                    const double *gamma, const double *beta, double *rm, double *rv, double *y, double *mean,
                    double *istd) {
    for (int64_t c = 0; c < C; c++) {
        if (training) {
            double s = 0, ss = 0;
            for (int64_t r = 0; r < R; r++) s += x[r * C + c];
            double mu = s / (double)R;
            for (int64_t r = 0; r < R; r++) ss += (x[r * C + c] - mu) * (x[r * C + c] - mu);
            double var = ss / (double)R;
            mean[c] = mu;
            istd[c] = 1.0 / sqrt(var + eps);
            rm[c] = (1.0 - mom) * rm[c] + mom * mu;
            rv[c] = (1.0 - mom) * rv[c] + mom * var * (double)R / (double)(R - 1);
        } else {
            mean[c] = rm[c];
            istd[c] = 1.0 / sqrt(rv[c] + eps);
        }
        for (int64_t r = 0; r < R; r++) {
            double v = gamma[c] * (x[r * C + c] - mean[c]) * istd[c] + beta[c];
            y[r * C + c] = (relu && v < 0) ? 0 : v;
        }
    }
}

void ref_bn_backward(int training, int relu, int64_t R, int64_t C, double *gy, const double *x, const double *y,
                     const double *gamma, const double *mean, const double *istd, double *dx, double *dgamma,
                     double *dbeta) {
    for (int64_t k = 0; k < R * C; k++)
        if (relu && !(y[k] > 0)) gy[k] = 0; /* the fused ReLU passes no gradient where it clipped */
    for (int64_t c = 0; c < C; c++) {
        dgamma[c] = dbeta[c] = 0;
        for (int64_t r = 0; r < R; r++) {
            double xh = (x[r * C + c] - mean[c]) * istd[c];
            dbeta[c] += gy[r * C + c];
            dgamma[c] += gy[r * C + c] * xh;
        }
        for (int64_t r = 0; r < R; r++) {
            double xh = (x[r * C + c] - mean[c]) * istd[c], g = gy[r * C + c];
            dx[r * C + c] = training ? gamma[c] * istd[c] * (g - dbeta[c] / (double)R - xh * dgamma[c] / (double)R)
                                     : gamma[c] * istd[c] * g;
        }
    }
}

dc_status ref_batchnorm(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const int64_t C = last_dim(a->in[0]), R = rows(a->in[0]);
    double *x = ref_load(a->in[0]), *gamma = ref_load(a->in[1]), *beta = ref_load(a->in[2]);
    double *rm = ref_load(a->in[3]), *rv = ref_load(a->in[4]);
    double *y = ref_zeros(R * C), *mean = ref_zeros(C), *istd = ref_zeros(C);
    dc_status st = DC_OK;
    if (!x || !gamma || !beta || !rm || !rv || !y || !mean || !istd) {
        st = dc_last_status();
        goto done;
    }
    ref_bn_forward(training, relu, a->p.f[0], a->p.f[1], R, C, x, gamma, beta, rm, rv, y, mean, istd);
    if (training) { /* the running statistics are updated in place */
        ref_store((dc_tensor *)a->in[3], rm);
        ref_store((dc_tensor *)a->in[4], rv);
    }
    ref_store(a->out[0], y);
    ref_store(a->out[1], mean);
    ref_store(a->out[2], istd);
done:
    free(x), free(gamma), free(beta), free(rm), free(rv), free(y), free(mean), free(istd);
    return st;
}

dc_status ref_batchnorm_back(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const int64_t C = last_dim(a->in[1]), R = rows(a->in[1]);
    double *gy = ref_load(a->in[0]), *x = ref_load(a->in[1]), *y = ref_load(a->in[2]);
    double *gamma = ref_load(a->in[3]), *mean = ref_load(a->in[4]), *istd = ref_load(a->in[5]);
    double *dx = ref_zeros(R * C), *dgamma = ref_zeros(C), *dbeta = ref_zeros(C);
    dc_status st = DC_OK;
    if (!gy || !x || !y || !gamma || !mean || !istd || !dx || !dgamma || !dbeta) {
        st = dc_last_status();
        goto done;
    }
    ref_bn_backward(training, relu, R, C, gy, x, y, gamma, mean, istd, dx, dgamma, dbeta);
    ref_store(a->out[0], dx);
    ref_store(a->out[1], dgamma);
    ref_store(a->out[2], dbeta);
done:
    free(gy), free(x), free(y), free(gamma), free(mean), free(istd), free(dx), free(dgamma), free(dbeta);
    return st;
}

dc_status ref_l2norm(dc_backend *be, const dc_kernel_args *a) {
    const double eps = a->p.f[0];
    const int64_t F = last_dim(a->in[0]), R = rows(a->in[0]);
    double *x = ref_load(a->in[0]), *norms = ref_zeros(R);
    if (!x || !norms) {
        free(x), free(norms);
        return dc_last_status();
    }
    for (int64_t r = 0; r < R; r++) {
        double s = 0;
        for (int64_t f = 0; f < F; f++) s += x[r * F + f] * x[r * F + f];
        norms[r] = sqrt(s);
        double d = norms[r] > eps ? norms[r] : eps;
        for (int64_t f = 0; f < F; f++) x[r * F + f] /= d;
    }
    ref_store(a->out[0], x);
    ref_store(a->out[1], norms);
    free(x), free(norms);
    return DC_OK;
}

dc_status ref_l2norm_back(dc_backend *be, const dc_kernel_args *a) {
    const double eps = a->p.f[0];
    const int64_t F = last_dim(a->in[1]), R = rows(a->in[1]);
    double *gy = ref_load(a->in[0]), *y = ref_load(a->in[1]), *norms = ref_load(a->in[2]);
    if (!gy || !y || !norms) {
        free(gy), free(y), free(norms);
        return dc_last_status();
    }
    for (int64_t r = 0; r < R; r++) {
        double dot = 0;
        for (int64_t f = 0; f < F; f++) dot += y[r * F + f] * gy[r * F + f];
        for (int64_t f = 0; f < F; f++)
            gy[r * F + f] = norms[r] > eps ? (gy[r * F + f] - y[r * F + f] * dot) / norms[r] : gy[r * F + f] / eps;
    }
    ref_store(a->out[0], gy);
    free(gy), free(y), free(norms);
    return DC_OK;
}
