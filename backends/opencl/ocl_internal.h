/* ocl_internal.h: state and helpers shared by the OpenCL backend's files (not a public
 * header; core never sees it). opencl_backend.c owns devices, contexts and buffers;
 * ocl_runtime.c the error translation, the program/kernel cache, kernel launches and
 * scratch buffers; each ocl_<family>.c wraps the kernels of one op family.
 */
#ifndef DC_OCL_INTERNAL_H
#define DC_OCL_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <pthread.h>

#include "dc/dc_backend_impl.h"

/* One program per kernels/<family>.cl (each built after common.cl, on first use). */
typedef enum {
    OCL_PROG_ELEMENTWISE,
    OCL_PROG_REDUCE,
    OCL_PROG_LOSS,
    OCL_PROG_NORM,
    OCL_PROG_POOL,
    OCL_PROG_MISC,
    OCL_PROG_MPXENT,
    OCL_PROG_FFT,
    OCL_PROG_GEMM,
    OCL_PROG_COUNT
} ocl_prog_id;

/* Scratch buffers (grown on demand, reused across calls: the queue is in order). A
 * wrapper uses distinct slots for buffers that live at the same time. */
enum {
    OCL_SCR_TERMS,     /* per-element/per-row loss terms */
    OCL_SCR_PARTIAL,   /* first level of a two-level sum */
    OCL_SCR_FFT_A,
    OCL_SCR_FFT_B,
    OCL_SCR_MPX_ZH,
    OCL_SCR_MPX_E,
    OCL_SCR_MPX_PART,
    OCL_SCR_MPX_VEC,   /* nrm, wd, wn, l, w, sub: 6 vectors of N in slots OCL_SCR_MPX_VEC + 0..5 */
    OCL_SCR_COUNT = OCL_SCR_MPX_VEC + 6
};

#define OCL_MAX_KERNELS 64

typedef struct ocl_kernel_entry {
    ocl_prog_id prog;
    const char *name; /* a string literal of the caller */
    cl_kernel k;
    size_t max_wg;    /* CL_KERNEL_WORK_GROUP_SIZE */
} ocl_kernel_entry;

typedef struct ocl_fft_cache ocl_fft_cache;

typedef struct ocl_state {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    char dev_name[160];
    size_t max_wg;            /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    char build_opts[512];     /* "-cl-std=CL1.2" + $DYNACL_OPENCL_BUILD_OPTIONS */
    pthread_mutex_t lock;     /* caches and kernel argument setting */
    cl_program progs[OCL_PROG_COUNT];
    ocl_kernel_entry kernels[OCL_MAX_KERNELS];
    int n_kernels;
    cl_mem scratch[OCL_SCR_COUNT];
    size_t scratch_bytes[OCL_SCR_COUNT];
    ocl_fft_cache *fft;
    int libs_held;            /* holds a reference on the CLBlast/clFFT globals */
} ocl_state;

static inline ocl_state *ocl_st(dc_backend *be) { return (ocl_state *)be->impl; }

/* ---- errors ---- */
const char *ocl_error_name(cl_int err);
/* "<call> failed: <NAME> (<device>) at <file>:<line>"; DC_ERR_OOM for allocation
 * failures, DC_ERR_BACKEND otherwise. */
dc_status ocl_fail_call(const ocl_state *s, const char *call, const char *err_name, cl_int err, const char *file,
                        int line);
