/* ops_fused.c: builders of the fused ops (LINEAR_BN, MARGIN), each with its composition from
 * generic ops for backends that lack the fused kernel: dc_backend_supports decides, so every
 * backend runs every method, and the parity suite compares a fused kernel with the reference
 * backend's composition. Not here: the backward rule of LINEAR_BN (backward.c).
 */
#include <stdlib.h>

#include "ops_common.h"

/* ---------------------------------------------------------------- LINEAR_BN */

static dc_tensor *linear_bn_composed(dc_ctx *ctx, dc_tensor *x, dc_tensor *W, dc_tensor *b, dc_tensor *gamma,
                                     dc_tensor *beta, dc_tensor *rm, dc_tensor *rv, const dc_bn_opts *o) {
    return dc_batchnorm(ctx, dc_add(ctx, dc_matmul(ctx, x, W, 0, 1), b), gamma, beta, rm, rv, o);
}

dc_tensor *dc_linear_bn(dc_ctx *ctx, dc_tensor *x, dc_tensor *W, dc_tensor *b, dc_tensor *gamma, dc_tensor *beta,
                        dc_tensor *run_mean, dc_tensor *run_var, const dc_bn_opts *opts) {
    const dc_op op = DC_OP_LINEAR_BN;
    DC_GUARD2(op, x, W);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x) || !dc_check_same_dtype(op, x, W)) return NULL;
    dc_bn_opts o = opts ? *opts : dc_bn_opts_default();
    if (!dc_backend_supports(ctx->be, op, x->dtype))
        return linear_bn_composed(ctx, x, W, b, gamma, beta, run_mean, run_var, &o);
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

/* Elements (r, c) of the (N, N) matrix E listed by idx_r*N + idx_c, as a vector. */
static dc_tensor *pick(dc_ctx *ctx, dc_tensor *E, const int32_t *flat_idx, int64_t n) {
    int64_t N = E->shape[0];
    dc_tensor *it = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, n}, flat_idx);
    dc_tensor *E3 = dc_reshape(ctx, E, 3, (int64_t[]){1, N * N, 1});
    dc_tensor *v = it ? dc_gather(ctx, E3, it) : NULL;
    return v ? dc_reshape(ctx, v, 1, &n) : NULL;
}

/* The margin loss from generic ops, on the N x N matrices (docs/METHOD.md §4.4): what a backend
 * without the MARGIN kernel runs, and the reference the kernel is checked against. */
static dc_tensor *margin_composed(dc_ctx *ctx, dc_tensor *z, dc_tensor *Y, double tau, double margin, double gamma,
                                  int64_t L) {
    int64_t N = z->shape[0];
    int32_t *idx = malloc((size_t)(2 * N) * sizeof *idx);
    uint8_t *skip = malloc((size_t)N);
    if (!idx || !skip) {
        free(idx), free(skip);
        dc_fail(DC_ERR_OOM, "margin loss: out of host memory");
        return NULL;
    }
    dc_tensor *zh = dc_l2norm(ctx, z, 1e-12);
    dc_tensor *S = dc_matmul(ctx, zh, zh, 0, 1);                         /* (N, N), diagonal included */
    dc_tensor *e = dc_exp(ctx, dc_scale(ctx, S, 1.0 / tau));
    /* m_rc = Y_c 0.5 max(0, Mg - S)^2 - (1 - Y_c) 0.5 S^2; x = exp(gamma m / tau) */
    dc_tensor *hinge = dc_relu(ctx, dc_affine(ctx, S, -1.0, margin));
    dc_tensor *Yr = dc_reshape(ctx, Y, 2, (int64_t[]){1, N});
    dc_tensor *pos = dc_mul(ctx, Yr, dc_mul(ctx, hinge, hinge));
    dc_tensor *neg = dc_mul(ctx, dc_affine(ctx, Yr, -1.0, 1.0), dc_mul(ctx, S, S));
    dc_tensor *x = dc_exp(ctx, dc_scale(ctx, dc_sub(ctx, pos, neg), 0.5 * gamma / tau));
    /* column sums without the diagonal, removed by subtraction as the authors do
     * (so an overflowed column gives inf - inf = NaN, as in their code with margin 100) */
    for (int64_t c = 0; c < N; c++) idx[c] = (int32_t)(c * N + c);
    dc_tensor *Cx = dc_sub(ctx, dc_sum(ctx, x, 0, 0), pick(ctx, x, idx, N));
    /* l_j = e(j+1, j), j = 0..N-2; anchors a = 1..N-2 use l_{a-1} = e(a, a-1), l_a = e(a+1, a) */
    for (int64_t j = 0; j + 1 < N; j++) idx[j] = (int32_t)((j + 1) * N + j);
    dc_tensor *l = pick(ctx, e, idx, N - 1);
    dc_tensor *lm = dc_slice(ctx, l, 0, 0, N - 2), *lp = dc_slice(ctx, l, 0, 1, N - 2);
    dc_tensor *num = dc_add(ctx, lm, lp);
    dc_tensor *den = dc_sub(ctx, dc_add(ctx, dc_slice(ctx, Cx, 0, 0, N - 2), dc_slice(ctx, Cx, 0, 1, N - 2)), lm);
    dc_tensor *terms = dc_sub(ctx, dc_log(ctx, den), dc_log(ctx, num)); /* -log(num / den), anchors 1..N-2 */
    int64_t A = 0;
    for (int64_t a = 1; a <= N - 2; a++) {
        int64_t t = a % L;
        skip[a - 1] = !(t >= 1 && t <= L - 2);
        A += !skip[a - 1];
    }
    dc_tensor *sum;
    if (A == N - 2) {
        sum = dc_sum_all(ctx, terms);
    } else {
        dc_tensor *sk = dc_tensor_from_host(ctx, DC_U8, 1, (int64_t[]){N - 2}, skip);
        sum = dc_sum_all(ctx, dc_masked_fill(ctx, terms, sk, 0.0));
    }
    free(idx);
    free(skip);
    return dc_scale(ctx, sum, 1.0 / (double)A);
}

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
    if (!dc_backend_supports(ctx->be, op, z->dtype)) {
        if (N * N > INT32_MAX) {
            dc_fail(DC_ERR_SHAPE, "margin loss: N = %lld rows is too many (N^2 must fit in 32 bits)", (long long)N);
            return NULL;
        }
        return margin_composed(ctx, z, Y, tau, margin, gamma, L);
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
