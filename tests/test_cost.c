/* test_cost.c: CoST (docs/METHOD.md §6.5): the trend disentangler's causal convolutions and the
 * BandedFourierLayer against hand-computed outputs, the frequency-domain season loss and the
 * MoCo loss by hand, finite-difference gradients, the momentum update and FIFO queue, eval
 * passes that change nothing, the authors' frozen self-keyed encoder through the shared
 * trainer, a short run that lowers the loss under corrected, resuming bit-identically, bad
 * hyperparameters, and the checkpoint ("cost." heads and buffers, encoder under the shared
 * names, `dynacl embed`). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cost/dc_cost.h"
#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc/dc_safetensors.h"
#include "dc_baseline_test.h"
#include "dc_run_test.h"
#include "dc_test.h"
#include "train/dc_train.h"

/* Trend convolutions with O = C = 1: only the k = 2 kernel is non-zero, (1, 10), so
 * out[t] = (x[t-1] + 10 x[t]) / 8 + mean(b) with x[-1] = 0 (causal); biases b_i = i give
 * mean 3.5. For h = 1, 2, 3: (10, 21, 32) / 8 + 3.5. All-ones kernels instead sum the last
 * k inputs: at t = 2, (3 + 5 + 6 * 6) / 8. */
START_TEST(test_trend_by_hand) {
    const float hv[3] = {1, 2, 3};
    dc_tensor *h = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 3, 1}, hv);
    dc_tensor *w[DC_COST_KERNELS], *b[DC_COST_KERNELS], *ones[DC_COST_KERNELS], *zb[DC_COST_KERNELS];
    for (int i = 0; i < DC_COST_KERNELS; i++) {
        int64_t k = (int64_t)1 << i;
        w[i] = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 1, k});
        ones[i] = dc_tensor_full(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 1, k}, 1.0);
        b[i] = dc_tensor_full(dc_bt_ctx, DC_F32, 1, (int64_t[]){1}, (double)i);
        zb[i] = dc_tensor_zeros(dc_bt_ctx, DC_F32, 1, (int64_t[]){1});
    }
    ck_assert(dc_tensor_upload(w[1], (float[]){1, 10}, 2 * sizeof(float)) == DC_OK);
    const int32_t pos[3] = {0, 1, 2};
    dc_bt_expect(dc_cost_trend(dc_bt_ctx, h, w, b, pos, 3), (double[]){10 / 8.0 + 3.5, 21 / 8.0 + 3.5, 32 / 8.0 + 3.5}, 3, 1e-6,
           "trend k=2");
    dc_bt_expect(dc_cost_trend(dc_bt_ctx, h, ones, zb, (int32_t[]){2, 0}, 2), (double[]){44 / 8.0, 1.0}, 2, 1e-6, "trend ones");
    ck_assert(!dc_cost_trend(dc_bt_ctx, h, w, b, (int32_t[]){3}, 1));
    ck_assert(!dc_cost_trend(dc_bt_ctx, h, ones + 1, zb, pos, 1)); /* kernel sizes shifted */
    ck_assert_msg(strstr(dc_last_error(), "conv 0"), "%s", dc_last_error());
}
END_TEST

/* Random shapes against the convolution written out: out[b,t,o] = mean_i (b_i[o] +
 * sum_{j<k_i} sum_c W_i[o,c,j] h[b, t+j-(k_i-1), c]). */
