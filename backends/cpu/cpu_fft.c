/* cpu_fft.c: the CPU backend's any-length double FFT (see cpu_fft.h).
 *
 * Lengths whose prime factors are all <= 13 run a mixed-radix Stockham autosort FFT (radix 2,
 * 3, 4, 5, 7 butterflies plus a generic odd-prime one); other lengths use Bluestein's chirp-z
 * algorithm on a power-of-two inner FFT. Real transforms of even length use a half-length
 * complex FFT. Clarity first: no SIMD, no threading, no third-party code.
 */
#include "cpu_fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RADIX 13  /* largest prime handled by a butterfly; beyond it: Bluestein */
#define MAX_STAGES 64 /* n <= 2^40 has at most 40 prime factors */

static const double PI_4 = 0.78539816339744830961566084581988;

typedef struct {
    double re, im;
} cpx;

/* One Stockham pass: radix-point DFTs of stride n/radix, after twiddling by the
 * (radix*ns)-th roots of unity; ns is the product of the radices of earlier passes. */
typedef struct {
    int radix;
    int64_t ns;
    double *tw;   /* (radix-1)*ns complex: tw[k*(radix-1) + r-1] = exp(+2 pi i r k / (radix ns)) */
    double *root; /* radix complex exp(+2 pi i m / radix), generic odd radix only */
} fft_stage;

struct cpu_fft_plan {
    int64_t n;
    int nstages;
    fft_stage stages[MAX_STAGES];
    /* Bluestein (inner != NULL): chirp[j] = exp(-pi i j^2 / n), j < n, and
     * bfft = FFT_m(conj chirp, wrapped symmetrically) / m, m = inner length. */
    cpu_fft_plan *inner;
    double *chirp;
    double *bfft;
    /* Real transforms of even n (half != NULL): half-length complex plan and
     * rtw[k] = exp(+2 pi i k / n), k = 0..n/2. */
    cpu_fft_plan *half;
    double *rtw;
};

/* ---- small helpers ---------------------------------------------------------------- */

static inline cpx ld(const double *a, int64_t i) {
    cpx z = {a[2 * i], a[2 * i + 1]};
    return z;
}
static inline void st(double *a, int64_t i, cpx z) {
    a[2 * i] = z.re;
    a[2 * i + 1] = z.im;
}
static inline cpx cadd(cpx a, cpx b) {
    cpx z = {a.re + b.re, a.im + b.im};
    return z;
}
static inline cpx csub(cpx a, cpx b) {
    cpx z = {a.re - b.re, a.im - b.im};
    return z;
}
static inline cpx cmul(cpx a, cpx b) {
    cpx z = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return z;
}
static inline cpx cscale(double s, cpx a) {
    cpx z = {s * a.re, s * a.im};
    return z;
}
static inline cpx conj_(cpx a) {
    cpx z = {a.re, -a.im};
    return z;
}
/* s * i * a, for s = +-1 (or any real). */
static inline cpx cmul_si(double s, cpx a) {
    cpx z = {-s * a.im, s * a.re};
    return z;
}

/* (cos, sin) of 2 pi m / n. The angle is folded into [0, pi/4] with exact integer symmetry
 * steps before calling libm, so every value is accurate to about one ulp. */
static void sincos_2pi(int64_t m, int64_t n, double *c, double *s) {
    m %= n;
    if (m < 0) m += n;
    int64_t t = 8 * m; /* angle = (pi/4) * t / n, t in [0, 8n) */
    int neg_s = 0, neg_c = 0, swap = 0;
    if (t > 4 * n) { t = 8 * n - t; neg_s = 1; } /* theta -> 2pi - theta */
    if (t > 2 * n) { t = 4 * n - t; neg_c = 1; } /* theta -> pi - theta */
    if (t > n) { t = 2 * n - t; swap = 1; }      /* theta -> pi/2 - theta */
    double a = PI_4 * ((double)t / (double)n);
    double cc = cos(a), ss = sin(a);
    if (swap) { double tmp = cc; cc = ss; ss = tmp; }
    if (neg_c) cc = -cc;
    if (neg_s) ss = -ss;
    *c = cc;
    *s = ss;
}

