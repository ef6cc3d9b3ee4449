/* test_tnc.c: TNC (docs/METHOD.md §6.4): the BCE combination against hand values, the discriminator
 * (layers, dropout, finite differences), centre draws at the HARTH and SleepEEG Tc and the
 * anchor bound B*w - 2w at two batch sizes, short
 * runs that lower the loss (discriminator frozen under authors, trained under corrected),
 * bad hyperparameters, and the checkpoint with its "tnc." heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_baseline_test.h"
#include "dc_test.h"
#include "tnc/dc_tnc.h"

/* d_p = (0, ln 3), d_n = (0, ln 3), w = 0.1. BCE(x, 1) = log(1 + e^-x), BCE(x, 0) = log(1 + e^x):
 *   BCE(d_p, 1) = BCE(d_n, 1) = (log 2 + log 4/3) / 2, BCE(d_n, 0) = (log 2 + log 4) / 2;
 *   L = (BCE(d_p, 1) + 0.1 BCE(d_n, 1) + 0.9 BCE(d_n, 0)) / 2. */
START_TEST(test_bce_combination_hand) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const float v[2] = {0, (float)log(3.0)};
    dc_tensor *dp = dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){2}, v);
    dc_tensor *dn = dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){2}, v);
    double one = (log(2.0) + log(4.0 / 3.0)) / 2, zero = (log(2.0) + log(4.0)) / 2;
    double want = (one + 0.1 * one + 0.9 * zero) / 2;
    ck_assert_double_eq_tol(dc_tensor_item(dc_tnc_bce(ctx, dp, dn, 0.1)), want, 1e-6);
    /* w = 0: the plain positive/negative BCE average */
    ck_assert_double_eq_tol(dc_tensor_item(dc_tnc_bce(ctx, dp, dn, 0.0)), (one + zero) / 2, 1e-6);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* za = zb = rows of 1 (F = 32); w0 picks one input per hidden unit (w0[k][k mod 64] = 1),
 * b0 = 0, w3 = 1, b3 = 0.5: without dropout every row scores 128 + 0.5. With dropout 0.5 each
 * survivor counts 2, so (y - 0.5) / 2 is the number of survivors ~ Binomial(128, 1/2). */
START_TEST(test_discriminator_dropout) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const int64_t N = 400;
    dc_tensor *za = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){N, 32}, 1.0), *zb = za;
    float *w0h = calloc(128 * 64, sizeof *w0h);
    for (int k = 0; k < 128; k++) w0h[k * 64 + k % 64] = 1;
    dc_tensor *w0 = dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){128, 64}, w0h);
    dc_tensor *b0 = dc_tensor_zeros(ctx, DC_F32, 1, (int64_t[]){128});
    dc_tensor *w3 = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){1, 128}, 1.0);
    dc_tensor *b3 = dc_tensor_full(ctx, DC_F32, 1, (int64_t[]){1}, 0.5);
    dc_rng r = dc_rng_init(6);
    float y[400];
    dc_tensor *d = dc_tnc_discriminate(ctx, za, zb, w0, b0, w3, b3, 0.0, &r);
    ck_assert_msg(d && d->ndim == 1 && d->shape[0] == N, "%s", dc_last_error());
    ck_assert(dc_tensor_download(d, y, sizeof y) == DC_OK);
    for (int i = 0; i < N; i++) ck_assert_double_eq_tol(y[i], 128.5, 1e-4);
    d = dc_tnc_discriminate(ctx, za, zb, w0, b0, w3, b3, 0.5, &r);
    ck_assert(d && dc_tensor_download(d, y, sizeof y) == DC_OK);
    double mean = 0;
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        double k = (y[i] - 0.5) / 2;
        ck_assert_msg(fabs(k - round(k)) < 1e-4 && k >= 0 && k <= 128, "row %d: %g", i, y[i]);
        mean += k / N;
        distinct += i > 0 && y[i] != y[0];
    }
    /* mean of 400 Binomial(128, 1/2): 64, sd 5.66 / 20 = 0.28 */
    ck_assert_msg(fabs(mean - 64) < 1.5, "mean survivors %g", mean);
    ck_assert(distinct > 0);
    ck_assert(!dc_tnc_discriminate(ctx, za, w0, w0, b0, w3, b3, 0.0, &r));
    ck_assert_msg(strstr(dc_last_error(), "(400, 32)") && strstr(dc_last_error(), "(128, 64)"), "%s", dc_last_error());
    free(w0h);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

