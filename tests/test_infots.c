/* test_infots.c: InfoTS (docs/METHOD.md §6.2): each augmentation on tiny inputs with fixed parameters
 * against hand-computed outputs (incl. the PCHIP time-warp path and both linear resizes),
 * the gates and the mix, global and local InfoNCE by hand and by finite differences, the
 * protocol defaults and the corrected objective by hand, the paper's variant through the CLI,
 * a short run that lowers the loss under corrected, the augmentation
 * weights frozen under authors and trained under corrected, bad hyperparameters, and the
 * checkpoint with its "infots." head. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc_baseline_test.h"
#include "dc_test.h"
#include "infots/dc_infots.h"
#include "train/dc_train.h"

/* x (B, T, 1) with x[b, t] = v[b*T + t]. */
static dc_tensor *seq(int64_t B, int64_t T, const float *v) { return dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){B, T, 1}, v); }

START_TEST(test_interp_linear) {
    int64_t i0, i1;
    double lam;
    /* 4 -> 8: src = (i + 0.5) / 2 - 0.5 */
    dc_interp_linear(0, 4, 8, &i0, &i1, &lam); /* -0.25 clamped to 0 */
    ck_assert(i0 == 0 && i1 == 1 && lam == 0.0);
    dc_interp_linear(1, 4, 8, &i0, &i1, &lam);
    ck_assert(i0 == 0 && i1 == 1 && fabs(lam - 0.25) < 1e-15);
    dc_interp_linear(7, 4, 8, &i0, &i1, &lam); /* 3.25: the last sample, i1 clamped */
    ck_assert(i0 == 3 && i1 == 3 && fabs(lam - 0.25) < 1e-15);
    /* 8 -> 6: scale 4/3, sample 2 at 2.5 * 4/3 - 0.5 = 2.8333 */
    dc_interp_linear(2, 8, 6, &i0, &i1, &lam);
    ck_assert(i0 == 2 && i1 == 3 && fabs(lam - 5.0 / 6.0) < 1e-12);
}
END_TEST

START_TEST(test_subsequence_cutout) {
    const float v[5] = {1, 2, 3, 4, 5};
    dc_tensor *x = seq(1, 5, v);
    dc_bt_expect(dc_aug_subsequence(dc_bt_ctx, x, 1, 3), (double[]){0, 2, 3, 4, 0}, 5, 0, "subsequence");
    dc_bt_expect(dc_aug_cutout(dc_bt_ctx, x, 1, 2), (double[]){1, 0, 0, 4, 5}, 5, 0, "cutout");
    dc_bt_expect(dc_aug_cutout(dc_bt_ctx, x, 3, 0), (double[]){1, 2, 3, 4, 5}, 5, 0, "cutout of length 0");
    /* same window on every row and feature */
    const float w[12] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6};
    dc_tensor *x2 = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 3, 2}, w);
    dc_bt_expect(dc_aug_subsequence(dc_bt_ctx, x2, 2, 1), (double[]){0, 0, 0, 0, 3, -3, 0, 0, 0, 0, 6, -6}, 12, 0, "subsequence rows");
    ck_assert(!dc_aug_subsequence(dc_bt_ctx, x, 3, 3));
    ck_assert_msg(strstr(dc_last_error(), "[3, 6)") && strstr(dc_last_error(), "T = 5"), "%s", dc_last_error());
    ck_assert(!dc_aug_cutout(dc_bt_ctx, x, -1, 2));
}
END_TEST

START_TEST(test_jitter_scaling) {
    const float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* (2, 2, 2) */
    dc_tensor *x = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 2, 2}, v);
    const float nz[8] = {0.5f, -0.5f, 0.25f, 0, 0, 1, -1, 2};
    dc_tensor *n = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 2, 2}, nz);
    dc_bt_expect(dc_aug_jitter(dc_bt_ctx, x, n), (double[]){1.5, 1.5, 3.25, 4, 5, 7, 6, 10}, 8, 0, "jitter");
    const float f[4] = {2, -1, 0.5f, 3}; /* (B = 2, 1, D = 2): one factor per row and feature, every time step */
    dc_tensor *fa = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 2}, f);
    dc_bt_expect(dc_aug_scaling(dc_bt_ctx, x, fa), (double[]){2, -2, 6, -4, 2.5, 18, 3.5, 24}, 8, 0, "scaling");
    ck_assert(!dc_aug_scaling(dc_bt_ctx, x, n));
    ck_assert_msg(strstr(dc_last_error(), "(B, 1, D)"), "%s", dc_last_error());
}
END_TEST

