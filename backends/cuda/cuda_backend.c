/* cuda_backend.c: the "cuda" backend's vtable, devices, stream, buffers, host copies,
 * scratch memory, error translation and CUDA-graph capture. C11 host code: kernels are
 * in the .cu files behind cuda_kernels.h, their entry points in cuda_ops.c and
 * cuda_libs.c. Everything runs in order on one non-blocking stream per backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

/* ---------------------------------------------------------------- errors */

static const char *short_file(const char *f) {
    const char *p = strstr(f, "backends/");
    return p ? p : f;
}

dc_status cuda_fail_rt(const dc_backend *be, cudaError_t e, const char *call, const char *file, int line) {
    (void)cudaGetLastError(); /* clear a non-sticky error so later launch checks do not see it again */
    dc_status st = e == cudaErrorMemoryAllocation ? DC_ERR_OOM : DC_ERR_BACKEND;
    return dc_fail(st, "%s: %s failed: %s (%s) at %s:%d", be ? be->name : "cuda", call, cudaGetErrorName(e),
                   cudaGetErrorString(e), short_file(file), line);
}

dc_status cuda_fail_blas(const dc_backend *be, cublasStatus_t s, const char *call, const char *file, int line) {
    (void)cudaGetLastError();
    dc_status st = s == CUBLAS_STATUS_ALLOC_FAILED ? DC_ERR_OOM : DC_ERR_BACKEND;
    return dc_fail(st, "%s: %s failed: %s (%s) at %s:%d", be ? be->name : "cuda", call, cublasGetStatusName(s),
                   cublasGetStatusString(s), short_file(file), line);
}

static const char *cufft_name(cufftResult r) {
    switch (r) {
    case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED (out of device memory)";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "cuFFT error";
    }
}

dc_status cuda_fail_fft(const dc_backend *be, cufftResult r, const char *call, const char *file, int line) {
    (void)cudaGetLastError();
    dc_status st = r == CUFFT_ALLOC_FAILED ? DC_ERR_OOM : DC_ERR_BACKEND;
    return dc_fail(st, "%s: %s failed: %s (%d) at %s:%d", be ? be->name : "cuda", call, cufft_name(r), (int)r,
                   short_file(file), line);
}

dc_status cuda_enter(dc_backend *be) {
    int cur = -1;
    cudaError_t e = cudaGetDevice(&cur);
    if (e == cudaSuccess && cur == cuda_st(be)->device) return DC_OK;
    CUDA_CHECK(be, cudaSetDevice(cuda_st(be)->device));
    return DC_OK;
}

dc_status cuda_launched(dc_backend *be, cudaError_t e, const char *what, const char *file, int line) {
    if (e != cudaSuccess) return cuda_fail_rt(be, e, what, file, line);
    cuda_state *s = cuda_st(be);
    if (s->sync_each && !s->capturing) {
        e = cudaStreamSynchronize(s->stream);
        if (e != cudaSuccess) return cuda_fail_rt(be, e, what, file, line);
    }
    return DC_OK;
}

/* ---------------------------------------------------------------- retired resources */

/* Graphs hold raw pointers to the scratch and to cuFFT plans. While one is alive, a
 * replaced scratch block or an evicted plan is parked here instead of being freed. */
