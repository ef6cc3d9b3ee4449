/* ops_data.c: data-movement builders (copy, reshape, permute, slice, concat, broadcast).
 * All of them run on the one strided COPY kernel; RESHAPE of a contiguous tensor is free.
 */
#include <string.h>

#include "ops_common.h"

/* COPY kernel from a (strided) source into a new contiguous tensor, recorded as `op`. */
static dc_tensor *copy_as(dc_ctx *ctx, dc_op op, dc_tensor *src_view, dc_tensor *orig, const dc_op_params *p) {
    dc_tensor *y = dc_tensor_new(ctx, src_view->dtype, src_view->ndim, src_view->shape);
    if (!y) return NULL;
    const dc_tensor *in[1] = {src_view};
    if (dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &y, NULL) != DC_OK) return NULL;
    dc_tape_record(ctx, op, y, 1, &orig, p);
    return y;
}

dc_tensor *dc_copy(dc_ctx *ctx, dc_tensor *x) {
    DC_GUARD1(DC_OP_COPY, x);
    if (!dc_check_ctx(ctx, DC_OP_COPY)) return NULL;
    return copy_as(ctx, DC_OP_COPY, x, x, NULL);
}

dc_tensor *dc_contiguous(dc_ctx *ctx, dc_tensor *x) {
    DC_GUARD1(DC_OP_COPY, x);
    return dc_tensor_is_contiguous(x) ? x : dc_copy(ctx, x);
}

dc_tensor *dc_reshape(dc_ctx *ctx, dc_tensor *x, int ndim, const int64_t *shape) {
    DC_GUARD1(DC_OP_RESHAPE, x);
    if (!dc_check_ctx(ctx, DC_OP_RESHAPE)) return NULL;
    dc_tensor *c = dc_contiguous(ctx, x);
    if (!c) return NULL;
    dc_tensor *v = dc_view_reshape(ctx, c, ndim, shape);
    if (!v) return NULL;
    dc_tape_record(ctx, DC_OP_RESHAPE, v, 1, &c, NULL);
    return v;
}

dc_tensor *dc_permute(dc_ctx *ctx, dc_tensor *x, const int *perm) {
    DC_GUARD1(DC_OP_PERMUTE, x);
    if (!dc_check_ctx(ctx, DC_OP_PERMUTE)) return NULL;
    dc_tensor *v = dc_view_permute(ctx, x, perm);
    if (!v) return NULL;
    dc_op_params p = {{0}};
    for (int i = 0; i < x->ndim; i++) p.i[i] = perm[i];
    return copy_as(ctx, DC_OP_PERMUTE, v, x, &p);
}

dc_tensor *dc_transpose(dc_ctx *ctx, dc_tensor *x, int a0, int a1) {
    DC_GUARD1(DC_OP_PERMUTE, x);
    if (a0 < 0) a0 += x->ndim;
    if (a1 < 0) a1 += x->ndim;
    if (a0 < 0 || a1 < 0 || a0 >= x->ndim || a1 >= x->ndim) {
        dc_fail_op1(DC_ERR_ARG, DC_OP_PERMUTE, "transpose axes out of range for", x);
        return NULL;
    }
    int perm[DC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) perm[i] = i;
    perm[a0] = a1;
    perm[a1] = a0;
    return dc_permute(ctx, x, perm);
}

dc_tensor *dc_slice(dc_ctx *ctx, dc_tensor *x, int axis, int64_t start, int64_t len) {
    DC_GUARD1(DC_OP_SLICE, x);
    if (!dc_check_ctx(ctx, DC_OP_SLICE)) return NULL;
    if (axis < 0) axis += x->ndim;
    dc_tensor *v = dc_view_slice(ctx, x, axis, start, len);
    if (!v) return NULL;
    dc_op_params p = {{0}};
    p.i[0] = axis;
    p.i[1] = start;
    p.i[2] = len;
    return copy_as(ctx, DC_OP_SLICE, v, x, &p);
}

dc_tensor *dc_concat(dc_ctx *ctx, int n, dc_tensor *const *xs, int axis) {
    if (!dc_check_ctx(ctx, DC_OP_CONCAT)) return NULL;
    if (n < 1 || n > DC_MAX_NODE_IN || !xs) {
        dc_fail(DC_ERR_ARG, "concat: between 1 and %d inputs, got %d", DC_MAX_NODE_IN, n);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        DC_GUARD1(DC_OP_CONCAT, xs[i]);
    const dc_tensor *x0 = xs[0];
    if (axis < 0) axis += x0->ndim;
    if (axis < 0 || axis >= x0->ndim) {
        dc_fail_op1(DC_ERR_ARG, DC_OP_CONCAT, "axis out of range for", x0);
        return NULL;
    }
    int64_t shape[DC_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[axis] = 0;
    for (int i = 0; i < n; i++) {
        const dc_tensor *x = xs[i];
        if (!dc_check_same_dtype(DC_OP_CONCAT, x0, x)) return NULL;
        if (x->ndim != x0->ndim) return dc_fail_op2(DC_ERR_SHAPE, DC_OP_CONCAT, "ranks differ", x0, x);
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && x->shape[d] != x0->shape[d])
                return dc_fail_op2(DC_ERR_SHAPE, DC_OP_CONCAT, "shapes differ off the concat axis", x0, x);
        shape[axis] += x->shape[axis];
    }
    dc_tensor *y = dc_tensor_new(ctx, x0->dtype, x0->ndim, shape);
    if (!y) return NULL;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        dc_tensor *dst = dc_view_slice(ctx, y, axis, at, xs[i]->shape[axis]);
        if (!dst) return NULL;
        const dc_tensor *in[1] = {xs[i]};
        if (xs[i]->shape[axis] > 0 && dc_run_kernel(ctx, DC_OP_COPY, 1, in, 1, &dst, NULL) != DC_OK) return NULL;
        at += xs[i]->shape[axis];
    }
    dc_op_params p = {{0}};
    p.i[0] = axis;
    dc_tape_record(ctx, DC_OP_CONCAT, y, n, xs, &p);
    return y;
}

dc_tensor *dc_broadcast_to(dc_ctx *ctx, dc_tensor *x, int ndim, const int64_t *shape) {
    DC_GUARD1(DC_OP_COPY, x);
    if (!dc_check_ctx(ctx, DC_OP_COPY)) return NULL;
    dc_tensor *v = dc_view_broadcast(ctx, x, ndim, shape);
    if (!v) return NULL;
    /* recorded as COPY from x: backward sums the gradient back to x's shape */
    return copy_as(ctx, DC_OP_COPY, v, x, NULL);
}
