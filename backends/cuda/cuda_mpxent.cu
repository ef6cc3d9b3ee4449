/* cuda_mpxent.cu: the fused MP-Xent loss and gradient (docs/METHOD.md §3; math as the "fast" kernel
 * of backends/cpu/cpu_mpxent.c) in five kernels that never write the N x N exp-similarity
 * matrix to global memory. Not here: the F > 128 fallback's GEMMs (cuda_libs.c).
 */

/* The passes (launch order):
 *   normalize  zh = z / max(||z||, eps), nrm = ||z||                 (one warp per row)
 *   rowsum     pass 1: per (16-row tile, 256-column chunk) block, recompute S = zh_r . zh_c
 *              from 64-column shared-memory tiles, E = exp((S - 1) / tau) off the diagonal, and
 *              write the chunk's row sums (double) to part1[chunk][row]. S is exactly
 *              symmetric (same fmaf sequence both ways), so row sums are the column sums C.
 *   anchors    one block: C = sum of part1 over chunks in chunk order, l_j = E_{j+1,j},
 *              num/den per anchor, the loss (block tree sum), column weights w and the
 *              sub-diagonal corrections corr_j = sub_j l_j / tau.
 *   grad       pass 2: same tiling; recompute E, P = (w_r + w_c) E / tau in shared memory,
 *              accumulate P . Zh_c per row in registers, write part2[chunk][row][f].
 *   finish     dzh = sum of part2 over chunks + corr_{r-1} zh_{r-1} + corr_r zh_{r+1},
 *              then the normalisation's backward (one warp per row).
 * Every sum has a fixed order (no atomics): results are bit-reproducible run to run.
 * F <= 128 uses these tiles (templated on 32/64/128, zero-padded); larger F goes through
 * the generic path in cuda_libs.c (cuBLAS on a materialised S, then exp_rows/weights here).
 */
#include <math.h>

#include "cuda_common.cuh"

#define MPX_BR 16      /* rows per block */
#define MPX_BC 64      /* columns per shared-memory tile */
#define MPX_THREADS 256
#define MPX_ROWS_PER_BLOCK (MPX_THREADS / 32)

/* E = exp((S - 1) / tau), as the CPU kernel: S <= 1, so it never overflows, and the factor
 * exp(-1/tau) cancels in the loss and the gradient */
__device__ __forceinline__ float mpx_e(float s, float inv_tau) { return expf(__fmul_rn(__fsub_rn(s, 1.0f), inv_tau)); }

/* the dot product every pass uses: fmaf from f = 0 upwards */
__device__ __forceinline__ float mpx_dot(const float *a, const float *b, int F) {
    float s = 0.0f;
    for (int f = 0; f < F; f++) s = fmaf(a[f], b[f], s);
    return s;
}

__device__ __forceinline__ int mpx_is_anchor(int k, int L, int single) {
    int t = k % L;
    return single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
}

/* ---------------------------------------------------------------- normalize */

__global__ void mpx_normalize_k(const float *__restrict__ z, float *__restrict__ zh, double *__restrict__ nrm, int N,
                                int F, double eps) {
    const int lane = threadIdx.x & 31;
    for (int r = blockIdx.x * MPX_ROWS_PER_BLOCK + (threadIdx.x >> 5); r < N; r += gridDim.x * MPX_ROWS_PER_BLOCK) {
        const float *zr = z + (size_t)r * F;
        double s = 0.0;
        for (int f = lane; f < F; f += 32) s += (double)zr[f] * (double)zr[f];
        s = cuda_warp_sum(s);
        const double n = sqrt(s), d = n > eps ? n : eps;
        if (lane == 0) nrm[r] = n;
        for (int f = lane; f < F; f += 32) zh[(size_t)r * F + f] = (float)((double)zr[f] / d);
    }
}