static dc_tensor *disc_fn(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    dc_rng r = dc_rng_init(17); /* the same dropout mask on every evaluation */
    dc_tensor *dp = dc_tnc_discriminate(ctx, in[0], in[1], in[3], in[4], in[5], in[6], 0.5, &r);
    dc_tensor *dn = dc_tnc_discriminate(ctx, in[0], in[2], in[3], in[4], in[5], in[6], 0.5, &r);
    return dc_tnc_bce(ctx, dp, dn, 0.1);
}

START_TEST(test_discriminator_grad_fd) {
    /* F = 3 (so 2F = 6), hidden 8; ReLU inputs kept away from 0 by the random draw */
    const int ndim[7] = {2, 2, 2, 2, 1, 2, 1};
    const int64_t shape[7][4] = {{5, 3}, {5, 3}, {5, 3}, {8, 6}, {8}, {1, 8}, {1}};
    const int n[7] = {15, 15, 15, 48, 8, 8, 1};
    double buf[7][48], *h[7];
    dc_rng r = dc_rng_init(12);
    for (int k = 0; k < 7; k++) {
        h[k] = buf[k];
        for (int i = 0; i < n[k]; i++) buf[k][i] = dc_rng_normal(&r);
    }
    dc_bt_fd_check("tnc discriminator + bce", disc_fn, NULL, 7, ndim, shape, h);
}
END_TEST

/* The anchor bound is the authors' randint(2w, B*w - 2w) for any batch size B: U{40..119} at
 * B = 8 (the paper's batch), U{40..199} at B = 12; B = 4 leaves no anchor. */
START_TEST(test_centre_draws) {
    int64_t t, pos[20], neg[20];
    dc_rng r = dc_rng_init(9);
    const int64_t batches[2] = {8, 12}, t_max[2] = {119, 199};
    int below[2] = {0}, above[2] = {0};
    for (int it = 0; it < 4000; it++) {
        /* HARTH / ECG: Tc = 119; neighbours clipped to [11, 109] */
        int k = it % 2;
        ck_assert(dc_tnc_draw_centres(&r, 20, 20, 119, batches[k], 119, &t, pos, neg) == DC_OK);
        ck_assert_msg(t >= 40 && t <= t_max[k], "B = %lld: anchor %lld", (long long)batches[k], (long long)t);
        below[k] += t == 40, above[k] += t == t_max[k];
        for (int i = 0; i < 20; i++) {
            ck_assert(pos[i] >= 11 && pos[i] <= 109);
            if (t > 59) /* t > Tc/2: U{10 .. max(t - 99, 11) - 1} */
                ck_assert_msg(neg[i] >= 10 && neg[i] <= (t - 99 > 11 ? t - 99 : 11) - 1, "t %lld neg %lld", (long long)t,
                              (long long)neg[i]);
            else /* U{min(t + 100, 98) .. 108} = U{98..108} */
                ck_assert(neg[i] >= 98 && neg[i] <= 108);
        }
        /* SleepEEG: Tc = 300, B = 8, t <= 119 < 150: non-neighbours U{t + 100 .. 289} */
        ck_assert(dc_tnc_draw_centres(&r, 20, 20, 300, 8, 300, &t, pos, neg) == DC_OK);
        for (int i = 0; i < 20; i++) ck_assert(neg[i] >= t + 100 && neg[i] <= 289 && pos[i] >= 11 && pos[i] <= 290);
    }
    /* both ends of each range occur (about 25 and 12 times each in 2000 draws) */
    for (int k = 0; k < 2; k++)
        ck_assert_msg(below[k] > 3 && above[k] > 3, "B = %lld: ends drawn %d and %d times", (long long)batches[k], below[k], above[k]);
    ck_assert(dc_tnc_draw_centres(&r, 20, 20, 119, 4, 119, &t, pos, neg) == DC_ERR_SHAPE);
    ck_assert_msg(strstr(dc_last_error(), "batch of 4 sequences") && strstr(dc_last_error(), "[40, 40)"), "%s", dc_last_error());
}
END_TEST

START_TEST(test_short_run_lowers_loss) {
    const char *protocols[2] = {"authors", "corrected"};
    const double ratio[2] = {0.9, 0.8}; /* authors: only the encoder adapts to a fixed random discriminator */
    for (int p = 0; p < 2; p++) {
        dc_model_config cfg = dc_model_config_defaults("tnc", "synthetic", protocols[p]);
        ck_assert_int_eq(cfg.opt[DC_TNC_TC], 0);
        cfg.opt[DC_TNC_TC] = 60;
        dc_bt_lowers_loss(&cfg, 8, 24, 10, 20, ratio[p]);
    }
}
END_TEST

