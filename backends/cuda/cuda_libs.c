/* cuda_libs.c: the CUDA entries built on libraries or multi-kernel plans: MATMUL through
 * cuBLAS (row-major via the transpose identity, strided batched, TF32 off unless
 * DYNACL_CUDA_TF32=1), RFFT/IRFFT through cuFFT (R2C/C2R plans cached per length and row
 * count), and MP-Xent (the tiled kernels of cuda_mpxent.cu; cuBLAS on a materialised
 * similarity matrix only for F > 128). Handles and plans are made outside graph capture.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "cuda_internal.h"

#define STREAM(be) (cuda_st(be)->stream)

static dc_status no_create_in_capture(dc_backend *be, const char *what) {
    return dc_fail(DC_ERR_STATE, "%s: %s would be created during CUDA-graph capture; run the step once eagerly first",
                   be->name, what);
}

static void libs_release(dc_backend *be);

/* ---------------------------------------------------------------- cuBLAS */

static dc_status blas_handle(dc_backend *be, cublasHandle_t *out) {
    cuda_state *s = cuda_st(be);
    if (!s->blas) {
        if (s->capturing) return no_create_in_capture(be, "the cuBLAS handle");
        cublasHandle_t h = NULL;
        CUBLAS_CHECK(be, cublasCreate(&h));
        s->release_libs = libs_release;
        void *ws = NULL;
        cudaError_t e = cudaMalloc(&ws, CUDA_BLAS_WORKSPACE);
        cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
        if (e == cudaSuccess) {
            bs = cublasSetStream(h, s->stream);
            /* an explicit workspace: cuBLAS never allocates, so its calls can be captured */
            if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetWorkspace(h, ws, CUDA_BLAS_WORKSPACE);
            /* fp32 GEMMs stay fp32 unless TF32 is asked for */
            if (bs == CUBLAS_STATUS_SUCCESS)
                bs = cublasSetMathMode(h, s->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST);
        }
        if (e != cudaSuccess || bs != CUBLAS_STATUS_SUCCESS) {
            cublasDestroy(h);
            (void)cudaFree(ws);
            if (e != cudaSuccess) return cuda_fail_rt(be, e, "cudaMalloc(cuBLAS workspace)", __FILE__, __LINE__);
            return cuda_fail_blas(be, bs, "cuBLAS handle setup", __FILE__, __LINE__);
        }
        s->blas = h;
        s->blas_ws = ws;
    }
    *out = s->blas;
    return DC_OK;
}

/* Row-major C (M x N) = alpha op(A) op(B) + beta C is column-major C^T = op(B)^T op(A)^T:
 * cuBLAS gets (opB, opA, N, M, K) with B first. A stored (M, K) or, transposed, (K, M). */
dc_status cuda_op_matmul(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const int ta = (int)a->p.i[0], tb = (int)a->p.i[1];
    const int64_t batch = a->p.i[2], M = a->p.i[3], N = a->p.i[4], K = a->p.i[5];
    const float alpha = (float)a->p.f[0], beta = (float)a->p.f[1];
    float *C = CUDA_F32(a->out[0]);
    if (batch == 0 || M == 0 || N == 0) return DC_OK;
    if (K == 0) { /* C = beta C; beta = 0 ignores C (zeros, even where C held NaN) */
        if (beta == 0.0f)
            CUDA_LAUNCH(be, "matmul (K = 0)", cuda_launch_fill(STREAM(be), C, CUDA_DT_F32, batch * M * N, 0.0));
        else
            CUDA_LAUNCH(be, "matmul (K = 0)", cuda_launch_scale(STREAM(be), C, C, batch * M * N, beta, 0.0f));
        return DC_OK;
    }
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || batch > INT_MAX)
        return dc_fail(DC_ERR_UNSUPPORTED, "matmul on %s: dimensions (%lld, %lld, %lld) x %lld exceed cuBLAS' int range",
                       be->name, (long long)M, (long long)N, (long long)K, (long long)batch);
    cublasHandle_t h;
    dc_status st = blas_handle(be, &h);
    if (st != DC_OK) return st;
    const float *A = CUDA_F32(a->in[0]), *B = CUDA_F32(a->in[1]);
    const cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int lda = (int)(ta ? M : K), ldb = (int)(tb ? K : N);
    if (batch == 1)
        CUBLAS_CHECK(be, cublasSgemm(h, opB, opA, (int)N, (int)M, (int)K, &alpha, B, ldb, A, lda, &beta, C, (int)N));
    else
        CUBLAS_CHECK(be, cublasSgemmStridedBatched(h, opB, opA, (int)N, (int)M, (int)K, &alpha, B, ldb, K * N, A, lda,
                                                   M * K, &beta, C, (int)N, M * N, (int)batch));
    return cuda_launched(be, cudaSuccess, "cublasSgemm", __FILE__, __LINE__);
}

