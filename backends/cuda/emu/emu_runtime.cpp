/* emu_runtime.cpp: the CUDA runtime API of the emulation build: one emulated device,
 * device memory (host allocations, poisoned with 0xFF bytes = NaN, checked by
 * AddressSanitizer in the sanitizer build), streams that run their work at once in order,
 * stream capture into graphs and replay, events, and CUDA's error model (a last error, and
 * sticky faults). Kernels are run by emu_launch.cpp. Not a model of GPU timing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <map>
#include <set>
#include <string>

#include "emu_internal.h"

struct CUevent_st {
    double ms; /* host time at the last record that ran */
    int recorded;
};
struct CUgraph_st {
    std::vector<dc_emu::work> nodes;
};
struct CUgraphExec_st {
    std::vector<dc_emu::work> nodes;
};

namespace dc_emu {

std::recursive_mutex &g_mu = *new std::recursive_mutex;

namespace {

/* State lives in objects that are never destroyed: the runtime must outlive every static
 * destructor that may still free device memory, and LeakSanitizer then still sees the
 * live allocations as reachable. */
cudaError_t g_last = cudaSuccess, g_sticky = cudaSuccess;
std::string &g_fault = *new std::string, &g_fault_text = *new std::string;

struct alloc {
    size_t size;
    int workspace;
};
std::map<uintptr_t, alloc> &g_allocs = *new std::map<uintptr_t, alloc>;
size_t g_used = 0;

std::set<cudaStream_t> &g_streams = *new std::set<cudaStream_t>;
CUstream_st g_legacy = {0, 0, 0, nullptr}; /* stream 0 */
thread_local int t_device = 0;
thread_local cudaStream_t t_capture = nullptr; /* the stream this thread captures on (non-relaxed) */

size_t mem_limit() {
    static size_t lim = 0;
    if (!lim) {
        const char *e = getenv("DC_CUDA_EMU_MEMORY_MB");
        long long mb = e && *e ? atoll(e) : 0;
        lim = (size_t)(mb > 0 ? mb : 4096) << 20;
    }
    return lim;
}

CUstream_st *stream_of(cudaStream_t s) { return s ? s : &g_legacy; }
int stream_ok(cudaStream_t s) { return !s || g_streams.count(s); }

/* the live allocation containing p (end inclusive for empty ranges), or g_allocs.end() */
std::map<uintptr_t, alloc>::iterator find_alloc(const void *p) {
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return g_allocs.end();
    --it;
    return a <= it->first + it->second.size ? it : g_allocs.end();
}

double now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

} /* namespace */

/* ---------------------------------------------------------------- errors */

cudaError_t set_error(cudaError_t e) {
    if (e != cudaSuccess) g_last = e;
    return e;
}

cudaError_t sticky() { return g_sticky; }

cudaError_t fault(cudaError_t e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cudaError_t r = vfault(e, fmt, ap);
    va_end(ap);
    return r;
}

cudaError_t vfault(cudaError_t e, const char *fmt, va_list ap) {
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "dc-emu: kernel fault: %s\n", buf);
    if (g_sticky == cudaSuccess) {
        g_fault = buf;
        g_sticky = e;
    }
    g_last = e;
    return e;
}

void unimplemented(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "dc-emu: not emulated: %s\n", buf);
    g_fault_text = buf;
}

/* ---------------------------------------------------------------- memory helpers */

int dev_range(const void *p, size_t bytes) {
    auto it = find_alloc(p);
    if (it == g_allocs.end()) return 0;
    return (uintptr_t)p + bytes <= it->first + it->second.size;
}

void dev_mark_workspace(const void *p) {
    auto it = find_alloc(p);
    if (it != g_allocs.end()) it->second.workspace = 1;
}

void snapshot_take(snapshot &s) {
    s.blocks.clear();
    for (auto &a : g_allocs)
        if (!a.second.workspace) s.blocks.emplace_back((char *)a.first, std::string((char *)a.first, a.second.size));
}