static int grow_ptrs(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 1;
    int nc = *cap ? 2 * *cap : 8;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

void cuda_retire_mem(dc_backend *be, void *p) {
    cuda_state *s = cuda_st(be);
    if (!p) return;
    if (s->live_graphs > 0 && grow_ptrs((void **)&s->retired, &s->cap_retired, s->n_retired + 1, sizeof(void *)))
        s->retired[s->n_retired++] = p;
    else
        (void)cudaFree(p); /* no graph can use it (or no host memory to park it: free it anyway) */
}

void cuda_retire_fft(dc_backend *be, cufftHandle h) {
    cuda_state *s = cuda_st(be);
    if (s->live_graphs > 0 &&
        grow_ptrs((void **)&s->retired_fft, &s->cap_retired_fft, s->n_retired_fft + 1, sizeof(cufftHandle)))
        s->retired_fft[s->n_retired_fft++] = h;
    else
        (void)cufftDestroy(h);
}

static void release_retired(cuda_state *s) {
    for (int i = 0; i < s->n_retired; i++) (void)cudaFree(s->retired[i]);
    for (int i = 0; i < s->n_retired_fft; i++) (void)cufftDestroy(s->retired_fft[i]);
    s->n_retired = s->n_retired_fft = 0;
}

/* ---------------------------------------------------------------- devices */

int cuda_device_count(char *why, size_t cap) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        int drv = 0, rt = 0;
        (void)cudaDriverGetVersion(&drv);
        (void)cudaRuntimeGetVersion(&rt);
        char hint[128] = "";
        if (drv == 0) snprintf(hint, sizeof hint, "; no NVIDIA driver is loaded");
        else if (drv < rt)
            snprintf(hint, sizeof hint, "; the driver supports CUDA %d.%d, this build needs %d.%d", drv / 1000,
                     (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
        if (why && cap)
            snprintf(why, cap, "no CUDA device: cudaGetDeviceCount returned %s (%s)%s", cudaGetErrorName(e),
                     cudaGetErrorString(e), hint);
        return 0;
    }
    if (n == 0 && why && cap) snprintf(why, cap, "no CUDA device: cudaGetDeviceCount found none");
    return n;
}

dc_status cuda_device_desc(int device, char *buf, size_t cap) {
    struct cudaDeviceProp p;
    CUDA_CHECK(NULL, cudaGetDeviceProperties(&p, device));
    int rt = 0, drv = 0;
    CUDA_CHECK(NULL, cudaRuntimeGetVersion(&rt));
    CUDA_CHECK(NULL, cudaDriverGetVersion(&drv));
    snprintf(buf, cap, "%s, sm_%d%d, %d SMs, %.1f GiB; runtime %d.%d, driver %d.%d; built for %s", p.name, p.major,
             p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / (1 << 30), rt / 1000, (rt % 1000) / 10,
             drv / 1000, (drv % 1000) / 10, DC_CUDA_ARCHS);
    return DC_OK;
}

static void cuda_release(dc_backend *be) {
    cuda_state *s = cuda_st(be);
    if (s->capturing) { /* abandon an open capture */
        cudaGraph_t g = NULL;
        if (cudaStreamEndCapture(s->stream, &g) == cudaSuccess && g) cudaGraphDestroy(g);
        s->capturing = 0;
    }
    if (s->stream) (void)cudaStreamSynchronize(s->stream);
    release_retired(s);
    if (s->release_libs) s->release_libs(be); /* cuBLAS and cuFFT, when cuda_libs.c made any */
    for (int i = 0; i < s->n_deferred; i++) (void)cudaFree(s->deferred[i]);
    (void)cudaFree(s->scratch);
    if (s->stream) (void)cudaStreamDestroy(s->stream);
    (void)cudaGetLastError();
    free(s->deferred);
    free(s->retired);
    free(s->retired_fft);
    free(s);
    be->impl = NULL;
}

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static dc_status cuda_open(dc_backend *be, cuda_state *s) {
    CUDA_CHECK(be, cudaSetDevice(s->device));
    CUDA_CHECK(be, cudaFree(NULL)); /* create the context now: errors surface here, not in a kernel */
    cudaError_t e = cuda_launch_probe();
    if (e == cudaErrorInvalidDeviceFunction || e == cudaErrorNoKernelImageForDevice) {
        (void)cudaGetLastError();
        struct cudaDeviceProp p;
        int major = 0, minor = 0;
        if (cudaGetDeviceProperties(&p, s->device) == cudaSuccess) major = p.major, minor = p.minor;
        return dc_fail(DC_ERR_BACKEND,
                       "%s: this build has no kernels for the device's sm_%d%d (built for CUDA architectures %s); "
                       "rebuild with -DCMAKE_CUDA_ARCHITECTURES=%d%d%s",
                       be->name, major, minor, DC_CUDA_ARCHS, major, minor,
                       major < 7 || (major == 7 && minor < 5) ? " using a CUDA 12.x toolkit (CUDA 13 starts at sm_75)"
                                                              : "");
    }
    if (e != cudaSuccess) return cuda_fail_rt(be, e, "cudaFuncGetAttributes(probe kernel)", __FILE__, __LINE__);
    CUDA_CHECK(be, cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    s->sync_each = env_on("DYNACL_CUDA_SYNC");
    s->tf32 = env_on("DYNACL_CUDA_TF32");
    return DC_OK;
}

dc_status cuda_init(dc_backend *be, int device) {
    cuda_state *s = calloc(1, sizeof *s);
    if (!s) return dc_fail(DC_ERR_OOM, "%s: out of host memory", be->name);
    s->device = device;
    be->impl = s;
    dc_status st = cuda_open(be, s);
    if (st != DC_OK) cuda_release(be);
    return st;
}

void cuda_shutdown(dc_backend *be) {
    if (!be->impl) return;
    (void)cudaSetDevice(cuda_st(be)->device);
    cuda_release(be);
}

/* ---------------------------------------------------------------- memory */

dc_status cuda_buf_alloc(dc_backend *be, size_t bytes, dc_buffer *out) {
    cuda_state *s = cuda_st(be);
    CUDA_ENTER(be);
    if (s->capturing)
        return dc_fail(DC_ERR_STATE,
                       "%s: allocation of %zu bytes during CUDA-graph capture: the captured step must allocate "
                       "exactly what the warm-up step did (same step context, same sizes, same order)",
                       be->name, bytes);
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        size_t fr = 0, tot = 0;
        (void)cudaMemGetInfo(&fr, &tot);
        (void)cudaGetLastError();
        return dc_fail(DC_ERR_OOM,
                       "%s: out of device memory: cudaMalloc of %zu bytes (%.2f GiB) failed (%s); %.2f GiB free of "
                       "%.2f GiB, at %s:%d",
                       be->name, bytes, (double)bytes / (1 << 30), cudaGetErrorName(e), (double)fr / (1 << 30),
                       (double)tot / (1 << 30), short_file(__FILE__), __LINE__);
    }
    if (e != cudaSuccess) return cuda_fail_rt(be, e, "cudaMalloc", __FILE__, __LINE__);
    out->ptr = p;
    out->size = bytes;
    return DC_OK;
}

void cuda_buf_free(dc_backend *be, dc_buffer *buf) {
    cuda_state *s = cuda_st(be);
    if (!buf->ptr) return;
    if (s->capturing) { /* cudaFree would break the capture; release at capture end */
        if (s->n_deferred == s->cap_deferred) {
            int nc = s->cap_deferred ? 2 * s->cap_deferred : 16;
            void **d = realloc(s->deferred, (size_t)nc * sizeof *d);
            if (!d) return; /* leak one buffer rather than break the capture */
            s->deferred = d;
            s->cap_deferred = nc;
        }
        s->deferred[s->n_deferred++] = buf->ptr;
    } else {
        (void)cuda_enter(be);
        (void)cudaFree(buf->ptr);
        (void)cudaGetLastError();
    }
    buf->ptr = NULL;
}

static dc_status no_capture(dc_backend *be, const char *what) {
    return dc_fail(DC_ERR_STATE, "%s: %s during CUDA-graph capture is not possible (host memory and "
                                 "synchronisation cannot be captured); do it before capture_begin or after capture_end",
                   be->name, what);
}

/* During capture, a small upload (a step's indices, masks, targets) travels inside the graph:
 * its bytes become kernel parameters, so every replay writes the values of the capture (as
 * the frozen scalar parameters). Larger ones (inputs) must be uploaded outside the capture. */
static dc_status cuda_upload_captured(dc_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes > CUDA_CAPTURE_UPLOAD_MAX)
        return dc_fail(DC_ERR_STATE,
                       "%s: upload of %zu bytes during CUDA-graph capture: at most %d KiB is recorded into the "
                       "graph (step indices and masks); upload inputs before capture_begin or between launches",
                       be->name, bytes, CUDA_CAPTURE_UPLOAD_MAX >> 10);
    CUDA_LAUNCH(be, "upload (recorded in the graph)", cuda_launch_put(cuda_st(be)->stream, dst, src, bytes));
    return DC_OK;
}

