/* ops_nn.c: builders for normalisation, softmax, losses (incl. MP-Xent), pooling and FFT.
 * Kernels that also produce what their backward needs save it as node aux tensors.
 */
#include <string.h>

#include "ops_common.h"

static int64_t rows_of(const dc_tensor *x) {
    return x->ndim ? dc_tensor_numel(x) / (x->shape[x->ndim - 1] ? x->shape[x->ndim - 1] : 1) : 1;
}

static int needs_record(dc_ctx *ctx, const dc_tensor *x) {
    return ctx->grad_enabled && (x->flags & DC_NEEDS_GRAD);
}

dc_bn_opts dc_bn_opts_default(void) {
    dc_bn_opts o = {1, 0, 0.1, 1e-5};
    return o;
}

static int check_channel_vec(dc_op op, const dc_tensor *v, const dc_tensor *x, const char *name, int64_t C) {
    if (!v) {
        if (dc_last_status() == DC_OK) dc_fail(DC_ERR_ARG, "%s: %s is NULL", dc_op_name(op), name);
        return 0;
    }
    if (v->ndim != 1 || v->shape[0] != C || v->dtype != x->dtype || !dc_tensor_is_contiguous(v)) {
        char s1[160], s2[160];
        dc_fail(DC_ERR_SHAPE, "%s: %s must be a contiguous (%lld) %s vector, got %s (x is %s)", dc_op_name(op),
                name, (long long)C, dc_dtype_name(x->dtype), dc_tensor_describe(v, s1, sizeof s1),
                dc_tensor_describe(x, s2, sizeof s2));
        return 0;
    }
    return 1;
}

dc_tensor *dc_batchnorm(dc_ctx *ctx, dc_tensor *x, dc_tensor *gamma, dc_tensor *beta, dc_tensor *run_mean,
                        dc_tensor *run_var, const dc_bn_opts *opts) {
    const dc_op op = DC_OP_BATCHNORM;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim < 2) return dc_fail_op1(DC_ERR_SHAPE, op, "needs (rows, channels), got", x);
    dc_bn_opts o = opts ? *opts : dc_bn_opts_default();
    int64_t C = x->shape[x->ndim - 1], R = rows_of(x);
    if (!check_channel_vec(op, gamma, x, "gamma", C) || !check_channel_vec(op, beta, x, "beta", C) ||
        !check_channel_vec(op, run_mean, x, "running_mean", C) || !check_channel_vec(op, run_var, x, "running_var", C))
        return NULL;
    if (o.training && R < 2)
        return dc_fail_op1(DC_ERR_SHAPE, op, "training mode needs more than 1 value per channel, got", x);
    if (!(o.eps > 0)) {
        dc_fail(DC_ERR_ARG, "batchnorm: eps must be > 0 (got %g)", o.eps);
        return NULL;
    }
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    dc_tensor *mean = y ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    dc_tensor *istd = mean ? dc_tensor_new(ctx, x->dtype, 1, &C) : NULL;
    if (!istd) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = o.training ? 1 : 0;
    p.i[1] = o.fuse_relu ? 1 : 0;
    p.i[2] = R;
    p.i[3] = C;
    p.f[0] = o.momentum;
    p.f[1] = o.eps;
    const dc_tensor *in[5] = {xc, gamma, beta, run_mean, run_var};
    dc_tensor *out[3] = {y, mean, istd};
    if (dc_run_kernel(ctx, op, 5, in, 3, out, &p) != DC_OK) return NULL;
    dc_tensor *ins[3] = {xc, gamma, beta};
    dc_node *n = dc_tape_record(ctx, op, y, 3, ins, &p);
    if (n) {
        n->aux[0] = mean;
        n->aux[1] = istd;
    }
    return y;
}

dc_tensor *dc_l2norm(dc_ctx *ctx, dc_tensor *x, double eps) {
    const dc_op op = DC_OP_L2NORM;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim < 1) return dc_fail_op1(DC_ERR_SHAPE, op, "needs at least one axis, got", x);
    if (!(eps > 0)) {
        dc_fail(DC_ERR_ARG, "l2norm: eps must be > 0 (got %g)", eps);
        return NULL;
    }
    int64_t R = rows_of(x);
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    dc_tensor *norms = y ? dc_tensor_new(ctx, x->dtype, 1, &R) : NULL;
    if (!norms) return NULL;
    dc_op_params p = {{0}};
    p.f[0] = eps;
    const dc_tensor *in[1] = {xc};
    dc_tensor *out[2] = {y, norms};
    if (dc_run_kernel(ctx, op, 1, in, 2, out, &p) != DC_OK) return NULL;
    dc_node *n = dc_tape_record(ctx, op, y, 1, &xc, &p);
    if (n) n->aux[0] = norms;
    return y;
}

