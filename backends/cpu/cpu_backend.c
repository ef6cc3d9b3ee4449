/* cpu_backend.c: the "cpu" backend's vtable, memory and state (an FFT plan cache).
 * Kernels: OpenMP-parallel, blocked GEMM, a symmetric MP-Xent (cpu_<family>.c). Not here:
 * the independent reference "cpu-ref" (backends/cpu_ref/), against which the conformance
 * suite checks this backend like any other.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_fft.h"
#include "cpu_kernels.h"

#define FFT_CACHE 16

struct cpu_state {
    pthread_mutex_t lock;
    cpu_fft_plan *plans[FFT_CACHE];
};

cpu_view4 cpu_view4_of(const dc_tensor *t) {
    cpu_view4 v;
    int off = 4 - t->ndim;
    for (int i = 0; i < 4; i++) {
        v.n[i] = i < off ? 1 : t->shape[i - off];
        v.s[i] = i < off ? 0 : t->stride[i - off];
    }
    return v;
}

static int cpu_device_count(char *why, size_t cap) {
    (void)why;
    (void)cap;
    return 1;
}

static dc_status cpu_device_desc(int device, char *buf, size_t cap) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    snprintf(buf, cap, "host CPU, %d thread%s", threads, threads == 1 ? "" : "s");
    return DC_OK;
}

static dc_status cpu_init(dc_backend *be, int device) {
    cpu_state *s = calloc(1, sizeof *s);
    if (!s) return dc_fail(DC_ERR_OOM, "cpu: out of host memory");
    pthread_mutex_init(&s->lock, NULL);
    be->impl = s;
    return DC_OK;
}

static void cpu_shutdown(dc_backend *be) {
    cpu_state *s = be->impl;
    if (!s) return;
    for (int i = 0; i < FFT_CACHE; i++) cpu_fft_plan_free(s->plans[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
    be->impl = NULL;
}

const struct cpu_fft_plan *cpu_fft_plan_cached(dc_backend *be, int64_t n) {
    cpu_state *s = be->impl;
    const cpu_fft_plan *found = NULL;
    pthread_mutex_lock(&s->lock);
    int free_slot = -1;
    for (int i = 0; i < FFT_CACHE && !found; i++) {
        if (s->plans[i] && cpu_fft_plan_len(s->plans[i]) == n) found = s->plans[i];
        else if (!s->plans[i] && free_slot < 0) free_slot = i;
    }
    if (!found) {
        cpu_fft_plan *p = cpu_fft_plan_new(n);
        if (p) {
            if (free_slot < 0) { /* evict slot 0, shift */
                cpu_fft_plan_free(s->plans[0]);
                memmove(s->plans, s->plans + 1, (FFT_CACHE - 1) * sizeof s->plans[0]);
                free_slot = FFT_CACHE - 1;
            }
            s->plans[free_slot] = p;
            found = p;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

static dc_status cpu_buf_alloc(dc_backend *be, size_t bytes, dc_buffer *out) {
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0 || !p)
        return dc_fail(DC_ERR_OOM, "cpu: cannot allocate %zu bytes of host memory", bytes);
    out->ptr = p;
    out->size = bytes;
    return DC_OK;
}

static void cpu_buf_free(dc_backend *be, dc_buffer *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
}

static dc_status cpu_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes) {
    if (off + bytes > dst->size) return dc_fail(DC_ERR_ARG, "cpu upload: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off, dst->size);
    memcpy((char *)dst->ptr + off, src, bytes);
    return DC_OK;
}

static dc_status cpu_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes) {
    if (off + bytes > src->size) return dc_fail(DC_ERR_ARG, "cpu download: %zu bytes at %zu overflow a %zu-byte buffer", bytes, off, src->size);
    memcpy(dst, (const char *)src->ptr + off, bytes);
    return DC_OK;
}

/* Profiler timer (dc_profile.h): kernels run synchronously, so a mark is the time now, in
 * nanoseconds, carried in the pointer itself (a heap cell where pointers are narrower). */
