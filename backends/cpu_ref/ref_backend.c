/* ref_backend.c: the vtable of the reference backend "cpu-ref", its host memory, and the
 * load/store helpers every kernel uses (any strides and dtype <-> row-major float64).
 * Not here: the kernels (ref_<family>.c). Lowest priority: opened only by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_kernels.h"

static int ref_device_count(char *why, size_t cap) { return 1; }

static dc_status ref_device_desc(int device, char *buf, size_t cap) {
    snprintf(buf, cap, "host CPU, naive float64 reference kernels, one thread");
    return DC_OK;
}

static dc_status ref_init(dc_backend *be, int device) { return DC_OK; }
static void ref_shutdown(dc_backend *be) {}

static dc_status ref_buf_alloc(dc_backend *be, size_t bytes, dc_buffer *out) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) return dc_fail(DC_ERR_OOM, "cpu-ref: cannot allocate %zu bytes of host memory", bytes);
    out->ptr = p;
    out->size = bytes;
    return DC_OK;
}

static void ref_buf_free(dc_backend *be, dc_buffer *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
}

static dc_status ref_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes) {
    if (off > dst->size || bytes > dst->size - off)
        return dc_fail(DC_ERR_ARG, "cpu-ref upload: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off, dst->size);
    memcpy((char *)dst->ptr + off, src, bytes);
    return DC_OK;
}

static dc_status ref_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes) {
    if (off > src->size || bytes > src->size - off)
        return dc_fail(DC_ERR_ARG, "cpu-ref download: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off, src->size);
    memcpy(dst, (const char *)src->ptr + off, bytes);
    return DC_OK;
}

/* ---------------------------------------------------------------- load / store */

/* Byte address of the element with row-major index k of t. */
static char *element_at(const dc_tensor *t, int64_t k) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t i = t->shape[d] ? k % t->shape[d] : 0;
        k = t->shape[d] ? k / t->shape[d] : 0;
        off += i * t->stride[d];
    }
    return (char *)t->buf->ptr + t->offset + off * (int64_t)dc_dtype_size(t->dtype);
}

static int64_t numel(const dc_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Byte address of element k: direct for dense row-major tensors (the common case), else
 * through the strides. */
static char *element(const dc_tensor *t, int contiguous, int64_t k) {
    if (contiguous) return (char *)t->buf->ptr + t->offset + k * (int64_t)dc_dtype_size(t->dtype);
    return element_at(t, k);
}

double *ref_zeros(int64_t n) {
    double *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    if (!v) dc_fail(DC_ERR_OOM, "cpu-ref: out of host memory for %lld doubles", (long long)n);
    return v;
}

double *ref_load(const dc_tensor *t) {
    int64_t n = numel(t);
    double *v = ref_zeros(n);
    if (!v) return NULL;
    const int contiguous = dc_tensor_is_contiguous(t);
    for (int64_t k = 0; k < n; k++) {
        const char *p = element(t, contiguous, k);
        switch (t->dtype) {
        case DC_F32: { float x; memcpy(&x, p, 4); v[k] = x; break; }
        case DC_F64: memcpy(&v[k], p, 8); break;
        case DC_I32: { int32_t x; memcpy(&x, p, 4); v[k] = x; break; }
        default: v[k] = (unsigned char)*p; break;
        }
    }
    return v;
}

void ref_store(dc_tensor *t, const double *v) {
    int64_t n = numel(t);
    const int contiguous = dc_tensor_is_contiguous(t);
    for (int64_t k = 0; k < n; k++) {
        char *p = element(t, contiguous, k);
        switch (t->dtype) {
        case DC_F32: { float x = (float)v[k]; memcpy(p, &x, 4); break; }
        case DC_F64: memcpy(p, &v[k], 8); break;
        case DC_I32: { int32_t x = (int32_t)v[k]; memcpy(p, &x, 4); break; }
        default: *p = (char)(unsigned char)v[k]; break;
        }
    }
}

/* ---------------------------------------------------------------- the vtable */

static const dc_backend_vtbl ref_vtbl = {
    .abi_version = DC_BACKEND_ABI,
    .name = "cpu-ref",
    .device_count = ref_device_count,
    .device_desc = ref_device_desc,
    .init = ref_init,
    .shutdown = ref_shutdown,
    .buf_alloc = ref_buf_alloc,
    .buf_free = ref_buf_free,
    .upload = ref_upload,
    .download = ref_download,
    .supports_f64 = 1,
    .deterministic = 1,
    .kernels =
        {
            [DC_OP_COPY] = ref_copy,
            [DC_OP_FILL] = ref_fill,
            [DC_OP_ADD] = ref_binary,
            [DC_OP_SUB] = ref_binary,
            [DC_OP_MUL] = ref_binary,
            [DC_OP_DIV] = ref_binary,
            [DC_OP_ATAN2] = ref_binary,
            [DC_OP_SCALE] = ref_scale,
            [DC_OP_MASKED_FILL] = ref_masked_fill,
            [DC_OP_RELU] = ref_unary,
            [DC_OP_SIGMOID] = ref_unary,
            [DC_OP_TANH] = ref_unary,
            [DC_OP_EXP] = ref_unary,
            [DC_OP_LOG] = ref_unary,
            [DC_OP_SQRT] = ref_unary,
            [DC_OP_ACT_BACK] = ref_act_back,
            [DC_OP_SUM] = ref_sum,
            [DC_OP_MATMUL] = ref_matmul,
            [DC_OP_BATCHNORM] = ref_batchnorm,
            [DC_OP_BATCHNORM_BACK] = ref_batchnorm_back,
            [DC_OP_L2NORM] = ref_l2norm,
            [DC_OP_L2NORM_BACK] = ref_l2norm_back,
            [DC_OP_LOG_SOFTMAX] = ref_log_softmax,
            [DC_OP_LOG_SOFTMAX_BACK] = ref_log_softmax_back,
            [DC_OP_CROSS_ENTROPY] = ref_cross_entropy,
            [DC_OP_MSE] = ref_mse,
            [DC_OP_MPXENT] = ref_mpxent,
            [DC_OP_BCE_LOGITS] = ref_bce_logits,
            [DC_OP_GATHER] = ref_gather,
            [DC_OP_GATHER_BACK] = ref_gather_back,
            [DC_OP_MAXPOOL1D] = ref_maxpool1d,
            [DC_OP_MAXPOOL1D_BACK] = ref_maxpool1d_back,
            [DC_OP_RFFT] = ref_rfft,
            [DC_OP_IRFFT] = ref_irfft,
            [DC_OP_RNG] = ref_rng,
            [DC_OP_ADAMW] = ref_adamw,
            [DC_OP_LINEAR_BN] = ref_linear_bn,
            [DC_OP_LINEAR_BN_BACK] = ref_linear_bn_back,
            [DC_OP_MARGIN] = ref_margin,
        },
};

const dc_backend_vtbl *dc_backend_cpu_ref_vtbl(void) { return &ref_vtbl; }
