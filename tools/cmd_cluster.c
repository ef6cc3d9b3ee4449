/* cmd_cluster.c: `dynacl cluster`: the clustering scores of docs/METHOD.md §7.2 (k-means with k = classes,
 * then Davies-Bouldin, Calinski-Harabasz, silhouette and J; under corrected also on the
 * ground truth) on the balanced test subset of a checkpoint, on every checkpoint of a run
 * (keeping the best J, as the authors' periodic evaluation), or on given embeddings. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_npy.h"
#include "dc/dc_safetensors.h"
#include "train/dc_model.h"
#include "eval_tools.h"
#include "tool_common.h"

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

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The run's checkpoints in step order (malloc'd names; caller frees). */
static int list_checkpoints(const char *run, char ***out) {
    char p[4200];
    snprintf(p, sizeof p, "%s/checkpoints", run);
    DIR *d = opendir(p);
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "step_", 5) || l < 12 || strcmp(e->d_name + l - 12, ".safetensors") ||
            strstr(e->d_name, ".state."))
            continue;
        if (n == cap) {
            char **w = realloc(v, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!w) break;
            v = w;
        }
        v[n] = malloc(strlen(p) + l + 2);
        if (!v[n]) break;
        sprintf(v[n++], "%s/%s", p, e->d_name);
    }
    if (d) closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static long long checkpoint_step(const char *path) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    return strncmp(s, "step_", 5) ? -1 : atoll(s + 5);
}

/* A checkpoint of a method whose evaluation-time embedding differs from the plain encoder
 * (its "model" metadata names it): the method, loaded. 0 when the plain encoder applies. */
static int masked_model(const char *path, dc_backend *be, const dc_dataset *ds, dc_model **out) {
    *out = NULL;
    if (!strcmp(path, "random")) return 0;
    dc_st_file *f = NULL;
    char name[32] = "";
    if (dc_st_open(path, &f) == DC_OK && dc_st_meta(f, "model")) snprintf(name, sizeof name, "%s", dc_st_meta(f, "model"));
    dc_st_close(f);
    dc_clear_error();
    if (!name[0]) return 0;
    dc_model_config cfg = dc_model_config_defaults(name, ds->name, "authors");
    dc_model *m = dc_model_config_check(&cfg) == DC_OK ? dc_model_new(&cfg, be, ds->frames.D) : NULL;
    if (!m || !m->vt->eval_encode || dc_model_load(m, path) != DC_OK) {
        dc_model_free(m);
        dc_clear_error();
        return 0;
    }
    *out = m;
    return 1;
}