extern "C" cudaError_t cuda_launch_mpx_normalize(cudaStream_t st, const cuda_mpx_args *a) {
    CUDA_KERNEL(cuda_blocks(a->N, MPX_ROWS_PER_BLOCK), MPX_THREADS, 0, st, mpx_normalize_k)(a->z, a->zh, a->nrm, a->N, a->F,
                                                                                    a->eps);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- tiles */

/* rows [r0, r0 + nrows) of zh into dst, zero-padded to FMAX columns and beyond N */
template <int FMAX>
__device__ __forceinline__ void mpx_load(float (*dst)[FMAX + 1], const float *__restrict__ zh, int r0, int nrows,
                                         int N, int F) {
    for (int i = threadIdx.x; i < nrows * FMAX; i += blockDim.x) {
        int rr = i / FMAX, f = i % FMAX, r = r0 + rr;
        dst[rr][f] = (r < N && f < F) ? zh[(size_t)r * F + f] : 0.0f;
    }
}

/* s[j] = zh_r . zh_c for the thread's 4 columns tx + 16 j of the tile (padding adds +0) */
template <int FMAX>
__device__ __forceinline__ void mpx_dots(const float (*zr)[FMAX + 1], const float (*zc)[FMAX + 1], int ty, int tx,
                                         float s[4]) {
    s[0] = s[1] = s[2] = s[3] = 0.0f;
#pragma unroll 8
    for (int f = 0; f < FMAX; f++) {
        const float a = zr[ty][f];
#pragma unroll
        for (int j = 0; j < 4; j++) s[j] = fmaf(a, zc[tx + 16 * j][f], s[j]);
    }
}

/* Thread layout of both passes: ty = threadIdx.x / 16 is the tile row, tx = threadIdx.x % 16. */
template <int FMAX>
__global__ void __launch_bounds__(MPX_THREADS) mpx_rowsum_k(const float *__restrict__ zh, double *__restrict__ part1,
                                                            int N, int F, float inv_tau, int chunk) {
    __shared__ float zr[MPX_BR][FMAX + 1];
    __shared__ float zc[MPX_BC][FMAX + 1];
    const int ty = threadIdx.x >> 4, tx = threadIdx.x & 15;
    const int r0 = blockIdx.x * MPX_BR, r = r0 + ty;
    const int c_begin = blockIdx.y * chunk, c_end = min(N, c_begin + chunk);
    mpx_load<FMAX>(zr, zh, r0, MPX_BR, N, F);
    double acc = 0.0;
    for (int c0 = c_begin; c0 < c_end; c0 += MPX_BC) {
        __syncthreads(); /* the previous tile is consumed */
        mpx_load<FMAX>(zc, zh, c0, MPX_BC, N, F);
        __syncthreads();
        float s[4];
        mpx_dots<FMAX>(zr, zc, ty, tx, s);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int c = c0 + tx + 16 * j;
            if (r < N && c < c_end && c != r) acc += (double)mpx_e(s[j], inv_tau);
        }
    }
    for (int off = 8; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off); /* within 16 lanes */
    if (tx == 0 && r < N) part1[(size_t)blockIdx.y * N + r] = acc;
}

template <int FMAX>
__global__ void __launch_bounds__(MPX_THREADS) mpx_grad_k(const float *__restrict__ zh, const float *__restrict__ w,
                                                          float *__restrict__ part2, int N, int F, float inv_tau,
                                                          int chunk) {
    constexpr int KF = FMAX / 16; /* outputs per thread: f = tx + 16 k */
    __shared__ float zr[MPX_BR][FMAX + 1];
    __shared__ float zc[MPX_BC][FMAX + 1];
    __shared__ float P[MPX_BR][MPX_BC + 1];
    __shared__ float wc[MPX_BC];
    const int ty = threadIdx.x >> 4, tx = threadIdx.x & 15;
    const int r0 = blockIdx.x * MPX_BR, r = r0 + ty;
    const int c_begin = blockIdx.y * chunk, c_end = min(N, c_begin + chunk);
    mpx_load<FMAX>(zr, zh, r0, MPX_BR, N, F);
    const float wr = r < N ? w[r] : 0.0f;
    float acc[KF];
#pragma unroll
    for (int k = 0; k < KF; k++) acc[k] = 0.0f;
    for (int c0 = c_begin; c0 < c_end; c0 += MPX_BC) {
        __syncthreads();
        mpx_load<FMAX>(zc, zh, c0, MPX_BC, N, F);
        for (int i = threadIdx.x; i < MPX_BC; i += blockDim.x) wc[i] = c0 + i < N ? w[c0 + i] : 0.0f;
        __syncthreads();
        float s[4];
        mpx_dots<FMAX>(zr, zc, ty, tx, s);
#pragma unroll
        for (int j = 0; j < 4; j++) { /* W_rc = (w_r + w_c) E_rc / tau, in the CPU's f32 order */
            const int cl = tx + 16 * j, c = c0 + cl;
            P[ty][cl] = (r < N && c < c_end && c != r)
                            ? __fmul_rn(__fmul_rn(__fadd_rn(wr, wc[cl]), mpx_e(s[j], inv_tau)), inv_tau)
                            : 0.0f;
        }
        __syncthreads();
#pragma unroll 4
        for (int cl = 0; cl < MPX_BC; cl++) {
            const float p = P[ty][cl];
#pragma unroll
            for (int k = 0; k < KF; k++) acc[k] = fmaf(p, zc[cl][tx + 16 * k], acc[k]);
        }
    }
    if (r < N)
#pragma unroll
        for (int k = 0; k < KF; k++) {
            const int f = tx + 16 * k;
            if (f < F) part2[((size_t)blockIdx.y * N + r) * F + f] = acc[k];
        }
}

