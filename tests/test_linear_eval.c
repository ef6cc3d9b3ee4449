/* test_linear_eval.c: the linear probe reaches 100% on a linearly separable set and chance on
 * labels independent of the features (default protocol: Adam 1e-3, 50 epochs, batch 8); the
 * full protocol on a dataset restores the encoder's BatchNorm statistics, is deterministic,
 * honours class exclusion, and rejects missing labels, a D mismatch, an empty class and a
 * single class with clear messages (library and CLI). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc_test.h"
#include "eval/dc_eval.h"

enum { T = 10, F = 4 };

/* Post-ReLU-like embeddings: class c puts 2 + U(0, 0.3) on feature c, U(0, 0.3) elsewhere. */
static void make_set(int64_t nseq, int C, dc_rng *rng, float *Z, int32_t *y, int informative) {
    for (int64_t i = 0; i < nseq * T; i++) {
        int32_t c = (int32_t)dc_rng_randint(rng, 0, C - 1);
        int32_t shown = informative ? c : (int32_t)dc_rng_randint(rng, 0, C - 1); /* features ignore y */
        for (int f = 0; f < F; f++) Z[i * F + f] = (float)(0.3 * dc_rng_uniform(rng) + (f == shown ? 2.0 : 0.0));
        y[i] = c;
    }
}

START_TEST(test_separable_reaches_100) {
    enum { NTR = 400, NTE = 40 };
    float *Ztr = malloc(sizeof(float) * NTR * T * F), *Zte = malloc(sizeof(float) * NTE * T * F);
    int32_t *ytr = malloc(sizeof(int32_t) * NTR * T), *yte = malloc(sizeof(int32_t) * NTE * T);
    dc_rng rng = dc_rng_init(1);
    make_set(NTR, 3, &rng, Ztr, ytr, 1);
    make_set(NTE, 3, &rng, Zte, yte, 1);
    dc_backend *be = dc_backend_new("cpu");
    dc_linear_eval_opts o = dc_linear_eval_opts_default(DC_PROTOCOL_CORRECTED);
    dc_linear_eval_result r;
    ck_assert_msg(dc_linear_probe(be, Ztr, ytr, NTR, Zte, yte, NTE, T, F, 3, &o, &r) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(r.test_rows, NTE * T);
    ck_assert_msg(r.test.accuracy == 100.0, "accuracy %.3f%%", r.test.accuracy);
    ck_assert(r.test.f1_macro == 1.0 && r.test.f1_weighted == 1.0 && r.test.precision_macro == 1.0);
    ck_assert_msg(r.last_epoch_loss < 0.5, "last epoch loss %g", r.last_epoch_loss);
    /* the same seed gives the same probe */
    dc_linear_eval_result r2;
    ck_assert_int_eq(dc_linear_probe(be, Ztr, ytr, NTR, Zte, yte, NTE, T, F, 3, &o, &r2), DC_OK);
    ck_assert(r2.last_epoch_loss == r.last_epoch_loss);
    dc_backend_free(be);
    free(Ztr), free(Zte), free(ytr), free(yte);
}
END_TEST

START_TEST(test_shuffled_labels_chance) {
    /* labels independent of the features, 2 balanced classes, 1600 test instances: accuracy
     * 50% with a binomial std of 1.25%; 6 std either side */
    enum { NTR = 200, NTE = 160 };
    float *Ztr = malloc(sizeof(float) * NTR * T * F), *Zte = malloc(sizeof(float) * NTE * T * F);
    int32_t *ytr = malloc(sizeof(int32_t) * NTR * T), *yte = malloc(sizeof(int32_t) * NTE * T);
    dc_rng rng = dc_rng_init(2);
    make_set(NTR, 2, &rng, Ztr, ytr, 0);
    make_set(NTE, 2, &rng, Zte, yte, 0);
    dc_backend *be = dc_backend_new("cpu");
    dc_linear_eval_opts o = dc_linear_eval_opts_default(DC_PROTOCOL_AUTHORS);
    dc_linear_eval_result r;
    ck_assert_msg(dc_linear_probe(be, Ztr, ytr, NTR, Zte, yte, NTE, T, F, 2, &o, &r) == DC_OK, "%s", dc_last_error());
    ck_assert_msg(fabs(r.test.accuracy - 50.0) < 7.5, "accuracy %.2f%% on shuffled labels", r.test.accuracy);
    int64_t sum = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) sum += r.test.confusion[a][b];
    ck_assert_int_eq(sum, NTE * T);
    dc_backend_free(be);
    free(Ztr), free(Zte), free(ytr), free(yte);
}
END_TEST