int cmd_cluster(int argc, char **argv) {
    const char *ckpt = NULL, *run = NULL, *data = NULL, *zpath = NULL, *ypath = NULL, *protocol_s = "authors";
    const char *backend = "cpu", *out = NULL, *method_s = NULL;
    int64_t seed = -1, kseed = 1, classes = 0;
    int allow_empty = 0, score_labels = 0;
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &ckpt, "encoder checkpoint (.safetensors), or 'random'"},
        {"run", OPT_STR, &run, "instead: every checkpoint of a run folder; keeps the best J (docs/METHOD.md §7.2)"},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic'"},
        {"embeddings", OPT_STR, &zpath, "instead of a model: a float32 .npy (N, F) of features"},
        {"labels", OPT_STR, &ypath, "with --embeddings: int32/int64 .npy (N) of classes"},
        {"classes", OPT_INT, &classes, "with --embeddings: k (default: largest label + 1)"},
        {"score-labels", OPT_FLAG, &score_labels, "with --embeddings: score the given labels (no k-means), timing each score"},
        {"seed", OPT_INT, &seed, "seed of the balanced-subset draw (default: the run's seed, else 42)"},
        {"kmeans-seed", OPT_INT, &kseed, "k-means random_state (default 1, as the authors)"},
        {"protocol", OPT_STR, &protocol_s, "authors (k-means labels) | corrected (also ground truth)"},
        {"allow-empty-class", OPT_FLAG, &allow_empty, "score even when a class has no instance in the subset"},
        {"method", OPT_STR, &method_s, "method name for the report (default: from the checkpoint)"},
        {"backend", OPT_STR, &backend, "backend for the silhouette's GEMM and the encoder (default cpu)"},
        {"out", OPT_STR, &out, "write the results as JSON (for dynacl report)"},
        {0},
    };
    int r = dc_opts_parse("cluster", "(--checkpoint CKPT | --run RUN_DIR) --data DIR | --embeddings Z.npy --labels y.npy", opts,
                          argc, argv);
    if (r) return r > 0 ? 0 : 2;
    dc_protocol protocol;
    int modes = !!ckpt + !!run + !!zpath;
    if (modes != 1 || (zpath && !ypath) || (!zpath && !data) || dc_protocol_parse(protocol_s, &protocol) != DC_OK) {
        fprintf(stderr, "dynacl cluster: give exactly one of --checkpoint, --run (both with --data) or --embeddings with "
                        "--labels; --protocol authors|corrected\n");
        return 2;
    }
    dc_backend *be = dc_backend_new(backend);
    if (!be) return dc_tool_fail("cluster", "opening the backend");
    int rc = 0;
    dc_dataset ds = {0};
    float *Xb = NULL, *Z = NULL;
    int32_t *y = NULL;
    int64_t n = 0;
    char method[64] = "embeddings", **cks = NULL;
    int64_t pre_seed = -1;
    int nck = 0;
    dc_npy zn = {0}, yn = {0};
    cJSON *evals = cJSON_CreateArray();
    dc_cluster_eval best = {0}, last = {0};
    long long best_step = -1;
    const char *names[DC_MAX_CLASSES];
    int n_classes = 0;
    if (zpath) {
        if (dc_npy_open(zpath, &zn) != DC_OK || dc_npy_open(ypath, &yn) != DC_OK) {
            rc = dc_tool_fail("cluster", "reading the embeddings");
            goto done;
        }
        if (zn.dtype != DC_NPY_F32 || zn.ndim != 2 || yn.ndim != 1 || yn.shape[0] != zn.shape[0] ||
            (yn.dtype != DC_NPY_I32 && yn.dtype != DC_NPY_I64)) {
            fprintf(stderr, "dynacl cluster: --embeddings must be float32 (N, F) and --labels int32/int64 (N)\n");
            rc = 1;
            goto done;
        }
        n = zn.shape[0];
        y = malloc((size_t)(n ? n : 1) * sizeof *y);
        int32_t mx = -1;
        for (int64_t i = 0; y && i < n; i++) {
            y[i] = yn.dtype == DC_NPY_I32 ? ((const int32_t *)yn.data)[i] : (int32_t)((const int64_t *)yn.data)[i];
            if (y[i] > mx) mx = y[i];
        }
        n_classes = classes > 0 ? (int)classes : mx + 1;
        if (!y || n_classes < 1 || n_classes > DC_MAX_CLASSES) {
            fprintf(stderr, "dynacl cluster: labels must lie in 0..%d\n", DC_MAX_CLASSES - 1);
            rc = 1;
            goto done;
        }
        if (!check_classes(y, n, n_classes, NULL, 1)) {
            rc = 1;
            goto done;
        }
        if (score_labels) {
            double v[3], t[4];
            t[0] = dc_now();
            dc_status st = dc_davies_bouldin(zn.data, n, zn.shape[1], y, &v[0]);
            t[1] = dc_now();
            if (st == DC_OK) st = dc_calinski_harabasz(zn.data, n, zn.shape[1], y, &v[1]);
            t[2] = dc_now();
            if (st == DC_OK) st = dc_silhouette(be, zn.data, n, zn.shape[1], y, &v[2], NULL);
            t[3] = dc_now();
            if (st != DC_OK) {
                rc = dc_tool_fail("cluster", "scoring the labels");
                goto done;
            }
            printf("scores of the given labels on %s (%lld x %lld, %s):\n  DBI %.6f (%.3f s)\n  CH %.4f (%.3f s)\n"
                   "  SS %.6f (%.3f s, exact)\n",
                   zpath, (long long)n, (long long)zn.shape[1], dc_backend_name(be), v[0], t[1] - t[0], v[1], t[2] - t[1],
                   v[2], t[3] - t[2]);
            best.kmeans = (dc_cluster_scores){v[0], v[1], v[2], dc_joint_score(v[0], v[1], v[2]), 1, ""};
            last = best;
            goto write;
        }
        dc_cluster_eval ce;
        double t0 = dc_now();
        if (dc_cluster_evaluate(be, zn.data, n, zn.shape[1], y, n_classes, protocol, (uint64_t)kseed, &ce) != DC_OK) {
            rc = dc_tool_fail("cluster", "scoring");
            goto done;
        }
        printf("(k-means and scores in %.2f s)\n", dc_now() - t0);
        best = last = ce;
        printf("clustering of %s (%lld x %lld), k = %d (protocol %s):\n", zpath, (long long)n, (long long)zn.shape[1],
               n_classes, dc_protocol_name(protocol));
        print_scores("k-means labels", &ce.kmeans);
        if (ce.has_truth) print_scores("ground-truth classes", &ce.truth);
    } else {
        if (!et_open_data("cluster", data, &ds)) {
            rc = 1;
            goto done;
        }
        n_classes = ds.frames.n_classes;
        for (int c = 0; c < n_classes; c++) names[c] = ds.frames.class_names[c];
        if (run) {
            nck = list_checkpoints(run, &cks);
            if (!nck) {
                fprintf(stderr, "dynacl cluster: %s/checkpoints holds no step_*.safetensors\n", run);
                rc = 1;
                goto done;
            }
            et_checkpoint_info(cks[0], method, sizeof method, &pre_seed);
        } else {
            et_checkpoint_info(ckpt, method, sizeof method, &pre_seed);
        }
        if (seed < 0) seed = pre_seed >= 0 ? pre_seed : 42;
        if (dc_balanced_features(&ds, (uint64_t)seed, &Xb, &y, &n) != DC_OK) {
            rc = dc_tool_fail("cluster", "drawing the balanced subset");
            goto done;
        }
        if (!check_classes(y, n, n_classes, names, allow_empty)) {
            rc = 1;
            goto done;
        }
        Z = malloc((size_t)(n * DC_ENCODER_OUT) * sizeof *Z + 1);
        printf("clustering of the balanced test subset of %s (%lld instances, seed %lld), k = %d, protocol %s\n",
               ds.dir[0] ? ds.dir : "synthetic", (long long)n, (long long)seed, n_classes, dc_protocol_name(protocol));
        int count = run ? nck : 1;
        for (int i = 0; i < count && Z; i++) {
            const char *path = run ? cks[i] : ckpt;
            dc_encoder *enc = NULL;
            dc_model *mm = NULL;
            dc_status st = DC_OK;
            if (!masked_model(path, be, &ds, &mm) && !et_open_encoder("cluster", path, be, ds.frames.D, (uint64_t)seed, &enc)) {
                rc = 1;
                break;
            }
            dc_cluster_eval ce;
            if (mm) { /* TS2Vec / InfoTS: their TSEncoder zeroes half the input steps (docs/METHOD.md §7.2) */
                dc_rng mask_rng = dc_rng_init((uint64_t)seed);
                st = dc_model_embed(mm, Xb, n, 1, Z, &mask_rng);
                dc_model_free(mm);
            } else {
                st = dc_encoder_embed(enc, Xb, n, 1, Z, 4096); /* (N_bal, 1, D), eval mode */
            }
            if (st == DC_OK)
                st = dc_cluster_evaluate(be, Z, n, DC_ENCODER_OUT, y, n_classes, protocol, (uint64_t)kseed, &ce);
            dc_encoder_free(enc);
            if (st != DC_OK) {
                rc = dc_tool_fail("cluster", "scoring");
                break;
            }
            long long step = run ? checkpoint_step(path) : -1;
            if (run) printf("%s (step %lld):\n", path, step);
            print_scores("k-means labels", &ce.kmeans);
            if (ce.has_truth) print_scores("ground-truth classes", &ce.truth);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "checkpoint", path);
            if (step >= 0) cJSON_AddNumberToObject(e, "step", (double)step);
            cJSON_AddItemToObject(e, "kmeans", scores_json(&ce.kmeans));
            if (ce.has_truth) cJSON_AddItemToObject(e, "truth", scores_json(&ce.truth));
            cJSON_AddItemToArray(evals, e);
            if (i == 0 || ce.kmeans.j > best.kmeans.j) best = ce, best_step = step; /* first maximum */
            last = ce;
        }
        if (!Z && !rc) rc = dc_tool_fail("cluster", "out of memory");
        if (!rc && run)
            printf("best J: step %lld: DBI %.4f  CH %.2f  SS %.4f  J %.4f (of %d checkpoints)\n", best_step, best.kmeans.dbi,
                   best.kmeans.ch, best.kmeans.ss, best.kmeans.j, nck);
    }
