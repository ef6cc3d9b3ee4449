/* cuda_runtime.h (CPU emulation): the runtime API (cuda_runtime_api.h) plus, for C++
 * translation units, the subset of the CUDA kernel language the cuda backend's .cu files
 * use, so that they compile unchanged with the host C++ compiler in the emulation build
 * (-DDC_CUDA_EMU=ON; the build force-includes this header as nvcc does). Kernels then
 * run on the CPU, every thread of a block as a fiber (backends/cuda/emu/emu_launch.cpp).
 * Not NVIDIA's header, and not for real GPU builds.
 */
#ifndef DC_EMU_CUDA_RUNTIME_H
#define DC_EMU_CUDA_RUNTIME_H

#include "cuda_runtime_api.h"

#ifdef __cplusplus
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

/* ---------------------------------------------------------------- qualifiers */

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __constant__ static
#define DC_EMU_STR2(x) #x
#define DC_EMU_STR(x) DC_EMU_STR2(x)
/* The bound travels in the function's section name (dc_emu_lb_N, read back by the launch
 * check through the linker's __start_/__stop_ symbols); aligned() makes a bound that is
 * not a power of two fail to compile instead of going unchecked. */
#define __launch_bounds__(n, ...) __attribute__((section("dc_emu_lb_" DC_EMU_STR(n)), aligned(n)))
/* Static __shared__ arrays live in one section that the runtime poisons (0xFF bytes, NaN)
 * before the first thread of each block declares one; blocks run one after another.
 * Dynamic (extern __shared__) memory is not emulated: it does not compile. */
#define __shared__                                                                                                   \
    ::dc_emu::shared_touch();                                                                                        \
    static __attribute__((section("dc_emu_shared"), aligned(16)))

struct uint3 {
    unsigned int x, y, z;
};

