/* augment.c: InfoTS's seven candidate augmentations (docs/METHOD.md §6.2) on device tensors (B, T, D).
 * Random parameters are drawn on the host from the run's dc_rng (or given by tests); the
 * resampling runs on the device as gathers and a weighted blend. The gated mix, the view
 * and the losses are in infots.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infots/dc_infots.h"

#define JITTER_SIGMA 0.3
#define SCALING_SIGMA 0.5
#define CUTOUT_PERC 0.1
#define WARP_N_SPEED 100
#define WARP_MAX_RATIO 10.0
#define SLICE_RATIO 0.5
#define WWARP_RATIO 0.3

static const char *const k_aug_names[DC_AUG_COUNT] = {"subsequence", "cutout",       "jitter",     "scaling",
                                                      "time_warp",   "window_slice", "window_warp"};

const char *dc_aug_name(int aug) { return aug >= 0 && aug < DC_AUG_COUNT ? k_aug_names[aug] : "unknown"; }

static int check_x(const char *who, const dc_tensor *x) {
    if (!x) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "%s: NULL input", who);
        return 0;
    }
    if (x->ndim != 3 || x->shape[1] < 1) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "%s: x must be (B, T >= 1, D), got %s", who, dc_tensor_describe(x, s, sizeof s));
        return 0;
    }
    return 1;
}

/* A tensor of x's float dtype from host doubles. */
static dc_tensor *host_tensor(dc_ctx *ctx, dc_dtype dt, int ndim, const int64_t *shape, const double *v) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (dt == DC_F64) return dc_tensor_from_host(ctx, dt, ndim, shape, v);
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    if (!f) {
        dc_fail(DC_ERR_OOM, "infots augmentation: out of host memory");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    dc_tensor *t = dc_tensor_from_host(ctx, dt, ndim, shape, f);
    free(f);
    return t;
}

void dc_interp_linear(int64_t i, int64_t Lin, int64_t Lout, int64_t *i0, int64_t *i1, double *lam) {
    double src = ((double)i + 0.5) * (double)Lin / (double)Lout - 0.5;
    if (src < 0) src = 0;
    int64_t a = (int64_t)src;
    if (a > Lin - 1) a = Lin - 1;
    *i0 = a;
    *i1 = a < Lin - 1 ? a + 1 : a;
    *lam = src - (double)a;
}

/* Two-tap resampling plan: out[b, j] = w0 x[b, i0] + w1 x[b, i1]; index -1 = a zero row. */
typedef struct taps {
    int64_t B, L;
    int32_t *i0, *i1;
    double *w0, *w1;
} taps;

static int taps_init(taps *p, int64_t B, int64_t L) {
    p->B = B;
    p->L = L;
    size_t n = (size_t)(B * L > 0 ? B * L : 1);
    p->i0 = malloc(n * sizeof *p->i0);
    p->i1 = malloc(n * sizeof *p->i1);
    p->w0 = malloc(n * sizeof *p->w0);
    p->w1 = malloc(n * sizeof *p->w1);
    if (p->i0 && p->i1 && p->w0 && p->w1) return 1;
    dc_fail(DC_ERR_OOM, "infots augmentation: out of host memory");
    return 0;
}

static void taps_free(taps *p) {
    free(p->i0);
    free(p->i1);
    free(p->w0);
    free(p->w1);
}

static void taps_set(taps *p, int64_t b, int64_t j, int64_t a0, int64_t a1, double lam) {
    int64_t k = b * p->L + j;
    p->i0[k] = (int32_t)a0;
    p->i1[k] = (int32_t)a1;
    p->w0[k] = a0 < 0 ? 0.0 : 1.0 - lam;
    p->w1[k] = a1 < 0 ? 0.0 : lam;
}

/* Runs the plan on the device: two gathers and a blend. (B, L, D). */
static dc_tensor *taps_apply(dc_ctx *ctx, dc_tensor *x, const taps *p) {
    int64_t B = p->B, L = p->L;
    dc_tensor *g0 = dc_gather(ctx, x, dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){B, L}, p->i0));
    dc_tensor *g1 = dc_gather(ctx, x, dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){B, L}, p->i1));
    dc_tensor *w0 = host_tensor(ctx, x->dtype, 3, (int64_t[]){B, L, 1}, p->w0);
    dc_tensor *w1 = host_tensor(ctx, x->dtype, 3, (int64_t[]){B, L, 1}, p->w1);
    return dc_add(ctx, dc_mul(ctx, g0, w0), dc_mul(ctx, g1, w1));
}

