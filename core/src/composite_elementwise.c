/* composite_elementwise.c: composites of the elementwise kernels that are not primitives:
 * ACT_BACK (activation gradients from the forward output) and ADAMW (the optimizer update,
 * with the step count read on the device). Not here: the primitives' kernels (backends).
 */
#include <math.h>

#include "composite.h"

/* gx = gy * act'(y), from the output y: relu [y > 0], sigmoid y (1 - y), tanh 1 - y^2,
 * exp y, sqrt 1 / (2 y). */
dc_status dc_cx_act_back(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *gy = dc_cx_in(a, 0), *y = dc_cx_in(a, 1), *gx = NULL;
    switch ((dc_op)a->p.i[0]) {
    case DC_OP_RELU: gx = dc_mul(ctx, gy, dc_cx_step(ctx, y)); break;
    case DC_OP_SIGMOID: gx = dc_mul(ctx, gy, dc_mul(ctx, y, dc_affine(ctx, y, -1.0, 1.0))); break;
    case DC_OP_TANH: gx = dc_mul(ctx, gy, dc_affine(ctx, dc_mul(ctx, y, y), -1.0, 1.0)); break;
    case DC_OP_EXP: gx = dc_mul(ctx, gy, y); break;
    case DC_OP_SQRT: gx = dc_div(ctx, gy, dc_scale(ctx, y, 2.0)); break;
    default:
        return dc_fail(DC_ERR_ARG, "act_back: i0 = %lld is not relu, sigmoid, tanh, exp or sqrt", (long long)a->p.i[0]);
    }
    return dc_cx_store(ctx, a->out[0], gx);
}

/* 1 - b^t for the device step count t (1 element): 1 - exp(t ln b); b = 0 gives 1. */
static dc_tensor *bias_correction(dc_ctx *ctx, dc_tensor *t, double b) {
    return dc_affine(ctx, dc_exp(ctx, dc_scale(ctx, t, log(b))), -1.0, 1.0);
}

/* m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,
 * p' = p (1 - lr wd) - lr / (1 - b1^t) * m' / (sqrt(v') / sqrt(1 - b2^t) + eps),  t = steps + 1. */
dc_status dc_cx_adamw(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *p = dc_cx_in(a, 0), *g = dc_cx_in(a, 1), *m = dc_cx_in(a, 2), *v = dc_cx_in(a, 3);
    const double lr = a->p.f[0], b1 = a->p.f[1], b2 = a->p.f[2], eps = a->p.f[3], wd = a->p.f[4];
    dc_tensor *t = dc_affine(ctx, dc_view_reshape(ctx, dc_cx_in(a, 4), 0, NULL), 1.0, 1.0);
    dc_tensor *step = dc_scale(ctx, dc_cx_recip(ctx, bias_correction(ctx, t, b1)), lr);
    dc_tensor *sqrt_bc2 = dc_sqrt(ctx, bias_correction(ctx, t, b2));
    dc_tensor *m1 = dc_add(ctx, dc_scale(ctx, m, b1), dc_scale(ctx, g, 1.0 - b1));
    dc_tensor *v1 = dc_add(ctx, dc_scale(ctx, v, b2), dc_scale(ctx, dc_mul(ctx, g, g), 1.0 - b2));
    dc_tensor *den = dc_affine(ctx, dc_div(ctx, dc_sqrt(ctx, v1), sqrt_bc2), 1.0, eps);
    dc_tensor *p1 = dc_sub(ctx, dc_scale(ctx, p, 1.0 - lr * wd), dc_mul(ctx, step, dc_div(ctx, m1, den)));
    if (!p1) return dc_cx_failed();
    dc_status st = dc_cx_store(ctx, m, m1);
    if (st == DC_OK) st = dc_cx_store(ctx, v, v1);
    if (st == DC_OK) st = dc_cx_store(ctx, p, p1);
    return st;
}
