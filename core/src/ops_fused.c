/* ops_fused.c: builders of the fused ops LINEAR_BN (the encoder's block) and MARGIN (DynaCL-M's
 * loss). A backend without the kernel runs its composite (composite_fused.c, through
 * dc_run_kernel), so every backend runs every method. Not here: LINEAR_BN's backward rule
 * (backward.c).
 */
#include "ops_common.h"

/* ---------------------------------------------------------------- LINEAR_BN */

dc_tensor *dc_linear_bn(dc_ctx *ctx, dc_tensor *x, dc_tensor *W, dc_tensor *b, dc_tensor *gamma, dc_tensor *beta,
                        dc_tensor *run_mean, dc_tensor *run_var, const dc_bn_opts *opts) {
    const dc_op op = DC_OP_LINEAR_BN;
    DC_GUARD2(op, x, W);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x) || !dc_check_same_dtype(op, x, W)) return NULL;
    dc_bn_opts o = opts ? *opts : dc_bn_opts_default();
    if (x->ndim != 2 || W->ndim != 2 || W->shape[1] != x->shape[1])
        return dc_fail_op2(DC_ERR_SHAPE, op, "needs x (R, K) and W (C, K)", x, W);
    const int64_t R = x->shape[0], C = W->shape[0];
    if (!dc_check_channel_vec(op, b, W, "bias", C) || !dc_check_channel_vec(op, gamma, W, "gamma", C) ||
        !dc_check_channel_vec(op, beta, W, "beta", C) || !dc_check_channel_vec(op, run_mean, W, "running_mean", C) ||
        !dc_check_channel_vec(op, run_var, W, "running_var", C))
        return NULL;
    if (o.training && R < 2) return dc_fail_op1(DC_ERR_SHAPE, op, "training mode needs more than 1 row, got", x);
    if (!(o.eps > 0)) {
        dc_fail(DC_ERR_ARG, "linear_bn: eps must be > 0 (got %g)", o.eps);
        return NULL;
    }
    dc_tensor *xc = dc_contiguous(ctx, x), *Wc = dc_contiguous(ctx, W);
    dc_tensor *y = xc && Wc ? dc_tensor_new(ctx, x->dtype, 2, (int64_t[]){R, C}) : NULL;
    dc_tensor *h = y ? dc_tensor_new(ctx, x->dtype, 2, (int64_t[]){R, C}) : NULL;
    dc_tensor *mean = h ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    dc_tensor *istd = mean ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    if (!istd) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = o.training ? 1 : 0;
    p.i[1] = o.fuse_relu ? 1 : 0;
    p.f[0] = o.momentum;
    p.f[1] = o.eps;
    const dc_tensor *in[7] = {xc, Wc, b, gamma, beta, run_mean, run_var};
    dc_tensor *out[4] = {y, h, mean, istd};
    if (dc_run_kernel(ctx, op, 7, in, 4, out, &p) != DC_OK) return NULL;
    dc_tensor *ins[5] = {xc, Wc, b, gamma, beta};
    dc_node *n = dc_tape_record(ctx, op, y, 5, ins, &p);
    if (n) {
        n->aux[0] = h;
        n->aux[1] = mean;
        n->aux[2] = istd;
    }
    return y;
}

/* ---------------------------------------------------------------- MARGIN */

dc_tensor *dc_margin_loss(dc_ctx *ctx, dc_tensor *z, dc_tensor *Y, double tau, double margin, double gamma,
                          int64_t seq_len) {
    const dc_op op = DC_OP_MARGIN;
    DC_GUARD2(op, z, Y);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, z) || !dc_check_same_dtype(op, z, Y)) return NULL;
    int64_t N = z->ndim == 2 ? z->shape[0] : 0, L = seq_len ? seq_len : N;
    if (z->ndim != 2 || N < 3 || L < 3 || N % L != 0 || Y->ndim != 1 || Y->shape[0] != N) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "margin loss: z must be (N >= 3, F) with seq_len %lld dividing N and Y (N); got %s and %s",
                (long long)L, dc_tensor_describe(z, s1, sizeof s1), dc_tensor_describe(Y, s2, sizeof s2));
        return NULL;
    }
    if (!(tau > 0)) {
        dc_fail(DC_ERR_ARG, "margin loss: tau must be > 0 (got %g)", tau);
        return NULL;
    }
    int want = ctx->grad_enabled && (z->flags & DC_NEEDS_GRAD);
    dc_tensor *zc = dc_contiguous(ctx, z), *Yc = dc_contiguous(ctx, Y);
    dc_tensor *loss = zc && Yc ? dc_tensor_new(ctx, z->dtype, 0, NULL) : NULL;
    dc_tensor *dz = (loss && want) ? dc_tensor_new(ctx, z->dtype, 2, z->shape) : NULL;
    if (!loss || (want && !dz)) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = L;
    p.i[2] = want;
    p.f[0] = tau;
    p.f[1] = margin;
    p.f[2] = gamma;
    p.f[3] = 1e-12;
    const dc_tensor *in[2] = {zc, Yc};
    dc_tensor *out[2] = {loss, dz};
    if (dc_run_kernel(ctx, op, 2, in, 2, out, &p) != DC_OK) return NULL; /* out[1] NULL: loss only */
    dc_node *n = dc_tape_record(ctx, op, loss, 1, &zc, &p);               /* Y takes no gradient */
    if (n) n->aux[0] = dz;
    return loss;
}