START_TEST(test_trend_reference) {
    enum { B = 2, T = 140, C = 3, O = 2 };
    dc_rng r = dc_rng_init(4);
    float *hv = malloc(B * T * C * sizeof *hv);
    for (int i = 0; i < B * T * C; i++) hv[i] = (float)dc_rng_normal(&r);
    dc_tensor *h = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){B, T, C}, hv);
    dc_tensor *w[DC_COST_KERNELS], *b[DC_COST_KERNELS];
    float *wh[DC_COST_KERNELS], bh[DC_COST_KERNELS][O];
    for (int i = 0; i < DC_COST_KERNELS; i++) {
        int64_t k = (int64_t)1 << i;
        wh[i] = malloc((size_t)(O * C * k) * sizeof(float));
        for (int64_t j = 0; j < O * C * k; j++) wh[i][j] = (float)dc_rng_normal(&r);
        for (int o = 0; o < O; o++) bh[i][o] = (float)dc_rng_normal(&r);
        w[i] = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){O, C, k}, wh[i]);
        b[i] = dc_tensor_from_host(dc_bt_ctx, DC_F32, 1, (int64_t[]){O}, bh[i]);
    }
    const int32_t pos[4] = {0, 5, 100, 139};
    dc_tensor *y = dc_cost_trend(dc_bt_ctx, h, w, b, pos, 4);
    ck_assert_msg(y && y->shape[0] == B && y->shape[1] == 4 && y->shape[2] == O, "%s", dc_last_error());
    float got[B * 4 * O];
    ck_assert(dc_tensor_download(y, got, sizeof got) == DC_OK);
    for (int bb = 0; bb < B; bb++)
        for (int p = 0; p < 4; p++)
            for (int o = 0; o < O; o++) {
                double acc = 0;
                for (int i = 0; i < DC_COST_KERNELS; i++) {
                    int64_t k = (int64_t)1 << i;
                    double s = bh[i][o];
                    for (int64_t j = 0; j < k; j++) {
                        int64_t t = pos[p] + j - (k - 1);
                        for (int c = 0; c < C && t >= 0; c++) s += (double)wh[i][(o * C + c) * k + j] * hv[(bb * T + t) * C + c];
                    }
                    acc += s / DC_COST_KERNELS;
                }
                ck_assert_msg(fabs(got[(bb * 4 + p) * O + o] - acc) < 1e-4 * (1 + fabs(acc)), "b %d pos %d o %d: %g vs %g", bb,
                              pos[p], o, got[(bb * 4 + p) * O + o], acc);
            }
    for (int i = 0; i < DC_COST_KERNELS; i++) free(wh[i]);
    free(hv);
}
END_TEST

/* BandedFourierLayer, C = O = 1, T = 4, two kept frequencies (Lb = 2 or 3), impulse h = (1, 0, 0, 0)
 * so X_f = 1: Y_0 = a (the DC's imaginary part is dropped), Y_1 = c + i d, Y_2 = 0 and
 * y[t] = (Y_0 + 2 Re(Y_1 e^{i pi t / 2})) / 4 = ((a + 2c), (a - 2d), (a - 2c), (a + 2d)) / 4;
 * with a = 1, c = 2, d = 3: (5, -5, -3, 7) / 4. A bias adds like a weight on X_f = 1. */
START_TEST(test_season_by_hand) {
    const float hv[4] = {1, 0, 0, 0};
    dc_tensor *h = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){1, 4, 1}, hv);
    dc_tensor *wr = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 1}, (float[]){1, 2});
    dc_tensor *wi = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 1}, (float[]){7, 3});
    dc_tensor *z = dc_tensor_zeros(dc_bt_ctx, DC_F32, 2, (int64_t[]){2, 1});
    dc_bt_expect(dc_cost_season(dc_bt_ctx, h, wr, wi, z, z), (double[]){1.25, -1.25, -0.75, 1.75}, 4, 1e-6, "season");
    dc_tensor *zw = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 1, 1});
    dc_tensor *br = dc_tensor_from_host(dc_bt_ctx, DC_F32, 2, (int64_t[]){2, 1}, (float[]){1, 2});
    dc_tensor *bi = dc_tensor_from_host(dc_bt_ctx, DC_F32, 2, (int64_t[]){2, 1}, (float[]){7, 3});
    dc_bt_expect(dc_cost_season(dc_bt_ctx, h, zw, zw, br, bi), (double[]){1.25, -1.25, -0.75, 1.75}, 4, 1e-6, "season bias");
    /* more frequencies than T = 4 has (3) fail with both counts named */
    dc_tensor *w4 = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){4, 1, 1});
    dc_tensor *b4 = dc_tensor_zeros(dc_bt_ctx, DC_F32, 2, (int64_t[]){4, 1});
    ck_assert(!dc_cost_season(dc_bt_ctx, h, w4, w4, b4, b4));
    ck_assert_msg(strstr(dc_last_error(), "4 frequencies") && strstr(dc_last_error(), "T = 4 has 3"), "%s", dc_last_error());
}
END_TEST