dc_tensor *dc_log_softmax(dc_ctx *ctx, dc_tensor *x) {
    const dc_op op = DC_OP_LOG_SOFTMAX;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim < 1 || x->shape[x->ndim - 1] < 1)
        return dc_fail_op1(DC_ERR_SHAPE, op, "needs a non-empty last axis, got", x);
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    if (!y) return NULL;
    const dc_tensor *in[1] = {xc};
    if (dc_run_kernel(ctx, op, 1, in, 1, &y, NULL) != DC_OK) return NULL;
    dc_tape_record(ctx, op, y, 1, &xc, NULL);
    return y;
}

dc_tensor *dc_cross_entropy(dc_ctx *ctx, dc_tensor *logits, dc_tensor *targets) {
    const dc_op op = DC_OP_CROSS_ENTROPY;
    DC_GUARD2(op, logits, targets);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, logits)) return NULL;
    if (logits->ndim != 2 || logits->shape[1] < 1)
        return dc_fail_op1(DC_ERR_SHAPE, op, "logits must be (rows, classes), got", logits);
    if (targets->dtype != DC_I32) return dc_fail_op1(DC_ERR_DTYPE, op, "targets must be i32, got", targets);
    if (targets->ndim != 1 || targets->shape[0] != logits->shape[0])
        return dc_fail_op2(DC_ERR_SHAPE, op, "targets must be (rows) matching logits", logits, targets);
    if (logits->shape[0] < 1) return dc_fail_op1(DC_ERR_SHAPE, op, "needs at least one row, got", logits);
    dc_tensor *lc = dc_contiguous(ctx, logits), *tc = dc_contiguous(ctx, targets);
    dc_tensor *loss = (lc && tc) ? dc_tensor_new(ctx, logits->dtype, 0, NULL) : NULL;
    dc_tensor *dl = loss ? dc_tensor_new(ctx, logits->dtype, 2, logits->shape) : NULL;
    if (!dl) return NULL;
    const dc_tensor *in[2] = {lc, tc};
    dc_tensor *out[2] = {loss, dl};
    if (dc_run_kernel(ctx, op, 2, in, 2, out, NULL) != DC_OK) return NULL;
    dc_tensor *ins[2] = {lc, tc};
    dc_node *n = dc_tape_record(ctx, op, loss, 2, ins, NULL);
    if (n) n->aux[0] = dl;
    return loss;
}

dc_tensor *dc_mse(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) {
    const dc_op op = DC_OP_MSE;
    DC_GUARD2(op, a, b);
    if (!dc_check_ctx(ctx, op)) return NULL;
    if (!dc_check_float(op, a) || !dc_check_same_dtype(op, a, b)) return NULL;
    if (!dc_tensor_same_shape(a, b)) return dc_fail_op2(DC_ERR_SHAPE, op, "shapes differ", a, b);
    if (dc_tensor_numel(a) < 1) return dc_fail_op1(DC_ERR_SHAPE, op, "needs at least one element, got", a);
    dc_tensor *ac = dc_contiguous(ctx, a), *bc = dc_contiguous(ctx, b);
    dc_tensor *y = (ac && bc) ? dc_tensor_new(ctx, a->dtype, 0, NULL) : NULL;
    if (!y) return NULL;
    const dc_tensor *in[2] = {ac, bc};
    if (dc_run_kernel(ctx, op, 2, in, 1, &y, NULL) != DC_OK) return NULL;
    dc_tensor *ins[2] = {ac, bc};
    dc_tape_record(ctx, op, y, 2, ins, NULL);
    return y;
}

