/* tensor.c: tensors: dtypes and sizes, creation in a context (storage from its pool),
 * fill, upload/download, single items and gradient flags. Not here: contexts and the pool
 * (context.c), views (view.c), the tape (tape.c), op builders (ops_*.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_internal.h"

size_t dc_dtype_size(dc_dtype dt) {
    switch (dt) {
    case DC_F32: return 4;
    case DC_F64: return 8;
    case DC_I32: return 4;
    case DC_U8: return 1;
    default: return 0;
    }
}

const char *dc_dtype_name(dc_dtype dt) {
    switch (dt) {
    case DC_F32: return "f32";
    case DC_F64: return "f64";
    case DC_I32: return "i32";
    case DC_U8: return "u8";
    default: return "?";
    }
}

int64_t dc_tensor_numel(const dc_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int dc_tensor_is_contiguous(const dc_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return 0;
        s *= t->shape[i];
    }
    return 1;
}

int dc_tensor_same_shape(const dc_tensor *a, const dc_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *dc_shape_str(const dc_tensor *t, char *buf, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "(");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
    return buf;
}

char *dc_tensor_describe(const dc_tensor *t, char *buf, size_t cap) {
    char s[128];
    if (!t) {
        snprintf(buf, cap, "(null)");
        return buf;
    }
    snprintf(buf, cap, "%s %s", dc_shape_str(t, s, sizeof s), dc_dtype_name(t->dtype));
    return buf;
}

void dc_tensor_set_contiguous_strides(dc_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

static int shape_ok(int ndim, const int64_t *shape, const char *who) {
    if (ndim < 0 || ndim > DC_MAX_DIMS) {
        dc_fail(DC_ERR_SHAPE, "%s: ndim %d outside 0..%d", who, ndim, DC_MAX_DIMS);
        return 0;
    }
    if (ndim > 0 && !shape) {
        dc_fail(DC_ERR_ARG, "%s: shape is NULL", who);
        return 0;
    }
    double total = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            dc_fail(DC_ERR_SHAPE, "%s: negative dimension %lld at axis %d", who, (long long)shape[i], i);
            return 0;
        }
        total *= (double)shape[i];
    }
    if (total > 9.0e15) {
        dc_fail(DC_ERR_SHAPE, "%s: %g elements is too many", who, total);
        return 0;
    }
    return 1;
}

dc_tensor *dc_tensor_struct_new(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape) {
    if (!shape_ok(ndim, shape, "tensor")) return NULL;
    if ((int)dt < 0 || dt >= DC_DTYPE_COUNT) {
        dc_fail(DC_ERR_DTYPE, "tensor: unknown dtype %d", (int)dt);
        return NULL;
    }
    dc_tensor *t = dc_arena_alloc(ctx, sizeof *t);
    if (!t) {
        dc_fail(DC_ERR_OOM, "tensor: out of host memory");
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    dc_tensor_set_contiguous_strides(t);
    t->ctx = ctx;
    return t;
}

dc_tensor *dc_tensor_new(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape) {
    if (!ctx) {
        dc_fail(DC_ERR_ARG, "dc_tensor_new: ctx is NULL");
        return NULL;
    }
    dc_tensor *t = dc_tensor_struct_new(ctx, dt, ndim, shape);
    if (!t) return NULL;
    size_t bytes = (size_t)dc_tensor_numel(t) * dc_dtype_size(dt);
    if (bytes == 0) bytes = dc_dtype_size(dt); /* empty tensors still get a valid buffer */
    t->buf = dc_ctx_buffer(ctx, bytes);
    if (!t->buf) {
        char s[128];
        dc_fail_prefix("allocating %s %s (%zu bytes) on %s", dc_shape_str(t, s, sizeof s),
                       dc_dtype_name(dt), bytes, ctx->be->name);
        return NULL;
    }
    t->offset = t->buf->guard_lo; /* 0, or past the guard in poison mode */
    if (ctx->poison) {
        double v = (dt == DC_F32 || dt == DC_F64) ? NAN : (dt == DC_U8 ? 0xA5 : -1515870811.0 /* 0xA5A5A5A5 */);
        if (dc_tensor_fill(t, v) != DC_OK) return NULL;
    }
    return t;
}

dc_status dc_tensor_fill(dc_tensor *t, double value) {
    if (!t) return dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_ARG, "fill: tensor is NULL");
    if (!dc_tensor_is_contiguous(t)) return dc_fail(DC_ERR_ARG, "fill: tensor must be contiguous");
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_FILL);
    a.out[0] = t;
    a.n_out = 1;
    a.p.f[0] = value;
    return dc_dispatch(t->buf->be, &a);
}

dc_status dc_tensor_accumulate(dc_tensor *dst, const dc_tensor *src) {
    if (!dst || !src) return dc_fail(DC_ERR_ARG, "accumulate: NULL tensor");
    if (!dc_tensor_same_shape(dst, src) || dst->dtype != src->dtype || !dc_tensor_is_contiguous(dst)) {
        char a[160], b[160];
        return dc_fail(DC_ERR_SHAPE, "accumulate: %s += %s needs equal shapes and dtypes, contiguous dst",
                       dc_tensor_describe(dst, a, sizeof a), dc_tensor_describe(src, b, sizeof b));
    }
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_ADD);
    a.in[0] = dst;
    a.in[1] = src;
    a.out[0] = dst;
    a.n_in = 2;
    a.n_out = 1;
    return dc_dispatch(dst->buf->be, &a);
}

