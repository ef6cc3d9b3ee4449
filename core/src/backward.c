/* backward.c: reverse-mode autodiff. Replays ctx's tape in reverse; each rule is written
 * with forward ops (so every backend gets gradients for free) plus a few *_BACK kernels
 * where a fused kernel is clearer or more stable (activations, batchnorm, l2norm,
 * log-softmax, max-pool). Losses with fused gradients (cross-entropy, MP-Xent) saved
 * dL/dinput in the forward pass; their rule only scales it by the upstream gradient.
 */
#include <string.h>

#include "ops_common.h"

/* Add g into t->grad. `fresh` means g is a temporary nobody else references, so an
 * intermediate tensor may adopt it instead of copying. */
static dc_status acc_grad(dc_ctx *ctx, dc_tensor *t, dc_tensor *g, int fresh) {
    if (!t || !(t->flags & DC_NEEDS_GRAD)) return DC_OK;
    if (!g) return dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_STATE, "backward: missing gradient");
    if (!dc_tensor_same_shape(g, t)) {
        g = dc_reshape(ctx, g, t->ndim, t->shape);
        if (!g) return dc_last_status();
    }
    if (g->dtype != t->dtype) return dc_fail(DC_ERR_DTYPE, "backward: gradient dtype differs from tensor");
    if (!t->grad) {
        if (t->node && fresh && dc_tensor_is_contiguous(g)) {
            t->grad = g;
            return DC_OK;
        }
        dc_ctx *owner = t->ctx ? t->ctx : ctx;
        t->grad = dc_tensor_new(owner, t->dtype, t->ndim, t->shape);
        if (!t->grad) return dc_last_status();
        const dc_tensor *in[1] = {g};
        return dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &t->grad, NULL);
    }
    /* t->grad += g, in place (ADD allows out == in0) */
    dc_tensor *gv = dc_tensor_is_contiguous(g) ? g : dc_contiguous(ctx, g);
    if (!gv) return dc_last_status();
    const dc_tensor *in[2] = {t->grad, gv};
    return dc_run_kernel(ctx, DC_OP_ADD, 2, in, 1, &t->grad, NULL);
}

/* t->grad += f0 * op(A) op(B), straight into an existing contiguous grad (beta = 1). */
static dc_status acc_matmul(dc_ctx *ctx, dc_tensor *t, dc_tensor *A, dc_tensor *B, int ta, int tb) {
    if (!(t->flags & DC_NEEDS_GRAD)) return DC_OK;
    if (t->grad && dc_tensor_is_contiguous(t->grad) && A->ndim == 2 && B->ndim == 2 && t->ndim == 2) {
        A = dc_contiguous(ctx, A);
        B = dc_contiguous(ctx, B);
        if (!A || !B) return dc_last_status();
        dc_op_params p = {{0}};
        p.i[0] = ta;
        p.i[1] = tb;
        p.i[2] = 1;
        p.i[3] = t->shape[0];
        p.i[4] = t->shape[1];
        p.i[5] = ta ? A->shape[0] : A->shape[1];
        p.f[0] = 1.0;
        p.f[1] = 1.0;
        const dc_tensor *in[2] = {A, B};
        return dc_run_kernel(ctx, DC_OP_MATMUL, 2, in, 1, &t->grad, &p);
    }
    return acc_grad(ctx, t, dc_matmul(ctx, A, B, ta, tb), 1);
}

/* The gradient gy scaled by a tensor saved in the forward pass: g = saved * gy. */
static dc_tensor *scaled_saved(dc_ctx *ctx, dc_tensor *saved, dc_tensor *gy) {
    return dc_mul(ctx, saved, gy);
}

static dc_tensor *inverse_permute(dc_ctx *ctx, dc_tensor *gy, const dc_node *n) {
    int inv[DC_MAX_DIMS];
    for (int i = 0; i < gy->ndim; i++) inv[n->p.i[i]] = i;
    return dc_permute(ctx, gy, inv);
}

/* Zeros shaped like x with gy copied into the slice [start, start+len) of axis. */
static dc_tensor *unslice(dc_ctx *ctx, dc_tensor *gy, const dc_tensor *x, int axis, int64_t start) {
    dc_tensor *g = dc_tensor_zeros(ctx, x->dtype, x->ndim, x->shape);
    dc_tensor *dst = g ? dc_view_slice(ctx, g, axis, start, gy->shape[axis]) : NULL;
    if (!dst) return NULL;
    const dc_tensor *in[1] = {gy};
    return dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &dst, NULL) == DC_OK ? g : NULL;
}

