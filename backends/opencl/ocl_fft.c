/* ocl_fft.c: RFFT and IRFFT of any length as one forward complex DFT of the rows, packed
 * and unpacked by kernels/fft.cl: a clFFT plan for 2,3,5,7,11,13-smooth lengths, Bluestein
 * on a power-of-two clFFT plan (M >= 2n - 1) for any other length (119 = 7*17, 178 = 2*89,
 * primes), or a direct O(n^2) DFT kernel when built without clFFT. Plans, chirps and
 * twiddle tables are cached in the backend state.
 */
#include <math.h>
#include <stdlib.h>

#include "ocl_internal.h"

#if DC_HAVE_CLFFT
#include <clFFT.h>
#endif

#define FFT_CACHE 16

typedef struct fft_plan {
    int64_t len, rows; /* 0 = empty slot */
    int unsupported;   /* clFFT cannot factor len: remembered, no handle */
#if DC_HAVE_CLFFT
    clfftPlanHandle h;
#endif
} fft_plan;

typedef struct fft_table { /* per length n: chirp w_j (n) and fft of the padded conjugate chirp (M), or twiddles */
    int64_t n, M;
    cl_mem a, b;
} fft_table;

struct ocl_fft_cache {
    fft_plan plans[FFT_CACHE];
    fft_table tables[FFT_CACHE];
    int next_plan, next_table; /* round-robin eviction */
};

#if DC_HAVE_CLFFT
static const char *clfft_status_name(clfftStatus c) {
    switch (c) {
    case CLFFT_BUGCHECK: return "CLFFT_BUGCHECK";
    case CLFFT_NOTIMPLEMENTED: return "CLFFT_NOTIMPLEMENTED";
    case CLFFT_TRANSPOSED_NOTIMPLEMENTED: return "CLFFT_TRANSPOSED_NOTIMPLEMENTED";
    case CLFFT_FILE_NOT_FOUND: return "CLFFT_FILE_NOT_FOUND";
    case CLFFT_FILE_CREATE_FAILURE: return "CLFFT_FILE_CREATE_FAILURE";
    case CLFFT_VERSION_MISMATCH: return "CLFFT_VERSION_MISMATCH";
    case CLFFT_INVALID_PLAN: return "CLFFT_INVALID_PLAN";
    case CLFFT_DEVICE_NO_DOUBLE: return "CLFFT_DEVICE_NO_DOUBLE";
    case CLFFT_DEVICE_MISMATCH: return "CLFFT_DEVICE_MISMATCH";
    default: return ocl_error_name((cl_int)c);
    }
}
#define FFT_FAIL(s, call, c) ocl_fail_call((s), (call), clfft_status_name(c), (cl_int)(c), __FILE__, __LINE__)

static void plan_free(fft_plan *p) {
    if (p->len && !p->unsupported) clfftDestroyPlan(&p->h);
    p->len = 0;
    p->unsupported = 0;
}
#else
static void plan_free(fft_plan *p) { p->len = 0; }
#endif

static void table_free(fft_table *t) {
    if (t->a) clReleaseMemObject(t->a);
    if (t->b) clReleaseMemObject(t->b);
    t->a = t->b = NULL;
    t->n = 0;
}

void ocl_fft_cache_free(ocl_state *s) {
    if (!s->fft) return;
    for (int i = 0; i < FFT_CACHE; i++) {
        plan_free(&s->fft->plans[i]);
        table_free(&s->fft->tables[i]);
    }
    free(s->fft);
    s->fft = NULL;
}

static dc_status cache_of(ocl_state *s, ocl_fft_cache **out) {
    if (!s->fft && !(s->fft = calloc(1, sizeof *s->fft))) return dc_fail(DC_ERR_OOM, "fft: out of host memory");
    *out = s->fft;
    return DC_OK;
}

static dc_status upload_table(ocl_state *s, const float *h, int64_t n_floats, cl_mem *out) {
    cl_int err;
    *out = clCreateBuffer(s->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (size_t)n_floats * sizeof(float),
                          (void *)h, &err);
    return err == CL_SUCCESS ? DC_OK : OCL_FAIL(s, "clCreateBuffer", err);
}

#if DC_HAVE_CLFFT
/* A baked in-place forward plan of length len over rows; *unsupported when clFFT cannot
 * factor the length. */
