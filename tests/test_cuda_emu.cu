/* test_cuda_emu.cu: the CUDA emulation's own checks (backends/cuda/emu), built only with
 * -DDC_CUDA_EMU=ON. Each check that the emulation promises gets a planted bad kernel and
 * must fire: divergent barriers, shuffles with exited lanes, deadlocks, grid and block
 * limits, __launch_bounds__, data races (racecheck), reads of unwritten device and shared
 * memory (poison), host pointers as kernel arguments, capture rules and graph replay, and
 * out-of-bounds writes (AddressSanitizer builds). Also cuBLAS and cuFFT against naive
 * references. Compiled as CUDA C++ against the emulated headers; not a real-GPU test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cufft.h>

#include "cuda_kernels.h" /* the backend's launchers */
#include "dc/dc.h"
extern "C" {
#include "dc_test.h"
}

#ifdef DC_CUDA_EMULATION
#define LAUNCH(g, b, k) DC_EMU_LAUNCH(g, b, 0, 0, k)
#endif

/* a fresh device state (faults are sticky, as on the GPU) and a device buffer */
static float *dev_floats(int n) {
    cudaDeviceReset();
    dc_emu_set_racecheck(0);
    dc_emu_set_schedule("forward");
    void *p = NULL;
    ck_assert_int_eq(cudaMalloc(&p, (size_t)n * 4), cudaSuccess);
    return (float *)p;
}

static void expect_fault(const char *what) {
    cudaError_t e = cudaGetLastError();
    ck_assert_msg(e == cudaErrorLaunchFailure, "%s: launch returned %s", what, cudaGetErrorName(e));
    ck_assert_msg(strstr(dc_emu_last_fault(), what), "fault '%s' does not mention '%s'", dc_emu_last_fault(), what);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchFailure); /* sticky until reset */
    printf("test_cuda_emu: caught: %s\n", dc_emu_last_fault());
}

/* ---------------------------------------------------------------- barriers and warps */

__global__ void early_return_k(float *y) {
    if (threadIdx.x < 16) return; /* the bug: these threads skip the barrier */
    __syncthreads();
    y[threadIdx.x] = 1.0f;
}

START_TEST(divergent_barrier_exit) {
    float *y = dev_floats(64);
    LAUNCH(1, 64, early_return_k)(y);
    expect_fault("divergent __syncthreads");
}
END_TEST

__global__ void two_barriers_k(float *y) {
    if (threadIdx.x & 1) __syncthreads();
    else __syncthreads();
    y[threadIdx.x] = 1.0f;
}

START_TEST(divergent_barrier_sites) {
    float *y = dev_floats(64);
    LAUNCH(1, 64, two_barriers_k)(y);
    expect_fault("divergent __syncthreads");
}
END_TEST

__global__ void shfl_after_exit_k(float *y) {
    if (threadIdx.x >= 8) return;
    float v = __shfl_xor_sync(0xffffffffu, (float)threadIdx.x, 1); /* lanes 8..31 are gone */
    y[threadIdx.x] = v;
}

START_TEST(shuffle_exited_lanes) {
    float *y = dev_floats(32);
    LAUNCH(1, 32, shfl_after_exit_k)(y);
    expect_fault("exit");
}
END_TEST

/* half a warp waits in a shuffle for the other half, which waits at a barrier for the first */
__global__ void shfl_vs_barrier_k(float *y) {
    float v = (float)threadIdx.x;
    if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    else __syncthreads();
    y[threadIdx.x] = v;
}

START_TEST(deadlock) {
    float *y = dev_floats(32);
    LAUNCH(1, 32, shfl_vs_barrier_k)(y);
    expect_fault("deadlock");
}
END_TEST

/* correct warp code: every lane gets the sum of its warp's lane numbers (0 + ... + 31),
 * its lower neighbour's value (shfl_up, lane 0 keeps its own) and a ballot */
__global__ void warp_sum_k(float *y) {
    const int lane = threadIdx.x & 31;
    float v = (float)lane;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    float up = __shfl_up_sync(0xffffffffu, (float)lane, 1);
    unsigned b = __ballot_sync(0xffffffffu, lane % 3 == 0);
    y[threadIdx.x] = v + 1000.0f * up + (b == 0x49249249u ? 0.5f : 0.0f);
}