/* Season loss with C = 1, T = 2, B = 2: normalising makes every value its sign. q = k = rows
 * (1, 1) and (1, -1): spectra (2, 0) and (0, 2); all real parts + 1e-6 > 0, so every phase is 0
 * and inst(phase) = log 3 (three equal logits per row). Amplitudes: at f = 0 the vectors are
 * 2, 0 | 2, 0: rows with 2 see (0, 4, 0) -> log(1 + 2 e^-4), rows with 0 see zeros -> log 3;
 * f = 1 mirrors it. Loss = (log(1 + 2 e^-4) + log 3) / 2 + log 3. */
START_TEST(test_season_loss_by_hand) {
    const float v[4] = {3, 0.5f, 2, -7};
    dc_tensor *s = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 2, 1}, v);
    dc_tensor *L = dc_cost_season_loss(dc_bt_ctx, s, s);
    ck_assert_msg(L, "%s", dc_last_error());
    double want = (log(1 + 2 * exp(-4.0)) + log(3.0)) / 2 + log(3.0);
    ck_assert_double_eq_tol(dc_tensor_item(L), want, 1e-5);
    dc_tensor *s2 = dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){2, 3, 1});
    ck_assert(!dc_cost_season_loss(dc_bt_ctx, s, s2));
    ck_assert_msg(strstr(dc_last_error(), "(2, 3, 1)"), "%s", dc_last_error());
}
END_TEST

/* q = e0, k = e0, queue columns (0, 1) and (-1, 0): logits (1, 0, -1) / tau. */
START_TEST(test_moco_by_hand) {
    dc_tensor *q = dc_tensor_from_host(dc_bt_ctx, DC_F32, 2, (int64_t[]){1, 2}, (float[]){1, 0});
    dc_tensor *qu = dc_tensor_from_host(dc_bt_ctx, DC_F32, 2, (int64_t[]){2, 2}, (float[]){0, -1, 1, 0});
    dc_tensor *L = dc_cost_moco_loss(dc_bt_ctx, q, q, qu, 1.0);
    ck_assert_msg(L, "%s", dc_last_error());
    ck_assert_double_eq_tol(dc_tensor_item(L), -log(exp(1.0) / (exp(1.0) + 1 + exp(-1.0))), 1e-6);
    L = dc_cost_moco_loss(dc_bt_ctx, q, q, qu, 0.5);
    ck_assert_double_eq_tol(dc_tensor_item(L), -log(exp(2.0) / (exp(2.0) + 1 + exp(-2.0))), 1e-6);
    ck_assert(!dc_cost_moco_loss(dc_bt_ctx, q, q, dc_tensor_zeros(dc_bt_ctx, DC_F32, 2, (int64_t[]){3, 2}), 1.0));
    ck_assert_msg(strstr(dc_last_error(), "queue (3, 2)"), "%s", dc_last_error());
}
END_TEST

static dc_tensor *fd_season(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    (void)ud;
    dc_tensor *s = dc_cost_season(ctx, in[0], in[1], in[2], in[3], in[4]);
    return dc_add(ctx, dc_cost_season_loss(ctx, s, dc_affine(ctx, in[5], 1.0, 0.3)), dc_scale(ctx, dc_sum_all(ctx, dc_mul(ctx, s, s)), 0.1));
}

static dc_tensor *fd_trend(dc_ctx *ctx, dc_tensor *const *in, void *ud) {
    (void)ud;
    dc_tensor *w[DC_COST_KERNELS], *b[DC_COST_KERNELS];
    for (int i = 0; i < DC_COST_KERNELS; i++) { /* kernel i: the first k columns of the pool in[1] */
        int64_t k = (int64_t)1 << i;
        w[i] = dc_reshape(ctx, dc_slice(ctx, in[1], 1, 0, k), 3, (int64_t[]){2, 2, k});
        b[i] = dc_scale(ctx, in[2], 1.0 + i);
    }
    dc_tensor *y = dc_cost_trend(ctx, in[0], w, b, (int32_t[]){3, 0, 9}, 3);
    return dc_sum_all(ctx, dc_mul(ctx, y, y));
}

