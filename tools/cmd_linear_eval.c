/* cmd_linear_eval.c: `dynacl linear-eval`: the paper's linear evaluation of a frozen encoder
 * (docs/METHOD.md §7.1) over several probe seeds: per-seed scores, mean +- population std of the
 * 2-decimal values, the confusion matrix, and a JSON record for `dynacl report`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "eval_tools.h"
#include "tool_common.h"
#include "train/dc_train.h"

typedef struct ui {
    dc_progress pg;
    int64_t base, total;
} ui;

static void on_epoch(void *ud, int64_t epoch, int64_t epochs, double loss) {
    ui *u = ud;
    char msg[64];
    snprintf(msg, sizeof msg, "probe loss %.4f", loss);
    dc_progress_update(&u->pg, u->base + epoch, msg);
}

static cJSON *metrics_json(const dc_class_metrics *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accuracy", m->accuracy);
    cJSON_AddNumberToObject(o, "f1_weighted", m->f1_weighted);
    cJSON_AddNumberToObject(o, "precision_macro", m->precision_macro);
    cJSON_AddNumberToObject(o, "recall_macro", m->recall_macro);
    cJSON_AddNumberToObject(o, "f1_macro", m->f1_macro);
    cJSON_AddNumberToObject(o, "precision_weighted", m->precision_weighted);
    cJSON_AddNumberToObject(o, "recall_weighted", m->recall_weighted);
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    cJSON *cm = cJSON_AddArrayToObject(o, "confusion");
    for (int t = 0; t < m->n_classes; t++) {
        cJSON *row = cJSON_CreateArray();
        for (int p = 0; p < m->n_classes; p++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->confusion[t][p]));
        cJSON_AddItemToArray(cm, row);
    }
    return o;
}

static void print_confusion(const dc_class_metrics *m, const dc_dataset *ds, const int *class_of) {
    printf("confusion matrix over all runs (rows: true class, columns: predicted):\n%-10s", "");
    for (int p = 0; p < m->n_classes; p++) printf(" %9.9s", ds->frames.class_names[class_of[p]]);
    printf("\n");
    for (int t = 0; t < m->n_classes; t++) {
        printf("%-10.10s", ds->frames.class_names[class_of[t]]);
        for (int p = 0; p < m->n_classes; p++) printf(" %9lld", (long long)m->confusion[t][p]);
        printf("\n");
    }
}

/* Fixed embeddings and labels of both splits (the --embeddings mode). */
typedef struct emb_set {
    dc_npy z[2];
    const float *Z[2];
    int32_t *y[2];
    int64_t n[2], T, F;
    int C;
} emb_set;

static void emb_free(emb_set *e) {
    for (int k = 0; k < 2; k++) {
        dc_npy_close(&e->z[k]);
        free(e->y[k]);
    }
    memset(e, 0, sizeof *e);
}

static int load_embeddings(const char *ztr, const char *ytr, const char *zte, const char *yte, int64_t classes, emb_set *e) {
    const char *zp[2] = {ztr, zte}, *yp[2] = {ytr, yte};
    int32_t mx = -1;
    for (int k = 0; k < 2; k++) {
        dc_npy yn = {0};
        if (dc_npy_open(zp[k], &e->z[k]) != DC_OK || dc_npy_open(yp[k], &yn) != DC_OK) {
            dc_npy_close(&yn);
            emb_free(e);
            dc_tool_fail("linear-eval", "reading the embeddings");
            return 0;
        }
        const dc_npy *z = &e->z[k];
        int64_t n = z->shape[0], T = z->ndim == 3 ? z->shape[1] : 1, F = z->shape[z->ndim - 1];
        int ok = z->dtype == DC_NPY_F32 && (z->ndim == 2 || z->ndim == 3) && (yn.dtype == DC_NPY_I32 || yn.dtype == DC_NPY_I64) &&
                 yn.numel == n * T && yn.shape[0] == n && (k == 0 || (T == e->T && F == e->F));
        e->y[k] = ok ? malloc((size_t)(n * T) * sizeof(int32_t) + 1) : NULL;
        for (int64_t i = 0; e->y[k] && i < n * T; i++) {
            int64_t v = yn.dtype == DC_NPY_I32 ? ((const int32_t *)yn.data)[i] : ((const int64_t *)yn.data)[i];
            e->y[k][i] = v < 0 ? -1 : (int32_t)(v < DC_MAX_CLASSES ? v : DC_MAX_CLASSES);
            if (e->y[k][i] > mx) mx = e->y[k][i];
        }
        dc_npy_close(&yn);
        if (!e->y[k]) {
            fprintf(stderr, "dynacl linear-eval: %s must be float32 (N, T, F) or (N, F) with %s int32/int64 (N, T) or (N), "
                            "and both splits must share T and F\n", zp[k], yp[k]);
            emb_free(e);
            return 0;
        }
        if (dc_check_finite(z->data, 4, z->ndim, z->shape, zp[k]) != DC_OK) {
            emb_free(e);
            dc_tool_fail("linear-eval", "reading the embeddings (NaN and Inf cannot train a probe)");
            return 0;
        }
        e->Z[k] = z->data, e->n[k] = n, e->T = T, e->F = F;
    }
    e->C = classes > 0 ? (int)classes : mx + 1;
    if (e->C < 2 || e->C > DC_MAX_CLASSES || mx >= e->C) {
        fprintf(stderr, "dynacl linear-eval: labels must lie in 0..%d with at least 2 classes (largest label %d)\n",
                DC_MAX_CLASSES - 1, mx);
        emb_free(e);
        return 0;
    }
    return 1;
}

