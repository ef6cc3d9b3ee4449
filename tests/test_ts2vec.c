/* test_ts2vec.c: TS2Vec (docs/METHOD.md §6.1): the hierarchical loss against a hand-computed case and
 * by finite differences, crop draws, view alignment under both protocols, the timestep
 * mask, a short run that lowers the loss, bad hyperparameters, and the checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_baseline_test.h"
#include "dc_test.h"
#include "ts2vec/dc_ts2vec.h"

static dc_tensor *host3(dc_ctx *ctx, int64_t B, int64_t T, int64_t F, const float *v) {
    dc_tensor *t = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){B, T, F}, v);
    ck_assert(t);
    return t;
}

/* B = 2, T = 2, F = 2 with e1 = (1, 0), e2 = (0, 1), o = (0, 0):
 *   z1 = [[e1, e2], [e2, o]], z2 = [[e1, e1], [e2, e2]].
 * Each row's term is log(sum of exp over the other three dot products) - (positive's dot).
 * Level 0, instance, t = 0: rows e1, e2 | e1, e2; every positive has dot 1, the rest 0:
 *   4 x (log(2+e) - 1).  t = 1: rows e2, o | e1, e2: row 0 {o:0, e1:0, e2:1}, positive e1
 *   -> log(2+e); row 1 all 0 -> log 3; row 2 all 0 -> log 3; row 3 {e2:1, o:0, e1:0},
 *   positive o -> log(2+e).  inst0 = ((log(2+e) - 1) + (log(2+e) + log 3)/2) / 2.
 * Level 0, temporal, b = 0: rows e1, e2 | e1, e1, positives (0,2), (1,3): row 0 {0,1,1}
 *   pos 1 -> log(1+2e) - 1; row 1 {0,0,0} -> log 3; row 2 {1,0,1} pos 1 -> log(1+2e) - 1;
 *   row 3 {1,0,1} pos 0 -> log(1+2e).  b = 1 (e2, o | e2, e2) has the same dot products.
 *   temp0 = (3 log(1+2e) - 2 + log 3) / 4.
 * Level 1 (max-pool by 2): z1 = [(1,1)], [e2]; z2 = [e1], [e2]; instance rows
 *   (1,1), e2 | e1, e2: row 0 {1,1,1} -> log 3; row 1 {1,0,1} pos 1 -> log(1+2e) - 1;
 *   row 2 {1,0,0} pos 1 -> log(2+e) - 1; row 3 {1,1,0} pos 1 -> log(1+2e) - 1.
 *   inst1 = (log 3 + 2 (log(1+2e) - 1) + log(2+e) - 1) / 4.
 * L = (0.5 inst0 + 0.5 temp0 + 0.5 inst1) / 2 (two levels). */