/* n = 1 speed change, T = 5, r = 10, u = (0.2, 0.8):
 *   v = u - (0.8 - 10 * 0.2) / (1 - 10) = u - 2/15 = (1/15, 2/3); values (0, 4 (1/15)/(11/15), 4) = (0, 4/11, 4)
 *   at anchors (0, 2, 4). Slopes 2/11 and 20/11; interior derivative (harmonic mean, equal
 *   widths) 2 / (11/2 + 11/20) = 40/121; left end (6 (2/11) - 2 (20/11)) / 4 < 0 -> 0; right end
 *   (6 (20/11) - 2 (2/11)) / 4 = 29/11. Hermite at t = 1: 4/11 / 2 - 2 (40/121) / 8 = 12/121;
 *   at t = 3: 4/11 / 2 + 2 (40/121) / 8 + 2 - 2 (29/11) / 8 = 777/484.
 * A linear row x[t] = 10 t + 1 is interpolated exactly: out = 10 path + 1. */
START_TEST(test_time_warp) {
    const double u[2] = {0.2, 0.8};
    double path[5];
    ck_assert(dc_time_warp_path(u, 1, 10.0, 5, path) == DC_OK);
    const double want[5] = {0, 12.0 / 121, 4.0 / 11, 777.0 / 484, 4};
    for (int t = 0; t < 5; t++) ck_assert_msg(fabs(path[t] - want[t]) < 1e-12, "path[%d] = %.15g, want %.15g", t, path[t], want[t]);
    const float v[10] = {1, 11, 21, 31, 41, 1, 11, 21, 31, 41};
    const double u2[4] = {0.2, 0.8, 0.5, 0.5}; /* row 1: equal speeds -> identity */
    double out[10];
    for (int t = 0; t < 5; t++) out[t] = 10 * want[t] + 1, out[5 + t] = 10 * t + 1;
    dc_bt_expect(dc_aug_time_warp(dc_bt_ctx, seq(2, 5, v), u2, 1, 10.0), out, 10, 2e-5, "time warp");
    /* n = 100 as run: monotone from 0 to T - 1 */
    dc_rng r = dc_rng_init(5);
    double uu[101], p[119];
    for (int i = 0; i < 101; i++) uu[i] = dc_rng_uniform(&r);
    ck_assert(dc_time_warp_path(uu, 100, 10.0, 119, p) == DC_OK);
    ck_assert(p[0] == 0 && fabs(p[118] - 118) < 1e-9);
    for (int t = 1; t < 119; t++) ck_assert_msg(p[t] >= p[t - 1], "path not monotone at %d", t);
    ck_assert(dc_time_warp_path(uu, 0, 10.0, 119, p) == DC_ERR_ARG);
}
END_TEST

/* T = 4, ratio 0.5 -> crop of 2 from start 1: (10, 20) resized to 4 at src = max((i+0.5)/2 - 0.5, 0)
 * = 0, 0.25, 0.75, 1.25 -> 10, 12.5, 17.5, 20. */
START_TEST(test_window_slice) {
    const float v[8] = {0, 10, 20, 30, 0, 10, 20, 30};
    dc_tensor *x = seq(2, 4, v);
    const int64_t st[2] = {1, 2};
    dc_bt_expect(dc_aug_window_slice(dc_bt_ctx, x, st, 0.5), (double[]){10, 12.5, 17.5, 20, 20, 22.5, 27.5, 30}, 8, 1e-5,
           "window slice");
    const int64_t bad[2] = {1, 3};
    ck_assert(!dc_aug_window_slice(dc_bt_ctx, x, bad, 0.5));
    ck_assert_msg(strstr(dc_last_error(), "row 1"), "%s", dc_last_error());
    dc_bt_expect(dc_aug_window_slice(dc_bt_ctx, x, st, 1.0), (double[]){0, 10, 20, 30, 0, 10, 20, 30}, 8, 0, "no slice when ceil >= T");
}
END_TEST

