/* dc_ops.h: op builders. Each checks shapes and dtypes, allocates its output in ctx,
 * runs the backend kernel, and records a tape node when an input needs a gradient.
 *
 *     dc_tensor *h = dc_relu(ctx, dc_add(ctx, dc_matmul(ctx, x, w, 0, 1), b));
 *     dc_tensor *loss = dc_mpxent(ctx, dc_reshape(ctx, h, 2, (int64_t[]){-1, 32}), NULL);
 *     if (!loss) fprintf(stderr, "%s\n", dc_last_error());
 *
 * A builder given a NULL input returns NULL without overwriting the first error, so
 * expressions chain and are checked once. Shapes of every op: docs/OPS.md.
 */
#ifndef DC_OPS_H
#define DC_OPS_H

#include "dc_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dc_op {
#define DC_OP(name, n_in, n_out, diff) DC_OP_##name,
#include "dc_ops.def"
#undef DC_OP
    DC_OP_COUNT
} dc_op;

const char *dc_op_name(dc_op op);   /* "matmul", "batchnorm", ... */
int dc_op_differentiable(dc_op op);
/* Inputs and outputs of one kernel call of op (dc_ops.def); 0 and 0 for a builder-only op
 * (no kernel). Returns 0 for an unknown op, else 1. */
int dc_op_arity(dc_op op, int *n_in, int *n_out);
/* Every kernel op is one of two kinds (core/src/composite.c, docs/PORTING.md): a primitive,
 * which every backend implements, or an op with a composite of primitives in core, which
 * runs when the backend's slot is NULL, lacks the dtype, or is switched off
 * (dc_backend_set_no_fused, DC_NO_FUSED=1). Builder-only ops are neither. */
int dc_op_is_primitive(dc_op op);
int dc_op_has_composite(dc_op op);
/* How many times op's composite has run on this thread (conformance checks: which
 * composites a run exercised). */
int64_t dc_composite_calls(dc_op op);

/* ---- data movement (differentiable) ---- */
dc_tensor *dc_contiguous(dc_ctx *ctx, dc_tensor *x);          /* x itself if already contiguous */
dc_tensor *dc_copy(dc_ctx *ctx, dc_tensor *x);                /* always a new contiguous tensor */
dc_tensor *dc_reshape(dc_ctx *ctx, dc_tensor *x, int ndim, const int64_t *shape); /* one -1 allowed */
dc_tensor *dc_permute(dc_ctx *ctx, dc_tensor *x, const int *perm);
dc_tensor *dc_transpose(dc_ctx *ctx, dc_tensor *x, int axis0, int axis1);
dc_tensor *dc_slice(dc_ctx *ctx, dc_tensor *x, int axis, int64_t start, int64_t len);
dc_tensor *dc_concat(dc_ctx *ctx, int n, dc_tensor *const *xs, int axis);   /* n <= 8 */
dc_tensor *dc_broadcast_to(dc_ctx *ctx, dc_tensor *x, int ndim, const int64_t *shape);

/* ---- elementwise, numpy broadcasting ---- */
dc_tensor *dc_add(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);
dc_tensor *dc_sub(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);
dc_tensor *dc_mul(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);
dc_tensor *dc_div(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);
dc_tensor *dc_scale(dc_ctx *ctx, dc_tensor *a, double alpha);            /* alpha * a */
dc_tensor *dc_affine(dc_ctx *ctx, dc_tensor *a, double alpha, double beta); /* alpha * a + beta */
/* mask: DC_U8 broadcastable to x; out = mask ? value : x. */
dc_tensor *dc_masked_fill(dc_ctx *ctx, dc_tensor *x, dc_tensor *mask, double value);