START_TEST(test_fd_gradients) {
    dc_rng r = dc_rng_init(8);
    enum { B = 2, T = 6, C = 3, O = 2, F = 3 };
    double h[B * T * C], wr[F * C * O], wi[F * C * O], br[F * O], bi[F * O], sk[B * T * O];
    double *all[6] = {h, wr, wi, br, bi, sk};
    const int n[6] = {B * T * C, F * C * O, F * C * O, F * O, F * O, B * T * O};
    for (int a = 0; a < 6; a++)
        for (int i = 0; i < n[a]; i++) all[a][i] = dc_rng_normal(&r);
    dc_bt_fd_check("cost season + season loss", fd_season, NULL, 6, (int[]){3, 3, 3, 2, 2, 3},
                   (const int64_t[][4]){{B, T, C}, {F, C, O}, {F, C, O}, {F, O}, {F, O}, {B, T, O}}, all);
    double th[2 * 10 * 2], tw[4 * 128], tb[2];
    for (int i = 0; i < 40; i++) th[i] = dc_rng_normal(&r);
    for (int i = 0; i < 512; i++) tw[i] = 0.2 * dc_rng_normal(&r);
    tb[0] = 0.3, tb[1] = -0.2;
    dc_bt_fd_check("cost trend", fd_trend, NULL, 3, (int[]){3, 2, 1}, (const int64_t[][4]){{2, 10, 2}, {4, 128}, {2}},
                   (double *[]){th, tw, tb});
}
END_TEST

/* ---------------------------------------------------------------- the method */

static float *host_of(const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    float *h = malloc((size_t)n * sizeof *h);
    ck_assert(h && dc_tensor_download(t, h, (size_t)n * sizeof *h) == DC_OK);
    return h;
}

static int same(const dc_tensor *t, const float *h) {
    float *c = host_of(t);
    int eq = memcmp(c, h, (size_t)dc_tensor_numel(t) * sizeof *c) == 0;
    free(c);
    return eq;
}

static dc_tensor *buf(dc_model *m, const char *name) {
    dc_tensor *t = dc_params_find(m->head_buffers, name);
    if (!t) t = dc_params_find(m->heads, name);
    ck_assert_msg(t, "no cost tensor %s", name);
    return t;
}

/* One training-mode loss: head_k <- m head_k + (1 - m) head_q (set head_k = 0 first: exactly
 * (1 - m) head_q up to float rounding); the queue drops its first B columns and appends B unit
 * keys. An eval-mode loss changes nothing (queue, head_k, BN statistics, counter). */
