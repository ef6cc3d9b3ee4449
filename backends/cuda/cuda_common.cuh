/* cuda_common.cuh: device helpers shared by the kernel files: launch geometry, 4-d view
 * indexing (32-bit when every extent fits, else 64-bit) and deterministic reductions
 * (fixed shuffle/tree order, so a result never depends on scheduling). Only .cu files
 * include it; the host side sees cuda_kernels.h.
 */
#ifndef DC_CUDA_COMMON_CUH
#define DC_CUDA_COMMON_CUH

#include <stdint.h>

#include "cuda_kernels.h"

/* Kernel launch: CUDA_KERNEL(grid, block, shmem, stream, kernel)(args...) is
 * kernel<<<grid, block, shmem, stream>>>(args...) under nvcc; the CPU emulation build
 * (backends/cuda/emu, -DDC_CUDA_EMU=ON) compiles the same sources with the host C++
 * compiler and runs the launch on its fiber scheduler. The kernel comes last so that
 * template arguments may contain commas. */
#ifdef DC_CUDA_EMULATION
#define CUDA_KERNEL(grid, block, shmem, stream, ...) DC_EMU_LAUNCH(grid, block, shmem, stream, __VA_ARGS__)
#else
#define CUDA_KERNEL(grid, block, shmem, stream, ...) __VA_ARGS__<<<grid, block, shmem, stream>>>
#endif

#define CUDA_THREADS 256
#define CUDA_MAX_BLOCKS (1 << 20) /* grid-stride loops cover anything larger */

static inline unsigned cuda_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    if (b > CUDA_MAX_BLOCKS) b = CUDA_MAX_BLOCKS;
    return b < 1 ? 1u : (unsigned)b;
}

/* Largest element offset + 1 a view can address (0 for an empty view). */
static inline int64_t cuda_view_extent(const cuda_view4 &v) {
    int64_t e = 1;
    for (int i = 0; i < 4; i++) {
        if (v.n[i] == 0) return 0;
        e += (v.n[i] - 1) * (v.s[i] < 0 ? -v.s[i] : v.s[i]);
    }
    return e;
}

static inline int64_t cuda_view_numel(const cuda_view4 &v) { return v.n[0] * v.n[1] * v.n[2] * v.n[3]; }

static inline int cuda_view_contig(const cuda_view4 &v) {
    int64_t s = 1;
    for (int i = 3; i >= 0; i--) {
        if (v.n[i] != 1 && v.s[i] != s) return 0;
        s *= v.n[i];
    }
    return 1;
}

/* Shape and strides in the index type I (int or long long). */
template <typename I> struct view4i {
    I n[4], s[4];
};

template <typename I> static inline view4i<I> cuda_view_cast(const cuda_view4 &v) {
    view4i<I> r;
    for (int i = 0; i < 4; i++) {
        r.n[i] = (I)v.n[i];
        r.s[i] = (I)v.s[i];
    }
    return r;
}

/* Offset in view v of the element with row-major linear index i over the shape `sh`. */
template <typename I> __device__ __forceinline__ I cuda_offset(I i, const view4i<I> &sh, const view4i<I> &v) {
    I i3 = i % sh.n[3];
    i /= sh.n[3];
    I i2 = i % sh.n[2];
    i /= sh.n[2];
    I i1 = i % sh.n[1];
    I i0 = i / sh.n[1];
    return i0 * v.s[0] + i1 * v.s[1] + i2 * v.s[2] + i3 * v.s[3];
}

__device__ __forceinline__ double cuda_warp_sum(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ float cuda_warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) {
        float o = __shfl_xor_sync(0xffffffffu, v, off);
        v = (o > v || o != o) ? o : v; /* NaN wins, as in a plain max loop over NaN input */
    }
    return v;
}

/* Sum of v over the block (blockDim.x a multiple of 32, <= 1024); every thread gets it.
 * sh: at least 32 doubles of shared memory. */
__device__ __forceinline__ double cuda_block_sum(double v, double *sh) {
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = cuda_warp_sum(v);
    __syncthreads(); /* sh may still be read by a previous call */
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    double r = lane < nw ? sh[lane] : 0.0;
    return cuda_warp_sum(r);
}

#endif
