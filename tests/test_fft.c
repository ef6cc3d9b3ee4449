/* test_fft.c: Check suite for the CPU backend's FFT (backends/cpu/cpu_fft.c).
 *
 * Compares c2c, r2c and c2r against a direct O(n^2) DFT in long double with exact twiddle
 * indices, checks round trips, hand-computed spectra, aliasing and error reporting.
 * Not a benchmark, and not a test of any public tensor-level FFT op.
 */
#include "cpu_fft.h"
#include "dc_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-12
static const long double TWO_PI_L = 6.283185307179586476925286766559005768L;

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
    uint64_t s;
} rng;

/* splitmix64 -> uniform in [-1, 1). */
static double rng_uniform(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-52 - 1.0;
}

static double *xalloc(size_t count) {
    double *p = calloc(count ? count : 1, sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

static void fill_random(double *x, size_t count, uint64_t seed) {
    rng r = {seed};
    for (size_t i = 0; i < count; i++) x[i] = rng_uniform(&r);
}

/* exp(sign 2 pi i m / n) in long double, m already reduced. */
static void root_l(int64_t m, int64_t n, int sign, long double *c, long double *s) {
    long double a = TWO_PI_L * (long double)m / (long double)n;
    *c = cosl(a);
    *s = (long double)sign * sinl(a);
}

/* Direct DFT of n complex values: y_k = sum_j x_j exp(sign 2 pi i jk / n), long double sums,
 * twiddle index jk mod n computed exactly. Only bins in [k0, k1) are produced. */
static void direct_dft_bins(const double *x, int64_t n, int sign, int64_t k0, int64_t k1,
                            double *y) {
    long double *c = malloc((size_t)n * sizeof *c), *s = malloc((size_t)n * sizeof *s);
    ck_assert(c && s);
    for (int64_t m = 0; m < n; m++) root_l(m, n, sign, &c[m], &s[m]);
    for (int64_t k = k0; k < k1; k++) {
        long double re = 0.0L, im = 0.0L;
        int64_t idx = 0;
        for (int64_t j = 0; j < n; j++) {
            long double xr = x[2 * j], xi = x[2 * j + 1];
            re += xr * c[idx] - xi * s[idx];
            im += xr * s[idx] + xi * c[idx];
            idx += k;
            if (idx >= n) idx -= n;
        }
        y[2 * (k - k0)] = (double)re;
        y[2 * (k - k0) + 1] = (double)im;
    }
    free(c);
    free(s);
}

static void direct_dft(const double *x, int64_t n, int sign, double *y) {
    direct_dft_bins(x, n, sign, 0, n, y);
}

/* Relative L2 error ||a - ref|| / ||ref|| (absolute if ref is zero). */
static double rel_l2(const double *a, const double *ref, size_t count) {
    long double num = 0.0L, den = 0.0L;
    for (size_t i = 0; i < count; i++) {
        long double d = (long double)a[i] - ref[i];
        num += d * d;
        den += (long double)ref[i] * ref[i];
    }
    return (double)sqrtl(den > 0.0L ? num / den : num);
}

static double max_abs_diff(const double *a, const double *b, size_t count) {
    double m = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > m || isnan(d)) m = d;
    }
    return m;
}

static void scale(double *x, size_t count, double s) {
    for (size_t i = 0; i < count; i++) x[i] *= s;
}

static cpu_fft_plan *plan_ok(int64_t n) {
    cpu_fft_plan *p = cpu_fft_plan_new(n);
    ck_assert_msg(p != NULL, "plan n=%lld: %s", (long long)n, dc_last_error());
    ck_assert_int_eq(cpu_fft_plan_len(p), n);
    return p;
}

/* ---- checks shared by the length loops ------------------------------------------------ */

/* c2c forward and inverse against the direct DFT, and the round trip. */
static void check_c2c_direct(int64_t n) {
    cpu_fft_plan *p = plan_ok(n);
    const size_t len = 2 * (size_t)n;
    double *x = xalloc(len), *y = xalloc(len), *ref = xalloc(len), *back = xalloc(len);
    double *scr = xalloc(cpu_fft_scratch_doubles(p));
    fill_random(x, len, 1000 + (uint64_t)n);

    direct_dft(x, n, -1, ref);
    ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, scr), DC_OK);
    double e = rel_l2(y, ref, len);
    ck_assert_msg(e < TOL, "n=%lld c2c forward rel err %.3g", (long long)n, e);

    direct_dft(x, n, +1, ref);
    ck_assert_int_eq(cpu_fft_c2c(p, x, back, +1, NULL), DC_OK);
    e = rel_l2(back, ref, len);
    ck_assert_msg(e < TOL, "n=%lld c2c inverse rel err %.3g", (long long)n, e);

    ck_assert_int_eq(cpu_fft_c2c(p, y, back, +1, scr), DC_OK);
    scale(back, len, 1.0 / (double)n);
    e = rel_l2(back, x, len);
    ck_assert_msg(e < TOL, "n=%lld c2c round trip rel err %.3g", (long long)n, e);

    free(x); free(y); free(ref); free(back); free(scr);
    cpu_fft_plan_free(p);
}

