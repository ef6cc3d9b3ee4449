/* test_train.c: the shared trainer. Resuming an interrupted run reaches weights
 * bit-identical to an uninterrupted run on the CPU backend; run folders are refused or
 * replaced as asked; a NaN loss stops the run; ReduceLROnPlateau and the samplers follow
 * PyTorch's and the authors' definitions; config resolution per protocol. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc/dc_safetensors.h"
#include "dc_test.h"
#include "train/dc_train.h"

static dc_dataset g_ds;

static void small_dataset(void) {
    dc_synth_opts o = dc_synth_opts_default();
    o.subjects = 3;
    o.minutes = 2; /* 239 frames per subject: 6 windows of 119 each, 18 sequences, 15 train */
    ck_assert_msg(dc_dataset_synthetic(&o, &g_ds) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(g_ds.seqs.n, 18);
    ck_assert_int_eq(g_ds.n_train, 15);
}

static int g_stop_at = -1;
static int stop_hook(void *ud, int64_t step) { return step == g_stop_at; }

static dc_train_opts small_opts(void) {
    dc_train_opts o = dc_train_opts_default();
    o.epochs = 6;
    o.batch = 3;          /* 5 steps per epoch, 30 steps; the test split holds one batch */
    o.valid_interval = 2; /* validation + scheduler every 2 epochs */
    o.patience = 0;       /* with threshold 1 no evaluation improves: lr drops at every evaluation after the first */
    o.plateau_threshold = 1.0;
    o.save_every = 4;
    o.log_every = 1;
    return o;
}

static dc_status run(const char *model, const char *dir, dc_run_mode mode, int stop_at) {
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults(model, "synthetic", "authors");
    dc_model *m = dc_model_new(&cfg, be, g_ds.frames.D);
    dc_train_opts o = small_opts();
    g_stop_at = stop_at;
    dc_train_hooks h = {.should_stop = stop_hook};
    dc_status st = dc_train_run(m, &g_ds, be, &o, dir, mode, "{\"test\": 1}", &h);
    dc_model_free(m);
    dc_backend_free(be);
    return st;
}

