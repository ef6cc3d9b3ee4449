/* test_cpc.c: CPC (docs/METHOD.md §6.3): the GRU cell against hand-computed gates and by finite
 * differences, InfoNCE on fixed scores, the index draws, the authors' train-mode validation,
 * short runs that lower the loss (heads frozen under authors, trained under corrected), bad
 * hyperparameters, and the checkpoint with its "cpc." heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpc/dc_cpc.h"
#include "dc/dc.h"
#include "dc_baseline_test.h"
#include "dc_test.h"

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* All weights 0, so only the biases act (H = 2, I = 1, two steps from h0 = 0):
 *   r = sigmoid(b_ir + b_hr) = sigmoid(ln 3) = 3/4, z = sigmoid(b_iz + b_hz) = sigmoid(-ln 3) = 1/4,
 *   n = tanh(b_in + r b_hn) = tanh(0 + 3/4 * 2) = tanh(1.5);
 *   h1 = (1 - z) n = 0.75 tanh(1.5); h2 = (1 - z) n + z h1 = (0.75 + 0.25 * 0.75) tanh(1.5).
 * Swapping the r and z rows would give n = tanh(0.5) instead. */
START_TEST(test_gru_gate_layout) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const int64_t H = 2;
    dc_tensor *x = dc_tensor_full(ctx, DC_F32, 3, (int64_t[]){1, 2, 1}, 5.0);
    dc_tensor *wi = dc_tensor_zeros(ctx, DC_F32, 2, (int64_t[]){3 * H, 1});
    dc_tensor *wh = dc_tensor_zeros(ctx, DC_F32, 2, (int64_t[]){3 * H, H});
    const float bi[6] = {0, 0, (float)-log(3.0), (float)-log(3.0), 0, 0}; /* r r | z z | n n */
    const float bh[6] = {(float)log(3.0), (float)log(3.0), 0, 0, 2, 2};
    dc_tensor *b_ih = dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){6}, bi);
    dc_tensor *b_hh = dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){6}, bh);
    dc_tensor *h = dc_gru_last(ctx, x, wi, wh, b_ih, b_hh);
    ck_assert_msg(h && h->ndim == 2 && h->shape[0] == 1 && h->shape[1] == H, "%s", dc_last_error());
    float hv[2];
    ck_assert(dc_tensor_download(h, hv, sizeof hv) == DC_OK);
    double want = (0.75 + 0.25 * 0.75) * tanh(1.5);
    ck_assert_double_eq_tol(hv[0], want, 1e-6);
    ck_assert_double_eq_tol(hv[1], want, 1e-6);
    /* a bad weight shape names the shapes */
    ck_assert(!dc_gru_last(ctx, x, wh, wh, b_ih, b_hh));
    ck_assert_msg(strstr(dc_last_error(), "(6, 2)") && strstr(dc_last_error(), "(1, 2, 1)"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* Random weights: the cell equations of docs/METHOD.md §6.3 evaluated in double on the host. */
START_TEST(test_gru_matches_equations) {
    enum { B = 3, S = 4, I = 5, H = 3 };
    dc_rng r = dc_rng_init(21);
    float x[B * S * I], wi[3 * H * I], wh[3 * H * H], bi[3 * H], bh[3 * H];
    for (int i = 0; i < B * S * I; i++) x[i] = (float)dc_rng_normal(&r);
    for (int i = 0; i < 3 * H * I; i++) wi[i] = (float)(dc_rng_uniform(&r) - 0.5);
    for (int i = 0; i < 3 * H * H; i++) wh[i] = (float)(dc_rng_uniform(&r) - 0.5);
    for (int i = 0; i < 3 * H; i++) bi[i] = (float)(dc_rng_uniform(&r) - 0.5), bh[i] = (float)(dc_rng_uniform(&r) - 0.5);
    double href[B][H] = {{0}};
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++) {
            double gi[3 * H], gh[3 * H], hn[H];
            for (int k = 0; k < 3 * H; k++) {
                gi[k] = bi[k], gh[k] = bh[k];
                for (int j = 0; j < I; j++) gi[k] += wi[k * I + j] * x[(b * S + s) * I + j];
                for (int j = 0; j < H; j++) gh[k] += wh[k * H + j] * href[b][j];
            }
            for (int k = 0; k < H; k++) {
                double rr = sigm(gi[k] + gh[k]), zz = sigm(gi[H + k] + gh[H + k]);
                double nn = tanh(gi[2 * H + k] + rr * gh[2 * H + k]);
                hn[k] = (1 - zz) * nn + zz * href[b][k];
            }
            for (int k = 0; k < H; k++) href[b][k] = hn[k];
        }
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *h = dc_gru_last(ctx, dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){B, S, I}, x),
                               dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){3 * H, I}, wi),
                               dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){3 * H, H}, wh),
                               dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){3 * H}, bi),
                               dc_tensor_from_host(ctx, DC_F32, 1, (int64_t[]){3 * H}, bh));
    ck_assert_msg(h, "%s", dc_last_error());
    float hv[B * H];
    ck_assert(dc_tensor_download(h, hv, sizeof hv) == DC_OK);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < H; k++) ck_assert_double_eq_tol(hv[b * H + k], href[b][k], 1e-5);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

