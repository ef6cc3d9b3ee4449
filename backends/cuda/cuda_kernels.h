/* cuda_kernels.h: the extern "C" launchers of the CUDA kernels (the .cu files of backends/cuda).
 * Read by the C11 host code (cuda_*.c) and by the .cu files. Launchers take device
 * pointers, sizes and the backend's stream, enqueue their kernels and return the launch
 * status (cudaGetLastError); they never synchronise. f32 only. No dc_* types here.
 */
#ifndef DC_CUDA_KERNELS_H
#define DC_CUDA_KERNELS_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A strided view padded to 4 dims (leading 1s, stride 0), elements. */
typedef struct cuda_view4 {
    int64_t n[4], s[4];
} cuda_view4;

enum { CUDA_BIN_ADD = 0, CUDA_BIN_SUB, CUDA_BIN_MUL, CUDA_BIN_DIV, CUDA_BIN_ATAN2 };
enum { CUDA_UN_RELU = 0, CUDA_UN_SIGMOID, CUDA_UN_TANH, CUDA_UN_EXP, CUDA_UN_LOG, CUDA_UN_SQRT };
enum { CUDA_DT_F32 = 0, CUDA_DT_F64, CUDA_DT_I32, CUDA_DT_U8 };

/* Double partial sums a two-stage scalar reduction needs (stage-1 grid size). */
int cuda_reduce_blocks(int64_t n);

/* cuda_elementwise.cu */
cudaError_t cuda_launch_probe(void);  /* cudaFuncGetAttributes: is there an image for this device? */
cudaError_t cuda_launch_copy(cudaStream_t st, const void *src, cuda_view4 vs, void *dst, cuda_view4 vd, int elem_size);
cudaError_t cuda_launch_fill(cudaStream_t st, void *p, int dtype, int64_t n, double value);
cudaError_t cuda_launch_binary(cudaStream_t st, int op, const float *a, cuda_view4 va, const float *b, cuda_view4 vb,
                               float *y, cuda_view4 vy);
cudaError_t cuda_launch_scale(cudaStream_t st, const float *x, float *y, int64_t n, float alpha, float beta);
cudaError_t cuda_launch_masked_fill(cudaStream_t st, const float *x, const uint8_t *m, cuda_view4 vm, float *y,
                                    cuda_view4 vy, float value);
cudaError_t cuda_launch_unary(cudaStream_t st, int op, const float *x, float *y, int64_t n);
cudaError_t cuda_launch_act_back(cudaStream_t st, int op, const float *gy, const float *y, float *gx, int64_t n);

/* cuda_reduce.cu: sums, log-softmax, losses. part = cuda_reduce_blocks(n) doubles. */
cudaError_t cuda_launch_sum(cudaStream_t st, const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                            double scale);
cudaError_t cuda_launch_mse(cudaStream_t st, const float *a, const float *b, int64_t n, double *part, float *out);
cudaError_t cuda_launch_bce_logits(cudaStream_t st, const float *x, const float *t, float *dx, int64_t n, double *part,
                                   float *out);
cudaError_t cuda_launch_log_softmax(cudaStream_t st, const float *x, float *y, int64_t R, int64_t C);
cudaError_t cuda_launch_log_softmax_back(cudaStream_t st, const float *gy, const float *y, float *dx, int64_t R,
                                         int64_t C);
/* row_loss: R doubles of scratch; dl may be NULL. */
cudaError_t cuda_launch_cross_entropy(cudaStream_t st, const float *x, const int32_t *t, float *dl, int64_t R,
                                      int64_t C, double *row_loss, float *out);

/* cuda_norm.cu: batch norm (fused ReLU) and row L2 normalisation */
cudaError_t cuda_launch_batchnorm_fwd(cudaStream_t st, const float *x, const float *gamma, const float *beta,
                                      float *run_mean, float *run_var, float *y, float *mean, float *istd, int64_t R,
                                      int64_t C, int training, int relu, double momentum, double eps);
cudaError_t cuda_launch_batchnorm_back(cudaStream_t st, const float *gy, const float *x, const float *y,
                                      const float *gamma, const float *mean, const float *istd, float *dx,
                                      float *dgamma, float *dbeta, int64_t R, int64_t C, int training, int relu);
cudaError_t cuda_launch_l2norm_fwd(cudaStream_t st, const float *x, float *y, float *nrm, int64_t R, int64_t F,
                                   double eps);