dc_tensor *dc_bce_logits(dc_ctx *ctx, dc_tensor *x, dc_tensor *targets) {
    const dc_op op = DC_OP_BCE_LOGITS;
    DC_GUARD2(op, x, targets);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x) || !dc_check_same_dtype(op, x, targets)) return NULL;
    if (!dc_tensor_same_shape(x, targets)) return dc_fail_op2(DC_ERR_SHAPE, op, "logits and targets differ", x, targets);
    if (dc_tensor_numel(x) < 1) return dc_fail_op1(DC_ERR_SHAPE, op, "needs at least one element, got", x);
    dc_tensor *xc = dc_contiguous(ctx, x), *tc = dc_contiguous(ctx, targets);
    dc_tensor *loss = (xc && tc) ? dc_tensor_new(ctx, x->dtype, 0, NULL) : NULL;
    dc_tensor *dx = loss ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    if (!dx) return NULL;
    const dc_tensor *in[2] = {xc, tc};
    dc_tensor *out[2] = {loss, dx};
    if (dc_run_kernel(ctx, op, 2, in, 2, out, NULL) != DC_OK) return NULL;
    dc_tensor *ins[1] = {xc}; /* targets take no gradient */
    dc_node *n = dc_tape_record(ctx, op, loss, 1, ins, NULL);
    if (n) n->aux[0] = dx;
    return loss;
}

dc_tensor *dc_gather(dc_ctx *ctx, dc_tensor *x, dc_tensor *idx) {
    const dc_op op = DC_OP_GATHER;
    DC_GUARD2(op, x, idx);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim != 3) return dc_fail_op1(DC_ERR_SHAPE, op, "x must be (B, T, C), got", x);
    if (idx->dtype != DC_I32) return dc_fail_op1(DC_ERR_DTYPE, op, "indices must be i32, got", idx);
    if (idx->ndim != 2 || (idx->shape[0] != x->shape[0] && idx->shape[0] != 1))
        return dc_fail_op2(DC_ERR_SHAPE, op, "indices must be (B, To) or (1, To)", x, idx);
    dc_tensor *xc = dc_contiguous(ctx, x), *ic = dc_contiguous(ctx, idx);
    int64_t shape[3] = {x->shape[0], idx->shape[1], x->shape[2]};
    dc_tensor *y = (xc && ic) ? dc_tensor_new(ctx, x->dtype, 3, shape) : NULL;
    if (!y) return NULL;
    const dc_tensor *in[2] = {xc, ic};
    if (dc_run_kernel(ctx, op, 2, in, 1, &y, NULL) != DC_OK) return NULL;
    dc_tensor *ins[2] = {xc, ic};
    dc_tape_record(ctx, op, y, 2, ins, NULL);
    return y;
}

dc_mpxent_opts dc_mpxent_opts_default(void) {
    dc_mpxent_opts o = {0.5, 0, 0};
    return o;
}

dc_tensor *dc_mpxent(dc_ctx *ctx, dc_tensor *z, const dc_mpxent_opts *opts) {
    const dc_op op = DC_OP_MPXENT;
    DC_GUARD1(op, z);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, z)) return NULL;
    if (z->ndim != 2) return dc_fail_op1(DC_ERR_SHAPE, op, "z must be (N, F), got", z);
    dc_mpxent_opts o = opts ? *opts : dc_mpxent_opts_default();
    int64_t N = z->shape[0];
    int64_t L = o.seq_len ? o.seq_len : N;
    if (!(o.tau > 0)) {
        dc_fail(DC_ERR_ARG, "mpxent: tau must be > 0 (got %g)", o.tau);
        return NULL;
    }
    if (L <= 0 || N % L != 0) {
        char s[160];
        dc_fail(DC_ERR_SHAPE, "mpxent: seq_len %lld does not divide the %lld rows of %s", (long long)L,
                (long long)N, dc_tensor_describe(z, s, sizeof s));
        return NULL;
    }
    int64_t min_len = o.single_positive ? 2 : 3;
    if (L < min_len) {
        char s[160];
        dc_fail(DC_ERR_SHAPE, "mpxent: sequences of %lld rows have no anchor (need >= %lld) in %s", (long long)L,
                (long long)min_len, dc_tensor_describe(z, s, sizeof s));
        return NULL;
    }
    int want = needs_record(ctx, z);
    dc_tensor *zc = dc_contiguous(ctx, z);
    dc_tensor *loss = zc ? dc_tensor_new(ctx, z->dtype, 0, NULL) : NULL;
    dc_tensor *dz = (loss && want) ? dc_tensor_new(ctx, z->dtype, 2, z->shape) : NULL;
    if (!loss || (want && !dz)) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = L;
    p.i[1] = o.single_positive ? 1 : 0;
    p.i[2] = want;
    p.f[0] = o.tau;
    p.f[1] = 1e-12;
    const dc_tensor *in[1] = {zc};
    dc_tensor *out[2] = {loss, dz};
    if (dc_run_kernel(ctx, op, 1, in, 2, out, &p) != DC_OK) return NULL;   /* out[1] NULL: loss only */
    dc_node *n = dc_tape_record(ctx, op, loss, 1, &zc, &p);
    if (n) n->aux[0] = dz;
    return loss;
}

