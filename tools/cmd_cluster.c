/* cmd_cluster.c: `dynacl cluster`: the clustering scores of docs/METHOD.md §7.2 (k-means with k = classes,
 * then Davies-Bouldin, Calinski-Harabasz, silhouette and J; under corrected also on the
 * ground truth) on the balanced test subset of a checkpoint, on every checkpoint of a run
 * (keeping the best J, as the authors' periodic evaluation), or on given embeddings. Each
 * mode is a function; the run's checkpoints come from the run API (dc_run.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "eval_tools.h"
#include "tool_common.h"
#include "train/dc_run.h"

typedef struct cluster_args {
    const char *ckpt, *run, *data, *zpath, *ypath, *protocol_s, *backend, *out, *method_s;
    int64_t seed, kseed, classes;
    int allow_empty, score_labels;
    dc_protocol protocol;
} cluster_args;

/* What a mode found: the scores kept (best J over a run's checkpoints) and the last ones. */
typedef struct cluster_result {
    char method[64];
    char dataset[64];
    int64_t pre_seed, seed, n, best_step;
    int n_classes;
    const char *selection;  /* "single", "best_j", "given_labels" */
    dc_cluster_eval best, last;
    cJSON *evals;           /* one object per checkpoint scored */
} cluster_result;

static cJSON *scores_json(const dc_cluster_scores *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "dbi", s->dbi);
    cJSON_AddNumberToObject(o, "ch", s->ch);
    cJSON_AddNumberToObject(o, "ss", s->ss);
    cJSON_AddNumberToObject(o, "j", s->j);
    cJSON_AddBoolToObject(o, "ok", s->ok);
    if (!s->ok) cJSON_AddStringToObject(o, "failure", s->reason);
    return o;
}

static void print_scores(const char *what, const dc_cluster_scores *s) {
    if (s->ok) printf("  %-24s DBI %.4f  CH %.2f  SS %.4f  J %.4f\n", what, s->dbi, s->ch, s->ss, s->j);
    else printf("  %-24s DBI 0  CH 0  SS 0  J 0   (scores failed: %s; all 0 as the authors' code)\n", what, s->reason);
}

static void print_eval(const dc_cluster_eval *ce) {
    print_scores("k-means labels", &ce->kmeans);
    if (ce->has_truth) print_scores("ground-truth classes", &ce->truth);
}

/* Classes of the subset: error on an empty class (unless allowed) or a single class. */
static int check_classes(const int32_t *y, int64_t n, int n_classes, const char *const *names, int allow_empty) {
    int64_t cnt[DC_MAX_CLASSES] = {0};
    int present = 0;
    for (int64_t i = 0; i < n; i++)
        if (y[i] >= 0 && y[i] < n_classes) cnt[y[i]]++;
    for (int c = 0; c < n_classes; c++) present += cnt[c] > 0;
    if (present < 2) {
        fprintf(stderr, "dynacl cluster: the subset holds %s; clustering scores need at least two classes\n",
                present ? "a single class" : "no labelled instance");
        return 0;
    }
    for (int c = 0; c < n_classes; c++)
        if (!cnt[c]) {
            if (!allow_empty) {
                fprintf(stderr,
                        "dynacl cluster: class %s has no instance in the balanced test subset (empty class); pass "
                        "--allow-empty-class to score the other classes (k stays %d, the number of classes)\n",
                        names ? names[c] : "?", n_classes);
                return 0;
            }
            fprintf(stderr, "dynacl cluster: note: class %s is empty in the subset\n", names ? names[c] : "?");
        }
    return 1;
}

/* ---- --embeddings: given features and labels ---------------------------------------------- */

/* The given labels scored as they are (--score-labels), each score timed. */
static int score_given_labels(dc_backend *be, const dc_npy *zn, const char *zpath, const int32_t *y, int64_t n,
                              cluster_result *res) {
    double v[3], t[4];
    t[0] = dc_now();
    dc_status st = dc_davies_bouldin(zn->data, n, zn->shape[1], y, &v[0]);
    t[1] = dc_now();
    if (st == DC_OK) st = dc_calinski_harabasz(zn->data, n, zn->shape[1], y, &v[1]);
    t[2] = dc_now();
    if (st == DC_OK) st = dc_silhouette(be, zn->data, n, zn->shape[1], y, &v[2], NULL);
    t[3] = dc_now();
    if (st != DC_OK) return !dc_tool_fail("cluster", "scoring the labels");
    printf("scores of the given labels on %s (%lld x %lld, %s):\n  DBI %.6f (%.3f s)\n  CH %.4f (%.3f s)\n"
           "  SS %.6f (%.3f s, exact)\n",
           zpath, (long long)n, (long long)zn->shape[1], dc_backend_name(be), v[0], t[1] - t[0], v[1], t[2] - t[1], v[2],
           t[3] - t[2]);
    res->best.kmeans = (dc_cluster_scores){v[0], v[1], v[2], dc_joint_score(v[0], v[1], v[2]), 1, ""};
    res->last = res->best;
    res->selection = "given_labels";
    return 1;
}

