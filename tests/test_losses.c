/* test_losses.c: DynaCL-M's pieces and MP-Xent on small cases computed independently in the
 * test: the margin loss (docs/METHOD.md §4.4's worked number, the margin-100 NaN, gradient by finite
 * differences), masking and the random projector against the RNG stream, the authors' and
 * the intended pseudo-labels, the lambda mix, and MP-Xent's value and gradient on 5 x 3. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "dynacl/dc_dynacl.h"

static const char *const k_be[] = {"cpu", "cpu-ref"};
static const double k_Z[10] = {1, 0, 1, 1, 0, 1, -1, 1, -1, 0}; /* docs/METHOD.md §3.4 */

static dc_tensor *f64(dc_ctx *c, int ndim, const int64_t *shape, const double *v) {
    return dc_tensor_from_host(c, DC_F64, ndim, shape, v);
}

/* docs/METHOD.md §4.4 by the definition, in double: used as the independent reference. */
static double margin_ref(const double *z, int64_t N, int64_t F, const double *Y, double tau, double Mg, double gamma) {
    double *zh = malloc((size_t)(N * F) * 8), *S = malloc((size_t)(N * N) * 8), *Cx = calloc((size_t)N, 8);
    for (int64_t i = 0; i < N; i++) {
        double n = 0;
        for (int64_t f = 0; f < F; f++) n += z[i * F + f] * z[i * F + f];
        n = sqrt(n);
        for (int64_t f = 0; f < F; f++) zh[i * F + f] = z[i * F + f] / (n > 1e-12 ? n : 1e-12);
    }
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < N; c++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += zh[r * F + f] * zh[c * F + f];
            S[r * N + c] = s;
        }
    for (int64_t c = 0; c < N; c++)
        for (int64_t r = 0; r < N; r++) {
            if (r == c) continue;
            double h = Mg - S[r * N + c] > 0 ? Mg - S[r * N + c] : 0;
            double m = -(1 - Y[c]) * 0.5 * S[r * N + c] * S[r * N + c] + Y[c] * 0.5 * h * h;
            Cx[c] += exp(gamma * m / tau);
        }
    double L = 0;
    for (int64_t a = 1; a <= N - 2; a++) {
        double num = exp(S[a * N + a - 1] / tau) + exp(S[a * N + a + 1] / tau);
        double den = Cx[a - 1] + Cx[a] - exp(S[(a - 1) * N + a] / tau);
        L += -log(num / den);
    }
    free(zh), free(S), free(Cx);
    return L / (double)(N - 2);
}