static dc_status plan_get(dc_backend *be, int64_t len, int64_t rows, fft_plan **out, int *unsupported) {
    ocl_state *s = ocl_st(be);
    ocl_fft_cache *c = NULL;
    dc_status st = cache_of(s, &c);
    if (st != DC_OK) return st;
    for (int i = 0; i < FFT_CACHE; i++)
        if (c->plans[i].len == len && c->plans[i].rows == rows) {
            *out = &c->plans[i];
            *unsupported = c->plans[i].unsupported;
            return DC_OK;
        }
    fft_plan *p = &c->plans[c->next_plan];
    c->next_plan = (c->next_plan + 1) % FFT_CACHE;
    plan_free(p);
    size_t l = (size_t)len;
    clfftStatus e = clfftCreateDefaultPlan(&p->h, s->ctx, CLFFT_1D, &l);
    if (e == CLFFT_NOTIMPLEMENTED) goto not_planned;
    if (e != CLFFT_SUCCESS) return FFT_FAIL(s, "clfftCreateDefaultPlan", e);
    const char *call = "clfftSetPlanPrecision";
    if ((e = clfftSetPlanPrecision(p->h, CLFFT_SINGLE)) == CLFFT_SUCCESS &&
        (call = "clfftSetLayout",
         e = clfftSetLayout(p->h, CLFFT_COMPLEX_INTERLEAVED, CLFFT_COMPLEX_INTERLEAVED)) == CLFFT_SUCCESS &&
        (call = "clfftSetResultLocation", e = clfftSetResultLocation(p->h, CLFFT_INPLACE)) == CLFFT_SUCCESS &&
        (call = "clfftSetPlanBatchSize", e = clfftSetPlanBatchSize(p->h, (size_t)rows)) == CLFFT_SUCCESS &&
        (call = "clfftSetPlanDistance", e = clfftSetPlanDistance(p->h, l, l)) == CLFFT_SUCCESS)
        call = "clfftBakePlan", e = clfftBakePlan(p->h, 1, &s->queue, NULL, NULL);
    if (e != CLFFT_SUCCESS) clfftDestroyPlan(&p->h);
    if (e == CLFFT_NOTIMPLEMENTED) goto not_planned;
    if (e != CLFFT_SUCCESS) return FFT_FAIL(s, call, e);
    p->len = len;
    p->rows = rows;
    *out = p;
    *unsupported = 0;
    return DC_OK;
not_planned:
    p->len = len;
    p->rows = rows;
    p->unsupported = 1;
    *out = p;
    *unsupported = 1;
    return DC_OK;
}

static dc_status forward(dc_backend *be, fft_plan *p, cl_mem buf) {
    ocl_state *s = ocl_st(be);
    clfftStatus e = clfftEnqueueTransform(p->h, CLFFT_FORWARD, 1, &s->queue, 0, NULL, NULL, &buf, NULL, NULL);
    return e == CLFFT_SUCCESS ? DC_OK : FFT_FAIL(s, "clfftEnqueueTransform", e);
}

static int64_t next_pow2(int64_t v) {
    int64_t m = 1;
    while (m < v) m *= 2;
    return m;
}

/* Bluestein tables for n: a = chirp w_j = exp(-i pi j^2 / n), b = fft_M of the conjugate
 * chirp wrapped around (b_m = b_{M-m} = conj(w_m)). */
static dc_status bluestein_table(dc_backend *be, int64_t n, fft_table **out) {
    ocl_state *s = ocl_st(be);
    ocl_fft_cache *c = NULL;
    dc_status st = cache_of(s, &c);
    if (st != DC_OK) return st;
    for (int i = 0; i < FFT_CACHE; i++)
        if (c->tables[i].n == n) {
            *out = &c->tables[i];
            return DC_OK;
        }
    const int64_t M = next_pow2(2 * n - 1);
    float *h = calloc((size_t)(2 * n + 2 * M), sizeof(float));
    if (!h) return dc_fail(DC_ERR_OOM, "fft: out of host memory");
    float *w = h, *b = h + 2 * n;
    for (int64_t j = 0; j < n; j++) {
        double ang = M_PI * (double)((j * j) % (2 * n)) / (double)n; /* exact index, accurate angle */
        w[2 * j] = (float)cos(ang);
        w[2 * j + 1] = (float)-sin(ang);
        b[2 * j] = w[2 * j];
        b[2 * j + 1] = -w[2 * j + 1];
        if (j > 0) {
            b[2 * (M - j)] = b[2 * j];
            b[2 * (M - j) + 1] = b[2 * j + 1];
        }
    }
    fft_table *t = &c->tables[c->next_table];
    c->next_table = (c->next_table + 1) % FFT_CACHE;
    table_free(t);
    st = upload_table(s, w, 2 * n, &t->a);
    if (st == DC_OK) st = upload_table(s, b, 2 * M, &t->b);
    free(h);
    fft_plan *p = NULL;
    int unsupported = 0;
    if (st == DC_OK) st = plan_get(be, M, 1, &p, &unsupported);
    if (st == DC_OK && unsupported) st = dc_fail(DC_ERR_BACKEND, "fft: clFFT cannot plan length %lld", (long long)M);
    if (st == DC_OK) st = forward(be, p, t->b);
    if (st != DC_OK) {
        table_free(t);
        return st;
    }
    t->n = n;
    t->M = M;
    *out = t;
    return DC_OK;
}

