/* emu_blas.cpp: the cuBLAS stand-in of the CUDA emulation: handles with a stream, a
 * workspace, math and pointer modes, and SGEMM / strided-batched SGEMM with cuBLAS'
 * semantics (column-major, leading dimensions, op(A) = A or A^T, C read only when
 * beta != 0), accumulated in float64 in a fixed order. Arguments outside what the backend
 * uses (TF32, device pointer mode, CUBLAS_OP_C...) fail loudly. Not fast.
 */
#include <stdio.h>
#include <string.h>

#include <vector>

#include <cublas_v2.h>

#include "emu_internal.h"

struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
    cublasPointerMode_t pmode;
};

using namespace dc_emu;
#define LOCK std::lock_guard<std::recursive_mutex> lock_(g_mu)

namespace {

cublasStatus_t refuse(const char *what) {
    unimplemented("cuBLAS: %s", what);
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

/* op(X) is rows x cols; stored column-major with leading dimension ld */
int64_t extent(cublasOperation_t op, int rows, int cols, int ld) {
    const int r = op == CUBLAS_OP_N ? rows : cols, c = op == CUBLAS_OP_N ? cols : rows;
    return c == 0 || r == 0 ? 0 : (int64_t)(c - 1) * ld + r;
}

/* C = alpha op(A) op(B) + beta C for one matrix, op(A) m x k, op(B) k x n. The stand-in is
 * not the code under test and its bounds were checked against the allocations: the
 * sanitizers leave it alone (it is the sanitizer build's hottest loop otherwise). */
__attribute__((no_sanitize("address", "undefined"))) void gemm1(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc, std::vector<double> &ra, std::vector<double> &cb) {
    ra.resize((size_t)m * (size_t)k);
    cb.resize((size_t)n * (size_t)k);
    for (int i = 0; i < m; i++) /* row i of op(A) */
        for (int p = 0; p < k; p++)
            ra[(size_t)i * k + p] = ta == CUBLAS_OP_N ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
    for (int j = 0; j < n; j++) /* column j of op(B) */
        for (int p = 0; p < k; p++)
            cb[(size_t)j * k + p] = tb == CUBLAS_OP_N ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            const double *a = ra.data() + (size_t)i * k, *b = cb.data() + (size_t)j * k;
            double s = 0.0;
            for (int p = 0; p < k; p++) s += a[p] * b[p];
            float &c = C[(size_t)j * ldc + i];
            c = (float)((double)alpha * s + (beta == 0.0f ? 0.0 : (double)beta * (double)c));
        }
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const float *alpha, const float *A, int lda, long long sA, const float *B, int ldb, long long sB,
                    const float *beta, float *C, int ldc, long long sC, int batch, const char *call) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (ta == CUBLAS_OP_C || tb == CUBLAS_OP_C) return refuse("CUBLAS_OP_C");
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (ta == CUBLAS_OP_N ? (m > 1 ? m : 1) : (k > 1 ? k : 1)) ||
        ldb < (tb == CUBLAS_OP_N ? (k > 1 ? k : 1) : (n > 1 ? n : 1)) || ldc < (m > 1 ? m : 1)) {
        fprintf(stderr, "dc-emu: %s: invalid m %d n %d k %d lda %d ldb %d ldc %d batch %d\n", call, m, n, k, lda, ldb,
                ldc, batch);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (h->pmode != CUBLAS_POINTER_MODE_HOST) return refuse("device pointer mode");
    if (!alpha || !beta || dev_range(alpha, 4) || dev_range(beta, 4)) {
        fprintf(stderr, "dc-emu: %s: alpha/beta must be host pointers in host pointer mode\n", call);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
    const float a = *alpha, b = *beta; /* host pointer mode: read at the call, as cuBLAS */
    /* every matrix the call touches lies in device memory */
    const int64_t eA = extent(ta, m, k, lda), eB = extent(tb, k, n, ldb), eC = extent(CUBLAS_OP_N, m, n, ldc);
    for (int i = 0; i < batch; i++)
        if ((eA && !dev_range(A + i * sA, (size_t)eA * 4)) || (eB && !dev_range(B + i * sB, (size_t)eB * 4)) ||
            !dev_range(C + i * sC, (size_t)eC * 4)) {
            fprintf(stderr, "dc-emu: %s: matrix %d of A, B or C reaches outside device memory (m %d n %d k %d, lda %d "
                            "ldb %d ldc %d, strides %lld %lld %lld)\n",
                    call, i, m, n, k, lda, ldb, ldc, sA, sB, sC);
            return CUBLAS_STATUS_INVALID_VALUE;
        }
    cudaError_t e = submit(h->stream, work{call, [=]() -> cudaError_t {
                                               if (!dev_range(C, 1) || (eA && !dev_range(A, 1)) || (eB && !dev_range(B, 1)))
                                                   return fault(cudaErrorIllegalAddress, "%s: a matrix was freed", call);
                                               std::vector<double> ra, cb;
                                               for (int i = 0; i < batch; i++)
                                                   gemm1(ta, tb, m, n, k, a, A + i * sA, lda, B + i * sB, ldb, b,
                                                         C + i * sC, ldc, ra, cb);
                                               return cudaSuccess;
                                           }});
    if (e == cudaSuccess) return CUBLAS_STATUS_SUCCESS;
    set_error(e);
    return CUBLAS_STATUS_EXECUTION_FAILED;
}

} /* namespace */

extern "C" {

cublasStatus_t cublasCreate(cublasHandle_t *h) {
    LOCK;
    if (!h) return CUBLAS_STATUS_INVALID_VALUE;
    *h = nullptr;
    if (capture_open()) { /* cuBLAS allocates device memory when it starts */
        capture_violation("cublasCreate");
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    *h = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH, CUBLAS_POINTER_MODE_HOST};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t st) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = st;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes && !dev_range(ws, bytes)) {
        fprintf(stderr, "dc-emu: cublasSetWorkspace: %zu bytes at %p are not device memory\n", bytes, ws);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (bytes) dev_mark_workspace(ws); /* the emulated GEMMs never touch it */
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_PEDANTIC_MATH)
        return refuse("math modes other than CUBLAS_DEFAULT_MATH (TF32 and tensor-op math are not emulated)");
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t mode) {
    LOCK;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_POINTER_MODE_HOST) return refuse("CUBLAS_POINTER_MODE_DEVICE");
    h->pmode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
#define N(x) case x: return #x
        N(CUBLAS_STATUS_SUCCESS);
        N(CUBLAS_STATUS_NOT_INITIALIZED);
        N(CUBLAS_STATUS_ALLOC_FAILED);
        N(CUBLAS_STATUS_INVALID_VALUE);
        N(CUBLAS_STATUS_ARCH_MISMATCH);
        N(CUBLAS_STATUS_MAPPING_ERROR);
        N(CUBLAS_STATUS_EXECUTION_FAILED);
        N(CUBLAS_STATUS_INTERNAL_ERROR);
        N(CUBLAS_STATUS_NOT_SUPPORTED);
#undef N
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported (by the emulation)";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    default: return "cuBLAS error";
    }
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc) {
    return gemm(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, "cublasSgemm");
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sA,
                                         const float *B, int ldb, long long sB, const float *beta, float *C, int ldc,
                                         long long sC, int batch) {
    return gemm(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch,
                "cublasSgemmStridedBatched");
}

} /* extern "C" */
