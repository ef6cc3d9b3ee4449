/* dc_backend_impl.h: the backend vtable. Only backends include this header.
 *
 * A backend is one folder (backends/<name>/) exporting one function,
 * `const dc_backend_vtbl *dc_backend_<name>_vtbl(void)`, that returns a static const
 * table. Core checks every argument before calling a kernel (shapes, dtypes, contiguity
 * as documented per op below), so kernels can trust their inputs. A NULL kernel slot
 * means "not supported": a primitive op fails with DC_ERR_UNSUPPORTED naming op and
 * backend; any other kernel (fused ops, losses, *_BACK, ADAMW) then runs as a composite of
 * primitives built in core (core/src/composite.c lists both sets). The acceptance test for
 * a port is `dynacl conformance --backend <name>`, see
 * docs/PORTING.md.
 */
#ifndef DC_BACKEND_IMPL_H
#define DC_BACKEND_IMPL_H

#include "dc_ops.h"
#include "dc_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_BACKEND_ABI 3
#define DC_MAX_KERNEL_IN 8
#define DC_MAX_KERNEL_OUT 5

/* A block of backend memory. ptr is whatever the backend uses (host pointer, device
 * pointer, cl_mem). Tensors address it with a byte offset. */
struct dc_buffer {
    dc_backend *be;
    void *ptr;
    size_t size;   /* bytes */
    /* Core's bookkeeping; backends leave these alone. In poison mode (dc_ctx_set_poison) a
     * tensor's bytes start guard_lo bytes into the buffer and are `used` bytes long; the
     * guard_lo bytes before them and guard_hi bytes after them hold a pattern that the
     * dispatch checks after every kernel (guard_hi 0: not armed). */
    size_t guard_lo, used, guard_hi;
};

/* An open backend device. */
struct dc_backend {
    const struct dc_backend_vtbl *vt;
    void *impl;      /* backend-private state (handles, streams, plan caches) */
    int device;
    char name[64];   /* "cuda:0" */
    struct dc_profiler *prof; /* core's: the per-op profiler while it runs (dc_profile.h), else NULL */
    int capturing;   /* core's: between dc_graph_capture_begin and _end */
    uint64_t ops_off; /* core's: bit op set = kernel slot treated as NULL (DC_NO_FUSED=1, tests);
                       * backends never read it */
};

/* Scalar parameters of one kernel call. Meaning per op: see the table below. */
typedef struct dc_op_params {
    int64_t i[8];
    double f[8];
} dc_op_params;

typedef struct dc_kernel_args {
    dc_op op;
    const dc_tensor *in[DC_MAX_KERNEL_IN];
    dc_tensor *out[DC_MAX_KERNEL_OUT];
    int n_in, n_out;
    dc_op_params p;
} dc_kernel_args;

typedef dc_status (*dc_kernel_fn)(dc_backend *be, const dc_kernel_args *a);

