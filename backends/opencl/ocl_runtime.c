/* ocl_runtime.c: the OpenCL backend's runtime helpers: error names and messages, the
 * program and kernel cache (kernels/<family>.cl embedded at build time, built on first use with
 * the device's build log on failure), kernel launches, scratch buffers and the two-level
 * scalar sum. Device, context and buffer management live in opencl_backend.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"
#include "ocl_kernels_gen.h"

const char *ocl_error_name(cl_int err) {
    switch (err) {
#define N(c) \
    case c: return #c;
        N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
        N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
        N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
        N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
        N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
        N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) N(CL_INVALID_VALUE)
        N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT)
        N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE) N(CL_INVALID_HOST_PTR)
        N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) N(CL_INVALID_IMAGE_SIZE)
        N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY) N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM)
        N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME) N(CL_INVALID_KERNEL_DEFINITION)
        N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX) N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE)
        N(CL_INVALID_KERNEL_ARGS) N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE)
        N(CL_INVALID_WORK_ITEM_SIZE) N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST)
        N(CL_INVALID_EVENT) N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE)
        N(CL_INVALID_MIP_LEVEL) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY)
        N(CL_INVALID_IMAGE_DESCRIPTOR) N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS)
        N(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef N
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

dc_status ocl_fail_call(const ocl_state *s, const char *call, const char *err_name, cl_int err, const char *file,
                        int line) {
    const char *rel = strstr(file, "backends/");
    /* CL_INVALID_BUFFER_SIZE: clCreateBuffer of more than the device's largest allocation */
    dc_status st = (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY ||
                    err == CL_INVALID_BUFFER_SIZE)
                       ? DC_ERR_OOM
                       : DC_ERR_BACKEND;
    return dc_fail(st, "%s failed: %s (%d) (%s) at %s:%d", call, err_name, (int)err,
                   s && s->dev_name[0] ? s->dev_name : "no device", rel ? rel : file, line);
}

/* ---------------------------------------------------------------- programs */

static const struct {
    const char *file;
    const char *src;
} k_programs[OCL_PROG_COUNT] = {
    [OCL_PROG_ELEMENTWISE] = {"elementwise.cl", ocl_src_elementwise},
    [OCL_PROG_REDUCE] = {"reduce.cl", ocl_src_reduce},
    [OCL_PROG_LOSS] = {"loss.cl", ocl_src_loss},
    [OCL_PROG_NORM] = {"norm.cl", ocl_src_norm},
    [OCL_PROG_POOL] = {"pool.cl", ocl_src_pool},
    [OCL_PROG_MISC] = {"misc.cl", ocl_src_misc},
    [OCL_PROG_MPXENT] = {"mpxent.cl", ocl_src_mpxent},
    [OCL_PROG_FFT] = {"fft.cl", ocl_src_fft},
    [OCL_PROG_GEMM] = {"gemm.cl", ocl_src_gemm},
};

