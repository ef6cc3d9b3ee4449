/* ref_loss.c: log-softmax over the last axis (forward, backward), cross-entropy with its
 * gradient, MSE and binary cross-entropy on logits with its gradient, in float64.
 *   log_softmax(x)_c = x_c - log sum_k exp(x_k)            (max-shifted)
 *   backward: dx = gy - exp(y) sum_c gy_c
 *   CE = (1/R) sum_r [lse(x_r) - x_r[t_r]], dlogits = (softmax(x_r) - onehot(t_r)) / R;
 *        rows whose target is outside [0, C) add nothing and get a zero gradient
 *   MSE = mean (a - b)^2
 *   BCE = mean [max(x, 0) - x t + log(1 + exp(-|x|))], dx = (sigmoid(x) - t) / n
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

static int64_t numel(const dc_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* log sum_c exp(x_c) over one row, shifted by the row's maximum */
static double log_sum_exp(const double *x, int64_t C) {
    double m = x[0], s = 0;
    for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
    for (int64_t c = 0; c < C; c++) s += exp(x[c] - m);
    return m + log(s);
}

dc_status ref_log_softmax(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *t = a->in[0];
    const int64_t C = t->shape[t->ndim - 1], R = C ? numel(t) / C : 0;
    double *x = ref_load(t);
    if (!x) return dc_last_status();
    for (int64_t r = 0; r < R; r++) {
        double lse = log_sum_exp(x + r * C, C);
        for (int64_t c = 0; c < C; c++) x[r * C + c] -= lse;
    }
    ref_store(a->out[0], x);
    free(x);
    return DC_OK;
}

dc_status ref_log_softmax_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *t = a->in[1];
    const int64_t C = t->shape[t->ndim - 1], R = C ? numel(t) / C : 0;
    double *gy = ref_load(a->in[0]), *y = ref_load(t);
    if (!gy || !y) {
        free(gy), free(y);
        return dc_last_status();
    }
    for (int64_t r = 0; r < R; r++) {
        double s = 0;
        for (int64_t c = 0; c < C; c++) s += gy[r * C + c];
        for (int64_t c = 0; c < C; c++) gy[r * C + c] -= exp(y[r * C + c]) * s;
    }
    ref_store(a->out[0], gy);
    free(gy), free(y);
    return DC_OK;
}

dc_status ref_cross_entropy(dc_backend *be, const dc_kernel_args *a) {
    const int64_t R = a->in[0]->shape[0], C = a->in[0]->shape[1];
    double *x = ref_load(a->in[0]), *t = ref_load(a->in[1]), *d = ref_zeros(R * C);
    if (!x || !t || !d) {
        free(x), free(t), free(d);
        return dc_last_status();
    }
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        const int64_t target = (int64_t)t[r];
        if (target < 0 || target >= C) continue;
        double lse = log_sum_exp(x + r * C, C);
        total += lse - x[r * C + target];
        for (int64_t c = 0; c < C; c++) d[r * C + c] = (exp(x[r * C + c] - lse) - (c == target ? 1.0 : 0.0)) / (double)R;
    }
    double loss = total / (double)R;
    ref_store(a->out[0], &loss);
    if (a->n_out > 1 && a->out[1]) ref_store(a->out[1], d);
    free(x), free(t), free(d);
    return DC_OK;
}

dc_status ref_mse(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = numel(a->in[0]);
    double *x = ref_load(a->in[0]), *y = ref_load(a->in[1]);
    if (!x || !y) {
        free(x), free(y);
        return dc_last_status();
    }
    double s = 0;
    for (int64_t k = 0; k < n; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
    double loss = s / (double)n;
    ref_store(a->out[0], &loss);
    free(x), free(y);
    return DC_OK;
}

dc_status ref_bce_logits(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = numel(a->in[0]);
    double *x = ref_load(a->in[0]), *t = ref_load(a->in[1]);
    if (!x || !t) {
        free(x), free(t);
        return dc_last_status();
    }
    double s = 0;
    for (int64_t k = 0; k < n; k++) {
        s += (x[k] > 0 ? x[k] : 0) - x[k] * t[k] + log1p(exp(-fabs(x[k])));
        x[k] = (1.0 / (1.0 + exp(-x[k])) - t[k]) / (double)n; /* x becomes dx */
    }
    double loss = s / (double)n;
    ref_store(a->out[0], &loss);
    if (a->n_out > 1 && a->out[1]) ref_store(a->out[1], x);
    free(x), free(t);
    return DC_OK;
}