START_TEST(warp_intrinsics) {
    float *y = dev_floats(64), h[64];
    LAUNCH(1, 64, warp_sum_k)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < 64; i++) {
        const int lane = i & 31;
        ck_assert_msg(h[i] == 496.0f + 1000.0f * (float)(lane ? lane - 1 : 0) + 0.5f, "thread %d: %g", i, (double)h[i]);
    }
}
END_TEST

/* ---------------------------------------------------------------- launch configuration */

__global__ void touch_k(float *y) {
    if (threadIdx.x == 0 && blockIdx.x == 0 && blockIdx.y == 0) y[0] = 1.0f;
}

START_TEST(grid_limits) {
    float *y = dev_floats(4);
    LAUNCH(dim3(1, 70000), 32, touch_k)(y); /* gridDim.y > 65535 */
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
    LAUNCH(1, 2048, touch_k)(y); /* more than 1024 threads */
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
    LAUNCH(1, dim3(32, 32, 2), touch_k)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
    LAUNCH(dim3(1, 65535), 32, touch_k)(y); /* the limit itself is fine */
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
}
END_TEST

__global__ void __launch_bounds__(128) bounded_k(float *y) { y[threadIdx.x] = 2.0f; }

START_TEST(launch_bounds) {
    float *y = dev_floats(256);
    LAUNCH(1, 128, bounded_k)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    LAUNCH(1, 256, bounded_k)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorLaunchOutOfResources);
    cudaFuncAttributes a;
    ck_assert_int_eq(cudaFuncGetAttributes(&a, bounded_k), cudaSuccess);
    ck_assert_int_eq(a.maxThreadsPerBlock, 128);
}
END_TEST

START_TEST(host_pointer_argument) {
    dev_floats(4);
    static float host[4];
    LAUNCH(1, 4, touch_k)(host);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorIllegalAddress);
    ck_assert_msg(strstr(dc_emu_last_fault(), "not in live device memory"), "%s", dc_emu_last_fault());
}
END_TEST

/* ---------------------------------------------------------------- races */

/* each thread reads its neighbour's shared slot without a barrier in between */
__global__ void shared_race_k(float *y) {
    __shared__ float sh[64];
    sh[threadIdx.x] = (float)threadIdx.x;
    y[threadIdx.x] = sh[(threadIdx.x + 1) % 64]; /* missing __syncthreads() */
}

__global__ void shared_ok_k(float *y) {
    __shared__ float sh[64];
    sh[threadIdx.x] = (float)threadIdx.x;
    __syncthreads();
    y[threadIdx.x] = sh[(threadIdx.x + 1) % 64];
}

START_TEST(shared_memory_race) {
    float *y = dev_floats(64);
    dc_emu_set_racecheck(1);
    LAUNCH(1, 64, shared_ok_k)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    LAUNCH(1, 64, shared_race_k)(y);
    expect_fault("data race");
}
END_TEST

/* two blocks write the same element */
__global__ void block_race_k(float *y) {
    if (threadIdx.x == 0) y[0] = (float)blockIdx.x;
}

START_TEST(block_race) {
    float *y = dev_floats(4);
    dc_emu_set_racecheck(1);
    LAUNCH(2, 32, block_race_k)(y);
    expect_fault("data race");
}
END_TEST

/* ---------------------------------------------------------------- poison */

__global__ void read_unwritten_shared_k(float *y) {
    __shared__ float sh[32];
    if (threadIdx.x < 16) sh[threadIdx.x] = 1.0f;
    __syncthreads();
    y[threadIdx.x] = sh[threadIdx.x]; /* upper half never written */
}

__global__ void copy_k(const float *x, float *y) { y[threadIdx.x] = x[threadIdx.x]; }

START_TEST(poisoned_memory) {
    float *y = dev_floats(32), h[32];
    LAUNCH(2, 32, read_unwritten_shared_k)(y); /* the second block sees poison again, not the first's data */
    ck_assert_int_eq(cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < 32; i++) ck_assert_msg(i < 16 ? h[i] == 1.0f : isnan(h[i]), "shared %d: %g", i, (double)h[i]);
    void *x = NULL;
    ck_assert_int_eq(cudaMalloc(&x, 32 * 4), cudaSuccess); /* never written */
    LAUNCH(1, 32, copy_k)((const float *)x, y);
    ck_assert_int_eq(cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < 32; i++) ck_assert_msg(isnan(h[i]), "device %d: %g", i, (double)h[i]);
}
END_TEST