dc_tensor *dc_maxpool1d(dc_ctx *ctx, dc_tensor *x, int64_t kernel, int64_t stride) {
    const dc_op op = DC_OP_MAXPOOL1D;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim != 3) return dc_fail_op1(DC_ERR_SHAPE, op, "x must be (B, T, C), got", x);
    int64_t T = x->shape[1];
    if (kernel < 1 || stride < 1 || kernel > T) {
        char s[160];
        dc_fail(DC_ERR_ARG, "maxpool1d: kernel %lld / stride %lld invalid for %s (need 1 <= kernel <= T, stride >= 1)",
                (long long)kernel, (long long)stride, dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    int64_t shape[3] = {x->shape[0], (T - kernel) / stride + 1, x->shape[2]};
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, 3, shape) : NULL;
    dc_tensor *idx = y ? dc_tensor_new(ctx, DC_I32, 3, shape) : NULL;
    if (!idx) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = kernel;
    p.i[1] = stride;
    const dc_tensor *in[1] = {xc};
    dc_tensor *out[2] = {y, idx};
    if (dc_run_kernel(ctx, op, 1, in, 2, out, &p) != DC_OK) return NULL;
    dc_node *n = dc_tape_record(ctx, op, y, 1, &xc, &p);
    if (n) n->aux[0] = idx;
    return y;
}

dc_tensor *dc_rfft(dc_ctx *ctx, dc_tensor *x) {
    const dc_op op = DC_OP_RFFT;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (x->ndim < 1 || x->ndim >= DC_MAX_DIMS || x->shape[x->ndim - 1] < 1)
        return dc_fail_op1(DC_ERR_SHAPE, op, "needs rows of length >= 1 and rank < 4, got", x);
    int64_t n = x->shape[x->ndim - 1];
    int64_t shape[DC_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) shape[i] = x->shape[i];
    shape[x->ndim - 1] = n / 2 + 1;
    shape[x->ndim] = 2;
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim + 1, shape) : NULL;
    if (!y) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = n;
    p.i[1] = rows_of(x);
    const dc_tensor *in[1] = {xc};
    if (dc_run_kernel(ctx, op, 1, in, 1, &y, &p) != DC_OK) return NULL;
    dc_tape_record(ctx, op, y, 1, &xc, &p);
    return y;
}

dc_tensor *dc_irfft_scaled(dc_ctx *ctx, dc_tensor *x, int64_t n, double scale, int record) {
    const dc_op op = DC_OP_IRFFT;
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op) || !dc_check_float(op, x)) return NULL;
    if (n < 1 || x->ndim < 2 || x->shape[x->ndim - 1] != 2 || x->shape[x->ndim - 2] != n / 2 + 1) {
        char s[160];
        dc_fail(DC_ERR_SHAPE, "irfft: length %lld needs input (..., %lld, 2), got %s", (long long)n,
                (long long)(n / 2 + 1), dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    int64_t shape[DC_MAX_DIMS], rows = 1;
    for (int i = 0; i < x->ndim - 2; i++) {
        shape[i] = x->shape[i];
        rows *= x->shape[i];
    }
    shape[x->ndim - 2] = n;
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim - 1, shape) : NULL;
    if (!y) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = n;
    p.i[1] = rows;
    p.f[0] = scale;
    const dc_tensor *in[1] = {xc};
    if (dc_run_kernel(ctx, op, 1, in, 1, &y, &p) != DC_OK) return NULL;
    if (record) dc_tape_record(ctx, op, y, 1, &xc, &p);
    return y;
}

dc_tensor *dc_irfft(dc_ctx *ctx, dc_tensor *x, int64_t n) {
    return dc_irfft_scaled(ctx, x, n, n > 0 ? 1.0 / (double)n : 1.0, 1);
}
