/* dc_internal.h: core-private structures (context, tape node) and helpers.
 * Backends never include this file; they see only dc_backend_impl.h.
 */
#ifndef DC_INTERNAL_H
#define DC_INTERNAL_H

#include "dc/dc.h"
#include "dc/dc_backend_impl.h"
#include "dc/dc_profile.h"

#define DC_MAX_NODE_IN 8
#define DC_MAX_NODE_AUX 3

/* Internal invariant check (never used on user input). */
#define DC_ASSERT(c)                                                                        \
    do {                                                                                    \
        if (!(c)) dc_internal_assert_fail(#c, __FILE__, __LINE__);                          \
    } while (0)
void dc_internal_assert_fail(const char *expr, const char *file, int line);

/* One recorded op. Inputs may live in other contexts (parameters). */
struct dc_node {
    dc_op op;
    int n_in;
    dc_tensor *in[DC_MAX_NODE_IN];
    dc_tensor *out;
    dc_tensor *aux[DC_MAX_NODE_AUX]; /* saved for backward: bn mean/istd, norms, argmax, dz */
    dc_op_params p;
};

/* A bump arena for tensor and node structs (never for data). */
typedef struct dc_arena_chunk {
    struct dc_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} dc_arena_chunk;

typedef struct dc_pool_entry {
    dc_buffer *buf;
} dc_pool_entry;

struct dc_ctx {
    dc_backend *be;
    int grad_enabled;
    int poison;                 /* fill new tensors with NaN / 0xA5 */
    dc_arena_chunk *arena;      /* current chunk first */
    dc_arena_chunk *arena_free; /* chunks kept after reset */
    dc_buffer **live;           /* buffers owned by live tensors, in allocation order */
    int64_t n_live, cap_live;
    dc_buffer **pool;           /* buffers kept for reuse, in release order */
    int64_t n_pool, cap_pool;
    dc_node **tape;
    int64_t n_tape, cap_tape;
    size_t bytes_live, bytes_pooled;
};

/* context.c: struct memory from the arena (zeroed, 16-byte aligned); a buffer of at least
 * `bytes` for a new tensor, from the pool or the backend, owned by ctx's live list. */
void *dc_arena_alloc(dc_ctx *ctx, size_t bytes);
dc_buffer *dc_ctx_buffer(dc_ctx *ctx, size_t bytes);
/* Grow *arr (of *cap elements of elem bytes) to hold need elements; 0 when out of memory. */
int dc_grow_array(void **arr, int64_t *cap, int64_t need, size_t elem);
/* A tensor struct in ctx without storage (views fill buf/offset). */
dc_tensor *dc_tensor_struct_new(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape);
void dc_tensor_set_contiguous_strides(dc_tensor *t);

/* Backend buffers (allocation + free through the vtable). */
dc_buffer *dc_buffer_new(dc_backend *be, size_t bytes);
void dc_buffer_free(dc_buffer *buf);

/* guard.c: poison mode's guard regions. A buffer of a poisoned context is requested
 * DC_GUARD_LO + bytes + DC_GUARD_LO bytes large (so at least DC_GUARD_LO after), and its
 * tensor starts DC_GUARD_LO bytes in (a multiple of 256 keeps device alignment). */
#define DC_GUARD_LO 256
#define DC_GUARD_HI_MAX 4096
/* DC_POISON is set (and not "0") in the environment. */
int dc_guard_poison_env(void);
/* Write the pattern around `used` bytes at buf->guard_lo (not inside a capture). */
dc_status dc_guard_arm(dc_buffer *buf, size_t used);
/* After a kernel: the guards of every armed buffer in a are intact, else DC_ERR_BACKEND
 * naming the op, the tensor and the side. */
dc_status dc_guard_check(dc_backend *be, const dc_kernel_args *a);

/* Run a kernel after checking the slot and dtype support. Never runs a composite: kernel
 * calls from op builders go through dc_run_kernel (ops_common.h), which does. */
dc_status dc_dispatch(dc_backend *be, dc_kernel_args *a);
/* The checks of dc_dispatch before any kernel or composite runs: the counts of dc_ops.def,
 * no NULL input, every tensor on be. */
dc_status dc_check_kernel_args(const dc_backend *be, const dc_kernel_args *a);
/* 1 if the backend would run a's kernel itself: the slot is set, not masked off, and
 * supports a's dtype. */
int dc_kernel_runnable(dc_backend *be, const dc_kernel_args *a);
/* Treat one kernel slot of be as NULL (off = 1) or restore it (tests: a backend that lacks
 * one primitive; dc_backend_set_no_fused masks every kernel that has a composite). */
void dc_backend_mask_op(dc_backend *be, dc_op op, int off);
/* The kernels DC_NO_FUSED switches off, as a mask of op bits: "1" every kernel that has a
 * composite, or a comma-separated list of such ops; DC_ERR_ARG for anything else. */
dc_status dc_env_no_fused(uint64_t *mask);
/* profile.c: run one kernel under the backend's profiler (plain call when it is off); the
 * phase that following kernels are counted under (returns the previous one; thread-local);
 * release the profiler (dc_backend_free). op_cost.c: a kernel call's nominal cost. */
dc_status dc_profile_run(dc_backend *be, dc_kernel_fn fn, const dc_kernel_args *a);
dc_phase dc_profile_set_phase(dc_phase ph);
void dc_profile_free(dc_backend *be);
void dc_op_cost(const dc_kernel_args *a, double *flops, double *bytes);
/* Fill kernel args conveniently. */
void dc_args_init(dc_kernel_args *a, dc_op op);

/* Tape. Records a node when grad is enabled and an input needs a gradient; marks out. */
dc_node *dc_tape_record(dc_ctx *ctx, dc_op op, dc_tensor *out, int n_in, dc_tensor *const *in,
                        const dc_op_params *p);

/* A view of t's storage with any shape and strides, `off` elements past t's first element
 * (diagonals, window offsets). The caller keeps it inside the buffer. */
dc_tensor *dc_view_strided(dc_ctx *ctx, const dc_tensor *t, int ndim, const int64_t *shape, const int64_t *stride,
                           int64_t off);

/* Resolve a reshape target (one -1 allowed) against t's element count into out. */
int dc_resolve_shape(const dc_tensor *t, int ndim, const int64_t *shape, int64_t *out);

/* Shape helpers for messages. */
const char *dc_shape_str(const dc_tensor *t, char *buf, size_t cap);

#endif