dc_status cuda_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes) {
    cuda_state *s = cuda_st(be);
    if (off + bytes > dst->size)
        return dc_fail(DC_ERR_ARG, "%s upload: %zu bytes at %zu overflow a %zu-byte buffer", be->name, bytes, off,
                       dst->size);
    if (!bytes) return DC_OK;
    CUDA_ENTER(be);
    if (s->capturing) return cuda_upload_captured(be, (char *)dst->ptr + off, src, bytes);
    CUDA_CHECK(be, cudaMemcpyAsync((char *)dst->ptr + off, src, bytes, cudaMemcpyHostToDevice, s->stream));
    CUDA_CHECK(be, cudaStreamSynchronize(s->stream)); /* src may be pinned: keep it valid until done */
    return DC_OK;
}

dc_status cuda_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes) {
    cuda_state *s = cuda_st(be);
    if (s->capturing) return no_capture(be, "download");
    if (off + bytes > src->size)
        return dc_fail(DC_ERR_ARG, "%s download: %zu bytes at %zu overflow a %zu-byte buffer", be->name, bytes, off,
                       src->size);
    if (!bytes) return DC_OK;
    CUDA_ENTER(be);
    CUDA_CHECK(be, cudaMemcpyAsync(dst, (const char *)src->ptr + off, bytes, cudaMemcpyDeviceToHost, s->stream));
    CUDA_CHECK(be, cudaStreamSynchronize(s->stream));
    return DC_OK;
}

