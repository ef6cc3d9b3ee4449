/* ref_elementwise.c: COPY, FILL, the broadcasting binary ops (ADD, SUB, MUL, DIV, ATAN2),
 * SCALE, MASKED_FILL, the unary activations and ACT_BACK, in float64.
 * Inputs of binary ops are views of the output's shape (stride 0 on broadcast axes), so
 * after ref_load both operands are arrays of the output's size.
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

static int64_t numel(const dc_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* out[k] = in[k] for every index k of the (common) shape; any dtype, both strided. */
dc_status ref_copy(dc_backend *be, const dc_kernel_args *a) {
    double *x = ref_load(a->in[0]);
    if (!x) return dc_last_status();
    ref_store(a->out[0], x);
    free(x);
    return DC_OK;
}

dc_status ref_fill(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *y = ref_zeros(n);
    if (!y) return dc_last_status();
    for (int64_t k = 0; k < n; k++) y[k] = a->p.f[0];
    ref_store(a->out[0], y);
    free(y);
    return DC_OK;
}

dc_status ref_binary(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *x = ref_load(a->in[0]), *y = ref_load(a->in[1]), *z = ref_zeros(n);
    if (!x || !y || !z) {
        free(x), free(y), free(z);
        return dc_last_status();
    }
    for (int64_t k = 0; k < n; k++) {
        switch (a->op) {
        case DC_OP_ADD: z[k] = x[k] + y[k]; break;
        case DC_OP_SUB: z[k] = x[k] - y[k]; break;
        case DC_OP_MUL: z[k] = x[k] * y[k]; break;
        case DC_OP_DIV: z[k] = x[k] / y[k]; break;
        default: z[k] = atan2(x[k], y[k]); break;
        }
    }
    ref_store(a->out[0], z);
    free(x), free(y), free(z);
    return DC_OK;
}

/* y = f0 * x + f1 */
dc_status ref_scale(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *x = ref_load(a->in[0]);
    if (!x) return dc_last_status();
    for (int64_t k = 0; k < n; k++) x[k] = a->p.f[0] * x[k] + a->p.f[1];
    ref_store(a->out[0], x);
    free(x);
    return DC_OK;
}

/* y = mask ? f0 : x, the mask a (broadcast) u8 view */
dc_status ref_masked_fill(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *x = ref_load(a->in[0]), *m = ref_load(a->in[1]);
    if (!x || !m) {
        free(x), free(m);
        return dc_last_status();
    }
    for (int64_t k = 0; k < n; k++)
        if (m[k] != 0) x[k] = a->p.f[0];
    ref_store(a->out[0], x);
    free(x), free(m);
    return DC_OK;
}

dc_status ref_unary(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *x = ref_load(a->in[0]);
    if (!x) return dc_last_status();
    for (int64_t k = 0; k < n; k++) {
        double v = x[k];
        switch (a->op) {
        case DC_OP_RELU: x[k] = v > 0 ? v : 0; break;
        case DC_OP_SIGMOID: x[k] = 1.0 / (1.0 + exp(-v)); break;
        case DC_OP_TANH: x[k] = tanh(v); break;
        case DC_OP_EXP: x[k] = exp(v); break;
        case DC_OP_SQRT: x[k] = sqrt(v); break;
        default: x[k] = log(v); break;
        }
    }
    ref_store(a->out[0], x);
    free(x);
    return DC_OK;
}

/* gx = gy * act'(x), written with the forward output y:
 * relu' = [y > 0], sigmoid' = y (1 - y), tanh' = 1 - y^2, exp' = y, sqrt' = 1 / (2 y) */
dc_status ref_act_back(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = numel(a->out[0]);
    double *gy = ref_load(a->in[0]), *y = ref_load(a->in[1]);
    if (!gy || !y) {
        free(gy), free(y);
        return dc_last_status();
    }
    for (int64_t k = 0; k < n; k++) {
        switch ((dc_op)a->p.i[0]) {
        case DC_OP_RELU: gy[k] = y[k] > 0 ? gy[k] : 0; break;
        case DC_OP_SIGMOID: gy[k] = gy[k] * y[k] * (1 - y[k]); break;
        case DC_OP_TANH: gy[k] = gy[k] * (1 - y[k] * y[k]); break;
        case DC_OP_SQRT: gy[k] = gy[k] / (2 * y[k]); break;
        default: gy[k] = gy[k] * y[k]; break;
        }
    }
    ref_store(a->out[0], gy);
    free(gy), free(y);
    return DC_OK;
}