START_TEST(test_margin_spec_number) {
    dc_backend *be = dc_backend_new(k_be[_i]);
    dc_ctx *c = dc_ctx_new(be);
    double ones[5] = {1, 1, 1, 1, 1};
    dc_tensor *z = f64(c, 2, (int64_t[]){5, 2}, k_Z), *Y = f64(c, 1, (int64_t[]){5}, ones);
    double v = dc_tensor_item(dc_margin_loss(c, z, Y, 0.5, 5.0, 0.05, 0));
    ck_assert_msg(fabs(v - 1.0324415) < 1e-6, "%s: margin loss %.9f, docs/METHOD.md §4.4 gives 1.0324415", k_be[_i],
                  v);
    ck_assert(fabs(v - margin_ref(k_Z, 5, 2, ones, 0.5, 5.0, 0.05)) < 1e-12);
    /* f32 too */
    float zf[10], yf[5] = {1, 1, 1, 1, 1};
    for (int i = 0; i < 10; i++) zf[i] = (float)k_Z[i];
    dc_tensor *z32 = dc_tensor_from_host(c, DC_F32, 2, (int64_t[]){5, 2}, zf);
    dc_tensor *y32 = dc_tensor_from_host(c, DC_F32, 1, (int64_t[]){5}, yf);
    double v32 = dc_tensor_item(dc_margin_loss(c, z32, y32, 0.5, 5.0, 0.05, 0));
    ck_assert_msg(fabs(v32 - 1.0324415) < 1e-6, "%s f32: %.9f", k_be[_i], v32);
    /* margin 100: exp(~500) overflows float32 and the diagonal removal gives inf - inf (docs/METHOD.md §4.4);
     * the reference computes in float64 whatever the dtype, so it gives the finite float64 value */
    double vnan = dc_tensor_item(dc_margin_loss(c, z32, y32, 0.5, 100.0, 0.05, 0));
    if (strcmp(k_be[_i], "cpu-ref") == 0) {
        double want = margin_ref(k_Z, 5, 2, ones, 0.5, 100.0, 0.05);
        ck_assert_msg(isfinite(want) && fabs(vnan - want) <= 1e-6 * fabs(want), "cpu-ref: margin 100: %g, float64 %g",
                      vnan, want);
    } else {
        ck_assert_msg(isnan(vnan), "%s: margin 100 should give NaN in float32, got %g", k_be[_i], vnan);
    }
    /* mixed pseudo-labels against the reference */
    double Ym[5] = {1, 0, 1, 0, 0};
    dc_tensor *ym = f64(c, 1, (int64_t[]){5}, Ym);
    double vm = dc_tensor_item(dc_margin_loss(c, z, ym, 0.5, 5.0, 0.05, 0));
    ck_assert(fabs(vm - margin_ref(k_Z, 5, 2, Ym, 0.5, 5.0, 0.05)) < 1e-12);
    dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_margin_gradient_fd) {
    dc_backend *be = dc_backend_new(k_be[_i]);
    dc_ctx *c = dc_ctx_new(be), *w = dc_ctx_new(be);
    const int64_t N = 8, F = 3;
    double z[24], Y[8] = {1, 0, 1, 1, 0, 1, 0, 1};
    dc_rng r = dc_rng_init(4);
    for (int i = 0; i < 24; i++) z[i] = dc_rng_uniform(&r) + 0.1;
    dc_tensor *zt = f64(c, 2, (int64_t[]){N, F}, z), *yt = f64(c, 1, &N, Y);
    dc_tensor_set_requires_grad(zt, 1);
    dc_tensor *L = dc_margin_loss(w, zt, yt, 0.5, 5.0, 0.05, 4);
    ck_assert(L && dc_backward(w, L) == DC_OK);
    double g[24];
    dc_tensor_download(zt->grad, g, sizeof g);
    for (int k = 0; k < 24; k++) {
        double h = 1e-6, x0 = z[k];
        z[k] = x0 + h;
        dc_tensor_upload(zt, z, sizeof z);
        dc_ctx_reset(w);
        dc_ctx_set_grad_enabled(w, 0);
        double lp = dc_tensor_item(dc_margin_loss(w, zt, yt, 0.5, 5.0, 0.05, 4));
        z[k] = x0 - h;
        dc_tensor_upload(zt, z, sizeof z);
        dc_ctx_reset(w);
        double lm = dc_tensor_item(dc_margin_loss(w, zt, yt, 0.5, 5.0, 0.05, 4));
        dc_ctx_set_grad_enabled(w, 1);
        z[k] = x0;
        dc_tensor_upload(zt, z, sizeof z);
        double fd = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(g[k] - fd) <= 1e-7 + 1e-5 * fabs(fd), "%s: dz[%d] %.10g vs fd %.10g", k_be[_i], k, g[k], fd);
    }
    dc_ctx_free(w), dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

/* The mask and the projector are exactly the Philox stream: element j of a fill uses block
 * counter + j/4, lane j%4, u = (word >> 8) * 2^-24. */