static void assert_same_weights(const char *a, const char *b) {
    dc_st_file *fa, *fb;
    ck_assert_msg(dc_st_open(a, &fa) == DC_OK, "%s", dc_last_error());
    ck_assert_msg(dc_st_open(b, &fb) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(dc_st_count(fa), dc_st_count(fb));
    for (int i = 0; i < dc_st_count(fa); i++) {
        const dc_st_tensor *t = dc_st_get(fa, i), *u = dc_st_find(fb, t->name);
        ck_assert_msg(u && u->nbytes == t->nbytes && memcmp(t->data, u->data, t->nbytes) == 0, "tensor %s differs", t->name);
    }
    dc_st_close(fa);
    dc_st_close(fb);
}

static int count_lines_with(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
    if (f) fclose(f);
    return n;
}

START_TEST(test_resume_is_bit_identical) {
    const char *models[2] = {"dynacl", "dynacl-m"}; /* dynacl-m also draws masks and projectors */
    small_dataset();
    for (int k = 0; k < 2; k++) {
        char *dir = dc_test_tmpdir(), a[1024], b[1024], pa[1100], pb[1100];
        snprintf(a, sizeof a, "%s/full", dir);
        snprintf(b, sizeof b, "%s/interrupted", dir);
        ck_assert_msg(run(models[k], a, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
        /* stop after step 14 (last checkpoint at step 12, mid-epoch 3; epoch 2's validation acted) */
        ck_assert_msg(run(models[k], b, DC_RUN_NEW, 14) == DC_OK, "%s", dc_last_error());
        snprintf(pb, sizeof pb, "%s/model.safetensors", b);
        struct stat sb;
        ck_assert(stat(pb, &sb) != 0); /* interrupted: no final model */
        ck_assert_msg(run(models[k], b, DC_RUN_RESUME, -1) == DC_OK, "%s", dc_last_error());
        snprintf(pa, sizeof pa, "%s/model.safetensors", a);
        assert_same_weights(pa, pb);
        snprintf(pa, sizeof pa, "%s/state.safetensors", a);
        snprintf(pb, sizeof pb, "%s/state.safetensors", b);
        assert_same_weights(pa, pb); /* optimizer moments too */
        /* metrics: each step logged once, the redone steps 13, 14 not duplicated */
        snprintf(pb, sizeof pb, "%s/metrics.jsonl", b);
        ck_assert_int_eq(count_lines_with(pb, "{\"step\": 13,"), 1);
        ck_assert_int_eq(count_lines_with(pb, "\"event\": \"validation\""), 3);
        snprintf(pa, sizeof pa, "%s/metrics.jsonl", a);
        ck_assert_int_eq(count_lines_with(pa, "\"lr\": 0.0001,"), count_lines_with(pb, "\"lr\": 0.0001,"));
        ck_assert(count_lines_with(pa, "\"lr\": 0.0001,") > 0); /* the scheduler acted */
        dc_test_rmtree(dir);
        free(dir);
    }
    dc_dataset_close(&g_ds);
}
END_TEST

START_TEST(test_run_folder_rules) {
    small_dataset();
    char *dir = dc_test_tmpdir(), a[1024];
    snprintf(a, sizeof a, "%s/run", dir);
    ck_assert(run("dynacl", a, DC_RUN_NEW, 2) == DC_OK);
    dc_clear_error();
    ck_assert_int_eq(run("dynacl", a, DC_RUN_NEW, 2), DC_ERR_STATE);
    ck_assert_msg(strstr(dc_last_error(), "already holds a run") && strstr(dc_last_error(), "--force"), "%s", dc_last_error());
    ck_assert(run("dynacl", a, DC_RUN_FORCE, -1) == DC_OK);
    /* resuming with other options is refused */
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "synthetic", "authors");
    dc_model *m = dc_model_new(&cfg, be, g_ds.frames.D);
    dc_train_opts o = small_opts();
    dc_clear_error();
    ck_assert_int_eq(dc_train_run(m, &g_ds, be, &o, a, DC_RUN_RESUME, "{\"test\": 2}", NULL), DC_ERR_STATE);
    ck_assert(strstr(dc_last_error(), "differ from the run's config.json"));
    char b[1100];
    snprintf(b, sizeof b, "%s/none", dir);
    dc_clear_error();
    ck_assert_int_eq(dc_train_run(m, &g_ds, be, &o, b, DC_RUN_RESUME, "{}", NULL), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "no run to resume"));
    dc_model_free(m);
    dc_backend_free(be);
    dc_test_rmtree(dir);
    free(dir);
    dc_dataset_close(&g_ds);
}
END_TEST

/* margin 100 overflows (docs/METHOD.md §9 item 6): the run stops with a clear message and writes no model. */
START_TEST(test_nan_stops_the_run) {
    small_dataset();
    char *dir = dc_test_tmpdir(), a[1024], p[1100];
    snprintf(a, sizeof a, "%s/run", dir);
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("mpxent-margin", "synthetic", "authors");
    cfg.margin = 100;
    dc_model *m = dc_model_new(&cfg, be, g_ds.frames.D);
    dc_train_opts o = small_opts();
    dc_clear_error();
    ck_assert_int_eq(dc_train_run(m, &g_ds, be, &o, a, DC_RUN_NEW, "{}", NULL), DC_ERR_NUMERIC);
    ck_assert_msg(strstr(dc_last_error(), "nan") && strstr(dc_last_error(), "last good checkpoint"), "%s",
                  dc_last_error());
    snprintf(p, sizeof p, "%s/model.safetensors", a);
    struct stat sb;
    ck_assert(stat(p, &sb) != 0);
    dc_model_free(m);
    dc_backend_free(be);
    dc_test_rmtree(dir);
    free(dir);
    dc_dataset_close(&g_ds);
}
END_TEST

START_TEST(test_plateau_scheduler) {
    /* PyTorch ReduceLROnPlateau(min, factor 0.1, patience 5, threshold 1e-4 rel): best 9 at the
     * 2nd evaluation, then six non-improvements; the 6th (8th evaluation) reduces. */
    double vals[9] = {10, 9, 9, 8.9995, 9, 9, 9, 9, 9}, best = 0, lr = 1e-3;
    int has = 0;
    int64_t bad = 0;
    for (int i = 0; i < 9; i++) {
        lr = dc_plateau_update(lr, vals[i], &best, &has, &bad, 5, 0.1, 1e-4);
        ck_assert_msg(fabs(lr - (i >= 7 ? 1e-4 : 1e-3)) < 1e-15, "evaluation %d: lr %g", i + 1, lr);
    }
    ck_assert(best == 9.0); /* 8.9995 is not below 9 * (1 - 1e-4) = 8.9991 */
}
END_TEST

START_TEST(test_samplers) {
    dc_rng r = dc_rng_init(5);
    int64_t out[40], nb, seen[23] = {0};
    ck_assert(dc_sampler_epoch(DC_SAMPLER_SHUFFLE, 23, 5, &r, out, &nb) == DC_OK);
    ck_assert_int_eq(nb, 4); /* drop_last: 20 of 23 */
    for (int i = 0; i < 20; i++) seen[out[i]]++;
    for (int i = 0; i < 23; i++) ck_assert(seen[i] <= 1);
    ck_assert(dc_sampler_epoch(DC_SAMPLER_SEQUENTIAL, 23, 5, &r, out, &nb) == DC_OK);
    ck_assert_int_eq(nb, 4);
    for (int b = 0; b < 4; b++) { /* rows of 5 consecutive indices from 0..19 */
        ck_assert_int_eq(out[b * 5] % 5, 0);
        ck_assert(out[b * 5] < 20);
        for (int j = 1; j < 5; j++) ck_assert_int_eq(out[b * 5 + j], out[b * 5] + j);
    }
}
END_TEST

START_TEST(test_protocol_defaults) {
    dc_model_config a = dc_model_config_defaults("dynacl-m", "harth", "authors");
    ck_assert(a.mask_p == 1e-5 && a.lambda == 1e-30 && a.margin == 5 && a.threshold == 0.4 && a.tau == 0.5);
    ck_assert(!a.mpx_within_seq && !a.pseudo_from_embeddings && !a.lambda_paper_form && !a.train_heads);
    dc_model_config c = dc_model_config_defaults("dynacl-m", "ecg", "corrected");
    ck_assert(c.mask_p == 0.3 && c.lambda == 1.0 && c.margin == 5);
    ck_assert(c.mpx_within_seq && c.pseudo_from_embeddings && c.lambda_paper_form && c.train_heads);
    dc_model_config s = dc_model_config_defaults("dynacl", "sleepeeg", "authors");
    ck_assert(s.lambda == 0.4 && s.mask_p == 0.3);
    s.tau = 0;
    dc_clear_error();
    ck_assert_int_eq(dc_model_config_check(&s), DC_ERR_ARG);
    dc_model_config u = dc_model_config_defaults("nope", NULL, "authors");
    dc_clear_error();
    ck_assert_int_eq(dc_model_config_check(&u), DC_ERR_ARG);
    ck_assert(strstr(dc_last_error(), "unknown model 'nope'") && strstr(dc_last_error(), "dynacl-m"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_resume_is_bit_identical);
    tcase_add_test(tc, test_run_folder_rules);
    tcase_add_test(tc, test_nan_stops_the_run);
    tcase_add_test(tc, test_plateau_scheduler);
    tcase_add_test(tc, test_samplers);
    tcase_add_test(tc, test_protocol_defaults);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