static int cluster_embeddings(const cluster_args *a, dc_backend *be, cluster_result *res) {
    dc_npy zn = {0};
    int32_t *y = NULL;
    int ok = 0;
    snprintf(res->dataset, sizeof res->dataset, "%s", a->data ? a->data : "embeddings");
    if (!et_open_features("cluster", a->zpath, a->ypath, &zn, &y)) return 0;
    int64_t n = res->n = zn.shape[0];
    int32_t mx = -1;
    for (int64_t i = 0; i < n; i++)
        if (y[i] > mx) mx = y[i];
    res->n_classes = a->classes > 0 ? (int)a->classes : mx + 1;
    if (res->n_classes < 1 || res->n_classes > DC_MAX_CLASSES) {
        fprintf(stderr, "dynacl cluster: labels must lie in 0..%d\n", DC_MAX_CLASSES - 1);
        goto done;
    }
    if (!check_classes(y, n, res->n_classes, NULL, 1)) goto done;
    if (a->score_labels) {
        ok = score_given_labels(be, &zn, a->zpath, y, n, res);
        goto done;
    }
    dc_cluster_eval ce;
    double t0 = dc_now();
    if (dc_cluster_evaluate(be, zn.data, n, zn.shape[1], y, res->n_classes, a->protocol, (uint64_t)a->kseed, &ce) != DC_OK) {
        dc_tool_fail("cluster", "scoring");
        goto done;
    }
    printf("(k-means and scores in %.2f s)\n", dc_now() - t0);
    res->best = res->last = ce;
    printf("clustering of %s (%lld x %lld), k = %d (protocol %s):\n", a->zpath, (long long)n, (long long)zn.shape[1],
           res->n_classes, dc_protocol_name(a->protocol));
    print_eval(&ce);
    ok = 1;
done:
    free(y);
    dc_npy_close(&zn);
    return ok;
}

/* ---- --checkpoint / --run: the balanced test subset through encoders ---------------------- */

/* The eval-mode embedding of the subset Xb (n, D) by a checkpoint into Z (n, 32): through the
 * method when its evaluation embedding differs from the plain encoder (TS2Vec and InfoTS
 * zero half the input steps, docs/METHOD.md §7.2), else through the encoder alone. */
static dc_status embed_subset(const char *path, dc_backend *be, const dc_dataset *ds, const float *Xb, int64_t n, uint64_t seed,
                              float *Z) {
    dc_model_config cfg;
    dc_model *m = NULL;
    if (strcmp(path, "random") && dc_run_checkpoint_config(path, ds->name, "authors", &cfg) == DC_OK) {
        const dc_model_vtbl *vt = dc_model_method(cfg.model);
        m = vt && vt->eval_encode ? dc_model_new(&cfg, be, ds->frames.D) : NULL;
        if (m && dc_model_load(m, path) != DC_OK) {
            dc_model_free(m);
            m = NULL;
        }
    }
    dc_clear_error();
    if (m) {
        dc_rng mask_rng = dc_rng_init(seed);
        dc_status st = dc_model_embed(m, Xb, n, 1, Z, &mask_rng);
        dc_model_free(m);
        return st;
    }
    dc_encoder *enc = NULL;
    if (!et_open_encoder("cluster", path, be, ds->frames.D, seed, &enc)) return DC_ERR_ARG; /* message printed */
    dc_status st = dc_encoder_embed(enc, Xb, n, 1, Z, 4096); /* (N_bal, 1, D), eval mode */
    dc_encoder_free(enc);
    if (st != DC_OK) dc_tool_fail("cluster", "embedding");
    return st;
}

