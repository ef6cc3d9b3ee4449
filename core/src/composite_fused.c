/* composite_fused.c: the composites of the fused layer and margin-loss kernels, for backends
 * without them (the `cpu` backend has both, backends/cpu/cpu_linear_bn.c and cpu_margin.c).
 *
 *   LINEAR_BN       h = x W^T + b (MATMUL, ADD) into the kernel's h, then the BATCHNORM kernel
 *   LINEAR_BN_BACK  the BATCHNORM_BACK kernel on h gives dh, dgamma, dbeta; dW += dh^T x
 *                   (MATMUL with beta = 1), db += column sums of dh, dx = dh W
 *   MARGIN          docs/METHOD.md §4.4 on the N x N matrices, with its gradient written out
 *                   (cpu_margin.c derives it): w_c = sum of 1/(A den_a) over the anchors whose
 *                   den holds Cx_c, G_rc = -2k w_c x_rc (Y_c h_rc + (1 - Y_c) S_rc) off the
 *                   diagonal, the l_j terms on the sub-diagonal, dzh = (G + G^T) zh, then
 *                   L2NORM_BACK
 * Not here: the builders (ops_fused.c) or when a composite runs (dc_run_kernel).
 */
#include "composite.h"

dc_status dc_cx_linear_bn(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *x = dc_cx_in(a, 0), *W = dc_cx_in(a, 1), *b = dc_cx_in(a, 2);
    dc_status st = dc_cx_store(ctx, a->out[1], dc_add(ctx, dc_matmul(ctx, x, W, 0, 1), b));
    if (st != DC_OK) return st;
    dc_op_params p = a->p;
    p.i[2] = x->shape[0];
    p.i[3] = W->shape[0];
    const dc_tensor *in[5] = {a->out[1], a->in[3], a->in[4], a->in[5], a->in[6]};
    dc_tensor *out[3] = {a->out[0], a->out[2], a->out[3]};
    return dc_run_kernel(ctx, DC_OP_BATCHNORM, 5, in, 3, out, &p);
}

/* dst += v */
static dc_status add_into(dc_ctx *ctx, dc_tensor *dst, dc_tensor *v) { return dc_cx_store(ctx, dst, dc_add(ctx, dst, v)); }

dc_status dc_cx_linear_bn_back(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *x = dc_cx_in(a, 1), *W = dc_cx_in(a, 2), *h = dc_cx_in(a, 3);
    const int64_t C = W->shape[0];
    dc_tensor *dh = dc_tensor_new(ctx, h->dtype, 2, h->shape);
    dc_tensor *dg = dh ? dc_tensor_new(ctx, h->dtype, 1, &C) : NULL, *dbt = dg ? dc_tensor_new(ctx, h->dtype, 1, &C) : NULL;
    if (!dbt) return dc_cx_failed();
    const dc_tensor *in[6] = {a->in[0], h, a->in[4], a->in[5], a->in[6], a->in[7]};
    dc_status st = dc_run_kernel(ctx, DC_OP_BATCHNORM_BACK, 6, in, 3, (dc_tensor *[]){dh, dg, dbt}, &a->p);
    if (st != DC_OK) return st;
    dc_op_params p = {{0}}; /* dW += dh^T x */
    p.i[0] = 1;
    p.i[2] = 1;
    p.i[3] = C;
    p.i[4] = x->shape[1];
    p.i[5] = x->shape[0];
    p.f[0] = 1.0;
    p.f[1] = 1.0;
    const dc_tensor *min[2] = {dh, x};
    st = dc_run_kernel(ctx, DC_OP_MATMUL, 2, min, 1, &a->out[0], &p);
    if (st == DC_OK) st = add_into(ctx, a->out[1], dc_sum(ctx, dh, 0, 0));
    if (st == DC_OK) st = add_into(ctx, a->out[2], dg);
    if (st == DC_OK) st = add_into(ctx, a->out[3], dbt);
    if (st == DC_OK && a->out[4]) st = dc_cx_store(ctx, a->out[4], dc_matmul(ctx, dh, W, 0, 0));
    return st;
}