static double *alloc_doubles(uint64_t count) {
    if (count == 0) count = 1;
    if (count > SIZE_MAX / sizeof(double)) return NULL;
    return malloc((size_t)count * sizeof(double));
}

static int overlaps(const double *a, size_t na, const double *b, size_t nb) {
    uintptr_t a0 = (uintptr_t)a, a1 = a0 + na * sizeof(double);
    uintptr_t b0 = (uintptr_t)b, b1 = b0 + nb * sizeof(double);
    return a0 < b1 && b0 < a1;
}

/* ---- butterflies: in-place DFT of v[0..R-1] with kernel exp(s * 2 pi i jk / R) ------- */

static inline void bfly2(cpx *v) {
    cpx a = v[0], b = v[1];
    v[0] = cadd(a, b);
    v[1] = csub(a, b);
}

static inline void bfly3(cpx *v, double s) {
    const double h = 0.86602540378443864676372317075294; /* sin(2pi/3) */
    cpx t = cadd(v[1], v[2]);
    cpx m = csub(v[0], cscale(0.5, t));
    cpx d = cmul_si(s * h, csub(v[1], v[2]));
    v[0] = cadd(v[0], t);
    v[1] = cadd(m, d);
    v[2] = csub(m, d);
}

static inline void bfly4(cpx *v, double s) {
    cpx a = cadd(v[0], v[2]), b = csub(v[0], v[2]);
    cpx c = cadd(v[1], v[3]), d = cmul_si(s, csub(v[1], v[3]));
    v[0] = cadd(a, c);
    v[2] = csub(a, c);
    v[1] = cadd(b, d);
    v[3] = csub(b, d);
}

/* Odd radix p: with u_j = v_j + v_{p-j}, d_j = v_j - v_{p-j},
 * y_k, y_{p-k} = v_0 + sum_j cos(2pi jk/p) u_j  +- s i sum_j sin(2pi jk/p) d_j. */
static inline void bfly5(cpx *v, double s) {
    const double c1 = 0.30901699437494742410229341718282;  /* cos(2pi/5) */
    const double c2 = -0.80901699437494742410229341718282; /* cos(4pi/5) */
    const double s1 = 0.95105651629515357211643933337938;  /* sin(2pi/5) */
    const double s2 = 0.58778525229247312916870595463907;  /* sin(4pi/5) */
    cpx a = v[0];
    cpx u1 = cadd(v[1], v[4]), u2 = cadd(v[2], v[3]);
    cpx d1 = csub(v[1], v[4]), d2 = csub(v[2], v[3]);
    cpx r1 = cadd(a, cadd(cscale(c1, u1), cscale(c2, u2)));
    cpx r2 = cadd(a, cadd(cscale(c2, u1), cscale(c1, u2)));
    cpx i1 = cmul_si(s, cadd(cscale(s1, d1), cscale(s2, d2)));
    cpx i2 = cmul_si(s, csub(cscale(s2, d1), cscale(s1, d2)));
    v[0] = cadd(a, cadd(u1, u2));
    v[1] = cadd(r1, i1);
    v[4] = csub(r1, i1);
    v[2] = cadd(r2, i2);
    v[3] = csub(r2, i2);
}

