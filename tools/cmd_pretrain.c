/* cmd_pretrain.c: `dynacl pretrain`: pretrain DynaCL, DynaCL-M or an ablation on a prepared
 * dataset (or the embedded synthetic default) with the shared trainer; progress bar on a
 * terminal, plain lines otherwise; the run folder gets config.json, metrics.jsonl and
 * checkpoints. `--resume RUN_DIR` continues from the run's config.json and last checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "data/dc_dataset.h"
#include "eval/dc_eval.h"
#include "pretrain_config.h"
#include "tool_common.h"
#include "train/dc_train.h"

typedef struct ui {
    dc_progress pg;
    int started;
    double first_epoch, last_epoch;
    dc_cluster_hook ch; /* clustering metrics at every validation (docs/METHOD.md §5, §7.2) */
    int cluster;
} ui;

static dc_status on_validate(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap) {
    ui *u = ud;
    return u->cluster ? dc_cluster_on_validate(&u->ch, m, be, epoch, extra, cap) : DC_OK;
}

static void on_progress(void *ud, const dc_train_status *s) {
    ui *u = ud;
    if (!u->started) {
        dc_progress_start(&u->pg, "pretrain", s->total_steps);
        u->started = 1;
    }
    char msg[96];
    int64_t ep = s->epoch + 1 > s->epochs ? s->epochs : s->epoch + 1;
    snprintf(msg, sizeof msg, "epoch %lld/%lld loss %.4f lr %.2g", (long long)ep, (long long)s->epochs, s->loss, s->lr);
    if (!strcmp(s->event, "epoch")) {
        if (isnan(u->first_epoch)) u->first_epoch = s->loss;
        u->last_epoch = s->loss;
    }
    if (!strcmp(s->event, "done")) {
        dc_progress_finish(&u->pg, msg);
        return;
    }
    dc_progress_update(&u->pg, s->step, msg);
}

/* TS2Vec / CPC / TNC options (issue 8, docs/METHOD.md §6); NULL / -1 / NAN mean "not given" */
typedef struct baseline_args {
    const char *ts2vec_alignment;
    int64_t ts2vec_max_len, cpc_window, tnc_window, tnc_mc, tnc_tc;
    double tnc_weight;
} baseline_args;
static const baseline_args k_baseline_unset = {NULL, -1, -1, -1, -1, -1, NAN};

/* InfoTS / CoST options (issue 9, docs/METHOD.md §6.2, §6.5); NULL / -1 / NAN mean "not given" */
typedef struct issue9_args {
    const char *infots_local, *cost_key;
    double infots_tau_global, infots_tau_local;
    int64_t cost_season_len;
} issue9_args;
static const issue9_args k_issue9_unset = {NULL, NULL, NAN, NAN, -1};

/* option values; NAN / -1 / NULL mean "not given" */
typedef struct args {
    const char *model, *data, *backend, *out, *protocol, *resume, *mpx_pos, *pseudo, *lambda_form, *sampler, *device_data;
    int64_t epochs, batch, seed, save_every, log_every, max_steps, valid_every;
    double lr, tau, margin, lambda, mask, threshold, wd;
    int single, force;
    baseline_args bl;
    issue9_args i9;
} args;

static int pick(const char *v, const char *a, const char *b, const char *opt, int *out) {
    if (!v) return 1;
    if (!strcmp(v, a)) *out = 0;
    else if (!strcmp(v, b)) *out = 1;
    else {
        fprintf(stderr, "dynacl pretrain: %s must be '%s' or '%s', got '%s'\n", opt, a, b, v);
        return 0;
    }
    return 1;
}

static int resolve_baselines(const baseline_args *b, dc_model_config *m) {
    if (b->ts2vec_max_len >= 0) m->ts2vec_max_len = b->ts2vec_max_len;
    if (b->cpc_window >= 0) m->cpc_window = b->cpc_window;
    if (b->tnc_window >= 0) m->tnc_window = b->tnc_window;
    if (b->tnc_mc >= 0) m->tnc_mc = b->tnc_mc;
    if (b->tnc_tc >= 0) m->tnc_tc = b->tnc_tc;
    if (!isnan(b->tnc_weight)) m->tnc_weight = b->tnc_weight;
    return pick(b->ts2vec_alignment, "pad", "overlap", "--ts2vec-alignment", &m->ts2vec_overlap);
}

static int resolve_issue9(const issue9_args *b, dc_model_config *m) {
    if (!isnan(b->infots_tau_global)) m->infots_tau_global = b->infots_tau_global;
    if (!isnan(b->infots_tau_local)) m->infots_tau_local = b->infots_tau_local;
    if (b->cost_season_len >= 0) m->cost_season_len = b->cost_season_len;
    return pick(b->infots_local, "first", "all", "--infots-local", &m->infots_local_all) &&
           pick(b->cost_key, "self", "momentum", "--cost-key-encoder", &m->cost_key_encoder);
}