void snapshot_restore(const snapshot &s) {
    for (auto &b : s.blocks)
        if (g_allocs.count((uintptr_t)b.first)) memcpy(b.first, b.second.data(), b.second.size());
}

std::string snapshot_diff(const snapshot &s) {
    for (auto &b : s.blocks) {
        if (!g_allocs.count((uintptr_t)b.first)) continue;
        const char *now = b.first, *then = b.second.data();
        size_t n = b.second.size();
        if (!memcmp(now, then, n)) continue;
        size_t i = 0;
        while (now[i] == then[i]) i++;
        size_t w = i & ~(size_t)3; /* report the aligned 32-bit word */
        uint32_t u0 = 0, u1 = 0;
        memcpy(&u0, then + w, w + 4 <= n ? 4 : n - w);
        memcpy(&u1, now + w, w + 4 <= n ? 4 : n - w);
        float f0, f1;
        memcpy(&f0, &u0, 4);
        memcpy(&f1, &u1, 4);
        char buf[256];
        snprintf(buf, sizeof buf, "device allocation %p (%zu bytes), byte %zu: 0x%08" PRIx32 " (%g as f32) vs 0x%08" PRIx32 " (%g)",
                 (void *)b.first, n, w, u0, (double)f0, u1, (double)f1);
        return buf;
    }
    return "";
}

/* ---------------------------------------------------------------- streams and capture */

int capture_open() { return t_capture != nullptr; }

cudaError_t capture_violation(const char *call) {
    CUstream_st *s = t_capture;
    if (s && s->capturing && !s->invalidated) {
        s->invalidated = 1;
        fprintf(stderr, "dc-emu: %s during stream capture: not permitted; the capture is invalidated\n", call);
    }
    return set_error(cudaErrorStreamCaptureUnsupported);
}

cudaError_t submit(cudaStream_t st, work w) {
    if (g_sticky) return g_sticky;
    if (!stream_ok(st)) return cudaErrorInvalidResourceHandle;
    CUstream_st *s = stream_of(st);
    if (s->capturing) {
        if (s->invalidated) return cudaErrorStreamCaptureInvalidated;
        s->graph->nodes.push_back(std::move(w));
        return cudaSuccess;
    }
    if (!st && t_capture) { /* the legacy stream synchronises with every blocking stream */
        capture_violation(("work on the legacy default stream (" + w.what + ")").c_str());
        return cudaErrorStreamCaptureImplicit;
    }
    return w.run();
}

} /* namespace dc_emu */

using namespace dc_emu;
#define LOCK std::lock_guard<std::recursive_mutex> lock_(g_mu)

extern "C" {

/* ---------------------------------------------------------------- errors */

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
#define N(x) case x: return #x
        N(cudaSuccess);
        N(cudaErrorInvalidValue);
        N(cudaErrorMemoryAllocation);
        N(cudaErrorInitializationError);
        N(cudaErrorInvalidConfiguration);
        N(cudaErrorInvalidMemcpyDirection);
        N(cudaErrorInvalidDeviceFunction);
        N(cudaErrorNoDevice);
        N(cudaErrorInvalidDevice);
        N(cudaErrorNoKernelImageForDevice);
        N(cudaErrorInvalidResourceHandle);
        N(cudaErrorIllegalState);
        N(cudaErrorNotReady);
        N(cudaErrorIllegalAddress);
        N(cudaErrorLaunchOutOfResources);
        N(cudaErrorLaunchTimeout);
        N(cudaErrorIllegalInstruction);
        N(cudaErrorLaunchFailure);
        N(cudaErrorNotSupported);
        N(cudaErrorStreamCaptureUnsupported);
        N(cudaErrorStreamCaptureInvalidated);
        N(cudaErrorStreamCaptureUnmatched);
        N(cudaErrorStreamCaptureImplicit);
        N(cudaErrorStreamCaptureWrongThread);
        N(cudaErrorUnknown);
#undef N
    }
    return "cudaErrorUnknown";
}

static const char *plain_error_string(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "operation not permitted in the current state";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
    default: return "emulated CUDA error";
    }
}