typedef struct le_args {
    const char *ckpt, *data, *seeds_s, *protocol_s, *bn, *sampler, *exclude, *method_s, *backend, *out;
    const char *ztr_p, *ytr_p, *zte_p, *yte_p, *dsname_s;
    int64_t runs, epochs, batch, test_batch, seed, classes;
    double lr;
    int quiet;
    dc_protocol protocol;
} le_args;

/* The probe runs: per seed, dc_linear_probe on fixed embeddings or dc_linear_eval of the
 * encoder; the test confusion matrices summed into *total. 0 after a message. */
static int run_probes(const le_args *a, dc_backend *be, const dc_dataset *ds, const emb_set *es, dc_linear_eval_opts *o,
                      const int64_t *seeds, int ns, dc_linear_eval_result *res, dc_class_metrics *total) {
    ui u = {0};
    if (!a->quiet) {
        dc_progress_start(&u.pg, "linear-eval", (int64_t)ns * a->epochs);
        o->progress = on_epoch, o->progress_ud = &u;
    }
    int emb = a->ztr_p != NULL;
    for (int i = 0; i < ns; i++) {
        o->seed = (uint64_t)seeds[i];
        u.base = (int64_t)i * a->epochs;
        dc_status st;
        if (emb) {
            st = dc_linear_probe(be, es->Z[0], es->y[0], es->n[0], es->Z[1], es->y[1], es->n[1], es->T, es->F, es->C, o, &res[i]);
        } else {
            dc_encoder *enc = NULL;
            uint64_t enc_seed = a->seed >= 0 ? (uint64_t)a->seed : (uint64_t)seeds[i];
            if (!et_open_encoder("linear-eval", a->ckpt, be, ds->frames.D, enc_seed, &enc)) return 0;
            st = dc_linear_eval(enc, ds, o, &res[i]);
            dc_encoder_free(enc);
        }
        if (st != DC_OK) {
            if (!a->quiet && u.pg.tty) fputc('\n', stderr);
            return !dc_tool_fail("linear-eval", "evaluating");
        }
        total->n_classes = res[i].n_classes;
        for (int t = 0; t < res[i].n_classes; t++)
            for (int p = 0; p < res[i].n_classes; p++) total->confusion[t][p] += res[i].test.confusion[t][p];
    }
    if (!a->quiet) dc_progress_finish(&u.pg, "done");
    return 1;
}

static const char *const k_metric_keys[7] = {"accuracy", "f1_weighted", "precision_macro", "recall_macro", "f1_macro",
                                             "precision_weighted", "recall_weighted"};

