/* composite_loss.c: composites of log-softmax (forward, backward) and of the losses
 * cross-entropy, MSE and BCE on logits, with the kernels' semantics (cpu_loss.c): row max
 * shift for stability, cross-entropy rows with a target outside [0, C) contribute nothing,
 * and the fused gradients the losses return. Not here: MP-Xent (composite_mpxent.c).
 */
#include "composite.h"

/* y = x - m - log(sum exp(x - m)) over the last axis, m the row maximum */
static dc_tensor *log_softmax_rows(dc_ctx *ctx, dc_tensor *x) {
    dc_tensor *xs = dc_sub(ctx, x, dc_cx_rowmax(ctx, x));
    return dc_sub(ctx, xs, dc_log(ctx, dc_cx_rowsum(ctx, dc_exp(ctx, xs))));
}

dc_status dc_cx_log_softmax(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    return dc_cx_store(ctx, a->out[0], log_softmax_rows(ctx, dc_cx_rows(ctx, dc_cx_in(a, 0), x->shape[x->ndim - 1])));
}

/* dx = gy - exp(y) rowsum(gy) */
dc_status dc_cx_log_softmax_back(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *y0 = a->in[1];
    const int64_t C = y0->shape[y0->ndim - 1];
    dc_tensor *gy = dc_cx_rows(ctx, dc_cx_in(a, 0), C), *y = dc_cx_rows(ctx, dc_cx_in(a, 1), C);
    return dc_cx_store(ctx, a->out[0], dc_sub(ctx, gy, dc_mul(ctx, dc_exp(ctx, y), dc_cx_rowsum(ctx, gy))));
}

/* in: logits (R, C), targets i32 (R) -> loss = -(1/R) sum_r onehot_r . log_softmax_r,
 * dlogits = (softmax - onehot) / R on rows with a valid target, 0 on the others */
dc_status dc_cx_cross_entropy(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *x = dc_cx_in(a, 0);
    const int64_t R = x->shape[0], C = x->shape[1];
    dc_tensor *ls = log_softmax_rows(ctx, x);
    dc_tensor *oh = dc_cx_onehot(ctx, x->dtype, dc_cx_in(a, 1), C);
    dc_tensor *loss = dc_scale(ctx, dc_sum_all(ctx, dc_mul(ctx, oh, ls)), -1.0 / (double)R);
    dc_status st = dc_cx_store(ctx, a->out[0], loss);
    if (st != DC_OK || !a->out[1]) return st;
    dc_tensor *valid = dc_cx_rowsum(ctx, oh); /* (R, 1): 1 or 0 */
    dc_tensor *dl = dc_scale(ctx, dc_sub(ctx, dc_mul(ctx, dc_exp(ctx, ls), valid), oh), 1.0 / (double)R);
    return dc_cx_store(ctx, a->out[1], dl);
}

/* mean((a - b)^2) over all elements */
dc_status dc_cx_mse(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *d = dc_sub(ctx, dc_cx_in(a, 0), dc_cx_in(a, 1));
    dc_tensor *sq = dc_mul(ctx, d, d);
    dc_tensor *mean = sq ? dc_scale(ctx, dc_sum_all(ctx, sq), 1.0 / (double)dc_tensor_numel(sq)) : NULL;
    return dc_cx_store(ctx, a->out[0], mean);
}

/* in: x, t (same shape) -> loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))),
 * dx = (sigmoid(x) - t) / n */
dc_status dc_cx_bce_logits(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *x = dc_cx_in(a, 0), *t = dc_cx_in(a, 1);
    const double inv_n = 1.0 / (double)dc_tensor_numel(x);
    dc_tensor *soft = dc_log(ctx, dc_affine(ctx, dc_exp(ctx, dc_scale(ctx, dc_cx_abs(ctx, x), -1.0)), 1.0, 1.0));
    dc_tensor *e = dc_add(ctx, dc_sub(ctx, dc_relu(ctx, x), dc_mul(ctx, x, t)), soft);
    dc_status st = dc_cx_store(ctx, a->out[0], dc_scale(ctx, dc_sum_all(ctx, e), inv_n));
    if (st != DC_OK || !a->out[1]) return st;
    return dc_cx_store(ctx, a->out[1], dc_scale(ctx, dc_sub(ctx, dc_sigmoid(ctx, x), t), inv_n));
}
