/* composite.h: composites of the non-primitive kernels (fused ops, losses, *_BACK, ADAMW)
 * from primitive ops, and the helpers they share. Core-private. A composite computes what
 * the kernel's contract in dc_backend_impl.h says, into the kernel's own outputs, with op
 * builders and gradient recording off: no host round trip, no upload, deterministic.
 * Not here: when a composite runs instead of the kernel (dc_run_kernel, ops_common.c).
 */
#ifndef DC_COMPOSITE_H
#define DC_COMPOSITE_H

#include "ops_common.h"

typedef dc_status (*dc_composite_fn)(dc_ctx *ctx, const dc_kernel_args *a);

/* Run a's kernel as its composite, temporaries in ctx (a step context: reset frees them).
 * On failure the message names the op and, inside it, the primitive that failed:
 * "mpxent: composite on cpu:0: exp: not supported for f32 on backend cpu:0". */
dc_status dc_composite_run(dc_ctx *ctx, const dc_kernel_args *a);

/* ---- the composites, one family per file ---- */
/* composite_elementwise.c */
dc_status dc_cx_act_back(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_adamw(dc_ctx *ctx, const dc_kernel_args *a);
/* composite_norm.c */
dc_status dc_cx_batchnorm(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_batchnorm_back(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_l2norm(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_l2norm_back(dc_ctx *ctx, const dc_kernel_args *a);
/* composite_loss.c */
dc_status dc_cx_log_softmax(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_log_softmax_back(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_cross_entropy(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_mse(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_bce_logits(dc_ctx *ctx, const dc_kernel_args *a);
/* composite_mpxent.c */
dc_status dc_cx_mpxent(dc_ctx *ctx, const dc_kernel_args *a);
/* composite_fused.c */
dc_status dc_cx_linear_bn(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_linear_bn_back(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_margin(dc_ctx *ctx, const dc_kernel_args *a);
/* composite_index.c */
dc_status dc_cx_gather_back(dc_ctx *ctx, const dc_kernel_args *a);
dc_status dc_cx_maxpool1d_back(dc_ctx *ctx, const dc_kernel_args *a);

/* ---- helpers (composite_util.c); NULL in, NULL out, like the builders ---- */
/* Input i of a kernel call, writable (in-place kernels update inputs). */
static inline dc_tensor *dc_cx_in(const dc_kernel_args *a, int i) { return (dc_tensor *)a->in[i]; }
/* The status of the failure that made a helper return NULL. */
dc_status dc_cx_failed(void);
/* Contiguous t seen as (numel / cols, cols). */
dc_tensor *dc_cx_rows(dc_ctx *ctx, dc_tensor *t, int64_t cols);
/* COPY src (same shape as dst, or the same numel and contiguous) into dst, which may be a view. */
dc_status dc_cx_store(dc_ctx *ctx, dc_tensor *dst, dc_tensor *src);
/* A 0-d constant. */
dc_tensor *dc_cx_scalar(dc_ctx *ctx, dc_dtype dt, double v);
/* 1 / x */
dc_tensor *dc_cx_recip(dc_ctx *ctx, dc_tensor *x);
/* |x| = relu(x) + relu(-x) */
dc_tensor *dc_cx_abs(dc_ctx *ctx, dc_tensor *x);
/* [x > 0] as 0 or 1 in x's dtype, exactly (MAXPOOL1D's argmax over the pair (0, x)). */
dc_tensor *dc_cx_step(dc_ctx *ctx, dc_tensor *x);
/* max(a, b) elementwise, a and b of one shape, exactly (MAXPOOL1D over the pair). */
dc_tensor *dc_cx_max(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);
/* Row maxima and row sums of x (R, C), as (R, 1). */
dc_tensor *dc_cx_rowmax(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_cx_rowsum(dc_ctx *ctx, dc_tensor *x);
/* (0, 1, ..., n-1) as floats of dtype dt (log2 n doublings: FILL, SCALE, COPY). */
dc_tensor *dc_cx_iota(dc_ctx *ctx, dc_dtype dt, int64_t n);
/* The i32 indices idx (contiguous, any shape) as floats of dtype dt, through a GATHER from
 * (0, ..., T-1): exact for T <= 2^24 in f32. An index outside [0, T) gives 0, and 0 in
 * *valid (if given; 1 elsewhere). */
dc_tensor *dc_cx_index_float(dc_ctx *ctx, dc_dtype dt, dc_tensor *idx, int64_t T, dc_tensor **valid);
/* One-hot rows (numel(idx), T) of the i32 indices idx; an index outside [0, T) gives a zero
 * row. */
dc_tensor *dc_cx_onehot(dc_ctx *ctx, dc_dtype dt, dc_tensor *idx, int64_t T);
/* A u8 (N) mask for MASKED_FILL to zero what is not an anchor: 0 on the rows whose position
 * t in their block of L rows has lo <= t < hi, 1 on the others. */
dc_tensor *dc_cx_non_anchors(dc_ctx *ctx, int64_t N, int64_t L, int64_t lo, int64_t hi);
/* The n entries of v, placed at [at, at + n) of a zero vector of length N. */
dc_tensor *dc_cx_place(dc_ctx *ctx, dc_tensor *v, int64_t at, int64_t N);
/* Entries (j+1, j), j < N-1, of the (N, N) matrix E: a view with stride N + 1. */
dc_tensor *dc_cx_sub_diagonal(dc_ctx *ctx, dc_tensor *E, int64_t N);
/* The rows of z (N, F) normalised, zh = z / max(||z||, eps), and their norms, through the
 * L2NORM kernel (or its composite); dL/dz from dL/dzh: dc_cx_unit_rows_back. */
dc_status dc_cx_unit_rows(dc_ctx *ctx, dc_tensor *z, double eps, dc_tensor **zh, dc_tensor **nrm);
dc_status dc_cx_unit_rows_back(dc_ctx *ctx, dc_tensor *dzh, dc_tensor *zh, dc_tensor *nrm, double eps, dc_tensor *dz);

#endif