/* 3 subjects x 2 minutes: 18 windows of 119 frames, 15 train, 3 test; 4 classes. */
static void small(dc_dataset *ds) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 3;
    so.minutes = 2;
    ck_assert_msg(dc_dataset_synthetic(&so, ds) == DC_OK, "%s", dc_last_error());
}

static dc_linear_eval_opts quick(dc_protocol p) {
    dc_linear_eval_opts o = dc_linear_eval_opts_default(p);
    o.epochs = 3;
    o.batch = 3;
    o.test_batch = 3;
    return o;
}

START_TEST(test_dataset_protocols) {
    dc_dataset ds;
    small(&ds);
    dc_backend *be = dc_backend_new("cpu");
    dc_encoder *enc = dc_encoder_new(be, ds.frames.D);
    dc_rng rng = dc_rng_init(7);
    ck_assert_int_eq(dc_encoder_init(enc, &rng), DC_OK);
    dc_tensor *flat = dc_params_flat(enc->buffers); /* running means and variances */
    size_t nb = sizeof(float) * (size_t)dc_tensor_numel(flat);
    float *before = malloc(nb), *after = malloc(nb);
    ck_assert_int_eq(dc_tensor_download(flat, before, nb), DC_OK);
    dc_linear_eval_opts o = quick(DC_PROTOCOL_AUTHORS);
    ck_assert(o.bn_train);
    dc_linear_eval_result a, b;
    ck_assert_msg(dc_linear_eval(enc, &ds, &o, &a) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(a.n_classes, 4);
    ck_assert_int_eq(a.test_rows, 3 * 119); /* every test frame is labelled */
    /* the caller's encoder is left as it was: BatchNorm statistics and counter restored */
    ck_assert_int_eq(dc_tensor_download(flat, after, nb), DC_OK);
    ck_assert(!memcmp(before, after, nb));
    ck_assert_int_eq(enc->num_batches_tracked, 0);
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &o, &b), DC_OK); /* deterministic */
    ck_assert(!memcmp(&a.test.confusion, &b.test.confusion, sizeof a.test.confusion));
    /* corrected: frozen encoder in eval mode */
    dc_linear_eval_opts oc = quick(DC_PROTOCOL_CORRECTED);
    ck_assert(!oc.bn_train);
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &oc, &b), DC_OK);
    ck_assert_int_eq(b.test_rows, 3 * 119);
    /* class exclusion (docs/METHOD.md §9 item 15): the probe has 3 classes, rows of the excluded one are
     * not scored */
    oc.exclude_class = 1;
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &oc, &b), DC_OK);
    ck_assert_int_eq(b.n_classes, 3);
    ck_assert_int_eq(b.class_of[0], 0);
    ck_assert_int_eq(b.class_of[1], 2);
    int64_t excl = 0;
    for (int64_t s = ds.n_train; s < ds.seqs.n; s++)
        for (int t = 0; t < 119; t++) excl += ds.frames.label[ds.seqs.start[s] + t] == 1;
    ck_assert_int_eq(b.test_rows, 3 * 119 - excl);
    oc.exclude_class = 9;
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &oc, &b), DC_ERR_ARG);
    free(before), free(after);
    dc_encoder_free(enc);
    dc_backend_free(be);
    dc_dataset_close(&ds);
}
END_TEST