/* ---------------------------------------------------------------- cuFFT */

static dc_status fft_plan(dc_backend *be, int64_t n, int64_t rows, int inverse, cufftHandle *out) {
    cuda_state *s = cuda_st(be);
    int free_slot = -1, lru = 0;
    for (int i = 0; i < CUDA_FFT_CACHE; i++) {
        cuda_fft_plan *p = &s->fft[i];
        if (!p->used) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (p->n == n && p->rows == rows && p->inverse == inverse) {
            p->stamp = ++s->fft_clock;
            *out = p->h;
            return DC_OK;
        }
        if (p->stamp < s->fft[lru].stamp || !s->fft[lru].used) lru = i;
    }
    const int slot = free_slot >= 0 ? free_slot : lru;
    if (s->capturing) return no_create_in_capture(be, "a cuFFT plan");
    if (n > INT_MAX || rows > INT_MAX)
        return dc_fail(DC_ERR_UNSUPPORTED, "fft on %s: %lld rows of length %lld exceed cuFFT's int range", be->name,
                       (long long)rows, (long long)n);
    cuda_fft_plan *p = &s->fft[slot];
    if (p->used) {
        cuda_retire_fft(be, p->h);
        p->used = 0;
    }
    cufftHandle h;
    CUFFT_CHECK(be, cufftCreate(&h));
    s->release_libs = libs_release;
    int nn = (int)n;
    size_t ws = 0;
    cufftResult r = cufftMakePlanMany(h, 1, &nn, NULL, 1, 0, NULL, 1, 0, inverse ? CUFFT_C2R : CUFFT_R2C, (int)rows,
                                      &ws);
    if (r == CUFFT_SUCCESS) r = cufftSetStream(h, s->stream);
    if (r != CUFFT_SUCCESS) {
        (void)cufftDestroy(h);
        return cuda_fail_fft(be, r, inverse ? "cufftMakePlanMany(C2R)" : "cufftMakePlanMany(R2C)", __FILE__, __LINE__);
    }
    p->h = h;
    p->n = n;
    p->rows = rows;
    p->inverse = inverse;
    p->used = 1;
    p->stamp = ++s->fft_clock;
    *out = h;
    return DC_OK;
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }
static size_t round256(size_t b) { return (b + 255) & ~(size_t)255; }

dc_status cuda_op_rfft(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const int64_t n = a->p.i[0], rows = a->p.i[1], nb = n / 2 + 1;
    if (rows == 0) return DC_OK;
    float *x = CUDA_F32(a->in[0]), *y = CUDA_F32(a->out[0]);
    const size_t in_b = (size_t)(rows * n) * 4, out_b = (size_t)(rows * nb) * 8;
    int copy_in = !aligned16(x), copy_out = !aligned16(y); /* cuFFT wants aligned (complex) data */
    char *sc = NULL;
    if (copy_in || copy_out) {
        sc = cuda_scratch(be, round256(in_b) + out_b);
        if (!sc) return dc_last_status();
    }
    float *src = copy_in ? (float *)sc : x, *dst = copy_out ? (float *)(sc + round256(in_b)) : y;
    if (copy_in) CUDA_CHECK(be, cudaMemcpyAsync(src, x, in_b, cudaMemcpyDeviceToDevice, STREAM(be)));
    cufftHandle h;
    dc_status st = fft_plan(be, n, rows, 0, &h);
    if (st != DC_OK) return st;
    CUFFT_CHECK(be, cufftExecR2C(h, (cufftReal *)src, (cufftComplex *)dst));
    if (copy_out) CUDA_CHECK(be, cudaMemcpyAsync(y, dst, out_b, cudaMemcpyDeviceToDevice, STREAM(be)));
    return cuda_launched(be, cudaSuccess, "cufftExecR2C", __FILE__, __LINE__);
}

