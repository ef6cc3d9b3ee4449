/* cmd_demo.c: `dynacl demo`: the main job in one command on the embedded synthetic dataset:
 * pretrain DynaCL with the shared trainer (clustering scored every 5 epochs, best J kept),
 * linear evaluation against an untrained encoder, a t-SNE plot and the results table.
 * Everything goes under --out (default demo/); nothing is downloaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "eval_tools.h"
#include "plot.h"
#include "report.h"
#include "tool_common.h"
#include "train/dc_run.h"

typedef struct demo_state {
    dc_cluster_hook ch;
    dc_progress pg;
    int started;
    double first, last;
} demo_state;

static void on_progress(void *ud, const dc_train_status *s) {
    demo_state *d = ud;
    if (!d->started) {
        dc_progress_start(&d->pg, "pretrain", s->total_steps);
        d->started = 1;
    }
    char msg[128];
    int64_t ep = s->epoch + 1 > s->epochs ? s->epochs : s->epoch + 1;
    if (!strcmp(s->event, "epoch")) {
        if (isnan(d->first)) d->first = s->loss;
        d->last = s->loss;
    }
    snprintf(msg, sizeof msg, "epoch %lld/%lld loss %.4f best J %.3f", (long long)ep, (long long)s->epochs, s->loss,
             d->ch.has_best ? d->ch.best.j : 0.0);
    if (!strcmp(s->event, "done")) dc_progress_finish(&d->pg, msg);
    else dc_progress_update(&d->pg, s->step, msg);
}

static dc_status on_validate(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap) {
    demo_state *d = ud;
    return dc_cluster_on_validate(&d->ch, m, be, epoch, extra, cap);
}

/* Linear evaluation over seeds into the entry (2-decimal values, docs/METHOD.md §7.1). */
static int probe(dc_encoder *enc, const dc_dataset *ds, const int64_t *seeds, int ns, dc_report_entry *e) {
    for (int i = 0; i < ns; i++) {
        dc_linear_eval_opts o = dc_linear_eval_opts_default(DC_PROTOCOL_AUTHORS);
        o.seed = (uint64_t)seeds[i];
        dc_linear_eval_result r;
        if (dc_linear_eval(enc, ds, &o, &r) != DC_OK) return 0;
        dc_report_series_add(&e->acc, dc_round2(r.test.accuracy));
        dc_report_series_add(&e->f1, dc_round2(r.test.f1_weighted));
        dc_report_series_add(&e->prec, dc_round2(r.test.precision_macro));
        dc_report_series_add(&e->rec, dc_round2(r.test.recall_macro));
    }
    return 1;
}

/* Balanced-subset embeddings, clustering scores into e, t-SNE coordinates into *Y. */
static int embed_cluster_tsne(dc_encoder *enc, const dc_dataset *ds, dc_backend *be, dc_report_entry *e, int add_scores,
                              float **Z, int32_t **y, int64_t *n, float **Y) {
    if (dc_balanced_embed(enc, ds, 42, Z, y, n) != DC_OK) return 0;
    dc_cluster_eval ce;
    if (add_scores) {
        if (dc_cluster_evaluate(be, *Z, *n, DC_ENCODER_OUT, *y, ds->frames.n_classes, DC_PROTOCOL_AUTHORS, 1, &ce) != DC_OK)
            return 0;
        dc_report_series_add(&e->dbi, ce.kmeans.dbi);
        dc_report_series_add(&e->ss, ce.kmeans.ss);
        dc_report_series_add(&e->ch, ce.kmeans.ch);
    }
    dc_tsne_opts to = dc_tsne_opts_default();
    *Y = malloc((size_t)(2 * *n) * sizeof **Y + 1);
    return *Y && dc_tsne(*Z, *n, DC_ENCODER_OUT, &to, *Y, NULL) == DC_OK;
}