namespace dc_emu {

extern uint3 g_thread_idx, g_block_idx;
extern dim3 g_block_dim, g_grid_dim;

void shared_touch();
void syncthreads(const char *file, int line);

enum warp_op { WARP_SHFL_IDX = 0, WARP_SHFL_UP, WARP_SHFL_DOWN, WARP_SHFL_XOR, WARP_BALLOT, WARP_SYNC };
/* One warp-synchronous exchange: every lane in mask deposits an 8-byte value and waits
 * for the others; returns the value of the lane the op selects (ballot: the bit mask). */
unsigned long long warp_exchange(int op, unsigned mask, unsigned long long value, int arg, int width,
                                 const char *file, int line);

template <typename T> inline unsigned long long warp_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of an unsupported type");
    unsigned long long u = 0;
    memcpy(&u, &v, sizeof v);
    return u;
}
template <typename T> inline T warp_value(unsigned long long u) {
    T v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ---------------------------------------------------------------- launches */

struct kernel_info {
    const char *name, *file;
    int line;
    const void *fn;
    int bound;                   /* __launch_bounds__, 0 if none */
    char *shared_lo, *shared_hi; /* the static __shared__ section of the kernel's module */
};

/* Each module (libdynacl, a test program) has its own sections: these hidden weak symbols,
 * made by the linker, resolve to the module that includes this header (0 when empty). */
extern "C" {
extern char __start_dc_emu_shared[] __attribute__((weak, visibility("hidden")));
extern char __stop_dc_emu_shared[] __attribute__((weak, visibility("hidden")));
#define DC_EMU_LB_SECTION(n)                                                                                         \
    extern char __start_dc_emu_lb_##n[] __attribute__((weak, visibility("hidden")));                                 \
    extern char __stop_dc_emu_lb_##n[] __attribute__((weak, visibility("hidden")));
DC_EMU_LB_SECTION(1)
DC_EMU_LB_SECTION(2)
DC_EMU_LB_SECTION(4)
DC_EMU_LB_SECTION(8)
DC_EMU_LB_SECTION(16)
DC_EMU_LB_SECTION(32)
DC_EMU_LB_SECTION(64)
DC_EMU_LB_SECTION(128)
DC_EMU_LB_SECTION(256)
DC_EMU_LB_SECTION(512)
DC_EMU_LB_SECTION(1024)
#undef DC_EMU_LB_SECTION
}

/* __launch_bounds__ of the kernel at fn (0: none), from the section it was placed in */
static inline int launch_bound(const void *fn) {
    const char *p = (const char *)fn;
#define DC_EMU_LB_CHECK(n)                                                                                           \
    if (__start_dc_emu_lb_##n && p >= __start_dc_emu_lb_##n && p < __stop_dc_emu_lb_##n) return n;
    DC_EMU_LB_CHECK(1024)
    DC_EMU_LB_CHECK(512)
    DC_EMU_LB_CHECK(256)
    DC_EMU_LB_CHECK(128)
    DC_EMU_LB_CHECK(64)
    DC_EMU_LB_CHECK(32)
    DC_EMU_LB_CHECK(16)
    DC_EMU_LB_CHECK(8)
    DC_EMU_LB_CHECK(4)
    DC_EMU_LB_CHECK(2)
    DC_EMU_LB_CHECK(1)
#undef DC_EMU_LB_CHECK
    return 0;
}

/* Validates the configuration and the pointer arguments, then runs (or, during stream
 * capture, records) the grid. The result is what cudaGetLastError would report. */
cudaError_t launch(const kernel_info &k, dim3 grid, dim3 block, size_t shmem, cudaStream_t st,
                   std::function<void()> body, const void *const *ptrs, int n_ptrs);

template <typename T> inline void collect_ptr(const void **p, int &n, const T &v) {
    if constexpr (std::is_pointer<T>::value) p[n++] = (const void *)v;
}

template <typename... P> struct launcher {
    void (*fn)(P...);
    kernel_info info;
    dim3 grid, block;
    size_t shmem;
    cudaStream_t stream;
    template <typename... A> void operator()(A &&...a) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
        auto args = std::make_shared<std::tuple<typename std::decay<P>::type...>>(std::forward<A>(a)...);
        const void *ptrs[sizeof...(P) + 1];
        int np = 0;
        std::apply([&](const auto &...v) { (collect_ptr(ptrs, np, v), ...); }, *args);
        void (*f)(P...) = fn;
        (void)launch(info, grid, block, shmem, stream, [f, args]() { std::apply(f, *args); }, ptrs, np);
    }
};

template <typename... P>
inline launcher<P...> make_launcher(const char *name, const char *file, int line, dim3 grid, dim3 block, size_t shmem,
                                    cudaStream_t st, void (*fn)(P...)) {
    return launcher<P...>{fn,
                          kernel_info{name, file, line, (const void *)fn, launch_bound((const void *)fn),
                                      __start_dc_emu_shared, __stop_dc_emu_shared},
                          grid,
                          block,
                          shmem,
                          st};
}

} /* namespace dc_emu */