/* C2R may overwrite its input and leaves the Im of DC/Nyquist to chance: it always runs on
 * a scratch copy with those zeroed (cuda_launch_irfft_prep); then y *= f0. */
dc_status cuda_op_irfft(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const int64_t n = a->p.i[0], rows = a->p.i[1], nb = n / 2 + 1;
    const float scale = (float)a->p.f[0];
    if (rows == 0) return DC_OK;
    float *y = CUDA_F32(a->out[0]);
    const size_t in_b = round256((size_t)(rows * nb) * 8), out_b = (size_t)(rows * n) * 4;
    int copy_out = !aligned16(y);
    char *sc = cuda_scratch(be, in_b + (copy_out ? out_b : 0));
    if (!sc) return dc_last_status();
    float *src = (float *)sc, *dst = copy_out ? (float *)(sc + in_b) : y;
    CUDA_LAUNCH(be, "irfft (input copy)", cuda_launch_irfft_prep(STREAM(be), CUDA_F32(a->in[0]), src, rows, n));
    cufftHandle h;
    dc_status st = fft_plan(be, n, rows, 1, &h);
    if (st != DC_OK) return st;
    CUFFT_CHECK(be, cufftExecC2R(h, (cufftComplex *)src, (cufftReal *)dst));
    if (copy_out) CUDA_CHECK(be, cudaMemcpyAsync(y, dst, out_b, cudaMemcpyDeviceToDevice, STREAM(be)));
    if (scale != 1.0f) CUDA_LAUNCH(be, "irfft (scale)", cuda_launch_scale(STREAM(be), y, y, rows * n, scale, 0.0f));
    return cuda_launched(be, cudaSuccess, "cufftExecC2R", __FILE__, __LINE__);
}

/* ---------------------------------------------------------------- MP-Xent */

static int64_t count_anchors(int64_t N, int64_t L, int single) {
    int64_t per = single ? L - 1 : L - 2; /* positions t <= L-2 (single) or 1 <= t <= L-2 */
    return per > 0 ? (N / L) * per : 0;
}

/* Generic path (F > 128): S = Zh Zh^T materialised (N x N) in the scratch. */
static dc_status mpx_generic(dc_backend *be, cuda_mpx_args *m, float *S, int want) {
    cublasHandle_t h;
    dc_status st = blas_handle(be, &h);
    if (st != DC_OK) return st;
    const float one = 1.0f, zero = 0.0f;
    /* column-major: S = (zh as F x N)^T (zh as F x N) */
    CUBLAS_CHECK(be, cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m->N, m->N, m->F, &one, m->zh, m->F, m->zh, m->F, &zero,
                                 S, m->N));
    CUDA_LAUNCH(be, "mpxent (exp rows)", cuda_launch_mpx_exp_rows(STREAM(be), S, m));
    CUDA_LAUNCH(be, "mpxent (anchors)", cuda_launch_mpx_anchors(STREAM(be), m));
    if (!want) return DC_OK;
    CUDA_LAUNCH(be, "mpxent (weights)", cuda_launch_mpx_weights(STREAM(be), S, m));
    /* part2 (row-major N x F) = W Zh: column-major (F x N) = (zh as F x N) (W as N x N) */
    CUBLAS_CHECK(be, cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m->F, m->N, m->N, &one, m->zh, m->F, S, m->N, &zero,
                                 m->part2, m->F));
    CUDA_LAUNCH(be, "mpxent (finish)", cuda_launch_mpx_finish(STREAM(be), m));
    return DC_OK;
}

