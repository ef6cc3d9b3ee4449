/* cuda_norm.cu: batch normalisation with the fused ReLU (forward and backward, one kernel
 * each) and row-wise L2 normalisation. Math as backends/cpu/cpu_norm.c: per-channel
 * statistics in double (two-pass mean and biased variance), running statistics updated in
 * place with the unbiased variance, backward sums in double.
 */

/* BatchNorm layout: x is (R, C) row-major. A block of 32 x 32 threads owns 32 channels:
 * threadIdx.x walks the channels (coalesced 128-byte rows), threadIdx.y splits the rows;
 * the 32 partial sums per channel are combined in a fixed order (deterministic). */
#include <math.h>

#include "cuda_common.cuh"

#define BN_TY 32

/* Sum of v over threadIdx.y for each threadIdx.x; result in out[threadIdx.x]. */
__device__ __forceinline__ void bn_col_sum(double v, double (*sh)[33], double *out) {
    sh[threadIdx.y][threadIdx.x] = v;
    __syncthreads();
    if (threadIdx.y == 0) {
        double s = 0.0;
        for (int k = 0; k < BN_TY; k++) s += sh[k][threadIdx.x];
        out[threadIdx.x] = s;
    }
    __syncthreads();
}

__global__ void __launch_bounds__(1024) batchnorm_fwd_k(const float *__restrict__ x, const float *__restrict__ gamma,
                                                        const float *__restrict__ beta, float *run_mean,
                                                        float *run_var, float *__restrict__ y, float *__restrict__ mean,
                                                        float *__restrict__ istd, long long R, long long C,
                                                        int training, int relu, double mom, double eps) {
    __shared__ double sh[BN_TY][33];
    __shared__ double s_mu[32], s_var[32];
    __shared__ float s_scale[32], s_shift[32];
    const long long c = (long long)blockIdx.x * 32 + threadIdx.x;
    const int ok = c < C;
    if (training) {
        double s = 0.0;
        if (ok)
            for (long long r = threadIdx.y; r < R; r += BN_TY) s += x[r * C + c];
        bn_col_sum(s, sh, s_mu);
        const double mu = s_mu[threadIdx.x] / (double)R;
        double s2 = 0.0;
        if (ok)
            for (long long r = threadIdx.y; r < R; r += BN_TY) {
                double d = (double)x[r * C + c] - mu;
                s2 += d * d;
            }
        bn_col_sum(s2, sh, s_var);
        if (threadIdx.y == 0 && ok) {
            double var = s_var[threadIdx.x] / (double)R;
            mean[c] = (float)mu;
            istd[c] = (float)(1.0 / sqrt(var + eps));
            run_mean[c] = (float)((1.0 - mom) * (double)run_mean[c] + mom * mu);
            run_var[c] = (float)((1.0 - mom) * (double)run_var[c] + mom * var * (double)R / (double)(R - 1));
        }
    } else if (threadIdx.y == 0 && ok) {
        mean[c] = run_mean[c];
        istd[c] = (float)(1.0 / sqrt((double)run_var[c] + eps));
    }
    __syncthreads();
    if (threadIdx.y == 0 && ok) { /* y = x * scale + shift, in f32 as the CPU */
        float sc = __fmul_rn(gamma[c], istd[c]);
        s_scale[threadIdx.x] = sc;
        s_shift[threadIdx.x] = __fsub_rn(beta[c], __fmul_rn(mean[c], sc));
    }
    __syncthreads();
    if (!ok) return;
    const float sc = s_scale[threadIdx.x], sf = s_shift[threadIdx.x];
    for (long long r = threadIdx.y; r < R; r += BN_TY) {
        float v = __fadd_rn(__fmul_rn(x[r * C + c], sc), sf);
        y[r * C + c] = (relu && v < 0.0f) ? 0.0f : v;
    }
}

extern "C" cudaError_t cuda_launch_batchnorm_fwd(cudaStream_t st, const float *x, const float *gamma,
                                                 const float *beta, float *run_mean, float *run_var, float *y,
                                                 float *mean, float *istd, int64_t R, int64_t C, int training,
                                                 int relu, double momentum, double eps) {
    if (C == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(C, 32), dim3(32, BN_TY), 0, st, batchnorm_fwd_k)(x, gamma, beta, run_mean, run_var, y, mean, istd,
                                                                     R, C, training, relu, momentum, eps);
    return cudaGetLastError();
}

/* g = gy masked by y > 0 (fused ReLU); dbeta = sum g, dgamma = sum g xh,
 * dx = gamma istd (g - dbeta/R - xh dgamma/R)  (eval: gamma istd g) */
