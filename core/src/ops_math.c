/* ops_math.c: elementwise (broadcasting), unary, reduction and matmul builders. */
#include <string.h>

#include "ops_common.h"

static dc_tensor *binary(dc_ctx *ctx, dc_op op, dc_tensor *a, dc_tensor *b) {
    DC_GUARD2(op, a, b);
    if (!dc_check_ctx(ctx, op)) return NULL;
    if (!dc_check_float(op, a) || !dc_check_float(op, b) || !dc_check_same_dtype(op, a, b)) return NULL;
    int64_t shape[DC_MAX_DIMS];
    int nd = dc_broadcast_shape(op, a, b, shape);
    if (nd < 0) return NULL;
    dc_tensor *va = dc_view_broadcast(ctx, a, nd, shape), *vb = dc_view_broadcast(ctx, b, nd, shape);
    dc_tensor *y = (va && vb) ? dc_tensor_new(ctx, a->dtype, nd, shape) : NULL;
    if (!y) return NULL;
    const dc_tensor *in[2] = {va, vb};
    if (dc_run_kernel(ctx, op, 2, in, 1, &y, NULL) != DC_OK) return NULL;
    dc_tensor *ins[2] = {a, b};
    dc_tape_record(ctx, op, y, 2, ins, NULL);
    return y;
}

dc_tensor *dc_add(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return binary(ctx, DC_OP_ADD, a, b); }
dc_tensor *dc_sub(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return binary(ctx, DC_OP_SUB, a, b); }
dc_tensor *dc_mul(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return binary(ctx, DC_OP_MUL, a, b); }
dc_tensor *dc_div(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return binary(ctx, DC_OP_DIV, a, b); }
dc_tensor *dc_atan2(dc_ctx *ctx, dc_tensor *a, dc_tensor *b) { return binary(ctx, DC_OP_ATAN2, a, b); }

/* Unary-shaped builder: contiguous float input, same-shape output, params p. */
static dc_tensor *unary(dc_ctx *ctx, dc_op op, dc_tensor *x, const dc_op_params *p) {
    DC_GUARD1(op, x);
    if (!dc_check_ctx(ctx, op)) return NULL;
    if (!dc_check_float(op, x)) return NULL;
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *y = xc ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    if (!y) return NULL;
    const dc_tensor *in[1] = {xc};
    if (dc_run_kernel(ctx, op, 1, in, 1, &y, p) != DC_OK) return NULL;
    dc_tape_record(ctx, op, y, 1, &xc, p);
    return y;
}

dc_tensor *dc_affine(dc_ctx *ctx, dc_tensor *a, double alpha, double beta) {
    dc_op_params p = {{0}};
    p.f[0] = alpha;
    p.f[1] = beta;
    return unary(ctx, DC_OP_SCALE, a, &p);
}
dc_tensor *dc_scale(dc_ctx *ctx, dc_tensor *a, double alpha) { return dc_affine(ctx, a, alpha, 0.0); }
dc_tensor *dc_relu(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_RELU, x, NULL); }
dc_tensor *dc_sigmoid(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_SIGMOID, x, NULL); }
dc_tensor *dc_tanh(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_TANH, x, NULL); }
dc_tensor *dc_exp(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_EXP, x, NULL); }
dc_tensor *dc_log(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_LOG, x, NULL); }
dc_tensor *dc_sqrt(dc_ctx *ctx, dc_tensor *x) { return unary(ctx, DC_OP_SQRT, x, NULL); }

dc_tensor *dc_masked_fill(dc_ctx *ctx, dc_tensor *x, dc_tensor *mask, double value) {
    const dc_op op = DC_OP_MASKED_FILL;
    DC_GUARD2(op, x, mask);
    if (!dc_check_ctx(ctx, op)) return NULL;
    if (!dc_check_float(op, x)) return NULL;
    if (mask->dtype != DC_U8) return dc_fail_op1(DC_ERR_DTYPE, op, "mask must be u8, got", mask);
    dc_tensor *xc = dc_contiguous(ctx, x);
    dc_tensor *mv = xc ? dc_view_broadcast(ctx, mask, x->ndim, x->shape) : NULL;
    if (!mv) {
        if (xc) dc_fail_op2(DC_ERR_SHAPE, op, "mask does not broadcast to x", mask, x);
        return NULL;
    }
    dc_tensor *y = dc_tensor_new(ctx, x->dtype, x->ndim, x->shape);
    if (!y) return NULL;
    dc_op_params p = {{0}};
    p.f[0] = value;
    const dc_tensor *in[2] = {xc, mv};
    if (dc_run_kernel(ctx, op, 2, in, 1, &y, &p) != DC_OK) return NULL;
    dc_tensor *ins[2] = {xc, mask};
    dc_tape_record(ctx, op, y, 2, ins, &p);
    return y;
}