/* The sticky fault's code reads with the emulation's diagnosis appended, so the backend's
 * own error messages carry it. */
const char *cudaGetErrorString(cudaError_t e) {
    LOCK;
    static std::string s;
    s = plain_error_string(e);
    if (e != cudaSuccess && e == g_sticky && !g_fault.empty()) s += " [emulation: " + g_fault + "]";
    return s.c_str();
}

cudaError_t cudaGetLastError(void) {
    LOCK;
    cudaError_t e = g_last;
    g_last = g_sticky;
    return e;
}

cudaError_t cudaPeekAtLastError(void) {
    LOCK;
    return g_last;
}

const char *dc_emu_last_fault(void) {
    LOCK;
    return g_fault.c_str();
}

/* ---------------------------------------------------------------- device */

cudaError_t cudaGetDeviceCount(int *count) {
    if (!count) return set_error(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
    if (!device) return set_error(cudaErrorInvalidValue);
    *device = t_device;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (device != 0) return set_error(cudaErrorInvalidDevice);
    t_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device) {
    if (!p) return set_error(cudaErrorInvalidValue);
    if (device != 0) return set_error(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "emulated CUDA device (CPU fibers; DC_CUDA_EMU build, not a GPU)");
    p->totalGlobalMem = mem_limit();
    p->sharedMemPerBlock = 48 << 10;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 1;
    return cudaSuccess;
}

/* the driver and the runtime are the same emulation: one version, the API level emulated */
cudaError_t cudaDriverGetVersion(int *v) {
    if (!v) return set_error(cudaErrorInvalidValue);
    *v = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v) { return cudaDriverGetVersion(v); }

cudaError_t cudaDeviceSynchronize(void) {
    LOCK;
    if (capture_open()) return capture_violation("cudaDeviceSynchronize");
    return g_sticky;
}

/* Clears the errors and frees every allocation, as the real call destroys the context. */
cudaError_t cudaDeviceReset(void) {
    LOCK;
    for (auto &a : g_allocs) free((void *)a.first);
    g_allocs.clear();
    g_used = 0;
    g_sticky = g_last = cudaSuccess;
    g_fault.clear();
    return cudaSuccess;
}

/* ---------------------------------------------------------------- memory */

cudaError_t cudaMalloc(void **ptr, size_t bytes) {
    LOCK;
    if (!ptr) return set_error(cudaErrorInvalidValue);
    *ptr = nullptr;
    if (g_sticky) return g_sticky;
    if (capture_open()) return capture_violation("cudaMalloc");
    if (bytes == 0) return cudaSuccess;
    if (bytes > mem_limit() - g_used) return set_error(cudaErrorMemoryAllocation);
    void *p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0 || !p) return set_error(cudaErrorMemoryAllocation);
    memset(p, 0xFF, bytes); /* poison: NaN as f32/f64, -1 as i32 */
    g_allocs[(uintptr_t)p] = alloc{bytes, 0};
    g_used += bytes;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *ptr) {
    LOCK;
    if (!ptr) return g_sticky;
    if (capture_open()) return capture_violation("cudaFree");
    auto it = g_allocs.find((uintptr_t)ptr);
    if (it == g_allocs.end()) {
        fprintf(stderr, "dc-emu: cudaFree(%p): not the start of a live device allocation\n", ptr);
        return set_error(cudaErrorInvalidValue);
    }
    g_used -= it->second.size;
    memset(ptr, 0xFF, it->second.size);
    g_allocs.erase(it);
    free(ptr);
    return g_sticky;
}

cudaError_t cudaMemGetInfo(size_t *fr, size_t *total) {
    LOCK;
    if (!fr || !total) return set_error(cudaErrorInvalidValue);
    *total = mem_limit();
    *fr = mem_limit() - g_used;
    return g_sticky;
}