/* Resolve defaults against the dataset (docs/METHOD.md §4.5, §9). Returns 0 after printing an error. */
static int resolve(const args *a, const dc_dataset *ds, pretrain_config *c) {
    memset(c, 0, sizeof *c);
    const char *protocol = a->protocol ? a->protocol : "authors";
    c->model = dc_model_config_defaults(a->model ? a->model : "dynacl", ds->name, protocol);
    dc_model_config *m = &c->model;
    int corrected = !strcmp(protocol, "corrected");
    if (a->seed >= 0) m->seed = (uint64_t)a->seed;
    if (!isnan(a->tau)) m->tau = a->tau;
    if (!isnan(a->margin)) m->margin = a->margin;
    if (!isnan(a->lambda)) m->lambda = a->lambda;
    if (!isnan(a->mask)) m->mask_p = a->mask;
    if (!isnan(a->threshold)) m->threshold = a->threshold;
    m->single_positive = a->single;
    if (!pick(a->mpx_pos, "flattened", "within-seq", "--mpxent-positives", &m->mpx_within_seq) ||
        !pick(a->pseudo, "input", "embeddings", "--pseudo-labels", &m->pseudo_from_embeddings) ||
        !pick(a->lambda_form, "code", "paper", "--lambda-form", &m->lambda_paper_form) || !resolve_baselines(&a->bl, m) ||
        !resolve_issue9(&a->i9, m))
        return 0;
    dc_train_opts *t = &c->train;
    *t = dc_train_opts_default();
    t->epochs = a->epochs > 0 ? a->epochs : (!strcmp(ds->name, "synthetic") ? 50 : 500);
    if (a->batch > 0) t->batch = a->batch;
    if (!isnan(a->lr)) t->lr = a->lr;
    t->weight_decay = !isnan(a->wd) ? a->wd : (corrected ? 0.0 : 0.01); /* docs/METHOD.md §9 item 8 */
    int seq = 0;
    if (!pick(a->sampler, "shuffle", "sequential", "--sampler", &seq)) return 0;
    t->sampler = seq ? DC_SAMPLER_SEQUENTIAL : DC_SAMPLER_SHUFFLE;
    if (a->valid_every >= 0) t->valid_interval = a->valid_every;
    if (a->save_every >= 0) t->save_every = a->save_every;
    if (a->log_every > 0) t->log_every = a->log_every;
    if (a->max_steps >= 0) t->max_steps = a->max_steps;
    snprintf(c->data, sizeof c->data, "%s", ds->dir[0] ? ds->dir : "synthetic"); /* --data synthetic: no folder */
    snprintf(c->backend, sizeof c->backend, "%s", a->backend ? a->backend : "cpu");
    snprintf(c->data_on_device, sizeof c->data_on_device, "%s", a->device_data ? a->device_data : "auto");
    if (dc_model_config_check(m) != DC_OK) {
        fprintf(stderr, "dynacl pretrain: %s\n", dc_last_error());
        return 0;
    }
    return 1;
}

static int open_data(const char *data, dc_dataset *ds) {
    dc_status st = (!data || !strcmp(data, "synthetic")) ? dc_dataset_synthetic(NULL, ds) : dc_dataset_open(data, ds);
    if (st != DC_OK) fprintf(stderr, "dynacl pretrain: %s\n", dc_last_error());
    return st == DC_OK;
}

