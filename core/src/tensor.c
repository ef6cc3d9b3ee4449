/* tensor.c: contexts (arena + buffer pool), tensor creation, upload/download and views.
 * Not here: op builders (ops.c), the tape (tape.c), backend registry (backend.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_internal.h"

#define ARENA_CHUNK (64 * 1024)

void dc_internal_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "dynacl internal error: %s (%s:%d)\n", expr, file, line);
    abort(); /* invariant violated inside the library: a bug, never user input */
}

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

/* ---------------------------------------------------------------- contexts */

dc_ctx *dc_ctx_new(dc_backend *be) {
    if (!be) {
        dc_fail(DC_ERR_ARG, "dc_ctx_new: backend is NULL");
        return NULL;
    }
    dc_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        dc_fail(DC_ERR_OOM, "dc_ctx_new: out of host memory");
        return NULL;
    }
    ctx->be = be;
    ctx->grad_enabled = 1;
    return ctx;
}

dc_backend *dc_ctx_backend(const dc_ctx *ctx) { return ctx ? ctx->be : NULL; }

int dc_ctx_set_grad_enabled(dc_ctx *ctx, int enabled) {
    if (!ctx) return 0;
    int old = ctx->grad_enabled;
    ctx->grad_enabled = enabled ? 1 : 0;
    return old;
}

int dc_ctx_grad_enabled(const dc_ctx *ctx) { return ctx ? ctx->grad_enabled : 0; }
void dc_ctx_set_poison(dc_ctx *ctx, int on) { if (ctx) ctx->poison = on ? 1 : 0; }
size_t dc_ctx_bytes_live(const dc_ctx *ctx) { return ctx ? ctx->bytes_live : 0; }
size_t dc_ctx_bytes_pooled(const dc_ctx *ctx) { return ctx ? ctx->bytes_pooled : 0; }