dc_status cuda_sync(dc_backend *be) {
    cuda_state *s = cuda_st(be);
    if (s->capturing) return no_capture(be, "sync");
    CUDA_ENTER(be);
    CUDA_CHECK(be, cudaStreamSynchronize(s->stream));
    return DC_OK;
}

void *cuda_scratch(dc_backend *be, size_t bytes) {
    cuda_state *s = cuda_st(be);
    if (bytes <= s->scratch_size) return s->scratch;
    if (s->capturing) {
        dc_fail(DC_ERR_STATE, "%s: a kernel needs %zu bytes of scratch during CUDA-graph capture but the warm-up "
                              "left %zu: run the same step eagerly before capturing it",
                be->name, bytes, s->scratch_size);
        return NULL;
    }
    size_t want = bytes > 2 * s->scratch_size ? bytes : 2 * s->scratch_size;
    want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    cudaError_t e = cudaStreamSynchronize(s->stream); /* earlier kernels may still read the old one */
    if (e != cudaSuccess) {
        cuda_fail_rt(be, e, "cudaStreamSynchronize", __FILE__, __LINE__);
        return NULL;
    }
    cuda_retire_mem(be, s->scratch);
    s->scratch = NULL;
    s->scratch_size = 0;
    void *p = NULL;
    e = cudaMalloc(&p, want);
    if (e != cudaSuccess) {
        cuda_fail_rt(be, e, "cudaMalloc(scratch)", __FILE__, __LINE__);
        dc_fail_prefix("%s: %zu bytes of kernel scratch", be->name, want);
        return NULL;
    }
    s->scratch = p;
    s->scratch_size = want;
    return p;
}