/* T = 6, ratio 0.3 -> ws = ceil(1.8) = 2, x = 0, 10, ..., 50.
 * Row 0: start 2, scale 2 -> the window (20, 30) resized to 4: 20, 22.5, 27.5, 30; the row
 *   0 10 20 22.5 27.5 30 40 50 (8) resized to 6 at src = (i + 0.5) 4/3 - 0.5 = 1/6, 1.5, 17/6,
 *   25/6, 5.5, 41/6: 5/3, 15, 20 + 2.5 (5/6), 27.5 + 2.5/6, 35, 40 + 10 (5/6).
 * Row 1: start 1, scale 0.5 -> the window (10, 20) resized to 1 at src 0.5: 15; the row
 *   0 15 30 40 50 (5) resized to 6 at src = (i + 0.5) 5/6 - 0.5 = 0 (clamped), 0.75, 19/12,
 *   29/12, 3.25, 49/12: 0, 11.25, 15 + 15 (7/12), 30 + 10 (5/12), 42.5, 50. */
START_TEST(test_window_warp) {
    const float v[12] = {0, 10, 20, 30, 40, 50, 0, 10, 20, 30, 40, 50};
    const int64_t st[2] = {2, 1};
    const double sc[2] = {2.0, 0.5};
    const double want[12] = {5.0 / 3, 15, 20 + 2.5 * 5 / 6, 27.5 + 2.5 / 6, 35, 40 + 10.0 * 5 / 6,
                             0,       11.25, 15 + 15.0 * 7 / 12, 30 + 10.0 * 5 / 12, 42.5, 50};
    dc_bt_expect(dc_aug_window_warp(dc_bt_ctx, seq(2, 6, v), st, sc, 0.3), want, 12, 2e-5, "window warp");
    const int64_t bad[2] = {5, 1};
    ck_assert(!dc_aug_window_warp(dc_bt_ctx, seq(2, 6, v), bad, sc, 0.3));
    ck_assert_msg(strstr(dc_last_error(), "[5, 7)"), "%s", dc_last_error());
}
END_TEST

/* u = 0.5 gives eps = 0.5 and a zero gate, so para = softmax(w); u = 0 gives eps = 0.9999 and
 * g = ln(9999). */
START_TEST(test_gates_and_mix) {
    float w[14] = {0};
    w[1] = (float)log(2.0);
    double u[14];
    for (int i = 0; i < 14; i++) u[i] = 0.5;
    u[7] = 0.0;
    dc_tensor *wt = dc_tensor_from_host(dc_bt_ctx, DC_F32, 2, (int64_t[]){2, 7}, w);
    double want[14];
    for (int i = 0; i < 7; i++) want[i] = (i == 1 ? 2.0 : 1.0) / 8.0;
    for (int i = 0; i < 7; i++) want[7 + i] = (i == 0 ? 9999.0 : 1.0) / (9999.0 + 6.0);
    dc_tensor *para = dc_infots_gates(dc_bt_ctx, wt, u);
    dc_bt_expect(para, want, 14, 1e-6, "gates");
    /* the mix of 7 constant tensors c_k = k + 1 is sum_k para0[k] (k + 1) = (1 + 2*2 + 3 + ... + 7) / 8 */
    dc_tensor *augs[DC_AUG_COUNT];
    for (int k = 0; k < DC_AUG_COUNT; k++) augs[k] = dc_tensor_full(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 3, 2}, k + 1.0);
    double m = (1 + 4 + 3 + 4 + 5 + 6 + 7) / 8.0, wm[12];
    for (int i = 0; i < 12; i++) wm[i] = m;
    dc_bt_expect(dc_infots_mix(dc_bt_ctx, dc_slice(dc_bt_ctx, para, 0, 0, 1), augs), wm, 12, 1e-5, "mix");
    ck_assert(!dc_infots_mix(dc_bt_ctx, para, augs));
    ck_assert_msg(strstr(dc_last_error(), "(1, 7)"), "%s", dc_last_error());
    ck_assert_str_eq(dc_aug_name(DC_AUG_TIME_WARP), "time_warp");
}
END_TEST

