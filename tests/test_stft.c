/* test_stft.c: the STFT against a direct double-precision DFT of the same windows
 * (torch.stft semantics: frame count 1 + floor((L - W) / H), periodic Hann, center=False,
 * one-sided magnitudes, channel-major features), on the cpu and cpu-ref backends, for the
 * window lengths the datasets use; argmax windowed labels by hand and against a naive count.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_stft.h"
#include "dc_test.h"

#define PI 3.14159265358979323846

static uint64_t g_x = 2024;
static double urand(void) {
    g_x = g_x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_x >> 11) / 9007199254740992.0;
}

/* |X_c[m, k]| by the definition, in double */
static double dft_mag(const float *x, int64_t ss, int64_t cs, int c, int64_t m, int64_t W, int64_t H, int64_t k) {
    double re = 0, im = 0;
    for (int64_t n = 0; n < W; n++) {
        double w = 0.5 - 0.5 * cos(2 * PI * (double)n / (double)W);
        double v = w * x[c * cs + (m * H + n) * ss];
        re += v * cos(2 * PI * (double)(k * n % W) / (double)W);
        im -= v * sin(2 * PI * (double)(k * n % W) / (double)W);
    }
    return sqrt(re * re + im * im);
}

START_TEST(test_frames_window_samples) {
    ck_assert_int_eq(dc_stft_frames(100, 50, 25), 3);
    ck_assert_int_eq(dc_stft_frames(124, 50, 25), 3); /* the incomplete trailing window is dropped */
    ck_assert_int_eq(dc_stft_frames(125, 50, 25), 4);
    ck_assert_int_eq(dc_stft_frames(50, 50, 25), 1);
    ck_assert_int_eq(dc_stft_frames(49, 50, 25), 0);
    ck_assert_int_eq(dc_stft_frames(0, 50, 25), 0);
    ck_assert_int_eq(dc_stft_frames(650000, 360, 180), 1 + (650000 - 360) / 180);
    int64_t W = 0, H = 0;
    ck_assert_int_eq(dc_stft_samples(50, 1.0, 0.5, &W, &H), DC_OK);
    ck_assert(W == 50 && H == 25);
    ck_assert_int_eq(dc_stft_samples(250, 1.0, 0.5, &W, &H), DC_OK);
    ck_assert(W == 250 && H == 125);
    ck_assert_int_eq(dc_stft_samples(360, 1.0, 0.5, &W, &H), DC_OK);
    ck_assert(W == 360 && H == 180); /* mitdb: D = 2 x 181 = 362 */
    ck_assert_int_eq(dc_stft_samples(0, 1.0, 0.5, &W, &H), DC_ERR_ARG);
    ck_assert_int_eq(dc_stft_samples(1, 1.0, 0.1, &W, &H), DC_ERR_ARG);
    double w[8];
    dc_stft_hann(8, w);
    ck_assert_double_eq(w[0], 0.0);
    ck_assert_double_eq_tol(w[4], 1.0, 1e-15); /* periodic: the peak is at W/2, w[W-1] != 0 */
    ck_assert_double_eq_tol(w[2], 0.5, 1e-15);
    ck_assert_double_eq_tol(w[7], w[1], 1e-15);
}
END_TEST

typedef struct scase {
    int64_t L, W, H;
    int ch;
} scase;

static const scase k_cases[] = {
    {1000, 50, 25, 6},   /* HARTH */
    {4000, 360, 180, 2}, /* mitdb */
    {3000, 250, 125, 2}, /* afdb */
    {777, 200, 100, 1},
    {97, 7, 3, 3},       /* odd window, hop not dividing it */
    {64, 16, 20, 2},     /* hop > window */
    {10, 1, 1, 1},
};

START_TEST(test_stft_vs_direct_dft) {
    /* every backend kind with a device: cpu, cpu-ref, and opencl / cuda where present */
    for (int bi = 0; bi < dc_backend_kind_count(); bi++) {
        const char *kind = dc_backend_kind_name(bi);
        if (dc_backend_kind_devices(bi, NULL, 0) < 1) {
            printf("stft: %s skipped, no device\n", kind);
            continue;
        }
        dc_backend *be = dc_backend_new(kind);
        ck_assert_msg(be != NULL, "%s: %s", kind, dc_last_error());
        if (!dc_backend_supports(be, DC_OP_RFFT, DC_F32)) {
            printf("stft: %s skipped, no rfft kernel\n", kind);
            dc_backend_free(be);
            continue;
        }
        for (size_t ci = 0; ci < sizeof k_cases / sizeof k_cases[0]; ci++) {
            const scase c = k_cases[ci];
            const int64_t nb = c.W / 2 + 1, F = dc_stft_frames(c.L, c.W, c.H), stride = c.ch * nb + 3;
            float *x = malloc((size_t)(c.L * c.ch) * sizeof *x);
            float *out = malloc((size_t)(F * stride) * sizeof *out);
            for (int64_t i = 0; i < c.L * c.ch; i++) x[i] = (float)(2 * urand() - 1 + (i % 7 == 0 ? 3 : 0));
            for (int64_t i = 0; i < F * stride; i++) out[i] = -7.0f;
            for (int layout = 0; layout < 2; layout++) {
                /* layout 0: interleaved (L, ch); layout 1: channel-major (ch, L) */
                int64_t ss = layout ? 1 : c.ch, cs = layout ? c.L : 1;
                ck_assert_msg(dc_stft_magnitude(be, x, c.L, c.ch, ss, cs, c.W, c.H, out, stride) == DC_OK, "%s: %s",
                              kind, dc_last_error());
                double worst = 0;
                for (int64_t m = 0; m < F; m++) {
                    for (int ch = 0; ch < c.ch; ch++)
                        for (int64_t k = 0; k < nb; k++) {
                            double ref = dft_mag(x, ss, cs, ch, m, c.W, c.H, k);
                            double err = fabs(out[m * stride + ch * nb + k] - ref) / (1.0 + ref);
                            if (err > worst) worst = err;
                        }
                    for (int64_t j = c.ch * nb; j < stride; j++) ck_assert_float_eq(out[m * stride + j], -7.0f);
                }
                ck_assert_msg(worst < 2e-5, "%s L %lld W %lld H %lld layout %d: relative error %g", kind,
                              (long long)c.L, (long long)c.W, (long long)c.H, layout, worst);
            }
            free(x);
            free(out);
        }
        dc_backend_free(be);
    }
    /* NULL backend = CPU; nothing to do for a signal shorter than the window */
    float x[10] = {0}, out[4] = {1, 2, 3, 4};
    ck_assert_int_eq(dc_stft_magnitude(NULL, x, 9, 1, 1, 1, 10, 5, out, 6), DC_OK);
    ck_assert_float_eq(out[0], 1.0f);
    ck_assert_int_eq(dc_stft_magnitude(NULL, x, 10, 1, 1, 1, 4, 2, out, 2), DC_ERR_ARG); /* stride < 3 bins */
}
END_TEST