/* r2c against the direct DFT, c2r against the direct inverse of a Hermitian spectrum,
 * and c2r(r2c(x)) / n == x. */
static void check_real_direct(int64_t n) {
    cpu_fft_plan *p = plan_ok(n);
    const int64_t h = n / 2;
    const size_t nc = 2 * (size_t)(h + 1);
    double *x = xalloc((size_t)n), *xc = xalloc(2 * (size_t)n), *ref = xalloc(2 * (size_t)n);
    double *spec = xalloc(nc), *back = xalloc((size_t)n);
    double *scr = xalloc(cpu_fft_scratch_doubles(p));
    fill_random(x, (size_t)n, 2000 + (uint64_t)n);

    for (int64_t j = 0; j < n; j++) xc[2 * j] = x[j];
    direct_dft(xc, n, -1, ref);
    ck_assert_int_eq(cpu_fft_r2c(p, x, spec, scr), DC_OK);
    double e = rel_l2(spec, ref, nc);
    ck_assert_msg(e < TOL, "n=%lld r2c rel err %.3g", (long long)n, e);

    ck_assert_int_eq(cpu_fft_c2r(p, spec, back, NULL), DC_OK);
    scale(back, (size_t)n, 1.0 / (double)n);
    e = rel_l2(back, x, (size_t)n);
    ck_assert_msg(e < TOL, "n=%lld r2c/c2r round trip rel err %.3g", (long long)n, e);

    /* Random Hermitian half spectrum; its full extension's inverse DFT is real. */
    fill_random(spec, nc, 3000 + (uint64_t)n);
    spec[1] = 0.0;
    if (n % 2 == 0) spec[2 * h + 1] = 0.0;
    memset(xc, 0, 2 * (size_t)n * sizeof(double));
    for (int64_t k = 0; k <= h; k++) {
        xc[2 * k] = spec[2 * k];
        xc[2 * k + 1] = spec[2 * k + 1];
        if (k > 0 && 2 * k != n) {
            xc[2 * (n - k)] = spec[2 * k];
            xc[2 * (n - k) + 1] = -spec[2 * k + 1];
        }
    }
    direct_dft(xc, n, +1, ref);
    for (int64_t j = 0; j < n; j++) ref[j] = ref[2 * j];
    ck_assert_int_eq(cpu_fft_c2r(p, spec, back, scr), DC_OK);
    e = rel_l2(back, ref, (size_t)n);
    ck_assert_msg(e < TOL, "n=%lld c2r rel err %.3g", (long long)n, e);

    free(x); free(xc); free(ref); free(spec); free(back); free(scr);
    cpu_fft_plan_free(p);
}

/* Large n: round trips, plus 16 sampled bins against the direct sum (O(n) each). */
static void check_large(int64_t n) {
    cpu_fft_plan *p = plan_ok(n);
    const size_t len = 2 * (size_t)n;
    double *x = xalloc(len), *y = xalloc(len), *back = xalloc(len);
    double *scr = xalloc(cpu_fft_scratch_doubles(p));
    fill_random(x, len, 4000 + (uint64_t)n);

    ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, scr), DC_OK);
    ck_assert_int_eq(cpu_fft_c2c(p, y, back, +1, scr), DC_OK);
    scale(back, len, 1.0 / (double)n);
    double e = rel_l2(back, x, len);
    ck_assert_msg(e < TOL, "n=%lld c2c round trip rel err %.3g", (long long)n, e);

    double got[32], ref[32];
    rng r = {77};
    for (int i = 0; i < 16; i++) {
        int64_t k = (int64_t)((rng_uniform(&r) + 1.0) * 0.5 * (double)n) % n;
        direct_dft_bins(x, n, -1, k, k + 1, &ref[2 * i]);
        got[2 * i] = y[2 * k];
        got[2 * i + 1] = y[2 * k + 1];
    }
    e = rel_l2(got, ref, 32);
    ck_assert_msg(e < TOL, "n=%lld c2c sampled bins rel err %.3g", (long long)n, e);

    /* Real transforms: the real input is x's first n values. */
    ck_assert_int_eq(cpu_fft_r2c(p, x, y, scr), DC_OK);
    ck_assert_int_eq(cpu_fft_c2r(p, y, back, scr), DC_OK);
    scale(back, (size_t)n, 1.0 / (double)n);
    e = rel_l2(back, x, (size_t)n);
    ck_assert_msg(e < TOL, "n=%lld r2c/c2r round trip rel err %.3g", (long long)n, e);

    free(x); free(y); free(back); free(scr);
    cpu_fft_plan_free(p);
}