#define OCL_FAIL(s, call, err) ocl_fail_call((s), (call), ocl_error_name(err), (err), __FILE__, __LINE__)
/* Run fn args; on error return the translated status from the enclosing function. */
#define OCL_CALL(s, fn, args)                                                                                \
    do {                                                                                                     \
        cl_int e_ = fn args;                                                                                 \
        if (e_ != CL_SUCCESS) return OCL_FAIL((s), #fn, e_);                                                 \
    } while (0)

/* ---- kernels ---- */
typedef struct ocl_arg {
    size_t size;
    const void *ptr;
} ocl_arg;

/* Kernel arguments as compound literals (valid for the enclosing statement). */
#define OA_MEM(m) ((ocl_arg){sizeof(cl_mem), &(cl_mem){(m)}})
#define OA_L(v) ((ocl_arg){sizeof(cl_long), &(cl_long){(cl_long)(v)}})
#define OA_UL(v) ((ocl_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
#define OA_I(v) ((ocl_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define OA_U(v) ((ocl_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define OA_F(v) ((ocl_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define OA_L4(v) ((ocl_arg){sizeof(cl_long4), &(v)})
/* A tensor: its buffer and its offset in elements (two kernel arguments). */
#define OA_T(t) OA_MEM(ocl_mem(t)), OA_L(ocl_off(t))

static inline cl_mem ocl_mem(const dc_tensor *t) { return (cl_mem)t->buf->ptr; }
static inline int64_t ocl_off(const dc_tensor *t) { return (int64_t)(t->offset / dc_dtype_size(t->dtype)); }

/* Work sizes. With local[0] == 0 ocl_launch picks the local size (and rounds global up);
 * with groups > 0 it launches that many work-groups of the reduction size: the largest
 * power of two <= 256 that the device and the kernel allow (RED_MAX in common.cl). */
typedef struct ocl_range {
    cl_uint dims;
    size_t global[3], local[3];
    size_t groups;
} ocl_range;
ocl_range ocl_range1(int64_t n);              /* n work-items */
ocl_range ocl_range2(int64_t n0, int64_t n1); /* n0 x n1 work-items */
ocl_range ocl_groups(int64_t groups);         /* work-groups of the reduction size */

dc_status ocl_launch(dc_backend *be, ocl_prog_id prog, const char *kernel, ocl_range r, int n_args,
                     const ocl_arg *args);
#define OCL_LAUNCH(be, prog, name, range, ...)                                                               \
    ocl_launch((be), (prog), (name), (range), (int)(sizeof((ocl_arg[]){__VA_ARGS__}) / sizeof(ocl_arg)),    \
               (ocl_arg[]){__VA_ARGS__})

/* The program of a family, built on first use. A failed build returns DC_ERR_BACKEND
 * with the device's build log in the message. */
dc_status ocl_program(dc_backend *be, ocl_prog_id prog, cl_program *out);

/* Scratch buffer `slot` of at least `bytes`. */
dc_status ocl_scratch(dc_backend *be, int slot, size_t bytes, cl_mem *out);

/* out (a 1-element tensor) = scale * sum(x[0..n)) for a float buffer x, two-level. */
dc_status ocl_sum_to_scalar(dc_backend *be, cl_mem x, int64_t n, double scale, const dc_tensor *out);

/* 4-d view helpers: shape of t padded with leading 1s, and its strides (0 there). */
cl_long4 ocl_shape4(const dc_tensor *t);
cl_long4 ocl_strides4(const dc_tensor *t);

/* C = alpha op(A) op(B) + beta C (row-major, batched, offsets and strides in elements)
 * through CLBlast, or the built-in tiled kernel without it. */
typedef struct ocl_gemm_args {
    int ta, tb;
    int64_t M, N, K, batch;
    float alpha, beta;
    cl_mem A, B, C;
    int64_t ao, bo, co, lda, ldb, ldc, sa, sb, sc;
} ocl_gemm_args;
dc_status ocl_gemm(dc_backend *be, const ocl_gemm_args *g);

/* CLBlast/clFFT process-wide setup, reference-counted over open OpenCL backends. */
dc_status ocl_libs_acquire(ocl_state *s);
void ocl_libs_release(ocl_state *s);
void ocl_fft_cache_free(ocl_state *s);

/* ---- kernels of the vtable (one op family per file) ---- */
dc_status ocl_copy(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_fill(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_binary(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_scale(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_masked_fill(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_unary(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_act_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_sum(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_matmul(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_batchnorm(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_batchnorm_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_l2norm(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_l2norm_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_log_softmax(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_log_softmax_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_cross_entropy(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_mse(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_bce_logits(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_mpxent(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_maxpool1d(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_maxpool1d_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_gather(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_gather_back(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_rfft(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_irfft(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_rng(dc_backend *be, const dc_kernel_args *a);
dc_status ocl_adamw(dc_backend *be, const dc_kernel_args *a);

#endif
