/* dc_tensor.h: tensors, dtypes, views and contexts (the two memory lifetimes).
 *
 *     dc_backend *be = dc_backend_new("cpu");
 *     dc_ctx *ctx = dc_ctx_new(be);                   // a step context
 *     int64_t shape[2] = {952, 156};
 *     dc_tensor *x = dc_tensor_new(ctx, DC_F32, 2, shape);
 *     dc_tensor_upload(x, host_data, sizeof(float) * 952 * 156);
 *     ...                                             // ops allocate their outputs in ctx
 *     dc_ctx_reset(ctx);                              // frees every tensor and the tape at once
 *
 * A tensor is a dtype, a shape, element strides, and a backend buffer plus byte offset.
 * Tensors made by dc_tensor_new are contiguous row-major; views share the buffer.
 */
#ifndef DC_TENSOR_H
#define DC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_MAX_DIMS 4

typedef enum dc_dtype {
    DC_F32 = 0, /* every backend */
    DC_F64 = 1, /* CPU backends only: gradient checks and references */
    DC_I32 = 2, /* labels, indices */
    DC_U8 = 3,  /* masks (0 or 1) */
    DC_DTYPE_COUNT
} dc_dtype;

enum {
    DC_NEEDS_GRAD = 1u << 0, /* gradients flow into this tensor */
    DC_PARAM = 1u << 1,      /* trainable parameter (lives in a dc_params group) */
    DC_VIEW = 1u << 2        /* shares another tensor's buffer */
};

typedef struct dc_backend dc_backend;
typedef struct dc_buffer dc_buffer;
typedef struct dc_ctx dc_ctx;
typedef struct dc_node dc_node;

typedef struct dc_tensor {
    dc_dtype dtype;
    int ndim;                      /* 0 (scalar) .. DC_MAX_DIMS */
    int64_t shape[DC_MAX_DIMS];
    int64_t stride[DC_MAX_DIMS];   /* in elements; 0 on a broadcast axis */
    dc_buffer *buf;                /* backend storage (shared by views) */
    size_t offset;                 /* byte offset into buf */
    uint32_t flags;                /* DC_NEEDS_GRAD | DC_PARAM | DC_VIEW */
    struct dc_tensor *grad;        /* same shape, contiguous; NULL until first backward */
    dc_node *node;                 /* tape node that produced it, NULL for leaves */
    dc_ctx *ctx;                   /* owning context (NULL for dc_params members) */
    char name[48];                 /* optional, for messages and checkpoints */
} dc_tensor;

/* ---- sizes ---- */
size_t dc_dtype_size(dc_dtype dt);
const char *dc_dtype_name(dc_dtype dt);
int64_t dc_tensor_numel(const dc_tensor *t);
int dc_tensor_is_contiguous(const dc_tensor *t);
int dc_tensor_same_shape(const dc_tensor *a, const dc_tensor *b);
/* "(8, 119, 156) f32" into buf; returns buf. */
char *dc_tensor_describe(const dc_tensor *t, char *buf, size_t cap);

/* ---- contexts ---- */
dc_ctx *dc_ctx_new(dc_backend *be);
void dc_ctx_free(dc_ctx *ctx);                 /* accepts NULL */
void dc_ctx_reset(dc_ctx *ctx);                /* free all tensors + tape; buffers are pooled for reuse */
void dc_ctx_trim(dc_ctx *ctx);                 /* give pooled buffers back to the backend */
dc_backend *dc_ctx_backend(const dc_ctx *ctx);
/* Autodiff recording switch (default on). Returns the previous value. */
int dc_ctx_set_grad_enabled(dc_ctx *ctx, int enabled);
int dc_ctx_grad_enabled(const dc_ctx *ctx);
/* Debugging/conformance: fill every new tensor of ctx with NaN (floats) or 0xA5 bytes,
 * so a kernel that leaves an output element unwritten is caught, and put guard regions
 * filled with a pattern before and after each new tensor's bytes in its buffer: after
 * every kernel the dispatch checks the guards of the buffers the kernel was given, and a
 * changed byte fails the call (DC_ERR_BACKEND) naming the op, the tensor and the side
 * (before/after). Off by default; the environment variable DC_POISON=1 turns it on for
 * every context created afterwards. Only tensors created while poison is on get guards. */
void dc_ctx_set_poison(dc_ctx *ctx, int on);
/* Bytes currently held in live tensors / in the reuse pool. */
size_t dc_ctx_bytes_live(const dc_ctx *ctx);
size_t dc_ctx_bytes_pooled(const dc_ctx *ctx);

/* ---- tensors ---- */
/* Contiguous, uninitialised. shape may be NULL when ndim == 0. */
dc_tensor *dc_tensor_new(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape);
dc_tensor *dc_tensor_zeros(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape);
dc_tensor *dc_tensor_full(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape, double value);
/* New contiguous tensor holding a copy of host data (numel * dtype size bytes). */
dc_tensor *dc_tensor_from_host(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape, const void *host);
/* Copy host -> tensor / tensor -> host. bytes must equal numel * dtype size.
 * Non-contiguous tensors are handled (download goes through a contiguous copy). */
dc_status dc_tensor_upload(dc_tensor *t, const void *host, size_t bytes);
dc_status dc_tensor_download(const dc_tensor *t, void *host, size_t bytes);
/* Convenience: the single value of a one-element tensor, as double (NaN on error). */
double dc_tensor_item(const dc_tensor *t);
/* dst += src elementwise (same shape and dtype, dst contiguous; no tape). For running sums
 * kept on the device, e.g. an epoch's loss. */
dc_status dc_tensor_accumulate(dc_tensor *dst, const dc_tensor *src);
/* Fill a contiguous tensor with a value (no tape). */
dc_status dc_tensor_fill(dc_tensor *t, double value);
void dc_tensor_set_name(dc_tensor *t, const char *name);
/* The backend holding t's storage. */
dc_backend *dc_tensor_backend(const dc_tensor *t);
/* Mark a leaf as needing gradients (its grad is allocated in its own context). */
dc_status dc_tensor_set_requires_grad(dc_tensor *t, int on);

/* ---- views (share the buffer; no kernel, no tape) ---- */
dc_tensor *dc_view_reshape(dc_ctx *ctx, dc_tensor *t, int ndim, const int64_t *shape); /* contiguous t; one -1 allowed */
dc_tensor *dc_view_permute(dc_ctx *ctx, dc_tensor *t, const int *perm);
dc_tensor *dc_view_slice(dc_ctx *ctx, dc_tensor *t, int axis, int64_t start, int64_t len);
/* Broadcast t to ndim/shape (numpy rules, stride 0 on expanded axes). */
dc_tensor *dc_view_broadcast(dc_ctx *ctx, dc_tensor *t, int ndim, const int64_t *shape);

#ifdef __cplusplus
}
#endif
#endif
