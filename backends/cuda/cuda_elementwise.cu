/* cuda_elementwise.cu: strided COPY, FILL, broadcasting binary ops, SCALE, MASKED_FILL,
 * unary activations and their backward from the forward output (ACT_BACK).
 * Inputs of binary ops are strided views of the output's shape; outputs are contiguous
 * except COPY's. Arithmetic mirrors backends/cpu/cpu_elementwise.c in f32.
 */
#include <math.h>

#include "cuda_common.cuh"

/* Views whose every offset and the element count fit comfortably in 32 bits. */
static inline int fits32(int64_t n, const cuda_view4 *a, const cuda_view4 *b) {
    const int64_t lim = (int64_t)1 << 30;
    return n < lim && (!a || cuda_view_extent(*a) < lim) && (!b || cuda_view_extent(*b) < lim);
}

#define GRID_LOOP(I, i, n) for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (I)gridDim.x * blockDim.x)

__global__ void probe_k(void) {}

extern "C" cudaError_t cuda_launch_probe(void) {
    cudaFuncAttributes attr;
    return cudaFuncGetAttributes(&attr, probe_k);
}

extern "C" int cuda_reduce_blocks(int64_t n) {
    int64_t b = (n + 2047) / 2048;
    return b < 1 ? 1 : (b > 1024 ? 1024 : (int)b);
}

/* ---------------------------------------------------------------- copy, fill */

template <typename E, typename I>
__global__ void copy_fwd_k(const E *__restrict__ src, view4i<I> vs, E *__restrict__ dst, view4i<I> vd, I n) {
    GRID_LOOP(I, i, n) dst[cuda_offset(i, vd, vd)] = src[cuda_offset(i, vd, vs)];
}

template <typename E>
static cudaError_t copy_typed(cudaStream_t st, const void *src, const cuda_view4 &vs, void *dst, const cuda_view4 &vd,
                              int64_t n) {
    unsigned g = cuda_blocks(n, CUDA_THREADS);
    if (fits32(n, &vs, &vd))
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, copy_fwd_k<E, int>)((const E *)src, cuda_view_cast<int>(vs), (E *)dst,
                                                       cuda_view_cast<int>(vd), (int)n);
    else
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, copy_fwd_k<E, long long>)((const E *)src, cuda_view_cast<long long>(vs), (E *)dst,
                                                             cuda_view_cast<long long>(vd), (long long)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cuda_launch_copy(cudaStream_t st, const void *src, cuda_view4 vs, void *dst, cuda_view4 vd,
                                        int elem_size) {
    int64_t n = cuda_view_numel(vd);
    if (n == 0) return cudaSuccess;
    if (cuda_view_contig(vs) && cuda_view_contig(vd)) {
        if (src == dst) return cudaSuccess;
        return cudaMemcpyAsync(dst, src, (size_t)n * (size_t)elem_size, cudaMemcpyDeviceToDevice, st);
    }
    switch (elem_size) {
    case 1: return copy_typed<uint8_t>(st, src, vs, dst, vd, n);
    case 2: return copy_typed<uint16_t>(st, src, vs, dst, vd, n);
    case 4: return copy_typed<uint32_t>(st, src, vs, dst, vd, n);
    default: return copy_typed<unsigned long long>(st, src, vs, dst, vd, n);
    }
}

template <typename T> __global__ void fill_k(T *__restrict__ p, long long n, T v) {
    GRID_LOOP(long long, i, n) p[i] = v;
}

extern "C" cudaError_t cuda_launch_fill(cudaStream_t st, void *p, int dtype, int64_t n, double value) {
    if (n == 0) return cudaSuccess;
    unsigned g = cuda_blocks(n, CUDA_THREADS);
    switch (dtype) {
    case CUDA_DT_U8: return cudaMemsetAsync(p, (int)(uint8_t)value, (size_t)n, st);
    case CUDA_DT_I32: CUDA_KERNEL(g, CUDA_THREADS, 0, st, fill_k<int32_t>)((int32_t *)p, n, (int32_t)value); break;
    case CUDA_DT_F64: CUDA_KERNEL(g, CUDA_THREADS, 0, st, fill_k<double>)((double *)p, n, value); break;
    default:
        if (value == 0.0 && !signbit(value)) return cudaMemsetAsync(p, 0, (size_t)n * 4, st);
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, fill_k<float>)((float *)p, n, (float)value);
        break;
    }
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- binary */

__device__ __forceinline__ float bin_apply(int op, float a, float b) {
    switch (op) {
    case CUDA_BIN_ADD: return a + b;
    case CUDA_BIN_SUB: return a - b;
    case CUDA_BIN_MUL: return a * b;
    case CUDA_BIN_DIV: return a / b;
    default: return atan2f(a, b);
    }
}

__global__ void binary_contig_k(int op, const float *a, const float *b, float *y, long long n) {
    GRID_LOOP(long long, i, n) y[i] = bin_apply(op, a[i], b[i]);
}

template <typename I>
__global__ void binary_view_k(int op, const float *a, view4i<I> va, const float *b, view4i<I> vb, float *y,
                              view4i<I> vy, I n) {
    GRID_LOOP(I, i, n) y[i] = bin_apply(op, a[cuda_offset(i, vy, va)], b[cuda_offset(i, vy, vb)]);
}

/* a and out may alias (in-place ADD into a gradient): every element reads before writing. */
extern "C" cudaError_t cuda_launch_binary(cudaStream_t st, int op, const float *a, cuda_view4 va, const float *b,
                                          cuda_view4 vb, float *y, cuda_view4 vy) {
    int64_t n = cuda_view_numel(vy);
    if (n == 0) return cudaSuccess;
    unsigned g = cuda_blocks(n, CUDA_THREADS);
    if (cuda_view_contig(va) && cuda_view_contig(vb))
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, binary_contig_k)(op, a, b, y, n);
    else if (fits32(n, &va, &vb))
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, binary_view_k<int>)(op, a, cuda_view_cast<int>(va), b, cuda_view_cast<int>(vb), y,
                                                       cuda_view_cast<int>(vy), (int)n);
    else
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, binary_view_k<long long>)(op, a, cuda_view_cast<long long>(va), b,
                                                             cuda_view_cast<long long>(vb), y,
                                                             cuda_view_cast<long long>(vy), (long long)n);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- scale, masked fill */