dc_status dc_cx_margin(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *z = dc_cx_in(a, 0), *Y = dc_cx_in(a, 1);
    const int64_t N = z->shape[0], L = a->p.i[0];
    const int want = a->p.i[2] && a->out[1];
    const double tau = a->p.f[0], Mg = a->p.f[1], k = 0.5 * a->p.f[2] / tau, eps = a->p.f[3];
    const dc_dtype dt = z->dtype;
    dc_tensor *zh, *nrm;
    dc_status st = dc_cx_unit_rows(ctx, z, eps, &zh, &nrm);
    if (st != DC_OK) return st;
    dc_tensor *S = dc_matmul(ctx, zh, zh, 0, 1);                          /* (N, N), diagonal included */
    dc_tensor *h = dc_relu(ctx, dc_affine(ctx, S, -1.0, Mg));             /* max(0, Mg - S) */
    dc_tensor *Yr = dc_reshape(ctx, Y, 2, (int64_t[]){1, N}), *nY = dc_affine(ctx, Yr, -1.0, 1.0);
    /* x = exp(k (Y_c h^2 - (1 - Y_c) S^2)); Cx = column sums minus the diagonal, as the authors */
    dc_tensor *x = dc_exp(ctx, dc_scale(ctx, dc_sub(ctx, dc_mul(ctx, Yr, dc_mul(ctx, h, h)), dc_mul(ctx, nY, dc_mul(ctx, S, S))), k));
    dc_tensor *xd = x ? dc_contiguous(ctx, dc_view_strided(ctx, x, 1, &N, (int64_t[]){N + 1}, 0)) : NULL;
    dc_tensor *Cx = dc_sub(ctx, dc_sum(ctx, x, 0, 0), xd);
    dc_tensor *l = dc_exp(ctx, dc_scale(ctx, dc_contiguous(ctx, dc_cx_sub_diagonal(ctx, S, N)), 1.0 / tau)); /* (N-1) */
    /* anchors a = 1..N-2 (row a - 1 of these vectors): num = l_{a-1} + l_a, den = Cx_{a-1} + Cx_a - l_{a-1} */
    const int64_t n = N - 2, A = (N / L) * (L - 2);
    dc_tensor *lm = dc_slice(ctx, l, 0, 0, n), *lp = dc_slice(ctx, l, 0, 1, n);
    dc_tensor *num = dc_add(ctx, lm, lp);
    dc_tensor *den = dc_sub(ctx, dc_add(ctx, dc_slice(ctx, Cx, 0, 0, n), dc_slice(ctx, Cx, 0, 1, n)), lm);
    dc_tensor *off = dc_slice(ctx, dc_cx_non_anchors(ctx, N, L, 1, L - 1), 0, 1, n);
    dc_tensor *terms = dc_masked_fill(ctx, dc_sub(ctx, dc_log(ctx, den), dc_log(ctx, num)), off, 0.0);
    st = dc_cx_store(ctx, a->out[0], dc_scale(ctx, dc_sum_all(ctx, terms), 1.0 / (double)A));
    if (st != DC_OK || !want) return st;

    dc_tensor *id = dc_masked_fill(ctx, dc_scale(ctx, dc_cx_recip(ctx, den), 1.0 / (double)A), off, 0.0);
    dc_tensor *in = dc_masked_fill(ctx, dc_scale(ctx, dc_cx_recip(ctx, num), 1.0 / (double)A), off, 0.0);
    /* w_c: from den_{c+1} (Cx_{a-1}) and den_c (Cx_a); dl_j = -(id + in)_{anchor j+1} - in_{anchor j} */
    dc_tensor *w = dc_add(ctx, dc_cx_place(ctx, id, 0, N), dc_cx_place(ctx, id, 1, N));
    dc_tensor *dl = dc_scale(ctx, dc_add(ctx, dc_cx_place(ctx, dc_add(ctx, id, in), 0, N - 1), dc_cx_place(ctx, in, 1, N - 1)),
                             -1.0);
    dc_tensor *wr = dc_reshape(ctx, w, 2, (int64_t[]){1, N});
    dc_tensor *G = dc_mul(ctx, dc_mul(ctx, wr, x), dc_scale(ctx, dc_add(ctx, dc_mul(ctx, Yr, h), dc_mul(ctx, nY, S)), -2.0 * k));
    dc_tensor *gd = G ? dc_view_strided(ctx, G, 1, &N, (int64_t[]){N + 1}, 0) : NULL;
    if (!gd || dc_cx_store(ctx, gd, dc_view_broadcast(ctx, dc_cx_scalar(ctx, dt, 0.0), 1, &N)) != DC_OK)
        return dc_cx_failed();
    /* dL/dS_{j+1,j} through l_j = exp(S_{j+1,j} / tau) */
    dc_tensor *gs = dc_cx_sub_diagonal(ctx, G, N);
    if (!gs || dc_cx_store(ctx, gs, dc_add(ctx, dc_contiguous(ctx, gs), dc_scale(ctx, dc_mul(ctx, dl, l), 1.0 / tau))) != DC_OK)
        return dc_cx_failed();
    dc_tensor *dzh = dc_add(ctx, dc_matmul(ctx, G, zh, 0, 0), dc_matmul(ctx, G, zh, 1, 0));
    return dc_cx_unit_rows_back(ctx, dzh, zh, nrm, eps, a->out[1]);
}