/* A constant (n/2+1, 2) tensor of per-bin weights: bins 0 and (even n) n/2 get (w_end_re,
 * w_end_im), the others (w_mid, w_mid). Made with FILL kernels on the device (no upload,
 * so a captured step can hold it). */
static dc_tensor *bin_weights(dc_ctx *ctx, dc_dtype dt, int64_t n, double w_end_re, double w_end_im, double w_mid) {
    int64_t nb = n / 2 + 1;
    dc_tensor *t = dc_tensor_full(ctx, dt, 2, (int64_t[]){nb, 2}, w_mid);
    for (int e = 0; t && e < (n % 2 == 0 && nb > 1 ? 2 : 1); e++) {
        dc_tensor *bin = dc_view_slice(ctx, t, 0, e ? nb - 1 : 0, 1);
        if (dc_tensor_fill(dc_view_slice(ctx, bin, 1, 0, 1), w_end_re) != DC_OK ||
            dc_tensor_fill(dc_view_slice(ctx, bin, 1, 1, 1), w_end_im) != DC_OK)
            return NULL;
    }
    return t;
}

static dc_status bn_backward(dc_ctx *ctx, dc_node *n, dc_tensor *gy) {
    dc_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    int64_t C = x->shape[x->ndim - 1];
    dc_tensor *dx = dc_tensor_new(ctx, x->dtype, x->ndim, x->shape);
    dc_tensor *dg = dx ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    dc_tensor *db = dg ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    if (!db) return dc_last_status();
    const dc_tensor *in[6] = {gy, x, n->out, gamma, n->aux[0], n->aux[1]};
    dc_tensor *out[3] = {dx, dg, db};
    dc_status st = dc_run_kernel(ctx, DC_OP_BATCHNORM_BACK, 6, in, 3, out, &n->p);
    if (st == DC_OK) st = acc_grad(ctx, x, dx, 1);
    if (st == DC_OK) st = acc_grad(ctx, gamma, dg, 1);
    if (st == DC_OK) st = acc_grad(ctx, beta, db, 1);
    return st;
}

/* A *_BACK kernel with inputs `in` producing one gradient shaped like `like`. */
static dc_tensor *back_kernel(dc_ctx *ctx, dc_op op, const dc_tensor *like, int n_in, const dc_tensor *const *in,
                              const dc_op_params *p) {
    dc_tensor *g = dc_tensor_new(ctx, like->dtype, like->ndim, like->shape);
    if (!g) return NULL;
    return dc_run_kernel(ctx, op, n_in, in, 1, &g, p) == DC_OK ? g : NULL;
}