/* kernel<<<grid, block, shmem, stream>>>(args) is written DC_EMU_LAUNCH(grid, block, shmem, stream, kernel)(args) */
#define DC_EMU_LAUNCH(grid, block, shmem, stream, ...)                                                              \
    ::dc_emu::make_launcher(#__VA_ARGS__, __FILE__, __LINE__, (grid), (block), (shmem), (stream), __VA_ARGS__)

#define threadIdx (static_cast<const uint3 &>(::dc_emu::g_thread_idx))
#define blockIdx (static_cast<const uint3 &>(::dc_emu::g_block_idx))
#define blockDim (static_cast<const dim3 &>(::dc_emu::g_block_dim))
#define gridDim (static_cast<const dim3 &>(::dc_emu::g_grid_dim))
static constexpr int warpSize = 32;

/* ---------------------------------------------------------------- synchronisation */

#define __syncthreads() ::dc_emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::dc_emu::syncwarp_at(__FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_sync(mask, v, lane, ...) ::dc_emu::shfl_at(::dc_emu::WARP_SHFL_IDX, __FILE__, __LINE__, mask, v, lane, ##__VA_ARGS__)
#define __shfl_up_sync(mask, v, d, ...) ::dc_emu::shfl_at(::dc_emu::WARP_SHFL_UP, __FILE__, __LINE__, mask, v, d, ##__VA_ARGS__)
#define __shfl_down_sync(mask, v, d, ...) ::dc_emu::shfl_at(::dc_emu::WARP_SHFL_DOWN, __FILE__, __LINE__, mask, v, d, ##__VA_ARGS__)
#define __shfl_xor_sync(mask, v, m, ...) ::dc_emu::shfl_at(::dc_emu::WARP_SHFL_XOR, __FILE__, __LINE__, mask, v, m, ##__VA_ARGS__)
#define __ballot_sync(mask, pred) ::dc_emu::ballot_at(__FILE__, __LINE__, mask, pred)
#define __any_sync(mask, pred) (::dc_emu::ballot_at(__FILE__, __LINE__, mask, pred) != 0u)
#define __all_sync(mask, pred) (::dc_emu::ballot_at(__FILE__, __LINE__, mask, pred) == (mask))

namespace dc_emu {
template <typename T> inline T shfl_at(int op, const char *file, int line, unsigned mask, T v, int arg, int width = 32) {
    return warp_value<T>(warp_exchange(op, mask, warp_bits(v), arg, width, file, line));
}
inline unsigned ballot_at(const char *file, int line, unsigned mask, int pred) {
    return (unsigned)warp_exchange(WARP_BALLOT, mask, pred ? 1u : 0u, 0, 32, file, line);
}
inline void syncwarp_at(const char *file, int line, unsigned mask = 0xffffffffu) {
    (void)warp_exchange(WARP_SYNC, mask, 0, 0, 32, file, line);
}
} /* namespace dc_emu */

/* Threads of a block never run at the same time: read-modify-write is atomic. */
template <typename T> inline T atomicAdd(T *p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}

/* ---------------------------------------------------------------- intrinsics */

/* The kernels are compiled as nvcc compiles device code, contracting a * b + c into an FMA
 * (backends/cuda/emu/CMakeLists.txt). The _rn intrinsics are the way out, on the GPU and
 * here: each result passes through an empty asm, so it is rounded on its own. */
template <typename T> static inline T dc_emu_rounded(T v) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__("" : "+x"(v));
#elif defined(__aarch64__)
    __asm__("" : "+w"(v));
#else
    volatile T t = v;
    v = t;
#endif
    return v;
}
static inline float __fadd_rn(float a, float b) { return dc_emu_rounded(a + b); }
static inline float __fsub_rn(float a, float b) { return dc_emu_rounded(a - b); }
static inline float __fmul_rn(float a, float b) { return dc_emu_rounded(a * b); }
static inline float __fdiv_rn(float a, float b) { return dc_emu_rounded(a / b); }
static inline double __dadd_rn(double a, double b) { return dc_emu_rounded(a + b); }
static inline double __dsub_rn(double a, double b) { return dc_emu_rounded(a - b); }
static inline double __dmul_rn(double a, double b) { return dc_emu_rounded(a * b); }
static inline double __ddiv_rn(double a, double b) { return dc_emu_rounded(a / b); }
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }

template <typename T> inline T __ldg(const T *p) { return *p; }

/* ---------------------------------------------------------------- device math library */

/* CUDA's math library is not the host's: both stay within a few ulp of the exact value,
 * but they differ in the last bit for some arguments. The emulation models that, so that a
 * claim of host/device bit-identity is tested rather than assumed: in kernel code, the
 * transcendental functions return the host's value moved by one ulp for about half of the
 * arguments (a hash of the argument decides, so every run is the same). Exact cases
 * (exp(0), log(1), sin(0), infinities, NaN) are left alone. IEEE-exact operations (+, -,
 * *, /, sqrt, fma) are not touched. Not applied to the emulation's own runtime sources. */