/* Build failure: the message carries the head of the device's build log. */
static dc_status build_failed(ocl_state *s, cl_program p, cl_int err, const char *file, int line) {
    size_t n = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(p, s->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS && n > 0 &&
        (log = malloc(n + 1)) != NULL) {
        if (clGetProgramBuildInfo(p, s->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS) log[0] = '\0';
        log[n] = '\0';
    }
    const char *rel = strstr(__FILE__, "backends/");
    dc_status st = dc_fail(DC_ERR_BACKEND, "clBuildProgram failed: %s (%d) (%s) at %s:%d building kernels/%s "
                                           "with options '%s'; build log:\n%.640s",
                           ocl_error_name(err), (int)err, s->dev_name, rel ? rel : __FILE__, line, file,
                           s->build_opts, log && log[0] ? log : "(empty)");
    free(log);
    return st;
}

/* Caller holds s->lock. */
static dc_status program_locked(ocl_state *s, ocl_prog_id id, cl_program *out) {
    if (s->progs[id]) {
        *out = s->progs[id];
        return DC_OK;
    }
    const char *srcs[2] = {ocl_src_common, k_programs[id].src};
    cl_int err;
    cl_program p = clCreateProgramWithSource(s->ctx, 2, srcs, NULL, &err);
    if (err != CL_SUCCESS) return OCL_FAIL(s, "clCreateProgramWithSource", err);
    err = clBuildProgram(p, 1, &s->device, s->build_opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        dc_status st = build_failed(s, p, err, k_programs[id].file, __LINE__);
        clReleaseProgram(p);
        return st;
    }
    s->progs[id] = *out = p;
    return DC_OK;
}

dc_status ocl_program(dc_backend *be, ocl_prog_id id, cl_program *out) {
    ocl_state *s = ocl_st(be);
    pthread_mutex_lock(&s->lock);
    dc_status st = program_locked(s, id, out);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Caller holds s->lock. */
static dc_status kernel_locked(ocl_state *s, ocl_prog_id prog, const char *name, ocl_kernel_entry **out) {
    for (int i = 0; i < s->n_kernels; i++)
        if (s->kernels[i].prog == prog && !strcmp(s->kernels[i].name, name)) {
            *out = &s->kernels[i];
            return DC_OK;
        }
    if (s->n_kernels == OCL_MAX_KERNELS)
        return dc_fail(DC_ERR_BACKEND, "opencl: kernel cache full (%d kernels)", OCL_MAX_KERNELS);
    cl_program p = NULL;
    dc_status st = program_locked(s, prog, &p);
    if (st != DC_OK) return st;
    cl_int err;
    cl_kernel k = clCreateKernel(p, name, &err);
    if (err != CL_SUCCESS) return OCL_FAIL(s, "clCreateKernel", err);
    size_t wg = 0;
    err = clGetKernelWorkGroupInfo(k, s->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (err != CL_SUCCESS) {
        clReleaseKernel(k);
        return OCL_FAIL(s, "clGetKernelWorkGroupInfo", err);
    }
    ocl_kernel_entry *e = &s->kernels[s->n_kernels++];
    e->prog = prog;
    e->name = name;
    e->k = k;
    e->max_wg = wg ? wg : 1;
    *out = e;
    return DC_OK;
}

/* ---------------------------------------------------------------- launches */

ocl_range ocl_range1(int64_t n) {
    ocl_range r = {1, {(size_t)n, 1, 1}, {0, 0, 0}, 0};
    return r;
}

ocl_range ocl_range2(int64_t n0, int64_t n1) {
    ocl_range r = {2, {(size_t)n0, (size_t)n1, 1}, {0, 0, 0}, 0};
    return r;
}

ocl_range ocl_groups(int64_t groups) {
    ocl_range r = {1, {(size_t)groups, 1, 1}, {0, 0, 0}, (size_t)groups};
    return r;
}

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

dc_status ocl_launch(dc_backend *be, ocl_prog_id prog, const char *name, ocl_range r, int n_args,
                     const ocl_arg *args) {
    ocl_state *s = ocl_st(be);
    for (cl_uint d = 0; d < r.dims; d++)
        if (r.global[d] == 0) return DC_OK; /* nothing to do */
    pthread_mutex_lock(&s->lock);
    ocl_kernel_entry *e = NULL;
    dc_status st = kernel_locked(s, prog, name, &e);
    if (st == DC_OK && r.groups) { /* reductions: a power of two <= RED_MAX (256) */
        size_t lim = e->max_wg < s->max_wg ? e->max_wg : s->max_wg, l = 1;
        while (l * 2 <= lim && l < 256) l *= 2;
        r.local[0] = l;
        r.local[1] = r.local[2] = 1;
        r.global[0] = r.groups * l;
    } else if (st == DC_OK && r.local[0] == 0) { /* 1-d: 64 work-items a group; 2-d: 64 x 1 */
        size_t l = e->max_wg < 64 ? e->max_wg : 64;
        r.local[0] = l;
        r.local[1] = r.local[2] = 1;
        r.global[0] = round_up(r.global[0], l);
    }
    if (st == DC_OK && r.local[0] * r.local[1] * r.local[2] > e->max_wg)
        st = dc_fail(DC_ERR_BACKEND, "opencl: kernel %s needs %zu work-items per group, %s allows %zu", name,
                     r.local[0] * r.local[1] * r.local[2], s->dev_name, e->max_wg);
    for (int i = 0; st == DC_OK && i < n_args; i++) {
        cl_int err = clSetKernelArg(e->k, (cl_uint)i, args[i].size, args[i].ptr);
        if (err != CL_SUCCESS) {
            st = OCL_FAIL(s, "clSetKernelArg", err);
            dc_fail_prefix("kernel %s, argument %d", name, i);
        }
    }
    if (st == DC_OK) {
        cl_int err = clEnqueueNDRangeKernel(s->queue, e->k, r.dims, NULL, r.global, r.local, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            st = OCL_FAIL(s, "clEnqueueNDRangeKernel", err);
            dc_fail_prefix("kernel %s", name);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ---------------------------------------------------------------- scratch, sums, views */

dc_status ocl_scratch(dc_backend *be, int slot, size_t bytes, cl_mem *out) {
    ocl_state *s = ocl_st(be);
    if (bytes < 64) bytes = 64;
    if (s->scratch[slot] && s->scratch_bytes[slot] >= bytes) {
        *out = s->scratch[slot];
        return DC_OK;
    }
    if (s->scratch[slot]) clReleaseMemObject(s->scratch[slot]); /* deferred while kernels still use it */
    s->scratch[slot] = NULL;
    s->scratch_bytes[slot] = 0;
    size_t want = bytes + bytes / 2;
    cl_int err;
    cl_mem m = clCreateBuffer(s->ctx, CL_MEM_READ_WRITE, want, NULL, &err);
    if (err != CL_SUCCESS) return OCL_FAIL(s, "clCreateBuffer", err);
    s->scratch[slot] = *out = m;
    s->scratch_bytes[slot] = want;
    return DC_OK;
}

dc_status ocl_sum_to_scalar(dc_backend *be, cl_mem x, int64_t n, double scale, const dc_tensor *out) {
    int64_t groups = (n + 255) / 256; /* at most 64 groups grid-striding over x */
    if (groups > 64) groups = 64;
    if (groups < 1) groups = 1;
    cl_mem part;
    dc_status st = ocl_scratch(be, OCL_SCR_PARTIAL, (size_t)groups * sizeof(float), &part);
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_REDUCE, "sum_partial_f32", ocl_groups(groups), OA_MEM(x), OA_L(0), OA_L(n),
                        OA_MEM(part));
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_REDUCE, "sum_finish_f32", ocl_groups(1), OA_MEM(part), OA_L(groups),
                        OA_T(out), OA_F(scale));
    return st;
}

cl_long4 ocl_shape4(const dc_tensor *t) {
    cl_long4 v;
    int off = 4 - t->ndim;
    for (int i = 0; i < 4; i++) v.s[i] = i < off ? 1 : t->shape[i - off];
    return v;
}

cl_long4 ocl_strides4(const dc_tensor *t) {
    cl_long4 v;
    int off = 4 - t->ndim;
    for (int i = 0; i < 4; i++) v.s[i] = i < off ? 0 : t->stride[i - off];
    return v;
}