/* ---------------------------------------------------------------- graphs */

dc_status cuda_capture_begin(dc_backend *be) {
    cuda_state *s = cuda_st(be);
    if (s->capturing) return dc_fail(DC_ERR_STATE, "%s: a capture is already open", be->name);
    CUDA_ENTER(be);
    CUDA_CHECK(be, cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeThreadLocal));
    s->capturing = 1;
    return DC_OK;
}

dc_status cuda_capture_end(dc_backend *be, void **graph) {
    cuda_state *s = cuda_st(be);
    *graph = NULL;
    if (!s->capturing) return dc_fail(DC_ERR_STATE, "%s: capture end without capture begin", be->name);
    CUDA_ENTER(be);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(s->stream, &g);
    s->capturing = 0;
    int freed = s->n_deferred;
    for (int i = 0; i < s->n_deferred; i++) (void)cudaFree(s->deferred[i]);
    s->n_deferred = 0;
    if (e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        return cuda_fail_rt(be, e, "cudaStreamEndCapture (the captured code synchronised or used another stream)",
                            __FILE__, __LINE__);
    }
    if (freed) {
        cudaGraphDestroy(g);
        return dc_fail(DC_ERR_STATE, "%s: %d device buffer(s) were freed during the capture; the graph would use "
                                     "freed memory (keep the step's contexts alive while capturing)",
                       be->name, freed);
    }
    cudaGraphExec_t x = NULL;
    e = cudaGraphInstantiateWithFlags(&x, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) return cuda_fail_rt(be, e, "cudaGraphInstantiateWithFlags", __FILE__, __LINE__);
    *graph = x;
    s->live_graphs++;
    return DC_OK;
}

dc_status cuda_graph_launch(dc_backend *be, void *graph) {
    cuda_state *s = cuda_st(be);
    if (s->capturing) return no_capture(be, "a graph launch");
    CUDA_ENTER(be);
    return cuda_launched(be, cudaGraphLaunch((cudaGraphExec_t)graph, s->stream), "cudaGraphLaunch", __FILE__,
                         __LINE__);
}

void cuda_graph_free(dc_backend *be, void *graph) {
    cuda_state *s = cuda_st(be);
    if (!graph) return;
    (void)cuda_enter(be);
    (void)cudaStreamSynchronize(s->stream); /* a replay may still be running */
    (void)cudaGraphExecDestroy((cudaGraphExec_t)graph);
    if (--s->live_graphs == 0) release_retired(s);
    (void)cudaGetLastError();
}

/* ---------------------------------------------------------------- profiler timer */

/* dc_profile.h: a CUDA event recorded on the backend's stream; two events bracket the
 * kernels between them, resolved with cudaEventElapsedTime after the end event completes. */
dc_status cuda_timer_mark(dc_backend *be, void **mark) {
    cudaEvent_t ev = NULL;
    dc_status st = cuda_enter(be);
    if (st != DC_OK) return st;
    CUDA_CHECK(be, cudaEventCreate(&ev));
    cudaError_t e = cudaEventRecord(ev, cuda_st(be)->stream);
    if (e != cudaSuccess) {
        (void)cudaEventDestroy(ev);
        return cuda_fail_rt(be, e, "cudaEventRecord", __FILE__, __LINE__);
    }
    *mark = ev;
    return DC_OK;
}

dc_status cuda_timer_elapsed(dc_backend *be, void *start, void *end, double *ms) {
    float f = 0;
    CUDA_CHECK(be, cudaEventSynchronize((cudaEvent_t)end));
    CUDA_CHECK(be, cudaEventElapsedTime(&f, (cudaEvent_t)start, (cudaEvent_t)end));
    *ms = f;
    return DC_OK;
}

void cuda_timer_free(dc_backend *be, void *mark) {
    if (mark) (void)cudaEventDestroy((cudaEvent_t)mark);
}