static dc_status cpu_timer_mark(dc_backend *be, void **mark) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (sizeof(void *) >= sizeof ns) {
        *mark = (void *)(uintptr_t)ns;
        return DC_OK;
    }
    uint64_t *cell = malloc(sizeof *cell);
    if (!cell) return dc_fail(DC_ERR_OOM, "cpu timer: out of host memory");
    *cell = ns;
    *mark = cell;
    return DC_OK;
}

static uint64_t cpu_mark_ns(void *mark) {
    return sizeof(void *) >= sizeof(uint64_t) ? (uint64_t)(uintptr_t)mark : *(const uint64_t *)mark;
}

static dc_status cpu_timer_elapsed(dc_backend *be, void *start, void *end, double *ms) {
    *ms = (double)(cpu_mark_ns(end) - cpu_mark_ns(start)) * 1e-6;
    return DC_OK;
}

static void cpu_timer_free(dc_backend *be, void *mark) {
    if (sizeof(void *) < sizeof(uint64_t)) free(mark);
}

static const dc_backend_vtbl cpu_vtbl = {
    .abi_version = DC_BACKEND_ABI,
    .name = "cpu",
    .device_count = cpu_device_count,
    .device_desc = cpu_device_desc,
    .init = cpu_init,
    .shutdown = cpu_shutdown,
    .buf_alloc = cpu_buf_alloc,
    .buf_free = cpu_buf_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .supports_f64 = 1,
    .timer_mark = cpu_timer_mark,
    .timer_elapsed = cpu_timer_elapsed,
    .timer_free = cpu_timer_free,
    /* OpenMP loops split rows statically and every sum runs in a fixed order: the same
     * calls with the same thread count give the same bits */
    .deterministic = 1,
    .kernels =
        {
            [DC_OP_COPY] = cpu_copy, [DC_OP_FILL] = cpu_fill, [DC_OP_ADD] = cpu_binary, [DC_OP_SUB] = cpu_binary,
            [DC_OP_MUL] = cpu_binary, [DC_OP_DIV] = cpu_binary, [DC_OP_SCALE] = cpu_scale,
            [DC_OP_MASKED_FILL] = cpu_masked_fill, [DC_OP_RELU] = cpu_unary, [DC_OP_SIGMOID] = cpu_unary,
            [DC_OP_TANH] = cpu_unary, [DC_OP_EXP] = cpu_unary, [DC_OP_LOG] = cpu_unary, [DC_OP_SQRT] = cpu_unary,
            [DC_OP_ATAN2] = cpu_binary, [DC_OP_BCE_LOGITS] = cpu_bce_logits, [DC_OP_GATHER] = cpu_gather,
            [DC_OP_GATHER_BACK] = cpu_gather_back, [DC_OP_IRFFT] = cpu_irfft, [DC_OP_ACT_BACK] = cpu_act_back,
            [DC_OP_SUM] = cpu_sum, [DC_OP_BATCHNORM] = cpu_batchnorm, [DC_OP_BATCHNORM_BACK] = cpu_batchnorm_back,
            [DC_OP_L2NORM] = cpu_l2norm, [DC_OP_L2NORM_BACK] = cpu_l2norm_back,
            [DC_OP_LOG_SOFTMAX] = cpu_log_softmax, [DC_OP_LOG_SOFTMAX_BACK] = cpu_log_softmax_back,
            [DC_OP_CROSS_ENTROPY] = cpu_cross_entropy, [DC_OP_MSE] = cpu_mse, [DC_OP_MAXPOOL1D] = cpu_maxpool1d,
            [DC_OP_MAXPOOL1D_BACK] = cpu_maxpool1d_back, [DC_OP_RFFT] = cpu_rfft, [DC_OP_RNG] = cpu_rng,
            [DC_OP_ADAMW] = cpu_adamw, [DC_OP_MATMUL] = cpu_matmul, [DC_OP_MPXENT] = cpu_mpxent,
            [DC_OP_LINEAR_BN] = cpu_linear_bn, [DC_OP_LINEAR_BN_BACK] = cpu_linear_bn_back, [DC_OP_MARGIN] = cpu_margin,
        },
};

const dc_backend_vtbl *dc_backend_cpu_vtbl(void) { return &cpu_vtbl; }
