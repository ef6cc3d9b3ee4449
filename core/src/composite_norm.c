/* composite_norm.c: composites of batch normalisation and row-wise L2 normalisation,
 * forward and backward, with the kernels' semantics (cpu_norm.c states them): biased batch
 * variance, running statistics updated in place with the unbiased one, an optional fused
 * ReLU, and the L2 clamp max(||x||, eps) whose gradient is gy / eps below it.
 * Not here: the builders and backward rules that call these kernels (ops_nn.c, backward.c).
 */
#include "composite.h"

/* in: x (R, C), gamma, beta, run_mean, run_var (C); i0 training, i1 relu; f0 momentum, f1 eps
 * -> y (R, C), mean (C), istd (C) */
dc_status dc_cx_batchnorm(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *x0 = a->in[0];
    const int64_t C = x0->shape[x0->ndim - 1], R = dc_tensor_numel(x0) / (C ? C : 1);
    const double mom = a->p.f[0], eps = a->p.f[1];
    dc_tensor *x = dc_cx_rows(ctx, dc_cx_in(a, 0), C), *rm = dc_cx_in(a, 3), *rv = dc_cx_in(a, 4);
    dc_tensor *mean, *var;
    dc_status st = DC_OK;
    if (a->p.i[0]) {
        mean = dc_mean(ctx, x, 0, 0);
        dc_tensor *xc = dc_sub(ctx, x, mean);
        var = dc_mean(ctx, dc_mul(ctx, xc, xc), 0, 0);
        /* the running statistics, in place: (1 - m) r + m stat (variance unbiased) */
        dc_tensor *rm1 = dc_add(ctx, dc_scale(ctx, rm, 1.0 - mom), dc_scale(ctx, mean, mom));
        dc_tensor *rv1 = dc_add(ctx, dc_scale(ctx, rv, 1.0 - mom),
                                dc_scale(ctx, var, mom * (double)R / (double)(R - 1)));
        st = rv1 ? dc_cx_store(ctx, rm, rm1) : dc_cx_failed();
        if (st == DC_OK) st = dc_cx_store(ctx, rv, rv1);
    } else {
        mean = dc_copy(ctx, rm);
        var = rv;
    }
    dc_tensor *istd = dc_cx_recip(ctx, dc_sqrt(ctx, dc_affine(ctx, var, 1.0, eps)));
    /* y = x * scale + shift, scale = gamma istd, shift = beta - mean scale */
    dc_tensor *scale = dc_mul(ctx, dc_cx_in(a, 1), istd);
    dc_tensor *shift = dc_sub(ctx, dc_cx_in(a, 2), dc_mul(ctx, mean, scale));
    dc_tensor *y = dc_add(ctx, dc_mul(ctx, x, scale), shift);
    if (a->p.i[1]) y = dc_relu(ctx, y);
    if (st == DC_OK) st = dc_cx_store(ctx, a->out[1], mean);
    if (st == DC_OK) st = dc_cx_store(ctx, a->out[2], istd);
    if (st == DC_OK) st = dc_cx_store(ctx, a->out[0], y);
    return st;
}

/* in: gy, x, y (R, C), gamma, mean, istd (C); i0 training, i1 relu -> dx, dgamma, dbeta.
 * g = gy [y > 0 if relu], xh = (x - mean) istd: dbeta = sum g, dgamma = sum g xh,
 * dx = gamma istd (g - dbeta / R - xh dgamma / R) in training, gamma istd g in eval. */
dc_status dc_cx_batchnorm_back(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *x0 = a->in[1];
    const int64_t C = x0->shape[x0->ndim - 1], R = dc_tensor_numel(x0) / (C ? C : 1);
    dc_tensor *g = dc_cx_rows(ctx, dc_cx_in(a, 0), C), *x = dc_cx_rows(ctx, dc_cx_in(a, 1), C);
    dc_tensor *gamma = dc_cx_in(a, 3), *mean = dc_cx_in(a, 4), *istd = dc_cx_in(a, 5);
    if (a->p.i[1]) g = dc_mul(ctx, g, dc_cx_step(ctx, dc_cx_rows(ctx, dc_cx_in(a, 2), C)));
    dc_tensor *xh = dc_mul(ctx, dc_sub(ctx, x, mean), istd);
    dc_tensor *db = dc_sum(ctx, g, 0, 0), *dg = dc_sum(ctx, dc_mul(ctx, g, xh), 0, 0);
    dc_tensor *inner = g;
    if (a->p.i[0]) inner = dc_sub(ctx, dc_sub(ctx, g, dc_scale(ctx, db, 1.0 / (double)R)),
                                  dc_mul(ctx, xh, dc_scale(ctx, dg, 1.0 / (double)R)));
    dc_tensor *dx = dc_mul(ctx, inner, dc_mul(ctx, gamma, istd));
    dc_status st = dc_cx_store(ctx, a->out[0], dx);
    if (st == DC_OK) st = dc_cx_store(ctx, a->out[1], dg);
    if (st == DC_OK) st = dc_cx_store(ctx, a->out[2], db);
    return st;
}

/* in: x (R, F); f0 eps -> y = x / max(||x||, eps), norms ||x|| (R) */
dc_status dc_cx_l2norm(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *x0 = a->in[0];
    const int64_t F = x0->shape[x0->ndim - 1];
    dc_tensor *x = dc_cx_rows(ctx, dc_cx_in(a, 0), F);
    dc_tensor *n = dc_sqrt(ctx, dc_cx_rowsum(ctx, dc_mul(ctx, x, x))); /* (R, 1) */
    dc_tensor *d = n ? dc_cx_max(ctx, n, dc_tensor_full(ctx, n->dtype, 2, n->shape, a->p.f[0])) : NULL;
    dc_status st = dc_cx_store(ctx, a->out[0], dc_div(ctx, x, d));
    return st == DC_OK ? dc_cx_store(ctx, a->out[1], n) : st;
}

/* in: gy, y (R, F), norms (R); f0 eps -> dx = (gy - y (y . gy)) / ||x|| where ||x|| > eps,
 * else gy / eps: (gy - [n > eps] y (y . gy)) / max(n, eps) covers both. */
dc_status dc_cx_l2norm_back(dc_ctx *ctx, const dc_kernel_args *a) {
    const dc_tensor *y0 = a->in[1];
    const int64_t F = y0->shape[y0->ndim - 1], R = dc_tensor_numel(y0) / (F ? F : 1);
    const double eps = a->p.f[0];
    dc_tensor *gy = dc_cx_rows(ctx, dc_cx_in(a, 0), F), *y = dc_cx_rows(ctx, dc_cx_in(a, 1), F);
    dc_tensor *n = dc_view_reshape(ctx, dc_cx_in(a, 2), 2, (int64_t[]){R, 1});
    dc_tensor *d = n ? dc_cx_max(ctx, n, dc_tensor_full(ctx, n->dtype, 2, n->shape, eps)) : NULL;
    dc_tensor *dot = dc_mul(ctx, dc_cx_rowsum(ctx, dc_mul(ctx, y, gy)), dc_cx_step(ctx, dc_affine(ctx, n, 1.0, -eps)));
    return dc_cx_store(ctx, a->out[0], dc_div(ctx, dc_sub(ctx, gy, dc_mul(ctx, y, dot)), d));
}
