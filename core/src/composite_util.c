/* composite_util.c: the building blocks the composites share: stores into a
 * kernel's outputs, constants made on the device (iota, one-hot) and exact
 * comparisons (step, max) from MAXPOOL1D's argmax, the one primitive that compares.
 * Not here: the composites themselves (composite_*.c).
 */
#include "composite.h"

dc_status dc_cx_failed(void) {
    return dc_last_status() != DC_OK ? dc_last_status() : dc_fail(DC_ERR_STATE, "composite: a step failed");
}

dc_tensor *dc_cx_rows(dc_ctx *ctx, dc_tensor *t, int64_t cols) {
    return t ? dc_view_reshape(ctx, t, 2, (int64_t[]){-1, cols}) : NULL;
}

dc_status dc_cx_store(dc_ctx *ctx, dc_tensor *dst, dc_tensor *src) {
    if (!src || !dst) return dc_cx_failed();
    if (!dc_tensor_same_shape(dst, src)) src = dc_view_reshape(ctx, src, dst->ndim, dst->shape);
    if (!src || !dst) return dc_cx_failed();
    const dc_tensor *in[1] = {src};
    return dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &dst, NULL);
}

dc_tensor *dc_cx_scalar(dc_ctx *ctx, dc_dtype dt, double v) { return dc_tensor_full(ctx, dt, 0, NULL, v); }

dc_tensor *dc_cx_recip(dc_ctx *ctx, dc_tensor *x) {
    return x ? dc_div(ctx, dc_cx_scalar(ctx, x->dtype, 1.0), x) : NULL;
}

dc_tensor *dc_cx_abs(dc_ctx *ctx, dc_tensor *x) {
    return dc_add(ctx, dc_relu(ctx, x), dc_relu(ctx, dc_scale(ctx, x, -1.0)));
}

/* MAXPOOL1D over the pairs (a_i, b_i): the maxima (shaped like a) and, if argmax is given,
 * which of the two won (i32 (M, 1, 1): 0 = a, also on ties, 1 = b). */
static dc_tensor *pair_max(dc_ctx *ctx, dc_tensor *a, dc_tensor *b, dc_tensor **argmax) {
    if (!a || !b) return NULL;
    int64_t M = dc_tensor_numel(a), m3[3] = {M, 1, 1};
    dc_tensor *pair = dc_concat(ctx, 2, (dc_tensor *[]){dc_reshape(ctx, a, 3, m3), dc_reshape(ctx, b, 3, m3)}, 1);
    dc_tensor *y = pair ? dc_tensor_new(ctx, a->dtype, 3, m3) : NULL;
    dc_tensor *idx = y ? dc_tensor_new(ctx, DC_I32, 3, m3) : NULL;
    if (!idx) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = 2; /* kernel */
    p.i[1] = 1; /* stride */
    const dc_tensor *in[1] = {pair};
    dc_tensor *out[2] = {y, idx};
    if (dc_run_kernel(ctx, DC_OP_MAXPOOL1D, 1, in, 2, out, &p) != DC_OK) return NULL;
    if (argmax) *argmax = idx;
    return dc_view_reshape(ctx, y, a->ndim, a->shape);
}

dc_tensor *dc_cx_max(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return pair_max(ctx, a, b, NULL); }

dc_tensor *dc_cx_step(dc_ctx *ctx, dc_tensor *x) {
    if (!x) return NULL;
    dc_tensor *idx = NULL;
    if (!pair_max(ctx, dc_tensor_zeros(ctx, x->dtype, x->ndim, x->shape), x, &idx)) return NULL;
    /* the winner's index picks 0 or 1 out of the table (0, 1) */
    int64_t M = dc_tensor_numel(x);
    dc_tensor *table = dc_reshape(ctx, dc_cx_iota(ctx, x->dtype, 2), 3, (int64_t[]){1, 2, 1});
    dc_tensor *s = dc_gather(ctx, table, dc_reshape(ctx, idx, 2, (int64_t[]){1, M}));
    return s ? dc_view_reshape(ctx, s, x->ndim, x->shape) : NULL;
}

dc_tensor *dc_cx_rowmax(dc_ctx *ctx, dc_tensor *x) {
    if (!x) return NULL;
    int64_t R = x->shape[0], C = x->shape[1];
    dc_tensor *m = dc_maxpool1d(ctx, dc_reshape(ctx, x, 3, (int64_t[]){R, C, 1}), C, 1);
    return m ? dc_view_reshape(ctx, m, 2, (int64_t[]){R, 1}) : NULL;
}

dc_tensor *dc_cx_rowsum(dc_ctx *ctx, dc_tensor *x) { return dc_sum(ctx, x, 1, 1); }

dc_tensor *dc_cx_iota(dc_ctx *ctx, dc_dtype dt, int64_t n) {
    if (n < 1) {
        dc_fail(DC_ERR_SHAPE, "composite: iota of length %lld", (long long)n);
        return NULL;
    }
    dc_tensor *a = dc_tensor_zeros(ctx, dt, 1, (int64_t[]){1});
    int64_t len = 1;
    for (; a && len < n; len *= 2) a = dc_concat(ctx, 2, (dc_tensor *[]){a, dc_affine(ctx, a, 1.0, (double)len)}, 0);
    return len == n ? a : dc_slice(ctx, a, 0, 0, n);
}