static dim3 mpx_grid(const cuda_mpx_args *a) { return dim3((unsigned)((a->N + MPX_BR - 1) / MPX_BR), (unsigned)a->nch); }

extern "C" cudaError_t cuda_launch_mpx_rowsum(cudaStream_t st, const cuda_mpx_args *a) {
    const dim3 g = mpx_grid(a);
    const int ch = CUDA_MPX_CHUNK;
    if (a->F <= 32) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_rowsum_k<32>)(a->zh, a->part1, a->N, a->F, a->inv_tau, ch);
    else if (a->F <= 64) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_rowsum_k<64>)(a->zh, a->part1, a->N, a->F, a->inv_tau, ch);
    else if (a->F <= 128) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_rowsum_k<128>)(a->zh, a->part1, a->N, a->F, a->inv_tau, ch);
    else return cudaErrorInvalidValue;
    return cudaGetLastError();
}

extern "C" cudaError_t cuda_launch_mpx_grad(cudaStream_t st, const cuda_mpx_args *a) {
    const dim3 g = mpx_grid(a);
    const int ch = CUDA_MPX_CHUNK;
    if (a->F <= 32) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_grad_k<32>)(a->zh, a->w, a->part2, a->N, a->F, a->inv_tau, ch);
    else if (a->F <= 64) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_grad_k<64>)(a->zh, a->w, a->part2, a->N, a->F, a->inv_tau, ch);
    else if (a->F <= 128) CUDA_KERNEL(g, MPX_THREADS, 0, st, mpx_grad_k<128>)(a->zh, a->w, a->part2, a->N, a->F, a->inv_tau, ch);
    else return cudaErrorInvalidValue;
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- anchors (one block) */

/* dbl4 = [C | l | wd | wn], N doubles each. wd/wn = 1/(A den), 1/(A num) at anchors, else 0:
 *   w_j = wd_j + wd_{j+1} (multi),  sub_j = -(wd_j + wn_j) - (2 wd_{j+1} + wn_{j+1}) (multi) */
__global__ void __launch_bounds__(1024) mpx_anchors_k(cuda_mpx_args a) {
    __shared__ double sh[32];
    const int N = a.N, F = a.F, L = a.L, single = a.single;
    double *Cc = a.dbl4, *lsub = Cc + N, *wd = lsub + N, *wn = wd + N;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        double s = 0.0;
        for (int k = 0; k < a.nch; k++) s += a.part1[(size_t)k * N + i];
        Cc[i] = s;
        lsub[i] = i + 1 < N ? (double)mpx_e(mpx_dot(a.zh + (size_t)(i + 1) * F, a.zh + (size_t)i * F, F), a.inv_tau)
                            : 0.0;
    }
    __syncthreads();
    const double A = (double)a.anchors;
    double total = 0.0;
    for (int k = threadIdx.x; k < N; k += blockDim.x) {
        double wdk = 0.0, wnk = 0.0;
        if (mpx_is_anchor(k, L, single)) {
            double lp = lsub[k], num, den;
            if (single) {
                num = lp;
                den = Cc[k] - lp;
            } else {
                double lm = lsub[k - 1];
                num = lm + lp;
                den = (Cc[k - 1] - lm) + (Cc[k] - lm - lp);
            }
            total += log(den) - log(num);
            wdk = 1.0 / (A * den);
            wnk = 1.0 / (A * num);
        }
        wd[k] = wdk;
        wn[k] = wnk;
    }
    total = cuda_block_sum(total, sh); /* its barriers also publish wd/wn */
    if (threadIdx.x == 0) a.loss[0] = (float)(total / A);
    for (int j = threadIdx.x; j < N; j += blockDim.x) {
        double wj = wd[j], sj = -(wd[j] + wn[j]);
        if (!single && j + 1 < N) {
            wj += wd[j + 1];
            sj -= 2.0 * wd[j + 1] + wn[j + 1];
        }
        a.w[j] = (float)wj;
        a.corr[j] = j + 1 < N ? (float)(sj * lsub[j] * a.inv_tau_d) : 0.0f;
    }
}