/* x times a 0/1 time mask (1, T, 1): keep = 1 inside [start, start + len) when inside. */
static dc_tensor *time_mask(dc_ctx *ctx, dc_tensor *x, int64_t start, int64_t len, int inside) {
    int64_t T = x->shape[1];
    double *m = malloc((size_t)T * sizeof *m);
    if (!m) {
        dc_fail(DC_ERR_OOM, "infots augmentation: out of host memory");
        return NULL;
    }
    for (int64_t t = 0; t < T; t++) {
        int in = t >= start && t < start + len;
        m[t] = (in == inside) ? 1.0 : 0.0;
    }
    dc_tensor *mt = host_tensor(ctx, x->dtype, 3, (int64_t[]){1, T, 1}, m);
    free(m);
    return dc_mul(ctx, x, mt);
}

dc_tensor *dc_aug_subsequence(dc_ctx *ctx, dc_tensor *x, int64_t start, int64_t len) {
    if (!check_x("subsequence", x)) return NULL;
    int64_t T = x->shape[1];
    if (len < 1 || start < 0 || start + len > T) {
        dc_fail(DC_ERR_ARG, "subsequence: window [%lld, %lld) must lie inside T = %lld", (long long)start,
                (long long)(start + len), (long long)T);
        return NULL;
    }
    return time_mask(ctx, x, start, len, 1);
}

dc_tensor *dc_aug_cutout(dc_ctx *ctx, dc_tensor *x, int64_t start, int64_t len) {
    if (!check_x("cutout", x)) return NULL;
    int64_t T = x->shape[1];
    if (len < 0 || start < 0 || start + len > T) {
        dc_fail(DC_ERR_ARG, "cutout: window [%lld, %lld) must lie inside T = %lld", (long long)start,
                (long long)(start + len), (long long)T);
        return NULL;
    }
    return time_mask(ctx, x, start, len, 0);
}

dc_tensor *dc_aug_jitter(dc_ctx *ctx, dc_tensor *x, dc_tensor *noise) {
    if (!check_x("jitter", x) || !noise) return NULL;
    if (!dc_tensor_same_shape(x, noise)) {
        char a[128], b[128];
        dc_fail(DC_ERR_SHAPE, "jitter: noise %s must match x %s", dc_tensor_describe(noise, a, sizeof a),
                dc_tensor_describe(x, b, sizeof b));
        return NULL;
    }
    return dc_add(ctx, x, noise);
}

dc_tensor *dc_aug_scaling(dc_ctx *ctx, dc_tensor *x, dc_tensor *factor) {
    if (!check_x("scaling", x) || !factor) return NULL;
    if (factor->ndim != 3 || factor->shape[0] != x->shape[0] || factor->shape[1] != 1 || factor->shape[2] != x->shape[2]) {
        char a[128], b[128];
        dc_fail(DC_ERR_SHAPE, "scaling: factor %s must be (B, 1, D) for x %s", dc_tensor_describe(factor, a, sizeof a),
                dc_tensor_describe(x, b, sizeof b));
        return NULL;
    }
    return dc_mul(ctx, x, factor);
}

/* ---------------------------------------------------------------- time warp */

static int sgn(double v) { return (v > 0) - (v < 0); }

/* scipy PchipInterpolator._edge_case: one-sided three-point estimate, shape-preserving. */
static double pchip_edge(double h0, double h1, double m0, double m1) {
    double d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (sgn(d) != sgn(m0)) return 0.0;
    if (sgn(m0) != sgn(m1) && fabs(d) > 3 * fabs(m0)) return 3 * m0;
    return d;
}