START_TEST(test_hier_loss_hand) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const float a[8] = {1, 0, 0, 1, 0, 1, 0, 0}, b[8] = {1, 0, 1, 0, 0, 1, 0, 1};
    dc_tensor *z1 = host3(ctx, 2, 2, 2, a), *z2 = host3(ctx, 2, 2, 2, b);
    const double e = exp(1.0), l3 = log(3.0), l2e = log(2 + e), l12e = log(1 + 2 * e);
    double inst0 = ((l2e - 1) + (l2e + l3) / 2) / 2;
    double temp0 = (3 * l12e - 2 + l3) / 4;
    double inst1 = (l3 + 2 * (l12e - 1) + l2e - 1) / 4;
    double want = (0.5 * inst0 + 0.5 * temp0 + 0.5 * inst1) / 2;
    ck_assert_double_eq_tol(dc_tensor_item(dc_ts2vec_instance_loss(ctx, z1, z2)), inst0, 1e-6);
    ck_assert_double_eq_tol(dc_tensor_item(dc_ts2vec_temporal_loss(ctx, z1, z2)), temp0, 1e-6);
    ck_assert_double_eq_tol(dc_tensor_item(dc_ts2vec_hier_loss(ctx, z1, z2, 0.5)), want, 1e-6);
    /* B = 1: no instance contrast; T = 1: no temporal contrast; then the hierarchy is one level of 0.5 inst */
    dc_tensor *r1 = dc_slice(ctx, z1, 0, 0, 1), *r2 = dc_slice(ctx, z2, 0, 0, 1);
    ck_assert_double_eq(dc_tensor_item(dc_ts2vec_instance_loss(ctx, r1, r2)), 0.0);
    dc_tensor *t1 = dc_slice(ctx, z1, 1, 0, 1), *t2 = dc_slice(ctx, z2, 1, 0, 1);
    ck_assert_double_eq(dc_tensor_item(dc_ts2vec_temporal_loss(ctx, t1, t2)), 0.0);
    ck_assert_double_eq_tol(dc_tensor_item(dc_ts2vec_hier_loss(ctx, t1, t2, 0.5)), 0.5 * (l2e - 1), 1e-6);
    /* shapes must agree */
    ck_assert(!dc_ts2vec_hier_loss(ctx, z1, t2, 0.5));
    ck_assert_msg(strstr(dc_last_error(), "(2, 2, 2)") && strstr(dc_last_error(), "(2, 1, 2)"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

static dc_tensor *hier_fn(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    return dc_ts2vec_hier_loss(ctx, in[0], in[1], 0.5);
}

START_TEST(test_hier_loss_grad_fd) {
    /* B = 3, T = 5 (levels 5, 2, 1: the floor pooling drops a step), F = 4 */
    const int ndim[2] = {3, 3};
    const int64_t shape[2][4] = {{3, 5, 4}, {3, 5, 4}};
    double a[60], b[60];
    dc_rng r = dc_rng_init(11);
    for (int i = 0; i < 60; i++) a[i] = dc_rng_normal(&r), b[i] = dc_rng_normal(&r);
    double *h[2] = {a, b};
    dc_bt_fd_check("ts2vec hierarchical loss", hier_fn, NULL, 2, ndim, shape, h);
}
END_TEST

START_TEST(test_crop_draws) {
    const int64_t T = 10, B = 4;
    int64_t off[4], seen_l[11] = {0};
    dc_rng r = dc_rng_init(5);
    for (int it = 0; it < 3000; it++) {
        dc_ts2vec_crop c;
        ck_assert(dc_ts2vec_draw_crop(&r, T, B, &c, off) == DC_OK);
        ck_assert(c.crop_l >= 2 && c.crop_l <= T && c.right - c.left == c.crop_l);
        ck_assert(c.left >= 0 && c.right <= T && c.eleft >= 0 && c.eleft <= c.left && c.eright >= c.right && c.eright <= T);
        seen_l[c.crop_l]++;
        for (int64_t b = 0; b < B; b++) {
            ck_assert(off[b] >= -c.eleft && off[b] <= T - c.eright);
            /* both views inside the sequence; view 1 ends and view 2 starts with the crop_l shared steps */
            int64_t s1 = off[b] + c.eleft, s2 = off[b] + c.left, L1 = c.right - c.eleft, L2 = c.eright - c.left;
            ck_assert(s1 >= 0 && s1 + L1 <= T && s2 >= 0 && s2 + L2 <= T);
            ck_assert_int_eq(s1 + L1 - c.crop_l, s2);
        }
    }
    for (int l = 2; l <= 10; l++) ck_assert_msg(seen_l[l] > 200, "crop length %d drawn %lld times", l, (long long)seen_l[l]);
    ck_assert(dc_ts2vec_draw_crop(&r, 1, B, &(dc_ts2vec_crop){0}, off) != DC_OK);
    ck_assert_msg(strstr(dc_last_error(), "T = 1") && strstr(dc_last_error(), "crop length >= 2"), "%s", dc_last_error());
}
END_TEST

START_TEST(test_align_protocols) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    /* crop_l 2, left 1, right 3, eleft 0, eright 3: L1 = 3 (steps 0..2), L2 = 2 (steps 1..2) */
    dc_ts2vec_crop c = {2, 1, 3, 0, 3};
    const float v1[6] = {1, 2, 3, 4, 5, 6}, v2[4] = {7, 8, 9, 10};
    dc_tensor *o1 = host3(ctx, 1, 3, 2, v1), *o2 = host3(ctx, 1, 2, 2, v2), *a1, *a2;
    float h1[6], h2[6];
    /* authors: o2 padded with a zero step at the end, o1 as is */
    ck_assert(dc_ts2vec_align(ctx, o1, o2, &c, 0, &a1, &a2) == DC_OK);
    ck_assert(a1->shape[1] == 3 && a2->shape[1] == 3);
    ck_assert(dc_tensor_download(a1, h1, sizeof h1) == DC_OK && dc_tensor_download(a2, h2, sizeof h2) == DC_OK);
    const float p2[6] = {7, 8, 9, 10, 0, 0};
    for (int i = 0; i < 6; i++) ck_assert(h1[i] == v1[i] && h2[i] == p2[i]);
    /* corrected: the last 2 steps of o1 and the first 2 of o2 (the same inputs) */
    ck_assert(dc_ts2vec_align(ctx, o1, o2, &c, 1, &a1, &a2) == DC_OK);
    ck_assert(a1->shape[1] == 2 && a2->shape[1] == 2);
    ck_assert(dc_tensor_download(a1, h1, 4 * sizeof(float)) == DC_OK && dc_tensor_download(a2, h2, 4 * sizeof(float)) == DC_OK);
    for (int i = 0; i < 4; i++) ck_assert(h1[i] == v1[2 + i] && h2[i] == v2[i]);
    /* views that do not match the crop */
    ck_assert(dc_ts2vec_align(ctx, o2, o1, &c, 0, &a1, &a2) != DC_OK);
    ck_assert_msg(strstr(dc_last_error(), "L1 = 3"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_timestep_mask) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const int64_t B = 4, T = 500, D = 3;
    dc_tensor *x = dc_tensor_full(ctx, DC_F32, 3, (int64_t[]){B, T, D}, 2.0);
    dc_rng r = dc_rng_init(3);
    dc_tensor *y = dc_ts2vec_mask_input(ctx, x, &r);
    ck_assert(y);
    float *h = malloc((size_t)(B * T * D) * sizeof *h);
    ck_assert(dc_tensor_download(y, h, (size_t)(B * T * D) * sizeof *h) == DC_OK);
    int64_t zeroed = 0;
    for (int64_t i = 0; i < B * T; i++) {
        ck_assert(h[i * D] == h[i * D + 1] && h[i * D] == h[i * D + 2]); /* whole steps */
        ck_assert(h[i * D] == 0.0f || h[i * D] == 2.0f);
        zeroed += h[i * D] == 0.0f;
    }
    /* Bernoulli(0.5) over 2000 steps: mean 1000, sd 22.4 */
    ck_assert_msg(llabs(zeroed - 1000) < 112, "%lld of 2000 steps zeroed", (long long)zeroed);
    free(h);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_short_run_lowers_loss) {
    const char *protocols[2] = {"authors", "corrected"};
    for (int p = 0; p < 2; p++) {
        dc_model_config cfg = dc_model_config_defaults("ts2vec", "synthetic", protocols[p]);
        ck_assert_int_eq(cfg.opt[DC_TS2VEC_OVERLAP], p);
        dc_bt_lowers_loss(&cfg, 8, 24, 12, 40, 0.8);
    }
}
END_TEST

START_TEST(test_bad_hyperparameters) {
    dc_model_config cfg = dc_model_config_defaults("ts2vec", "harth", "authors");
    ck_assert_int_eq(cfg.opt[DC_TS2VEC_MAX_LEN], 500);
    cfg.opt[DC_TS2VEC_MAX_LEN] = 1;
    ck_assert(dc_model_config_check(&cfg) == DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "ts2vec_max_len must be an integer >= 2 (got 1)"), "%s", dc_last_error());
    cfg.opt[DC_TS2VEC_MAX_LEN] = 500;
    dc_backend *be = dc_backend_new("cpu");
    dc_model *m = dc_model_new(&cfg, be, 3);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_rng r = dc_rng_init(1);
    dc_tensor *x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){4, 1, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "T = 1") && strstr(dc_last_error(), "crop length >= 2"), "%s", dc_last_error());
    /* T above the maximum training length: a random 6-step window is cropped first */
    dc_model_free(m);
    cfg.opt[DC_TS2VEC_MAX_LEN] = 6;
    m = dc_model_new(&cfg, be, 3);
    x = dc_tensor_full(ctx, DC_F32, 3, (int64_t[]){4, 40, 3}, 1.0);
    dc_tensor *L = dc_model_loss(m, ctx, x, 1, &r, NULL);
    ck_assert_msg(L && isfinite(dc_tensor_item(L)), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_model_free(m);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_checkpoint_and_embed) {
    dc_model_config cfg = dc_model_config_defaults("ts2vec", "synthetic", "corrected");
    dc_bt_checkpoint_embed(&cfg, NULL, 0);
}
END_TEST