extern "C" cudaError_t cuda_launch_mpx_anchors(cudaStream_t st, const cuda_mpx_args *a) {
    CUDA_KERNEL(1, 1024, 0, st, mpx_anchors_k)(*a);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- finish (one warp per row) */

__device__ __forceinline__ double mpx_dzh(const cuda_mpx_args &a, int r, int f, double cm, double cp) {
    double g = 0.0;
    for (int k = 0; k < a.nch; k++) g += (double)a.part2[((size_t)k * a.N + r) * a.F + f];
    if (r >= 1) g += cm * (double)a.zh[(size_t)(r - 1) * a.F + f];
    if (r + 1 < a.N) g += cp * (double)a.zh[(size_t)(r + 1) * a.F + f];
    return g;
}

__global__ void mpx_finish_k(cuda_mpx_args a) {
    const int lane = threadIdx.x & 31, F = a.F;
    for (int r = blockIdx.x * MPX_ROWS_PER_BLOCK + (threadIdx.x >> 5); r < a.N; r += gridDim.x * MPX_ROWS_PER_BLOCK) {
        const float *zr = a.zh + (size_t)r * F;
        const double cm = r >= 1 ? (double)a.corr[r - 1] : 0.0, cp = (double)a.corr[r];
        double dot = 0.0;
        for (int f = lane; f < F; f += 32) dot += (double)zr[f] * mpx_dzh(a, r, f, cm, cp);
        dot = cuda_warp_sum(dot);
        const double n = a.nrm[r];
        for (int f = lane; f < F; f += 32) {
            double g = mpx_dzh(a, r, f, cm, cp);
            a.dz[(size_t)r * F + f] = n > a.eps ? (float)((g - (double)zr[f] * dot) / n) : (float)(g / a.eps);
        }
    }
}

extern "C" cudaError_t cuda_launch_mpx_finish(cudaStream_t st, const cuda_mpx_args *a) {
    CUDA_KERNEL(cuda_blocks(a->N, MPX_ROWS_PER_BLOCK), MPX_THREADS, 0, st, mpx_finish_k)(*a);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- generic path (F > 128) */

/* S (N x N) -> E in place with a zero diagonal; part1[r] = row sum (one block per row) */
__global__ void mpx_exp_rows_k(float *S, double *__restrict__ part1, int N, float inv_tau) {
    __shared__ double sh[32];
    for (int r = blockIdx.x; r < N; r += gridDim.x) {
        float *row = S + (size_t)r * N;
        double acc = 0.0;
        for (int c = threadIdx.x; c < N; c += blockDim.x) {
            float e = c == r ? 0.0f : mpx_e(row[c], inv_tau);
            row[c] = e;
            acc += (double)e;
        }
        acc = cuda_block_sum(acc, sh);
        if (threadIdx.x == 0) part1[r] = acc;
    }
}

extern "C" cudaError_t cuda_launch_mpx_exp_rows(cudaStream_t st, float *S, const cuda_mpx_args *a) {
    CUDA_KERNEL(cuda_blocks(a->N, 1), MPX_THREADS, 0, st, mpx_exp_rows_k)(S, a->part1, a->N, a->inv_tau);
    return cudaGetLastError();
}

/* E -> W = (w_r + w_c) E / tau in place (the diagonal stays 0) */
__global__ void mpx_weights_k(float *S, const float *__restrict__ w, int N, float inv_tau) {
    const long long n = (long long)N * N;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        int r = (int)(i / N), c = (int)(i % N);
        S[i] = __fmul_rn(__fmul_rn(__fadd_rn(w[r], w[c]), S[i]), inv_tau);
    }
}

extern "C" cudaError_t cuda_launch_mpx_weights(cudaStream_t st, float *S, const cuda_mpx_args *a) {
    CUDA_KERNEL(cuda_blocks((int64_t)a->N * a->N, MPX_THREADS), MPX_THREADS, 0, st, mpx_weights_k)(S, a->w, a->N, a->inv_tau);
    return cudaGetLastError();
}
