/* cpu_kernels.h: kernels of the "cpu" backend (the reference "cpu-ref" is backends/cpu_ref/).
 * Every kernel follows the contract documented in core/include/dc/dc_backend_impl.h and
 * supports f32 and f64. Long sums accumulate in double.
 */
#ifndef DC_CPU_KERNELS_H
#define DC_CPU_KERNELS_H

#include "dc/dc_backend_impl.h"

/* Backend state: a cache of FFT plans. */
typedef struct cpu_state cpu_state;

#define CPU_PTR(t) ((void *)((char *)(t)->buf->ptr + (t)->offset))

/* A view padded to 4 dims (leading 1s), for strided loops. */
typedef struct cpu_view4 {
    int64_t n[4], s[4];
} cpu_view4;
cpu_view4 cpu_view4_of(const dc_tensor *t);

/* Write a kernel body once for both float dtypes: inside, T is float or double.
 *     CPU_FLOAT_SWITCH(x->dtype, const T *px = CPU_PTR(x); ...);                         */
#define CPU_FLOAT_SWITCH(dt, ...)                                                                            \
    do {                                                                                                     \
        if ((dt) == DC_F32) {                                                                                \
            typedef float T;                                                                                 \
            __VA_ARGS__                                                                                      \
        } else {                                                                                             \
            typedef double T;                                                                                \
            __VA_ARGS__                                                                                      \
        }                                                                                                    \
    } while (0)

#define CPU_OMP_FOR _Pragma("omp parallel for schedule(static)")

/* Thread count helper: parallelise only when there is enough work. */
#define CPU_PAR_MIN 32768

dc_status cpu_copy(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_fill(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_binary(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_scale(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_masked_fill(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_unary(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_act_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_sum(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_matmul(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_batchnorm(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_batchnorm_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_linear_bn(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_linear_bn_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_l2norm(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_l2norm_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_log_softmax(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_log_softmax_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_cross_entropy(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_mse(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_mpxent(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_margin(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_maxpool1d(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_maxpool1d_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_rfft(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_irfft(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_bce_logits(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_gather(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_gather_back(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_rng(dc_backend *be, const dc_kernel_args *a);
dc_status cpu_adamw(dc_backend *be, const dc_kernel_args *a);

/* Plain row-major GEMM (MATMUL, MP-Xent): C(M,N) = alpha*op(A)op(B) + beta*C, lda/ldb/ldc =
 * row strides of the stored matrices. cpu_sgemm (cpu_gemm.c) runs the widest micro-kernel the
 * CPU has; cpu_gemm_isa names it ("avx512", "avx2", "generic"; DC_CPU_ISA=avx2 or generic
 * picks a narrower one, for tests). It uses scratch slot CPU_SCR_GEMM_B. */
void cpu_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void cpu_dgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, double alpha, const double *A, int64_t lda,
               const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

const char *cpu_gemm_isa(void);
/* The same on the calling thread only, op(B) = B (row-major K x N, row stride ldb): for
 * kernels that run GEMMs on tiles inside their own parallel regions. */
void cpu_sgemm_serial(int ta, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* Per-thread scratch memory (cpu_scratch.c): slot's buffer of at least `bytes`, 64-byte
 * aligned, kept and reused by the calling thread (its contents are not preserved when it
 * grows); NULL when out of memory. Kernels that call cpu_sgemm must not use its slot. */
enum { CPU_SCR_GEMM_B = 0, CPU_SCR_K0, CPU_SCR_K1, CPU_SCR_K2, CPU_SCR_K3, CPU_SCRATCH_SLOTS };
void *cpu_scratch(int slot, size_t bytes);

/* FFT plan cache (in cpu_backend.c). */
struct cpu_fft_plan;
const struct cpu_fft_plan *cpu_fft_plan_cached(dc_backend *be, int64_t n);

#endif