/* Pooled views p1 = p2 = (e0, e1): each row's other entries are 0 (the other series, both
 * views) and 1 (its positive): -log(e / (e + 2)) = log(1 + 2/e); with tau 2, log(1 + 2 e^-0.5).
 * The max-pool takes each feature's maximum over time. */
START_TEST(test_global_infonce) {
    const float a[8] = {1, -3, 0.5f, 0, -1, 1, 0, 0.25f}; /* (2, 2, 2): max over t = (1, 0), (0, 1) */
    const float b[4] = {1, 0, 0, 1};                       /* (2, 1, 2) */
    dc_tensor *z1 = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 2, 2}, a);
    dc_tensor *z2 = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 2}, b);
    dc_tensor *L = dc_infots_global_infonce(dc_bt_ctx, z1, z2, 1.0);
    ck_assert_msg(L, "%s", dc_last_error());
    ck_assert_double_eq_tol(dc_tensor_item(L), log(1 + 2 / exp(1.0)), 1e-6);
    L = dc_infots_global_infonce(dc_bt_ctx, z1, z2, 2.0);
    ck_assert_double_eq_tol(dc_tensor_item(L), log(1 + 2 * exp(-0.5)), 1e-6);
    ck_assert(!dc_infots_global_infonce(dc_bt_ctx, z1, z2, 0.0));
}
END_TEST

/* k = 4, T = 4 (cs = 1), z = e0, e0, e1, e1. Logits per row (positive first):
 *   row 0: (s01, s03) = (1, 0)    row 1: (s12, s13) = (0, 0)
 *   row 2: (s23, s20) = (1, 0)    row 3: (s32, s30) = (1, 0)   (row 3: positive 2, j = 1 excluded)
 * mean CE = (3 log(1 + 1/e) + log 2) / 4. With all rows equal every row has 1 + (k - 3) equal
 * logits: k = 8 gives log 6. */
START_TEST(test_local_infonce) {
    const float a[16] = {1, 0, 1, 0, 0, 1, 0, 1, /* sequence 1: all equal */ 1, 1, 1, 1, 1, 1, 1, 1};
    dc_tensor *z = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 4, 2}, a);
    double want0 = (3 * log(1 + exp(-1.0)) + log(2.0)) / 4;
    dc_tensor *L = dc_infots_local_infonce(dc_bt_ctx, z, 4, 0, 1.0, 0);
    ck_assert_msg(L, "%s", dc_last_error());
    ck_assert_double_eq_tol(dc_tensor_item(L), want0, 1e-6); /* authors: sequence 0 only */
    L = dc_infots_local_infonce(dc_bt_ctx, z, 4, 0, 1.0, 1);
    ck_assert_double_eq_tol(dc_tensor_item(L), (want0 + log(2.0)) / 2, 1e-6);
    /* tau 0.5 doubles the logits */
    L = dc_infots_local_infonce(dc_bt_ctx, z, 4, 0, 0.5, 0);
    ck_assert_double_eq_tol(dc_tensor_item(L), (3 * log(1 + exp(-2.0)) + log(2.0)) / 4, 1e-6);
    /* k = 8 on T = 19 (cs = 2, start 3): 6 logits per row */
    dc_tensor *c = dc_tensor_full(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 19, 3}, 0.5);
    L = dc_infots_local_infonce(dc_bt_ctx, c, 8, 3, 1.0, 0);
    ck_assert_double_eq_tol(dc_tensor_item(L), log(6.0), 1e-6);
    ck_assert(!dc_infots_local_infonce(dc_bt_ctx, c, 8, 4, 1.0, 0)); /* 4 + 16 > 19 */
    ck_assert(!dc_infots_local_infonce(dc_bt_ctx, c, 3, 0, 1.0, 0));
    ck_assert_msg(strstr(dc_last_error(), "k >= 4"), "%s", dc_last_error());
}
END_TEST