static dc_status node_backward(dc_ctx *ctx, dc_node *n) {
    dc_tensor *gy = n->out->grad;
    dc_tensor *a = n->in[0], *b = n->n_in > 1 ? n->in[1] : NULL;
    switch (n->op) {
    case DC_OP_COPY:
        return acc_grad(ctx, a, dc_sum_to_shape(ctx, gy, a), 0);
    case DC_OP_RESHAPE:
        return acc_grad(ctx, a, dc_reshape(ctx, gy, a->ndim, a->shape), 0);
    case DC_OP_PERMUTE:
        return acc_grad(ctx, a, inverse_permute(ctx, gy, n), 1);
    case DC_OP_SLICE:
        return acc_grad(ctx, a, unslice(ctx, gy, a, (int)n->p.i[0], n->p.i[1]), 1);
    case DC_OP_CONCAT: {
        int axis = (int)n->p.i[0];
        int64_t at = 0;
        for (int i = 0; i < n->n_in; i++) {
            int64_t len = n->in[i]->shape[axis];
            dc_status st = acc_grad(ctx, n->in[i], dc_slice(ctx, gy, axis, at, len), 1);
            if (st != DC_OK) return st;
            at += len;
        }
        return DC_OK;
    }
    case DC_OP_ADD:
    case DC_OP_SUB: {
        dc_status st = acc_grad(ctx, a, dc_sum_to_shape(ctx, gy, a), 0);
        if (st != DC_OK || !(b->flags & DC_NEEDS_GRAD)) return st;
        dc_tensor *gb = dc_sum_to_shape(ctx, gy, b);
        if (n->op == DC_OP_SUB) return acc_grad(ctx, b, dc_scale(ctx, gb, -1.0), 1);
        return acc_grad(ctx, b, gb, 0);
    }
    case DC_OP_MUL: {
        dc_status st = DC_OK;
        if (a->flags & DC_NEEDS_GRAD) st = acc_grad(ctx, a, dc_sum_to_shape(ctx, dc_mul(ctx, gy, b), a), 1);
        if (st == DC_OK && (b->flags & DC_NEEDS_GRAD))
            st = acc_grad(ctx, b, dc_sum_to_shape(ctx, dc_mul(ctx, gy, a), b), 1);
        return st;
    }
    case DC_OP_DIV: { /* y = a / b: da = gy / b, db = -gy * y / b */
        dc_status st = DC_OK;
        if (a->flags & DC_NEEDS_GRAD) st = acc_grad(ctx, a, dc_sum_to_shape(ctx, dc_div(ctx, gy, b), a), 1);
        if (st == DC_OK && (b->flags & DC_NEEDS_GRAD)) {
            dc_tensor *t = dc_div(ctx, dc_mul(ctx, gy, n->out), b);
            st = acc_grad(ctx, b, dc_sum_to_shape(ctx, dc_scale(ctx, t, -1.0), b), 1);
        }
        return st;
    }
    case DC_OP_SCALE:
        return acc_grad(ctx, a, dc_scale(ctx, gy, n->p.f[0]), 1);
    case DC_OP_MASKED_FILL:
        return acc_grad(ctx, a, dc_masked_fill(ctx, gy, b, 0.0), 1);
    case DC_OP_RELU:
    case DC_OP_SIGMOID:
    case DC_OP_TANH:
    case DC_OP_EXP:
    case DC_OP_SQRT: {
        dc_op_params p = {{0}};
        p.i[0] = n->op;
        const dc_tensor *in[2] = {gy, n->out};
        return acc_grad(ctx, a, back_kernel(ctx, DC_OP_ACT_BACK, a, 2, in, &p), 1);
    }
    case DC_OP_LOG:
        return acc_grad(ctx, a, dc_div(ctx, gy, a), 1);
    case DC_OP_ATAN2: { /* y = atan2(a, b): da = gy b / (a^2 + b^2), db = -gy a / (a^2 + b^2) */
        dc_tensor *den = dc_add(ctx, dc_mul(ctx, a, a), dc_mul(ctx, b, b));
        dc_status st = DC_OK;
        if (a->flags & DC_NEEDS_GRAD) st = acc_grad(ctx, a, dc_sum_to_shape(ctx, dc_div(ctx, dc_mul(ctx, gy, b), den), a), 1);
        if (st == DC_OK && (b->flags & DC_NEEDS_GRAD)) {
            dc_tensor *t = dc_scale(ctx, dc_div(ctx, dc_mul(ctx, gy, a), den), -1.0);
            st = acc_grad(ctx, b, dc_sum_to_shape(ctx, t, b), 1);
        }
        return st;
    }
    case DC_OP_SUM:
    case DC_OP_MEAN: { /* broadcast gy (keepdim shape) back over the axis, times f0 */
        int64_t ks[DC_MAX_DIMS];
        for (int i = 0; i < a->ndim; i++) ks[i] = i == n->p.i[0] ? 1 : a->shape[i];
        dc_tensor *g = dc_reshape(ctx, gy, a->ndim, ks);
        g = dc_broadcast_to(ctx, g, a->ndim, a->shape);
        if (n->p.f[0] != 1.0) g = dc_scale(ctx, g, n->p.f[0]);
        return acc_grad(ctx, a, g, 1);
    }
    case DC_OP_MATMUL: {
        int ta = (int)n->p.i[0], tb = (int)n->p.i[1];
        dc_status st = DC_OK;
        if (a->flags & DC_NEEDS_GRAD) {
            if (!ta) st = acc_matmul(ctx, a, gy, b, 0, !tb);
            else st = acc_matmul(ctx, a, b, gy, tb, 1);
        }
        if (st == DC_OK && (b->flags & DC_NEEDS_GRAD)) {
            if (!tb) st = acc_matmul(ctx, b, a, gy, !ta, 0);
            else st = acc_matmul(ctx, b, gy, a, 1, ta);
        }
        return st;
    }
    case DC_OP_BATCHNORM:
        return bn_backward(ctx, n, gy);
    case DC_OP_L2NORM: {
        const dc_tensor *in[3] = {gy, n->out, n->aux[0]};
        return acc_grad(ctx, a, back_kernel(ctx, DC_OP_L2NORM_BACK, a, 3, in, &n->p), 1);
    }
    case DC_OP_LOG_SOFTMAX: {
        const dc_tensor *in[2] = {gy, n->out};
        return acc_grad(ctx, a, back_kernel(ctx, DC_OP_LOG_SOFTMAX_BACK, a, 2, in, NULL), 1);
    }
    case DC_OP_CROSS_ENTROPY:
    case DC_OP_BCE_LOGITS:
    case DC_OP_MPXENT:
        return acc_grad(ctx, a, scaled_saved(ctx, n->aux[0], gy), 1);
    case DC_OP_MSE: { /* d/da mean((a-b)^2) = 2 (a - b) / n */
        double k = 2.0 / (double)dc_tensor_numel(a);
        dc_tensor *g = dc_mul(ctx, dc_scale(ctx, dc_sub(ctx, a, b), k), gy);
        dc_status st = acc_grad(ctx, a, g, 0);
        if (st == DC_OK && (b->flags & DC_NEEDS_GRAD)) st = acc_grad(ctx, b, dc_scale(ctx, g, -1.0), 1);
        return st;
    }
    case DC_OP_MAXPOOL1D: {
        dc_op_params p = n->p;
        p.i[2] = a->shape[1];
        const dc_tensor *in[2] = {gy, n->aux[0]};
        return acc_grad(ctx, a, back_kernel(ctx, DC_OP_MAXPOOL1D_BACK, a, 2, in, &p), 1);
    }
    case DC_OP_GATHER: {
        const dc_tensor *in[2] = {gy, b};
        return acc_grad(ctx, a, back_kernel(ctx, DC_OP_GATHER_BACK, a, 2, in, NULL), 1);
    }
    case DC_OP_RFFT: { /* dx_j = sum_k Re(G_k e^{+2 pi i jk/n}): a c2r of G with the middle bins halved */
        int64_t len = n->p.i[0];
        dc_tensor *w = bin_weights(ctx, gy->dtype, len, 1.0, 1.0, 0.5);
        return acc_grad(ctx, a, dc_irfft_scaled(ctx, dc_mul(ctx, gy, w), len, 1.0, 0), 1);
    }
    case DC_OP_IRFFT: { /* dX_k = s c_k rfft(gy)_k, c = 1 at DC/Nyquist (whose Im is ignored), else 2 */
        int64_t len = n->p.i[0];
        double s = n->p.f[0];
        dc_tensor *w = bin_weights(ctx, gy->dtype, len, s, 0.0, 2.0 * s);
        return acc_grad(ctx, a, dc_mul(ctx, dc_rfft(ctx, gy), w), 1);
    }
    default:
        return dc_fail(DC_ERR_STATE, "backward: op %s has no backward rule", dc_op_name(n->op));
    }
}