namespace dc_emu {
template <typename F, typename U> inline F dev_nudge(F x, F r) {
    if (!(r == r) || r == (F)0 || r == (F)1 || r == (F)-1 || x == (F)0 || r - r != (F)0) return r;
    U u;
    memcpy(&u, &x, sizeof u);
    const unsigned long long h = ((unsigned long long)u * 0x9E3779B97F4A7C15ull) >> 62;
    if (h >= 2) return r;
    return nextafter(r, h ? (F)-INFINITY : (F)INFINITY);
}
#define DC_EMU_DEV1(name, F, U)                                                                                      \
    inline F dev_##name(F x) { return dev_nudge<F, U>(x, ::name(x)); }
#define DC_EMU_DEV2(name, F, U)                                                                                      \
    inline F dev_##name(F x, F y) { return dev_nudge<F, U>(x, ::name(x, y)); }
DC_EMU_DEV1(exp, double, unsigned long long)
DC_EMU_DEV1(expm1, double, unsigned long long)
DC_EMU_DEV1(log, double, unsigned long long)
DC_EMU_DEV1(log1p, double, unsigned long long)
DC_EMU_DEV1(sin, double, unsigned long long)
DC_EMU_DEV1(cos, double, unsigned long long)
DC_EMU_DEV1(tanh, double, unsigned long long)
DC_EMU_DEV2(pow, double, unsigned long long)
DC_EMU_DEV2(atan2, double, unsigned long long)
DC_EMU_DEV1(expf, float, unsigned int)
DC_EMU_DEV1(logf, float, unsigned int)
DC_EMU_DEV1(log1pf, float, unsigned int)
DC_EMU_DEV1(sinf, float, unsigned int)
DC_EMU_DEV1(cosf, float, unsigned int)
DC_EMU_DEV1(tanhf, float, unsigned int)
DC_EMU_DEV2(powf, float, unsigned int)
DC_EMU_DEV2(atan2f, float, unsigned int)
#undef DC_EMU_DEV1
#undef DC_EMU_DEV2
} /* namespace dc_emu */
#ifndef DC_EMU_RUNTIME_SOURCE
#define exp(x) ::dc_emu::dev_exp(x)
#define expm1(x) ::dc_emu::dev_expm1(x)
#define log(x) ::dc_emu::dev_log(x)
#define log1p(x) ::dc_emu::dev_log1p(x)
#define sin(x) ::dc_emu::dev_sin(x)
#define cos(x) ::dc_emu::dev_cos(x)
#define tanh(x) ::dc_emu::dev_tanh(x)
#define pow(x, y) ::dc_emu::dev_pow(x, y)
#define atan2(x, y) ::dc_emu::dev_atan2(x, y)
#define expf(x) ::dc_emu::dev_expf(x)
#define logf(x) ::dc_emu::dev_logf(x)
#define log1pf(x) ::dc_emu::dev_log1pf(x)
#define sinf(x) ::dc_emu::dev_sinf(x)
#define cosf(x) ::dc_emu::dev_cosf(x)
#define tanhf(x) ::dc_emu::dev_tanhf(x)
#define powf(x, y) ::dc_emu::dev_powf(x, y)
#define atan2f(x, y) ::dc_emu::dev_atan2f(x, y)
#endif

/* cudaFuncGetAttributes(&attr, kernel) */
template <typename T> inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, T *entry) {
    return dc_emu_func_get_attributes(attr, (const void *)entry, ::dc_emu::launch_bound((const void *)entry),
                                      (size_t)(::dc_emu::__stop_dc_emu_shared - ::dc_emu::__start_dc_emu_shared));
}

#endif /* __cplusplus */
#endif