/* Kernel contracts. "contig" = dense row-major; "view" = any strides (0 = broadcast),
 * always of the out shape. All dtypes float (f32/f64) unless noted. Outputs never
 * alias inputs unless "in-place ok" says so. How many inputs and outputs each call has is
 * declared in dc_ops.def and checked by the dispatch (in[0..n_in) are never NULL; an output
 * is NULL only where its line below says so); p.i[] and p.f[] entries not listed are 0.
 *
 *  COPY        in0 view, out0 view (no zero strides); any dtype; ndim <= 4
 *  FILL        out0 contig, any dtype, value f0
 *  ADD/SUB/MUL/DIV  in0, in1 views, out0 contig; in-place ok (out0 == in0 buffer, contig)
 *  SCALE       out0 = f0*in0 + f1; contig; in-place ok
 *  MASKED_FILL in0 contig x, in1 view u8 mask; out0 = mask ? f0 : x
 *  RELU..SQRT  in0 contig -> out0 contig; in-place ok
 *  ACT_BACK    in0 gy, in1 y (forward output), i0 = DC_OP_RELU|SIGMOID|TANH|EXP|SQRT -> out0 gx
 *              (sqrt: gy / (2 y))
 *  ATAN2       in0 a, in1 b views of the out shape -> out0 contig atan2(a, b)
 *  SUM         in0 contig as (i1 outer, i2 n, i3 inner) -> out0 (outer, inner), times f0
 *              (i0: the axis, kept for the backward rule)
 *  MATMUL      in0 A, in1 B contig, i0 transA, i1 transB, i2 batch, i3 M, i4 N, i5 K:
 *              out0 (batch, M, N) = f0 * op(A) op(B) + f1 * out0   (f1 = 0: ignore out0)
 *  BATCHNORM   in0 x (R, C), in1 gamma, in2 beta, in3 run_mean, in4 run_var (C);
 *              i0 training, i1 relu; f0 momentum, f1 eps. out0 y (R, C), out1 mean (C),
 *              out2 istd (C). Training: batch statistics (biased var), run_mean/run_var
 *              updated IN PLACE with unbiased var R/(R-1). Eval: running statistics.
 *  BATCHNORM_BACK in0 gy, in1 x, in2 y, in3 gamma, in4 mean, in5 istd; i0 training, i1 relu
 *              -> out0 dx (R, C), out1 dgamma (C), out2 dbeta (C)   (all overwritten)
 *  LINEAR_BN   optional (NULL: the builder composes MATMUL, ADD and BATCHNORM). in0 x (R, K),
 *              in1 W (C, K), in2 b, in3 gamma, in4 beta, in5 run_mean, in6 run_var (C); i0 training,
 *              i1 relu; f0 momentum, f1 eps. out0 y (R, C) = BATCHNORM(h) with h = x W^T + b,
 *              out1 h (R, C), out2 mean (C), out3 istd (C), all as BATCHNORM of h (running
 *              statistics updated in place in training).
 *  LINEAR_BN_BACK in0 gy, in1 x, in2 W, in3 h, in4 y, in5 gamma, in6 mean, in7 istd; i0 training,
 *              i1 relu. With dh = BATCHNORM_BACK's dx for (gy, h, y): ADDS dh^T x to out0 dW (C, K),
 *              sum_r dh to out1 db, dgamma to out2, dbeta to out3 (all (C)); writes out4
 *              dx = dh W (R, K), or skips it when out4 is NULL
 *  L2NORM      in0 x (R, F); f0 eps -> out0 y, out1 norms (R) (unclamped ||x||)
 *  L2NORM_BACK in0 gy, in1 y, in2 norms; f0 eps -> out0 dx
 *  LOG_SOFTMAX in0 (R, C) -> out0 (R, C)
 *  LOG_SOFTMAX_BACK in0 gy, in1 y -> out0 dx = gy - exp(y) * rowsum(gy)
 *  CROSS_ENTROPY in0 logits (R, C), in1 targets (R) i32 -> out0 loss (scalar),
 *              out1 dlogits (R, C) = (softmax - onehot) / R (rows with target outside
 *              [0, C) contribute nothing)
 *  MSE         in0 a, in1 b (same shape) -> out0 scalar mean((a-b)^2)
 *  BCE_LOGITS  in0 x, in1 t (same shape, contig) -> out0 scalar mean BCE, out1 dx = (sigmoid(x) - t) / n
 *  GATHER      in0 x (B, T, C), in1 idx i32 (Bi, To) with Bi = B or 1 -> out0 (B, To, C);
 *              rows whose index is outside [0, T) are 0
 *  GATHER_BACK in0 gy (B, To, C), in1 idx -> out0 dx (B, T, C) (zeroed, scatter-add)
 *  MPXENT      in0 z (N, F); f0 tau, f1 eps (1e-12); i0 seq_len (divides N),
 *              i1 single_positive, i2 want_grad -> out0 loss (scalar), out1 dL/dz (N, F)
 *              when i2, else NULL (docs/METHOD.md §3; the fused forward+backward)
 *  MARGIN      optional (NULL: the builder composes it from generic ops). in0 z (N, F), in1 Y (N)
 *              (no gradient); f0 tau, f1 margin, f2 gamma, f3 eps (1e-12); i0 seq_len (divides N),
 *              i2 want_grad -> out0 loss (scalar), out1 dL/dz (N, F) when i2, else NULL
 *              (docs/METHOD.md §4.4, with the anchors of MPXENT's multi-positive rule)
 *  MAXPOOL1D   in0 x (B, T, C); i0 kernel, i1 stride -> out0 y (B, To, C), out1 argmax i32
 *              (index into T; first maximum wins)
 *  MAXPOOL1D_BACK in0 gy (B, To, C), in1 argmax i32 (B, To, C); i0 kernel, i1 stride (as the
 *              forward), i2 T -> out0 dx (B, T, C) (zeroed, scatter-add)
 *  RFFT        in0 (R, n) -> out0 (R, n/2+1, 2); i0 = n, i1 = R. Bins 0 and (even n) n/2
 *              are real: their imaginary parts must be exactly +0 (not -0 or a rounding
 *              residue, which flip the atan2 of a negative bin by 2 pi)
 *  IRFFT       in0 (R, n/2+1, 2) -> out0 (R, n) = f0 * c2r(in0) (unnormalised inverse, Hermitian
 *              extension; Im of bin 0 and of bin n/2 for even n ignored); i0 = n, i1 = R
 *  RNG         out0 contig (f32/f64/u8); i0 dist (DC_RNG_*), i1 seed, i2 counter;
 *              f0, f1 = (lo, hi) | (mean, std) | (p, -). Element j: Philox block
 *              counter + j/4, lane j%4 (normal: Box-Muller on lanes (0,1) and (2,3))
 *  ADAMW       in0 p, in1 g, in2 m, in3 v (same numel, contig); no outputs: p, m, v are
 *              updated IN PLACE; in4 = steps already taken (1 element, same dtype), so this
 *              step is t = in4 + 1;
 *              f0 lr, f1 b1, f2 b2, f3 eps, f4 wd. Core increments in4 afterwards with a
 *              SCALE kernel, so the step count lives on the device (CUDA graphs replay it).
 */