dc_tensor *dc_tensor_full(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape, double value) {
    dc_tensor *t = dc_tensor_new(ctx, dt, ndim, shape);
    if (t && dc_tensor_fill(t, value) != DC_OK) return NULL;
    return t;
}

dc_tensor *dc_tensor_zeros(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape) {
    return dc_tensor_full(ctx, dt, ndim, shape, 0.0);
}

dc_tensor *dc_tensor_from_host(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape, const void *host) {
    dc_tensor *t = dc_tensor_new(ctx, dt, ndim, shape);
    if (!t) return NULL;
    if (dc_tensor_upload(t, host, (size_t)dc_tensor_numel(t) * dc_dtype_size(dt)) != DC_OK) return NULL;
    return t;
}

dc_status dc_tensor_upload(dc_tensor *t, const void *host, size_t bytes) {
    if (!t || !host) return dc_fail(DC_ERR_ARG, "upload: NULL tensor or host pointer");
    size_t need = (size_t)dc_tensor_numel(t) * dc_dtype_size(t->dtype);
    if (bytes != need) {
        char s[160];
        return dc_fail(DC_ERR_SHAPE, "upload: %zu bytes given for %s (%zu bytes)", bytes,
                       dc_tensor_describe(t, s, sizeof s), need);
    }
    dc_backend *be = t->buf->be;
    if (dc_tensor_is_contiguous(t)) return be->vt->upload(be, t->buf, t->offset, host, bytes);
    /* strided destination: stage through a contiguous temporary and COPY */
    dc_ctx *tmp = dc_ctx_new(be);
    if (!tmp) return dc_last_status();
    dc_tensor *c = dc_tensor_new(tmp, t->dtype, t->ndim, t->shape);
    dc_status st = c ? be->vt->upload(be, c->buf, c->offset, host, bytes) : dc_last_status();
    if (st == DC_OK) {
        dc_kernel_args a;
        dc_args_init(&a, DC_OP_COPY);
        a.in[0] = c;
        a.out[0] = t;
        a.n_in = a.n_out = 1;
        st = dc_dispatch(be, &a);
    }
    dc_ctx_free(tmp);
    return st;
}

dc_status dc_tensor_download(const dc_tensor *t, void *host, size_t bytes) {
    if (!t || !host) return dc_fail(DC_ERR_ARG, "download: NULL tensor or host pointer");
    size_t need = (size_t)dc_tensor_numel(t) * dc_dtype_size(t->dtype);
    if (bytes != need) {
        char s[160];
        return dc_fail(DC_ERR_SHAPE, "download: %zu bytes requested for %s (%zu bytes)", bytes,
                       dc_tensor_describe(t, s, sizeof s), need);
    }
    dc_backend *be = t->buf->be;
    if (dc_tensor_is_contiguous(t)) return be->vt->download(be, t->buf, t->offset, host, bytes);
    dc_ctx *tmp = dc_ctx_new(be);
    if (!tmp) return dc_last_status();
    dc_tensor *c = dc_tensor_new(tmp, t->dtype, t->ndim, t->shape);
    dc_status st = c ? DC_OK : dc_last_status();
    if (st == DC_OK) {
        dc_kernel_args a;
        dc_args_init(&a, DC_OP_COPY);
        a.in[0] = t;
        a.out[0] = c;
        a.n_in = a.n_out = 1;
        st = dc_dispatch(be, &a);
    }
    if (st == DC_OK) st = be->vt->download(be, c->buf, c->offset, host, bytes);
    dc_ctx_free(tmp);
    return st;
}

double dc_tensor_item(const dc_tensor *t) {
    if (!t || dc_tensor_numel(t) != 1) {
        dc_fail(DC_ERR_SHAPE, "item: tensor must hold exactly one element");
        return NAN;
    }
    unsigned char raw[8];
    if (dc_tensor_download(t, raw, dc_dtype_size(t->dtype)) != DC_OK) return NAN;
    switch (t->dtype) {
    case DC_F32: { float v; memcpy(&v, raw, 4); return v; }
    case DC_F64: { double v; memcpy(&v, raw, 8); return v; }
    case DC_I32: { int32_t v; memcpy(&v, raw, 4); return v; }
    case DC_U8: return raw[0];
    default: return NAN;
    }
}

dc_backend *dc_tensor_backend(const dc_tensor *t) { return (t && t->buf) ? t->buf->be : NULL; }

void dc_tensor_set_name(dc_tensor *t, const char *name) {
    if (t && name) snprintf(t->name, sizeof t->name, "%s", name);
}

dc_status dc_tensor_set_requires_grad(dc_tensor *t, int on) {
    if (!t) return dc_fail(DC_ERR_ARG, "set_requires_grad: tensor is NULL");
    if (on && t->dtype != DC_F32 && t->dtype != DC_F64)
        return dc_fail(DC_ERR_DTYPE, "set_requires_grad: only float tensors have gradients (got %s)",
                       dc_dtype_name(t->dtype));
    if (on) t->flags |= DC_NEEDS_GRAD;
    else t->flags &= ~(uint32_t)DC_NEEDS_GRAD;
    return DC_OK;
}
