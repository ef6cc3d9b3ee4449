/* emu_fft.cpp: the cuFFT stand-in of the CUDA emulation: handles, 1-D batched R2C and C2R
 * plans with the basic packed layout (rows of n reals, rows of n/2 + 1 complex), executed
 * as naive DFTs in float64 on the plan's stream. Where cuFFT's result is unspecified the
 * emulation makes it visible: C2R overwrites its input with NaN (cuFFT may overwrite it)
 * and returns NaN rows when the DC or Nyquist bin has an imaginary part. Other types,
 * ranks, strides and in-place transforms fail loudly. Not fast.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <map>
#include <vector>

#include <cufft.h>

#include "emu_internal.h"

using namespace dc_emu;
#define LOCK std::lock_guard<std::recursive_mutex> lock_(g_mu)

namespace {

struct plan {
    int made, n, batch;
    cufftType type;
    cudaStream_t stream;
};
std::map<cufftHandle, plan> &g_plans = *new std::map<cufftHandle, plan>; /* never destroyed */
cufftHandle g_next = 1;

cufftResult refuse(const char *what) {
    unimplemented("cuFFT: %s", what);
    return CUFFT_NOT_IMPLEMENTED;
}

/* twiddles: cos and sin of 2 pi j / n for j < n, in double */
void twiddles(int n, std::vector<double> &c, std::vector<double> &s) {
    c.resize((size_t)n);
    s.resize((size_t)n);
    for (int j = 0; j < n; j++) { /* exact at multiples of a quarter turn: real bins stay real */
        const long long q = 4LL * j;
        if (q % n == 0) {
            static const double qc[4] = {1, 0, -1, 0}, qs[4] = {0, 1, 0, -1};
            c[(size_t)j] = qc[q / n];
            s[(size_t)j] = qs[q / n];
        } else {
            c[(size_t)j] = cos(2.0 * M_PI * j / n);
            s[(size_t)j] = sin(2.0 * M_PI * j / n);
        }
    }
}

/* Bounds checked against the allocations before; not the code under test (see emu_blas.cpp). */
__attribute__((no_sanitize("address", "undefined"))) void r2c_rows(int n, int rows, const float *x, cufftComplex *y) {
    std::vector<double> c, s;
    twiddles(n, c, s);
    const int nb = n / 2 + 1;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        for (int k = 0; k < nb; k++) {
            double re = 0, im = 0;
            for (int t = 0; t < n; t++) {
                const size_t j = (size_t)((long long)k * t % n);
                re += xr[t] * c[j];
                im -= xr[t] * s[j];
            }
            y[(size_t)r * nb + k].x = (float)re;
            y[(size_t)r * nb + k].y = (float)im;
        }
    }
}

__attribute__((no_sanitize("address", "undefined"))) void c2r_rows(int n, int rows, cufftComplex *x, float *y) {
    std::vector<double> c, s;
    twiddles(n, c, s);
    const int nb = n / 2 + 1;
    for (int r = 0; r < rows; r++) {
        const cufftComplex *xr = x + (size_t)r * nb;
        float *yr = y + (size_t)r * n;
        if (xr[0].y != 0.0f || (n % 2 == 0 && xr[n / 2].y != 0.0f)) { /* unspecified by cuFFT */
            for (int t = 0; t < n; t++) yr[t] = NAN;
            continue;
        }
        for (int t = 0; t < n; t++) {
            double v = xr[0].x;
            for (int k = 1; k < nb; k++) {
                const size_t j = (size_t)((long long)k * t % n);
                const double term = xr[k].x * c[j] - xr[k].y * s[j];
                v += (n % 2 == 0 && k == n / 2) ? term : 2.0 * term;
            }
            yr[t] = (float)v;
        }
    }
    for (size_t i = 0; i < (size_t)rows * nb; i++) x[i].x = x[i].y = NAN; /* "may overwrite its input" */
}