/* The losses at the resolved corrected defaults, by hand, on the inputs of the two tests
 * above: temperature 1.0 and sequence 0 only, as under authors. The paper's variant (2.0,
 * 0.1, every sequence) gives other values: global log(1 + 2 e^-0.5); local, sequence 0 with
 * logits x10, (3 log(1 + e^-10) + log 2) / 4, averaged with sequence 1's log 2. */
START_TEST(test_corrected_objective_by_hand) {
    dc_model_config c = dc_model_config_defaults("infots", "harth", "corrected");
    const float a[8] = {1, -3, 0.5f, 0, -1, 1, 0, 0.25f}, b[4] = {1, 0, 0, 1};
    dc_tensor *z1 = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 2, 2}, a);
    dc_tensor *z2 = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 2}, b);
    const float l[16] = {1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    dc_tensor *z = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 4, 2}, l);
    dc_tensor *G = dc_infots_global_infonce(dc_bt_ctx, z1, z2, c.opt[DC_INFOTS_TAU_GLOBAL]);
    dc_tensor *L = dc_infots_local_infonce(dc_bt_ctx, z, 4, 0, c.opt[DC_INFOTS_TAU_LOCAL], c.opt[DC_INFOTS_LOCAL_ALL]);
    ck_assert_msg(G && L, "%s", dc_last_error());
    ck_assert_double_eq_tol(dc_tensor_item(G), log(1 + 2 / exp(1.0)), 1e-6);
    ck_assert_double_eq_tol(dc_tensor_item(L), (3 * log(1 + exp(-1.0)) + log(2.0)) / 4, 1e-6);
    G = dc_infots_global_infonce(dc_bt_ctx, z1, z2, 2.0);
    L = dc_infots_local_infonce(dc_bt_ctx, z, 4, 0, 0.1, 1);
    ck_assert_double_eq_tol(dc_tensor_item(G), log(1 + 2 * exp(-0.5)), 1e-6);
    ck_assert_double_eq_tol(dc_tensor_item(L), ((3 * log(1 + exp(-10.0)) + log(2.0)) / 4 + log(2.0)) / 2, 1e-6);
}
END_TEST

/* The CLI: corrected records the code's objective with trained weights; the variant's flags
 * are recorded as given and survive --resume. */
START_TEST(test_cli_protocol_and_variant) {
    const char *corr[] = {"\"protocol\":\t\"corrected\"", "\"train_heads\":\ttrue", "\"infots_tau_global\":\t1,",
                          "\"infots_tau_local\":\t1,", "\"infots_local_loss\":\t\"first-sequence\""};
    dc_bt_cli_pretrain("--model infots --protocol corrected", corr, 5);
    const char *var[] = {"\"train_heads\":\ttrue", "\"infots_tau_global\":\t2,", "\"infots_tau_local\":\t0.1,",
                         "\"infots_local_loss\":\t\"all-sequences\""};
    dc_bt_cli_pretrain("--model infots --protocol corrected --infots-tau-global 2 --infots-tau-local 0.1 --infots-local all",
                       var, 4);
}
END_TEST

/* Finite differences (f64) through the losses and the gated mix. */
static dc_tensor *fd_losses(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    (void)ud;
    dc_tensor *g = dc_infots_global_infonce(ctx, in[0], in[1], 2.0);
    dc_tensor *l = dc_infots_local_infonce(ctx, in[0], 4, 1, 0.7, 1);
    return dc_add(ctx, g, l);
}

static dc_tensor *fd_mix(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    const double *u = ud;
    dc_tensor *augs[DC_AUG_COUNT];
    for (int k = 0; k < DC_AUG_COUNT; k++) augs[k] = dc_affine(ctx, in[1], 0.5 * k - 1.0, 0.1 * k);
    dc_tensor *v = dc_infots_mix(ctx, dc_slice(ctx, dc_infots_gates(ctx, in[0], u), 0, 0, 1), augs);
    return dc_sum_all(ctx, dc_mul(ctx, v, v));
}

