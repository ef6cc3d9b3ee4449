/* ops_common.h: helpers shared by the op builders (ops_*.c). Core-private. */
#ifndef DC_OPS_COMMON_H
#define DC_OPS_COMMON_H

#include "dc_internal.h"

static inline int dc_is_float(const dc_tensor *t) { return t->dtype == DC_F32 || t->dtype == DC_F64; }

/* Run a kernel: args from arrays. A kernel that has a composite runs as that composite
 * (temporaries in ctx) when the backend does not run it itself (dc_kernel_runnable). */
dc_status dc_run_kernel(dc_ctx *ctx, dc_op op, int n_in, const dc_tensor *const *in, int n_out,
                        dc_tensor *const *out, const dc_op_params *p);

/* Fail with "<op>: <what> <shape dtype>" and return NULL. */
dc_tensor *dc_fail_op1(dc_status st, dc_op op, const char *what, const dc_tensor *t);
dc_tensor *dc_fail_op2(dc_status st, dc_op op, const char *what, const dc_tensor *a, const dc_tensor *b);

/* A builder got a NULL input: keep the first error if there is one, else say which op.
 * Always returns NULL. */
dc_tensor *dc_null_input(dc_op op);
#define DC_GUARD1(op, x) if (!(x)) return dc_null_input(op)
#define DC_GUARD2(op, x, y) if (!(x) || !(y)) return dc_null_input(op)

/* Common checks; return 0 after recording an error. */
int dc_check_ctx(dc_ctx *ctx, dc_op op);
int dc_check_float(dc_op op, const dc_tensor *t);
int dc_check_same_dtype(dc_op op, const dc_tensor *a, const dc_tensor *b);

/* Numpy broadcast of two shapes into out (ndim returned, -1 + error when incompatible). */
int dc_broadcast_shape(dc_op op, const dc_tensor *a, const dc_tensor *b, int64_t *out);

/* IRFFT with an explicit scale; record = 0 runs the kernel without a tape node (backward). */
dc_tensor *dc_irfft_scaled(dc_ctx *ctx, dc_tensor *x, int64_t n, double scale, int record);

/* Sum g down to the shape of t (undoing broadcasting). Returns g itself if shapes match. */
dc_tensor *dc_sum_to_shape(dc_ctx *ctx, dc_tensor *g, const dc_tensor *t);

#endif
