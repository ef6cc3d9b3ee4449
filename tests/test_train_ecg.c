/* test_train_ecg.c: a real-data run. Two genuine MIT-BIH records (../shared/data/mitdb)
 * through the ECG pipeline (360 Hz: W = 360, H = 180, D = 362), written and reopened as a
 * prepared dataset, then 200 DynaCL steps with the shared trainer: the loss must fall, and
 * the checkpoint must embed the test split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc.h"
#include "data/dc_prepare.h"
#include "dc_test.h"
#include "train/dc_train.h"

typedef struct epochs {
    double first, last;
    int n;
} epochs;

static void on_progress(void *ud, const dc_train_status *s) {
    epochs *e = ud;
    if (strcmp(s->event, "epoch")) return;
    if (e->n++ == 0) e->first = s->loss;
    e->last = s->loss;
}

START_TEST(test_ecg_pretrain_loss_falls) {
    char *dir = dc_test_tmpdir(), in[1100], out[1100], run[1100], src[1100], dst[1200];
    snprintf(in, sizeof in, "%s/raw", dir);
    ck_assert(mkdir(in, 0755) == 0);
    const char *recs[2] = {"201", "202"}, *ext[3] = {"hea", "dat", "atr"};
    for (int r = 0; r < 2; r++)
        for (int e = 0; e < 3; e++) {
            char rel[64];
            snprintf(rel, sizeof rel, "mitdb/%s.%s", recs[r], ext[e]);
            dc_test_data_path(src, sizeof src, rel);
            snprintf(dst, sizeof dst, "%s/%s.%s", in, recs[r], ext[e]);
            ck_assert_msg(symlink(src, dst) == 0, "symlink %s", src);
        }
    dc_prepare_opts po = dc_prepare_opts_default();
    po.input = in;
    po.seq_len = 119;
    dc_dataset ds = {0};
    char *meta = NULL;
    ck_assert_msg(dc_prepare_ecg(&po, &ds, &meta) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds.frames.D, 362);
    snprintf(out, sizeof out, "%s/ecg", dir);
    ck_assert_msg(dc_dataset_write(&ds, out, meta, 0) == DC_OK, "%s", dc_last_error());
    dc_dataset_close(&ds);
    free(meta);
    ck_assert_msg(dc_dataset_open(out, &ds) == DC_OK, "%s", dc_last_error());
    /* 2 x 650,000 samples, minus what precedes each record's first rhythm annotation, cut to
     * the shorter record and concatenated: about 2 x 3,600 frames, T = 119 blocks */
    ck_assert(ds.seqs.n >= 50 && ds.seqs.T == 119 && ds.n_train == ds.seqs.n - ds.seqs.n / 5);

    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", ds.name, "authors");
    dc_model *m = dc_model_new(&cfg, be, ds.frames.D);
    dc_train_opts o = dc_train_opts_default();
    o.max_steps = 200;
    o.epochs = 1000;
    o.valid_interval = 10;
    epochs e = {0};
    dc_train_hooks h = {.ud = &e, .progress = on_progress};
    snprintf(run, sizeof run, "%s/run", dir);
    ck_assert_msg(dc_train_run(m, &ds, be, &o, run, DC_RUN_NEW, "{}", &h) == DC_OK, "%s", dc_last_error());
    ck_assert(e.n >= 10);
    ck_assert_msg(e.last < e.first - 0.05 * fabs(e.first), "loss %g -> %g did not fall", e.first, e.last);
    /* the trained encoder embeds the test split in eval mode */
    char ck[1200];
    snprintf(ck, sizeof ck, "%s/model.safetensors", run);
    dc_model *m2 = dc_model_new(&cfg, be, ds.frames.D);
    ck_assert_msg(dc_model_load(m2, ck) == DC_OK, "%s", dc_last_error());
    int64_t n = ds.seqs.n - ds.n_train, T = ds.seqs.T, D = ds.frames.D, *idx = malloc((size_t)n * 8);
    float *X = malloc((size_t)(n * T * D) * 4), *Z = malloc((size_t)(n * T * 32) * 4);
    for (int64_t i = 0; i < n; i++) idx[i] = ds.n_train + i;
    ck_assert(dc_sequences_gather(&ds.frames, &ds.seqs, idx, n, X) == DC_OK);
    ck_assert_msg(dc_encoder_embed(m2->enc, X, n, T, Z, 16) == DC_OK, "%s", dc_last_error());
    for (int64_t i = 0; i < n * T * 32; i++) ck_assert(isfinite(Z[i]) && Z[i] >= 0);
    free(idx), free(X), free(Z);
    dc_model_free(m), dc_model_free(m2);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    if (!dc_test_have_data("mitdb", "the real-data pretraining run")) return dc_test_exit(0);
    Suite *s = suite_create("train_ecg");
    TCase *tc = tcase_create("train_ecg");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_ecg_pretrain_loss_falls);
    suite_add_tcase(s, tc);
    return dc_test_exit(dc_test_run_suite(s));
}