START_TEST(test_fd_gradients) {
    dc_rng r = dc_rng_init(3);
    double z1[2 * 9 * 3], z2[2 * 9 * 3], w[14], x[2 * 3 * 2], u[14];
    for (int i = 0; i < 54; i++) z1[i] = dc_rng_normal(&r), z2[i] = dc_rng_normal(&r);
    dc_bt_fd_check("infots losses", fd_losses, NULL, 2, (int[]){3, 3}, (const int64_t[][4]){{2, 9, 3}, {2, 9, 3}},
                   (double *[]){z1, z2});
    for (int i = 0; i < 14; i++) w[i] = 0.3 * dc_rng_normal(&r), u[i] = dc_rng_uniform(&r);
    for (int i = 0; i < 12; i++) x[i] = dc_rng_normal(&r);
    dc_bt_fd_check("infots gated mix", fd_mix, u, 2, (int[]){2, 3}, (const int64_t[][4]){{2, 7}, {2, 3, 2}},
                   (double *[]){w, x});
}
END_TEST

START_TEST(test_protocol_defaults_and_checks) {
    dc_model_config a = dc_model_config_defaults("infots", "harth", "authors");
    dc_model_config c = dc_model_config_defaults("infots", "harth", "corrected");
    /* both protocols keep the code's objective (temperature 1.0, the first sequence); corrected
     * only trains the augmentation weights (docs/METHOD.md §6.2) */
    ck_assert(a.opt[DC_INFOTS_TAU_GLOBAL] == 1.0 && a.opt[DC_INFOTS_TAU_LOCAL] == 1.0 && !a.train_heads && !a.opt[DC_INFOTS_LOCAL_ALL]);
    ck_assert(c.opt[DC_INFOTS_TAU_GLOBAL] == 1.0 && c.opt[DC_INFOTS_TAU_LOCAL] == 1.0 && c.train_heads && !c.opt[DC_INFOTS_LOCAL_ALL]);
    ck_assert(c.opt[DC_INFOTS_VARIETY] == 0.1);
    ck_assert(a.opt[DC_INFOTS_AUG_P] == 0.2 && a.opt[DC_INFOTS_LOCAL_K] == 8 && a.opt[DC_INFOTS_MAX_LEN] == 500);
    ck_assert(dc_model_config_check(&a) == DC_OK);
    dc_model_config b = a;
    b.opt[DC_INFOTS_TAU_LOCAL] = 0;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_tau_local must be a number > 0 (got 0)"));
    b = a;
    b.opt[DC_INFOTS_AUG_P] = 1.5;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_aug_p must be a number in [0, 1] (got 1.5)"));
    b = a;
    b.opt[DC_INFOTS_LOCAL_K] = 3;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_local_k must be an integer >= 4"));
    b = a;
    b.opt[DC_INFOTS_MAX_LEN] = 4;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_max_len must be an integer >= 5"));
    b.opt[DC_INFOTS_MAX_LEN] = 6; /* in its own range, but shorter than the 8 chunks */
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_max_len (6) must be >= infots_local_k (8)"));
    b = a;
    b.opt[DC_INFOTS_VARIETY] = -1;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "infots_variety must be a number >= 0"));
    /* too-short sequences fail at the loss with the length named */
    dc_model *m = dc_model_new(&a, dc_bt_be, 3);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_tensor *x = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 6, 3});
    dc_rng r = dc_rng_init(1);
    ck_assert(!dc_model_loss(m, dc_bt_ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "T = 6"), "%s", dc_last_error());
    dc_model_free(m);
}
END_TEST

/* Every augmentation drawn as in training stays finite and (B, T, D); the draws consume
 * the run's generator deterministically. */
