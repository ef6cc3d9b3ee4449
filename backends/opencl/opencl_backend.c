/* opencl_backend.c: the OpenCL backend's vtable, device enumeration, context and queue,
 * buffers and transfers (OpenCL 1.2 through the ICD loader). The kernels live in
 * ocl_<family>.c; device numbering and the DYNACL_OPENCL_* variables: README.md here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

#if DC_HAVE_CLBLAST
#include <clblast_c.h>
#endif
#if DC_HAVE_CLFFT
#include <clFFT.h>
#endif

#define OCL_MAX_DEVICES 64

typedef struct ocl_dev {
    cl_platform_id platform;
    cl_device_id device;
} ocl_dev;

/* Usable devices in backend order: GPUs and accelerators first, then the others (CPUs),
 * each group in platform order and within a platform in its own order. Unavailable
 * devices and devices without a compiler are skipped. Returns the count, and why none. */
static int enumerate(ocl_dev *out, char *why, size_t cap) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(16, plats, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0)) {
        if (why) snprintf(why, cap, "no OpenCL platform found (is an ICD such as pocl-opencl-icd installed?)");
        return 0;
    }
    if (err != CL_SUCCESS) {
        if (why) snprintf(why, cap, "clGetPlatformIDs failed: %s (%d)", ocl_error_name(err), (int)err);
        return 0;
    }
    if (np > 16) np = 16;
    int n = 0, skipped = 0;
    for (int pass = 0; pass < 2; pass++) /* GPUs and accelerators, then the rest */
        for (cl_uint p = 0; p < np; p++) {
            cl_device_id devs[OCL_MAX_DEVICES];
            cl_uint nd = 0;
            if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, devs, &nd) != CL_SUCCESS) continue;
            if (nd > OCL_MAX_DEVICES) nd = OCL_MAX_DEVICES;
            for (cl_uint d = 0; d < nd && n < OCL_MAX_DEVICES; d++) {
                cl_device_type type = 0;
                cl_bool avail = CL_FALSE, compiler = CL_FALSE;
                int ok = clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS;
                int gpu = (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
                if (gpu != (pass == 0)) continue;
                ok = ok && clGetDeviceInfo(devs[d], CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL) == CL_SUCCESS &&
                     clGetDeviceInfo(devs[d], CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL) ==
                         CL_SUCCESS;
                if (!ok || !avail || !compiler) {
                    skipped++;
                    continue;
                }
                if (out) out[n] = (ocl_dev){plats[p], devs[d]};
                n++;
            }
        }
    if (n == 0 && why)
        snprintf(why, cap, "%u OpenCL platform(s) but no usable device%s", (unsigned)np,
                 skipped ? " (devices unavailable or without a compiler)" : "");
    return n;
}

static int ocl_device_count(char *why, size_t cap) { return enumerate(NULL, why, cap); }

static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t cap) {
    if (clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS) snprintf(buf, cap, "?");
    buf[cap - 1] = '\0';
}

