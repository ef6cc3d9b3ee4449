/* cluster_hook.c: the balanced clustering subset as input rows or eval-mode embeddings, and
 * the trainer's on_validate hook that scores it every validation and keeps the evaluation
 * with the largest J (docs/METHOD.md §5, §7.2). The scores themselves live in cluster_metrics.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dc_eval.h"

dc_status dc_balanced_features(const dc_dataset *ds, uint64_t seed, float **X, int32_t **y, int64_t *n) {
    if (!ds || !X || !y || !n) return dc_fail(DC_ERR_ARG, "balanced_features: NULL argument");
    *X = NULL, *y = NULL, *n = 0;
    if (!ds->frames.label) return dc_fail(DC_ERR_ARG, "balanced subset: the dataset '%s' has no labels", ds->name);
    int64_t *idx = NULL, m = 0;
    dc_status st = dc_balanced_subset(ds, seed, &idx, &m);
    if (st != DC_OK) return st;
    const int64_t D = ds->frames.D;
    float *xs = malloc((size_t)(m * D) * sizeof *xs + 1);
    int32_t *ys = malloc((size_t)m * sizeof *ys + 1);
    if (!xs || !ys) {
        free(idx), free(xs), free(ys);
        return dc_fail(DC_ERR_OOM, "balanced subset: out of memory for %lld x %lld", (long long)m, (long long)D);
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t f = dc_dataset_test_item_frame(ds, idx[i]);
        memcpy(xs + i * D, ds->frames.X + f * D, (size_t)D * sizeof *xs);
        ys[i] = ds->frames.label[f];
    }
    free(idx);
    *X = xs, *y = ys, *n = m;
    return DC_OK;
}

dc_status dc_balanced_embed(dc_encoder *enc, const dc_dataset *ds, uint64_t seed, float **Z, int32_t **y, int64_t *n) {
    if (!enc || !Z) return dc_fail(DC_ERR_ARG, "balanced_embed: NULL argument");
    *Z = NULL;
    if (enc->dims[0] != ds->frames.D)
        return dc_fail(DC_ERR_SHAPE, "balanced subset: the encoder takes D = %lld but the data '%s' has D = %lld",
                       (long long)enc->dims[0], ds->name, (long long)ds->frames.D);
    float *X = NULL;
    dc_status st = dc_balanced_features(ds, seed, &X, y, n);
    if (st != DC_OK) return st;
    float *z = malloc((size_t)(*n * DC_ENCODER_OUT) * sizeof *z + 1);
    if (!z) st = dc_fail(DC_ERR_OOM, "balanced subset: out of memory");
    else st = dc_encoder_embed(enc, X, *n, 1, z, 4096); /* (N_bal, 1, D) in eval mode */
    free(X);
    if (st != DC_OK) {
        free(z), free(*y);
        *y = NULL, *n = 0;
        return st;
    }
    *Z = z;
    return DC_OK;
}

dc_status dc_cluster_hook_init(dc_cluster_hook *h, const dc_dataset *ds, uint64_t seed, dc_protocol p) {
    if (!h || !ds) return dc_fail(DC_ERR_ARG, "cluster_hook: NULL argument");
    memset(h, 0, sizeof *h);
    h->ds = ds;
    h->seed = seed;
    h->kmeans_seed = 1;
    h->protocol = p;
    return dc_balanced_features(ds, seed, &h->X, &h->y, &h->n);
}

void dc_cluster_hook_free(dc_cluster_hook *h) {
    if (!h) return;
    free(h->X);
    free(h->y);
    h->X = NULL, h->y = NULL, h->n = 0;
}

/* JSON number, or null where JSON has none (non-finite). */
static const char *num(double v, char *buf, size_t cap) {
    if (isfinite(v)) snprintf(buf, cap, "%.9g", v);
    else snprintf(buf, cap, "null");
    return buf;
}

dc_status dc_cluster_on_validate(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap) {
    dc_cluster_hook *h = ud;
    if (!h || !m || !extra || !h->X) return dc_fail(DC_ERR_ARG, "cluster_hook: not initialised (dc_cluster_hook_init)");
    if (h->user_on_validate) {
        dc_status st = h->user_on_validate(h->user_ud, m, be, epoch, extra, cap);
        if (st != DC_OK) return st;
    }
    const dc_dataset *ds = h->ds;
    if (m->enc->dims[0] != ds->frames.D)
        return dc_fail(DC_ERR_SHAPE, "cluster_hook: the encoder takes D = %lld, the data has %lld",
                       (long long)m->enc->dims[0], (long long)ds->frames.D);
    float *Z = malloc((size_t)(h->n * DC_ENCODER_OUT) * sizeof *Z + 1);
    if (!Z) return dc_fail(DC_ERR_OOM, "cluster_hook: out of memory");
    dc_rng rng = dc_rng_init(h->seed ^ (uint64_t)epoch); /* input masking of TS2Vec/InfoTS (docs/METHOD.md §7.2) */
    dc_status st = dc_model_embed(m, h->X, h->n, 1, Z, &rng);
    if (st == DC_OK)
        st = dc_cluster_evaluate(be, Z, h->n, DC_ENCODER_OUT, h->y, ds->frames.n_classes, h->protocol, h->kmeans_seed,
                                 &h->last);
    free(Z);
    if (st != DC_OK) return dc_fail_prefix("clustering at epoch %lld", (long long)epoch);
    h->last_epoch = epoch;
    const dc_cluster_scores *k = &h->last.kmeans;
    if (!h->has_best || k->j > h->best.j) { /* the authors keep the first maximum */
        h->best = *k;
        h->best_epoch = epoch;
        h->has_best = 1;
    }
    size_t len = strlen(extra);
    char b[10][32];
    int w = snprintf(extra + len, cap > len ? cap - len : 0,
                     "%s\"dbi\": %s, \"ch\": %s, \"ss\": %s, \"j\": %s, \"best_dbi\": %s, \"best_ch\": %s, "
                     "\"best_ss\": %s, \"best_j\": %s, \"best_epoch\": %lld",
                     len ? ", " : "", num(k->dbi, b[0], 32), num(k->ch, b[1], 32), num(k->ss, b[2], 32),
                     num(k->j, b[3], 32), num(h->best.dbi, b[4], 32), num(h->best.ch, b[5], 32),
                     num(h->best.ss, b[6], 32), num(h->best.j, b[7], 32), (long long)h->best_epoch);
    if (w >= 0 && h->last.has_truth) {
        size_t l2 = strlen(extra);
        w = snprintf(extra + l2, cap > l2 ? cap - l2 : 0, ", \"dbi_gt\": %s, \"ch_gt\": %s, \"ss_gt\": %s",
                     num(h->last.truth.dbi, b[0], 32), num(h->last.truth.ch, b[1], 32), num(h->last.truth.ss, b[2], 32));
    }
    if (w < 0 || strlen(extra) + 1 >= cap) {
        extra[len] = '\0';
        return dc_fail(DC_ERR_ARG, "cluster_hook: the metrics line buffer (%zu bytes) is too small", cap);
    }
    return DC_OK;
}