/* out of bounds: caught by AddressSanitizer (the test expects the process to die) */
__global__ void oob_k(float *y, int n) { y[threadIdx.x + n] = 1.0f; }

START_TEST(out_of_bounds_write) {
    float *y = dev_floats(32);
    LAUNCH(1, 32, oob_k)(y, 8);
    cudaDeviceSynchronize();
    exit(0); /* not reached under AddressSanitizer */
}
END_TEST

/* ---------------------------------------------------------------- streams, capture, graphs */

__global__ void add_one_k(float *y) { y[threadIdx.x] += 1.0f; }

START_TEST(capture_and_replay) {
    float *y = dev_floats(32), h[32];
    cudaStream_t st;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
    ck_assert_int_eq(cudaMemsetAsync(y, 0, 128, st), cudaSuccess);
    ck_assert_int_eq(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    DC_EMU_LAUNCH(1, 32, 0, st, add_one_k)(y);
    DC_EMU_LAUNCH(1, 32, 0, st, add_one_k)(y);
    cudaGraph_t g;
    ck_assert_int_eq(cudaStreamEndCapture(st, &g), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert(h[5] == 0.0f); /* recorded, not run */
    cudaGraphExec_t x;
    ck_assert_int_eq(cudaGraphInstantiateWithFlags(&x, g, 0), cudaSuccess);
    cudaGraphDestroy(g);
    for (int r = 0; r < 3; r++) ck_assert_int_eq(cudaGraphLaunch(x, st), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(st), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_msg(h[5] == 6.0f, "%g", (double)h[5]);
    /* a host read during capture is refused and breaks the capture */
    ck_assert_int_eq(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    ck_assert_int_eq(cudaMemcpyAsync(h, y, sizeof h, cudaMemcpyDeviceToHost, st), cudaErrorStreamCaptureUnsupported);
    void *p = NULL;
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamSynchronize(st), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(st, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert(g == NULL);
    /* a replay that uses freed memory is a fault, not a silent write */
    ck_assert_int_eq(cudaFree(y), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(x, st), cudaErrorIllegalAddress);
    cudaGraphExecDestroy(x);
}
END_TEST

START_TEST(copies_are_checked) {
    float *y = dev_floats(8), h[16] = {0};
    ck_assert_int_eq(cudaMemcpy(y, h, 16 * 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue); /* past the end */
    ck_assert_int_eq(cudaMemcpy(h, y, 8 * 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  /* wrong kind */
    ck_assert_int_eq(cudaMemcpy(y, h, 8 * 4, cudaMemcpyHostToDevice), cudaSuccess);
    void *big = NULL;
    ck_assert_int_eq(cudaMalloc(&big, (size_t)1 << 50), cudaErrorMemoryAllocation);
}
END_TEST

/* ---------------------------------------------------------------- schedules */

__global__ void order_probe_k(int *first) {
    if (*first < 0) *first = (int)(blockIdx.x * 1000 + threadIdx.x); /* the first thread to run */
}

START_TEST(schedules) {
    dev_floats(1);
    int *f = NULL, h = 0;
    ck_assert_int_eq(cudaMalloc((void **)&f, 4), cudaSuccess);
    const char *modes[] = {"forward", "reverse"};
    const int want[] = {0, 3 * 1000 + 63};
    for (int m = 0; m < 2; m++) {
        ck_assert(dc_emu_set_schedule(modes[m]));
        ck_assert_int_eq(cudaMemset(f, 0xFF, 4), cudaSuccess);
        LAUNCH(4, 64, order_probe_k)(f);
        ck_assert_int_eq(cudaMemcpy(&h, f, 4, cudaMemcpyDeviceToHost), cudaSuccess);
        ck_assert_int_eq(h, want[m]);
    }
    ck_assert(!dc_emu_set_schedule("sideways"));
}
END_TEST

/* ---------------------------------------------------------------- cuBLAS, cuFFT */

START_TEST(sgemm_semantics) {
    /* column-major C (m x n) = alpha op(A) op(B) + beta C, every transpose combination */
    const int m = 5, n = 3, k = 4, ld = 7;
    float hA[ld * 7], hB[ld * 7], hC[ld * 7], ref[ld * 7];
    for (int i = 0; i < ld * 7; i++) hA[i] = (float)((i * 7) % 11) - 5, hB[i] = (float)((i * 5) % 13) - 6;
    float *A = dev_floats(ld * 7);
    float *B, *C;
    ck_assert_int_eq(cudaMalloc((void **)&B, sizeof hB), cudaSuccess);
    ck_assert_int_eq(cudaMalloc((void **)&C, sizeof hC), cudaSuccess);
    cudaMemcpy(A, hA, sizeof hA, cudaMemcpyHostToDevice);
    cudaMemcpy(B, hB, sizeof hB, cudaMemcpyHostToDevice);
    cublasHandle_t h;
    ck_assert_int_eq(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const float alpha = 0.5f, beta = 0.0f;
            cudaMemset(C, 0xFF, sizeof hC); /* NaN: beta = 0 must not read it */
            ck_assert_int_eq(cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
                                         &alpha, A, ld, B, ld, &beta, C, ld),
                             CUBLAS_STATUS_SUCCESS);
            cudaMemcpy(hC, C, sizeof hC, cudaMemcpyDeviceToHost);
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double)(ta ? hA[i * ld + p] : hA[p * ld + i]) * (tb ? hB[p * ld + j] : hB[j * ld + p]);
                    ref[j * ld + i] = (float)(alpha * s);
                    ck_assert_msg(hC[j * ld + i] == ref[j * ld + i], "ta %d tb %d (%d,%d): %g vs %g", ta, tb, i, j,
                                  (double)hC[j * ld + i], (double)ref[j * ld + i]);
                }
        }
    const float one = 1.0f;
    ck_assert_int_eq(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A, 2, B, ld, &one, C, ld),
                     CUBLAS_STATUS_INVALID_VALUE); /* lda < m */
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_NOT_SUPPORTED);
    cublasDestroy(h);
}
END_TEST

START_TEST(fft_semantics) {
    const int n = 6, rows = 2, nb = n / 2 + 1;
    float hx[rows * n], hy[rows * n];
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < n; t++) hx[r * n + t] = (float)(1 + r) * cosf(2.0f * (float)M_PI * t / n) + 0.25f * (float)r;
    float *x = dev_floats(rows * n), *y;
    cufftComplex *X, hX[rows * nb];
    ck_assert_int_eq(cudaMalloc((void **)&X, sizeof hX), cudaSuccess);
    ck_assert_int_eq(cudaMalloc((void **)&y, sizeof hy), cudaSuccess);
    cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice);
    cufftHandle p, q;
    int nn = n;
    size_t ws;
    ck_assert_int_eq(cufftCreate(&p), CUFFT_SUCCESS);
    ck_assert_int_eq(cufftMakePlanMany(p, 1, &nn, NULL, 1, 0, NULL, 1, 0, CUFFT_R2C, rows, &ws), CUFFT_SUCCESS);
    ck_assert_int_eq(cufftExecR2C(p, x, X), CUFFT_SUCCESS);
    cudaMemcpy(hX, X, sizeof hX, cudaMemcpyDeviceToHost);
    for (int r = 0; r < rows; r++) /* row r: (1 + r) cos(2 pi t / n) + r / 4: bin 1 = (1 + r) n / 2, DC = n r / 4 */
        for (int k = 0; k < nb; k++) {
            double want = k == 1 ? (1 + r) * n / 2.0 : k == 0 ? n * r / 4.0 : 0.0;
            ck_assert_msg(fabs(hX[r * nb + k].x - want) < 1e-5 && fabs(hX[r * nb + k].y) < 1e-5, "row %d bin %d: %g%+gi",
                          r, k, (double)hX[r * nb + k].x, (double)hX[r * nb + k].y);
        }
    ck_assert_int_eq(cufftCreate(&q), CUFFT_SUCCESS);
    ck_assert_int_eq(cufftMakePlanMany(q, 1, &nn, NULL, 1, 0, NULL, 1, 0, CUFFT_C2R, rows, &ws), CUFFT_SUCCESS);
    ck_assert_int_eq(cufftExecC2R(q, X, y), CUFFT_SUCCESS);
    cudaMemcpy(hy, y, sizeof hy, cudaMemcpyDeviceToHost);
    for (int i = 0; i < rows * n; i++) ck_assert_msg(fabs(hy[i] - n * hx[i]) < 1e-4, "%d: %g vs %g", i, (double)hy[i], (double)(n * hx[i]));
    cudaMemcpy(hX, X, sizeof hX, cudaMemcpyDeviceToHost);
    ck_assert(isnan(hX[0].x)); /* C2R overwrote its input */
    hX[0].x = 1.0f, hX[0].y = 0.5f;        /* an imaginary DC part: cuFFT leaves the row undefined */
    for (int k = 1; k < rows * nb; k++) hX[k].x = hX[k].y = 0.0f;
    cudaMemcpy(X, hX, sizeof hX, cudaMemcpyHostToDevice);
    ck_assert_int_eq(cufftExecC2R(q, X, y), CUFFT_SUCCESS);
    cudaMemcpy(hy, y, sizeof hy, cudaMemcpyDeviceToHost);
    ck_assert(isnan(hy[0]) && hy[n] == 0.0f);
    ck_assert_int_eq(cufftExecR2C(p, (cufftReal *)X, X), CUFFT_NOT_IMPLEMENTED); /* in place */
    ck_assert_int_eq(cufftExecC2R(p, X, y), CUFFT_INVALID_VALUE);                    /* wrong plan type */
    cufftDestroy(p);
    cufftDestroy(q);
}
END_TEST

/* ---------------------------------------------------------------- the backend's RNG kernel */

/* The RNG kernel in double equals the CPU kernel bit for bit, although the emulated device
 * math library (like CUDA's) is not the host's: the normal draws use no log, sin or cos. */
START_TEST(rng_kernel_f64_matches_cpu) {
    dev_floats(1);
    const int64_t n = 1001;
    const uint64_t seed = 99, ctr = 5;
    double *d = NULL, hd[1001], hc[1001];
    ck_assert_int_eq(cudaMalloc((void **)&d, sizeof hd), cudaSuccess);
    dc_backend *cpu = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(cpu);
    dc_tensor *t = dc_tensor_new(ctx, DC_F64, 1, &n);
    for (int dist = 0; dist < 3; dist++) {
        const double f0 = dist == 2 ? 0.3 : -1.5, f1 = 2.5;
        ck_assert_int_eq(cuda_launch_rng(0, d, CUDA_DT_F64, n, dist, seed, ctr, f0, f1), cudaSuccess);
        ck_assert_int_eq(cudaMemcpy(hd, d, sizeof hd, cudaMemcpyDeviceToHost), cudaSuccess);
        dc_rng r = dc_rng_init(seed);
        r.counter = ctr;
        dc_status st = dist == 0 ? dc_rng_fill_uniform(&r, t, f0, f1)
                       : dist == 1 ? dc_rng_fill_normal(&r, t, f0, f1) : dc_rng_fill_bernoulli(&r, t, f0);
        ck_assert(st == DC_OK && dc_tensor_download(t, hc, sizeof hc) == DC_OK);
        int diff = 0, first = -1;
        for (int i = 0; i < n; i++)
            if (memcmp(&hd[i], &hc[i], 8)) diff++, first = first < 0 ? i : first;
        ck_assert_msg(!diff, "distribution %d: %d of %d doubles differ from the CPU kernel (first [%d]: %.17g vs %.17g)",
                      dist, diff, (int)n, first, hd[first], hc[first]);
    }
    dc_ctx_free(ctx);
    dc_backend_free(cpu);
}
END_TEST

static int asan_build(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

int main(void) {
    Suite *s = suite_create("cuda_emu");
    TCase *tc = tcase_create("checks");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, divergent_barrier_exit);
    tcase_add_test(tc, divergent_barrier_sites);
    tcase_add_test(tc, shuffle_exited_lanes);
    tcase_add_test(tc, deadlock);
    tcase_add_test(tc, warp_intrinsics);
    tcase_add_test(tc, grid_limits);
    tcase_add_test(tc, launch_bounds);
    tcase_add_test(tc, host_pointer_argument);
    tcase_add_test(tc, shared_memory_race);
    tcase_add_test(tc, block_race);
    tcase_add_test(tc, poisoned_memory);
    tcase_add_test(tc, capture_and_replay);
    tcase_add_test(tc, copies_are_checked);
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, sgemm_semantics);
    tcase_add_test(tc, fft_semantics);
    tcase_add_test(tc, rng_kernel_f64_matches_cpu);
    if (asan_build()) /* AddressSanitizer reports the write and exits with status 1 */
        tcase_add_exit_test(tc, out_of_bounds_write, 1);
    else
        printf("test_cuda_emu: out-of-bounds write check skipped: needs the sanitizer build (-DDC_SANITIZE=ON)\n");
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