/* The checkpoints to score: the one given, or every checkpoint of the run in step order. */
static int checkpoints_of(const cluster_args *a, dc_run_checkpoint **list, int *n) {
    if (a->ckpt) {
        *list = calloc(1, sizeof **list);
        if (!*list) return !dc_tool_fail("cluster", "out of memory");
        snprintf((*list)->path, sizeof (*list)->path, "%s", a->ckpt);
        (*list)->step = -1;
        *n = 1;
        return 1;
    }
    if (dc_run_list_checkpoints(a->run, list, n) != DC_OK) return !dc_tool_fail("cluster", "listing the checkpoints");
    if (!*n) {
        char p[DC_RUN_PATH_MAX];
        fprintf(stderr, "dynacl cluster: %s holds no checkpoint\n", dc_run_path(a->run, DC_RUN_CHECKPOINTS, p, sizeof p));
        return 0;
    }
    return 1;
}

static int cluster_model(const cluster_args *a, dc_backend *be, cluster_result *res) {
    dc_dataset ds = {0};
    dc_run_checkpoint *cks = NULL;
    float *Xb = NULL, *Z = NULL;
    int32_t *y = NULL;
    int nck = 0, ok = 0;
    const char *names[DC_MAX_CLASSES];
    if (!et_open_data("cluster", a->data, &ds) || !checkpoints_of(a, &cks, &nck)) goto done;
    snprintf(res->dataset, sizeof res->dataset, "%s", ds.name);
    res->n_classes = ds.frames.n_classes;
    for (int c = 0; c < res->n_classes; c++) names[c] = ds.frames.class_names[c];
    et_checkpoint_info(cks[0].path, res->method, sizeof res->method, &res->pre_seed);
    res->seed = a->seed >= 0 ? a->seed : res->pre_seed >= 0 ? res->pre_seed : 42;
    if (dc_balanced_features(&ds, (uint64_t)res->seed, &Xb, &y, &res->n) != DC_OK) {
        dc_tool_fail("cluster", "drawing the balanced subset");
        goto done;
    }
    if (!check_classes(y, res->n, res->n_classes, names, a->allow_empty)) goto done;
    if (!(Z = malloc((size_t)(res->n * DC_ENCODER_OUT) * sizeof *Z + 1))) {
        dc_tool_fail("cluster", "out of memory");
        goto done;
    }
    printf("clustering of the balanced test subset of %s (%lld instances, seed %lld), k = %d, protocol %s\n",
           ds.dir[0] ? ds.dir : "synthetic", (long long)res->n, (long long)res->seed, res->n_classes,
           dc_protocol_name(a->protocol));
    for (int i = 0; i < nck; i++) {
        dc_cluster_eval ce;
        if (embed_subset(cks[i].path, be, &ds, Xb, res->n, (uint64_t)res->seed, Z) != DC_OK) goto done;
        if (dc_cluster_evaluate(be, Z, res->n, DC_ENCODER_OUT, y, res->n_classes, a->protocol, (uint64_t)a->kseed, &ce) != DC_OK) {
            dc_tool_fail("cluster", "scoring");
            goto done;
        }
        if (a->run) printf("%s (step %lld):\n", cks[i].path, (long long)cks[i].step);
        print_eval(&ce);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "checkpoint", cks[i].path);
        if (cks[i].step >= 0) cJSON_AddNumberToObject(e, "step", (double)cks[i].step);
        cJSON_AddItemToObject(e, "kmeans", scores_json(&ce.kmeans));
        if (ce.has_truth) cJSON_AddItemToObject(e, "truth", scores_json(&ce.truth));
        cJSON_AddItemToArray(res->evals, e);
        if (i == 0 || ce.kmeans.j > res->best.kmeans.j) res->best = ce, res->best_step = cks[i].step; /* first maximum */
        res->last = ce;
    }
    if (a->run)
        printf("best J: step %lld: DBI %.4f  CH %.2f  SS %.4f  J %.4f (of %d checkpoints)\n", (long long)res->best_step,
               res->best.kmeans.dbi, res->best.kmeans.ch, res->best.kmeans.ss, res->best.kmeans.j, nck);
    res->selection = a->run ? "best_j" : "single";
    ok = 1;
done:
    free(cks);
    free(Xb), free(Z), free(y);
    dc_dataset_close(&ds);
    return ok;
}

/* ---- the result file (for dynacl report) ---------------------------------------------------- */