int cmd_pretrain(int argc, char **argv) {
    args a = {0};
    a.epochs = a.batch = a.seed = a.save_every = a.log_every = a.max_steps = a.valid_every = -1;
    a.lr = a.tau = a.margin = a.lambda = a.mask = a.threshold = a.wd = NAN;
    a.bl = k_baseline_unset;
    a.i9 = k_issue9_unset;
    const dc_opt opts[] = {
        {"model", OPT_STR, &a.model, "dynacl | dynacl-m | mpxent-mse | mpxent-margin | ts2vec | cpc | tnc | infots | cost (default dynacl)"},
        {"data", OPT_STR, &a.data, "prepared dataset folder (default: the embedded synthetic dataset)"},
        {"backend", OPT_STR, &a.backend, "cpu | cpu-ref | cuda[:N] | opencl[:N] (default cpu)"},
        {"out", OPT_STR, &a.out, "run folder (default runs/<model>-<dataset>-s<seed>)"},
        {"protocol", OPT_STR, &a.protocol, "authors (default: the authors' code) | corrected (docs/METHOD.md §0)"},
        {"epochs", OPT_INT, &a.epochs, "epochs (default 500; 50 on the synthetic dataset)"},
        {"batch", OPT_INT, &a.batch, "sequences per step (default 8)"},
        {"lr", OPT_DBL, &a.lr, "AdamW learning rate (default 1e-3)"},
        {"tau", OPT_DBL, &a.tau, "temperature (default 0.5)"},
        {"margin", OPT_DBL, &a.margin, "margin Mg of DynaCL-M (default 5)"},
        {"lambda", OPT_DBL, &a.lambda, "MSE/contrastive mix (per dataset: HARTH 1e-30, SleepEEG 0.4, ECG 1)"},
        {"mask", OPT_DBL, &a.mask, "feature-mask fraction (per dataset: HARTH 1e-5, others 0.3)"},
        {"threshold", OPT_DBL, &a.threshold, "pseudo-label cosine threshold (default 0.4)"},
        {"seed", OPT_INT, &a.seed, "seed of the initialisation, batches and masks (default 42)"},
        {"single-positive", OPT_FLAG, &a.single, "MP-Xent with one positive (the paper's eq. 1)"},
        {"mpxent-positives", OPT_STR, &a.mpx_pos, "flattened (authors) | within-seq (corrected)"},
        {"pseudo-labels", OPT_STR, &a.pseudo, "input (authors: from raw input, = 1) | embeddings (corrected)"},
        {"lambda-form", OPT_STR, &a.lambda_form, "code (authors: lam MSE + (1-lam) contrastive) | paper (eq. 6)"},
        {"weight-decay", OPT_DBL, &a.wd, "AdamW weight decay (authors 0.01 as run; corrected 0.0 as configured)"},
        {"sampler", OPT_STR, &a.sampler, "shuffle (default) | sequential (the notebooks' SequentialRandomSampler)"},
        {"valid-every", OPT_INT, &a.valid_every, "epochs between validation passes (default 5; 0 = none)"},
        {"save-every", OPT_INT, &a.save_every, "steps between checkpoints (default: every 50 epochs)"},
        {"log-every", OPT_INT, &a.log_every, "steps between loss read-backs / metrics lines (default 10)"},
        {"max-steps", OPT_INT, &a.max_steps, "stop after this many steps (default: all epochs)"},
        {"data-on-device", OPT_STR, &a.device_data, "auto | on | off: keep the dataset on the device"},
        {"resume", OPT_STR, &a.resume, "continue the run in this folder from its last checkpoint"},
        {"force", OPT_FLAG, &a.force, "replace a run already in --out"},
        /* baselines (issue 8, docs/METHOD.md §6.1, §6.3, §6.4) */
        {"ts2vec-alignment", OPT_STR, &a.bl.ts2vec_alignment, "ts2vec views: pad (authors: end-padding) | overlap (corrected)"},
        {"ts2vec-max-len", OPT_INT, &a.bl.ts2vec_max_len, "ts2vec maximum training length (default 500)"},
        {"cpc-window", OPT_INT, &a.bl.cpc_window, "cpc GRU context steps from T/2 (default 5)"},
        {"tnc-window", OPT_INT, &a.bl.tnc_window, "tnc window w (default 20)"},
        {"tnc-mc", OPT_INT, &a.bl.tnc_mc, "tnc Monte-Carlo size (default 20)"},
        {"tnc-weight", OPT_DBL, &a.bl.tnc_weight, "tnc W_TNC, weight of non-neighbours as positives (default 0.1)"},
        {"tnc-tc", OPT_INT, &a.bl.tnc_tc, "tnc Tc, the centres' clipping bound (sequence_sample: HARTH/ECG 119, SleepEEG 300; 0 = T)"},
        /* InfoTS, CoST (issue 9, docs/METHOD.md §6.2, §6.5) */
        {"infots-local", OPT_STR, &a.i9.infots_local, "infots local InfoNCE over the first (default, both protocols) | all sequences (the paper's variant)"},
        {"infots-tau-global", OPT_DBL, &a.i9.infots_tau_global, "infots global temperature (default 1.0, both protocols; the paper's variant 2.0)"},
        {"infots-tau-local", OPT_DBL, &a.i9.infots_tau_local, "infots local temperature (default 1.0, both protocols; the paper's variant 0.1)"},
        {"cost-key-encoder", OPT_STR, &a.i9.cost_key, "cost key encoder: self (authors: frozen encoder) | momentum (corrected)"},
        {"cost-season-len", OPT_INT, &a.i9.cost_season_len, "cost season layer length (sequence_sample: HARTH/ECG 119, SleepEEG 300)"},
        {0},
    };
    int r = dc_opts_parse("pretrain", "[--model M] [--data DIR] [--out RUN_DIR] [options]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;

    pretrain_config c;
    dc_dataset ds = {0};
    const char *run_dir = a.out;
    if (a.resume) {
        if (argc > 3) {
            fprintf(stderr, "dynacl pretrain: --resume takes its options from RUN_DIR/config.json; give no others\n");
            return 2;
        }
        char p[4200];
        snprintf(p, sizeof p, "%s/config.json", a.resume);
        FILE *f = fopen(p, "r");
        if (!f) {
            fprintf(stderr, "dynacl pretrain: %s: no run to resume (cannot open config.json)\n", a.resume);
            return 1;
        }
        char *json = calloc(1, 1 << 20);
        size_t n = json ? fread(json, 1, (1 << 20) - 1, f) : 0;
        fclose(f);
        json[n] = '\0';
        dc_status st = pretrain_config_from_json(json, p, &c);
        free(json);
        if (st != DC_OK) return dc_tool_fail("pretrain", "reading the run's config");
        if (!open_data(c.data, &ds)) return 1;
        run_dir = a.resume;
    } else {
        if (!open_data(a.data, &ds)) return 1;
        if (!resolve(&a, &ds, &c)) {
            dc_dataset_close(&ds);
            return 2;
        }
    }
    char default_out[256];
    if (!run_dir) {
        snprintf(default_out, sizeof default_out, "runs/%s-%s-s%llu", c.model.model, ds.name, (unsigned long long)c.model.seed);
        run_dir = default_out;
        if (dc_mkdirs("runs") != DC_OK) return dc_tool_fail("pretrain", "creating runs/");
    }
    dc_backend *be = dc_backend_new(c.backend);
    if (!be) {
        dc_dataset_close(&ds);
        return dc_tool_fail("pretrain", "opening the backend");
    }
    c.train.device_data = !strcmp(c.data_on_device, "on") || (!strcmp(c.data_on_device, "auto") && strncmp(c.backend, "cpu", 3));
    dc_model *m = dc_model_new(&c.model, be, ds.frames.D);
    char *json = pretrain_config_to_json(&c);
    int rc = 0;
    if (!m || !json) {
        rc = dc_tool_fail("pretrain", "creating the model");
        goto done;
    }
    printf("data: %s (%s), %lld instances x D=%lld, %lld sequences of T=%lld (train %lld, test %lld)\n",
           ds.dir[0] ? ds.dir : "embedded synthetic", ds.name, (long long)ds.frames.n, (long long)ds.frames.D,
           (long long)ds.seqs.n, (long long)ds.seqs.T, (long long)ds.n_train, (long long)(ds.seqs.n - ds.n_train));
    printf("model: %s, protocol %s, on %s; %lld epochs, batch %lld, lr %g; run folder %s%s\n", c.model.model,
           c.model.protocol, dc_backend_name(be), (long long)c.train.epochs, (long long)c.train.batch, c.train.lr, run_dir,
           a.resume ? " (resuming)" : "");
    fflush(stdout);
    ui u = {.first_epoch = NAN, .last_epoch = NAN};
    if (c.train.valid_interval > 0) {
        dc_protocol prot = strcmp(c.model.protocol, "corrected") ? DC_PROTOCOL_AUTHORS : DC_PROTOCOL_CORRECTED;
        if (dc_cluster_hook_init(&u.ch, &ds, c.model.seed, prot) == DC_OK) {
            u.cluster = 1;
        } else {
            fprintf(stderr, "dynacl pretrain: note: no clustering at validation: %s\n", dc_last_error());
            dc_clear_error();
        }
    }
    dc_train_hooks hooks = {.ud = &u, .progress = on_progress, .on_validate = on_validate};
    dc_status st = dc_train_run(m, &ds, be, &c.train, run_dir,
                                a.resume ? DC_RUN_RESUME : (a.force ? DC_RUN_FORCE : DC_RUN_NEW), json, &hooks);
    dc_cluster_hook_free(&u.ch);
    if (u.started && u.pg.tty && st != DC_OK) fputc('\n', stderr);
    if (st != DC_OK) {
        rc = dc_tool_fail("pretrain", "training");
        goto done;
    }
    printf("mean loss: first epoch %.5f -> last epoch %.5f (%s)\n", u.first_epoch, u.last_epoch,
           u.last_epoch < u.first_epoch ? "falling" : "not falling");
    /* the authors' end-of-run line: the best-J triple "DBI CH SS" (docs/METHOD.md §5) */
    if (u.cluster && u.ch.has_best)
        printf("best J %.4f at epoch %lld | %.4f %.4f %.4f\n", u.ch.best.j, (long long)u.ch.best_epoch, u.ch.best.dbi,
               u.ch.best.ch, u.ch.best.ss);
    printf("wrote %s/model.safetensors, %s/metrics.jsonl, %s/config.json\n", run_dir, run_dir, run_dir);
done:
    free(json);
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    return rc;
}