void *dc_arena_alloc(dc_ctx *ctx, size_t bytes) {
    bytes = (bytes + 15) & ~(size_t)15;
    dc_arena_chunk *c = ctx->arena;
    if (!c || c->used + bytes > c->cap) {
        size_t cap = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
        if (ctx->arena_free && ctx->arena_free->cap >= cap) {
            c = ctx->arena_free;
            ctx->arena_free = c->next;
        } else {
            c = malloc(sizeof *c + cap);
            if (!c) return NULL;
            c->cap = cap;
        }
        c->used = 0;
        c->next = ctx->arena;
        ctx->arena = c;
    }
    void *p = c->data + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

static int grow(void **arr, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 1;
    int64_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

void dc_ctx_reset(dc_ctx *ctx) {
    if (!ctx) return;
    /* live buffers go to the pool, keeping allocation order so that a step that allocates
     * the same sizes in the same order gets the same buffers back (stable addresses). */
    if (ctx->n_live == 0) {
        /* nothing to pool */
    } else if (grow((void **)&ctx->pool, &ctx->cap_pool, ctx->n_pool + ctx->n_live, sizeof(dc_buffer *))) {
        memcpy(ctx->pool + ctx->n_pool, ctx->live, (size_t)ctx->n_live * sizeof(dc_buffer *));
        ctx->n_pool += ctx->n_live;
        ctx->bytes_pooled += ctx->bytes_live;
    } else {
        for (int64_t i = 0; i < ctx->n_live; i++) dc_buffer_free(ctx->live[i]);
    }
    ctx->n_live = 0;
    ctx->bytes_live = 0;
    ctx->n_tape = 0;
    /* all arena chunks become free */
    while (ctx->arena) {
        dc_arena_chunk *c = ctx->arena;
        ctx->arena = c->next;
        c->next = ctx->arena_free;
        ctx->arena_free = c;
    }
}

void dc_ctx_trim(dc_ctx *ctx) {
    if (!ctx) return;
    for (int64_t i = 0; i < ctx->n_pool; i++) dc_buffer_free(ctx->pool[i]);
    ctx->n_pool = 0;
    ctx->bytes_pooled = 0;
}

void dc_ctx_free(dc_ctx *ctx) {
    if (!ctx) return;
    dc_ctx_reset(ctx);
    dc_ctx_trim(ctx);
    while (ctx->arena_free) {
        dc_arena_chunk *c = ctx->arena_free;
        ctx->arena_free = c->next;
        free(c);
    }
    free(ctx->live);
    free(ctx->pool);
    free(ctx->tape);
    free(ctx);
}

/* A pooled buffer for `bytes`: the smallest one of at least `bytes` and at most twice that
 * (the first such in pool order), else a new one from the backend. The pool keeps release
 * order, so a step that allocates the same sizes in the same order as the previous one gets
 * the same buffers back (stable addresses, which CUDA graphs need), and steps whose shapes
 * vary (random crops) still reuse memory instead of growing the pool. */
static dc_buffer *ctx_buffer(dc_ctx *ctx, size_t bytes) {
    dc_buffer *buf = NULL;
    int64_t best = -1;
    for (int64_t i = 0; i < ctx->n_pool; i++) {
        size_t sz = ctx->pool[i]->size;
        if (sz < bytes || sz / 2 > bytes) continue;
        if (best < 0 || sz < ctx->pool[best]->size) best = i;
        if (sz == bytes) break;
    }
    if (best >= 0) {
        buf = ctx->pool[best];
        memmove(ctx->pool + best, ctx->pool + best + 1, (size_t)(ctx->n_pool - best - 1) * sizeof(dc_buffer *));
        ctx->n_pool--;
        ctx->bytes_pooled -= buf->size;
    }
    if (!buf) {
        buf = dc_buffer_new(ctx->be, bytes);
        if (!buf && ctx->n_pool > 0) { /* retry after releasing the pool */
            dc_ctx_trim(ctx);
            buf = dc_buffer_new(ctx->be, bytes);
        }
        if (!buf) return NULL;
    }
    if (!grow((void **)&ctx->live, &ctx->cap_live, ctx->n_live + 1, sizeof(dc_buffer *))) {
        dc_buffer_free(buf);
        dc_fail(DC_ERR_OOM, "out of host memory");
        return NULL;
    }
    ctx->live[ctx->n_live++] = buf;
    ctx->bytes_live += buf->size;
    return buf;
}

dc_node *dc_tape_record(dc_ctx *ctx, dc_op op, dc_tensor *out, int n_in, dc_tensor *const *in,
                        const dc_op_params *p) {
    if (!ctx->grad_enabled) return NULL;
    int need = 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && (in[i]->flags & DC_NEEDS_GRAD)) need = 1;
    if (!need) return NULL;
    DC_ASSERT(n_in <= DC_MAX_NODE_IN);
    dc_node *n = dc_arena_alloc(ctx, sizeof *n);
    if (!n || !grow((void **)&ctx->tape, &ctx->cap_tape, ctx->n_tape + 1, sizeof(dc_node *))) {
        dc_fail(DC_ERR_OOM, "%s: out of host memory recording the tape", dc_op_name(op));
        return NULL;
    }
    n->op = op;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    n->out = out;
    if (p) n->p = *p;
    out->node = n;
    out->flags |= DC_NEEDS_GRAD;
    ctx->tape[ctx->n_tape++] = n;
    return n;
}

int64_t dc_tape_size(const dc_ctx *ctx) { return ctx ? ctx->n_tape : 0; }

/* ---------------------------------------------------------------- tensors */

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
    t->buf = ctx_buffer(ctx, bytes);
    if (!t->buf) {
        char s[128];
        dc_fail_prefix("allocating %s %s (%zu bytes) on %s", dc_shape_str(t, s, sizeof s),
                       dc_dtype_name(dt), bytes, ctx->be->name);
        return NULL;
    }
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

/* ---------------------------------------------------------------- views */

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
