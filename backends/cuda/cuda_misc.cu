/* cuda_misc.cu: the Philox4x32-10 RNG fill (bit-identical to core/src/rng.c and the CPU
 * kernel: same blocks and lanes, rounding steps written out so the compiler cannot fuse
 * them, normals from dc_rng_normal.h, which needs no device log, sin or cos), AdamW as one
 * kernel over the flat parameter buffer with the step count read on the device, the IRFFT
 * input fix-up for cuFFT's C2R, and uploads that a graph records with their bytes.
 */
#include <math.h>
#include <string.h>

#include "cuda_common.cuh"
#include "dc/dc_rng_normal.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ void philox4x32(unsigned long long seed, unsigned long long counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#pragma unroll
    for (int r = 0; r < 10; r++) {
        uint32_t hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        uint32_t hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

__device__ __forceinline__ double u01(uint32_t u) { return (double)(u >> 8) * (1.0 / 16777216.0); }

/* element j: block ctr + j/4, lane j%4 (normal: Box-Muller on lanes (0,1) and (2,3)) */
__global__ void rng_k(void *out, int dtype, long long n, int dist, unsigned long long seed, unsigned long long ctr,
                      double f0, double f1) {
    const long long nblk = (n + 3) / 4;
    for (long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x; b < nblk; b += (long long)gridDim.x * blockDim.x) {
        uint32_t w[4];
        double v[4] = {0, 0, 0, 0};
        philox4x32(seed, ctr + (unsigned long long)b, w);
        if (dist == 0) { /* uniform: f0 + (f1 - f0) u */
            for (int l = 0; l < 4; l++) v[l] = __dadd_rn(f0, __dmul_rn(__dsub_rn(f1, f0), u01(w[l])));
        } else if (dist == 2) { /* bernoulli */
            for (int l = 0; l < 4; l++) v[l] = u01(w[l]) < f0 ? 1.0 : 0.0;
        } else { /* normal */
            for (int l = 0; l < 4; l += 2) dc_rng_box_muller(w[l], w[l + 1], f0, f1, &v[l], &v[l + 1]);
        }
        for (int l = 0; l < 4 && b * 4 + l < n; l++) {
            long long j = b * 4 + l;
            if (dtype == CUDA_DT_F32) ((float *)out)[j] = (float)v[l];
            else if (dtype == CUDA_DT_F64) ((double *)out)[j] = v[l];
            else ((uint8_t *)out)[j] = (uint8_t)v[l];
        }
    }
}

extern "C" cudaError_t cuda_launch_rng(cudaStream_t st, void *out, int dtype, int64_t n, int dist, uint64_t seed,
                                       uint64_t ctr, double f0, double f1) {
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks((n + 3) / 4, CUDA_THREADS), CUDA_THREADS, 0, st, rng_k)(out, dtype, n, dist, seed, ctr, f0, f1);
    return cudaGetLastError();
}

/* p <- p(1 - lr wd); m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
 * p <- p - lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps), t = *tdev + 1. Per element in double. */
__global__ void adamw_k(float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m,
                        float *__restrict__ v, const float *__restrict__ tdev, long long n, double lr, double b1,
                        double b2, double eps, double wd) {
    const double t = (double)tdev[0] + 1.0;
    const double step = lr / (1.0 - pow(b1, t)), sqrt_bc2 = sqrt(1.0 - pow(b2, t));
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        double gi = g[i];
        double pi = (double)p[i] * (1.0 - lr * wd);
        double mi = b1 * (double)m[i] + (1.0 - b1) * gi;
        double vi = b2 * (double)v[i] + (1.0 - b2) * gi * gi;
        m[i] = (float)mi;
        v[i] = (float)vi;
        p[i] = (float)(pi - step * mi / (sqrt(vi) / sqrt_bc2 + eps));
    }
}

extern "C" cudaError_t cuda_launch_adamw(cudaStream_t st, float *p, const float *g, float *m, float *v, const float *t,
                                         int64_t n, double lr, double b1, double b2, double eps, double wd) {
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, adamw_k)(p, g, m, v, t, n, lr, b1, b2, eps, wd);
    return cudaGetLastError();
}

/* cuFFT's C2R may overwrite its input and leaves the imaginary parts of the DC and (even n)
 * Nyquist bins unspecified; the contract ignores them. So: copy, zeroing those two. */
__global__ void irfft_prep_k(const float *__restrict__ src, float *__restrict__ dst, long long rows, long long nb,
                             long long n) {
    const long long total = rows * nb * 2; /* floats: any 4-byte alignment of src works */
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long k = (i >> 1) % nb;
        int im = (int)(i & 1);
        dst[i] = (im && (k == 0 || (n % 2 == 0 && k == n / 2))) ? 0.0f : src[i];
    }
}

extern "C" cudaError_t cuda_launch_irfft_prep(cudaStream_t st, const float *src, float *dst, int64_t rows, int64_t n) {
    int64_t nb = n / 2 + 1;
    if (rows * nb == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(rows * nb * 2, CUDA_THREADS), CUDA_THREADS, 0, st, irfft_prep_k)(src, dst, rows, nb, n);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- uploads inside a graph */

struct cuda_put_chunk {
    unsigned char b[CUDA_PUT_CHUNK];
};

__global__ void put_k(unsigned char *__restrict__ dst, cuda_put_chunk c, int n) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = c.b[i];
}

extern "C" cudaError_t cuda_launch_put(cudaStream_t st, void *dst, const void *src, size_t bytes) {
    cuda_put_chunk c;
    for (size_t off = 0; off < bytes; off += CUDA_PUT_CHUNK) {
        const int n = (int)(bytes - off < CUDA_PUT_CHUNK ? bytes - off : CUDA_PUT_CHUNK);
        memcpy(c.b, (const unsigned char *)src + off, (size_t)n);
        CUDA_KERNEL(1, CUDA_THREADS, 0, st, put_k)((unsigned char *)dst + off, c, n);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}