/* ---- tests -------------------------------------------------------------------------- */

static const int64_t special_n[] = {50, 119, 178, 200, 250, 300, 360, 500, 1000, 1009, 1024, 4096};
static const int64_t large_n[] = {8192, 16384, 32768, 65536, 59049, 15625, 46656, 65537, 100003};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(test_bad_length) {
    const int64_t bad[] = {0, -1, -1000, CPU_FFT_MAX_LEN + 1};
    for (int i = 0; i < COUNT(bad); i++) {
        dc_clear_error();
        ck_assert_ptr_null(cpu_fft_plan_new(bad[i]));
        ck_assert_int_eq(dc_last_status(), DC_ERR_ARG);
        ck_assert_msg(strstr(dc_last_error(), "fft") != NULL, "message: %s", dc_last_error());
    }
    cpu_fft_plan_free(NULL);
}
END_TEST

START_TEST(test_bad_exec_args) {
    cpu_fft_plan *p = plan_ok(8);
    double x[16] = {0}, y[16];
    ck_assert_int_eq(cpu_fft_c2c(p, x, y, 0, NULL), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(dc_last_error(), "fft"));
    ck_assert_int_eq(cpu_fft_c2c(p, x, y, 2, NULL), DC_ERR_ARG);
    ck_assert_int_eq(cpu_fft_c2c(NULL, x, y, -1, NULL), DC_ERR_ARG);
    ck_assert_int_eq(cpu_fft_c2c(p, NULL, y, -1, NULL), DC_ERR_ARG);
    ck_assert_int_eq(cpu_fft_r2c(p, x, NULL, NULL), DC_ERR_ARG);
    ck_assert_int_eq(cpu_fft_c2r(NULL, x, y, NULL), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(dc_last_error(), "fft"));
    cpu_fft_plan_free(p);
}
END_TEST

START_TEST(test_plan_kinds) {
    /* Lengths with a prime factor > 13 go through Bluestein; the others do not. */
    const int64_t blue[] = {17, 119, 178, 1009, 65537};
    const int64_t mixed[] = {1, 2, 13, 50, 360, 1000, 1001, 65536};
    for (int i = 0; i < COUNT(blue); i++) {
        cpu_fft_plan *p = plan_ok(blue[i]);
        ck_assert_int_ne(cpu_fft_plan_is_bluestein(p), 0);
        ck_assert_uint_ge(cpu_fft_scratch_doubles(p), 2 * (size_t)blue[i]);
        cpu_fft_plan_free(p);
    }
    for (int i = 0; i < COUNT(mixed); i++) {
        cpu_fft_plan *p = plan_ok(mixed[i]);
        ck_assert_int_eq(cpu_fft_plan_is_bluestein(p), 0);
        ck_assert_uint_ge(cpu_fft_scratch_doubles(p), 2 * (size_t)mixed[i]);
        cpu_fft_plan_free(p);
    }
}
END_TEST

START_TEST(test_small_lengths) {
    for (int64_t n = 1; n <= 64; n++) {
        check_c2c_direct(n);
        check_real_direct(n);
    }
}
END_TEST

START_TEST(test_special_lengths) {
    check_c2c_direct(special_n[_i]);
    check_real_direct(special_n[_i]);
}
END_TEST

START_TEST(test_large_lengths) { check_large(large_n[_i]); }
END_TEST

START_TEST(test_powers_of_two_round_trip) {
    for (int64_t n = 1; n <= 65536; n *= 2) {
        cpu_fft_plan *p = plan_ok(n);
        const size_t len = 2 * (size_t)n;
        double *x = xalloc(len), *y = xalloc(len);
        fill_random(x, len, 5000 + (uint64_t)n);
        ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, NULL), DC_OK);
        ck_assert_int_eq(cpu_fft_c2c(p, y, y, +1, NULL), DC_OK);
        scale(y, len, 1.0 / (double)n);
        double e = rel_l2(y, x, len);
        ck_assert_msg(e < TOL, "n=%lld round trip rel err %.3g", (long long)n, e);
        free(x);
        free(y);
        cpu_fft_plan_free(p);
    }
}
END_TEST

