/* eval_tools.c: helpers shared by the evaluation commands (see eval_tools.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_atomic.h"
#include "dc/dc_safetensors.h"
#include "dc/dc_finite.h"
#include "eval_tools.h"
#include "tool_common.h"
#include "train/dc_run.h"

int et_open_data(const char *cmd, const char *data, dc_dataset *ds) {
    dc_status st = (!data || !strcmp(data, "synthetic")) ? dc_dataset_synthetic(NULL, ds) : dc_dataset_open(data, ds);
    if (st != DC_OK) {
        dc_tool_fail(cmd, "opening the dataset");
        return 0;
    }
    return 1;
}

int et_open_encoder(const char *cmd, const char *ckpt, dc_backend *be, int64_t D, uint64_t seed, dc_encoder **out) {
    *out = NULL;
    if (!strcmp(ckpt, "random")) {
        dc_rng rng = dc_rng_init(seed);
        dc_encoder *e = dc_encoder_new(be, D);
        if (!e || dc_encoder_init(e, &rng) != DC_OK) {
            dc_encoder_free(e);
            dc_tool_fail(cmd, "creating a random encoder");
            return 0;
        }
        *out = e;
        return 1;
    }
    int64_t Dc;
    if (dc_checkpoint_in_dim(ckpt, &Dc) != DC_OK) {
        dc_tool_fail(cmd, "reading the checkpoint");
        return 0;
    }
    if (Dc != D) {
        fprintf(stderr,
                "dynacl %s: %s: the checkpoint's encoder takes D = %lld (conv1.weight [128, %lld, 1]) but the data has "
                "D = %lld; use the checkpoint of a run on this dataset\n",
                cmd, ckpt, (long long)Dc, (long long)Dc, (long long)D);
        return 0;
    }
    dc_encoder *e = dc_encoder_new(be, D);
    dc_st_file *f = NULL;
    int ok = e && dc_st_open(ckpt, &f) == DC_OK && dc_encoder_load_file(e, f, ckpt) == DC_OK;
    dc_st_close(f);
    if (!ok) {
        dc_encoder_free(e);
        dc_tool_fail(cmd, "loading the checkpoint");
        return 0;
    }
    *out = e;
    return 1;
}

int et_open_features(const char *cmd, const char *zpath, const char *ypath, dc_npy *z, int32_t **y) {
    dc_npy yn = {0};
    *y = NULL;
    memset(z, 0, sizeof *z);
    if (dc_npy_open(zpath, z) != DC_OK || dc_npy_open(ypath, &yn) != DC_OK) {
        dc_tool_fail(cmd, "reading the embeddings");
    } else if (z->dtype != DC_NPY_F32 || z->ndim != 2 || yn.ndim != 1 || yn.shape[0] != z->shape[0] ||
               (yn.dtype != DC_NPY_I32 && yn.dtype != DC_NPY_I64)) {
        fprintf(stderr, "dynacl %s: --embeddings must be float32 (N, F) and --labels int32/int64 (N)\n", cmd);
    } else if (dc_check_finite(z->data, 4, z->ndim, z->shape, zpath) != DC_OK) {
        dc_tool_fail(cmd, "reading the embeddings (NaN and Inf are refused)");
    } else if (!(*y = malloc((size_t)z->shape[0] * sizeof **y + 1))) {
        dc_tool_fail(cmd, "out of memory");
    } else {
        for (int64_t i = 0; i < z->shape[0]; i++)
            (*y)[i] = yn.dtype == DC_NPY_I32 ? ((const int32_t *)yn.data)[i] : (int32_t)((const int64_t *)yn.data)[i];
    }
    dc_npy_close(&yn);
    if (!*y) dc_npy_close(z);
    return *y != NULL;
}

void et_checkpoint_info(const char *ckpt, char *method, size_t cap, int64_t *seed) {
    dc_run_checkpoint_method(ckpt, method, cap, seed);
}

int et_parse_seeds(const char *cmd, const char *list, int64_t *out, int max) {
    int n = 0;
    const char *p = list;
    while (p && *p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || n >= max || (*end && *end != ',')) {
            fprintf(stderr, "dynacl %s: --seeds expects up to %d non-negative integers separated by commas, got '%s'\n", cmd,
                    max, list);
            return 0;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (!n) fprintf(stderr, "dynacl %s: --seeds is empty\n", cmd);
    return n;
}

int et_class_index(const char *cmd, const dc_dataset *ds, const char *s) {
    for (int c = 0; c < ds->frames.n_classes; c++)
        if (!strcmp(s, ds->frames.class_names[c])) return c;
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && !*end && v >= 0 && v < ds->frames.n_classes) return (int)v;
    fprintf(stderr, "dynacl %s: '%s' is not a class of %s (", cmd, s, ds->name);
    for (int c = 0; c < ds->frames.n_classes; c++) fprintf(stderr, "%s%s", c ? ", " : "", ds->frames.class_names[c]);
    fprintf(stderr, ")\n");
    return -1;
}

int et_write_text(const char *cmd, const char *path, const char *text) {
    if (dc_atomic_write(path, text, strlen(text)) != DC_OK) {
        dc_tool_fail(cmd, "writing the output");
        return 0;
    }
    return 1;
}

/* The rows of the paper's tables and Figure 3, in its order: Random Init., the baselines,
 * DynaCL and its variants. */
static const char *const k_paper_order[] = {"random", "cost", "cpc", "tnc", "infots", "ts2vec",
                                            "dynacl", "dynacl-m", "mpxent-mse", "mpxent-margin", NULL};

const char *const *et_paper_order(void) { return k_paper_order; }

int et_method_rank(const char *m) {
    int i = 0;
    while (k_paper_order[i] && strcmp(m, k_paper_order[i])) i++;
    return i;
}

const char *et_pretty_method(const char *m) {
    if (!strcmp(m, "random")) return "Random Init."; /* the untrained encoder: a row of the tables, not a method */
    const char *shown = dc_model_display_name(m);
    return shown ? shown : m;
}

const char *et_pretty_dataset(const char *d) {
    return !strcmp(d, "harth") ? "HARTH" : !strcmp(d, "sleepeeg") ? "SleepEEG" : !strcmp(d, "ecg") ? "ECG" : d;
}