START_TEST(test_cli) {
    const char *corr[] = {"\"model\":\t\"ts2vec\"", "\"protocol\":\t\"corrected\"", "\"ts2vec_alignment\":\t\"pad\"",
                          "\"ts2vec_max_len\":\t64"};
    dc_bt_cli_pretrain("--model ts2vec --protocol corrected --ts2vec-alignment pad --ts2vec-max-len 64", corr, 4);
    const char *auth[] = {"\"protocol\":\t\"authors\"", "\"ts2vec_alignment\":\t\"pad\"", "\"ts2vec_max_len\":\t500"};
    dc_bt_cli_pretrain("--model ts2vec", auth, 3);
    dc_bt_cli_fails("--model ts2vec --ts2vec-alignment middle", 2, "--ts2vec-alignment must be one of pad, overlap, got 'middle'");
    dc_bt_cli_fails("--model ts2vec --ts2vec-max-len 1", 2, "--ts2vec-max-len must be an integer >= 2 (got 1)");
}
END_TEST

START_TEST(test_backends_agree) { dc_bt_backends_agree("ts2vec", 4, 30, 12); }
END_TEST

int main(void) {
    Suite *s = suite_create("ts2vec");
    TCase *tc = tcase_create("ts2vec");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hier_loss_hand);
    tcase_add_test(tc, test_hier_loss_grad_fd);
    tcase_add_test(tc, test_crop_draws);
    tcase_add_test(tc, test_align_protocols);
    tcase_add_test(tc, test_timestep_mask);
    tcase_add_test(tc, test_short_run_lowers_loss);
    tcase_add_test(tc, test_bad_hyperparameters);
    tcase_add_test(tc, test_checkpoint_and_embed);
    tcase_add_test(tc, test_cli);
    tcase_add_test(tc, test_backends_agree);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