__global__ void scale_k(const float *x, float *y, long long n, float alpha, float beta) {
    GRID_LOOP(long long, i, n) y[i] = __fadd_rn(__fmul_rn(alpha, x[i]), beta); /* as the CPU: no FMA */
}

extern "C" cudaError_t cuda_launch_scale(cudaStream_t st, const float *x, float *y, int64_t n, float alpha, float beta) {
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, scale_k)(x, y, n, alpha, beta);
    return cudaGetLastError();
}

template <typename I>
__global__ void masked_fill_k(const float *__restrict__ x, const uint8_t *__restrict__ m, view4i<I> vm,
                              float *__restrict__ y, view4i<I> vy, I n, float v) {
    GRID_LOOP(I, i, n) y[i] = m[cuda_offset(i, vy, vm)] ? v : x[i];
}

extern "C" cudaError_t cuda_launch_masked_fill(cudaStream_t st, const float *x, const uint8_t *m, cuda_view4 vm,
                                               float *y, cuda_view4 vy, float value) {
    int64_t n = cuda_view_numel(vy);
    if (n == 0) return cudaSuccess;
    unsigned g = cuda_blocks(n, CUDA_THREADS);
    if (fits32(n, &vm, NULL))
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, masked_fill_k<int>)(x, m, cuda_view_cast<int>(vm), y, cuda_view_cast<int>(vy),
                                                       (int)n, value);
    else
        CUDA_KERNEL(g, CUDA_THREADS, 0, st, masked_fill_k<long long>)(x, m, cuda_view_cast<long long>(vm), y,
                                                             cuda_view_cast<long long>(vy), (long long)n, value);
    return cudaGetLastError();
}

/* ---------------------------------------------------------------- unary, act_back */

__global__ void unary_k(int op, const float *x, float *y, long long n) {
    GRID_LOOP(long long, i, n) {
        float v = x[i], r;
        switch (op) {
        case CUDA_UN_RELU: r = v > 0.0f ? v : 0.0f; break;
        case CUDA_UN_SIGMOID: /* split by sign so exp never overflows */
            r = v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
            break;
        case CUDA_UN_TANH: r = tanhf(v); break;
        case CUDA_UN_EXP: r = expf(v); break;
        case CUDA_UN_SQRT: r = sqrtf(v); break;
        default: r = logf(v); break;
        }
        y[i] = r;
    }
}

extern "C" cudaError_t cuda_launch_unary(cudaStream_t st, int op, const float *x, float *y, int64_t n) {
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, unary_k)(op, x, y, n);
    return cudaGetLastError();
}

__global__ void act_back_k(int op, const float *gy, const float *y, float *gx, long long n) {
    GRID_LOOP(long long, i, n) {
        float g = gy[i], v = y[i], r;
        switch (op) {
        case CUDA_UN_RELU: r = v > 0.0f ? g : 0.0f; break;
        case CUDA_UN_SIGMOID: r = g * v * (1.0f - v); break;
        case CUDA_UN_TANH: r = g * (1.0f - v * v); break;
        case CUDA_UN_SQRT: r = g / (2.0f * v); break;
        default: r = g * v; break; /* exp */
        }
        gx[i] = r;
    }
}

extern "C" cudaError_t cuda_launch_act_back(cudaStream_t st, int op, const float *gy, const float *y, float *gx,
                                            int64_t n) {
    if (n == 0) return cudaSuccess;
    CUDA_KERNEL(cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, st, act_back_k)(op, gy, y, gx, n);
    return cudaGetLastError();
}