START_TEST(test_bad_input) {
    dc_dataset ds;
    small(&ds);
    dc_backend *be = dc_backend_new("cpu");
    dc_rng rng = dc_rng_init(7);
    dc_encoder *enc = dc_encoder_new(be, ds.frames.D), *wrong = dc_encoder_new(be, 10);
    dc_encoder_init(enc, &rng);
    dc_encoder_init(wrong, &rng);
    dc_linear_eval_opts o = quick(DC_PROTOCOL_AUTHORS);
    dc_linear_eval_result r;
    /* D mismatch */
    ck_assert_int_eq(dc_linear_eval(wrong, &ds, &o, &r), DC_ERR_SHAPE);
    ck_assert_msg(strstr(dc_last_error(), "D = 10") && strstr(dc_last_error(), "D = 156"), "%s", dc_last_error());
    /* labels missing */
    dc_dataset nolab = ds;
    nolab.frames.label = NULL;
    ck_assert_int_eq(dc_linear_eval(enc, &nolab, &o, &r), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "has no labels"), "%s", dc_last_error());
    /* an empty class: relabel class 2 as 3 everywhere */
    int32_t *lab = ds.frames.label, *keep = malloc(sizeof(int32_t) * (size_t)ds.frames.n);
    memcpy(keep, lab, sizeof(int32_t) * (size_t)ds.frames.n);
    for (int64_t i = 0; i < ds.frames.n; i++)
        if (lab[i] == 2) lab[i] = 3;
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &o, &r), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "empty class") && strstr(dc_last_error(), ds.frames.class_names[2]), "%s",
                  dc_last_error());
    o.exclude_class = 2; /* the remedy the message names */
    ck_assert_msg(dc_linear_eval(enc, &ds, &o, &r) == DC_OK, "%s", dc_last_error());
    o.exclude_class = -1;
    /* a single class */
    for (int64_t i = 0; i < ds.frames.n; i++) lab[i] = 0;
    ck_assert_int_eq(dc_linear_eval(enc, &ds, &o, &r), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "a single class"), "%s", dc_last_error());
    memcpy(lab, keep, sizeof(int32_t) * (size_t)ds.frames.n);
    /* the probe alone: too few sequences for a batch, a label out of range */
    float z[2 * T * F] = {0};
    int32_t yy[2 * T] = {0};
    ck_assert_int_eq(dc_linear_probe(be, z, yy, 2, z, yy, 2, T, F, 2, &o, &r), DC_ERR_SHAPE);
    yy[3] = 5;
    ck_assert_int_eq(dc_linear_probe(be, z, yy, 2, z, yy, 2, T, F, 2, &o, &r), DC_ERR_ARG);
    free(keep);
    dc_encoder_free(enc);
    dc_encoder_free(wrong);
    dc_backend_free(be);
    dc_dataset_close(&ds);
}
END_TEST

START_TEST(test_cli_errors) {
    static char buf[1 << 16];
    char *dir = dc_test_tmpdir(), ck[4200], args[8192];
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "synthetic", "authors");
    dc_model *m = dc_model_new(&cfg, be, 10); /* D = 10: does not fit the synthetic data's 156 */
    snprintf(ck, sizeof ck, "%s/d10.safetensors", dir);
    ck_assert_int_eq(dc_model_save(m, ck, NULL), DC_OK);
    snprintf(args, sizeof args, "linear-eval --checkpoint '%s' --data synthetic --runs 1 --epochs 1 --quiet", ck);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "takes D = 10") && strstr(buf, "data has D = 156"), "%s", buf);
    snprintf(args, sizeof args, "cluster --checkpoint '%s' --data synthetic", ck);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "takes D = 10"), "%s", buf);
    ck_assert_int_eq(dc_test_run_cli("linear-eval --checkpoint random --data synthetic --exclude-class nope", buf, sizeof buf), 2);
    ck_assert_msg(strstr(buf, "'nope' is not a class"), "%s", buf);
    ck_assert_int_eq(dc_test_run_cli("linear-eval --data synthetic", buf, sizeof buf), 2);
    ck_assert_int_eq(dc_test_run_cli("linear-eval --checkpoint random --data /nonexistent/dir", buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "opening the dataset"), "%s", buf);
    dc_model_free(m);
    dc_backend_free(be);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("linear_eval");
    TCase *tc = tcase_create("probe");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_separable_reaches_100);
    tcase_add_test(tc, test_shuffled_labels_chance);
    tcase_add_test(tc, test_dataset_protocols);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_cli_errors);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
