/* cuda_reduce.cu: SUM over one axis, the scalar losses (MSE, BCE on logits, cross-entropy
 * with its fused gradient) and log-softmax forward/backward. Sums accumulate in double in
 * a fixed order (per-thread strides, then a shuffle/tree reduction), so results are
 * deterministic; scalar losses reduce in two stages (per-block partials, then one block).
 */
#include <math.h>

#include "cuda_common.cuh"

/* ---------------------------------------------------------------- shared finish */

/* out[0] = scale * sum(part[0..np)) */
__global__ void finish_sum_k(const double *__restrict__ part, long long np, double scale, float *__restrict__ out) {
    __shared__ double sh[32];
    double acc = 0.0;
    for (long long k = threadIdx.x; k < np; k += blockDim.x) acc += part[k];
    acc = cuda_block_sum(acc, sh);
    if (threadIdx.x == 0) out[0] = (float)(acc * scale);
}

/* ---------------------------------------------------------------- SUM */

/* inner == 1: one block per outer row. */
__global__ void sum_rows_k(const float *__restrict__ x, float *__restrict__ y, long long outer, long long n,
                           double scale) {
    __shared__ double sh[32];
    for (long long o = blockIdx.x; o < outer; o += gridDim.x) {
        const float *row = x + o * n;
        double acc = 0.0;
        for (long long k = threadIdx.x; k < n; k += blockDim.x) acc += row[k];
        acc = cuda_block_sum(acc, sh);
        if (threadIdx.x == 0) y[o] = (float)(acc * scale);
    }
}

/* inner > 1: block (32, 32), x-threads over 32 consecutive inner columns (coalesced),
 * y-threads split n; partials combined in ty order. */
__global__ void __launch_bounds__(1024) sum_cols_k(const float *__restrict__ x, float *__restrict__ y,
                                                   long long outer, long long n, long long inner, double scale) {
    __shared__ double sh[32][33];
    const long long j = (long long)blockIdx.x * 32 + threadIdx.x;
    for (long long o = blockIdx.y; o < outer; o += gridDim.y) {
        double acc = 0.0;
        if (j < inner)
            for (long long k = threadIdx.y; k < n; k += 32) acc += x[(o * n + k) * inner + j];
        sh[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && j < inner) {
            double s = 0.0;
            for (int t = 0; t < 32; t++) s += sh[t][threadIdx.x];
            y[o * inner + j] = (float)(s * scale);
        }
        __syncthreads();
    }
}