START_TEST(test_mask_and_projector_follow_the_stream) {
    dc_backend *be = dc_backend_new(k_be[_i]);
    dc_ctx *c = dc_ctx_new(be);
    const int64_t B = 2, T = 3, D = 5;
    double x[30];
    for (int i = 0; i < 30; i++) x[i] = i + 1;
    dc_tensor *xt = f64(c, 3, (int64_t[]){B, T, D}, x);
    dc_rng r = dc_rng_init(99);
    r.counter = 10;
    dc_tensor *xm = dc_feature_mask(c, xt, 0.3, &r);
    double got[30];
    dc_tensor_download(xm, got, sizeof got);
    int zeros = 0;
    for (int j = 0; j < 30; j++) {
        uint32_t w[4];
        dc_philox4x32(99, 10 + (uint64_t)(j / 4), w);
        int masked = dc_rng_u01(w[j % 4]) < 0.3;
        ck_assert_msg(got[j] == (masked ? 0.0 : x[j]), "element %d", j);
        zeros += masked;
    }
    ck_assert(zeros > 0 && zeros < 30);
    ck_assert_int_eq((int64_t)r.counter, 10 + 8); /* ceil(30 / 4) blocks */
    /* projector: W (F=2, D) then b (2), each U(+-1/sqrt(D)), y = X W^T + b */
    dc_tensor *X = dc_reshape(c, xt, 2, (int64_t[]){6, 5});
    uint64_t c0 = r.counter;
    dc_tensor *y = dc_random_projection(c, X, 2, &r);
    double yh[12], bound = 1.0 / sqrt(5.0), W[10], bb[2];
    dc_tensor_download(y, yh, sizeof yh);
    for (int j = 0; j < 10; j++) {
        uint32_t w[4];
        dc_philox4x32(99, c0 + (uint64_t)(j / 4), w);
        W[j] = -bound + 2 * bound * dc_rng_u01(w[j % 4]);
    }
    for (int j = 0; j < 2; j++) {
        uint32_t w[4];
        dc_philox4x32(99, c0 + 3 + (uint64_t)(j / 4), w);
        bb[j] = -bound + 2 * bound * dc_rng_u01(w[j % 4]);
    }
    for (int n = 0; n < 6; n++)
        for (int f = 0; f < 2; f++) {
            double s = bb[f];
            for (int d = 0; d < 5; d++) s += x[n * 5 + d] * W[f * 5 + d];
            ck_assert_msg(fabs(yh[n * 2 + f] - s) < 1e-12, "projection (%d, %d): %g vs %g", n, f, yh[n * 2 + f], s);
        }
    ck_assert(!(y->flags & DC_NEEDS_GRAD));
    dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_pseudo_labels) {
    /* rows: (1,0), (1,0), (0,1), (1,1): cosines to the next row (wrapping) are 1, 0, 0.7071, 0.7071 */
    const float x[8] = {1, 0, 1, 0, 0, 1, 1, 1};
    float Y[4];
    dc_pseudo_labels_code(x, 4, 2, 0.4, Y); /* >= 0.4 -> 0, then <= 0.4 -> 1: everything becomes 1 */
    for (int k = 0; k < 4; k++) ck_assert(Y[k] == 1.0f);
    dc_pseudo_labels_code(x, 4, 2, -2.0, Y); /* every q >= -2 -> 0; then 0 <= -2 is false: all 0 */
    for (int k = 0; k < 4; k++) ck_assert(Y[k] == 0.0f);
    dc_pseudo_labels_code(x, 4, 2, 1.5, Y); /* nothing >= 1.5; everything <= 1.5 -> 1 */
    for (int k = 0; k < 4; k++) ck_assert(Y[k] == 1.0f);
    /* the intended rule on embeddings: Y_k = cos(z_k, z_k+1) <= 0.4 -> 1, 0.7071 > 0.4 -> 0 */
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *c = dc_ctx_new(be);
    dc_tensor *z = dc_tensor_from_host(c, DC_F32, 2, (int64_t[]){4, 2}, x);
    dc_tensor *Ye = dc_pseudo_labels_embeddings(c, z, 0.4);
    float ye[4];
    dc_tensor_download(Ye, ye, sizeof ye);
    const float want[4] = {0, 1, 0, 0};
    for (int k = 0; k < 4; k++) ck_assert_msg(ye[k] == want[k], "Y[%d] = %g", k, ye[k]);
    dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

/* MP-Xent on a 5 x 3 example: value by the docs/METHOD.md §3.2 sums in double, gradient by central
 * differences of that definition; one sequence of 5 and two sequences would need N even, so
 * the boundary case uses blocks of 5 over 10 rows (two copies with a twist). */
static double mpx_def(const double *z, int64_t N, int64_t F, int64_t L, double tau) {
    double zh[64 * 8], E[64 * 64], C[64] = {0}, tot = 0;
    int A = 0;
    for (int64_t i = 0; i < N; i++) {
        double n = 0;
        for (int64_t f = 0; f < F; f++) n += z[i * F + f] * z[i * F + f];
        for (int64_t f = 0; f < F; f++) zh[i * F + f] = z[i * F + f] / sqrt(n);
    }
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < N; c++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += zh[r * F + f] * zh[c * F + f];
            E[r * N + c] = r == c ? 0 : exp(s / tau);
        }
    for (int64_t c = 0; c < N; c++)
        for (int64_t r = 0; r < N; r++) C[c] += E[r * N + c];
    for (int64_t a = 1; a < N - 1; a++) {
        if (a % L == 0 || a % L == L - 1) continue;
        double lm = E[a * N + a - 1], lp = E[(a + 1) * N + a];
        tot += log((C[a - 1] - lm) + (C[a] - lm - lp)) - log(lm + lp);
        A++;
    }
    return tot / A;
}