write:
    if (!rc && out) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "cluster");
        cJSON_AddStringToObject(o, "method", method_s ? method_s : method);
        cJSON_AddStringToObject(o, "dataset", zpath ? (data ? data : "embeddings") : ds.name);
        cJSON_AddStringToObject(o, "protocol", dc_protocol_name(protocol));
        if (pre_seed >= 0) cJSON_AddNumberToObject(o, "pretrain_seed", (double)pre_seed);
        if (seed >= 0) cJSON_AddNumberToObject(o, "subset_seed", (double)seed);
        cJSON_AddNumberToObject(o, "kmeans_seed", (double)kseed);
        cJSON_AddNumberToObject(o, "n", (double)n);
        cJSON_AddNumberToObject(o, "k", n_classes);
        cJSON_AddStringToObject(o, "selection", run ? "best_j" : score_labels ? "given_labels" : "single");
        if (run && best_step >= 0) cJSON_AddNumberToObject(o, "best_step", (double)best_step);
        cJSON_AddItemToObject(o, "kmeans", scores_json(&best.kmeans));
        if (best.has_truth) cJSON_AddItemToObject(o, "truth", scores_json(&best.truth));
        cJSON_AddItemToObject(o, "final", scores_json(&last.kmeans));
        cJSON_AddItemToObject(o, "evaluations", evals);
        evals = NULL;
        char *txt = cJSON_Print(o);
        cJSON_Delete(o);
        if (!txt || !et_write_text("cluster", out, txt)) rc = 1;
        else printf("wrote %s\n", out);
        free(txt);
    }
done:
    cJSON_Delete(evals);
    for (int i = 0; i < nck; i++) free(cks[i]);
    free(cks);
    free(Xb), free(Z), free(y);
    dc_npy_close(&zn);
    dc_npy_close(&yn);
    dc_dataset_close(&ds);
    dc_backend_free(be);
    return rc;
}
