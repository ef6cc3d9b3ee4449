/* context.c: contexts (dc_ctx), the memory of one lifetime: a bump arena for tensor and node
 * structs, the buffers of live tensors, and the pool that keeps those buffers for reuse
 * after dc_ctx_reset. Not here: tensors (tensor.c), views (view.c), the tape (tape.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dc_internal.h"

#define ARENA_CHUNK (64 * 1024)

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
    ctx->poison = dc_guard_poison_env();
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

int dc_grow_array(void **arr, int64_t *cap, int64_t need, size_t elem) {
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
    } else if (dc_grow_array((void **)&ctx->pool, &ctx->cap_pool, ctx->n_pool + ctx->n_live, sizeof(dc_buffer *))) {
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

/* A pooled buffer for `bytes` (plus the guards in poison mode): the smallest one of at least `bytes` and at most twice that
 * (the first such in pool order), else a new one from the backend. The pool keeps release
 * order, so a step that allocates the same sizes in the same order as the previous one gets
 * the same buffers back (stable addresses, which CUDA graphs need), and steps whose shapes
 * vary (random crops) still reuse memory instead of growing the pool. */
dc_buffer *dc_ctx_buffer(dc_ctx *ctx, size_t bytes) {
    const size_t used = bytes;
    if (ctx->poison) bytes += 2 * DC_GUARD_LO; /* room for the guards (guard.c) */
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
    if (!dc_grow_array((void **)&ctx->live, &ctx->cap_live, ctx->n_live + 1, sizeof(dc_buffer *))) {
        dc_buffer_free(buf);
        dc_fail(DC_ERR_OOM, "out of host memory");
        return NULL;
    }
    ctx->live[ctx->n_live++] = buf;
    ctx->bytes_live += buf->size;
    buf->guard_lo = buf->used = buf->guard_hi = 0;
    if (ctx->poison && dc_guard_arm(buf, used) != DC_OK) return NULL; /* stays live: freed with ctx */
    return buf;
}
