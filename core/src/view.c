/* view.c: views that share a tensor's buffer (reshape, permute, slice, broadcast with
 * stride 0, any strides for the composites) and the reshape-target resolver. Views copy
 * nothing; the ops that need dense data make a contiguous copy (dc_contiguous, ops_data.c).
 */
#include <stdio.h>

#include "dc_internal.h"

static dc_tensor *view_of(dc_ctx *ctx, const dc_tensor *t) {
    dc_tensor *v = dc_arena_alloc(ctx, sizeof *v);
    if (!v) {
        dc_fail(DC_ERR_OOM, "view: out of host memory");
        return NULL;
    }
    *v = *t;
    v->flags = DC_VIEW;
    v->grad = NULL;
    v->node = NULL;
    v->ctx = ctx;
    v->name[0] = '\0';
    return v;
}

int dc_resolve_shape(const dc_tensor *t, int ndim, const int64_t *shape, int64_t *out) {
    char s[128];
    if (ndim < 0 || ndim > DC_MAX_DIMS || (ndim && !shape)) {
        dc_fail(DC_ERR_SHAPE, "reshape: bad target rank %d", ndim);
        return 0;
    }
    int64_t known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0) {
                dc_fail(DC_ERR_SHAPE, "reshape: more than one -1 in target shape");
                return 0;
            }
            infer = i;
        } else if (shape[i] < 0) {
            dc_fail(DC_ERR_SHAPE, "reshape: negative dimension %lld", (long long)shape[i]);
            return 0;
        } else {
            known *= shape[i];
        }
        out[i] = shape[i];
    }
    int64_t n = dc_tensor_numel(t);
    if (infer >= 0) {
        if (known == 0 || n % known != 0) {
            dc_fail(DC_ERR_SHAPE, "reshape: cannot infer -1 for %s with %lld elements",
                    dc_shape_str(t, s, sizeof s), (long long)n);
            return 0;
        }
        out[infer] = n / known;
        known = n;
    }
    if (known != n) {
        dc_fail(DC_ERR_SHAPE, "reshape: %s has %lld elements, target has %lld", dc_shape_str(t, s, sizeof s),
                (long long)n, (long long)known);
        return 0;
    }
    return 1;
}

dc_tensor *dc_view_reshape(dc_ctx *ctx, dc_tensor *t, int ndim, const int64_t *shape) {
    if (!t || !ctx) return NULL;
    if (!dc_tensor_is_contiguous(t)) {
        char s[128];
        dc_fail(DC_ERR_ARG, "reshape: view of non-contiguous tensor %s", dc_shape_str(t, s, sizeof s));
        return NULL;
    }
    int64_t sh[DC_MAX_DIMS];
    if (!dc_resolve_shape(t, ndim, shape, sh)) return NULL;
    dc_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->shape[i] = sh[i];
    dc_tensor_set_contiguous_strides(v);
    return v;
}

dc_tensor *dc_view_permute(dc_ctx *ctx, dc_tensor *t, const int *perm) {
    if (!t || !ctx) return NULL;
    int seen[DC_MAX_DIMS] = {0};
    for (int i = 0; i < t->ndim; i++) {
        if (!perm || perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]++) {
            dc_fail(DC_ERR_ARG, "permute: invalid permutation for a %d-d tensor", t->ndim);
            return NULL;
        }
    }
    dc_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    for (int i = 0; i < t->ndim; i++) {
        v->shape[i] = t->shape[perm[i]];
        v->stride[i] = t->stride[perm[i]];
    }
    return v;
}

dc_tensor *dc_view_slice(dc_ctx *ctx, dc_tensor *t, int axis, int64_t start, int64_t len) {
    if (!t || !ctx) return NULL;
    if (axis < 0) axis += t->ndim;
    if (axis < 0 || axis >= t->ndim) {
        dc_fail(DC_ERR_ARG, "slice: axis out of range for a %d-d tensor", t->ndim);
        return NULL;
    }
    if (start < 0 || len < 0 || start + len > t->shape[axis]) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "slice: [%lld, %lld) outside axis %d of %s", (long long)start,
                (long long)(start + len), axis, dc_shape_str(t, s, sizeof s));
        return NULL;
    }
    dc_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->shape[axis] = len;
    v->offset += (size_t)(start * t->stride[axis]) * dc_dtype_size(t->dtype);
    return v;
}

dc_tensor *dc_view_broadcast(dc_ctx *ctx, dc_tensor *t, int ndim, const int64_t *shape) {
    if (!t || !ctx) return NULL;
    char s[128];
    if (ndim < t->ndim || ndim > DC_MAX_DIMS) {
        dc_fail(DC_ERR_SHAPE, "broadcast: cannot broadcast %s to rank %d", dc_shape_str(t, s, sizeof s), ndim);
        return NULL;
    }
    dc_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->ndim = ndim;
    int off = ndim - t->ndim;
    for (int i = 0; i < ndim; i++) {
        int j = i - off;
        int64_t d = j >= 0 ? t->shape[j] : 1;
        int64_t st = j >= 0 ? t->stride[j] : 0;
        if (d == shape[i]) {
            v->shape[i] = d;
            v->stride[i] = d == 1 ? 0 : st;
        } else if (d == 1) {
            v->shape[i] = shape[i];
            v->stride[i] = 0;
        } else {
            dc_fail(DC_ERR_SHAPE, "broadcast: %s does not broadcast to axis %d of size %lld",
                    dc_shape_str(t, s, sizeof s), i, (long long)shape[i]);
            return NULL;
        }
    }
    return v;
}

dc_tensor *dc_view_strided(dc_ctx *ctx, const dc_tensor *t, int ndim, const int64_t *shape, const int64_t *stride,
                           int64_t off) {
    if (!t || !ctx) return NULL;
    dc_tensor *v = view_of(ctx, t);
    if (!v) return NULL;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        v->shape[i] = shape[i];
        v->stride[i] = stride[i];
    }
    v->offset += (size_t)off * dc_dtype_size(t->dtype);
    return v;
}