/* Per-seed rows, mean +- population std of the 2-decimal values (into mu, sd) and the confusion matrix. */
static void print_results(const dc_linear_eval_result *res, const int64_t *seeds, int ns, int corr, const dc_class_metrics *total,
                          const dc_dataset *ds, double *mu, double *sd) {
    printf("\n%-6s %9s %8s %8s %8s%s\n", "seed", "acc %", "F1 w", "P macro", "R macro", corr ? "     F1 m      P w      R w" : "");
    double v[7][64];
    for (int i = 0; i < ns; i++) {
        const dc_class_metrics *m = &res[i].test;
        double row[7] = {m->accuracy, m->f1_weighted, m->precision_macro, m->recall_macro, m->f1_macro, m->precision_weighted,
                         m->recall_weighted};
        for (int k = 0; k < 7; k++) v[k][i] = row[k];
        printf("%-6lld %9.2f %8.2f %8.2f %8.2f", (long long)seeds[i], dc_round2(row[0]), dc_round2(row[1]), dc_round2(row[2]),
               dc_round2(row[3]));
        if (corr) printf(" %8.2f %8.2f %8.2f", dc_round2(row[4]), dc_round2(row[5]), dc_round2(row[6]));
        printf("   (%lld test instances, %.1f s)\n", (long long)m->n, res[i].seconds);
    }
    for (int k = 0; k < 7; k++) dc_mean_std_round2(v[k], ns, &mu[k], &sd[k]);
    printf("\nmean ± std over %d run%s: accuracy %.2f±%.2f %%, F1 weighted %.2f±%.2f, precision macro %.2f±%.2f, "
           "recall macro %.2f±%.2f", ns, ns > 1 ? "s" : "", mu[0], sd[0], mu[1], sd[1], mu[2], sd[2], mu[3], sd[3]);
    if (corr) printf(",\n  F1 macro %.2f±%.2f, precision weighted %.2f±%.2f, recall weighted %.2f±%.2f", mu[4], sd[4], mu[5], sd[5], mu[6], sd[6]);
    printf("\n(population std of the per-seed values rounded to 2 decimals, docs/METHOD.md §7.1)\n\n");
    print_confusion(total, ds, res[0].class_of);
}

/* The JSON record for `dynacl report`. */
static int write_result(const le_args *a, const char *method, int64_t pre_seed, const dc_linear_eval_opts *o,
                        const dc_dataset *ds, const dc_linear_eval_result *res, const int64_t *seeds, int ns,
                        const dc_class_metrics *total, const double *mu, const double *sd) {
    cJSON *o_ = cJSON_CreateObject(), *cls, *rs, *sm;
    cJSON_AddStringToObject(o_, "kind", "linear_eval");
    cJSON_AddStringToObject(o_, "method", method);
    cJSON_AddStringToObject(o_, "dataset", ds->name);
    cJSON_AddStringToObject(o_, "protocol", dc_protocol_name(a->protocol));
    cJSON_AddStringToObject(o_, "checkpoint", a->ckpt);
    if (pre_seed >= 0) cJSON_AddNumberToObject(o_, "pretrain_seed", (double)pre_seed);
    if (!strcmp(a->ckpt, "random") && a->seed >= 0) cJSON_AddNumberToObject(o_, "encoder_seed", (double)a->seed);
    cJSON_AddStringToObject(o_, "probe_batchnorm", o->bn_train ? "train" : "eval");
    cJSON_AddNumberToObject(o_, "epochs", (double)a->epochs);
    cJSON_AddNumberToObject(o_, "batch", (double)a->batch);
    cJSON_AddNumberToObject(o_, "test_batch", (double)a->test_batch);
    cJSON_AddNumberToObject(o_, "lr", a->lr);
    cJSON_AddStringToObject(o_, "sampler", a->sampler);
    if (o->exclude_class >= 0) cJSON_AddStringToObject(o_, "excluded_class", ds->frames.class_names[o->exclude_class]);
    else cJSON_AddNullToObject(o_, "excluded_class");
    cJSON_AddItemToObject(o_, "classes", cls = cJSON_CreateArray());
    for (int c = 0; c < res[0].n_classes; c++)
        cJSON_AddItemToArray(cls, cJSON_CreateString(ds->frames.class_names[res[0].class_of[c]]));
    cJSON_AddItemToObject(o_, "runs", rs = cJSON_CreateArray());
    for (int i = 0; i < ns; i++) {
        cJSON *m = metrics_json(&res[i].test);
        cJSON_AddNumberToObject(m, "seed", (double)seeds[i]);
        cJSON_AddNumberToObject(m, "last_epoch_loss", res[i].last_epoch_loss);
        cJSON_AddNumberToObject(m, "seconds", res[i].seconds);
        cJSON_AddItemToArray(rs, m);
    }
    cJSON_AddItemToObject(o_, "summary", sm = cJSON_CreateObject());
    for (int k = 0; k < 7; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "mean", mu[k]);
        cJSON_AddNumberToObject(e, "std", sd[k]);
        cJSON_AddItemToObject(sm, k_metric_keys[k], e);
    }
    cJSON_AddItemToObject(o_, "confusion_total", metrics_json(total));
    char *txt = cJSON_Print(o_);
    cJSON_Delete(o_);
    int ok = txt && et_write_text("linear-eval", a->out, txt);
    if (ok) printf("\nwrote %s\n", a->out);
    free(txt);
    return ok;
}