START_TEST(test_mpxent_5x3_value_and_gradient) {
    const double z5[15] = {0.9, 0.1, 0.3, 0.7, 0.6, 0.2, 0.1, 0.8, 0.5, 0.4, 0.4, 0.9, 0.2, 0.1, 1.0};
    double z10[30];
    for (int i = 0; i < 15; i++) z10[i] = z5[i], z10[15 + i] = z5[14 - i];
    for (int b = 0; b < 2; b++) {
        dc_backend *be = dc_backend_new(k_be[b]);
        dc_ctx *c = dc_ctx_new(be);
        for (int variant = 0; variant < 3; variant++) {
            /* 0: 5 rows, authors; 1: 10 rows authors (crossing pairs); 2: 10 rows blocks of 5 */
            const double *z = variant ? z10 : z5;
            int64_t N = variant ? 10 : 5, L = variant == 2 ? 5 : N;
            dc_ctx_reset(c);
            dc_tensor *zt = f64(c, 2, (int64_t[]){N, 3}, z);
            dc_tensor_set_requires_grad(zt, 1);
            dc_mpxent_opts o = {0.5, variant == 2 ? 5 : 0, 0};
            dc_tensor *Lt = dc_mpxent(c, zt, &o);
            double v = dc_tensor_item(Lt), ref = mpx_def(z, N, 3, L, 0.5);
            ck_assert_msg(fabs(v - ref) < 1e-12, "%s variant %d: %.15f vs %.15f", k_be[b], variant, v, ref);
            ck_assert(dc_backward(c, Lt) == DC_OK);
            double g[30], zz[30];
            dc_tensor_download(zt->grad, g, (size_t)(N * 3) * 8);
            memcpy(zz, z, (size_t)(N * 3) * 8);
            for (int k = 0; k < N * 3; k++) {
                double x0 = zz[k], h = 1e-6;
                zz[k] = x0 + h;
                double lp = mpx_def(zz, N, 3, L, 0.5);
                zz[k] = x0 - h;
                double lm = mpx_def(zz, N, 3, L, 0.5);
                zz[k] = x0;
                double fd = (lp - lm) / (2 * h);
                ck_assert_msg(fabs(g[k] - fd) <= 1e-8 + 1e-6 * fabs(fd), "%s variant %d dz[%d]: %.10g vs %.10g", k_be[b],
                              variant, k, g[k], fd);
            }
        }
        /* the boundary pair (4, 5) is a positive under the authors' adjacency only: values differ */
        dc_ctx_reset(c);
        dc_tensor *zt = f64(c, 2, (int64_t[]){10, 3}, z10);
        dc_mpxent_opts oa = {0.5, 0, 0}, oc = {0.5, 5, 0};
        ck_assert(fabs(dc_tensor_item(dc_mpxent(c, zt, &oa)) - dc_tensor_item(dc_mpxent(c, zt, &oc))) > 1e-3);
        dc_ctx_free(c);
        dc_backend_free(be);
    }
}
END_TEST

/* lambda * MSE + (1 - lambda) * margin (authors) vs lambda * margin + (1 - lambda) * MSE (paper) */
START_TEST(test_lambda_forms) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *c = dc_ctx_new(be);
    for (int form = 0; form < 2; form++) {
        dc_model_config cfg = dc_model_config_defaults("dynacl-m", "sleepeeg", "authors");
        cfg.opt[DC_DYNACL_LAMBDA_PAPER] = form;
        dc_model *m = dc_model_new(&cfg, be, 7);
        dc_tensor *x = dc_tensor_new(c, DC_F32, 3, (int64_t[]){2, 6, 7});
        dc_rng r = dc_rng_init(1);
        dc_rng_fill_normal(&r, x, 0, 1);
        dc_loss_terms t;
        dc_tensor *L = dc_model_loss(m, c, x, 1, &r, &t);
        ck_assert_msg(L, "%s", dc_last_error());
        ck_assert_int_eq(t.n, 2);
        ck_assert_str_eq(t.name[0], "mse");
        ck_assert_str_eq(t.name[1], "margin");
        double mse = dc_tensor_item(t.value[0]), mar = dc_tensor_item(t.value[1]), lam = 0.4;
        double want = form ? lam * mar + (1 - lam) * mse : lam * mse + (1 - lam) * mar;
        ck_assert_msg(fabs(dc_tensor_item(L) - want) < 1e-5 * fabs(want), "form %d: %g vs %g", form, dc_tensor_item(L), want);
        dc_model_free(m);
    }
    dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

int main(void) {
    Suite *s = suite_create("losses");
    TCase *tc = tcase_create("losses");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_margin_spec_number, 0, 2);
    tcase_add_loop_test(tc, test_margin_gradient_fd, 0, 2);
    tcase_add_loop_test(tc, test_mask_and_projector_follow_the_stream, 0, 2);
    tcase_add_test(tc, test_pseudo_labels);
    tcase_add_test(tc, test_mpxent_5x3_value_and_gradient);
    tcase_add_test(tc, test_lambda_forms);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
