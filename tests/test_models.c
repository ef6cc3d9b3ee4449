/* test_models.c: the shared encoder (initialisation, shapes, train/eval BatchNorm), the
 * embedded synthetic dataset and sequence windows, and DynaCL end to end: 50 AdamW steps
 * of encoder + MP-Xent on a fixed batch lower the loss by a clear margin. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_frames.h"
#include "dc_test.h"
#include "dynacl/dc_dynacl.h"

static const char *const k_backends[] = {"cpu", "cpu-ref"};

static float *download_f32(const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    float *h = malloc((size_t)n * sizeof *h);
    ck_assert(dc_tensor_download(t, h, (size_t)n * 4) == DC_OK);
    return h;
}

START_TEST(test_encoder_init) {
    dc_backend *be = dc_backend_new("cpu");
    dc_encoder *e = dc_encoder_new(be, 156);
    ck_assert_msg(e, "%s", dc_last_error());
    dc_rng r = dc_rng_init(42);
    ck_assert(dc_encoder_init(e, &r) == DC_OK);
    const int64_t dims[4] = {156, 128, 64, 32};
    for (int l = 0; l < 3; l++) {
        ck_assert_int_eq(e->w[l]->shape[0], dims[l + 1]);
        ck_assert_int_eq(e->w[l]->shape[1], dims[l]);
        double bound = 1.0 / sqrt((double)dims[l]); /* PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
        int64_t n = dc_tensor_numel(e->w[l]);
        float *w = download_f32(e->w[l]);
        double mean = 0, var = 0, mx = 0;
        for (int64_t i = 0; i < n; i++) {
            mean += w[i];
            mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
        }
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (w[i] - mean) * (w[i] - mean);
        var /= (double)n;
        ck_assert_msg(mx <= bound && mx > 0.98 * bound, "layer %d: max |w| %g, bound %g", l, mx, bound);
        /* uniform on +-b has variance b^2/3 */
        ck_assert_msg(fabs(var - bound * bound / 3) < 0.05 * bound * bound / 3 + 1e-9, "layer %d var %g vs %g", l,
                      var, bound * bound / 3);
        ck_assert_msg(fabs(mean) < 4 * bound / sqrt(3.0 * (double)n), "layer %d mean %g", l, mean);
        free(w);
        float *g = download_f32(e->gamma[l]), *b = download_f32(e->beta[l]);
        float *rm = download_f32(e->run_mean[l]), *rv = download_f32(e->run_var[l]);
        for (int64_t i = 0; i < dims[l + 1]; i++)
            ck_assert(g[i] == 1.0f && b[i] == 0.0f && rm[i] == 0.0f && rv[i] == 1.0f);
        free(g), free(b), free(rm), free(rv);
    }
    /* checkpoint names as the PyTorch state_dict */
    ck_assert_str_eq(e->w[0]->name, "conv1.weight");
    ck_assert_str_eq(e->beta[2]->name, "bn3.bias");
    ck_assert_str_eq(e->run_var[1]->name, "bn2.running_var");
    ck_assert_int_eq(dc_params_count(e->params), 12);
    ck_assert_int_eq(dc_params_count(e->buffers), 6);
    ck_assert_int_eq(dc_params_numel(e->params), 156 * 128 + 128 + 128 * 64 + 64 + 64 * 32 + 32 + 2 * (128 + 64 + 32));
    dc_encoder_free(e);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_encoder_forward_modes) {
    const char *bn = k_backends[_i];
    dc_backend *be = dc_backend_new(bn);
    dc_encoder *e = dc_encoder_new(be, 10);
    dc_rng r = dc_rng_init(3);
    ck_assert(dc_encoder_init(e, &r) == DC_OK);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *x = dc_tensor_new(ctx, DC_F32, 3, (int64_t[]){2, 5, 10});
    ck_assert(dc_rng_fill_normal(&r, x, 1.0, 2.0) == DC_OK);
    dc_tensor *z = dc_encoder_forward(e, ctx, x, 1);
    ck_assert_msg(z, "%s", dc_last_error());
    ck_assert_int_eq(z->ndim, 3);
    ck_assert_int_eq(z->shape[0], 2);
    ck_assert_int_eq(z->shape[1], 5);
    ck_assert_int_eq(z->shape[2], 32);
    ck_assert_int_eq(e->num_batches_tracked, 1);
    float *h = download_f32(z);
    /* final ReLU: non-negative; training BN of the last layer: each channel's pre-ReLU
     * values have batch mean 0, so some are zeroed and some positive */
    int pos = 0, zero = 0;
    for (int i = 0; i < 2 * 5 * 32; i++) {
        ck_assert(h[i] >= 0);
        pos += h[i] > 0;
        zero += h[i] == 0;
    }
    ck_assert(pos > 0 && zero > 0);
    free(h);
    /* running stats moved from (0, 1) after one training pass */
    float *rm = download_f32(e->run_mean[0]);
    int moved = 0;
    for (int i = 0; i < 128; i++) moved += rm[i] != 0.0f;
    ck_assert(moved > 100);
    free(rm);
    /* eval mode does not touch running stats or the counter */
    float *before = download_f32(e->run_var[1]);
    ck_assert(dc_encoder_forward(e, ctx, x, 0) != NULL);
    float *after = download_f32(e->run_var[1]);
    ck_assert(memcmp(before, after, 64 * 4) == 0);
    ck_assert_int_eq(e->num_batches_tracked, 1);
    free(before), free(after);
    /* (N, D) input works too; wrong D is a clear error */
    ck_assert(dc_encoder_forward(e, ctx, dc_reshape(ctx, x, 2, (int64_t[]){10, 10}), 0) != NULL);
    dc_tensor *bad = dc_tensor_zeros(ctx, DC_F32, 3, (int64_t[]){2, 5, 11});
    dc_clear_error();
    ck_assert_ptr_null(dc_encoder_forward(e, ctx, bad, 1));
    ck_assert_msg(strstr(dc_last_error(), "(2, 5, 11)") && strstr(dc_last_error(), "10"), "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_encoder_free(e);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_synthetic_dataset) {
    dc_frames a, b;
    dc_synth_opts o = dc_synth_opts_default();
    o.subjects = 3;
    o.minutes = 2;
    ck_assert_msg(dc_synthetic_generate(&o, &a) == DC_OK, "%s", dc_last_error());
    ck_assert(dc_synthetic_generate(&o, &b) == DC_OK);
    /* 2 min at 50 Hz = 6000 samples: 1 + (6000 - 50) / 25 = 239 frames per subject */
    ck_assert_int_eq(a.n, 3 * 239);
    ck_assert_int_eq(a.D, 156);
    ck_assert_int_eq(a.n_classes, 4);
    ck_assert(memcmp(a.X, b.X, (size_t)(a.n * a.D) * 4) == 0); /* deterministic */
    int seen[4] = {0};
    for (int64_t i = 0; i < a.n; i++) {
        ck_assert(a.label[i] >= 0 && a.label[i] < 4);
        seen[a.label[i]] = 1;
        ck_assert_int_eq(a.subject[i], (int)(i / 239));
    }
    ck_assert(seen[0] + seen[1] + seen[2] + seen[3] >= 3);
    for (int64_t j = 0; j < a.D; j += 17) { /* z-scored */
        double m = 0, v = 0;
        for (int64_t i = 0; i < a.n; i++) m += a.X[i * a.D + j];
        m /= (double)a.n;
        for (int64_t i = 0; i < a.n; i++) v += (a.X[i * a.D + j] - m) * (a.X[i * a.D + j] - m);
        ck_assert(fabs(m) < 1e-4 && fabs(v / (double)a.n - 1) < 1e-3);
    }
    /* HARTH windows: per subject max(1, ceil((F + 1 - T) / S)) = ceil((239 + 1 - 119) / 24) = 6 */
    dc_sequences s;
    ck_assert(dc_sequences_window(&a, 119, 24, &s) == DC_OK);
    ck_assert_int_eq(s.n, 3 * 6);
    ck_assert_int_eq(s.start[6], 239);
    ck_assert_int_eq(s.start[5], 5 * 24);
    float *batch = malloc((size_t)(2 * 119 * 156) * 4);
    int64_t idx[2] = {7, 0};
    ck_assert(dc_sequences_gather(&a, &s, idx, 2, batch) == DC_OK);
    ck_assert(batch[0] == a.X[(239 + 24) * 156] && batch[119 * 156] == a.X[0]);
    idx[0] = 18;
    ck_assert(dc_sequences_gather(&a, &s, idx, 1, batch) != DC_OK);
    free(batch);
    dc_sequences_free(&s);
    dc_frames_free(&a);
    dc_frames_free(&b);
}
END_TEST

/* 50 AdamW steps of encoder + MP-Xent on one fixed batch must lower the loss clearly. */
START_TEST(test_dynacl_overfits_fixed_batch) {
    const char *bn = k_backends[_i];
    dc_frames fr;
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 2;
    so.minutes = 2;
    ck_assert(dc_synthetic_generate(&so, &fr) == DC_OK);
    dc_sequences s;
    ck_assert(dc_sequences_window(&fr, 60, 30, &s) == DC_OK);
    float *host = malloc((size_t)(4 * 60 * fr.D) * 4);
    int64_t idx[4] = {0, 3, 6, 9};
    ck_assert(dc_sequences_gather(&fr, &s, idx, 4, host) == DC_OK);
    dc_backend *be = dc_backend_new(bn);
    dc_encoder *e = dc_encoder_new(be, fr.D);
    dc_rng r = dc_rng_init(42);
    ck_assert(dc_encoder_init(e, &r) == DC_OK);
    dc_adamw *opt = dc_adamw_new(e->params, dc_adamw_opts_default());
    dc_ctx *data = dc_ctx_new(be), *ctx = dc_ctx_new(be);
    dc_tensor *x = dc_tensor_from_host(data, DC_F32, 3, (int64_t[]){4, 60, fr.D}, host);
    dc_mpxent_opts mo = dc_mpxent_opts_default();
    double first = 0, last = 0;
    for (int step = 0; step < 50; step++) {
        double loss;
        dc_ctx_reset(ctx);
        ck_assert_msg(dc_dynacl_step(e, opt, ctx, x, &mo, &loss) == DC_OK, "%s step %d: %s", bn, step, dc_last_error());
        if (step == 0) first = loss;
        last = loss;
    }
    /* a clear drop: more than 15% of the starting loss (observed: 5.32 -> 4.08) */
    ck_assert_msg(last < 0.85 * first, "%s: loss %g -> %g did not fall clearly", bn, first, last);
    ck_assert_int_eq(dc_adamw_steps(opt), 50);
    ck_assert_int_eq(e->num_batches_tracked, 50);
    dc_ctx_free(ctx), dc_ctx_free(data);
    dc_adamw_free(opt);
    dc_encoder_free(e);
    dc_backend_free(be);
    free(host);
    dc_sequences_free(&s);
    dc_frames_free(&fr);
}
END_TEST

/* The fast and the reference CPU backends follow the same trajectory from the same seed. */
START_TEST(test_cpu_backends_agree_over_steps) {
    double losses[2][20];
    for (int b = 0; b < 2; b++) {
        dc_backend *be = dc_backend_new(k_backends[b]);
        dc_encoder *e = dc_encoder_new(be, 20);
        dc_rng r = dc_rng_init(8);
        ck_assert(dc_encoder_init(e, &r) == DC_OK);
        dc_adamw *opt = dc_adamw_new(e->params, dc_adamw_opts_default());
        dc_ctx *data = dc_ctx_new(be), *ctx = dc_ctx_new(be);
        dc_tensor *x = dc_tensor_new(data, DC_F32, 3, (int64_t[]){3, 16, 20});
        ck_assert(dc_rng_fill_normal(&r, x, 0, 1) == DC_OK);
        dc_mpxent_opts mo = dc_mpxent_opts_default();
        for (int s = 0; s < 20; s++) {
            dc_ctx_reset(ctx);
            ck_assert(dc_dynacl_step(e, opt, ctx, x, &mo, &losses[b][s]) == DC_OK);
        }
        dc_ctx_free(ctx), dc_ctx_free(data);
        dc_adamw_free(opt);
        dc_encoder_free(e);
        dc_backend_free(be);
    }
    for (int s = 0; s < 20; s++)
        ck_assert_msg(fabs(losses[0][s] - losses[1][s]) < 1e-4 * fabs(losses[1][s]), "step %d: cpu %.7f cpu-ref %.7f", s,
                      losses[0][s], losses[1][s]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("models");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_encoder_init);
    tcase_add_loop_test(tc, test_encoder_forward_modes, 0, 2);
    tcase_add_test(tc, test_synthetic_dataset);
    tcase_add_loop_test(tc, test_dynacl_overfits_fixed_batch, 0, 2);
    tcase_add_test(tc, test_cpu_backends_agree_over_steps);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