extern "C" cudaError_t cuda_launch_sum(cudaStream_t st, const float *x, float *y, int64_t outer, int64_t n,
                                       int64_t inner, double scale) {
    if (outer == 0 || inner == 0) return cudaSuccess;
    if (inner == 1) {
        CUDA_KERNEL(cuda_blocks(outer, 1), CUDA_THREADS, 0, st, sum_rows_k)(x, y, outer, n, scale);
    } else {
        long long gx = (inner + 31) / 32, gy = outer < 65535 ? outer : 65535;
        if (gx > 2147483647LL) return cudaErrorInvalidValue;
        CUDA_KERNEL(dim3((unsigned)gx, (unsigned)gy), dim3(32, 32), 0, st, sum_cols_k)(x, y, outer, n, inner, scale);
    }
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- MSE, BCE */

__global__ void mse_part_k(const float *__restrict__ a, const float *__restrict__ b, long long n,
                           double *__restrict__ part) {
    __shared__ double sh[32];
    double acc = 0.0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        double d = (double)a[i] - (double)b[i];
        acc += d * d;
    }
    acc = cuda_block_sum(acc, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = acc;
}

extern "C" cudaError_t cuda_launch_mse(cudaStream_t st, const float *a, const float *b, int64_t n, double *part,
                                       float *out) {
    int nb = cuda_reduce_blocks(n);
    CUDA_KERNEL(nb, CUDA_THREADS, 0, st, mse_part_k)(a, b, n, part);
    CUDA_KERNEL(1, CUDA_THREADS, 0, st, finish_sum_k)(part, nb, 1.0 / (double)n, out);
    return cudaGetLastError();
}

/* mean of max(x,0) - x t + log(1 + exp(-|x|)); dx = (sigmoid(x) - t) / n (as the CPU, in double) */
__global__ void bce_part_k(const float *__restrict__ x, const float *__restrict__ t, float *__restrict__ dx,
                           long long n, double *__restrict__ part) {
    __shared__ double sh[32];
    double acc = 0.0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        double v = x[i], e = exp(-fabs(v)), ti = t[i];
        acc += (v > 0 ? v : 0) - v * ti + log1p(e);
        if (dx) {
            double sig = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            dx[i] = (float)((sig - ti) / (double)n);
        }
    }
    acc = cuda_block_sum(acc, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = acc;
}

extern "C" cudaError_t cuda_launch_bce_logits(cudaStream_t st, const float *x, const float *t, float *dx, int64_t n,
                                              double *part, float *out) {
    int nb = cuda_reduce_blocks(n);
    CUDA_KERNEL(nb, CUDA_THREADS, 0, st, bce_part_k)(x, t, dx, n, part);
    CUDA_KERNEL(1, CUDA_THREADS, 0, st, finish_sum_k)(part, nb, 1.0 / (double)n, out);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- row kernels (one warp per row) */

#define ROWS_PER_BLOCK (CUDA_THREADS / 32)

/* max and log-sum-exp of a row, every lane gets them */
__device__ __forceinline__ double row_lse(const float *xr, long long C, int lane) {
    float m = -INFINITY;
    for (long long c = lane; c < C; c += 32) {
        float v = xr[c];
        m = (v > m || v != v) ? v : m;
    }
    m = cuda_warp_max(m);
    double s = 0.0;
    for (long long c = lane; c < C; c += 32) s += exp((double)xr[c] - (double)m);
    s = cuda_warp_sum(s);
    return (double)m + log(s);
}

__global__ void log_softmax_fwd_k(const float *__restrict__ x, float *__restrict__ y, long long R, long long C) {
    const int lane = threadIdx.x & 31;
    for (long long r = (long long)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5); r < R;
         r += (long long)gridDim.x * ROWS_PER_BLOCK) {
        const float *xr = x + r * C;
        double lse = row_lse(xr, C, lane);
        for (long long c = lane; c < C; c += 32) y[r * C + c] = (float)((double)xr[c] - lse);
    }
}

extern "C" cudaError_t cuda_launch_log_softmax(cudaStream_t st, const float *x, float *y, int64_t R, int64_t C) {
    if (R == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(R, ROWS_PER_BLOCK), CUDA_THREADS, 0, st, log_softmax_fwd_k)(x, y, R, C);
    return cudaGetLastError();
}

__global__ void log_softmax_back_k(const float *__restrict__ gy, const float *__restrict__ y, float *__restrict__ dx,
                                  long long R, long long C) {
    const int lane = threadIdx.x & 31;
    for (long long r = (long long)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5); r < R;
         r += (long long)gridDim.x * ROWS_PER_BLOCK) {
        double s = 0.0;
        for (long long c = lane; c < C; c += 32) s += gy[r * C + c];
        s = cuda_warp_sum(s);
        for (long long c = lane; c < C; c += 32)
            dx[r * C + c] = (float)((double)gy[r * C + c] - exp((double)y[r * C + c]) * s);
    }
}

extern "C" cudaError_t cuda_launch_log_softmax_back(cudaStream_t st, const float *gy, const float *y, float *dx,
                                                    int64_t R, int64_t C) {
    if (R == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(R, ROWS_PER_BLOCK), CUDA_THREADS, 0, st, log_softmax_back_k)(gy, y, dx, R, C);
    return cudaGetLastError();
}

/* row_loss[r] = lse - x[t] (0 for targets outside [0, C)); dl = (softmax - onehot) / R */
__global__ void cross_entropy_k(const float *__restrict__ x, const int32_t *__restrict__ t, float *__restrict__ dl,
                                long long R, long long C, double *__restrict__ row_loss) {
    const int lane = threadIdx.x & 31;
    for (long long r = (long long)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5); r < R;
         r += (long long)gridDim.x * ROWS_PER_BLOCK) {
        const float *xr = x + r * C;
        const int32_t tr = t[r];
        const int valid = tr >= 0 && tr < C;
        double lse = row_lse(xr, C, lane);
        if (lane == 0) row_loss[r] = valid ? lse - (double)xr[tr] : 0.0;
        if (dl)
            for (long long c = lane; c < C; c += 32)
                dl[r * C + c] = valid ? (float)((exp((double)xr[c] - lse) - (c == tr ? 1.0 : 0.0)) / (double)R) : 0.0f;
    }
}

extern "C" cudaError_t cuda_launch_cross_entropy(cudaStream_t st, const float *x, const int32_t *t, float *dl,
                                                 int64_t R, int64_t C, double *row_loss, float *out) {
    CUDA_KERNEL(cuda_blocks(R, ROWS_PER_BLOCK), CUDA_THREADS, 0, st, cross_entropy_k)(x, t, dl, R, C, row_loss);
    CUDA_KERNEL(1, CUDA_THREADS, 0, st, finish_sum_k)(row_loss, R, 1.0 / (double)R, out);
    return cudaGetLastError();
}
