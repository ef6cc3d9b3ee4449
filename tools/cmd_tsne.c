/* cmd_tsne.c: `dynacl tsne`: a 2-D Barnes-Hut t-SNE of the balanced test subset's eval-mode
 * embeddings (docs/METHOD.md §7.3) or of given embeddings, written as a scatter plot (PNG, SVG or
 * PDF by the extension; one colour per class, legend) and a CSV of the coordinates that
 * `dynacl figure` composes into a grid. */
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "eval_tools.h"
#include "plot.h"
#include "tool_common.h"

static int write_csv(const char *path, const char *method, const char *dataset, const char *protocol, int n_classes,
                     const char *const *names, const float *Y, const int32_t *y, int64_t n) {
    size_t cap = (size_t)n * 48 + 4096;
    char *buf = malloc(cap);
    if (!buf) return 0;
    size_t k = (size_t)snprintf(buf, cap, "# method=%s dataset=%s protocol=%s classes=", method, dataset, protocol);
    for (int c = 0; c < n_classes; c++) k += (size_t)snprintf(buf + k, cap - k, "%s%s", c ? "," : "", names[c]);
    k += (size_t)snprintf(buf + k, cap - k, "\nx,y,label\n");
    for (int64_t i = 0; i < n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%.6g,%.6g,%d\n", Y[2 * i], Y[2 * i + 1], y[i]);
    int ok = k < cap && et_write_text("tsne", path, buf);
    free(buf);
    return ok;
}

typedef struct tsne_args {
    const char *ckpt, *data, *zpath, *ypath, *out, *csv, *title, *method_s, *protocol, *backend, *dataset_s;
    int64_t seed, subset_seed, iters, max_points;
    double perplexity, angle;
    int raw;
} tsne_args;

/* The points to place: features Z (n, F), labels y (n), the classes' names, and who made them. */
typedef struct tsne_points {
    float *Z;
    int32_t *y;
    int64_t n, F;
    int n_classes;
    char method[64], dsname[64], cnames[DC_MAX_CLASSES][24];
    const char *names[DC_MAX_CLASSES];
} tsne_points;

static void points_free(tsne_points *p) {
    free(p->Z);
    free(p->y);
    p->Z = NULL, p->y = NULL;
}

/* --embeddings: the given features and labels (-1 = unlabelled). */
static int points_from_files(const tsne_args *a, tsne_points *p) {
    dc_npy zn = {0};
    int ok = 0;
    if (!et_open_features("tsne", a->zpath, a->ypath, &zn, &p->y)) return 0;
    p->n = zn.shape[0], p->F = zn.shape[1];
    p->Z = malloc((size_t)(p->n * p->F) * sizeof *p->Z + 1);
    if (!p->Z) {
        dc_tool_fail("tsne", "out of memory");
        goto done;
    }
    memcpy(p->Z, zn.data, (size_t)(p->n * p->F) * sizeof *p->Z);
    for (int64_t i = 0; i < p->n; i++) {
        int32_t v = p->y[i];
        if (v < -1 || v >= DC_MAX_CLASSES) {
            fprintf(stderr, "dynacl tsne: label %d of row %lld is outside -1..%d\n", v, (long long)i, DC_MAX_CLASSES - 1);
            goto done;
        }
        if (v + 1 > p->n_classes) p->n_classes = v + 1;
    }
    for (int c = 0; c < p->n_classes; c++) snprintf(p->cnames[c], sizeof p->cnames[c], "%d", c), p->names[c] = p->cnames[c];
    if (a->dataset_s) snprintf(p->dsname, sizeof p->dsname, "%s", a->dataset_s);
    ok = 1;
done:
    dc_npy_close(&zn);
    return ok;
}

/* --checkpoint with --data: the eval-mode embeddings of the balanced test subset. ds stays
 * open (the class names point into it). */
static int points_from_checkpoint(const tsne_args *a, dc_dataset *ds, tsne_points *p) {
    int64_t pre_seed, subset_seed = a->subset_seed;
    if (!et_open_data("tsne", a->data, ds)) return 0;
    et_checkpoint_info(a->ckpt, p->method, sizeof p->method, &pre_seed);
    if (subset_seed < 0) subset_seed = pre_seed >= 0 ? pre_seed : 42;
    snprintf(p->dsname, sizeof p->dsname, "%s", ds->name);
    p->n_classes = ds->frames.n_classes;
    for (int c = 0; c < p->n_classes; c++) p->names[c] = ds->frames.class_names[c];
    dc_backend *be = dc_backend_new(a->backend);
    dc_encoder *enc = NULL;
    int ok = 0;
    if (!be) dc_tool_fail("tsne", "opening the backend");
    else if (et_open_encoder("tsne", a->ckpt, be, ds->frames.D, (uint64_t)subset_seed, &enc)) {
        ok = dc_balanced_embed(enc, ds, (uint64_t)subset_seed, &p->Z, &p->y, &p->n) == DC_OK;
        if (!ok) dc_tool_fail("tsne", "embedding the balanced subset");
        p->F = DC_ENCODER_OUT;
    }
    dc_encoder_free(enc);
    dc_backend_free(be);
    return ok;
}

/* At most max_points, a seeded sample kept in the subset's order. */
static int subsample(tsne_points *p, int64_t max_points, int64_t seed) {
    if (max_points <= 0 || max_points >= p->n) return 1;
    int64_t *perm = malloc((size_t)p->n * sizeof *perm);
    char *keep = calloc((size_t)p->n, 1);
    if (!perm || !keep) {
        free(perm), free(keep);
        return !dc_tool_fail("tsne", "out of memory");
    }
    dc_rng rng = dc_rng_init((uint64_t)seed ^ 0x7a5eULL);
    dc_rng_permutation(&rng, p->n, perm);
    for (int64_t i = 0; i < max_points; i++) keep[perm[i]] = 1;
    int64_t m = 0;
    for (int64_t i = 0; i < p->n; i++)
        if (keep[i]) {
            memmove(p->Z + m * p->F, p->Z + i * p->F, (size_t)p->F * sizeof *p->Z);
            p->y[m++] = p->y[i];
        }
    p->n = m;
    free(perm), free(keep);
    return 1;
}

/* The CSV beside the plot unless --csv names one: --out with .csv for its extension. */
static void csv_path(const tsne_args *a, char *buf, size_t cap) {
    if (a->csv) {
        snprintf(buf, cap, "%s", a->csv);
        return;
    }
    snprintf(buf, cap, "%s", a->out);
    char *dot = strrchr(buf, '.'), *sl = strrchr(buf, '/');
    if (dot && (!sl || dot > sl)) *dot = '\0';
    strncat(buf, ".csv", cap - strlen(buf) - 1);
}

/* t-SNE of the points, then the plot and the CSV. */
static int embed_and_write(const tsne_args *a, const tsne_points *p) {
    float *Y = malloc((size_t)(2 * p->n) * sizeof *Y + 1);
    dc_tsne_opts to = dc_tsne_opts_default();
    to.perplexity = a->perplexity, to.n_iter = (int)a->iters, to.angle = a->angle, to.seed = (uint64_t)a->seed, to.standardize = !a->raw;
    double kl = 0, t0 = dc_now();
    printf("t-SNE of %lld points x %lld features (%s, %s): perplexity %g, %lld iterations, Barnes-Hut angle %g\n",
           (long long)p->n, (long long)p->F, et_pretty_method(p->method), p->dsname, a->perplexity, (long long)a->iters, a->angle);
    fflush(stdout);
    int ok = 0;
    char ttl[256], csvp[4200];
    if (!Y || dc_tsne(p->Z, p->n, p->F, &to, Y, &kl) != DC_OK) {
        dc_tool_fail("tsne", "t-SNE");
        goto done;
    }
    if (a->title) snprintf(ttl, sizeof ttl, "%s", a->title);
    else snprintf(ttl, sizeof ttl, "%s, %s", et_pretty_method(p->method), p->dsname);
    csv_path(a, csvp, sizeof csvp);
    if (!write_csv(csvp, p->method, p->dsname, a->protocol, p->n_classes, p->names, Y, p->y, p->n)) /* first: kept if the figure fails */
        goto done;
    if (dc_plot_scatter_file(a->out, Y, p->y, p->n, p->n_classes, p->names, ttl, NULL) != DC_OK) {
        dc_tool_fail("tsne", "writing the plot");
        goto done;
    }
    printf("KL divergence %.4f after %.1f s; wrote %s and %s\n", kl, dc_now() - t0, a->out, csvp);
    ok = 1;
done:
    free(Y);
    return ok;
}

int cmd_tsne(int argc, char **argv) {
    tsne_args a = {.protocol = "authors", .backend = "cpu", .seed = 0, .subset_seed = -1, .iters = 1000, .perplexity = 30,
                   .angle = 0.5};
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &a.ckpt, "encoder checkpoint (.safetensors), or 'random'"},
        {"data", OPT_STR, &a.data, "prepared dataset folder, or 'synthetic': its balanced test subset"},
        {"embeddings", OPT_STR, &a.zpath, "instead: a float32 .npy (N, F) of features"},
        {"labels", OPT_STR, &a.ypath, "with --embeddings: int32/int64 .npy (N) of classes"},
        {"out", OPT_STR, &a.out, "output figure: .png, .svg or .pdf"},
        {"csv", OPT_STR, &a.csv, "coordinates CSV (default: --out with .csv)"},
        {"title", OPT_STR, &a.title, "plot title (default: method and dataset)"},
        {"method", OPT_STR, &a.method_s, "method name for the title and CSV (default: from the checkpoint)"},
        {"dataset", OPT_STR, &a.dataset_s, "dataset name for the CSV with --embeddings"},
        {"protocol", OPT_STR, &a.protocol, "recorded in the CSV (default authors)", NULL, "authors|corrected"},
        {"seed", OPT_INT, &a.seed, "t-SNE initialisation seed (default 0)", "[0, 9007199254740992]"},
        {"subset-seed", OPT_INT, &a.subset_seed, "seed of the balanced-subset draw (default: the run's seed, else 42)",
         "[0, 9007199254740992]"},
        {"perplexity", OPT_DBL, &a.perplexity, "perplexity (default 30)", "(0, inf)"},
        {"iters", OPT_INT, &a.iters, "iterations (default 1000)", "[1, 2147483647]"},
        {"angle", OPT_DBL, &a.angle, "Barnes-Hut angle, 0 = exact (default 0.5)", "[0, 1]"},
        {"max-points", OPT_INT, &a.max_points, "plot at most this many points (a seeded random sample; 0 = all)", "[0, inf)"},
        {"no-standardize", OPT_FLAG, &a.raw, "skip the per-feature z-score (docs/METHOD.md §7.3 standardises)"},
        {"backend", OPT_STR, &a.backend, "backend for the encoder (default cpu)"},
        {0},
    };
    int r = dc_opts_parse("tsne", "(--checkpoint CKPT --data DIR | --embeddings Z.npy --labels y.npy) --out fig.png|.svg|.pdf",
                          opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (!a.out || (!!a.ckpt + !!a.zpath) != 1 || (a.ckpt && !a.data) || (a.zpath && (!a.ypath || a.data)) || (a.ckpt && a.ypath)) {
        fprintf(stderr, "dynacl tsne: needs --out and either --checkpoint with --data or --embeddings with --labels\n");
        return 2;
    }
    dc_plot_format fmt;
    if (dc_plot_format_of(a.out, &fmt) != DC_OK) { /* before the t-SNE, not after it */
        fprintf(stderr, "dynacl tsne: --out %s\n", dc_last_error());
        return 2;
    }
    dc_dataset ds = {0};
    tsne_points p = {.method = "embeddings", .dsname = "embeddings"};
    int ok = a.zpath ? points_from_files(&a, &p) : points_from_checkpoint(&a, &ds, &p);
    if (ok && a.method_s) snprintf(p.method, sizeof p.method, "%s", a.method_s);
    ok = ok && subsample(&p, a.max_points, a.seed) && embed_and_write(&a, &p);
    points_free(&p);
    dc_dataset_close(&ds);
    return ok ? 0 : 1;
}