static inline void bfly7(cpx *v, double s) {
    const double c1 = 0.62348980185873353052500488400424;  /* cos(2pi/7) */
    const double c2 = -0.22252093395631440428890256449679; /* cos(4pi/7) */
    const double c3 = -0.90096886790241912623610231950745; /* cos(6pi/7) */
    const double s1 = 0.78183148246802980870844452667406;  /* sin(2pi/7) */
    const double s2 = 0.97492791218182360701813168299393;  /* sin(4pi/7) */
    const double s3 = 0.43388373911755812047576833284836;  /* sin(6pi/7) */
    cpx a = v[0];
    cpx u1 = cadd(v[1], v[6]), u2 = cadd(v[2], v[5]), u3 = cadd(v[3], v[4]);
    cpx d1 = csub(v[1], v[6]), d2 = csub(v[2], v[5]), d3 = csub(v[3], v[4]);
    /* jk mod 7 for k = 1, 2, 3 and j = 1, 2, 3 selects the constants (sin is odd). */
    cpx r1 = cadd(a, cadd(cadd(cscale(c1, u1), cscale(c2, u2)), cscale(c3, u3)));
    cpx r2 = cadd(a, cadd(cadd(cscale(c2, u1), cscale(c3, u2)), cscale(c1, u3)));
    cpx r3 = cadd(a, cadd(cadd(cscale(c3, u1), cscale(c1, u2)), cscale(c2, u3)));
    cpx i1 = cmul_si(s, cadd(cadd(cscale(s1, d1), cscale(s2, d2)), cscale(s3, d3)));
    cpx i2 = cmul_si(s, csub(csub(cscale(s2, d1), cscale(s3, d2)), cscale(s1, d3)));
    cpx i3 = cmul_si(s, cadd(csub(cscale(s3, d1), cscale(s1, d2)), cscale(s2, d3)));
    v[0] = cadd(a, cadd(cadd(u1, u2), u3));
    v[1] = cadd(r1, i1);
    v[6] = csub(r1, i1);
    v[2] = cadd(r2, i2);
    v[5] = csub(r2, i2);
    v[3] = cadd(r3, i3);
    v[4] = csub(r3, i3);
}

/* Generic odd prime p <= MAX_RADIX; root[m] = exp(+2 pi i m / p). O(p^2 / 2). */
static void bfly_odd(cpx *v, int p, const double *root, double s) {
    const int h = (p - 1) / 2;
    cpx u[MAX_RADIX / 2 + 1], d[MAX_RADIX / 2 + 1];
    cpx a = v[0], sum = v[0];
    for (int j = 1; j <= h; j++) {
        u[j] = cadd(v[j], v[p - j]);
        d[j] = csub(v[j], v[p - j]);
        sum = cadd(sum, u[j]);
    }
    for (int k = 1; k <= h; k++) {
        cpx re = a, im = {0.0, 0.0};
        int idx = 0; /* j*k mod p, advanced incrementally */
        for (int j = 1; j <= h; j++) {
            idx += k;
            if (idx >= p) idx -= p;
            re = cadd(re, cscale(root[2 * idx], u[j]));
            im = cadd(im, cscale(root[2 * idx + 1], d[j]));
        }
        im = cmul_si(s, im);
        v[k] = cadd(re, im);
        v[p - k] = csub(re, im);
    }
    v[0] = sum;
}

/* ---- Stockham pass ----------------------------------------------------------------
 * Pass with radix R after passes of total size ns (q = n/R): for j = b*ns + k,
 *   v_r = x[j + r q] * w^(r k),  w = exp(s 2 pi i / (R ns)),   V = DFT_R(v),
 *   y[b ns R + k + r ns] = V_r.
 * After the last pass y holds the DFT in natural order. */
static inline void stage_body(const fft_stage *stg, int R, int64_t n, const double *x, double *y,
                              double s) {
    const int64_t ns = stg->ns, q = n / R, nb = q / ns;
    for (int64_t b = 0; b < nb; b++) {
        for (int64_t k = 0; k < ns; k++) {
            const int64_t j = b * ns + k;
            cpx v[MAX_RADIX];
            v[0] = ld(x, j);
            if (ns == 1) {
                for (int r = 1; r < R; r++) v[r] = ld(x, j + r * q);
            } else {
                const double *w = stg->tw + 2 * (R - 1) * k;
                for (int r = 1; r < R; r++) {
                    cpx t = {w[2 * r - 2], s * w[2 * r - 1]};
                    v[r] = cmul(ld(x, j + r * q), t);
                }
            }
            switch (R) {
            case 2: bfly2(v); break;
            case 3: bfly3(v, s); break;
            case 4: bfly4(v, s); break;
            case 5: bfly5(v, s); break;
            case 7: bfly7(v, s); break;
            default: bfly_odd(v, R, stg->root, s); break;
            }
            const int64_t o = b * ns * R + k;
            for (int r = 0; r < R; r++) st(y, o + r * ns, v[r]);
        }
    }
}