static const int64_t hand_n[] = {1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 17, 50, 119, 178, 360, 1009};

START_TEST(test_delta_and_constant) {
    const int64_t n = hand_n[_i];
    cpu_fft_plan *p = plan_ok(n);
    const size_t len = 2 * (size_t)n;
    double *x = xalloc(len), *y = xalloc(len), *want = xalloc(len);
    double *xr = xalloc((size_t)n), *yr = xalloc(2 * (size_t)(n / 2 + 1));

    /* Delta at 0 -> all ones, both directions and through r2c. */
    x[0] = 1.0;
    xr[0] = 1.0;
    for (int64_t k = 0; k < n; k++) want[2 * k] = 1.0;
    for (int sign = -1; sign <= 1; sign += 2) {
        ck_assert_int_eq(cpu_fft_c2c(p, x, y, sign, NULL), DC_OK);
        ck_assert_msg(max_abs_diff(y, want, len) < TOL, "n=%lld delta sign %d: err %.3g",
                      (long long)n, sign, max_abs_diff(y, want, len));
    }
    ck_assert_int_eq(cpu_fft_r2c(p, xr, yr, NULL), DC_OK);
    ck_assert_double_le(max_abs_diff(yr, want, 2 * (size_t)(n / 2 + 1)), TOL);

    /* Constant 1 -> n at DC, 0 elsewhere. */
    for (int64_t j = 0; j < n; j++) {
        x[2 * j] = 1.0;
        x[2 * j + 1] = 0.0;
        xr[j] = 1.0;
    }
    memset(want, 0, len * sizeof(double));
    want[0] = (double)n;
    ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, NULL), DC_OK);
    ck_assert_msg(max_abs_diff(y, want, len) < TOL, "n=%lld constant: err %.3g", (long long)n,
                  max_abs_diff(y, want, len));
    ck_assert_int_eq(cpu_fft_r2c(p, xr, yr, NULL), DC_OK);
    ck_assert_double_le(max_abs_diff(yr, want, 2 * (size_t)(n / 2 + 1)), TOL);

    /* Delta at d -> exp(-2 pi i d k / n). */
    const int64_t d = n / 3;
    memset(x, 0, len * sizeof(double));
    x[2 * d] = 1.0;
    for (int64_t k = 0; k < n; k++) {
        long double c, s;
        root_l((d * k) % n, n, -1, &c, &s);
        want[2 * k] = (double)c;
        want[2 * k + 1] = (double)s;
    }
    ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, NULL), DC_OK);
    ck_assert_msg(max_abs_diff(y, want, len) < TOL, "n=%lld shifted delta: err %.3g",
                  (long long)n, max_abs_diff(y, want, len));

    free(x); free(y); free(want); free(xr); free(yr);
    cpu_fft_plan_free(p);
}
END_TEST

START_TEST(test_cosine) {
    /* cos(2 pi k j / n) -> n/2 at bins k and n-k (n at k when 2k == n), 0 elsewhere. */
    const int64_t n = hand_n[_i];
    cpu_fft_plan *p = plan_ok(n);
    const size_t len = 2 * (size_t)n;
    double *x = xalloc(len), *y = xalloc(len), *want = xalloc(len);
    double *xr = xalloc((size_t)n), *yr = xalloc(2 * (size_t)(n / 2 + 1));
    for (int64_t k = 1; k <= n / 2; k++) {
        if (n > 64 && k % 7 != 1 && k != n / 2) continue; /* a sample of bins for long n */
        for (int64_t j = 0; j < n; j++) {
            long double c, s;
            root_l((k * j) % n, n, 1, &c, &s);
            x[2 * j] = xr[j] = (double)c;
            x[2 * j + 1] = 0.0;
        }
        memset(want, 0, len * sizeof(double));
        want[2 * k] += 0.5 * (double)n;
        want[2 * (n - k)] += 0.5 * (double)n;
        ck_assert_int_eq(cpu_fft_c2c(p, x, y, -1, NULL), DC_OK);
        ck_assert_msg(max_abs_diff(y, want, len) < TOL, "n=%lld cos bin %lld: err %.3g",
                      (long long)n, (long long)k, max_abs_diff(y, want, len));
        ck_assert_int_eq(cpu_fft_r2c(p, xr, yr, NULL), DC_OK);
        ck_assert_msg(max_abs_diff(yr, want, 2 * (size_t)(n / 2 + 1)) < TOL,
                      "n=%lld r2c cos bin %lld: err %.3g", (long long)n, (long long)k,
                      max_abs_diff(yr, want, 2 * (size_t)(n / 2 + 1)));
    }
    free(x); free(y); free(want); free(xr); free(yr);
    cpu_fft_plan_free(p);
}
END_TEST