static dc_status ocl_device_desc(int device, char *buf, size_t cap) {
    ocl_dev devs[OCL_MAX_DEVICES];
    char why[256];
    int n = enumerate(devs, why, sizeof why);
    if (device < 0 || device >= n) return dc_fail(DC_ERR_ARG, "opencl: no device %d (%d found)", device, n);
    char name[128], plat[128], ver[64];
    cl_uint cus = 0;
    cl_ulong mem = 0;
    device_string(devs[device].device, CL_DEVICE_NAME, name, sizeof name);
    device_string(devs[device].device, CL_DEVICE_OPENCL_C_VERSION, ver, sizeof ver);
    if (clGetPlatformInfo(devs[device].platform, CL_PLATFORM_NAME, sizeof plat, plat, NULL) != CL_SUCCESS)
        snprintf(plat, sizeof plat, "?");
    plat[sizeof plat - 1] = '\0';
    clGetDeviceInfo(devs[device].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    clGetDeviceInfo(devs[device].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    snprintf(buf, cap, "%s (%s, %s, %u compute units, %llu MiB)", name, plat, ver, cus,
             (unsigned long long)(mem >> 20));
    return DC_OK;
}

/* ---------------------------------------------------------------- CLBlast / clFFT */

static pthread_mutex_t g_libs_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_libs_users;

dc_status ocl_libs_acquire(ocl_state *s) {
    dc_status st = DC_OK;
    pthread_mutex_lock(&g_libs_lock);
#if DC_HAVE_CLFFT
    if (g_libs_users == 0) {
        clfftSetupData sd = {clfftVersionMajor, clfftVersionMinor, clfftVersionPatch, 0};
        clfftStatus e = clfftSetup(&sd);
        if (e != CLFFT_SUCCESS) st = OCL_FAIL(s, "clfftSetup", (cl_int)e);
    }
#endif
    if (st == DC_OK) {
        g_libs_users++;
        s->libs_held = 1;
    }
    pthread_mutex_unlock(&g_libs_lock);
    return st;
}

void ocl_libs_release(ocl_state *s) {
    if (!s->libs_held) return;
    pthread_mutex_lock(&g_libs_lock);
    if (--g_libs_users == 0) {
#if DC_HAVE_CLFFT
        clfftTeardown();
#endif
#if DC_HAVE_CLBLAST
        CLBlastClearCache();
#endif
    }
    s->libs_held = 0;
    pthread_mutex_unlock(&g_libs_lock);
}

/* ---------------------------------------------------------------- init / shutdown */

static void ocl_shutdown(dc_backend *be) {
    ocl_state *s = be->impl;
    if (!s) return;
    if (s->queue) clFinish(s->queue);
    ocl_fft_cache_free(s);
    for (int i = 0; i < s->n_kernels; i++) clReleaseKernel(s->kernels[i].k);
    for (int i = 0; i < OCL_PROG_COUNT; i++)
        if (s->progs[i]) clReleaseProgram(s->progs[i]);
    for (int i = 0; i < OCL_SCR_COUNT; i++)
        if (s->scratch[i]) clReleaseMemObject(s->scratch[i]);
    ocl_libs_release(s);
    if (s->queue) clReleaseCommandQueue(s->queue);
    if (s->ctx) clReleaseContext(s->ctx);
    pthread_mutex_destroy(&s->lock);
    free(s);
    be->impl = NULL;
}

/* The device index to open: explicit N >= 1, else $DYNACL_OPENCL_DEVICE (default 0). */
static dc_status pick_device(int device, int n, int *out) {
    const char *env = getenv("DYNACL_OPENCL_DEVICE");
    if (device == 0 && env && *env) {
        char *end = NULL;
        long d = strtol(env, &end, 10);
        if (end == env || *end || d < 0)
            return dc_fail(DC_ERR_ARG, "DYNACL_OPENCL_DEVICE='%s' is not a device index (0, 1, ...)", env);
        device = (int)d;
    }
    if (device >= n)
        return dc_fail(DC_ERR_BACKEND, "opencl: device %d requested%s but %d device(s) found (see `dynacl backends`)",
                       device, env && *env ? " (DYNACL_OPENCL_DEVICE)" : "", n);
    *out = device;
    return DC_OK;
}

static dc_status ocl_init(dc_backend *be, int device) {
    ocl_dev devs[OCL_MAX_DEVICES];
    char why[256] = "";
    int n = enumerate(devs, why, sizeof why), d;
    if (n == 0) return dc_fail(DC_ERR_BACKEND, "opencl: %s", why);
    dc_status st = pick_device(device, n, &d);
    if (st != DC_OK) return st;
    ocl_state *s = calloc(1, sizeof *s);
    if (!s) return dc_fail(DC_ERR_OOM, "opencl: out of host memory");
    pthread_mutex_init(&s->lock, NULL);
    be->impl = s;
    s->platform = devs[d].platform;
    s->device = devs[d].device;
    device_string(s->device, CL_DEVICE_NAME, s->dev_name, sizeof s->dev_name);
    snprintf(be->name, sizeof be->name, "opencl:%d", d);
    cl_int err = clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof s->max_wg, &s->max_wg, NULL);
    if (err != CL_SUCCESS) {
        st = OCL_FAIL(s, "clGetDeviceInfo", err);
        ocl_shutdown(be);
        return st;
    }
    const char *extra = getenv("DYNACL_OPENCL_BUILD_OPTIONS");
    snprintf(s->build_opts, sizeof s->build_opts, "-cl-std=CL1.2%s%s", extra && *extra ? " " : "",
             extra ? extra : "");
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)s->platform, 0};
    s->ctx = clCreateContext(props, 1, &s->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) st = OCL_FAIL(s, "clCreateContext", err);
    if (st == DC_OK) {
        /* in order, so kernels need no events; profiling on for the profiler's markers (free on
         * PoCL and NVIDIA: the runtimes take the timestamps anyway) */
        s->queue = clCreateCommandQueue(s->ctx, s->device, CL_QUEUE_PROFILING_ENABLE, &err);
        if (err != CL_SUCCESS) st = OCL_FAIL(s, "clCreateCommandQueue", err);
    }
    if (st == DC_OK) st = ocl_libs_acquire(s);
    if (st != DC_OK) ocl_shutdown(be);
    return st;
}

