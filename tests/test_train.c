/* test_train.c: the shared trainer and the run folder. A run interrupted anywhere (also
 * inside its writes) and resumed ends as an uninterrupted run on the CPU backend: weights,
 * state and metrics.jsonl; run folders are refused or replaced as asked; a NaN loss stops the
 * run; ReduceLROnPlateau and the samplers follow PyTorch's and the authors' definitions;
 * config resolution per protocol. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc/dc_safetensors.h"
#include "dc_run_test.h"
#include "dc_test.h"
#include "dynacl/dc_dynacl.h"
#include "infots/dc_infots.h"
#include "tnc/dc_tnc.h"
#include "ts2vec/dc_ts2vec.h"
#include "train/dc_train.h"

static dc_dataset g_ds;

static void small_dataset(void) { dc_rt_small_dataset(&g_ds); }

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
    dc_status st = dc_rt_train(m, &g_ds, be, &o, dir, mode, stop_at);
    dc_model_free(m);
    dc_backend_free(be);
    return st;
}

static int count_lines_with(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
    if (f) fclose(f);
    return n;
}

/* Stopped before step k + 1 and resumed (again and again for the later stops), a run ends
 * exactly as the uninterrupted one: the same metrics.jsonl (no epoch, validation or
 * checkpoint record twice, none missing), checkpoints, final model and optimiser state.
 * Checkpoints fall at steps 4, 8, ..., 28 (4, 12, 20 and 28 mid-epoch), epochs end at 5, 10,
 * ..., 30 (validations at 10, 20, 30), so the stops cover before the first step and the
 * first checkpoint, on a checkpoint, right after one, at an epoch's end with and without a
 * validation, where both fall together (step 20) and before the last step. */