dc_status cuda_op_mpxent(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *z = a->in[0];
    const int64_t N = z->shape[0], F = z->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = (int)a->p.i[2] && a->n_out > 1;
    const int generic = F > CUDA_MPX_MAX_F;
    const int64_t nch = generic ? 1 : (N + CUDA_MPX_CHUNK - 1) / CUDA_MPX_CHUNK;
    if (N > (1 << 22) || (int64_t)nch * N * F > INT_MAX || (generic && N * N > INT_MAX))
        return dc_fail(DC_ERR_UNSUPPORTED, "mpxent on %s: N = %lld, F = %lld is beyond the kernel's index range",
                       be->name, (long long)N, (long long)F);
    /* scratch: zh | nrm | part1 | dbl4 | w | corr | part2 | S (generic) */
    size_t off[9], sz[8] = {(size_t)(N * F) * 4, (size_t)N * 8, (size_t)(nch * N) * 8, (size_t)(4 * N) * 8,
                            (size_t)N * 4, (size_t)N * 4, (size_t)(nch * N * F) * 4, generic ? (size_t)(N * N) * 4 : 0};
    off[0] = 0;
    for (int i = 0; i < 8; i++) off[i + 1] = off[i] + round256(sz[i]);
    char *sc = cuda_scratch(be, off[8]);
    if (!sc) return dc_last_status();
    cuda_mpx_args m;
    memset(&m, 0, sizeof m);
    m.N = (int)N;
    m.F = (int)F;
    m.L = (int)L;
    m.single = single;
    m.anchors = (int)count_anchors(N, L, single);
    m.nch = (int)nch;
    m.inv_tau = (float)(1.0 / a->p.f[0]);
    m.inv_tau_d = 1.0 / a->p.f[0];
    m.eps = a->p.f[1];
    m.z = CUDA_F32(z);
    m.zh = (float *)(sc + off[0]);
    m.nrm = (double *)(sc + off[1]);
    m.part1 = (double *)(sc + off[2]);
    m.dbl4 = (double *)(sc + off[3]);
    m.w = (float *)(sc + off[4]);
    m.corr = (float *)(sc + off[5]);
    m.part2 = (float *)(sc + off[6]);
    m.loss = CUDA_F32(a->out[0]);
    m.dz = want ? CUDA_F32(a->out[1]) : NULL;
    CUDA_LAUNCH(be, "mpxent (normalize)", cuda_launch_mpx_normalize(STREAM(be), &m));
    if (generic) return mpx_generic(be, &m, (float *)(sc + off[7]), want);
    CUDA_LAUNCH(be, "mpxent (row sums)", cuda_launch_mpx_rowsum(STREAM(be), &m));
    CUDA_LAUNCH(be, "mpxent (anchors)", cuda_launch_mpx_anchors(STREAM(be), &m));
    if (!want) return DC_OK;
    CUDA_LAUNCH(be, "mpxent (gradient)", cuda_launch_mpx_grad(STREAM(be), &m));
    CUDA_LAUNCH(be, "mpxent (finish)", cuda_launch_mpx_finish(STREAM(be), &m));
    return DC_OK;
}

/* ---------------------------------------------------------------- release */

static void libs_release(dc_backend *be) {
    cuda_state *s = cuda_st(be);
    for (int i = 0; i < CUDA_FFT_CACHE; i++)
        if (s->fft[i].used) {
            (void)cufftDestroy(s->fft[i].h);
            s->fft[i].used = 0;
        }
    if (s->blas) (void)cublasDestroy(s->blas);
    s->blas = NULL;
    (void)cudaFree(s->blas_ws);
    s->blas_ws = NULL;
}