/* ---------------------------------------------------------------- memory */

static dc_status ocl_buf_alloc(dc_backend *be, size_t bytes, dc_buffer *out) {
    ocl_state *s = ocl_st(be);
    cl_int err;
    cl_mem m = clCreateBuffer(s->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 16, NULL, &err);
    if (err != CL_SUCCESS) {
        OCL_FAIL(s, "clCreateBuffer", err);
        return dc_fail_prefix("opencl: allocating %zu bytes", bytes);
    }
    out->ptr = m;
    out->size = bytes;
    return DC_OK;
}

static void ocl_buf_free(dc_backend *be, dc_buffer *buf) {
    if (buf->ptr) clReleaseMemObject((cl_mem)buf->ptr);
    buf->ptr = NULL;
}

static dc_status ocl_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes) {
    ocl_state *s = ocl_st(be);
    if (off + bytes > dst->size)
        return dc_fail(DC_ERR_ARG, "opencl upload: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off, dst->size);
    if (bytes == 0) return DC_OK;
    /* blocking: the caller may free src as soon as this returns */
    OCL_CALL(s, clEnqueueWriteBuffer, (s->queue, (cl_mem)dst->ptr, CL_TRUE, off, bytes, src, 0, NULL, NULL));
    return DC_OK;
}

static dc_status ocl_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes) {
    ocl_state *s = ocl_st(be);
    if (off + bytes > src->size)
        return dc_fail(DC_ERR_ARG, "opencl download: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off,
                       src->size);
    if (bytes == 0) return DC_OK;
    OCL_CALL(s, clEnqueueReadBuffer, (s->queue, (cl_mem)src->ptr, CL_TRUE, off, bytes, dst, 0, NULL, NULL));
    return DC_OK;
}

static dc_status ocl_sync(dc_backend *be) {
    ocl_state *s = ocl_st(be);
    OCL_CALL(s, clFinish, (s->queue));
    return DC_OK;
}

/* Profiler timer (dc_profile.h): a marker event in the in-order queue completes when every
 * command before it has; two markers' completion times bracket the kernels between them. */
static dc_status ocl_timer_mark(dc_backend *be, void **mark) {
    ocl_state *s = ocl_st(be);
    cl_event ev = NULL;
    OCL_CALL(s, clEnqueueMarkerWithWaitList, (s->queue, 0, NULL, &ev));
    *mark = ev;
    return DC_OK;
}