START_TEST(test_bad_hyperparameters) {
    dc_model_config cfg = dc_model_config_defaults("tnc", "sleepeeg", "authors");
    ck_assert_int_eq(cfg.opt[DC_TNC_TC], 300);
    ck_assert_int_eq(cfg.opt[DC_TNC_WINDOW], 20);
    ck_assert_int_eq(cfg.opt[DC_TNC_MC], 20);
    ck_assert_double_eq(cfg.opt[DC_TNC_WEIGHT], 0.1);
    dc_model_config bad = cfg;
    bad.opt[DC_TNC_WEIGHT] = 1.5;
    ck_assert(dc_model_config_check(&bad) == DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "tnc_weight must be a number in [0, 1] (got 1.5)"), "%s", dc_last_error());
    bad = cfg;
    bad.opt[DC_TNC_WINDOW] = 1;
    ck_assert(dc_model_config_check(&bad) == DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "tnc_window must be an integer >= 2 (got 1)"), "%s", dc_last_error());

    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_rng r = dc_rng_init(1);
    cfg.opt[DC_TNC_TC] = 0;
    dc_model *m = dc_model_new(&cfg, be, 3);
    /* a window longer than the sequences */
    dc_tensor *x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){8, 15, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "window of 20 instances is longer than the sequences (T = 15)"), "%s", dc_last_error());
    /* a batch too small for the anchor range [2w, B*w - 2w) */
    x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){4, 60, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "batch of 4 sequences") && strstr(dc_last_error(), "need B >= 5"), "%s", dc_last_error());
    /* B = 5 has anchors 40..59 (windows up to 69 <= B*T = 120); the old bound 6w - 1 needed 129 */
    x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){5, 24, 3});
    ck_assert_msg(dc_model_loss(m, ctx, x, 1, &r, NULL), "%s", dc_last_error());
    dc_model_free(m);
    /* a flattened batch shorter than Tc */
    cfg.opt[DC_TNC_TC] = 300;
    m = dc_model_new(&cfg, be, 3);
    x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){5, 20, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), ">= 300 instances, got B*T = 100"), "%s", dc_last_error());
    dc_model_free(m);
    /* Tc shorter than window + 1 */
    cfg.opt[DC_TNC_TC] = 20;
    m = dc_model_new(&cfg, be, 3);
    x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){8, 30, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "Tc = 20"), "%s", dc_last_error());
    dc_model_free(m);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_checkpoint_and_embed) {
    static const char *const heads[] = {"disc.0.weight", "disc.0.bias", "disc.3.weight", "disc.3.bias"};
    dc_model_config cfg = dc_model_config_defaults("tnc", "synthetic", "authors");
    dc_bt_checkpoint_embed(&cfg, heads, 4);
}
END_TEST

START_TEST(test_cli) {
    const char *exp[] = {"\"model\":\t\"tnc\"", "\"tnc_mc\":\t10", "\"tnc_tc\":\t100", "\"tnc_weight\":\t0.2",
                         "\"train_heads\":\tfalse"};
    dc_bt_cli_pretrain("--model tnc --tnc-mc 10 --tnc-tc 100 --tnc-weight 0.2", exp, 5);
    dc_bt_cli_fails("--model tnc --tnc-window 200", 1, "window of 200 instances is longer than the sequences (T = 119)");
    dc_bt_cli_fails("--model tnc --tnc-weight -1", 2, "--tnc-weight must be a number in [0, 1] (got -1)");
}
END_TEST

START_TEST(test_backends_agree) { dc_bt_backends_agree("tnc", 8, 24, 12); }
END_TEST

int main(void) {
    Suite *s = suite_create("tnc");
    TCase *tc = tcase_create("tnc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bce_combination_hand);
    tcase_add_test(tc, test_discriminator_dropout);
    tcase_add_test(tc, test_discriminator_grad_fd);
    tcase_add_test(tc, test_centre_draws);
    tcase_add_test(tc, test_short_run_lowers_loss);
    tcase_add_test(tc, test_bad_hyperparameters);
    tcase_add_test(tc, test_checkpoint_and_embed);
    tcase_add_test(tc, test_cli);
    tcase_add_test(tc, test_backends_agree);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