static dc_tensor *reduce(dc_ctx *ctx, dc_op rec_op, dc_tensor *x, int axis, int keepdim, int mean) {
    DC_GUARD1(rec_op, x);
    if (!dc_check_ctx(ctx, rec_op)) return NULL;
    if (!dc_check_float(rec_op, x)) return NULL;
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis >= x->ndim) return dc_fail_op1(DC_ERR_ARG, rec_op, "axis out of range for", x);
    dc_tensor *xc = dc_contiguous(ctx, x);
    if (!xc) return NULL;
    int64_t outer = 1, inner = 1, n = x->shape[axis];
    for (int i = 0; i < axis; i++) outer *= x->shape[i];
    for (int i = axis + 1; i < x->ndim; i++) inner *= x->shape[i];
    int64_t shape[DC_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != axis) shape[nd++] = x->shape[i];
        else if (keepdim) shape[nd++] = 1;
    }
    dc_tensor *y = dc_tensor_new(ctx, x->dtype, nd, shape);
    if (!y) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = axis;
    p.i[1] = outer;
    p.i[2] = n;
    p.i[3] = inner;
    p.i[4] = keepdim;
    p.f[0] = mean ? (n > 0 ? 1.0 / (double)n : 0.0) : 1.0;
    const dc_tensor *in[1] = {xc};
    if (dc_run_kernel(ctx, DC_OP_SUM, 1, in, 1, &y, &p) != DC_OK) return NULL;
    dc_tape_record(ctx, rec_op, y, 1, &xc, &p);
    return y;
}

dc_tensor *dc_sum(dc_ctx *ctx, dc_tensor *x, int axis, int keepdim) { return reduce(ctx, DC_OP_SUM, x, axis, keepdim, 0); }
dc_tensor *dc_mean(dc_ctx *ctx, dc_tensor *x, int axis, int keepdim) { return reduce(ctx, DC_OP_MEAN, x, axis, keepdim, 1); }

dc_tensor *dc_sum_all(dc_ctx *ctx, dc_tensor *x) {
    DC_GUARD1(DC_OP_SUM, x);
    dc_tensor *flat = dc_reshape(ctx, x, 1, (int64_t[]){-1});
    return reduce(ctx, DC_OP_SUM, flat, 0, 0, 0);
}

dc_tensor *dc_matmul(dc_ctx *ctx, dc_tensor *a, dc_tensor *b, int ta, int tb) {
    const dc_op op = DC_OP_MATMUL;
    DC_GUARD2(op, a, b);
    if (!dc_check_ctx(ctx, op)) return NULL;
    if (!dc_check_float(op, a) || !dc_check_float(op, b) || !dc_check_same_dtype(op, a, b)) return NULL;
    /* (B, M, K) x (K, N): fold the batch into rows, when that is a plain reshape */
    if (a->ndim == 3 && b->ndim == 2 && !ta) {
        int64_t B = a->shape[0], M = a->shape[1], Kb = tb ? b->shape[1] : b->shape[0];
        if (a->shape[2] != Kb) { /* report the caller's shapes, not the folded (B*M, K) one */
            char s1[160], s2[160];
            dc_fail(DC_ERR_SHAPE, "matmul: inner dimensions differ: %s and %s%s (%lld != %lld)",
                    dc_tensor_describe(a, s1, sizeof s1), dc_tensor_describe(b, s2, sizeof s2), tb ? "^T" : "",
                    (long long)a->shape[2], (long long)Kb);
            return NULL;
        }
        dc_tensor *a2 = dc_reshape(ctx, a, 2, (int64_t[]){B * M, a->shape[2]});
        dc_tensor *y2 = dc_matmul(ctx, a2, b, 0, tb);
        return y2 ? dc_reshape(ctx, y2, 3, (int64_t[]){B, M, y2->shape[1]}) : NULL;
    }
    if (!((a->ndim == 2 && b->ndim == 2) || (a->ndim == 3 && b->ndim == 3 && a->shape[0] == b->shape[0])))
        return dc_fail_op2(DC_ERR_SHAPE, op, "needs 2-D x 2-D, 3-D x 3-D (same batch) or 3-D x 2-D", a, b);
    int nd = a->ndim;
    int64_t batch = nd == 3 ? a->shape[0] : 1;
    int64_t M = ta ? a->shape[nd - 1] : a->shape[nd - 2];
    int64_t Ka = ta ? a->shape[nd - 2] : a->shape[nd - 1];
    int64_t Kb = tb ? b->shape[nd - 1] : b->shape[nd - 2];
    int64_t N = tb ? b->shape[nd - 2] : b->shape[nd - 1];
    if (Ka != Kb) {
        char s1[160], s2[160];
        dc_fail(DC_ERR_SHAPE, "matmul: inner dimensions differ: %s%s and %s%s (%lld != %lld)",
                dc_tensor_describe(a, s1, sizeof s1), ta ? "^T" : "", dc_tensor_describe(b, s2, sizeof s2),
                tb ? "^T" : "", (long long)Ka, (long long)Kb);
        return NULL;
    }
    dc_tensor *ac = dc_contiguous(ctx, a), *bc = dc_contiguous(ctx, b);
    int64_t shape[3] = {batch, M, N};
    dc_tensor *y = (ac && bc) ? dc_tensor_new(ctx, a->dtype, nd, nd == 3 ? shape : shape + 1) : NULL;
    if (!y) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = ta ? 1 : 0;
    p.i[1] = tb ? 1 : 0;
    p.i[2] = batch;
    p.i[3] = M;
    p.i[4] = N;
    p.i[5] = Ka;
    p.f[0] = 1.0;
    p.f[1] = 0.0;
    const dc_tensor *in[2] = {ac, bc};
    if (dc_run_kernel(ctx, op, 2, in, 1, &y, &p) != DC_OK) return NULL;
    dc_tensor *ins[2] = {ac, bc};
    dc_tape_record(ctx, op, y, 2, ins, &p);
    return y;
}