static void stage_exec(const fft_stage *stg, int64_t n, const double *x, double *y, double s) {
    /* Constant radices let the compiler specialize stage_body. */
    switch (stg->radix) {
    case 2: stage_body(stg, 2, n, x, y, s); break;
    case 3: stage_body(stg, 3, n, x, y, s); break;
    case 4: stage_body(stg, 4, n, x, y, s); break;
    case 5: stage_body(stg, 5, n, x, y, s); break;
    case 7: stage_body(stg, 7, n, x, y, s); break;
    default: stage_body(stg, stg->radix, n, x, y, s); break;
    }
}

/* ---- plan construction --------------------------------------------------------------- */

static size_t c2c_scratch(const cpu_fft_plan *p) {
    if (p->inner) return (size_t)(4 * p->inner->n); /* padded sequence + inner scratch */
    return (size_t)(2 * p->n);                       /* Stockham ping-pong buffer */
}

static size_t real_scratch(const cpu_fft_plan *p) {
    if (p->half) return (size_t)p->n + c2c_scratch(p->half); /* half-length spectrum */
    return (size_t)(2 * p->n) + c2c_scratch(p);               /* packed complex copy */
}

static dc_status c2c_exec(const cpu_fft_plan *p, const double *in, double *out, int sign,
                          double *scratch);

static void plan_release(cpu_fft_plan *p) {
    if (!p) return;
    for (int i = 0; i < p->nstages; i++) {
        free(p->stages[i].tw);
        free(p->stages[i].root);
    }
    cpu_fft_plan_free(p->inner);
    free(p->chirp);
    free(p->bfft);
    cpu_fft_plan_free(p->half);
    free(p->rtw);
    free(p);
}

static dc_status plan_oom(cpu_fft_plan *p, int64_t n) {
    plan_release(p);
    return dc_fail(DC_ERR_OOM, "cpu_fft_plan_new: out of memory planning an fft of length %lld",
                   (long long)n);
}

/* Split n into radices 4, 2, 3, 5, 7, 11, 13; returns the unfactored remainder. */
static int64_t factorize(int64_t n, int *radix, int *count) {
    static const int primes[] = {3, 5, 7, 11, 13};
    int c = 0;
    while (n % 4 == 0) { radix[c++] = 4; n /= 4; }
    if (n % 2 == 0) { radix[c++] = 2; n /= 2; }
    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++)
        while (n % primes[i] == 0) { radix[c++] = primes[i]; n /= primes[i]; }
    *count = c;
    return n;
}

static dc_status build_stockham(cpu_fft_plan *p, const int *radix, int count) {
    int64_t ns = 1;
    for (int i = 0; i < count; i++) {
        fft_stage *stg = &p->stages[i];
        const int R = radix[i];
        stg->radix = R;
        stg->ns = ns;
        p->nstages = i + 1;
        if (ns > 1) {
            stg->tw = alloc_doubles(2 * (uint64_t)(R - 1) * (uint64_t)ns);
            if (!stg->tw) return DC_ERR_OOM;
            for (int64_t k = 0; k < ns; k++)
                for (int r = 1; r < R; r++) {
                    double *w = stg->tw + 2 * ((R - 1) * k + (r - 1));
                    sincos_2pi(r * k, R * ns, &w[0], &w[1]);
                }
        }
        if (R > 7) {
            stg->root = alloc_doubles(2 * (uint64_t)R);
            if (!stg->root) return DC_ERR_OOM;
            for (int m = 0; m < R; m++) sincos_2pi(m, R, &stg->root[2 * m], &stg->root[2 * m + 1]);
        }
        ns *= R;
    }
    return DC_OK;
}

static cpu_fft_plan *plan_create(int64_t n, int with_real);

