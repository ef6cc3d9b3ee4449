/* cuda_internal.h: state and helpers shared by the CUDA backend's C11 host files
 * (cuda_backend.c: devices, memory, graphs; cuda_ops.c: hand-written kernels;
 * cuda_libs.c: cuBLAS, cuFFT, MP-Xent; cuda_vtable.c: the table of all three). Calls go one
 * way: cuda_ops.c and cuda_libs.c use cuda_backend.c, which releases the libraries' handles
 * through the hook cuda_libs.c leaves in the state. Kernels are reached through cuda_kernels.h.
 * Not a public header: core never sees it.
 */
#ifndef DC_CUDA_INTERNAL_H
#define DC_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cufft.h>

#include "cuda_kernels.h"
#include "dc/dc_backend_impl.h"

#ifndef DC_CUDA_ARCHS
#define DC_CUDA_ARCHS "?"
#endif

#define CUDA_FFT_CACHE 16
#define CUDA_BLAS_WORKSPACE ((size_t)32 << 20) /* cuBLAS' recommendation for Hopper */
#define CUDA_CAPTURE_UPLOAD_MAX (64 << 10)      /* bytes one upload may record into a graph */

typedef struct cuda_fft_plan {
    cufftHandle h;
    int64_t n, rows;
    int inverse, used;
    uint64_t stamp; /* last use, for LRU eviction */
} cuda_fft_plan;

typedef struct cuda_state {
    int device;
    cudaStream_t stream;  /* every kernel, copy and graph of this backend runs here, in order */
    cublasHandle_t blas;  /* created on first use (never during capture) */
    void *blas_ws;
    cuda_fft_plan fft[CUDA_FFT_CACHE];
    uint64_t fft_clock;
    void *scratch;        /* grown on demand outside capture; kernels use it within one op */
    size_t scratch_size;
    int capturing;
    void **deferred;      /* buffers freed while capturing, released at capture end */
    int n_deferred, cap_deferred;
    int live_graphs;      /* executable graphs not yet freed: they hold scratch and plan pointers */
    void **retired;       /* scratch blocks replaced while graphs were live */
    int n_retired, cap_retired;
    cufftHandle *retired_fft; /* plans evicted while graphs were live */
    int n_retired_fft, cap_retired_fft;
    int sync_each;        /* DYNACL_CUDA_SYNC=1: synchronise and check after every kernel */
    int tf32;             /* DYNACL_CUDA_TF32=1: cuBLAS may use TF32 tensor cores */
    void (*release_libs)(dc_backend *be); /* cuda_libs.c's, once it has made a handle or a plan */
} cuda_state;

static inline cuda_state *cuda_st(dc_backend *be) { return (cuda_state *)be->impl; }
static inline void *cuda_ptr(const dc_tensor *t) { return (char *)t->buf->ptr + t->offset; }
#define CUDA_F32(t) ((float *)cuda_ptr(t))

/* Vendor error -> dc_fail with the call, the device and file:line (OOM -> DC_ERR_OOM). */
dc_status cuda_fail_rt(const dc_backend *be, cudaError_t e, const char *call, const char *file, int line);
dc_status cuda_fail_blas(const dc_backend *be, cublasStatus_t s, const char *call, const char *file, int line);
dc_status cuda_fail_fft(const dc_backend *be, cufftResult r, const char *call, const char *file, int line);

#define CUDA_CHECK(be, call)                                                                                 \
    do {                                                                                                     \
        cudaError_t e_ = (call);                                                                             \
        if (e_ != cudaSuccess) return cuda_fail_rt((be), e_, #call, __FILE__, __LINE__);                     \
    } while (0)
#define CUBLAS_CHECK(be, call)                                                                               \
    do {                                                                                                     \
        cublasStatus_t s_ = (call);                                                                          \
        if (s_ != CUBLAS_STATUS_SUCCESS) return cuda_fail_blas((be), s_, #call, __FILE__, __LINE__);         \
    } while (0)
#define CUFFT_CHECK(be, call)                                                                                \
    do {                                                                                                     \
        cufftResult r_ = (call);                                                                             \
        if (r_ != CUFFT_SUCCESS) return cuda_fail_fft((be), r_, #call, __FILE__, __LINE__);                  \
    } while (0)

/* Make the backend's device current (a no-op when it already is). */
dc_status cuda_enter(dc_backend *be);
#define CUDA_ENTER(be)                                                                                       \
    do {                                                                                                     \
        dc_status st_ = cuda_enter(be);                                                                      \
        if (st_ != DC_OK) return st_;                                                                        \
    } while (0)

/* After a launcher: check its status; with DYNACL_CUDA_SYNC also wait and check the kernel. */
dc_status cuda_launched(dc_backend *be, cudaError_t e, const char *what, const char *file, int line);
#define CUDA_LAUNCH(be, what, call)                                                                          \
    do {                                                                                                     \
        dc_status st_ = cuda_launched((be), (call), (what), __FILE__, __LINE__);                             \
        if (st_ != DC_OK) return st_;                                                                        \
    } while (0)

/* Device scratch of at least `bytes` (NULL + error when it cannot grow, e.g. during capture). */
void *cuda_scratch(dc_backend *be, size_t bytes);

/* Keep memory / a plan that a live graph may use until no graph is left (cuda_backend.c). */
void cuda_retire_mem(dc_backend *be, void *p);
void cuda_retire_fft(dc_backend *be, cufftHandle h);

/* cuda_libs.c: library handles and plans, released at shutdown */
/* The vtable's entry points in cuda_backend.c (the table itself: cuda_vtable.c). */
int cuda_device_count(char *why, size_t cap);
dc_status cuda_device_desc(int device, char *buf, size_t cap);
dc_status cuda_init(dc_backend *be, int device);
void cuda_shutdown(dc_backend *be);
dc_status cuda_buf_alloc(dc_backend *be, size_t bytes, dc_buffer *out);
void cuda_buf_free(dc_backend *be, dc_buffer *buf);
dc_status cuda_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes);
dc_status cuda_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes);
dc_status cuda_sync(dc_backend *be);
dc_status cuda_capture_begin(dc_backend *be);
dc_status cuda_capture_end(dc_backend *be, void **graph);
dc_status cuda_graph_launch(dc_backend *be, void *graph);
void cuda_graph_free(dc_backend *be, void *graph);
dc_status cuda_timer_mark(dc_backend *be, void **mark);
dc_status cuda_timer_elapsed(dc_backend *be, void *start, void *end, double *ms);
void cuda_timer_free(dc_backend *be, void *mark);

/* kernel entry points (dc_kernel_fn), cuda_ops.c */
dc_status cuda_op_copy(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_fill(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_binary(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_scale(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_masked_fill(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_unary(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_act_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_sum(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_batchnorm(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_batchnorm_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_l2norm(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_l2norm_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_log_softmax(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_log_softmax_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_cross_entropy(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_mse(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_bce_logits(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_gather(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_gather_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_maxpool1d(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_maxpool1d_back(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_rng(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_adamw(dc_backend *be, const dc_kernel_args *a);
/* cuda_libs.c */
dc_status cuda_op_matmul(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_rfft(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_irfft(dc_backend *be, const dc_kernel_args *a);
dc_status cuda_op_mpxent(dc_backend *be, const dc_kernel_args *a);

#endif