__global__ void __launch_bounds__(1024) batchnorm_back_k(const float *__restrict__ gy, const float *__restrict__ x,
                                                        const float *__restrict__ y, const float *__restrict__ gamma,
                                                        const float *__restrict__ mean, const float *__restrict__ istd,
                                                        float *__restrict__ dx, float *__restrict__ dgamma,
                                                        float *__restrict__ dbeta, long long R, long long C,
                                                        int training, int relu) {
    __shared__ double sh[BN_TY][33];
    __shared__ double s_g[32], s_gx[32];
    const long long c = (long long)blockIdx.x * 32 + threadIdx.x;
    const int ok = c < C;
    const double mu = ok ? (double)mean[c] : 0.0, is = ok ? (double)istd[c] : 0.0;
    double sg = 0.0, sgx = 0.0;
    if (ok)
        for (long long r = threadIdx.y; r < R; r += BN_TY) {
            long long k = r * C + c;
            double g = (relu && !(y[k] > 0.0f)) ? 0.0 : (double)gy[k];
            sg += g;
            sgx += g * ((double)x[k] - mu) * is;
        }
    bn_col_sum(sg, sh, s_g);
    bn_col_sum(sgx, sh, s_gx);
    if (!ok) return;
    const double tg = s_g[threadIdx.x], tgx = s_gx[threadIdx.x];
    if (threadIdx.y == 0) {
        dbeta[c] = (float)tg;
        dgamma[c] = (float)tgx;
    }
    const double k1 = (double)gamma[c] * is, inv_r = 1.0 / (double)R;
    for (long long r = threadIdx.y; r < R; r += BN_TY) {
        long long k = r * C + c;
        double g = (relu && !(y[k] > 0.0f)) ? 0.0 : (double)gy[k];
        if (training) {
            double xh = ((double)x[k] - mu) * is;
            dx[k] = (float)(k1 * (g - tg * inv_r - xh * tgx * inv_r));
        } else {
            dx[k] = (float)(k1 * g);
        }
    }
}

extern "C" cudaError_t cuda_launch_batchnorm_back(cudaStream_t st, const float *gy, const float *x, const float *y,
                                                 const float *gamma, const float *mean, const float *istd, float *dx,
                                                 float *dgamma, float *dbeta, int64_t R, int64_t C, int training,
                                                 int relu) {
    if (C == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(C, 32), dim3(32, BN_TY), 0, st, batchnorm_back_k)(gy, x, y, gamma, mean, istd, dx, dgamma, dbeta,
                                                                     R, C, training, relu);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- L2 norm (one warp per row) */

#define L2_ROWS (CUDA_THREADS / 32)

__global__ void l2norm_fwd_k(const float *__restrict__ x, float *__restrict__ y, float *__restrict__ nrm, long long R,
                             long long F, double eps) {
    const int lane = threadIdx.x & 31;
    for (long long r = (long long)blockIdx.x * L2_ROWS + (threadIdx.x >> 5); r < R; r += (long long)gridDim.x * L2_ROWS) {
        const float *xr = x + r * F;
        double s = 0.0;
        for (long long f = lane; f < F; f += 32) s += (double)xr[f] * (double)xr[f];
        s = cuda_warp_sum(s);
        double n = sqrt(s), d = n > eps ? n : eps;
        if (lane == 0) nrm[r] = (float)n;
        for (long long f = lane; f < F; f += 32) y[r * F + f] = (float)((double)xr[f] / d);
    }
}

extern "C" cudaError_t cuda_launch_l2norm_fwd(cudaStream_t st, const float *x, float *y, float *nrm, int64_t R,
                                              int64_t F, double eps) {
    if (R == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(R, L2_ROWS), CUDA_THREADS, 0, st, l2norm_fwd_k)(x, y, nrm, R, F, eps);
    return cudaGetLastError();
}

/* dx = (gy - y (y . gy)) / ||x|| when ||x|| > eps, else gy / eps */
__global__ void l2norm_back_k(const float *__restrict__ gy, const float *__restrict__ y, const float *__restrict__ nrm,
                             float *__restrict__ dx, long long R, long long F, double eps) {
    const int lane = threadIdx.x & 31;
    for (long long r = (long long)blockIdx.x * L2_ROWS + (threadIdx.x >> 5); r < R; r += (long long)gridDim.x * L2_ROWS) {
        const float *g = gy + r * F, *yr = y + r * F;
        const double n = nrm[r];
        if (n > eps) {
            double dot = 0.0;
            for (long long f = lane; f < F; f += 32) dot += (double)yr[f] * (double)g[f];
            dot = cuda_warp_sum(dot);
            for (long long f = lane; f < F; f += 32) dx[r * F + f] = (float)(((double)g[f] - (double)yr[f] * dot) / n);
        } else {
            for (long long f = lane; f < F; f += 32) dx[r * F + f] = (float)((double)g[f] / eps);
        }
    }
}

extern "C" cudaError_t cuda_launch_l2norm_back(cudaStream_t st, const float *gy, const float *y, const float *nrm,
                                              float *dx, int64_t R, int64_t F, double eps) {
    if (R == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(R, L2_ROWS), CUDA_THREADS, 0, st, l2norm_back_k)(gy, y, nrm, dx, R, F, eps);
    return cudaGetLastError();
}