/* The data of either mode: fixed embeddings (es) standing in for a dataset, or the dataset. */
static int open_inputs(le_args *a, dc_dataset *ds, emb_set *es) {
    if (!a->ztr_p) return et_open_data("linear-eval", a->data, ds);
    if (!load_embeddings(a->ztr_p, a->ytr_p, a->zte_p, a->yte_p, a->classes, es)) return 0;
    snprintf(ds->name, sizeof ds->name, "%s", a->dsname_s ? a->dsname_s : "embeddings");
    ds->frames.n_classes = es->C;
    for (int c = 0; c < es->C; c++) snprintf(ds->frames.class_names[c], sizeof ds->frames.class_names[c], "%d", c);
    a->ckpt = a->ztr_p;
    return 1;
}

static void print_header(const le_args *a, const char *method, const dc_dataset *ds, const emb_set *es,
                         const dc_linear_eval_opts *o, int ns) {
    if (a->ztr_p)
        printf("linear evaluation (protocol %s) of fixed embeddings %s: %lld train / %lld test sequences of T = %lld, F = "
               "%lld, %d classes, %d run%s x %lld epochs\n",
               dc_protocol_name(a->protocol), a->ztr_p, (long long)es->n[0], (long long)es->n[1], (long long)es->T,
               (long long)es->F, es->C, ns, ns > 1 ? "s" : "", (long long)a->epochs);
    else
        printf("linear evaluation (protocol %s): %s, %s on %s (%lld train / %lld test sequences of T = %lld), %d run%s x "
               "%lld epochs, probe BatchNorm %s%s%s\n",
               dc_protocol_name(a->protocol), et_pretty_method(method), a->ckpt, ds->dir[0] ? ds->dir : "synthetic",
               (long long)ds->n_train, (long long)(ds->seqs.n - ds->n_train), (long long)ds->seqs.T, ns, ns > 1 ? "s" : "",
               (long long)a->epochs, o->bn_train ? "in train mode" : "frozen (eval mode)",
               o->exclude_class >= 0 ? ", excluding class " : "", o->exclude_class >= 0 ? ds->frames.class_names[o->exclude_class] : "");
    fflush(stdout);
}