static dc_tensor *gru_fn(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    dc_tensor *h = dc_gru_last(ctx, in[0], in[1], in[2], in[3], in[4]);
    /* a weighted sum of the last state, so transposed-index errors show */
    dc_tensor *w = dc_tensor_from_host(ctx, DC_F64, 2, (int64_t[]){2, 3}, (const double[]){0.3, -1.1, 0.7, 1.9, -0.4, 0.25});
    return dc_sum_all(ctx, dc_mul(ctx, h, w));
}

START_TEST(test_gru_grad_fd) {
    const int ndim[5] = {3, 2, 2, 1, 1};
    const int64_t shape[5][4] = {{2, 3, 4}, {9, 4}, {9, 3}, {9}, {9}};
    double x[24], wi[36], wh[27], bi[9], bh[9];
    double *h[5] = {x, wi, wh, bi, bh};
    const int n[5] = {24, 36, 27, 9, 9};
    dc_rng r = dc_rng_init(8);
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < n[k]; i++) h[k][i] = dc_rng_normal(&r) * (k ? 0.5 : 1.0);
    dc_bt_fd_check("gru", gru_fn, NULL, 5, ndim, shape, h);
}
END_TEST

/* z (B = 2, T = 4, F = 2), idx = (0, 3, 2): negatives t = 0, 3, positive t = 2.
 *   b = 0: z = (1,0), (0,0), (0,1), (1,1); q = (1, 2): scores (1, 3, 2) -> log(e + e^3 + e^2) - 2.
 *   b = 1: z = (0,1), (5,5), (1,0), (0,0); q = (1, -1): scores (-1, 0, 1) -> log(e^-1 + 1 + e) - 1.
 * Loss: the mean of the two rows. */