static int write_result(const cluster_args *a, cluster_result *res) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "cluster");
    cJSON_AddStringToObject(o, "method", a->method_s ? a->method_s : res->method);
    cJSON_AddStringToObject(o, "dataset", res->dataset);
    cJSON_AddStringToObject(o, "protocol", dc_protocol_name(a->protocol));
    if (res->pre_seed >= 0) cJSON_AddNumberToObject(o, "pretrain_seed", (double)res->pre_seed);
    if (res->seed >= 0) cJSON_AddNumberToObject(o, "subset_seed", (double)res->seed);
    cJSON_AddNumberToObject(o, "kmeans_seed", (double)a->kseed);
    cJSON_AddNumberToObject(o, "n", (double)res->n);
    cJSON_AddNumberToObject(o, "k", res->n_classes);
    cJSON_AddStringToObject(o, "selection", res->selection);
    if (a->run && res->best_step >= 0) cJSON_AddNumberToObject(o, "best_step", (double)res->best_step);
    cJSON_AddItemToObject(o, "kmeans", scores_json(&res->best.kmeans));
    if (res->best.has_truth) cJSON_AddItemToObject(o, "truth", scores_json(&res->best.truth));
    cJSON_AddItemToObject(o, "final", scores_json(&res->last.kmeans));
    cJSON_AddItemToObject(o, "evaluations", res->evals);
    res->evals = NULL;
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    int ok = txt && et_write_text("cluster", a->out, txt);
    if (ok) printf("wrote %s\n", a->out);
    free(txt);
    return ok;
}

int cmd_cluster(int argc, char **argv) {
    cluster_args a = {.protocol_s = "authors", .backend = "cpu", .seed = -1, .kseed = 1};
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &a.ckpt, "encoder checkpoint (.safetensors), or 'random'"},
        {"run", OPT_STR, &a.run, "instead: every checkpoint of a run folder; keeps the best J (docs/METHOD.md §7.2)"},
        {"data", OPT_STR, &a.data, "prepared dataset folder, or 'synthetic'"},
        {"embeddings", OPT_STR, &a.zpath, "instead of a model: a float32 .npy (N, F) of features"},
        {"labels", OPT_STR, &a.ypath, "with --embeddings: int32/int64 .npy (N) of classes"},
        {"classes", OPT_INT, &a.classes, "with --embeddings: k, 2..32 (default: largest label + 1)", "[2, 32]"},
        {"score-labels", OPT_FLAG, &a.score_labels, "with --embeddings: score the given labels (no k-means), timing each score"},
        {"seed", OPT_INT, &a.seed, "seed of the balanced-subset draw (default: the run's seed, else 42)", "[0, 9007199254740992]"},
        {"kmeans-seed", OPT_INT, &a.kseed, "k-means random_state (default 1, as the authors)", "[0, 9007199254740992]"},
        {"protocol", OPT_STR, &a.protocol_s, "authors (k-means labels) | corrected (also ground truth)", NULL, "authors|corrected"},
        {"allow-empty-class", OPT_FLAG, &a.allow_empty, "score even when a class has no instance in the subset"},
        {"method", OPT_STR, &a.method_s, "method name for the report (default: from the checkpoint)"},
        {"backend", OPT_STR, &a.backend, "backend for the silhouette's GEMM and the encoder (default cpu)"},
        {"out", OPT_STR, &a.out, "write the results as JSON (for dynacl report)"},
        {0},
    };
    int r = dc_opts_parse("cluster", "(--checkpoint CKPT | --run RUN_DIR) --data DIR | --embeddings Z.npy --labels y.npy", opts,
                          argc, argv);
    if (r) return r > 0 ? 0 : 2;
    int modes = !!a.ckpt + !!a.run + !!a.zpath;
    if (modes != 1 || (a.zpath && !a.ypath) || (!a.zpath && !a.data) || dc_protocol_parse(a.protocol_s, &a.protocol) != DC_OK) {
        fprintf(stderr, "dynacl cluster: give exactly one of --checkpoint, --run (both with --data) or --embeddings with "
                        "--labels; --protocol authors|corrected\n");
        return 2;
    }
    if (!a.zpath && (a.ypath || a.classes || a.score_labels)) {
        fprintf(stderr, "dynacl cluster: --labels, --classes and --score-labels go with --embeddings\n");
        return 2;
    }
    dc_backend *be = dc_backend_new(a.backend);
    if (!be) return dc_tool_fail("cluster", "opening the backend");
    cluster_result res = {.method = "embeddings", .pre_seed = -1, .seed = a.zpath ? a.seed : -1, .best_step = -1,
                          .evals = cJSON_CreateArray()};
    int ok = a.zpath ? cluster_embeddings(&a, be, &res) : cluster_model(&a, be, &res);
    if (ok && a.out) ok = write_result(&a, &res);
    cJSON_Delete(res.evals);
    dc_backend_free(be);
    return ok ? 0 : 1;
}