static void resume_anywhere(const char *model, const int *stops, int n_stops) {
    small_dataset();
    char *dir = dc_test_tmpdir(), a[1024], b[1100], p[1200];
    snprintf(a, sizeof a, "%s/full", dir);
    ck_assert_msg(run(model, a, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(count_lines_with(dc_run_path(a, DC_RUN_METRICS, p, sizeof p), "\"event\": \"validation\""), 3);
    ck_assert(count_lines_with(p, "\"lr\": 0.0001,") > 0); /* the scheduler acted */
    for (int i = 0; i < n_stops; i++) {
        snprintf(b, sizeof b, "%s/stop%d", dir, stops[i]);
        ck_assert_msg(run(model, b, DC_RUN_NEW, stops[i]) == DC_OK, "%s", dc_last_error());
        dc_run_status rs;
        ck_assert(dc_run_status_read(b, &rs) == DC_OK);
        ck_assert_int_eq(rs.stage, stops[i] < 4 ? DC_RUN_STARTED : DC_RUN_RESUMABLE);
        ck_assert_int_eq(rs.step, stops[i] < 4 ? -1 : stops[i] / 4 * 4);
        /* the later stops of the list are interruptions of the resumed run */
        for (int j = i + 1; j < n_stops; j++) ck_assert_msg(run(model, b, DC_RUN_RESUME, stops[j]) == DC_OK, "%s", dc_last_error());
        ck_assert_msg(run(model, b, DC_RUN_RESUME, -1) == DC_OK, "%s", dc_last_error());
        ck_assert(dc_run_is_complete(b));
        dc_rt_assert_same_run(a, b);
    }
    dc_test_rmtree(dir);
    free(dir);
    dc_dataset_close(&g_ds);
}

START_TEST(test_resume_anywhere) {
    const int stops[] = {0, 2, 4, 5, 9, 10, 12, 13, 20, 24, 29};
    resume_anywhere("dynacl", stops, (int)(sizeof stops / sizeof stops[0]));
}
END_TEST

START_TEST(test_resume_anywhere_masks) { /* dynacl-m also draws masks and projectors */
    const int stops[] = {0, 8, 15, 20};
    resume_anywhere("dynacl-m", stops, (int)(sizeof stops / sizeof stops[0]));
}
END_TEST

/* Remove the lines of a file that contain needle. */
static void drop_lines(const char *path, const char *needle) {
    char *s = dc_rt_read_file(path, NULL);
    ck_assert(s);
    FILE *f = fopen(path, "w");
    ck_assert(f);
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        char keep = line[n];
        line[n] = '\0';
        if (!strstr(line, needle)) fputs(line, f);
        line[n] = keep;
        line += n;
    }
    fclose(f);
    free(s);
}

/* Kills inside the writes: between checkpoints/latest and the checkpoint record, after the
 * final checkpoint but before model.safetensors, in the middle of a metrics line. Resuming
 * each ends as the uninterrupted run; resuming a complete run changes nothing. */
START_TEST(test_resume_after_torn_writes) {
    small_dataset();
    char *dir = dc_test_tmpdir(), a[1024], b[1100], p[1200], cmd[4000];
    snprintf(a, sizeof a, "%s/full", dir);
    ck_assert_msg(run("dynacl", a, DC_RUN_NEW, -1) == DC_OK, "%s", dc_last_error());
    /* the checkpoint of step 12 is on disk, its record is not */
    snprintf(b, sizeof b, "%s/record", dir);
    ck_assert(run("dynacl", b, DC_RUN_NEW, 12) == DC_OK);
    drop_lines(dc_run_path(b, DC_RUN_METRICS, p, sizeof p), "\"event\": \"checkpoint\", \"step\": 12,");
    ck_assert_int_eq(count_lines_with(p, "\"event\": \"checkpoint\""), 2);
    ck_assert(run("dynacl", b, DC_RUN_RESUME, -1) == DC_OK);
    dc_rt_assert_same_run(a, b);
    /* a line cut in the middle */
    snprintf(b, sizeof b, "%s/torn", dir);
    ck_assert(run("dynacl", b, DC_RUN_NEW, 14) == DC_OK);
    FILE *f = fopen(dc_run_path(b, DC_RUN_METRICS, p, sizeof p), "a");
    fputs("{\"step\": 15, \"epoch\": 3, \"lo", f);
    fclose(f);
    ck_assert(run("dynacl", b, DC_RUN_RESUME, -1) == DC_OK);
    dc_rt_assert_same_run(a, b);
    /* the final checkpoint written, the final model and state and the last record not */
    snprintf(b, sizeof b, "%s/final", dir);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", a, b);
    ck_assert(system(cmd) == 0);
    unlink(dc_run_path(b, DC_RUN_MODEL, p, sizeof p));
    unlink(dc_run_path(b, DC_RUN_STATE, p, sizeof p));
    drop_lines(dc_run_path(b, DC_RUN_METRICS, p, sizeof p), "\"event\": \"checkpoint\", \"step\": 30,");
    ck_assert(!dc_run_is_complete(b) && dc_run_has_checkpoint(b));
    ck_assert(run("dynacl", b, DC_RUN_RESUME, -1) == DC_OK);
    dc_rt_assert_same_run(a, b);
    /* a complete run: resuming it touches nothing */
    char *before = dc_rt_read_file(dc_run_path(a, DC_RUN_METRICS, p, sizeof p), NULL);
    ck_assert(run("dynacl", a, DC_RUN_RESUME, -1) == DC_OK);
    char *after = dc_rt_read_file(p, NULL);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    dc_test_rmtree(dir);
    free(dir);
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
    cfg.opt[DC_DYNACL_MARGIN] = 100;
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
    ck_assert(a.opt[DC_DYNACL_MASK] == 1e-5 && a.opt[DC_DYNACL_LAMBDA] == 1e-30 && a.opt[DC_DYNACL_MARGIN] == 5 && a.opt[DC_DYNACL_THRESHOLD] == 0.4 && a.opt[DC_DYNACL_TAU] == 0.5);
    ck_assert(!a.opt[DC_DYNACL_WITHIN_SEQ] && !a.opt[DC_DYNACL_PSEUDO_EMB] && !a.opt[DC_DYNACL_LAMBDA_PAPER] && !a.train_heads);
    dc_model_config c = dc_model_config_defaults("dynacl-m", "ecg", "corrected");
    ck_assert(c.opt[DC_DYNACL_MASK] == 0.3 && c.opt[DC_DYNACL_LAMBDA] == 1.0 && c.opt[DC_DYNACL_MARGIN] == 5);
    ck_assert(c.opt[DC_DYNACL_WITHIN_SEQ] && c.opt[DC_DYNACL_PSEUDO_EMB] && c.opt[DC_DYNACL_LAMBDA_PAPER] && c.train_heads);
    dc_model_config s = dc_model_config_defaults("dynacl", "sleepeeg", "authors");
    ck_assert(s.opt[DC_DYNACL_LAMBDA] == 0.4 && s.opt[DC_DYNACL_MASK] == 0.3);
    s.opt[DC_DYNACL_TAU] = 0;
    dc_clear_error();
    ck_assert_int_eq(dc_model_config_check(&s), DC_ERR_ARG);
    dc_model_config u = dc_model_config_defaults("nope", NULL, "authors");
    dc_clear_error();
    ck_assert_int_eq(dc_model_config_check(&u), DC_ERR_ARG);
    ck_assert(strstr(dc_last_error(), "unknown model 'nope'") && strstr(dc_last_error(), "dynacl-m"));
}
END_TEST

/* config.json of runs written by dynacl 0.1.0 (every method's keys in every run; tests/fixtures)
 * loads with the values given then: the method's own keys, the trainer's, the common ones. */
START_TEST(test_old_config_loads) {
    const char *src = getenv("DC_SOURCE_DIR");
    ck_assert_msg(src, "DC_SOURCE_DIR is not set (run through ctest)");
    char p[4200];
    dc_run_config c;
    snprintf(p, sizeof p, "%s/tests/fixtures/config-0.1.0-infots.json", src);
    char *json = dc_rt_read_file(p, NULL);
    ck_assert_msg(json && dc_run_config_from_json(json, p, &c) == DC_OK, "%s", dc_last_error());
    ck_assert_str_eq(c.model.model, "infots");
    ck_assert_str_eq(c.model.protocol, "corrected");
    ck_assert(c.model.opt[DC_INFOTS_TAU_GLOBAL] == 3 && c.model.opt[DC_INFOTS_TAU_LOCAL] == 0.1);
    ck_assert(c.model.opt[DC_INFOTS_LOCAL_ALL] == 0 && c.model.train_heads == 1 && c.train.max_steps == 1);
    free(json);
    snprintf(p, sizeof p, "%s/tests/fixtures/config-0.1.0-ts2vec.json", src);
    json = dc_rt_read_file(p, NULL);
    ck_assert_msg(json && dc_run_config_from_json(json, p, &c) == DC_OK, "%s", dc_last_error());
    ck_assert(c.model.seed == 7 && c.model.opt[DC_TS2VEC_MAX_LEN] == 100 && c.model.opt[DC_TS2VEC_OVERLAP] == 1);
    ck_assert(c.train.epochs == 2 && c.train.batch == 4 && c.train.lr == 0.01 && c.train.valid_interval == 0);
    ck_assert(c.model.train_heads == 0 && c.train.weight_decay == 0.01 && !strcmp(c.data, "synthetic"));
    free(json);
    snprintf(p, sizeof p, "%s/tests/fixtures/config-0.1.0-dynacl-m.json", src);
    json = dc_rt_read_file(p, NULL);
    ck_assert_msg(json && dc_run_config_from_json(json, p, &c) == DC_OK, "%s", dc_last_error());
    const double *o = c.model.opt;
    ck_assert(o[DC_DYNACL_TAU] == 0.2 && o[DC_DYNACL_MASK] == 0.1 && o[DC_DYNACL_LAMBDA] == 0.5 && o[DC_DYNACL_THRESHOLD] == 0.3);
    ck_assert(o[DC_DYNACL_WITHIN_SEQ] == 1 && o[DC_DYNACL_PSEUDO_EMB] == 0 && o[DC_DYNACL_MARGIN] == 5);
    ck_assert(c.train.sampler == DC_SAMPLER_SEQUENTIAL && c.train.weight_decay == 0.001 && c.train.save_every == 30);
    ck_assert(c.train.log_every == 3 && c.train.epochs == 3);
    /* written again, the dynacl-m config holds its own keys (in the same order) and no other method's */
    char *again = dc_run_config_to_json(&c);
    ck_assert(again && strstr(again, "\"lambda_form\":\t\"code\"") && !strstr(again, "cost_queue") && !strstr(again, "tnc_tc"));
    dc_run_config back;
    ck_assert(dc_run_config_from_json(again, "again", &back) == DC_OK);
    ck_assert(!memcmp(back.model.opt, c.model.opt, sizeof c.model.opt) && back.train.log_every == 3);
    free(again);
    /* a broken value is named */
    char *bad = strstr(json, "\"batch\":\t8");
    ck_assert(bad);
    memcpy(bad, "\"batch\":\t0", 10);
    dc_clear_error();
    ck_assert_int_eq(dc_run_config_from_json(json, "x.json", &c), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "x.json") && strstr(dc_last_error(), "batch must be an integer >= 1 (got 0)"), "%s",
                  dc_last_error());
    free(json);
}
END_TEST