dc_tensor *dc_cx_index_float(dc_ctx *ctx, dc_dtype dt, dc_tensor *idx, int64_t T, dc_tensor **valid) {
    if (!idx) return NULL;
    int64_t n = dc_tensor_numel(idx);
    dc_tensor *flat = dc_reshape(ctx, idx, 2, (int64_t[]){1, n});
    dc_tensor *pos = dc_gather(ctx, dc_reshape(ctx, dc_cx_iota(ctx, dt, T), 3, (int64_t[]){1, T, 1}), flat);
    if (valid) {
        dc_tensor *v = dc_gather(ctx, dc_tensor_full(ctx, dt, 3, (int64_t[]){1, T, 1}, 1.0), flat);
        *valid = v ? dc_view_reshape(ctx, v, idx->ndim, idx->shape) : NULL;
        if (!*valid) return NULL;
    }
    return pos ? dc_view_reshape(ctx, pos, idx->ndim, idx->shape) : NULL;
}

dc_tensor *dc_cx_onehot(dc_ctx *ctx, dc_dtype dt, dc_tensor *idx, int64_t T) {
    if (!idx) return NULL;
    int64_t n = dc_tensor_numel(idx);
    dc_tensor *valid = NULL, *pos = dc_cx_index_float(ctx, dt, idx, T, &valid);
    if (!pos) return NULL;
    pos = dc_view_reshape(ctx, pos, 2, (int64_t[]){n, 1});
    valid = dc_view_reshape(ctx, valid, 2, (int64_t[]){n, 1});
    /* relu(1 - |pos - c|) is [pos == c] for integer-valued pos */
    dc_tensor *d = dc_sub(ctx, pos, dc_reshape(ctx, dc_cx_iota(ctx, dt, T), 2, (int64_t[]){1, T}));
    return dc_mul(ctx, dc_relu(ctx, dc_affine(ctx, dc_cx_abs(ctx, d), -1.0, 1.0)), valid);
}

/* A u8 (N) mask for MASKED_FILL to zero what is not an anchor: 0 on the rows whose position
 * t in their block of L rows has lo <= t < hi, 1 on the others. */
dc_tensor *dc_cx_non_anchors(dc_ctx *ctx, int64_t N, int64_t L, int64_t lo, int64_t hi) {
    dc_tensor *m = dc_tensor_full(ctx, DC_U8, 1, &N, 1.0);
    int64_t shape[2] = {N / L, hi - lo};
    dc_tensor *dst = dc_view_strided(ctx, m, 2, shape, (int64_t[]){L, 1}, lo);
    dc_tensor *zero = dst ? dc_view_broadcast(ctx, dc_tensor_zeros(ctx, DC_U8, 0, NULL), 2, shape) : NULL;
    if (!zero) return NULL;
    const dc_tensor *in[1] = {zero};
    return dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &dst, NULL) == DC_OK ? m : NULL;
}

/* The n entries of v, placed at [at, at + n) of a zero vector of length N. */
dc_tensor *dc_cx_place(dc_ctx *ctx, dc_tensor *v, int64_t at, int64_t N) {
    if (!v) return NULL;
    dc_tensor *parts[3];
    int k = 0;
    if (at > 0) parts[k++] = dc_tensor_zeros(ctx, v->dtype, 1, &at);
    parts[k++] = v;
    int64_t tail = N - at - v->shape[0];
    if (tail > 0) parts[k++] = dc_tensor_zeros(ctx, v->dtype, 1, &tail);
    return dc_concat(ctx, k, parts, 0);
}

/* Entries (j+1, j), j < N-1, of the (N, N) matrix E: a view with stride N + 1. */
dc_tensor *dc_cx_sub_diagonal(dc_ctx *ctx, dc_tensor *E, int64_t N) {
    return E ? dc_view_strided(ctx, E, 1, (int64_t[]){N - 1}, (int64_t[]){N + 1}, N) : NULL;
}

dc_status dc_cx_unit_rows(dc_ctx *ctx, dc_tensor *z, double eps, dc_tensor **zh, dc_tensor **nrm) {
    const int64_t N = z->shape[0], F = z->shape[1];
    *zh = dc_tensor_new(ctx, z->dtype, 2, (int64_t[]){N, F});
    *nrm = *zh ? dc_tensor_new(ctx, z->dtype, 1, &N) : NULL;
    if (!*nrm) return dc_cx_failed();
    dc_op_params pn = {{0}};
    pn.f[0] = eps;
    const dc_tensor *zin[1] = {z};
    return dc_run_kernel(ctx, DC_OP_L2NORM, 1, zin, 2, (dc_tensor *[]){*zh, *nrm}, &pn);
}

dc_status dc_cx_unit_rows_back(dc_ctx *ctx, dc_tensor *dzh, dc_tensor *zh, dc_tensor *nrm, double eps, dc_tensor *dz) {
    if (!dzh) return dc_cx_failed();
    dc_op_params pn = {{0}};
    pn.f[0] = eps;
    const dc_tensor *bin[3] = {dzh, zh, nrm};
    return dc_run_kernel(ctx, DC_OP_L2NORM_BACK, 3, bin, 1, &dz, &pn);
}
