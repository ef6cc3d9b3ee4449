/* cuda_pool.cu: max-pool over time on (B, T, C) and gather along time, forward and
 * backward. The backward kernels are written as gathers (one thread per input-gradient
 * element summing the outputs that picked it, in increasing output order), so they need
 * no atomics, write every element, and add in the CPU's order (bit-identical sums).
 */
#include "cuda_common.cuh"

/* first maximum wins; NaN propagates (as backends/cpu/cpu_pool.c) */
__global__ void maxpool_fwd_k(const float *__restrict__ x, float *__restrict__ y, int32_t *__restrict__ arg,
                              long long B, long long T, long long C, long long k, long long s, long long To) {
    const long long n = B * To * C;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long c = i % C, o = (i / C) % To, b = i / (C * To);
        long long best = o * s;
        float m = x[(b * T + best) * C + c];
        for (long long t = o * s + 1; t < o * s + k; t++) {
            float v = x[(b * T + t) * C + c];
            if (v > m || (v != v && m == m)) {
                m = v;
                best = t;
            }
        }
        y[i] = m;
        arg[i] = (int32_t)best;
    }
}

extern "C" cudaError_t cuda_launch_maxpool_fwd(cudaStream_t st, const float *x, float *y, int32_t *arg, int64_t B,
                                               int64_t T, int64_t C, int64_t kernel, int64_t stride, int64_t To) {
    int64_t n = B * To * C;
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, maxpool_fwd_k)(x, y, arg, B, T, C, kernel, stride, To);
    return cudaGetLastError();
}

/* dx[b, t, c] = sum of gy[b, o, c] over the windows o that contain t and chose t */
__global__ void maxpool_back_k(const float *__restrict__ gy, const int32_t *__restrict__ arg, float *__restrict__ dx,
                              long long B, long long To, long long C, long long T, long long k, long long s) {
    const long long n = B * T * C;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long c = i % C, t = (i / C) % T, b = i / (C * T);
        long long lo = 0, hi = To - 1;
        if (k > 0 && s > 0) { /* windows [o s, o s + k) that contain t */
            long long first = t - k + 1;
            lo = first > 0 ? (first + s - 1) / s : 0;
            hi = t / s < hi ? t / s : hi;
        }
        float acc = 0.0f;
        for (long long o = lo; o <= hi; o++) {
            long long j = (b * To + o) * C + c;
            if (arg[j] == t) acc += gy[j];
        }
        dx[i] = acc;
    }
}

extern "C" cudaError_t cuda_launch_maxpool_back(cudaStream_t st, const float *gy, const int32_t *arg, float *dx,
                                               int64_t B, int64_t To, int64_t C, int64_t T, int64_t kernel,
                                               int64_t stride) {
    int64_t n = B * T * C;
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, maxpool_back_k)(gy, arg, dx, B, To, C, T, kernel, stride);
    return cudaGetLastError();
}

/* y[b, j, c] = x[b, idx[b*ib + j], c], 0 when the index is outside [0, T) */
__global__ void gather_fwd_k(const float *__restrict__ x, const int32_t *__restrict__ idx, float *__restrict__ y,
                             long long B, long long T, long long C, long long To, long long ib) {
    const long long n = B * To * C;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long c = i % C, j = (i / C) % To, b = i / (C * To);
        int32_t t = idx[b * ib + j];
        y[i] = (t >= 0 && t < T) ? x[(b * T + t) * C + c] : 0.0f;
    }
}

extern "C" cudaError_t cuda_launch_gather_fwd(cudaStream_t st, const float *x, const int32_t *idx, float *y,
                                              int64_t B, int64_t T, int64_t C, int64_t To, int64_t idx_bstride) {
    int64_t n = B * To * C;
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, gather_fwd_k)(x, idx, y, B, T, C, To, idx_bstride);
    return cudaGetLastError();
}

/* dx[b, t, c] = sum over j with idx[b*ib + j] == t of gy[b, j, c]; O(B T C To) index reads,
 * which neighbouring threads (same b, t) share through the cache. */
__global__ void gather_back_k(const float *__restrict__ gy, const int32_t *__restrict__ idx, float *__restrict__ dx,
                             long long B, long long T, long long C, long long To, long long ib) {
    const long long n = B * T * C;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long c = i % C, t = (i / C) % T, b = i / (C * T);
        const int32_t *ir = idx + b * ib;
        float acc = 0.0f;
        for (long long j = 0; j < To; j++)
            if (ir[j] == t) acc += gy[(b * To + j) * C + c];
        dx[i] = acc;
    }
}

extern "C" cudaError_t cuda_launch_gather_back(cudaStream_t st, const float *gy, const int32_t *idx, float *dx,
                                              int64_t B, int64_t T, int64_t C, int64_t To, int64_t idx_bstride) {
    int64_t n = B * T * C;
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, gather_back_k)(gy, idx, dx, B, T, C, To, idx_bstride);
    return cudaGetLastError();
}