cufftResult exec(cufftHandle h, cufftType type, void *in, void *out, const char *call) {
    LOCK;
    auto it = g_plans.find(h);
    if (it == g_plans.end() || !it->second.made) return CUFFT_INVALID_PLAN;
    const plan p = it->second;
    if (p.type != type) {
        fprintf(stderr, "dc-emu: %s on a plan made for another transform type\n", call);
        return CUFFT_INVALID_VALUE;
    }
    const int nb = p.n / 2 + 1;
    const size_t re_b = (size_t)p.batch * p.n * 4, cx_b = (size_t)p.batch * nb * 8;
    const size_t in_b = type == CUFFT_R2C ? re_b : cx_b, out_b = type == CUFFT_R2C ? cx_b : re_b;
    if (!dev_range(in, in_b) || !dev_range(out, out_b)) {
        fprintf(stderr, "dc-emu: %s: input (%zu bytes at %p) or output (%zu bytes at %p) is not inside device memory\n",
                call, in_b, in, out_b, out);
        return CUFFT_INVALID_VALUE;
    }
    const char *lo = (const char *)in < (const char *)out ? (const char *)in : (const char *)out;
    const char *hi = lo == (const char *)in ? (const char *)out : (const char *)in;
    if (lo + (lo == (const char *)in ? in_b : out_b) > hi) return refuse("in-place or overlapping transforms");
    const void *cx = type == CUFFT_R2C ? out : in;
    if (((uintptr_t)cx & 7u) || ((uintptr_t)(type == CUFFT_R2C ? in : out) & 3u)) {
        fprintf(stderr, "dc-emu: %s: complex data must be 8-byte aligned, real data 4-byte aligned\n", call);
        return CUFFT_UNALIGNED_DATA;
    }
    cudaError_t e = submit(p.stream, work{call, [=]() -> cudaError_t {
                                              if (!dev_range(in, in_b) || !dev_range(out, out_b))
                                                  return fault(cudaErrorIllegalAddress, "%s: a buffer was freed", call);
                                              if (type == CUFFT_R2C) r2c_rows(p.n, p.batch, (const float *)in, (cufftComplex *)out);
                                              else c2r_rows(p.n, p.batch, (cufftComplex *)in, (float *)out);
                                              return cudaSuccess;
                                          }});
    if (e == cudaSuccess) return CUFFT_SUCCESS;
    set_error(e);
    return CUFFT_EXEC_FAILED;
}

} /* namespace */

extern "C" {

cufftResult cufftCreate(cufftHandle *h) {
    LOCK;
    if (!h) return CUFFT_INVALID_VALUE;
    *h = g_next++;
    g_plans[*h] = plan{0, 0, 0, CUFFT_R2C, nullptr};
    return CUFFT_SUCCESS;
}

cufftResult cufftDestroy(cufftHandle h) {
    LOCK;
    return g_plans.erase(h) ? CUFFT_SUCCESS : CUFFT_INVALID_PLAN;
}

cufftResult cufftMakePlanMany(cufftHandle h, int rank, int *n, int *inembed, int istride, int idist, int *onembed,
                              int ostride, int odist, cufftType type, int batch, size_t *work_size) {
    LOCK;
    auto it = g_plans.find(h);
    if (it == g_plans.end()) return CUFFT_INVALID_PLAN;
    if (capture_open()) { /* planning allocates its work area */
        capture_violation("cufftMakePlanMany");
        return CUFFT_SETUP_FAILED;
    }
    if (rank != 1) return refuse("rank other than 1");
    if (inembed || onembed) return refuse("advanced data layouts (inembed/onembed)");
    if (type != CUFFT_R2C && type != CUFFT_C2R) return refuse("transform types other than R2C and C2R");
    if (!n || n[0] < 1 || batch < 1) return CUFFT_INVALID_SIZE;
    (void)istride, (void)idist, (void)ostride, (void)odist; /* ignored with NULL embeds, as documented */
    it->second = plan{1, n[0], batch, type, it->second.stream};
    if (work_size) *work_size = 0;
    return CUFFT_SUCCESS;
}

cufftResult cufftSetStream(cufftHandle h, cudaStream_t st) {
    LOCK;
    auto it = g_plans.find(h);
    if (it == g_plans.end()) return CUFFT_INVALID_PLAN;
    it->second.stream = st;
    return CUFFT_SUCCESS;
}

cufftResult cufftExecR2C(cufftHandle h, cufftReal *in, cufftComplex *out) {
    return exec(h, CUFFT_R2C, in, out, "cufftExecR2C");
}

cufftResult cufftExecC2R(cufftHandle h, cufftComplex *in, cufftReal *out) {
    return exec(h, CUFFT_C2R, in, out, "cufftExecC2R");
}

} /* extern "C" */