START_TEST(test_momentum_queue_eval) {
    enum { B = 4, T = 20, D = 3, K = 16 };
    dc_model_config cfg = dc_model_config_defaults("cost", "synthetic", "corrected");
    cfg.opt[DC_COST_QUEUE] = K;
    cfg.opt[DC_COST_SEASON_LEN] = 20;
    dc_model *m = dc_model_new(&cfg, dc_bt_be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    float *xh = dc_bt_batch(B, T, D, 3);
    dc_tensor *x = dc_tensor_from_host(dc_bt_ctx, DC_F32, 3, (int64_t[]){B, T, D}, xh);
    dc_rng r = dc_rng_init(2);
    float *q0 = host_of(buf(m, "queue")), *hq = host_of(buf(m, "head_q.0.weight"));
    float *rm0 = host_of(m->enc->run_mean[0]);
    ck_assert(same(buf(m, "head_k.0.weight"), hq)); /* head_k starts as a copy */
    /* eval: nothing moves */
    dc_ctx_set_grad_enabled(dc_bt_ctx, 0);
    ck_assert_msg(dc_model_loss(m, dc_bt_ctx, x, 0, &r, NULL), "%s", dc_last_error());
    ck_assert(same(buf(m, "queue"), q0) && same(buf(m, "head_k.0.weight"), hq) && same(m->enc->run_mean[0], rm0));
    ck_assert_int_eq(m->enc->num_batches_tracked, 0);
    /* training */
    ck_assert(dc_tensor_fill(buf(m, "head_k.0.weight"), 0.0) == DC_OK);
    ck_assert_msg(dc_model_loss(m, dc_bt_ctx, x, 1, &r, NULL), "%s", dc_last_error());
    float *hk = host_of(buf(m, "head_k.0.weight")), *q1 = host_of(buf(m, "queue"));
    for (int i = 0; i < 256; i++) ck_assert_msg(fabs(hk[i] - 0.001 * hq[i]) <= 1e-9, "head_k[%d] %g vs %g", i, hk[i], 0.001 * hq[i]);
    for (int c = 0; c < 16; c++) {
        for (int j = 0; j < K - B; j++) ck_assert(q1[c * K + j] == q0[c * K + j + B]);
    }
    for (int j = K - B; j < K; j++) {
        double n2 = 0;
        for (int c = 0; c < 16; c++) n2 += (double)q1[c * K + j] * q1[c * K + j];
        ck_assert_msg(fabs(n2 - 1) < 1e-5, "new key %d has norm^2 %g", j, n2);
    }
    ck_assert_int_eq(m->enc->num_batches_tracked, 2); /* the query encoder: x_q and x_k; the key pass is separate */
    ck_assert(!same(m->enc->run_mean[0], rm0));
    free(hk);
    free(q1);
    free(q0);
    free(hq);
    free(rm0);
    free(xh);
    dc_model_free(m);
}
END_TEST

START_TEST(test_defaults_and_checks) {
    dc_model_config a = dc_model_config_defaults("cost", "sleepeeg", "authors");
    dc_model_config c = dc_model_config_defaults("cost", "ecg", "corrected");
    ck_assert(!a.opt[DC_COST_KEY_ENCODER] && c.opt[DC_COST_KEY_ENCODER] && a.train_heads && c.train_heads);
    ck_assert(a.opt[DC_COST_QUEUE] == 256 && a.opt[DC_COST_MOMENTUM] == 0.999 && a.opt[DC_COST_TAU] == 0.07 && a.opt[DC_COST_ALPHA] == 0.05);
    ck_assert(a.opt[DC_COST_SIGMA] == 0.5 && a.opt[DC_COST_AUG_P] == 0.5 && a.opt[DC_COST_MAX_LEN] == 300);
    ck_assert(a.opt[DC_COST_SEASON_LEN] == 300 && c.opt[DC_COST_SEASON_LEN] == 119);
    ck_assert(dc_model_config_check(&a) == DC_OK);
    dc_model_config b = a;
    b.opt[DC_COST_QUEUE] = 0;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "cost_queue must be an integer >= 1 (got 0)"));
    b = a;
    b.opt[DC_COST_MOMENTUM] = 1.5;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "cost_momentum must be a number in [0, 1] (got 1.5)"));
    b = a;
    b.opt[DC_COST_TAU] = 0;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "cost_tau must be a number > 0 (got 0)"));
    b = a;
    b.opt[DC_COST_SEASON_LEN] = 0;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "cost_season_len must be an integer >= 1 (got 0)"));
    b = a;
    b.train_heads = 0;
    ck_assert(dc_model_config_check(&b) == DC_ERR_ARG && strstr(dc_last_error(), "head_q"));
    /* at the loss: a season layer longer than the batch, a queue the batch does not divide */
    dc_model *m = dc_model_new(&a, dc_bt_be, 2);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_rng r = dc_rng_init(1);
    ck_assert(!dc_model_loss(m, dc_bt_ctx, dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){8, 100, 2}), 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "sequence_sample = 300") && strstr(dc_last_error(), "T = 100"), "%s", dc_last_error());
    dc_model_free(m);
    a.opt[DC_COST_SEASON_LEN] = 50;
    m = dc_model_new(&a, dc_bt_be, 2);
    ck_assert(!dc_model_loss(m, dc_bt_ctx, dc_tensor_zeros(dc_bt_ctx, DC_F32, 3, (int64_t[]){7, 60, 2}), 1, &r, NULL));
    ck_assert_msg(strstr(dc_last_error(), "K = 256") && strstr(dc_last_error(), "B = 7"), "%s", dc_last_error());
    dc_model_free(m);
}
END_TEST