/* Bluestein: X_k = c_k sum_j (x_j c_j) conj(c_{k-j}) with c_j = exp(-pi i j^2 / n),
 * since jk = (j^2 + k^2 - (k-j)^2) / 2. The sum is a circular convolution of length
 * m >= 2n-1 (no wrap-around), done with power-of-two FFTs. */
static dc_status build_bluestein(cpu_fft_plan *p) {
    const int64_t n = p->n;
    int64_t m = 1;
    while (m < 2 * n - 1) m *= 2;
    p->inner = plan_create(m, 0);
    if (!p->inner) return DC_ERR_OOM;
    p->chirp = alloc_doubles(2 * (uint64_t)n);
    p->bfft = alloc_doubles(2 * (uint64_t)m);
    double *tmp = alloc_doubles(c2c_scratch(p->inner));
    if (!p->chirp || !p->bfft || !tmp) {
        free(tmp);
        return DC_ERR_OOM;
    }
    /* j^2 mod 2n exactly, by the recurrence (j+1)^2 = j^2 + 2j + 1. */
    int64_t q = 0;
    for (int64_t j = 0; j < n; j++) {
        double c, s;
        sincos_2pi(q, 2 * n, &c, &s); /* angle pi q / n */
        p->chirp[2 * j] = c;
        p->chirp[2 * j + 1] = -s;
        q = (q + 2 * j + 1) % (2 * n);
    }
    /* b_j = conj(c_j) for |j| < n, zero in between; fold the 1/m of the inverse in here. */
    memset(p->bfft, 0, 2 * (size_t)m * sizeof(double));
    for (int64_t j = 0; j < n; j++) {
        cpx b = conj_(ld(p->chirp, j));
        st(p->bfft, j, b);
        if (j > 0) st(p->bfft, m - j, b);
    }
    dc_status rc = c2c_exec(p->inner, p->bfft, p->bfft, -1, tmp);
    free(tmp);
    if (rc != DC_OK) return rc;
    const double inv_m = 1.0 / (double)m; /* exact: m is a power of two */
    for (int64_t i = 0; i < 2 * m; i++) p->bfft[i] *= inv_m;
    return DC_OK;
}

static cpu_fft_plan *plan_create(int64_t n, int with_real) {
    cpu_fft_plan *p = calloc(1, sizeof *p);
    if (!p) {
        dc_fail(DC_ERR_OOM, "cpu_fft_plan_new: out of memory planning an fft of length %lld",
                (long long)n);
        return NULL;
    }
    p->n = n;
    int radix[MAX_STAGES], count = 0;
    if (factorize(n, radix, &count) == 1) {
        if (build_stockham(p, radix, count) != DC_OK) {
            plan_oom(p, n);
            return NULL;
        }
    } else if (build_bluestein(p) != DC_OK) {
        plan_oom(p, n);
        return NULL;
    }
    if (with_real && n % 2 == 0) {
        const int64_t h = n / 2;
        p->half = plan_create(h, 0);
        if (!p->half) {
            plan_release(p);
            return NULL;
        }
        p->rtw = alloc_doubles(2 * (uint64_t)(h + 1));
        if (!p->rtw) {
            plan_oom(p, n);
            return NULL;
        }
        for (int64_t k = 0; k <= h; k++) sincos_2pi(k, n, &p->rtw[2 * k], &p->rtw[2 * k + 1]);
    }
    return p;
}

cpu_fft_plan *cpu_fft_plan_new(int64_t n) {
    if (n < 1 || n > CPU_FFT_MAX_LEN) {
        dc_fail(DC_ERR_ARG, "cpu_fft_plan_new: fft length must be in [1, 2^40] (got %lld)",
                (long long)n);
        return NULL;
    }
    return plan_create(n, 1);
}

void cpu_fft_plan_free(cpu_fft_plan *p) { plan_release(p); }

int64_t cpu_fft_plan_len(const cpu_fft_plan *p) { return p ? p->n : 0; }

size_t cpu_fft_scratch_doubles(const cpu_fft_plan *p) {
    if (!p) return 0;
    size_t a = c2c_scratch(p), b = real_scratch(p);
    return a > b ? a : b;
}