/* Derivatives at the m knots (scipy PchipInterpolator._find_derivatives); h, s scratch (m-1). */
static void pchip_slopes(const double *x, const double *y, int64_t m, double *h, double *s, double *d) {
    for (int64_t k = 0; k < m - 1; k++) {
        h[k] = x[k + 1] - x[k];
        s[k] = (y[k + 1] - y[k]) / h[k];
    }
    if (m == 2) {
        d[0] = d[1] = s[0];
        return;
    }
    for (int64_t k = 1; k < m - 1; k++) {
        if (sgn(s[k]) != sgn(s[k - 1]) || s[k] == 0 || s[k - 1] == 0) {
            d[k] = 0;
        } else {
            double w1 = 2 * h[k] + h[k - 1], w2 = h[k] + 2 * h[k - 1];
            d[k] = (w1 + w2) / (w1 / s[k - 1] + w2 / s[k]);
        }
    }
    d[0] = pchip_edge(h[0], h[1], s[0], s[1]);
    d[m - 1] = pchip_edge(h[m - 2], h[m - 3], s[m - 2], s[m - 3]);
}

dc_status dc_time_warp_path(const double *u, int64_t n, double max_ratio, int64_t T, double *path) {
    if (!u || !path) return dc_fail(DC_ERR_ARG, "time warp: NULL argument");
    if (n < 1 || T < 2 || !(max_ratio > 1))
        return dc_fail(DC_ERR_ARG, "time warp: needs n_speed_change >= 1, T >= 2 and max_speed_ratio > 1 (got %lld, %lld, %g)",
                       (long long)n, (long long)T, max_ratio);
    int64_t m = n + 2;
    double *buf = malloc((size_t)(5 * m) * sizeof *buf);
    if (!buf) return dc_fail(DC_ERR_OOM, "time warp: out of host memory");
    double *ax = buf, *ay = buf + m, *h = buf + 2 * m, *s = buf + 3 * m, *d = buf + 4 * m;
    double umax = u[0], umin = u[0];
    for (int64_t k = 1; k <= n; k++) {
        umax = u[k] > umax ? u[k] : umax;
        umin = u[k] < umin ? u[k] : umin;
    }
    if (umax == umin) { /* all speeds equal: the path is the identity */
        for (int64_t t = 0; t < T; t++) path[t] = (double)t;
        free(buf);
        return DC_OK;
    }
    double shift = (umax - max_ratio * umin) / (1 - max_ratio), sum = 0, acc = 0;
    for (int64_t k = 0; k <= n; k++) sum += u[k] - shift;
    ay[0] = 0;
    for (int64_t k = 0; k <= n; k++) {
        acc += u[k] - shift;
        ay[k + 1] = acc / sum * (double)(T - 1);
    }
    for (int64_t k = 0; k < m; k++) ax[k] = (double)k / (double)(n + 1) * (double)(T - 1);
    pchip_slopes(ax, ay, m, h, s, d);
    int64_t k = 0;
    for (int64_t t = 0; t < T; t++) {
        double tt = (double)t;
        while (k < m - 2 && tt >= ax[k + 1]) k++;
        double hk = h[k], q = (tt - ax[k]) / hk, q2 = q * q, q3 = q2 * q;
        double v = ay[k] * (2 * q3 - 3 * q2 + 1) + hk * d[k] * (q3 - 2 * q2 + q) + ay[k + 1] * (3 * q2 - 2 * q3) +
                   hk * d[k + 1] * (q3 - q2);
        path[t] = v < 0 ? 0 : (v > (double)(T - 1) ? (double)(T - 1) : v);
    }
    free(buf);
    return DC_OK;
}

dc_tensor *dc_aug_time_warp(dc_ctx *ctx, dc_tensor *x, const double *u, int64_t n, double max_ratio) {
    if (!check_x("time warp", x)) return NULL;
    if (!u) {
        dc_fail(DC_ERR_ARG, "time warp: NULL speeds");
        return NULL;
    }
    int64_t B = x->shape[0], T = x->shape[1];
    taps p;
    double *path = malloc((size_t)T * sizeof *path);
    dc_tensor *y = NULL;
    if (!path) {
        dc_fail(DC_ERR_OOM, "time warp: out of host memory");
        return NULL;
    }
    if (taps_init(&p, B, T)) {
        dc_status st = DC_OK;
        for (int64_t b = 0; b < B && st == DC_OK; b++) {
            st = dc_time_warp_path(u + b * (n + 1), n, max_ratio, T, path);
            for (int64_t t = 0; t < T && st == DC_OK; t++) { /* interp1d of the row at path[t] */
                int64_t a = (int64_t)floor(path[t]);
                if (a >= T - 1) taps_set(&p, b, t, T - 1, T - 1, 0.0);
                else taps_set(&p, b, t, a, a + 1, path[t] - (double)a);
            }
        }
        if (st == DC_OK) y = taps_apply(ctx, x, &p);
    }
    taps_free(&p);
    free(path);
    return y;
}