START_TEST(test_infonce_hand) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const float zv[16] = {1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 5, 5, 1, 0, 0, 0}, qv[4] = {1, 2, 1, -1};
    dc_tensor *z = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){2, 4, 2}, zv);
    dc_tensor *q = dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){2, 2}, qv);
    const int32_t idx[3] = {0, 3, 2};
    dc_tensor *L = dc_cpc_infonce(ctx, z, q, idx, 3);
    ck_assert_msg(L, "%s", dc_last_error());
    const double e = exp(1.0);
    double want = 0.5 * ((log(e + e * e * e + e * e) - 2) + (log(1 / e + 1 + e) - 1));
    ck_assert_double_eq_tol(dc_tensor_item(L), want, 1e-6);
    const int32_t bad[2] = {0, 4};
    ck_assert(!dc_cpc_infonce(ctx, z, q, bad, 2));
    ck_assert_msg(strstr(dc_last_error(), "index 4 outside the 4 time steps"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_index_draws) {
    /* T = 119 (HARTH): c = 59, 59 negatives from {0..56} U {62..118}, positive 60 */
    int32_t idx[60];
    int64_t seen_lo = 0, seen_hi = 0;
    dc_rng r = dc_rng_init(4);
    for (int it = 0; it < 200; it++) {
        ck_assert(dc_cpc_draw_indices(&r, 119, 5, idx) == DC_OK);
        ck_assert_int_eq(idx[59], 60);
        for (int j = 0; j < 59; j++) {
            ck_assert_msg((idx[j] >= 0 && idx[j] <= 56) || (idx[j] >= 62 && idx[j] <= 118), "negative %d", idx[j]);
            seen_lo += idx[j] <= 56;
            seen_hi += idx[j] >= 62;
        }
    }
    /* 57 and 57 candidates: each side about half of the 11,800 draws */
    ck_assert_msg(llabs(seen_lo - seen_hi) < 600, "%lld low, %lld high", (long long)seen_lo, (long long)seen_hi);
    /* the window from c = T/2 must fit: T = 8 gives c = 4 and 4 + 5 > 8 */
    ck_assert(dc_cpc_draw_indices(&r, 9, 5, idx) == DC_OK);
    ck_assert(dc_cpc_draw_indices(&r, 8, 5, idx) != DC_OK);
    ck_assert_msg(strstr(dc_last_error(), "window of 5 steps") && strstr(dc_last_error(), "T = 8"), "%s", dc_last_error());
}
END_TEST

/* Authors: the script's validation pass keeps the encoder in train mode (BatchNorm counts it). */
START_TEST(test_validation_mode) {
    const char *protocols[2] = {"authors", "corrected"};
    const int64_t want[2] = {1, 0};
    dc_backend *be = dc_backend_new("cpu");
    for (int p = 0; p < 2; p++) {
        dc_model_config cfg = dc_model_config_defaults("cpc", "synthetic", protocols[p]);
        ck_assert_int_eq(cfg.train_heads, p);
        dc_model *m = dc_model_new(&cfg, be, 6);
        ck_assert_msg(m && m->heads, "%s", dc_last_error());
        ck_assert_int_eq(dc_params_numel(m->heads), 2 * 96 * 32 + 2 * 96 + 32 * 32 + 32);
        dc_ctx *ctx = dc_ctx_new(be);
        dc_ctx_set_grad_enabled(ctx, 0);
        dc_rng r = dc_rng_init(2);
        dc_tensor *x = dc_tensor_new(ctx, DC_F32, 3, (int64_t[]){4, 20, 6});
        ck_assert(dc_rng_fill_normal(&r, x, 0, 1) == DC_OK);
        ck_assert_msg(dc_model_loss(m, ctx, x, 0, &r, NULL), "%s", dc_last_error());
        ck_assert_int_eq(m->enc->num_batches_tracked, want[p]);
        dc_ctx_free(ctx);
        dc_model_free(m);
    }
    dc_backend_free(be);
}
END_TEST

START_TEST(test_short_run_lowers_loss) {
    const char *protocols[2] = {"authors", "corrected"};
    for (int p = 0; p < 2; p++) {
        dc_model_config cfg = dc_model_config_defaults("cpc", "synthetic", protocols[p]);
        dc_bt_lowers_loss(&cfg, 8, 40, 12, 40, 0.8);
    }
}
END_TEST

START_TEST(test_bad_hyperparameters) {
    dc_model_config cfg = dc_model_config_defaults("cpc", "ecg", "authors");
    ck_assert_int_eq(cfg.opt[DC_CPC_WINDOW], 5);
    cfg.opt[DC_CPC_WINDOW] = 0;
    ck_assert(dc_model_config_check(&cfg) == DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "cpc_window must be an integer >= 1 (got 0)"), "%s", dc_last_error());
    cfg.opt[DC_CPC_WINDOW] = 30; /* longer than the second half of T = 40 */
    dc_backend *be = dc_backend_new("cpu");
    dc_model *m = dc_model_new(&cfg, be, 3);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_rng r = dc_rng_init(1);
    dc_tensor *x = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){2, 40, 3});
    ck_assert(!dc_model_loss(m, ctx, x, 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "window of 30 steps") && strstr(dc_last_error(), "T = 40"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_model_free(m);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_checkpoint_and_embed) {
    static const char *const heads[] = {"gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                                        "gru.bias_hh_l0",   "estimator.weight", "estimator.bias"};
    dc_model_config cfg = dc_model_config_defaults("cpc", "synthetic", "corrected");
    dc_bt_checkpoint_embed(&cfg, heads, 6);
}
END_TEST

START_TEST(test_cli) {
    const char *exp[] = {"\"model\":\t\"cpc\"", "\"cpc_window\":\t3", "\"train_heads\":\ttrue"};
    dc_bt_cli_pretrain("--model cpc --protocol corrected --cpc-window 3", exp, 3);
    /* the synthetic sequences have T = 119: c = 59 and 59 + 61 > 119 */
    dc_bt_cli_fails("--model cpc --cpc-window 61", 1, "context window of 61 steps from c = T/2 = 59 runs past the sequence (T = 119)");
}
END_TEST

START_TEST(test_backends_agree) { dc_bt_backends_agree("cpc", 4, 30, 12); }
END_TEST

int main(void) {
    Suite *s = suite_create("cpc");
    TCase *tc = tcase_create("cpc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gru_gate_layout);
    tcase_add_test(tc, test_gru_matches_equations);
    tcase_add_test(tc, test_gru_grad_fd);
    tcase_add_test(tc, test_infonce_hand);
    tcase_add_test(tc, test_index_draws);
    tcase_add_test(tc, test_validation_mode);
    tcase_add_test(tc, test_short_run_lowers_loss);
    tcase_add_test(tc, test_bad_hyperparameters);
    tcase_add_test(tc, test_checkpoint_and_embed);
    tcase_add_test(tc, test_cli);
    tcase_add_test(tc, test_backends_agree);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