START_TEST(test_stft_sine_bin) {
    /* a sine at bin 5 of a 50-point window: the magnitude peaks there at W/4 * amplitude
     * (the Hann window halves it and spreads a quarter into each neighbour) */
    float x[500];
    for (int t = 0; t < 500; t++) x[t] = (float)sin(2 * PI * 5.0 * t / 50.0);
    float out[19 * 26];
    ck_assert_int_eq(dc_stft_magnitude(NULL, x, 500, 1, 1, 1, 50, 25, out, 26), DC_OK);
    for (int m = 0; m < 19; m++) {
        ck_assert_float_eq_tol(out[m * 26 + 5], 12.5f, 1e-4f);
        ck_assert_float_eq_tol(out[m * 26 + 4], 6.25f, 1e-4f);
        ck_assert_float_eq_tol(out[m * 26 + 6], 6.25f, 1e-4f);
        ck_assert_float_eq_tol(out[m * 26 + 0], 0.0f, 1e-4f);
        ck_assert_float_eq_tol(out[m * 26 + 9], 0.0f, 1e-4f);
    }
}
END_TEST

START_TEST(test_windowed_labels) {
    /* W 4, H 2: frames [0,4) [2,6) [4,8) */
    const int32_t y[8] = {1, 1, 0, 0, 2, 2, 2, 1};
    int32_t out[3];
    ck_assert_int_eq(dc_windowed_labels(y, 8, 4, 2, 3, out), DC_OK);
    ck_assert_int_eq(out[0], 0); /* 2 x class 1, 2 x class 0: tie -> the smaller class */
    ck_assert_int_eq(out[1], 0); /* 0 0 2 2: tie -> 0 */
    ck_assert_int_eq(out[2], 2); /* 2 2 2 1 */
    const int32_t u[6] = {-1, -1, -1, 3, -1, -1};
    int32_t o2[3];
    ck_assert_int_eq(dc_windowed_labels(u, 6, 2, 2, 4, o2), DC_OK);
    ck_assert(o2[0] == -1 && o2[1] == 3 && o2[2] == -1); /* unlabelled samples do not count */
    const int32_t bad[4] = {0, 1, 5, 0};
    ck_assert_int_eq(dc_windowed_labels(bad, 4, 2, 1, 3, o2), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "sample 2 has label 5"), "%s", dc_last_error());
    /* random labels against a naive count, hop < win, = win, > win */
    const int64_t L = 3001;
    int32_t *lab = malloc(L * sizeof *lab), *fast = malloc(L * sizeof *fast);
    for (int64_t i = 0; i < L; i++) lab[i] = urand() < 0.05 ? -1 : (int32_t)(urand() * 4);
    const int64_t wh[4][2] = {{50, 25}, {250, 125}, {7, 7}, {5, 11}};
    for (int k = 0; k < 4; k++) {
        const int64_t W = wh[k][0], H = wh[k][1], F = dc_stft_frames(L, W, H);
        ck_assert_int_eq(dc_windowed_labels(lab, L, W, H, 4, fast), DC_OK);
        for (int64_t m = 0; m < F; m++) {
            int cnt[4] = {0};
            for (int64_t n = m * H; n < m * H + W; n++)
                if (lab[n] >= 0) cnt[lab[n]]++;
            int best = -1, bc = 0;
            for (int c = 0; c < 4; c++)
                if (cnt[c] > bc) bc = cnt[c], best = c;
            ck_assert_msg(fast[m] == best, "W %lld H %lld frame %lld: %d vs %d", (long long)W, (long long)H,
                          (long long)m, fast[m], best);
        }
    }
    free(lab);
    free(fast);
}
END_TEST

int main(void) {
    Suite *s = suite_create("stft");
    TCase *tc = tcase_create("stft");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_frames_window_samples);
    tcase_add_test(tc, test_stft_vs_direct_dft);
    tcase_add_test(tc, test_stft_sine_bin);
    tcase_add_test(tc, test_windowed_labels);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