START_TEST(test_augment_all_draws) {
    dc_rng r = dc_rng_init(11), r2 = dc_rng_init(11);
    float *xh = dc_bt_batch(3, 40, 4, 2);
    dc_tensor *x = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){3, 40, 4}, xh);
    dc_tensor *a[DC_AUG_COUNT], *b[DC_AUG_COUNT];
    ck_assert_msg(dc_infots_augment_all(dc_bt_ctx, x, &r, a) == DC_OK, "%s", dc_last_error());
    ck_assert(dc_infots_augment_all(dc_bt_ctx, x, &r2, b) == DC_OK);
    float *ha = malloc(480 * sizeof *ha), *hb = malloc(480 * sizeof *hb);
    for (int k = 0; k < DC_AUG_COUNT; k++) {
        ck_assert(dc_tensor_same_shape(a[k], x));
        ck_assert(dc_tensor_download(a[k], ha, 480 * sizeof *ha) == DC_OK);
        ck_assert(dc_tensor_download(b[k], hb, 480 * sizeof *hb) == DC_OK);
        for (int i = 0; i < 480; i++) ck_assert_msg(isfinite(ha[i]) && ha[i] == hb[i], "%s", dc_aug_name(k));
    }
    ck_assert(r.counter == r2.counter);
    dc_tensor *short_x = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 4, 1});
    ck_assert(dc_infots_augment_all(dc_bt_ctx, short_x, &r, a) == DC_ERR_SHAPE);
    free(ha);
    free(hb);
    free(xh);
}
END_TEST

static void weights_host(dc_model *m, float *w) {
    ck_assert(dc_tensor_download(dc_params_find(m->heads, "aug_weight"), w, 14 * sizeof *w) == DC_OK);
}

/* AdamW (lr 1e-3, weight decay 0) on one fixed batch under corrected: the fixed-draw loss
 * falls and the first row of the augmentation weights moves. */