int cmd_demo(int argc, char **argv) {
    const char *out = "demo", *backend = "cpu";
    int64_t epochs = 30, runs = 3, seed = 42;
    const dc_opt opts[] = {
        {"out", OPT_STR, &out, "output folder (default demo/): run/, tsne.png, figure.png, report.md"},
        {"epochs", OPT_INT, &epochs, "pretraining epochs (default 30; clustering every 5)", "[1, inf)"},
        {"runs", OPT_INT, &runs, "linear-evaluation seeds, 1..16 (default 3: 42, 53, 64)", "[1, 16]"},
        {"seed", OPT_INT, &seed, "pretraining seed (default 42)", "[0, 9007199254740992]"},
        {"backend", OPT_STR, &backend, "backend (default cpu)"},
        {0},
    };
    int r = dc_opts_parse("demo", "[--out DIR] [--epochs N] [--backend NAME]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    double t_all = dc_now();
    dc_dataset ds = {0};
    if (!et_open_data("demo", NULL, &ds)) return 1;
    char run_dir[4200], path[4200];
    snprintf(run_dir, sizeof run_dir, "%s/run", out);
    if (dc_mkdirs(out) != DC_OK) {
        dc_dataset_close(&ds);
        return dc_tool_fail("demo", "creating the output folder");
    }
    dc_backend *be = dc_backend_new(backend);
    /* a complete run folder: its config.json is what `dynacl pretrain` would write */
    dc_run_config cfg = dc_run_config_defaults("dynacl", ds.name, "authors");
    cfg.model.seed = (uint64_t)seed;
    cfg.train.epochs = epochs;
    snprintf(cfg.backend, sizeof cfg.backend, "%s", backend);
    char *json = dc_run_config_to_json(&cfg);
    dc_model *m = be && json ? dc_model_new(&cfg.model, be, ds.frames.D) : NULL;
    dc_encoder *rnd = NULL;
    demo_state d = {.first = NAN, .last = NAN};
    dc_report rep = {0};
    float *Z[2] = {0}, *Y[2] = {0};
    int32_t *y[2] = {0};
    int64_t n[2] = {0};
    int rc = 0;
    if (!m) {
        rc = dc_tool_fail("demo", "creating the model");
        goto done;
    }
    printf("dynacl demo: DynaCL on the embedded synthetic dataset (%lld instances x D = %lld, %lld sequences of T = %lld: "
           "%lld train, %lld test), backend %s, protocol authors\n",
           (long long)ds.frames.n, (long long)ds.frames.D, (long long)ds.seqs.n, (long long)ds.seqs.T,
           (long long)ds.n_train, (long long)(ds.seqs.n - ds.n_train), dc_backend_name(be));
    fflush(stdout);
    if (dc_cluster_hook_init(&d.ch, &ds, (uint64_t)seed, DC_PROTOCOL_AUTHORS) != DC_OK) {
        rc = dc_tool_fail("demo", "drawing the balanced subset");
        goto done;
    }
    dc_train_hooks hooks = {.ud = &d, .progress = on_progress, .on_validate = on_validate};
    double t0 = dc_now();
    if (dc_train_run(m, &ds, be, &cfg.train, run_dir, DC_RUN_FORCE, json, &hooks) != DC_OK) {
        if (d.started && d.pg.tty) fputc('\n', stderr);
        rc = dc_tool_fail("demo", "pretraining");
        goto done;
    }
    double t_pre = dc_now() - t0;
    /* create both entries first: adding one may move the others (realloc) */
    dc_report_entry *er = dc_report_entry_get(&rep, "dynacl", "synthetic") ? dc_report_entry_get(&rep, "random", "synthetic") : NULL;
    dc_report_entry *ed = er ? dc_report_entry_get(&rep, "dynacl", "synthetic") : NULL;
    if (!ed || !er) {
        rc = dc_tool_fail("demo", "out of memory");
        goto done;
    }
    dc_report_series_add(&ed->pretrain_s, t_pre);
    if (d.ch.has_best) {
        dc_report_series_add(&ed->dbi, d.ch.best.dbi);
        dc_report_series_add(&ed->ss, d.ch.best.ss);
        dc_report_series_add(&ed->ch, d.ch.best.ch);
    }
    printf("pretraining: %.1f s, mean loss %.4f -> %.4f; best J %.3f at epoch %lld (DBI %.3f, SS %.3f)\n", t_pre, d.first,
           d.last, d.ch.best.j, (long long)d.ch.best_epoch, d.ch.best.dbi, d.ch.best.ss);
    fflush(stdout);
    int64_t seeds[16];
    for (int i = 0; i < runs; i++) seeds[i] = 42 + 11 * i;
    dc_rng rr = dc_rng_init((uint64_t)seed);
    rnd = dc_encoder_new(be, ds.frames.D);
    if (!rnd || dc_encoder_init(rnd, &rr) != DC_OK) {
        rc = dc_tool_fail("demo", "creating the untrained encoder");
        goto done;
    }
    printf("linear evaluation: %lld probe seeds x 50 epochs, DynaCL and an untrained encoder ...\n", (long long)runs);
    fflush(stdout);
    if (!probe(m->enc, &ds, seeds, (int)runs, ed) || !probe(rnd, &ds, seeds, (int)runs, er)) {
        rc = dc_tool_fail("demo", "linear evaluation");
        goto done;
    }
    printf("clustering and t-SNE of the balanced test subset ...\n");
    fflush(stdout);
    if (!embed_cluster_tsne(m->enc, &ds, be, ed, 0, &Z[0], &y[0], &n[0], &Y[0]) ||
        !embed_cluster_tsne(rnd, &ds, be, er, 1, &Z[1], &y[1], &n[1], &Y[1])) {
        rc = dc_tool_fail("demo", "clustering / t-SNE");
        goto done;
    }
    const char *names[DC_MAX_CLASSES];
    for (int c = 0; c < ds.frames.n_classes; c++) names[c] = ds.frames.class_names[c];
    snprintf(path, sizeof path, "%s/tsne.png", out);
    if (dc_plot_scatter_file(path, Y[0], y[0], n[0], ds.frames.n_classes, names, "DynaCL, synthetic (t-SNE)", NULL) != DC_OK) {
        rc = dc_tool_fail("demo", "writing the plot");
        goto done;
    }
    dc_scatter panels[2] = {{Y[1], y[1], n[1], ds.frames.n_classes, names, NULL},
                            {Y[0], y[0], n[0], ds.frames.n_classes, names, NULL}};
    const char *rows[2] = {"Random Init.", "DynaCL"}, *cols[1] = {"synthetic"};
    snprintf(path, sizeof path, "%s/figure.png", out);
    if (dc_plot_grid_file(path, 2, 1, panels, rows, cols, "t-SNE of the balanced test subset", NULL) != DC_OK) {
        rc = dc_tool_fail("demo", "writing the figure");
        goto done;
    }
    printf("\n| model | DBI ↓ | SS ↑ | Acc %% | F1 (weighted) | P (macro) | R (macro) |\n|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < 2; k++) {
        dc_report_entry *e = k ? ed : er;
        char c[6][48];
        printf("| %s | %s | %s | %s | %s | %s | %s |\n", k ? "DynaCL" : "Random Init.", dc_report_cell(&e->dbi, 2, c[0], 48),
               dc_report_cell(&e->ss, 2, c[1], 48), dc_report_cell(&e->acc, 2, c[2], 48), dc_report_cell(&e->f1, 2, c[3], 48),
               dc_report_cell(&e->prec, 2, c[4], 48), dc_report_cell(&e->rec, 2, c[5], 48));
    }
    printf("\nClustering: k-means (k = %d) on the balanced test subset; DynaCL at its best-J validation (epoch %lld), "
           "Random Init. once.\nLinear evaluation: mean ± std over %lld probe seeds, 50 epochs, protocol authors.\n",
           ds.frames.n_classes, (long long)d.ch.best_epoch, (long long)runs);
    char *md = dc_report_markdown(&rep);
    snprintf(path, sizeof path, "%s/report.md", out);
    if (!md || !et_write_text("demo", path, md)) rc = 1;
    free(md);
    if (!rc)
        printf("wrote %s/tsne.png, %s/figure.png, %s/report.md and the run in %s (%.0f s in all)\n", out, out, out, run_dir,
               dc_now() - t_all);
done:
    for (int k = 0; k < 2; k++) free(Z[k]), free(Y[k]), free(y[k]);
    dc_report_free(&rep);
    dc_cluster_hook_free(&d.ch);
    dc_encoder_free(rnd);
    dc_model_free(m);
    free(json);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    return rc;
}