/* Corrected, AdamW (lr 1e-3, no weight decay) over 8 fixed batches of distinct synthetic
 * series in turn, with K = 32 so that the queue holds the keys of the 4 previous batches
 * (other series: well-posed negatives, as on a real dataset). The mean training loss of the
 * last 3 epochs falls well below that of epochs 2-4 (the first with a queue of real keys;
 * the per-epoch mean is noisy). The key encoder follows the query encoder by momentum and
 * lags behind it. */
START_TEST(test_corrected_lowers_loss) {
    enum { NB = 8, B = 8, T = 40, D = 5, EPOCHS = 30 };
    dc_model_config cfg = dc_model_config_defaults("cost", "synthetic", "corrected");
    cfg.opt[DC_COST_SEASON_LEN] = T;
    cfg.opt[DC_COST_QUEUE] = 32;
    dc_model *m = dc_model_new(&cfg, dc_bt_be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_adamw_opts ao = dc_adamw_opts_default();
    ao.weight_decay = 0;
    dc_adamw *oe = dc_adamw_new(m->enc->params, ao), *oh = dc_adamw_new(m->heads, ao);
    float *c0 = host_of(m->enc->w[0]);
    dc_ctx *data = dc_ctx_new(dc_bt_be);
    dc_tensor *x[NB];
    for (int b = 0; b < NB; b++) {
        float *xh = dc_bt_batch(B, T, D, 10 + (uint64_t)b);
        x[b] = dc_tensor_from_host(data, DC_F32, 3, (int64_t[]){B, T, D}, xh);
        free(xh);
    }
    double mean[EPOCHS];
    dc_rng rng = dc_rng_init(99);
    for (int e = 0; e < EPOCHS; e++) {
        mean[e] = 0;
        for (int b = 0; b < NB; b++) {
            dc_ctx_reset(dc_bt_ctx);
            ck_assert(dc_params_zero_grad(m->enc->params) == DC_OK && dc_params_zero_grad(m->heads) == DC_OK);
            dc_tensor *L = dc_model_loss(m, dc_bt_ctx, x[b], 1, &rng, NULL);
            ck_assert_msg(L && dc_backward(dc_bt_ctx, L) == DC_OK, "epoch %d batch %d: %s", e, b, dc_last_error());
            ck_assert(dc_adamw_step(oe) == DC_OK && dc_adamw_step(oh) == DC_OK);
            mean[e] += dc_tensor_item(L) / NB;
        }
    }
    printf("cost (corrected): mean training loss %.4f (epoch 2) -> %.4f (epoch %d)\n", mean[1], mean[EPOCHS - 1], EPOCHS);
    double early = (mean[1] + mean[2] + mean[3]) / 3, late = (mean[EPOCHS - 3] + mean[EPOCHS - 2] + mean[EPOCHS - 1]) / 3;
    ck_assert_msg(isfinite(late) && late < 0.85 * early, "loss %.5f -> %.5f", early, late);
    ck_assert(!same(m->enc->w[0], c0));               /* the encoder trains */
    ck_assert(!same(buf(m, "key.conv1.weight"), c0)); /* the key follows by momentum */
    float *k1 = host_of(buf(m, "key.conv1.weight")), *w1 = host_of(m->enc->w[0]);
    double dk = 0, dq = 0;
    for (int i = 0; i < 128 * D; i++) dk += fabs((double)k1[i] - c0[i]), dq += fabs((double)w1[i] - c0[i]);
    ck_assert_msg(dk < 0.5 * dq, "key moved %g, query %g", dk, dq); /* m = 0.999: the key lags behind */
    free(k1);
    free(w1);
    free(c0);
    dc_ctx_free(data);
    dc_adamw_free(oe);
    dc_adamw_free(oh);
    dc_model_free(m);
}
END_TEST

static dc_dataset g_ds;

static void small_dataset(void) { dc_rt_small_dataset(&g_ds); }

static dc_train_opts small_opts(void) {
    dc_train_opts o = dc_train_opts_default();
    o.epochs = 1;
    o.batch = 2; /* 7 steps (K = 256 is a multiple of 2); the test split holds one batch */
    o.valid_interval = 1;
    o.save_every = 4;
    o.log_every = 1;
    return o;
}

static dc_status train(dc_model *m, const char *dir, dc_run_mode mode, int stop_at) {
    dc_train_opts o = small_opts();
    return dc_rt_train(m, &g_ds, dc_bt_be, &o, dir, mode, stop_at);
}

/* Authors through the shared trainer: every encoder parameter, input_fc and both
 * disentanglers stay bit-identical (not in the optimiser, so no weight decay either); the BN
 * statistics move with 3 train-mode passes per step; head_q trains and head_k follows. */
START_TEST(test_authors_frozen_encoder) {
    small_dataset();
    dc_model_config a = dc_model_config_defaults("cost", "synthetic", "authors");
    dc_model *m = dc_model_new(&a, dc_bt_be, g_ds.frames.D);
    ck_assert_msg(m, "%s", dc_last_error());
    ck_assert(m->encoder_frozen);
    ck_assert_int_eq(dc_params_count(m->heads), 4); /* head_q only */
    float *enc0 = host_of(dc_params_flat(m->enc->params)), *rv0 = host_of(m->enc->run_var[2]);
    float *fc0 = host_of(buf(m, "input_fc.weight")), *t0 = host_of(buf(m, "tfd.7.weight")), *s0 = host_of(buf(m, "sfd.weight_imag"));
    float *hq0 = host_of(buf(m, "head_q.2.weight")), *hk0 = host_of(buf(m, "head_k.2.weight"));
    char *dir = dc_test_tmpdir(), run[4200];
    snprintf(run, sizeof run, "%s/run", dir);
    ck_assert_msg(train(m, run, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
    ck_assert(same(dc_params_flat(m->enc->params), enc0));
    ck_assert(same(buf(m, "input_fc.weight"), fc0) && same(buf(m, "tfd.7.weight"), t0) && same(buf(m, "sfd.weight_imag"), s0));
    ck_assert(!same(m->enc->run_var[2], rv0));
    ck_assert_int_eq(m->enc->num_batches_tracked, 3 * 7);
    ck_assert(!same(buf(m, "head_q.2.weight"), hq0) && !same(buf(m, "head_k.2.weight"), hk0));
    float *hosts[7] = {enc0, rv0, fc0, t0, s0, hq0, hk0};
    for (int i = 0; i < 7; i++) free(hosts[i]);
    dc_model_free(m);
    dc_test_rmtree(dir);
    free(dir);
    dc_dataset_close(&g_ds);
}
END_TEST

/* Corrected: an interrupted run resumed from its checkpoint ends bit-identical to an
 * uninterrupted one (queue, head_k and key encoder travel in the checkpoint), its
 * metrics.jsonl too. */
START_TEST(test_resume_bit_identical) {
    small_dataset();
    dc_model_config c = dc_model_config_defaults("cost", "synthetic", "corrected");
    char *dir = dc_test_tmpdir(), a[4200], b[4200];
    snprintf(a, sizeof a, "%s/full", dir);
    snprintf(b, sizeof b, "%s/interrupted", dir);
    dc_model *m = dc_model_new(&c, dc_bt_be, g_ds.frames.D);
    ck_assert_msg(train(m, a, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
    dc_model_free(m);
    m = dc_model_new(&c, dc_bt_be, g_ds.frames.D);
    ck_assert_msg(train(m, b, DC_RUN_NEW, 6) == DC_OK, "%s", dc_last_error()); /* last checkpoint at step 4 */
    dc_model_free(m);
    m = dc_model_new(&c, dc_bt_be, g_ds.frames.D);
    ck_assert_msg(train(m, b, DC_RUN_RESUME, -1) == DC_OK, "%s", dc_last_error());
    dc_model_free(m);
    dc_rt_assert_same_run(a, b); /* metrics.jsonl too */
    dc_test_rmtree(dir);
    free(dir);
    dc_dataset_close(&g_ds);
}
END_TEST

/* Each protocol's checkpoint: the 21 encoder entries under the shared names plus every head
 * and buffer under "cost." with its shape; `dynacl embed` on it equals the encoder's own
 * eval-mode embeddings. */
START_TEST(test_checkpoint_and_embed) {
    small_dataset();
    for (int pr = 0; pr < 2; pr++) {
        dc_model_config cfg = dc_model_config_defaults("cost", "synthetic", pr ? "corrected" : "authors");
        dc_model *m = dc_model_new(&cfg, dc_bt_be, g_ds.frames.D);
        char *dir = dc_test_tmpdir(), run[4200], path[4300];
        snprintf(run, sizeof run, "%s/run", dir);
        ck_assert_msg(train(m, run, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
        snprintf(path, sizeof path, "%s/model.safetensors", run);
        dc_st_file *f;
        ck_assert_msg(dc_st_open(path, &f) == DC_OK, "%s", dc_last_error());
        int n_heads = dc_params_count(m->heads), n_buf = dc_params_count(m->head_buffers);
        ck_assert_int_eq(n_heads, pr ? 4 + 2 + 16 + 4 : 4);
        ck_assert_int_eq(n_buf, pr ? 4 + 1 + 18 + 2 + 16 : 2 + 16 + 4 + 4 + 1);
        ck_assert_int_eq(dc_st_count(f), 21 + n_heads + n_buf);
        const char *enc_names[] = {"conv1.weight", "conv3.bias", "bn2.running_mean", "bn3.num_batches_tracked"};
        for (int i = 0; i < 4; i++) ck_assert_msg(dc_st_find(f, enc_names[i]), "%s missing", enc_names[i]);
        struct {
            const char *name;
            int ndim;
            int64_t shape[3];
        } want[] = {{"cost.input_fc.weight", 2, {g_ds.frames.D, g_ds.frames.D}}, {"cost.tfd.0.weight", 3, {16, 32, 1}},
                    {"cost.tfd.7.weight", 3, {16, 32, 128}}, {"cost.sfd.weight_real", 3, {60, 32, 16}},
                    {"cost.sfd.bias_imag", 2, {60, 16}},   {"cost.head_q.0.weight", 2, {16, 16}},
                    {"cost.head_k.2.bias", 1, {16}},        {"cost.queue", 2, {16, 256}},
                    {"cost.key.conv1.weight", 2, {128, g_ds.frames.D}}, {"cost.key.bn3.running_var", 1, {32}}};
        for (int i = 0; i < (pr ? 10 : 8); i++) {
            const dc_st_tensor *t = dc_st_find(f, want[i].name);
            ck_assert_msg(t && t->ndim == want[i].ndim, "%s missing or wrong rank", want[i].name);
            for (int d = 0; d < want[i].ndim; d++) ck_assert_msg(t->shape[d] == want[i].shape[d], "%s axis %d", want[i].name, d);
        }
        if (!pr) ck_assert(!dc_st_find(f, "cost.key.conv1.weight"));
        dc_st_close(f);
        dc_bt_embed_matches(m, &g_ds, path, dir);
        dc_model_free(m);
        dc_test_rmtree(dir);
        free(dir);
    }
    dc_dataset_close(&g_ds);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cost");
    TCase *tb = tcase_create("blocks");
    tcase_add_checked_fixture(tb, dc_bt_setup, dc_bt_teardown);
    tcase_set_timeout(tb, 60);
    tcase_add_test(tb, test_trend_by_hand);
    tcase_add_test(tb, test_trend_reference);
    tcase_add_test(tb, test_season_by_hand);
    tcase_add_test(tb, test_season_loss_by_hand);
    tcase_add_test(tb, test_moco_by_hand);
    tcase_add_test(tb, test_fd_gradients);
    suite_add_tcase(s, tb);
    TCase *tm = tcase_create("method");
    tcase_add_checked_fixture(tm, dc_bt_setup, dc_bt_teardown);
    tcase_set_timeout(tm, 600); /* about 10 s on 2 idle cores; generous for loaded machines */
    tcase_add_test(tm, test_momentum_queue_eval);
    tcase_add_test(tm, test_defaults_and_checks);
    tcase_add_test(tm, test_corrected_lowers_loss);
    tcase_add_test(tm, test_authors_frozen_encoder);
    tcase_add_test(tm, test_resume_bit_identical);
    tcase_add_test(tm, test_checkpoint_and_embed);
    suite_add_tcase(s, tm);
    return dc_test_run_suite(s) ? 1 : 0;
}