/* ---- unary ---- */
dc_tensor *dc_relu(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_sigmoid(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_tanh(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_exp(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_log(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_sqrt(dc_ctx *ctx, dc_tensor *x);
/* atan2(a, b) elementwise with broadcasting (the angle of b + i a). */
dc_tensor *dc_atan2(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);

/* ---- reductions over one axis (negative axis counts from the end) ---- */
dc_tensor *dc_sum(dc_ctx *ctx, dc_tensor *x, int axis, int keepdim);
dc_tensor *dc_mean(dc_ctx *ctx, dc_tensor *x, int axis, int keepdim);
dc_tensor *dc_sum_all(dc_ctx *ctx, dc_tensor *x);   /* scalar */

/* ---- matrix product: (M,K)x(K,N) or batched (B,M,K)x(B,K,N); trans_* transposes the last two axes ---- */
dc_tensor *dc_matmul(dc_ctx *ctx, dc_tensor *a, dc_tensor *b, int trans_a, int trans_b);

/* ---- normalisation ---- */
typedef struct dc_bn_opts {
    int training;     /* 1: batch statistics, running stats updated; 0: running statistics */
    int fuse_relu;    /* 1: y = relu(bn(x)) in one op */
    double momentum;  /* 0.1 (PyTorch default) */
    double eps;       /* 1e-5 */
} dc_bn_opts;
dc_bn_opts dc_bn_opts_default(void);  /* training, no relu, 0.1, 1e-5 */
/* x: (R, C) or (..., C); statistics over every leading row, per channel C.
 * gamma, beta: (C) (may need grad). run_mean, run_var: (C), updated in place in training
 * (unbiased variance R/(R-1), as PyTorch). */
dc_tensor *dc_batchnorm(dc_ctx *ctx, dc_tensor *x, dc_tensor *gamma, dc_tensor *beta,
                        dc_tensor *run_mean, dc_tensor *run_var, const dc_bn_opts *opts);
/* Rows of x (..., F): y = x / max(||x||_2, eps). */
dc_tensor *dc_l2norm(dc_ctx *ctx, dc_tensor *x, double eps);

/* ---- classification and losses (scalar outputs have ndim 0) ---- */
dc_tensor *dc_log_softmax(dc_ctx *ctx, dc_tensor *x);                  /* over the last axis */
/* logits (R, C) float, targets (R) DC_I32 in [0, C); mean over rows. Rows whose target is
 * out of range contribute 0 to the sum (the mean still divides by R). */
dc_tensor *dc_cross_entropy(dc_ctx *ctx, dc_tensor *logits, dc_tensor *targets);
dc_tensor *dc_mse(dc_ctx *ctx, dc_tensor *a, dc_tensor *b);             /* mean((a-b)^2), same shapes */
/* Binary cross-entropy on logits, mean over all elements: x, targets same shape (targets in
 * [0, 1], no gradient). Stable: max(x,0) - x t + log(1 + exp(-|x|)). */
dc_tensor *dc_bce_logits(dc_ctx *ctx, dc_tensor *x, dc_tensor *targets);

/* MP-Xent (docs/METHOD.md §3). z: (N, F) rows in sequence-major order. */
typedef struct dc_mpxent_opts {
    double tau;          /* temperature, 0.5 */
    int64_t seq_len;     /* positives only inside blocks of seq_len rows; 0 = whole batch (authors) */
    int single_positive; /* 1: the paper's eq. 1 (right neighbour only) */
} dc_mpxent_opts;
dc_mpxent_opts dc_mpxent_opts_default(void);  /* tau 0.5, seq_len 0, multi-positive */
dc_tensor *dc_mpxent(dc_ctx *ctx, dc_tensor *z, const dc_mpxent_opts *opts);

/* ---- indexing: out[b, j, :] = x[b, idx[b', j], :] with b' = b (idx (B, To)) or 0 (idx (1, To));
 * an index outside [0, T) gives a zero row (causal padding for free). x (B, T, C). ---- */
dc_tensor *dc_gather(dc_ctx *ctx, dc_tensor *x, dc_tensor *idx);

/* ---- pooling: x (B, T, C), max over time windows; out (B, (T-k)/s+1, C) ---- */
dc_tensor *dc_maxpool1d(dc_ctx *ctx, dc_tensor *x, int64_t kernel, int64_t stride);

/* ---- signal processing (torch.fft semantics, "backward" normalisation) ----
 * dc_rfft:  rows (..., n) real -> (..., n/2+1, 2) (re, im), unnormalised.
 * dc_irfft: (..., n/2+1, 2) -> (..., n), scaled by 1/n; imaginary parts of the DC and (even
 *           n) Nyquist bins are ignored. Both differentiable; any n. */
dc_tensor *dc_rfft(dc_ctx *ctx, dc_tensor *x);
dc_tensor *dc_irfft(dc_ctx *ctx, dc_tensor *x, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