START_TEST(test_corrected_lowers_loss) {
    enum { B = 8, T = 48, D = 5, STEPS = 30 };
    dc_model_config cfg = dc_model_config_defaults("infots", "synthetic", "corrected");
    dc_model *m = dc_model_new(&cfg, dc_bt_be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_adamw_opts ao = dc_adamw_opts_default();
    ao.weight_decay = 0;
    dc_adamw *oe = dc_adamw_new(m->enc->params, ao), *oh = dc_adamw_new(m->heads, ao);
    float *xh = dc_bt_batch(B, T, D, 7), w0[14], w1[14];
    dc_ctx *data = dc_ctx_new(dc_bt_be);
    dc_tensor *x = dc_tensor_from_host(data, DC_F32, 3, (int64_t[]){B, T, D}, xh);
    weights_host(m, w0);
    double before = dc_bt_fixed_loss(m, x);
    dc_rng rng = dc_rng_init(99);
    for (int i = 0; i < STEPS; i++) {
        dc_ctx_reset(dc_bt_ctx);
        ck_assert(dc_params_zero_grad(m->enc->params) == DC_OK && dc_params_zero_grad(m->heads) == DC_OK);
        dc_tensor *L = dc_model_loss(m, dc_bt_ctx, x, 1, &rng, NULL);
        ck_assert_msg(L && dc_backward(dc_bt_ctx, L) == DC_OK, "step %d: %s", i, dc_last_error());
        ck_assert(dc_adamw_step(oe) == DC_OK && dc_adamw_step(oh) == DC_OK);
    }
    double after = dc_bt_fixed_loss(m, x);
    printf("infots (corrected): fixed-draw loss %.4f -> %.4f after %d steps\n", before, after, STEPS);
    ck_assert_msg(isfinite(after) && after < 0.8 * before, "loss %.5f -> %.5f", before, after);
    weights_host(m, w1);
    for (int k = 0; k < 7; k++) ck_assert_msg(w1[k] != w0[k], "weight 0,%d did not move", k);
    for (int k = 7; k < 14; k++) ck_assert(w1[k] == w0[k]); /* row 1 (aug_p2) is never used */
    free(xh);
    dc_ctx_free(data);
    dc_adamw_free(oe);
    dc_adamw_free(oh);
    dc_model_free(m);
}
END_TEST

/* Through the shared trainer: authors leaves the augmentation weights as initialised
 * (N(0, 0.01^2), not in the optimiser); the checkpoint holds the encoder under the shared
 * names and "infots.aug_weight", and `dynacl embed` reproduces the encoder. */
START_TEST(test_checkpoint_and_frozen_weights) {
    const char *heads[1] = {"aug_weight"};
    dc_model_config a = dc_model_config_defaults("infots", "synthetic", "authors");
    dc_model *m = dc_model_new(&a, dc_bt_be, 24);
    ck_assert_msg(m, "%s", dc_last_error());
    float w0[14];
    weights_host(m, w0);
    double s2 = 0;
    for (int k = 0; k < 14; k++) s2 += (double)w0[k] * w0[k];
    ck_assert(s2 > 0 && sqrt(s2 / 14) < 0.03); /* std 0.01 */
    dc_model_free(m);
    dc_bt_checkpoint_embed(&a, heads, 1);
    dc_model_config c = dc_model_config_defaults("infots", "synthetic", "corrected");
    dc_bt_checkpoint_embed(&c, heads, 1);
}
END_TEST

static int g_steps;
static int count_steps(void *ud, int64_t step) {
    (void)ud;
    g_steps = (int)step;
    return 0;
}

START_TEST(test_authors_weights_untrained_in_trainer) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 3;
    so.minutes = 2;
    dc_dataset ds;
    ck_assert(dc_dataset_synthetic(&so, &ds) == DC_OK);
    dc_model_config a = dc_model_config_defaults("infots", "synthetic", "authors");
    dc_model *m = dc_model_new(&a, dc_bt_be, ds.frames.D);
    float w0[14], w1[14];
    weights_host(m, w0);
    dc_train_opts o = dc_train_opts_default();
    o.epochs = 2;
    o.batch = 3;
    o.valid_interval = 0;
    char *dir = dc_test_tmpdir(), run[4200];
    snprintf(run, sizeof run, "%s/run", dir);
    dc_train_hooks h = {.should_stop = count_steps};
    ck_assert_msg(dc_train_run(m, &ds, dc_bt_be, &o, run, DC_RUN_NEW, "{}", &h) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(g_steps, 9);
    weights_host(m, w1);
    ck_assert(memcmp(w0, w1, sizeof w0) == 0);
    dc_model_free(m);
    dc_dataset_close(&ds);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("infots");
    TCase *tc = tcase_create("augmentations");
    tcase_add_checked_fixture(tc, dc_bt_setup, dc_bt_teardown);
    tcase_add_test(tc, test_interp_linear);
    tcase_add_test(tc, test_subsequence_cutout);
    tcase_add_test(tc, test_jitter_scaling);
    tcase_add_test(tc, test_time_warp);
    tcase_add_test(tc, test_window_slice);
    tcase_add_test(tc, test_window_warp);
    tcase_add_test(tc, test_gates_and_mix);
    tcase_add_test(tc, test_augment_all_draws);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("losses");
    tcase_add_checked_fixture(tl, dc_bt_setup, dc_bt_teardown);
    tcase_set_timeout(tl, 60);
    tcase_add_test(tl, test_global_infonce);
    tcase_add_test(tl, test_local_infonce);
    tcase_add_test(tl, test_corrected_objective_by_hand);
    tcase_add_test(tl, test_fd_gradients);
    suite_add_tcase(s, tl);
    TCase *tm = tcase_create("method");
    tcase_add_checked_fixture(tm, dc_bt_setup, dc_bt_teardown);
    tcase_set_timeout(tm, 120);
    tcase_add_test(tm, test_protocol_defaults_and_checks);
    tcase_add_test(tm, test_corrected_lowers_loss);
    tcase_add_test(tm, test_checkpoint_and_frozen_weights);
    tcase_add_test(tm, test_authors_weights_untrained_in_trainer);
    tcase_add_test(tm, test_cli_protocol_and_variant);
    suite_add_tcase(s, tm);
    return dc_test_run_suite(s) ? 1 : 0;
}