/* host or device as the kind says, checked against the allocation table */
static cudaError_t copy_check(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, const char *call) {
    int dd = dev_range(dst, bytes), sd = dev_range(src, bytes);
    int want_dd, want_sd;
    switch (kind) {
    case cudaMemcpyHostToHost: want_dd = 0, want_sd = 0; break;
    case cudaMemcpyHostToDevice: want_dd = 1, want_sd = 0; break;
    case cudaMemcpyDeviceToHost: want_dd = 0, want_sd = 1; break;
    case cudaMemcpyDeviceToDevice: want_dd = 1, want_sd = 1; break;
    case cudaMemcpyDefault: return cudaSuccess;
    default: return set_error(cudaErrorInvalidMemcpyDirection);
    }
    if (dd != want_dd || sd != want_sd) {
        fprintf(stderr, "dc-emu: %s of %zu bytes, kind %d: destination %p is %s, source %p is %s\n", call, bytes, (int)kind,
                dst, dd ? "device memory" : "not (all) in one device allocation", src,
                sd ? "device memory" : "not (all) in one device allocation");
        return set_error(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

static int host_side(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (kind == cudaMemcpyDefault) return !dev_range(dst, bytes) || !dev_range(src, bytes);
    return kind != cudaMemcpyDeviceToDevice;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t st) {
    LOCK;
    if (g_sticky) return g_sticky;
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (bytes == 0) return cudaSuccess;
    cudaError_t e = copy_check(dst, src, bytes, kind, "cudaMemcpyAsync");
    if (e != cudaSuccess) return e;
    /* pageable host memory cannot be captured: a host read of device memory (or a write)
     * during capture is refused and breaks the capture, as on the GPU */
    if (stream_of(st)->capturing && host_side(dst, src, bytes, kind))
        return capture_violation("cudaMemcpyAsync to or from host memory");
    const int dd = dev_range(dst, bytes), sd = dev_range(src, bytes);
    return set_error(submit(st, work{"cudaMemcpyAsync", [=]() -> cudaError_t {
                                         /* a graph may replay the copy after a buffer was freed */
                                         if ((dd && !dev_range(dst, bytes)) || (sd && !dev_range(src, bytes)))
                                             return fault(cudaErrorIllegalAddress,
                                                          "cudaMemcpyAsync of %zu bytes: a device buffer was freed", bytes);
                                         memmove(dst, src, bytes);
                                         return cudaSuccess;
                                     }}));
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    LOCK;
    if (capture_open()) return capture_violation("cudaMemcpy");
    return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t st) {
    LOCK;
    if (g_sticky) return g_sticky;
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (bytes == 0) return cudaSuccess;
    if (!dev_range(ptr, bytes)) {
        fprintf(stderr, "dc-emu: cudaMemsetAsync(%p, %zu bytes): not inside one device allocation\n", ptr, bytes);
        return set_error(cudaErrorInvalidValue);
    }
    return set_error(submit(st, work{"cudaMemsetAsync", [=]() -> cudaError_t {
                                         if (!dev_range(ptr, bytes))
                                             return fault(cudaErrorIllegalAddress, "graph replays a memset of freed device memory");
                                         memset(ptr, value, bytes);
                                         return cudaSuccess;
                                     }}));
}

cudaError_t cudaMemset(void *ptr, int value, size_t bytes) {
    LOCK;
    if (capture_open()) return capture_violation("cudaMemset");
    return cudaMemsetAsync(ptr, value, bytes, nullptr);
}

/* ---------------------------------------------------------------- streams */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned int flags) {
    LOCK;
    if (!st) return set_error(cudaErrorInvalidValue);
    if (g_sticky) return g_sticky;
    CUstream_st *s = new CUstream_st{flags, 0, 0, nullptr};
    g_streams.insert(s);
    *st = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *st) { return cudaStreamCreateWithFlags(st, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t st) {
    LOCK;
    if (!st || !g_streams.count(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (st->capturing) {
        if (t_capture == st) t_capture = nullptr;
        delete st->graph;
    }
    g_streams.erase(st);
    delete st;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t st) {
    LOCK;
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    /* the capturing stream itself, or the legacy stream (which waits for it) */
    if (stream_of(st)->capturing || (!st && capture_open())) return capture_violation("cudaStreamSynchronize");
    return g_sticky; /* work ran when it was issued */
}

cudaError_t cudaStreamQuery(cudaStream_t st) {
    LOCK;
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (stream_of(st)->capturing) return capture_violation("cudaStreamQuery");
    return g_sticky;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t st, cudaStreamCaptureMode mode) {
    LOCK;
    if (g_sticky) return g_sticky;
    if (!st) return set_error(cudaErrorStreamCaptureUnsupported); /* the legacy stream cannot capture */
    if (!g_streams.count(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (st->capturing) return set_error(cudaErrorIllegalState);
    if (mode != cudaStreamCaptureModeThreadLocal && mode != cudaStreamCaptureModeGlobal &&
        mode != cudaStreamCaptureModeRelaxed)
        return set_error(cudaErrorInvalidValue);
    st->capturing = 1;
    st->invalidated = 0;
    st->graph = new CUgraph_st;
    if (mode != cudaStreamCaptureModeRelaxed) t_capture = st;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t st, cudaGraph_t *graph) {
    LOCK;
    if (!graph) return set_error(cudaErrorInvalidValue);
    *graph = nullptr;
    if (!st || !g_streams.count(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (!st->capturing) return set_error(cudaErrorIllegalState);
    if (t_capture == st) t_capture = nullptr;
    st->capturing = 0;
    cudaGraph_t g = st->graph;
    st->graph = nullptr;
    if (st->invalidated) {
        st->invalidated = 0;
        delete g;
        return set_error(cudaErrorStreamCaptureInvalidated);
    }
    *graph = g;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t st, cudaStreamCaptureStatus *status) {
    LOCK;
    if (!status) return set_error(cudaErrorInvalidValue);
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    CUstream_st *s = stream_of(st);
    *status = !s->capturing     ? cudaStreamCaptureStatusNone
              : s->invalidated ? cudaStreamCaptureStatusInvalidated
                               : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

/* ---------------------------------------------------------------- events */

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int flags) {
    if (!ev) return set_error(cudaErrorInvalidValue);
    *ev = new CUevent_st{0.0, 0};
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t ev) {
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t st) {
    LOCK;
    if (!ev) return set_error(cudaErrorInvalidResourceHandle);
    return set_error(submit(st, work{"cudaEventRecord", [ev]() -> cudaError_t {
                                         ev->ms = now_ms();
                                         ev->recorded = 1;
                                         return cudaSuccess;
                                     }}));
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev) {
    LOCK;
    if (!ev) return set_error(cudaErrorInvalidResourceHandle);
    if (capture_open()) return capture_violation("cudaEventSynchronize");
    return g_sticky;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!ms || !a || !b) return set_error(cudaErrorInvalidValue);
    if (!a->recorded || !b->recorded) return set_error(cudaErrorNotReady);
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

/* ---------------------------------------------------------------- graphs */

cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags) {
    LOCK;
    if (!exec || !g) return set_error(cudaErrorInvalidValue);
    if (flags != 0) {
        unimplemented("cudaGraphInstantiateWithFlags with flags 0x%llx", flags);
        return set_error(cudaErrorNotSupported);
    }
    *exec = new CUgraphExec_st{g->nodes};
    return g_sticky;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t st) {
    LOCK;
    if (!x) return set_error(cudaErrorInvalidValue);
    if (g_sticky) return g_sticky;
    if (!stream_ok(st)) return set_error(cudaErrorInvalidResourceHandle);
    if (stream_of(st)->capturing) {
        unimplemented("cudaGraphLaunch into a capturing stream (child graphs)");
        return set_error(cudaErrorNotSupported);
    }
    if (!st && t_capture) return capture_violation("cudaGraphLaunch on the legacy stream");
    for (auto &w : x->nodes) {
        cudaError_t e = w.run();
        if (e != cudaSuccess) return set_error(e);
    }
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x) {
    delete x;
    return cudaSuccess;
}

} /* extern "C" */
