/* cpu_matmul.c: the MATMUL kernel, C = alpha * op(A) op(B) + beta * C per batch (beta == 0
 * ignores C). float32: cpu_sgemm (cpu_gemm.c, register-blocked micro-kernels); float64:
 * cpu_dgemm here, which packs op(A) and op(B) into row-major panels, then a register-blocked
 * loop (4 rows of C at a time, unit-stride inner loop the compiler vectorises), parallel over
 * row blocks. The reference is cpu-ref's (backends/cpu_ref/).
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

/* Row-major GEMM core on packed operands: C(M,N) (+)= alpha * A(M,K) B(K,N). GCC 11 cannot
 * build this target_clones pair ("no dispatcher found"), so older compilers get one version. */
#if defined(__GNUC__) && __GNUC__ >= 12 && defined(__x86_64__) && !defined(__clang__)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

#define GEMM_CORE(NAME, T)                                                                                   \
    CPU_CLONES static void NAME(int64_t M, int64_t N, int64_t K, T alpha, const T *A, const T *B, T beta,   \
                                T *C, int64_t ldc) {                                                         \
        const int64_t NB = 256;                                                                              \
        int64_t nblk = (M + 3) / 4;                                                                          \
        int par = M * N * K >= 1 << 18;                                                                      \
        _Pragma("omp parallel for schedule(static) if(par)") for (int64_t ib = 0; ib < nblk; ib++) {         \
            int64_t i = ib * 4, mr = M - i < 4 ? M - i : 4;                                                  \
            T acc[4][256];                                                                                   \
            for (int64_t j0 = 0; j0 < N; j0 += NB) {                                                         \
                int64_t nb = N - j0 < NB ? N - j0 : NB;                                                      \
                for (int r = 0; r < 4; r++)                                                                  \
                    for (int64_t j = 0; j < nb; j++) acc[r][j] = 0;                                          \
                for (int64_t k = 0; k < K; k++) {                                                            \
                    const T *br = B + k * N + j0;                                                            \
                    T a0 = A[i * K + k];                                                                     \
                    T a1 = mr > 1 ? A[(i + 1) * K + k] : 0;                                                  \
                    T a2 = mr > 2 ? A[(i + 2) * K + k] : 0;                                                  \
                    T a3 = mr > 3 ? A[(i + 3) * K + k] : 0;                                                  \
                    for (int64_t j = 0; j < nb; j++) {                                                       \
                        T bv = br[j];                                                                        \
                        acc[0][j] += a0 * bv;                                                                \
                        acc[1][j] += a1 * bv;                                                                \
                        acc[2][j] += a2 * bv;                                                                \
                        acc[3][j] += a3 * bv;                                                                \
                    }                                                                                        \
                }                                                                                            \
                for (int r = 0; r < mr; r++) {                                                               \
                    T *cr = C + (i + r) * ldc + j0;                                                          \
                    if (beta == 0)                                                                           \
                        for (int64_t j = 0; j < nb; j++) cr[j] = alpha * acc[r][j];                          \
                    else                                                                                     \
                        for (int64_t j = 0; j < nb; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];           \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }

GEMM_CORE(gemm_core_f64, double)

/* Pack op(X) (rows x cols after the op) from storage with row stride ld into dst. */
#define PACK(NAME, T)                                                                                        \
    static void NAME(int trans, int64_t rows, int64_t cols, const T *X, int64_t ld, T *dst) {                \
        if (!trans) {                                                                                        \
            for (int64_t r = 0; r < rows; r++) memcpy(dst + r * cols, X + r * ld, (size_t)cols * sizeof(T)); \
        } else {                                                                                             \
            for (int64_t c = 0; c < cols; c++)                                                               \
                for (int64_t r = 0; r < rows; r++) dst[r * cols + c] = X[c * ld + r];                        \
        }                                                                                                    \
    }
PACK(pack_f64, double)

#define GEMM_API(NAME, T, PACKF, CORE)                                                                       \
    void NAME(int ta, int tb, int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t lda, const T *B, \
              int64_t ldb, T beta, T *C, int64_t ldc) {                                                      \
        T *pa = NULL, *pb = NULL;                                                                            \
        const T *Ap = A, *Bp = B;                                                                            \
        if (ta || lda != K) {                                                                                \
            pa = malloc((size_t)(M * K > 0 ? M * K : 1) * sizeof(T));                                            \
            if (!pa) goto naive;                                                                             \
            PACKF(ta, M, K, A, lda, pa);                                                                     \
            Ap = pa;                                                                                         \
        }                                                                                                    \
        if (tb || ldb != N) {                                                                                \
            pb = malloc((size_t)(K * N > 0 ? K * N : 1) * sizeof(T));                                            \
            if (!pb) goto naive;                                                                             \
            PACKF(tb, K, N, B, ldb, pb);                                                                     \
            Bp = pb;                                                                                         \
        }                                                                                                    \
        CORE(M, N, K, alpha, Ap, Bp, beta, C, ldc);                                                          \
        free(pa);                                                                                            \
        free(pb);                                                                                            \
        return;                                                                                              \
    naive: /* out of memory for packing: plain loops on the strided operands */                              \
        free(pa);                                                                                            \
        free(pb);                                                                                            \
        for (int64_t i = 0; i < M; i++)                                                                      \
            for (int64_t j = 0; j < N; j++) {                                                                \
                T s = 0;                                                                                     \
                for (int64_t k = 0; k < K; k++)                                                              \
                    s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);    \
                C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]);                        \
            }                                                                                                \
    }
GEMM_API(cpu_dgemm, double, pack_f64, gemm_core_f64)

dc_status cpu_matmul(dc_backend *be, const dc_kernel_args *a) {
    const int ta = (int)a->p.i[0], tb = (int)a->p.i[1];
    const int64_t batch = a->p.i[2], M = a->p.i[3], N = a->p.i[4], K = a->p.i[5];
    for (int64_t bi = 0; bi < batch; bi++) {
        if (a->out[0]->dtype == DC_F32) {
            const float *A = (const float *)CPU_PTR(a->in[0]) + bi * M * K, *B = (const float *)CPU_PTR(a->in[1]) + bi * K * N;
            float *C = (float *)CPU_PTR(a->out[0]) + bi * M * N;
            cpu_sgemm(ta, tb, M, N, K, (float)a->p.f[0], A, ta ? M : K, B, tb ? K : N, (float)a->p.f[1], C, N);
        } else {
            const double *A = (const double *)CPU_PTR(a->in[0]) + bi * M * K, *B = (const double *)CPU_PTR(a->in[1]) + bi * K * N;
            double *C = (double *)CPU_PTR(a->out[0]) + bi * M * N;
            cpu_dgemm(ta, tb, M, N, K, a->p.f[0], A, ta ? M : K, B, tb ? K : N, a->p.f[1], C, N);
        }
    }
    return DC_OK;
}
