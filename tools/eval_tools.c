/* eval_tools.c: helpers shared by the evaluation commands (see eval_tools.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_atomic.h"
#include "dc/dc_safetensors.h"
#include "eval_tools.h"
#include "tool_common.h"

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

static int read_config(const char *dir, char *method, size_t cap, int64_t *seed) {
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    if (!o) return 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model"), *s = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (cJSON_IsString(m) && !method[0]) snprintf(method, cap, "%s", m->valuestring);
    if (cJSON_IsNumber(s) && *seed < 0) *seed = (int64_t)s->valuedouble;
    cJSON_Delete(o);
    return 1;
}

void et_checkpoint_info(const char *ckpt, char *method, size_t cap, int64_t *seed) {
    method[0] = '\0';
    *seed = -1;
    if (!strcmp(ckpt, "random")) {
        snprintf(method, cap, "random");
        return;
    }
    dc_st_file *f;
    if (dc_st_open(ckpt, &f) == DC_OK) {
        const char *m = dc_st_meta(f, "model");
        if (m) snprintf(method, cap, "%s", m);
        dc_st_close(f);
    }
    dc_clear_error();
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", ckpt);
    for (int up = 0; up < 2; up++) { /* RUN/model.safetensors, RUN/checkpoints/step_*.safetensors */
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        if (read_config(dir, method, cap, seed)) break;
        if (!slash) break;
    }
    if (!method[0]) snprintf(method, cap, "dynacl");
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

const char *et_pretty_method(const char *m) {
    static const char *const names[][2] = {{"random", "Random Init."}, {"cost", "CoST"},         {"cpc", "CPC"},
                                           {"tnc", "TNC"},             {"infots", "InfoTS"},     {"ts2vec", "TS2Vec"},
                                           {"dynacl", "DynaCL"},       {"dynacl-m", "DynaCL-M"}, {"mpxent-mse", "MP-Xent + MSE"},
                                           {"mpxent-margin", "MP-Xent + margin"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(m, names[i][0])) return names[i][1];
    return m;
}

const char *et_pretty_dataset(const char *d) {
    return !strcmp(d, "harth") ? "HARTH" : !strcmp(d, "sleepeeg") ? "SleepEEG" : !strcmp(d, "ecg") ? "ECG" : d;
}