/* ---------------------------------------------------------------- window slice and warp */

static int64_t ceil_len(double ratio, int64_t T) { return (int64_t)ceil(ratio * (double)T); }

dc_tensor *dc_aug_window_slice(dc_ctx *ctx, dc_tensor *x, const int64_t *start, double ratio) {
    if (!check_x("window slice", x)) return NULL;
    int64_t B = x->shape[0], T = x->shape[1], tl = ceil_len(ratio, T);
    if (!start || !(ratio > 0)) {
        dc_fail(DC_ERR_ARG, "window slice: needs starts and a ratio > 0 (got %g)", ratio);
        return NULL;
    }
    if (tl >= T) return dc_copy(ctx, x);
    for (int64_t b = 0; b < B; b++)
        if (start[b] < 0 || start[b] + tl > T) {
            dc_fail(DC_ERR_ARG, "window slice: row %lld: crop [%lld, %lld) must lie inside T = %lld", (long long)b,
                    (long long)start[b], (long long)(start[b] + tl), (long long)T);
            return NULL;
        }
    taps p;
    dc_tensor *y = NULL;
    if (taps_init(&p, B, T)) {
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < T; i++) {
                int64_t i0, i1;
                double lam;
                dc_interp_linear(i, tl, T, &i0, &i1, &lam);
                taps_set(&p, b, i, start[b] + i0, start[b] + i1, lam);
            }
        y = taps_apply(ctx, x, &p);
    }
    taps_free(&p);
    return y;
}

dc_tensor *dc_aug_window_warp(dc_ctx *ctx, dc_tensor *x, const int64_t *start, const double *scale, double ratio) {
    if (!check_x("window warp", x)) return NULL;
    int64_t B = x->shape[0], T = x->shape[1], ws = ceil_len(ratio, T);
    if (!start || !scale || !(ratio > 0)) {
        dc_fail(DC_ERR_ARG, "window warp: needs starts, scales and a ratio > 0 (got %g)", ratio);
        return NULL;
    }
    int64_t Lmax = 1;
    for (int64_t b = 0; b < B; b++) {
        int64_t Lw = (int64_t)((double)ws * scale[b]);
        if (start[b] < 0 || start[b] + ws > T || Lw < 1) {
            dc_fail(DC_ERR_ARG, "window warp: row %lld: window [%lld, %lld) must lie inside T = %lld and resize to >= 1 "
                    "sample (scale %g)", (long long)b, (long long)start[b], (long long)(start[b] + ws), (long long)T, scale[b]);
            return NULL;
        }
        if (T - ws + Lw > Lmax) Lmax = T - ws + Lw;
    }
    taps p1, p2;
    dc_tensor *y = NULL;
    int ok1 = taps_init(&p1, B, Lmax), ok2 = ok1 && taps_init(&p2, B, T);
    if (ok2) {
        for (int64_t b = 0; b < B; b++) {
            int64_t s = start[b], Lw = (int64_t)((double)ws * scale[b]), Lc = T - ws + Lw;
            for (int64_t j = 0; j < Lmax; j++) { /* stage 1: head, resized window, tail; zero pad */
                int64_t i0, i1;
                double lam;
                if (j < s) taps_set(&p1, b, j, j, j, 0.0);
                else if (j < s + Lw) {
                    dc_interp_linear(j - s, ws, Lw, &i0, &i1, &lam);
                    taps_set(&p1, b, j, s + i0, s + i1, lam);
                } else if (j < Lc) taps_set(&p1, b, j, j - Lw + ws, j - Lw + ws, 0.0);
                else taps_set(&p1, b, j, -1, -1, 0.0);
            }
            for (int64_t i = 0; i < T; i++) { /* stage 2: the row of length Lc back to T */
                int64_t i0, i1;
                double lam;
                dc_interp_linear(i, Lc, T, &i0, &i1, &lam);
                taps_set(&p2, b, i, i0, i1, lam);
            }
        }
        y = taps_apply(ctx, taps_apply(ctx, x, &p1), &p2);
    }
    if (ok1) taps_free(&p1);
    if (ok2) taps_free(&p2);
    return y;
}