static dc_status ocl_timer_elapsed(dc_backend *be, void *start, void *end, double *ms) {
    ocl_state *s = ocl_st(be);
    cl_event ev[2] = {(cl_event)start, (cl_event)end};
    cl_ulong t[2] = {0, 0};
    OCL_CALL(s, clWaitForEvents, (2, ev));
    for (int i = 0; i < 2; i++)
        OCL_CALL(s, clGetEventProfilingInfo, (ev[i], CL_PROFILING_COMMAND_END, sizeof t[i], &t[i], NULL));
    *ms = t[1] > t[0] ? (double)(t[1] - t[0]) * 1e-6 : 0.0;
    return DC_OK;
}

static void ocl_timer_free(dc_backend *be, void *mark) {
    if (mark) clReleaseEvent((cl_event)mark);
}

static const dc_backend_vtbl ocl_vtbl = {
    .abi_version = DC_BACKEND_ABI,
    .name = "opencl",
    .device_count = ocl_device_count,
    .device_desc = ocl_device_desc,
    .init = ocl_init,
    .shutdown = ocl_shutdown,
    .buf_alloc = ocl_buf_alloc,
    .buf_free = ocl_buf_free,
    .upload = ocl_upload,
    .download = ocl_download,
    .sync = ocl_sync,
    .supports_f64 = 0,
    .timer_mark = ocl_timer_mark,
    .timer_elapsed = ocl_timer_elapsed,
    .timer_free = ocl_timer_free,
    /* every sum has a fixed order (no atomics; scatter-adds loop in order, pool.cl) */
    .deterministic = 1,
    .kernels = {
        [DC_OP_COPY] = ocl_copy, [DC_OP_FILL] = ocl_fill, [DC_OP_ADD] = ocl_binary, [DC_OP_SUB] = ocl_binary,
        [DC_OP_MUL] = ocl_binary, [DC_OP_DIV] = ocl_binary, [DC_OP_ATAN2] = ocl_binary,
        [DC_OP_SCALE] = ocl_scale, [DC_OP_MASKED_FILL] = ocl_masked_fill, [DC_OP_RELU] = ocl_unary,
        [DC_OP_SIGMOID] = ocl_unary, [DC_OP_TANH] = ocl_unary, [DC_OP_EXP] = ocl_unary, [DC_OP_LOG] = ocl_unary,
        [DC_OP_SQRT] = ocl_unary, [DC_OP_ACT_BACK] = ocl_act_back, [DC_OP_SUM] = ocl_sum,
        [DC_OP_MATMUL] = ocl_matmul, [DC_OP_BATCHNORM] = ocl_batchnorm, [DC_OP_BATCHNORM_BACK] = ocl_batchnorm_back,
        [DC_OP_L2NORM] = ocl_l2norm, [DC_OP_L2NORM_BACK] = ocl_l2norm_back, [DC_OP_LOG_SOFTMAX] = ocl_log_softmax,
        [DC_OP_LOG_SOFTMAX_BACK] = ocl_log_softmax_back, [DC_OP_CROSS_ENTROPY] = ocl_cross_entropy,
        [DC_OP_MSE] = ocl_mse, [DC_OP_BCE_LOGITS] = ocl_bce_logits, [DC_OP_MPXENT] = ocl_mpxent,
        [DC_OP_MAXPOOL1D] = ocl_maxpool1d, [DC_OP_MAXPOOL1D_BACK] = ocl_maxpool1d_back, [DC_OP_GATHER] = ocl_gather,
        [DC_OP_GATHER_BACK] = ocl_gather_back, [DC_OP_RFFT] = ocl_rfft, [DC_OP_IRFFT] = ocl_irfft,
        [DC_OP_RNG] = ocl_rng, [DC_OP_ADAMW] = ocl_adamw,
    },
};

const dc_backend_vtbl *dc_backend_opencl_vtbl(void) { return &ocl_vtbl; }