/* The option tables are consistent: every range parses, every default of every dataset and
 * protocol is a value of its own row, keys and flags are unique across the tables a run
 * combines, a method has at most DC_MODEL_MAX_OPTIONS, and each method has a display name.
 * Setting by key goes through the row's check; a key of another method is refused. */
START_TEST(test_option_tables) {
    const char *datasets[] = {"harth", "sleepeeg", "ecg", "synthetic", "other"}, *protocols[] = {"authors", "corrected"};
    for (const char *const *nm = dc_model_names(); *nm; nm++) {
        const dc_option_table *tabs[3] = {dc_train_options(), dc_model_common_options(), dc_model_options(*nm)};
        ck_assert_msg(dc_model_display_name(*nm), "%s has no display name", *nm);
        ck_assert(tabs[2] && tabs[2]->n <= DC_MODEL_MAX_OPTIONS);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < tabs[k]->n; i++) {
                const dc_option *o = &tabs[k]->rows[i];
                double lo, hi;
                int lo_open, hi_open;
                if (o->range) ck_assert_msg(dc_option_range_parse(o->range, &lo, &hi, &lo_open, &hi_open), "%s: range %s", o->key, o->range);
                if (o->type == DC_OPTION_CHOICE) ck_assert(o->choices[0] && o->choices[1]);
                ck_assert(o->help);
                if (!o->group) ck_assert_str_eq(o->key, "seed"); /* the only top-level option besides the run's strings */
                for (int d = 0; d < 5; d++)
                    for (int p = 0; p < 2; p++)
                        ck_assert_msg(dc_option_check(o, dc_option_default_value(o, datasets[d], protocols[p])) == DC_OK, "%s: %s",
                                      *nm, dc_last_error());
                for (int k2 = k; k2 < 3; k2++) /* unique keys and flags */
                    for (int j = k2 == k ? i + 1 : 0; j < tabs[k2]->n; j++) {
                        const dc_option *q = &tabs[k2]->rows[j];
                        ck_assert_msg(strcmp(o->key, q->key), "%s: key %s twice", *nm, o->key);
                        ck_assert_msg(!o->flag || !q->flag || strcmp(o->flag, q->flag), "%s: flag --%s twice", *nm, o->flag);
                    }
            }
        for (int d = 0; d < 5; d++)
            for (int p = 0; p < 2; p++) {
                dc_model_config c = dc_model_config_defaults(*nm, datasets[d], protocols[p]);
                ck_assert_msg(dc_model_config_check(&c) == DC_OK, "%s on %s (%s): %s", *nm, datasets[d], protocols[p], dc_last_error());
            }
    }
    dc_model_config c = dc_model_config_defaults("tnc", "harth", "authors");
    ck_assert(dc_model_config_set(&c, "tnc_window", 10) == DC_OK && c.opt[DC_TNC_WINDOW] == 10);
    ck_assert(dc_model_config_set(&c, "seed", 7) == DC_OK && c.seed == 7);
    dc_clear_error();
    ck_assert_int_eq(dc_model_config_set(&c, "tnc_window", 1.5), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "tnc_window must be an integer >= 2 (got 1.5)"), "%s", dc_last_error());
    ck_assert_int_eq(dc_model_config_set(&c, "tau", 0.1), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "tau is an option of dynacl, not of tnc"), "%s", dc_last_error());
    dc_train_opts t = dc_train_opts_defaults("synthetic", "corrected");
    ck_assert(t.epochs == 50 && t.weight_decay == 0.0 && t.batch == 8 && t.log_every == 10);
    ck_assert_int_eq(dc_train_opts_set(&t, "epochs", 0), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "epochs must be an integer >= 1 (got 0)"), "%s", dc_last_error());
    t.batch = 0; /* dc_train_run checks too, before touching the folder */
    ck_assert_int_eq(dc_train_opts_check(&t), DC_ERR_ARG);
}
END_TEST

int main(void) {
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_resume_anywhere);
    tcase_add_test(tc, test_resume_anywhere_masks);
    tcase_add_test(tc, test_resume_after_torn_writes);
    tcase_add_test(tc, test_old_config_loads);
    tcase_add_test(tc, test_option_tables);
    tcase_add_test(tc, test_run_folder_rules);
    tcase_add_test(tc, test_nan_stops_the_run);
    tcase_add_test(tc, test_plateau_scheduler);
    tcase_add_test(tc, test_samplers);
    tcase_add_test(tc, test_protocol_defaults);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