/* ---------------------------------------------------------------- drawing the parameters */

dc_status dc_infots_augment_all(dc_ctx *ctx, dc_tensor *x, dc_rng *rng, dc_tensor **augs) {
    if (!check_x("infots augment", x)) return dc_last_status();
    if (!ctx || !rng || !augs) return dc_fail(DC_ERR_ARG, "infots augment: NULL argument");
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    int64_t wl = (int64_t)(CUTOUT_PERC * (double)T), ws = ceil_len(WWARP_RATIO, T), tl = ceil_len(SLICE_RATIO, T);
    if (T - ws - 2 < 1)
        return dc_fail(DC_ERR_SHAPE, "infots augment: window warp needs T >= 5 (a window of ceil(0.3 T) with room on both "
                       "sides), got T = %lld", (long long)T);
    for (int a = 0; a < DC_AUG_COUNT; a++) augs[a] = NULL;
    /* subsequence: l ~ U{2..T}, s ~ U{0..T-l} */
    int64_t l = dc_rng_randint(rng, 2, T);
    augs[DC_AUG_SUBSEQUENCE] = dc_aug_subsequence(ctx, x, dc_rng_randint(rng, 0, T - l), l);
    /* cutout: wl = int(0.1 T), s ~ U{0..T-wl-2} */
    augs[DC_AUG_CUTOUT] = dc_aug_cutout(ctx, x, dc_rng_randint(rng, 0, T - wl - 2), wl);
    dc_tensor *noise = dc_tensor_new(ctx, x->dtype, 3, x->shape);
    if (!noise || dc_rng_fill_normal(rng, noise, 0.0, JITTER_SIGMA) != DC_OK) return dc_last_status();
    augs[DC_AUG_JITTER] = dc_aug_jitter(ctx, x, noise);
    dc_tensor *factor = dc_tensor_new(ctx, x->dtype, 3, (int64_t[]){B, 1, D});
    if (!factor || dc_rng_fill_normal(rng, factor, 1.0, SCALING_SIGMA) != DC_OK) return dc_last_status();
    augs[DC_AUG_SCALING] = dc_aug_scaling(ctx, x, factor);
    double *u = malloc((size_t)(B * (WARP_N_SPEED + 1)) * sizeof *u), *sc = malloc((size_t)B * sizeof *sc);
    int64_t *s1 = malloc((size_t)B * sizeof *s1), *s2 = malloc((size_t)B * sizeof *s2);
    if (!u || !sc || !s1 || !s2) {
        free(u);
        free(sc);
        free(s1);
        free(s2);
        return dc_fail(DC_ERR_OOM, "infots augment: out of host memory");
    }
    for (int64_t i = 0; i < B * (WARP_N_SPEED + 1); i++) u[i] = dc_rng_uniform(rng);
    augs[DC_AUG_TIME_WARP] = dc_aug_time_warp(ctx, x, u, WARP_N_SPEED, WARP_MAX_RATIO);
    /* window slice: s ~ U{0..T-tl-1} per row */
    for (int64_t b = 0; b < B; b++) s1[b] = tl < T ? dc_rng_randint(rng, 0, T - tl - 1) : 0;
    augs[DC_AUG_WINDOW_SLICE] = dc_aug_window_slice(ctx, x, s1, SLICE_RATIO);
    /* window warp: scale from {0.5, 2}, s ~ U{1..T-ws-2} per row */
    for (int64_t b = 0; b < B; b++) sc[b] = dc_rng_uniform(rng) < 0.5 ? 0.5 : 2.0;
    for (int64_t b = 0; b < B; b++) s2[b] = dc_rng_randint(rng, 1, T - ws - 2);
    augs[DC_AUG_WINDOW_WARP] = dc_aug_window_warp(ctx, x, s2, sc, WWARP_RATIO);
    free(u);
    free(sc);
    free(s1);
    free(s2);
    for (int a = 0; a < DC_AUG_COUNT; a++)
        if (!augs[a]) return dc_fail_prefix("infots augment (%s)", dc_aug_name(a));
    return DC_OK;
}
