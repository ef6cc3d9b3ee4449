/* cmd_tsne.c: `dynacl tsne`: a 2-D Barnes-Hut t-SNE of the balanced test subset's eval-mode
 * embeddings (docs/METHOD.md §7.3) or of given embeddings, written as a scatter plot (PNG, SVG or
 * PDF by the extension; one colour per class, legend) and a CSV of the coordinates that
 * `dynacl figure` composes into a grid. */
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
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

int cmd_tsne(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *zpath = NULL, *ypath = NULL, *out = NULL, *csv = NULL, *title = NULL;
    const char *method_s = NULL, *protocol = "authors", *backend = "cpu", *dataset_s = NULL;
    int64_t seed = 0, subset_seed = -1, iters = 1000, max_points = 0;
    double perplexity = 30, angle = 0.5;
    int raw = 0;
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &ckpt, "encoder checkpoint (.safetensors), or 'random'"},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic': its balanced test subset"},
        {"embeddings", OPT_STR, &zpath, "instead: a float32 .npy (N, F) of features"},
        {"labels", OPT_STR, &ypath, "with --embeddings: int32/int64 .npy (N) of classes"},
        {"out", OPT_STR, &out, "output figure: .png, .svg or .pdf"},
        {"csv", OPT_STR, &csv, "coordinates CSV (default: --out with .csv)"},
        {"title", OPT_STR, &title, "plot title (default: method and dataset)"},
        {"method", OPT_STR, &method_s, "method name for the title and CSV (default: from the checkpoint)"},
        {"dataset", OPT_STR, &dataset_s, "dataset name for the CSV with --embeddings"},
        {"protocol", OPT_STR, &protocol, "recorded in the CSV (default authors)"},
        {"seed", OPT_INT, &seed, "t-SNE initialisation seed (default 0)"},
        {"subset-seed", OPT_INT, &subset_seed, "seed of the balanced-subset draw (default: the run's seed, else 42)"},
        {"perplexity", OPT_DBL, &perplexity, "perplexity (default 30)"},
        {"iters", OPT_INT, &iters, "iterations (default 1000)"},
        {"angle", OPT_DBL, &angle, "Barnes-Hut angle (default 0.5)"},
        {"max-points", OPT_INT, &max_points, "plot at most this many points (a seeded random sample; 0 = all)"},
        {"no-standardize", OPT_FLAG, &raw, "skip the per-feature z-score (docs/METHOD.md §7.3 standardises)"},
        {"backend", OPT_STR, &backend, "backend for the encoder (default cpu)"},
        {0},
    };
    int r = dc_opts_parse("tsne", "(--checkpoint CKPT --data DIR | --embeddings Z.npy --labels y.npy) --out fig.png|.svg|.pdf",
                          opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (!out || (!!ckpt + !!zpath) != 1 || (ckpt && !data) || (zpath && !ypath) || iters < 1 || max_points < 0) {
        fprintf(stderr, "dynacl tsne: needs --out and either --checkpoint with --data or --embeddings with --labels\n");
        return 2;
    }
    dc_plot_format fmt;
    if (dc_plot_format_of(out, &fmt) != DC_OK) { /* before the t-SNE, not after it */
        fprintf(stderr, "dynacl tsne: --out %s\n", dc_last_error());
        return 2;
    }
    int rc = 0;
    dc_dataset ds = {0};
    dc_npy zn = {0}, yn = {0};
    dc_backend *be = NULL;
    float *Z = NULL, *Xb = NULL, *Y = NULL;
    int32_t *y = NULL;
    int64_t n = 0, F = 0;
    int n_classes = 0;
    char method[64] = "embeddings", dsname[64] = "embeddings", cnames[DC_MAX_CLASSES][24];
    const char *names[DC_MAX_CLASSES];
    if (zpath) {
        if (dc_npy_open(zpath, &zn) != DC_OK || dc_npy_open(ypath, &yn) != DC_OK) {
            rc = dc_tool_fail("tsne", "reading the embeddings");
            goto done;
        }
        if (zn.dtype != DC_NPY_F32 || zn.ndim != 2 || yn.ndim != 1 || yn.shape[0] != zn.shape[0] ||
            (yn.dtype != DC_NPY_I32 && yn.dtype != DC_NPY_I64)) {
            fprintf(stderr, "dynacl tsne: --embeddings must be float32 (N, F) and --labels int32/int64 (N)\n");
            rc = 1;
            goto done;
        }
        n = zn.shape[0], F = zn.shape[1];
        Z = malloc((size_t)(n * F) * sizeof *Z + 1);
        y = malloc((size_t)n * sizeof *y + 1);
        if (!Z || !y) {
            rc = dc_tool_fail("tsne", "out of memory");
            goto done;
        }
        memcpy(Z, zn.data, (size_t)(n * F) * sizeof *Z);
        for (int64_t i = 0; i < n; i++) {
            y[i] = yn.dtype == DC_NPY_I32 ? ((const int32_t *)yn.data)[i] : (int32_t)((const int64_t *)yn.data)[i];
            if (y[i] < -1 || y[i] >= DC_MAX_CLASSES) {
                fprintf(stderr, "dynacl tsne: label %d of row %lld is outside -1..%d\n", y[i], (long long)i, DC_MAX_CLASSES - 1);
                rc = 1;
                goto done;
            }
            if (y[i] + 1 > n_classes) n_classes = y[i] + 1;
        }
        for (int c = 0; c < n_classes; c++) snprintf(cnames[c], sizeof cnames[c], "%d", c), names[c] = cnames[c];
        if (dataset_s) snprintf(dsname, sizeof dsname, "%s", dataset_s);
    } else {
        int64_t pre_seed;
        if (!et_open_data("tsne", data, &ds)) {
            rc = 1;
            goto done;
        }
        et_checkpoint_info(ckpt, method, sizeof method, &pre_seed);
        if (subset_seed < 0) subset_seed = pre_seed >= 0 ? pre_seed : 42;
        snprintf(dsname, sizeof dsname, "%s", ds.name);
        n_classes = ds.frames.n_classes;
        for (int c = 0; c < n_classes; c++) names[c] = ds.frames.class_names[c];
        dc_encoder *enc = NULL;
        be = dc_backend_new(backend);
        if (!be) {
            rc = dc_tool_fail("tsne", "opening the backend");
            goto done;
        }
        if (!et_open_encoder("tsne", ckpt, be, ds.frames.D, (uint64_t)subset_seed, &enc)) {
            rc = 1;
            goto done;
        }
        dc_status st = dc_balanced_embed(enc, &ds, (uint64_t)subset_seed, &Z, &y, &n);
        dc_encoder_free(enc);
        if (st != DC_OK) {
            rc = dc_tool_fail("tsne", "embedding the balanced subset");
            goto done;
        }
        F = DC_ENCODER_OUT;
    }
    if (method_s) snprintf(method, sizeof method, "%s", method_s);
    if (max_points > 0 && max_points < n) { /* a seeded sample, kept in subset order */
        int64_t *perm = malloc((size_t)n * sizeof *perm);
        char *keep = calloc((size_t)n, 1);
        if (!perm || !keep) {
            free(perm), free(keep);
            rc = dc_tool_fail("tsne", "out of memory");
            goto done;
        }
        dc_rng rng = dc_rng_init((uint64_t)seed ^ 0x7a5eULL);
        dc_rng_permutation(&rng, n, perm);
        for (int64_t i = 0; i < max_points; i++) keep[perm[i]] = 1;
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (keep[i]) {
                memmove(Z + m * F, Z + i * F, (size_t)F * sizeof *Z);
                y[m++] = y[i];
            }
        n = m;
        free(perm), free(keep);
    }
    Y = malloc((size_t)(2 * n) * sizeof *Y + 1);
    dc_tsne_opts to = dc_tsne_opts_default();
    to.perplexity = perplexity, to.n_iter = (int)iters, to.angle = angle, to.seed = (uint64_t)seed, to.standardize = !raw;
    double kl = 0, t0 = dc_now();
    printf("t-SNE of %lld points x %lld features (%s, %s): perplexity %g, %lld iterations, Barnes-Hut angle %g\n",
           (long long)n, (long long)F, et_pretty_method(method), dsname, perplexity, (long long)iters, angle);
    fflush(stdout);
    if (!Y || dc_tsne(Z, n, F, &to, Y, &kl) != DC_OK) {
        rc = dc_tool_fail("tsne", "t-SNE");
        goto done;
    }
    char ttl[256], csvp[4200];
    if (title) snprintf(ttl, sizeof ttl, "%s", title);
    else snprintf(ttl, sizeof ttl, "%s, %s", et_pretty_method(method), dsname);
    if (csv) snprintf(csvp, sizeof csvp, "%s", csv);
    else {
        snprintf(csvp, sizeof csvp, "%s", out);
        char *dot = strrchr(csvp, '.'), *sl = strrchr(csvp, '/');
        if (dot && (!sl || dot > sl)) *dot = '\0';
        strncat(csvp, ".csv", sizeof csvp - strlen(csvp) - 1);
    }
    if (!write_csv(csvp, method, dsname, protocol, n_classes, names, Y, y, n)) { /* first: kept if the figure fails */
        rc = 1;
        goto done;
    }
    if (dc_plot_scatter_file(out, Y, y, n, n_classes, names, ttl, NULL) != DC_OK) {
        rc = dc_tool_fail("tsne", "writing the plot");
        goto done;
    }
    printf("KL divergence %.4f after %.1f s; wrote %s and %s\n", kl, dc_now() - t0, out, csvp);
done:
    free(Z), free(Xb), free(Y), free(y);
    dc_npy_close(&zn);
    dc_npy_close(&yn);
    dc_dataset_close(&ds);
    dc_backend_free(be);
    return rc;
}