int cpu_fft_plan_is_bluestein(const cpu_fft_plan *p) { return p && p->inner != NULL; }

/* ---- execution ------------------------------------------------------------------------ */

static void stockham_exec(const cpu_fft_plan *p, const double *in, double *out, double s,
                          double *work) {
    const int64_t n = p->n;
    const int S = p->nstages;
    if (S == 0) {
        memmove(out, in, 2 * (size_t)n * sizeof(double));
        return;
    }
    /* Ping-pong so that the last pass writes out: pass i writes out iff S-1-i is even. */
    const double *src = in;
    if ((S - 1) % 2 == 0 && overlaps(in, 2 * (size_t)n, out, 2 * (size_t)n)) {
        memcpy(work, in, 2 * (size_t)n * sizeof(double));
        src = work;
    }
    for (int i = 0; i < S; i++) {
        double *dst = ((S - 1 - i) % 2 == 0) ? out : work;
        stage_exec(&p->stages[i], n, src, dst, s);
        src = dst;
    }
}

static dc_status bluestein_exec(const cpu_fft_plan *p, const double *in, double *out, int sign,
                                double *scratch) {
    const int64_t n = p->n, m = p->inner->n;
    double *a = scratch, *iscr = scratch + 2 * m;
    /* The inverse is conj(forward(conj(x))). */
    for (int64_t j = 0; j < n; j++) {
        cpx x = ld(in, j);
        if (sign > 0) x = conj_(x);
        st(a, j, cmul(x, ld(p->chirp, j)));
    }
    memset(a + 2 * n, 0, 2 * (size_t)(m - n) * sizeof(double));
    dc_status rc = c2c_exec(p->inner, a, a, -1, iscr);
    if (rc != DC_OK) return rc;
    for (int64_t k = 0; k < m; k++) st(a, k, cmul(ld(a, k), ld(p->bfft, k)));
    rc = c2c_exec(p->inner, a, a, +1, iscr);
    if (rc != DC_OK) return rc;
    for (int64_t k = 0; k < n; k++) {
        cpx y = cmul(ld(a, k), ld(p->chirp, k));
        st(out, k, sign > 0 ? conj_(y) : y);
    }
    return DC_OK;
}

/* c2c on valid arguments with scratch of c2c_scratch(p) doubles. */
static dc_status c2c_exec(const cpu_fft_plan *p, const double *in, double *out, int sign,
                          double *scratch) {
    if (p->inner) return bluestein_exec(p, in, out, sign, scratch);
    stockham_exec(p, in, out, (double)sign, scratch);
    return DC_OK;
}

static dc_status check_exec(const char *fn, const cpu_fft_plan *p, const double *in,
                            const double *out) {
    if (!p) return dc_fail(DC_ERR_ARG, "%s: NULL fft plan", fn);
    if (!in || !out) return dc_fail(DC_ERR_ARG, "%s: NULL fft %s buffer", fn, in ? "output" : "input");
    return DC_OK;
}

/* Use the caller's scratch or allocate `need` doubles (*owned is then freed by the caller). */
static double *get_scratch(const char *fn, double *scratch, size_t need, double **owned) {
    *owned = NULL;
    if (scratch) return scratch;
    *owned = alloc_doubles(need);
    if (!*owned)
        dc_fail(DC_ERR_OOM, "%s: out of memory for %zu doubles of fft scratch", fn, need);
    return *owned;
}

dc_status cpu_fft_c2c(const cpu_fft_plan *p, const double *in, double *out, int sign,
                      double *scratch) {
    dc_status rc = check_exec("cpu_fft_c2c", p, in, out);
    if (rc != DC_OK) return rc;
    if (sign != -1 && sign != 1)
        return dc_fail(DC_ERR_ARG, "cpu_fft_c2c: fft sign must be -1 or +1 (got %d)", sign);
    double *owned;
    double *work = get_scratch("cpu_fft_c2c", scratch, c2c_scratch(p), &owned);
    if (!work) return DC_ERR_OOM;
    rc = c2c_exec(p, in, out, sign, work);
    free(owned);
    return rc;
}

