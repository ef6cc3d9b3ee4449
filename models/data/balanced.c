/* balanced.c: per-class counts of a dataset, the flattened test split and the balanced
 * clustering subset (docs/METHOD.md §1.0 `FlattenedDataset` / `load_balanced_dataset`). The draw uses
 * the project's seeded dc_rng instead of Python's random.sample (docs/METHOD.md §9 item 23: results
 * agree statistically, not bit for bit).
 */
#include <stdlib.h>
#include <string.h>

#include "data/dc_dataset.h"
#include "dc/dc_rng.h"

int dc_balanced_paper_counts(const char *name, int64_t counts[DC_MAX_CLASSES]) {
    if (!name || !counts) return 0;
    memset(counts, 0, DC_MAX_CLASSES * sizeof *counts);
    if (!strcmp(name, "harth")) {
        for (int k = 0; k < 11; k++) counts[k] = 1000;
        counts[11] = 500;
        return 12;
    }
    if (!strcmp(name, "ecg")) {
        counts[0] = 1577, counts[1] = 972, counts[2] = 459, counts[3] = 1467;
        return 4;
    }
    if (!strcmp(name, "sleepeeg")) {
        for (int k = 0; k < 5; k++) counts[k] = 1000;
        return 5;
    }
    if (!strcmp(name, "synthetic")) {
        for (int k = 0; k < DC_MAX_CLASSES; k++) counts[k] = 500;
        return DC_MAX_CLASSES;
    }
    return 0;
}

void dc_dataset_counts_free(dc_dataset_counts *c) {
    if (!c) return;
    free(c->subject_id);
    free(c->subject_frames);
    memset(c, 0, sizeof *c);
}

static int cls_slot(int32_t lab, int nc) { return lab >= 0 && lab < nc ? lab : nc; }

dc_status dc_dataset_count(const dc_dataset *ds, dc_dataset_counts *out) {
    if (!ds || !out) return dc_fail(DC_ERR_ARG, "dataset_count: NULL argument");
    memset(out, 0, sizeof *out);
    const dc_frames *f = &ds->frames;
    const int nc = f->n_classes;
    if (nc < 1 || nc > DC_MAX_CLASSES || (f->n > 0 && (!f->label || !f->subject)))
        return dc_fail(DC_ERR_ARG, "dataset_count: dataset has no labels or %d classes", nc);
    out->n_classes = nc;
    int64_t runs = 0;
    for (int64_t i = 0; i < f->n; i++) {
        out->frames[cls_slot(f->label[i], nc)]++;
        runs += i == 0 || f->subject[i] != f->subject[i - 1];
    }
    for (int64_t s = 0; s < ds->seqs.n; s++) {
        int64_t *dst = s < ds->n_train ? out->train : out->test;
        for (int64_t t = 0; t < ds->seqs.T; t++) {
            int64_t i = ds->seqs.start[s] + t;
            if (i >= 0 && i < f->n) dst[cls_slot(f->label[i], nc)]++;
        }
    }
    out->subject_id = malloc((size_t)(runs ? runs : 1) * sizeof *out->subject_id);
    out->subject_frames = calloc((size_t)(runs ? runs : 1) * (DC_MAX_CLASSES + 1), sizeof *out->subject_frames);
    if (!out->subject_id || !out->subject_frames) {
        dc_dataset_counts_free(out);
        return dc_fail(DC_ERR_OOM, "dataset_count: out of memory for %lld subjects", (long long)runs);
    }
    int64_t r = -1;
    for (int64_t i = 0; i < f->n; i++) {
        if (i == 0 || f->subject[i] != f->subject[i - 1]) out->subject_id[++r] = f->subject[i];
        out->subject_frames[r * (DC_MAX_CLASSES + 1) + cls_slot(f->label[i], nc)]++;
    }
    out->n_subjects = runs;
    return DC_OK;
}

int64_t dc_dataset_test_items(const dc_dataset *ds) {
    if (!ds || ds->seqs.n <= ds->n_train) return 0;
    return (ds->seqs.n - ds->n_train) * ds->seqs.T;
}

int64_t dc_dataset_test_item_frame(const dc_dataset *ds, int64_t item) {
    if (!ds || item < 0 || item >= dc_dataset_test_items(ds)) return -1;
    return ds->seqs.start[ds->n_train + item / ds->seqs.T] + item % ds->seqs.T;
}

dc_status dc_balanced_subset(const dc_dataset *ds, uint64_t seed, int64_t **idx, int64_t *n) {
    if (!ds || !idx || !n) return dc_fail(DC_ERR_ARG, "balanced_subset: NULL argument");
    *idx = NULL;
    *n = 0;
    const int nc = ds->frames.n_classes;
    if (nc < 1 || nc > DC_MAX_CLASSES) return dc_fail(DC_ERR_ARG, "balanced_subset: %d classes", nc);
    int64_t total = 0;
    for (int k = 0; k < nc; k++) {
        if (ds->balanced_count[k] < 0)
            return dc_fail(DC_ERR_ARG, "balanced_subset: negative count for class %s", ds->frames.class_names[k]);
        total += ds->balanced_count[k];
    }
    if (total == 0) return dc_fail(DC_ERR_ARG, "balanced_subset: dataset '%s' has no balanced counts", ds->name);
    const int64_t items = dc_dataset_test_items(ds);
    /* bucket the test items by class (counting sort keeps each bucket in item order) */
    int64_t avail[DC_MAX_CLASSES + 1] = {0}, pos[DC_MAX_CLASSES + 1];
    for (int64_t i = 0; i < items; i++) {
        int32_t lab = ds->frames.label[dc_dataset_test_item_frame(ds, i)];
        if (lab >= 0 && lab < nc) avail[lab]++;
    }
    for (int k = 0; k < nc; k++)
        if (ds->balanced_count[k] > avail[k])
            return dc_fail(DC_ERR_SHAPE, "balanced_subset: class %s needs %lld items but the test split holds %lld",
                           ds->frames.class_names[k], (long long)ds->balanced_count[k], (long long)avail[k]);
    int64_t labelled = 0;
    for (int k = 0; k < nc; k++) pos[k] = labelled, labelled += avail[k];
    int64_t *bucket = malloc((size_t)(labelled ? labelled : 1) * sizeof *bucket);
    int64_t *res = malloc((size_t)total * sizeof *res);
    if (!bucket || !res) {
        free(bucket);
        free(res);
        return dc_fail(DC_ERR_OOM, "balanced_subset: out of memory for %lld items", (long long)labelled);
    }
    for (int64_t i = 0; i < items; i++) {
        int32_t lab = ds->frames.label[dc_dataset_test_item_frame(ds, i)];
        if (lab >= 0 && lab < nc) bucket[pos[lab]++] = i;
    }
    dc_rng rng = dc_rng_init(seed);
    int64_t out_n = 0, start = 0;
    for (int k = 0; k < nc; k++) {
        int64_t *b = bucket + start, m = avail[k];
        for (int64_t j = 0; j < ds->balanced_count[k]; j++) { /* partial Fisher-Yates */
            int64_t r = dc_rng_randint(&rng, j, m - 1);
            int64_t t = b[j];
            b[j] = b[r];
            b[r] = t;
            res[out_n++] = b[j];
        }
        start += m;
    }
    free(bucket);
    *idx = res;
    *n = out_n;
    return DC_OK;
}
