/* cmd_linear_eval.c: `dynacl linear-eval`: the paper's linear evaluation of a frozen encoder
 * (docs/METHOD.md §7.1) over several probe seeds: per-seed scores, mean +- population std of the
 * 2-decimal values, the confusion matrix, and a JSON record for `dynacl report`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
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

int cmd_linear_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *seeds_s = NULL, *protocol_s = "authors", *bn = NULL, *sampler = "shuffle";
    const char *exclude = NULL, *method_s = NULL, *backend = "cpu", *out = NULL;
    const char *ztr_p = NULL, *ytr_p = NULL, *zte_p = NULL, *yte_p = NULL, *dsname_s = NULL;
    int64_t runs = 5, epochs = 50, batch = 8, test_batch = 8, seed = -1, classes = 0;
    double lr = 1e-3;
    int quiet = 0;
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &ckpt, "encoder checkpoint (.safetensors), or 'random' for an untrained encoder"},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic'"},
        {"runs", OPT_INT, &runs, "probe runs (default 5: seeds 42, 53, 64, 75, 86; docs/METHOD.md §9 item 13)"},
        {"seeds", OPT_STR, &seeds_s, "probe seeds, comma-separated (overrides --runs)"},
        {"seed", OPT_INT, &seed, "with --checkpoint random: the encoder's seed (default: each run's seed)"},
        {"epochs", OPT_INT, &epochs, "probe epochs (default 50)"},
        {"batch", OPT_INT, &batch, "training batch in sequences, shuffled, drop_last (default 8)"},
        {"test-batch", OPT_INT, &test_batch, "test batch in sequences, drop_last (default 8)"},
        {"lr", OPT_DBL, &lr, "Adam learning rate (default 1e-3, no weight decay)"},
        {"protocol", OPT_STR, &protocol_s, "authors (default) | corrected (docs/METHOD.md §0)"},
        {"bn", OPT_STR, &bn,
         "train | eval: encoder BatchNorm while the probe trains (authors: train; docs/METHOD.md §9 item 14)"},
        {"sampler", OPT_STR, &sampler, "shuffle (default) | sequential (docs/METHOD.md §9 item 12)"},
        {"exclude-class", OPT_STR, &exclude,
         "drop a class (name or index), e.g. ECG's N (default none; docs/METHOD.md §9 item 15)"},
        {"method", OPT_STR, &method_s, "method name for the report (default: from the checkpoint)"},
        {"embeddings", OPT_STR, &ztr_p, "instead of a model: training embeddings .npy float32 (N, T, F) or (N, F)"},
        {"labels", OPT_STR, &ytr_p, "with --embeddings: int32/int64 .npy (N, T) or (N); -1 = unlabelled"},
        {"test-embeddings", OPT_STR, &zte_p, "with --embeddings: the test split's embeddings"},
        {"test-labels", OPT_STR, &yte_p, "with --embeddings: the test split's labels"},
        {"classes", OPT_INT, &classes, "with --embeddings: number of classes (default: largest label + 1)"},
        {"dataset", OPT_STR, &dsname_s, "with --embeddings: dataset name for the report (default 'embeddings')"},
        {"backend", OPT_STR, &backend, "backend (default cpu)"},
        {"out", OPT_STR, &out, "write the results as JSON (for dynacl report)"},
        {"quiet", OPT_FLAG, &quiet, "no progress bar"},
        {0},
    };
    int r = dc_opts_parse("linear-eval", "--checkpoint CKPT|random --data DIR [--runs 5] [--epochs 50] [--out FILE.json]",
                          opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    dc_protocol protocol;
    int emb = ztr_p != NULL;
    if (emb ? (!ytr_p || !zte_p || !yte_p || ckpt || data) : (!ckpt || !data)) {
        fprintf(stderr, "dynacl linear-eval: needs --checkpoint and --data, or --embeddings, --labels, --test-embeddings "
                        "and --test-labels (see --help)\n");
        return 2;
    }
    if (dc_protocol_parse(protocol_s, &protocol) != DC_OK || runs < 1 || runs > 64 || epochs < 1 || batch < 1 ||
        test_batch < 1 || !(lr > 0) || (bn && strcmp(bn, "train") && strcmp(bn, "eval")) ||
        (strcmp(sampler, "shuffle") && strcmp(sampler, "sequential"))) {
        fprintf(stderr, "dynacl linear-eval: bad option value (protocol authors|corrected, --bn train|eval, --sampler "
                        "shuffle|sequential, --runs 1..64, positive sizes)\n");
        return 2;
    }
    int64_t seeds[64];
    int ns = 0;
    if (seeds_s) {
        if (!(ns = et_parse_seeds("linear-eval", seeds_s, seeds, 64))) return 2;
    } else {
        for (ns = 0; ns < runs; ns++) seeds[ns] = 42 + 11 * ns;
    }
    dc_dataset ds = {0};
    emb_set es = {0};
    if (emb) {
        if (!load_embeddings(ztr_p, ytr_p, zte_p, yte_p, classes, &es)) return 1;
        snprintf(ds.name, sizeof ds.name, "%s", dsname_s ? dsname_s : "embeddings");
        ds.frames.n_classes = es.C;
        for (int c = 0; c < es.C; c++) snprintf(ds.frames.class_names[c], sizeof ds.frames.class_names[c], "%d", c);
        ckpt = ztr_p;
    } else if (!et_open_data("linear-eval", data, &ds)) {
        return 1;
    }
    dc_linear_eval_opts o = dc_linear_eval_opts_default(protocol);
    o.epochs = epochs, o.batch = batch, o.test_batch = test_batch, o.lr = lr;
    if (bn) o.bn_train = !strcmp(bn, "train");
    o.sampler = !strcmp(sampler, "sequential") ? DC_SAMPLER_SEQUENTIAL : DC_SAMPLER_SHUFFLE;
    if (exclude && (emb || (o.exclude_class = et_class_index("linear-eval", &ds, exclude)) < 0)) {
        if (emb) fprintf(stderr, "dynacl linear-eval: --exclude-class needs --data (set excluded labels to -1 instead)\n");
        dc_dataset_close(&ds);
        emb_free(&es);
        return 2;
    }
    char method[64] = "embeddings";
    int64_t pre_seed = -1;
    if (!emb) et_checkpoint_info(ckpt, method, sizeof method, &pre_seed);
    if (method_s) snprintf(method, sizeof method, "%s", method_s);
    dc_backend *be = dc_backend_new(backend);
    if (!be) {
        dc_dataset_close(&ds);
        emb_free(&es);
        return dc_tool_fail("linear-eval", "opening the backend");
    }
    if (emb)
        printf("linear evaluation (protocol %s) of fixed embeddings %s: %lld train / %lld test sequences of T = %lld, F = "
               "%lld, %d classes, %d run%s x %lld epochs\n",
               dc_protocol_name(protocol), ztr_p, (long long)es.n[0], (long long)es.n[1], (long long)es.T, (long long)es.F,
               es.C, ns, ns > 1 ? "s" : "", (long long)epochs);
    else
        printf("linear evaluation (protocol %s): %s, %s on %s (%lld train / %lld test sequences of T = %lld), %d run%s x "
               "%lld epochs, probe BatchNorm %s%s%s\n",
               dc_protocol_name(protocol), et_pretty_method(method), ckpt, ds.dir[0] ? ds.dir : "synthetic",
               (long long)ds.n_train, (long long)(ds.seqs.n - ds.n_train), (long long)ds.seqs.T, ns, ns > 1 ? "s" : "",
               (long long)epochs, o.bn_train ? "in train mode" : "frozen (eval mode)",
               o.exclude_class >= 0 ? ", excluding class " : "", o.exclude_class >= 0 ? ds.frames.class_names[o.exclude_class] : "");
    fflush(stdout);
    ui u = {0};
    if (!quiet) {
        dc_progress_start(&u.pg, "linear-eval", (int64_t)ns * epochs);
        o.progress = on_epoch, o.progress_ud = &u;
    }
    dc_linear_eval_result res[64];
    dc_class_metrics total = {0};
    int rc = 0;
    for (int i = 0; i < ns && !rc && emb; i++) {
        o.seed = (uint64_t)seeds[i];
        u.base = (int64_t)i * epochs;
        if (dc_linear_probe(be, es.Z[0], es.y[0], es.n[0], es.Z[1], es.y[1], es.n[1], es.T, es.F, es.C, &o, &res[i]) != DC_OK) {
            if (!quiet && u.pg.tty) fputc('\n', stderr);
            rc = dc_tool_fail("linear-eval", "evaluating");
            break;
        }
        total.n_classes = res[i].n_classes;
        for (int t = 0; t < res[i].n_classes; t++)
            for (int p = 0; p < res[i].n_classes; p++) total.confusion[t][p] += res[i].test.confusion[t][p];
    }
    for (int i = 0; i < ns && !rc && !emb; i++) {
        dc_encoder *enc = NULL;
        uint64_t enc_seed = seed >= 0 ? (uint64_t)seed : (uint64_t)seeds[i];
        if (!et_open_encoder("linear-eval", ckpt, be, ds.frames.D, enc_seed, &enc)) {
            rc = 1;
            break;
        }
        o.seed = (uint64_t)seeds[i];
        u.base = (int64_t)i * epochs;
        if (dc_linear_eval(enc, &ds, &o, &res[i]) != DC_OK) {
            if (!quiet && u.pg.tty) fputc('\n', stderr);
            rc = dc_tool_fail("linear-eval", "evaluating");
        }
        dc_encoder_free(enc);
        if (rc) break;
        total.n_classes = res[i].n_classes;
        for (int t = 0; t < res[i].n_classes; t++)
            for (int p = 0; p < res[i].n_classes; p++) total.confusion[t][p] += res[i].test.confusion[t][p];
    }
    if (!quiet && !rc) dc_progress_finish(&u.pg, "done");
    if (rc) goto done;
    dc_class_metrics_from_confusion(&total);
    int corr = protocol == DC_PROTOCOL_CORRECTED;
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
    double mu[7], sd[7];
    for (int k = 0; k < 7; k++) dc_mean_std_round2(v[k], ns, &mu[k], &sd[k]);
    printf("\nmean ± std over %d run%s: accuracy %.2f±%.2f %%, F1 weighted %.2f±%.2f, precision macro %.2f±%.2f, "
           "recall macro %.2f±%.2f", ns, ns > 1 ? "s" : "", mu[0], sd[0], mu[1], sd[1], mu[2], sd[2], mu[3], sd[3]);
    if (corr) printf(",\n  F1 macro %.2f±%.2f, precision weighted %.2f±%.2f, recall weighted %.2f±%.2f", mu[4], sd[4], mu[5], sd[5], mu[6], sd[6]);
    printf("\n(population std of the per-seed values rounded to 2 decimals, docs/METHOD.md §7.1)\n\n");
    print_confusion(&total, &ds, res[0].class_of);
    if (out) {
        cJSON *o_ = cJSON_CreateObject(), *cls, *rs, *sm;
        cJSON_AddStringToObject(o_, "kind", "linear_eval");
        cJSON_AddStringToObject(o_, "method", method);
        cJSON_AddStringToObject(o_, "dataset", ds.name);
        cJSON_AddStringToObject(o_, "protocol", dc_protocol_name(protocol));
        cJSON_AddStringToObject(o_, "checkpoint", ckpt);
        if (pre_seed >= 0) cJSON_AddNumberToObject(o_, "pretrain_seed", (double)pre_seed);
        if (!strcmp(ckpt, "random") && seed >= 0) cJSON_AddNumberToObject(o_, "encoder_seed", (double)seed);
        cJSON_AddStringToObject(o_, "probe_batchnorm", o.bn_train ? "train" : "eval");
        cJSON_AddNumberToObject(o_, "epochs", (double)epochs);
        cJSON_AddNumberToObject(o_, "batch", (double)batch);
        cJSON_AddNumberToObject(o_, "test_batch", (double)test_batch);
        cJSON_AddNumberToObject(o_, "lr", lr);
        cJSON_AddStringToObject(o_, "sampler", sampler);
        if (o.exclude_class >= 0) cJSON_AddStringToObject(o_, "excluded_class", ds.frames.class_names[o.exclude_class]);
        else cJSON_AddNullToObject(o_, "excluded_class");
        cJSON_AddItemToObject(o_, "classes", cls = cJSON_CreateArray());
        for (int c = 0; c < res[0].n_classes; c++)
            cJSON_AddItemToArray(cls, cJSON_CreateString(ds.frames.class_names[res[0].class_of[c]]));
        cJSON_AddItemToObject(o_, "runs", rs = cJSON_CreateArray());
        for (int i = 0; i < ns; i++) {
            cJSON *m = metrics_json(&res[i].test);
            cJSON_AddNumberToObject(m, "seed", (double)seeds[i]);
            cJSON_AddNumberToObject(m, "last_epoch_loss", res[i].last_epoch_loss);
            cJSON_AddNumberToObject(m, "seconds", res[i].seconds);
            cJSON_AddItemToArray(rs, m);
        }
        cJSON_AddItemToObject(o_, "summary", sm = cJSON_CreateObject());
        const char *keys[7] = {"accuracy", "f1_weighted", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
                               "recall_weighted"};
        for (int k = 0; k < 7; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "mean", mu[k]);
            cJSON_AddNumberToObject(e, "std", sd[k]);
            cJSON_AddItemToObject(sm, keys[k], e);
        }
        cJSON_AddItemToObject(o_, "confusion_total", metrics_json(&total));
        char *txt = cJSON_Print(o_);
        cJSON_Delete(o_);
        if (!txt || !et_write_text("linear-eval", out, txt)) rc = 1;
        else printf("\nwrote %s\n", out);
        free(txt);
    }
done:
    dc_backend_free(be);
    dc_dataset_close(&ds);
    emb_free(&es);
    return rc;
}