dc_status cpu_fft_r2c(const cpu_fft_plan *p, const double *in, double *out, double *scratch) {
    dc_status rc = check_exec("cpu_fft_r2c", p, in, out);
    if (rc != DC_OK) return rc;
    double *owned;
    double *work = get_scratch("cpu_fft_r2c", scratch, real_scratch(p), &owned);
    if (!work) return DC_ERR_OOM;
    const int64_t n = p->n;
    if (p->half) {
        /* z_j = x_{2j} + i x_{2j+1} is the input itself read as n/2 complex values.
         * With Z = FFT_h(z), E_k = (Z_k + conj Z_{h-k}) / 2 and O_k = (Z_k - conj Z_{h-k}) / 2i
         * are the DFTs of the even and odd samples, and X_k = E_k + exp(-2 pi i k/n) O_k. */
        const int64_t h = n / 2;
        double *z = work;
        rc = c2c_exec(p->half, in, z, -1, work + n);
        if (rc == DC_OK) {
            for (int64_t k = 0; k <= h; k++) {
                cpx zk = ld(z, k % h), zc = conj_(ld(z, (h - k) % h));
                cpx e = cscale(0.5, cadd(zk, zc));
                cpx o = cmul_si(-0.5, csub(zk, zc));
                cpx w = {p->rtw[2 * k], -p->rtw[2 * k + 1]};
                st(out, k, cadd(e, cmul(w, o)));
            }
            out[1] = 0.0;
            out[2 * h + 1] = 0.0;
        }
    } else {
        /* Odd n: run the complex transform on the real input. */
        double *buf = work;
        for (int64_t j = 0; j < n; j++) {
            buf[2 * j] = in[j];
            buf[2 * j + 1] = 0.0;
        }
        rc = c2c_exec(p, buf, buf, -1, work + 2 * n);
        if (rc == DC_OK) {
            memcpy(out, buf, 2 * (size_t)(n / 2 + 1) * sizeof(double));
            out[1] = 0.0;
        }
    }
    free(owned);
    return rc;
}

dc_status cpu_fft_c2r(const cpu_fft_plan *p, const double *in, double *out, double *scratch) {
    dc_status rc = check_exec("cpu_fft_c2r", p, in, out);
    if (rc != DC_OK) return rc;
    double *owned;
    double *work = get_scratch("cpu_fft_c2r", scratch, real_scratch(p), &owned);
    if (!work) return DC_ERR_OOM;
    const int64_t n = p->n, h = n / 2;
    if (p->half) {
        /* Undo the r2c split: 2E_k = X_k + conj X_{h-k}, 2O_k = exp(2 pi i k/n)(X_k - conj X_{h-k});
         * the inverse half-length FFT of 2(E + iO) gives n x_{2j} + i n x_{2j+1}. */
        double *z = work;
        for (int64_t k = 0; k < h; k++) {
            cpx xk = ld(in, k), xc = conj_(ld(in, h - k));
            if (k == 0) {
                xk.im = 0.0;
                xc.im = 0.0;
            }
            cpx w = {p->rtw[2 * k], p->rtw[2 * k + 1]};
            cpx e2 = cadd(xk, xc);
            cpx o2 = cmul(w, csub(xk, xc));
            st(z, k, cadd(e2, cmul_si(1.0, o2)));
        }
        rc = c2c_exec(p->half, z, out, +1, work + n);
    } else {
        /* Odd n: rebuild the full Hermitian spectrum and take the real part of its inverse. */
        double *buf = work;
        st(buf, 0, (cpx){in[0], 0.0});
        for (int64_t k = 1; k <= h; k++) {
            cpx x = ld(in, k);
            if (2 * k == n) x.im = 0.0; /* Nyquist bin (only for even n without a half plan) */
            st(buf, k, x);
            st(buf, n - k, conj_(x));
        }
        rc = c2c_exec(p, buf, buf, +1, work + 2 * n);
        if (rc == DC_OK)
            for (int64_t j = 0; j < n; j++) out[j] = buf[2 * j];
    }
    free(owned);
    return rc;
}
