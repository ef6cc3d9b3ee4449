/* ops_common.c: op names, checks, kernel runner and broadcasting helpers for the builders. */
#include <stdio.h>
#include <string.h>

#include "composite.h"
#include "ops_common.h"

static const char *const g_op_names[] = {
#define DC_OP(name, n_in, n_out, diff) #name,
#include "dc/dc_ops.def"
#undef DC_OP
};
static const int g_op_diff[] = {
#define DC_OP(name, n_in, n_out, diff) diff,
#include "dc/dc_ops.def"
#undef DC_OP
};
static const signed char g_op_arity[][2] = {
#define DC_OP(name, n_in, n_out, diff) {n_in, n_out},
#include "dc/dc_ops.def"
#undef DC_OP
};
/* every declared kernel call fits dc_kernel_args */
#define DC_OP(name, n_in, n_out, diff)                                                      \
    _Static_assert(n_in <= DC_MAX_KERNEL_IN && n_out <= DC_MAX_KERNEL_OUT, #name " arity");
#include "dc/dc_ops.def"
#undef DC_OP

const char *dc_op_name(dc_op op) {
    static _Thread_local char lower[DC_OP_COUNT][24];
    if ((int)op < 0 || op >= DC_OP_COUNT) return "?";
    if (!lower[op][0]) {
        const char *s = g_op_names[op];
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof lower[op]; i++) lower[op][i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
        lower[op][i] = '\0';
    }
    return lower[op];
}

int dc_op_differentiable(dc_op op) { return ((int)op >= 0 && op < DC_OP_COUNT) ? g_op_diff[op] : 0; }

int dc_op_arity(dc_op op, int *n_in, int *n_out) {
    int ok = (int)op >= 0 && op < DC_OP_COUNT;
    if (n_in) *n_in = ok ? g_op_arity[op][0] : 0;
    if (n_out) *n_out = ok ? g_op_arity[op][1] : 0;
    return ok;
}

dc_status dc_run_kernel(dc_ctx *ctx, dc_op op, int n_in, const dc_tensor *const *in, int n_out,
                        dc_tensor *const *out, const dc_op_params *p) {
    dc_kernel_args a;
    dc_args_init(&a, op);
    a.n_in = n_in;
    a.n_out = n_out;
    for (int i = 0; i < n_in; i++) a.in[i] = in[i];
    for (int i = 0; i < n_out; i++) a.out[i] = out[i];
    if (p) a.p = *p;
    if (dc_op_has_composite(op) && !dc_kernel_runnable(ctx->be, &a)) return dc_composite_run(ctx, &a);
    return dc_dispatch(ctx->be, &a);
}

dc_tensor *dc_fail_op1(dc_status st, dc_op op, const char *what, const dc_tensor *t) {
    char s[160];
    dc_fail(st, "%s: %s %s", dc_op_name(op), what, dc_tensor_describe(t, s, sizeof s));
    return NULL;
}

dc_tensor *dc_fail_op2(dc_status st, dc_op op, const char *what, const dc_tensor *a, const dc_tensor *b) {
    char s1[160], s2[160];
    dc_fail(st, "%s: %s: %s and %s", dc_op_name(op), what, dc_tensor_describe(a, s1, sizeof s1),
            dc_tensor_describe(b, s2, sizeof s2));
    return NULL;
}

dc_tensor *dc_null_input(dc_op op) {
    if (dc_last_status() == DC_OK) dc_fail(DC_ERR_ARG, "%s: input tensor is NULL", dc_op_name(op));
    return NULL;
}

int dc_check_ctx(dc_ctx *ctx, dc_op op) {
    if (!ctx) {
        dc_fail(DC_ERR_ARG, "%s: ctx is NULL", dc_op_name(op));
        return 0;
    }
    return 1;
}

int dc_check_float(dc_op op, const dc_tensor *t) {
    if (dc_is_float(t)) return 1;
    dc_fail_op1(DC_ERR_DTYPE, op, "needs a float tensor, got", t);
    return 0;
}

int dc_check_same_dtype(dc_op op, const dc_tensor *a, const dc_tensor *b) {
    if (a->dtype == b->dtype) return 1;
    dc_fail_op2(DC_ERR_DTYPE, op, "dtypes differ", a, b);
    return 0;
}

int dc_broadcast_shape(dc_op op, const dc_tensor *a, const dc_tensor *b, int64_t *out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else {
            dc_fail_op2(DC_ERR_SHAPE, op, "shapes do not broadcast", a, b);
            return -1;
        }
    }
    return nd;
}

dc_tensor *dc_sum_to_shape(dc_ctx *ctx, dc_tensor *g, const dc_tensor *t) {
    if (!g) return NULL;
    if (dc_tensor_same_shape(g, t)) return g;
    int off = g->ndim - t->ndim;
    dc_tensor *r = g;
    /* sum (keepdim) over every axis that t lacks or has as 1 */
    for (int i = 0; i < g->ndim && r; i++) {
        int j = i - off;
        int64_t dt = j >= 0 ? t->shape[j] : 1;
        if (dt == 1 && g->shape[i] != 1) r = dc_sum(ctx, r, i, 1);
    }
    if (!r) return NULL;
    return dc_reshape(ctx, r, t->ndim, t->shape);
}
