/* emu_internal.h: state shared by the CUDA emulation's runtime (emu_runtime.cpp), kernel
 * scheduler (emu_launch.cpp) and library stand-ins (emu_blas.cpp, emu_fft.cpp): the one
 * lock, device allocations, streams and graphs as lists of work, errors and faults.
 * Not seen by the backend, which only includes the emulated NVIDIA headers.
 */
#ifndef DC_EMU_INTERNAL_H
#define DC_EMU_INTERNAL_H

#define DC_EMU_RUNTIME_SOURCE 1 /* the host-side emulation: the real libm (cuda_runtime.h) */
#include <cuda_runtime.h>

#include <stdarg.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

struct CUstream_st {
    unsigned flags;
    int capturing;   /* a capture is open on this stream */
    int invalidated; /* ... and an illegal call broke it */
    cudaGraph_t graph;
};

namespace dc_emu {

/* One unit of stream work: a kernel grid, a copy, a library call. */
struct work {
    std::string what;
    std::function<cudaError_t()> run;
};

extern std::recursive_mutex &g_mu; /* every API entry holds it; kernels run under it */

/* Errors: the last (non-sticky) error as cudaGetLastError returns it, and a sticky fault
 * (a kernel that failed) that every later call reports until cudaDeviceReset. */
cudaError_t set_error(cudaError_t e);
cudaError_t sticky();
/* Record a kernel fault: message to stderr and dc_emu_last_fault(), sticky launch failure. */
cudaError_t fault(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cudaError_t vfault(cudaError_t e, const char *fmt, va_list ap);
/* Print why an argument is not emulated (the call then returns an error). */
void unimplemented(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Device allocations: is [p, p + bytes) inside one live allocation? */
int dev_range(const void *p, size_t bytes);
/* Copies of every live allocation (racecheck), and restoring / comparing them. */
struct snapshot {
    std::vector<std::pair<char *, std::string>> blocks;
};
void snapshot_take(snapshot &s);
void snapshot_restore(const snapshot &s);
/* First byte where live memory differs from s: "" when none, else a description. */
std::string snapshot_diff(const snapshot &s);
/* Mark an allocation as a library workspace that kernels never touch (not snapshotted). */
void dev_mark_workspace(const void *p);

/* Run w now, or append it to the graph being captured on stream st. */
cudaError_t submit(cudaStream_t st, work w);
/* 1 if the calling thread has a capture open (ThreadLocal/Global modes forbid unsafe calls);
 * an unsafe call then invalidates that capture and returns cudaErrorStreamCaptureUnsupported. */
int capture_open();
cudaError_t capture_violation(const char *call);

/* emu_launch.cpp: run one grid (schedule and racecheck as configured). */
cudaError_t run_grid(const kernel_info &k, dim3 grid, dim3 block, const std::function<void()> &body);
unsigned long long launches();

} /* namespace dc_emu */

#endif