typedef struct dc_backend_vtbl {
    int abi_version;
    const char *name;                                   /* kind name: "cpu", "cuda" */
    /* devices */
    int (*device_count)(char *why, size_t why_cap);     /* 0 + reason when none */
    dc_status (*device_desc)(int device, char *buf, size_t cap);
    dc_status (*init)(dc_backend *be, int device);
    void (*shutdown)(dc_backend *be);
    /* memory */
    dc_status (*buf_alloc)(dc_backend *be, size_t bytes, dc_buffer *out);  /* fills ptr/size */
    void (*buf_free)(dc_backend *be, dc_buffer *buf);
    dc_status (*upload)(dc_backend *be, dc_buffer *dst, size_t offset, const void *src, size_t bytes);
    dc_status (*download)(dc_backend *be, const dc_buffer *src, size_t offset, void *dst, size_t bytes);
    dc_status (*sync)(dc_backend *be);                  /* optional */
    /* optional: 1 if (op, dtype) is supported; NULL = kernel slot presence, f32 only
     * (plus f64 when supports_f64 is set) */
    int (*supports)(dc_backend *be, dc_op op, dc_dtype dt);
    int supports_f64;
    /* 1 if the same calls on the same inputs give bit-identical results on this device (no
     * atomics or run-to-run algorithm choices); `dynacl conformance` checks the claim.
     * 0 makes no claim. */
    int deterministic;
    dc_kernel_fn kernels[DC_OP_COUNT];
    /* optional, all four or none: graph capture (CUDA graphs). Between capture_begin and
     * capture_end the backend records its kernels and copies instead of running them;
     * download, sync and buf_alloc then fail (DC_ERR_STATE) rather than break the capture.
     * upload may record small uploads with their bytes (cuda: up to 64 KiB, as kernel
     * parameters) and fail for larger ones. capture_end returns an executable graph (NULL + error if the capture broke);
     * graph_launch enqueues one replay, in order with everything else on the backend. */
    dc_status (*capture_begin)(dc_backend *be);
    dc_status (*capture_end)(dc_backend *be, void **graph);
    dc_status (*graph_launch)(dc_backend *be, void *graph);
    void (*graph_free)(dc_backend *be, void *graph);
    /* optional, all three or none: kernel timing for the profiler (dc_profile.h). timer_mark
     * enqueues a timestamp in order with the kernels (a CUDA event, an OpenCL marker; on a
     * synchronous backend simply the time now) and returns it in *mark; timer_elapsed waits
     * for `end` if it must and gives the milliseconds between two marks; timer_free releases
     * one. Core marks before and after each kernel and resolves the pairs when profiling
     * stops. Without them, core synchronises around each kernel and uses the host clock. */
    dc_status (*timer_mark)(dc_backend *be, void **mark);
    dc_status (*timer_elapsed)(dc_backend *be, void *start, void *end, double *ms);
    void (*timer_free)(dc_backend *be, void *mark);
} dc_backend_vtbl;

/* Element pointer helper for host-memory backends. */
static inline void *dc_tensor_host_ptr(const dc_tensor *t) {
    return (char *)t->buf->ptr + t->offset;
}

#ifdef __cplusplus
}
#endif
#endif