int cmd_linear_eval(int argc, char **argv) {
    le_args a = {.protocol_s = "authors", .sampler = "shuffle", .backend = "cpu", .runs = 5, .epochs = 50, .batch = 8,
                 .test_batch = 8, .seed = -1, .lr = 1e-3};
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &a.ckpt, "encoder checkpoint (.safetensors), or 'random' for an untrained encoder"},
        {"data", OPT_STR, &a.data, "prepared dataset folder, or 'synthetic'"},
        {"runs", OPT_INT, &a.runs, "probe runs, 1..64 (default 5: seeds 42, 53, 64, 75, 86; docs/METHOD.md §9 item 13)", "[1, 64]"},
        {"seeds", OPT_STR, &a.seeds_s, "probe seeds, comma-separated (overrides --runs)"},
        {"seed", OPT_INT, &a.seed, "with --checkpoint random: the encoder's seed (default: each run's seed)",
         "[0, 9007199254740992]"},
        {"epochs", OPT_INT, &a.epochs, "probe epochs (default 50)", "[1, inf)"},
        {"batch", OPT_INT, &a.batch, "training batch in sequences, shuffled, drop_last (default 8)", "[1, inf)"},
        {"test-batch", OPT_INT, &a.test_batch, "test batch in sequences, drop_last (default 8)", "[1, inf)"},
        {"lr", OPT_DBL, &a.lr, "Adam learning rate (default 1e-3, no weight decay)", "(0, inf)"},
        {"protocol", OPT_STR, &a.protocol_s, "authors (default) | corrected (docs/METHOD.md §0)", NULL, "authors|corrected"},
        {"bn", OPT_STR, &a.bn, "train | eval: encoder BatchNorm while the probe trains (authors: train; docs/METHOD.md §9 item 14)",
         NULL, "train|eval"},
        {"sampler", OPT_STR, &a.sampler, "shuffle (default) | sequential (docs/METHOD.md §9 item 12)", NULL, "shuffle|sequential"},
        {"exclude-class", OPT_STR, &a.exclude,
         "drop a class (name or index), e.g. ECG's N (default none; docs/METHOD.md §9 item 15)"},
        {"method", OPT_STR, &a.method_s, "method name for the report (default: from the checkpoint)"},
        {"embeddings", OPT_STR, &a.ztr_p, "instead of a model: training embeddings .npy float32 (N, T, F) or (N, F)"},
        {"labels", OPT_STR, &a.ytr_p, "with --embeddings: int32/int64 .npy (N, T) or (N); -1 = unlabelled"},
        {"test-embeddings", OPT_STR, &a.zte_p, "with --embeddings: the test split's embeddings"},
        {"test-labels", OPT_STR, &a.yte_p, "with --embeddings: the test split's labels"},
        {"classes", OPT_INT, &a.classes, "with --embeddings: number of classes, 2..32 (default: largest label + 1)", "[2, 32]"},
        {"dataset", OPT_STR, &a.dsname_s, "with --embeddings: dataset name for the report (default 'embeddings')"},
        {"backend", OPT_STR, &a.backend, "backend (default cpu)"},
        {"out", OPT_STR, &a.out, "write the results as JSON (for dynacl report)"},
        {"quiet", OPT_FLAG, &a.quiet, "no progress bar"},
        {0},
    };
    int r = dc_opts_parse("linear-eval", "--checkpoint CKPT|random --data DIR [--runs 5] [--epochs 50] [--out FILE.json]",
                          opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    int emb = a.ztr_p != NULL;
    if (emb ? (!a.ytr_p || !a.zte_p || !a.yte_p || a.ckpt || a.data) : (!a.ckpt || !a.data || a.ytr_p || a.zte_p || a.yte_p ||
                                                                        a.classes || a.dsname_s)) {
        fprintf(stderr, "dynacl linear-eval: needs --checkpoint and --data, or --embeddings, --labels, --test-embeddings "
                        "and --test-labels (see --help)\n");
        return 2;
    }
    if (dc_protocol_parse(a.protocol_s, &a.protocol) != DC_OK) return 2;
    if (emb && a.exclude) {
        fprintf(stderr, "dynacl linear-eval: --exclude-class needs --data (set excluded labels to -1 instead)\n");
        return 2;
    }
    int64_t seeds[64];
    int ns = 0;
    if (a.seeds_s) {
        if (!(ns = et_parse_seeds("linear-eval", a.seeds_s, seeds, 64))) return 2;
    } else {
        for (ns = 0; ns < a.runs; ns++) seeds[ns] = 42 + 11 * ns;
    }
    dc_dataset ds = {0};
    emb_set es = {0};
    if (!open_inputs(&a, &ds, &es)) return 1;
    dc_linear_eval_opts o = dc_linear_eval_opts_default(a.protocol);
    o.epochs = a.epochs, o.batch = a.batch, o.test_batch = a.test_batch, o.lr = a.lr;
    if (a.bn) o.bn_train = !strcmp(a.bn, "train");
    o.sampler = !strcmp(a.sampler, "sequential") ? DC_SAMPLER_SEQUENTIAL : DC_SAMPLER_SHUFFLE;
    if (a.exclude && (o.exclude_class = et_class_index("linear-eval", &ds, a.exclude)) < 0) {
        dc_dataset_close(&ds);
        return 2;
    }
    char method[64] = "embeddings";
    int64_t pre_seed = -1;
    if (!emb) et_checkpoint_info(a.ckpt, method, sizeof method, &pre_seed);
    if (a.method_s) snprintf(method, sizeof method, "%s", a.method_s);
    dc_backend *be = dc_backend_new(a.backend);
    int rc = 0;
    if (!be) {
        rc = dc_tool_fail("linear-eval", "opening the backend");
        goto done;
    }
    print_header(&a, method, &ds, &es, &o, ns);
    dc_linear_eval_result res[64];
    dc_class_metrics total = {0};
    if (!run_probes(&a, be, &ds, &es, &o, seeds, ns, res, &total)) {
        rc = 1;
        goto done;
    }
    dc_class_metrics_from_confusion(&total);
    double mu[7], sd[7];
    print_results(res, seeds, ns, a.protocol == DC_PROTOCOL_CORRECTED, &total, &ds, mu, sd);
    if (a.out && !write_result(&a, method, pre_seed, &o, &ds, res, seeds, ns, &total, mu, sd)) rc = 1;
done:
    dc_backend_free(be);
    dc_dataset_close(&ds);
    emb_free(&es);
    return rc;
}