cudaError_t cuda_launch_l2norm_back(cudaStream_t st, const float *gy, const float *y, const float *nrm, float *dx,
                                   int64_t R, int64_t F, double eps);

/* cuda_pool.cu: max-pool over time and gather along time (deterministic backward, no atomics).
 * maxpool_back: kernel/stride describe the forward windows (0 = unknown: scan every output). */
cudaError_t cuda_launch_maxpool_fwd(cudaStream_t st, const float *x, float *y, int32_t *arg, int64_t B, int64_t T,
                                    int64_t C, int64_t kernel, int64_t stride, int64_t To);
cudaError_t cuda_launch_maxpool_back(cudaStream_t st, const float *gy, const int32_t *arg, float *dx, int64_t B,
                                    int64_t To, int64_t C, int64_t T, int64_t kernel, int64_t stride);
cudaError_t cuda_launch_gather_fwd(cudaStream_t st, const float *x, const int32_t *idx, float *y, int64_t B, int64_t T,
                                   int64_t C, int64_t To, int64_t idx_bstride);
cudaError_t cuda_launch_gather_back(cudaStream_t st, const float *gy, const int32_t *idx, float *dx, int64_t B,
                                   int64_t T, int64_t C, int64_t To, int64_t idx_bstride);

/* cuda_misc.cu: Philox RNG fill, AdamW, the IRFFT input fix-up */
cudaError_t cuda_launch_rng(cudaStream_t st, void *out, int dtype, int64_t n, int dist, uint64_t seed, uint64_t ctr,
                            double f0, double f1);
cudaError_t cuda_launch_adamw(cudaStream_t st, float *p, const float *g, float *m, float *v, const float *t, int64_t n,
                              double lr, double b1, double b2, double eps, double wd);
/* dst[0, bytes) = src, the bytes carried in kernel parameters (at most CUDA_PUT_CHUNK per
 * launch): an upload that a CUDA graph records with its data (uploads during capture) */
#define CUDA_PUT_CHUNK 3968
cudaError_t cuda_launch_put(cudaStream_t st, void *dst, const void *src, size_t bytes);
/* dst = src (rows of nb complex), with Im of bin 0 and (even n) bin n/2 set to 0 */
cudaError_t cuda_launch_irfft_prep(cudaStream_t st, const float *src, float *dst, int64_t rows, int64_t n);

/* cuda_mpxent.cu: MP-Xent (docs/METHOD.md §3), see the file's comment for the passes.
 * Scratch (device): zh N*F f32, nrm N f64, part1 nch*N f64, dbl4 4*N f64, w N f32, corr N f32,
 * part2 nch*N*F f32. chunk = columns per block of the tiled passes (multiple of 64). */
#define CUDA_MPX_CHUNK 256
#define CUDA_MPX_MAX_F 128
typedef struct cuda_mpx_args {
    int N, F, L, single, anchors, nch;
    float inv_tau;    /* (float)(1 / tau): E = exp((S - 1) * inv_tau) */
    double inv_tau_d; /* 1 / tau in double (the corrections) */
    double eps;
    const float *z;
    float *zh, *w, *corr, *part2, *loss, *dz;
    double *nrm, *part1, *dbl4;
} cuda_mpx_args;
cudaError_t cuda_launch_mpx_normalize(cudaStream_t st, const cuda_mpx_args *a);
cudaError_t cuda_launch_mpx_rowsum(cudaStream_t st, const cuda_mpx_args *a);   /* tiled pass 1, F <= 128 */
cudaError_t cuda_launch_mpx_anchors(cudaStream_t st, const cuda_mpx_args *a);
cudaError_t cuda_launch_mpx_grad(cudaStream_t st, const cuda_mpx_args *a);     /* tiled pass 2, F <= 128 */
cudaError_t cuda_launch_mpx_finish(cudaStream_t st, const cuda_mpx_args *a);
/* generic path (F > 128) on a materialised S = Zh Zh^T (N x N, from cuBLAS): */
cudaError_t cuda_launch_mpx_exp_rows(cudaStream_t st, float *S, const cuda_mpx_args *a);  /* S -> E, part1 */
cudaError_t cuda_launch_mpx_weights(cudaStream_t st, float *S, const cuda_mpx_args *a);   /* E -> W */

#ifdef __cplusplus
}
#endif
#endif