/* mode 0: rfft of x (R, n) into y (R, n/2+1, 2); mode 1: scale * irfft of x into y (R, n). */
static dc_status fft_rows(dc_backend *be, int mode, const dc_tensor *x, const dc_tensor *y, int64_t n, int64_t R,
                          double scale) {
    fft_plan *p = NULL;
    int blue = 0;
    dc_status st = plan_get(be, n, R, &p, &blue);
    fft_table *t = NULL;
    if (st == DC_OK && blue) st = bluestein_table(be, n, &t);
    if (st == DC_OK && blue) st = plan_get(be, t->M, R, &p, &blue);
    if (st != DC_OK) return st;
    const int64_t L = t ? t->M : n;
    cl_mem buf;
    if ((st = ocl_scratch(be, OCL_SCR_FFT_A, (size_t)(R * L) * 2 * sizeof(float), &buf)) != DC_OK) return st;
    cl_mem chirp = t ? t->a : buf;
    st = OCL_LAUNCH(be, OCL_PROG_FFT, "fft_pre", ocl_range2(L, R), OA_T(x), OA_L(n), OA_L(L), OA_L(R), OA_I(mode),
                    OA_I(t != NULL), OA_MEM(chirp), OA_MEM(buf));
    if (st == DC_OK) st = forward(be, p, buf);
    if (st == DC_OK && t) {
        st = OCL_LAUNCH(be, OCL_PROG_FFT, "fft_bluestein_mul", ocl_range2(L, R), OA_MEM(buf), OA_L(L), OA_L(R),
                        OA_MEM(t->b));
        if (st == DC_OK) st = forward(be, p, buf);
    }
    if (st != DC_OK) return st;
    int64_t nout = mode == 0 ? n / 2 + 1 : n;
    return OCL_LAUNCH(be, OCL_PROG_FFT, "fft_post", ocl_range2(nout, R), OA_MEM(buf), OA_L(n), OA_L(L), OA_L(R),
                      OA_I(mode), OA_I(t != NULL), OA_MEM(chirp), OA_F(scale), OA_T(y));
}
#else
/* Twiddles cos/sin(2 pi m / n) for the direct DFT. */
static dc_status twiddle_table(dc_backend *be, int64_t n, fft_table **out) {
    ocl_state *s = ocl_st(be);
    ocl_fft_cache *c = NULL;
    dc_status st = cache_of(s, &c);
    if (st != DC_OK) return st;
    for (int i = 0; i < FFT_CACHE; i++)
        if (c->tables[i].n == n) {
            *out = &c->tables[i];
            return DC_OK;
        }
    float *h = malloc((size_t)(2 * n) * sizeof(float));
    if (!h) return dc_fail(DC_ERR_OOM, "fft: out of host memory");
    for (int64_t m = 0; m < n; m++) {
        h[2 * m] = (float)cos(2.0 * M_PI * (double)m / (double)n);
        h[2 * m + 1] = (float)sin(2.0 * M_PI * (double)m / (double)n);
    }
    fft_table *t = &c->tables[c->next_table];
    c->next_table = (c->next_table + 1) % FFT_CACHE;
    table_free(t);
    st = upload_table(s, h, 2 * n, &t->a);
    free(h);
    if (st != DC_OK) return st;
    t->n = n;
    *out = t;
    return DC_OK;
}

static dc_status fft_rows(dc_backend *be, int mode, const dc_tensor *x, const dc_tensor *y, int64_t n, int64_t R,
                          double scale) {
    fft_table *t = NULL;
    cl_mem a = NULL, b = NULL;
    dc_status st = twiddle_table(be, n, &t);
    if (st == DC_OK) st = ocl_scratch(be, OCL_SCR_FFT_A, (size_t)(R * n) * 2 * sizeof(float), &a);
    if (st == DC_OK) st = ocl_scratch(be, OCL_SCR_FFT_B, (size_t)(R * n) * 2 * sizeof(float), &b);
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_FFT, "fft_pre", ocl_range2(n, R), OA_T(x), OA_L(n), OA_L(n), OA_L(R), OA_I(mode),
                        OA_I(0), OA_MEM(a), OA_MEM(a));
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_FFT, "fft_dft_rows", ocl_range2(n, R), OA_MEM(a), OA_MEM(b), OA_L(n), OA_L(R),
                        OA_MEM(t->a));
    if (st != DC_OK) return st;
    int64_t nout = mode == 0 ? n / 2 + 1 : n;
    return OCL_LAUNCH(be, OCL_PROG_FFT, "fft_post", ocl_range2(nout, R), OA_MEM(b), OA_L(n), OA_L(n), OA_L(R),
                      OA_I(mode), OA_I(0), OA_MEM(b), OA_F(scale), OA_T(y));
}
#endif

dc_status ocl_rfft(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = fft_rows(be, 0, a->in[0], a->out[0], a->p.i[0], a->p.i[1], 1.0);
    return st == DC_OK ? st : dc_fail_prefix("rfft of length %lld", (long long)a->p.i[0]);
}

dc_status ocl_irfft(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = fft_rows(be, 1, a->in[0], a->out[0], a->p.i[0], a->p.i[1], a->p.f[0]);
    return st == DC_OK ? st : dc_fail_prefix("irfft of length %lld", (long long)a->p.i[0]);
}