dc_status dc_backward(dc_ctx *ctx, dc_tensor *loss) {
    if (!ctx || !loss) return dc_fail(DC_ERR_ARG, "backward: NULL ctx or loss");
    if (dc_tensor_numel(loss) != 1) {
        char s[160];
        return dc_fail(DC_ERR_SHAPE, "backward: loss must hold one element, got %s",
                       dc_tensor_describe(loss, s, sizeof s));
    }
    if (!(loss->flags & DC_NEEDS_GRAD))
        return dc_fail(DC_ERR_STATE, "backward: loss does not depend on any tensor that needs a gradient "
                                     "(was it computed with grad disabled?)");
    /* intermediate gradients restart from zero */
    for (int64_t i = 0; i < ctx->n_tape; i++) ctx->tape[i]->out->grad = NULL;
    int was = dc_ctx_set_grad_enabled(ctx, 0);
    dc_status st = DC_OK;
    dc_tensor *seed = dc_tensor_full(ctx, loss->dtype, loss->ndim, loss->shape, 1.0);
    if (!seed) st = dc_last_status();
    if (st == DC_OK) st = acc_grad(ctx, loss, seed, 1);
    int64_t start = ctx->n_tape - 1;
    while (start >= 0 && ctx->tape[start] != loss->node) start--;
    for (int64_t i = start; st == DC_OK && i >= 0; i--) {
        dc_node *n = ctx->tape[i];
        if (!n->out->grad) continue; /* not on the path to loss */
        st = node_backward(ctx, n);
        if (st != DC_OK) dc_fail_prefix("backward of %s", dc_op_name(n->op));
    }
    dc_ctx_set_grad_enabled(ctx, was);
    return st;
}

dc_status dc_grad_zero(dc_tensor *t) {
    if (!t) return dc_fail(DC_ERR_ARG, "grad_zero: tensor is NULL");
    return t->grad ? dc_tensor_fill(t->grad, 0.0) : DC_OK;
}