START_TEST(test_aliasing_and_scratch) {
    /* In-place exec and caller scratch give bit-identical results to out-of-place/NULL. */
    const int64_t lens[] = {1, 2, 9, 16, 50, 64, 119, 178, 360, 1009};
    for (int i = 0; i < COUNT(lens); i++) {
        const int64_t n = lens[i];
        cpu_fft_plan *p = plan_ok(n);
        const size_t len = 2 * (size_t)n, nc = 2 * (size_t)(n / 2 + 1);
        double *x = xalloc(len), *y = xalloc(len), *z = xalloc(len + 2);
        double *scr = xalloc(cpu_fft_scratch_doubles(p));
        fill_random(x, len, 6000 + (uint64_t)n);
        for (int sign = -1; sign <= 1; sign += 2) {
            ck_assert_int_eq(cpu_fft_c2c(p, x, y, sign, NULL), DC_OK);
            memcpy(z, x, len * sizeof(double));
            ck_assert_int_eq(cpu_fft_c2c(p, z, z, sign, scr), DC_OK);
            ck_assert_mem_eq(y, z, len * sizeof(double));
        }
        ck_assert_int_eq(cpu_fft_r2c(p, x, y, NULL), DC_OK);
        memcpy(z, x, (size_t)n * sizeof(double));
        ck_assert_int_eq(cpu_fft_r2c(p, z, z, scr), DC_OK);
        ck_assert_mem_eq(y, z, nc * sizeof(double));

        ck_assert_int_eq(cpu_fft_c2r(p, y, x, NULL), DC_OK);
        ck_assert_int_eq(cpu_fft_c2r(p, z, z, scr), DC_OK);
        ck_assert_mem_eq(x, z, (size_t)n * sizeof(double));
        free(x); free(y); free(z); free(scr);
        cpu_fft_plan_free(p);
    }
}
END_TEST

START_TEST(test_c2r_ignores_edge_imaginary) {
    /* The imaginary parts of bin 0 and of the Nyquist bin cannot come from a real signal. */
    const int64_t lens[] = {1, 6, 7, 50, 119, 178};
    for (int i = 0; i < COUNT(lens); i++) {
        const int64_t n = lens[i], h = n / 2;
        cpu_fft_plan *p = plan_ok(n);
        double *spec = xalloc(2 * (size_t)(h + 1)), *a = xalloc((size_t)n), *b = xalloc((size_t)n);
        fill_random(spec, 2 * (size_t)(h + 1), 7000 + (uint64_t)n);
        spec[1] = 0.0;
        if (n % 2 == 0) spec[2 * h + 1] = 0.0;
        ck_assert_int_eq(cpu_fft_c2r(p, spec, a, NULL), DC_OK);
        spec[1] = 3.5;
        if (n % 2 == 0) spec[2 * h + 1] = -2.25;
        ck_assert_int_eq(cpu_fft_c2r(p, spec, b, NULL), DC_OK);
        ck_assert_double_le(max_abs_diff(a, b, (size_t)n), 0.0);
        free(spec); free(a); free(b);
        cpu_fft_plan_free(p);
    }
}
END_TEST

static Suite *fft_suite(void) {
    Suite *s = suite_create("cpu_fft");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_bad_length);
    tcase_add_test(tc, test_bad_exec_args);
    tcase_add_test(tc, test_plan_kinds);
    suite_add_tcase(s, tc);

    tc = tcase_create("vs_direct_dft");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_small_lengths);
    tcase_add_loop_test(tc, test_special_lengths, 0, COUNT(special_n));
    suite_add_tcase(s, tc);

    tc = tcase_create("large");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_large_lengths, 0, COUNT(large_n));
    tcase_add_test(tc, test_powers_of_two_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("hand_computed");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_delta_and_constant, 0, COUNT(hand_n));
    tcase_add_loop_test(tc, test_cosine, 0, COUNT(hand_n));
    suite_add_tcase(s, tc);

    tc = tcase_create("buffers");
    tcase_add_test(tc, test_aliasing_and_scratch);
    tcase_add_test(tc, test_c2r_ignores_edge_imaginary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return dc_test_run_suite(fft_suite()) ? 1 : 0; }
