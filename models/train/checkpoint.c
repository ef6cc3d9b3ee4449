/* checkpoint.c: model weights in safetensors under the PyTorch state_dict names
 * (docs/METHOD.md §2): conv{1,2,3}.weight [out, in, 1], conv*.bias, bn*.weight, bn*.bias,
 * bn*.running_mean, bn*.running_var (F32) and bn*.num_batches_tracked (I64, shape []).
 * Loading refuses NaN and Inf weights (naming the tensor and the element) unless told not to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_finite.h"
#include "dc/dc_safetensors.h"
#include "train/dc_model.h"

static dc_status add_tensor(dc_st_writer *w, const char *name, const dc_tensor *t, int ndim, const int64_t *shape) {
    int64_t n = dc_tensor_numel(t);
    float *h = malloc((size_t)n * sizeof *h);
    if (!h) return dc_fail(DC_ERR_OOM, "checkpoint: out of host memory");
    dc_status st = dc_tensor_download(t, h, (size_t)n * sizeof *h);
    if (st == DC_OK) st = dc_st_writer_add(w, name, DC_ST_F32, ndim, shape, h);
    free(h);
    return st;
}

dc_status dc_encoder_save_entries(const dc_encoder *e, void *writer) {
    dc_st_writer *w = writer;
    char name[64];
    dc_status st = DC_OK;
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        int64_t out = e->dims[l + 1], in = e->dims[l];
        snprintf(name, sizeof name, "conv%d.weight", l + 1);
        st = add_tensor(w, name, e->w[l], 3, (int64_t[]){out, in, 1});
        snprintf(name, sizeof name, "conv%d.bias", l + 1);
        if (st == DC_OK) st = add_tensor(w, name, e->b[l], 1, &out);
        const dc_tensor *bn[4] = {e->gamma[l], e->beta[l], e->run_mean[l], e->run_var[l]};
        const char *sfx[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4 && st == DC_OK; k++) {
            snprintf(name, sizeof name, "bn%d.%s", l + 1, sfx[k]);
            st = add_tensor(w, name, bn[k], 1, &out);
        }
        snprintf(name, sizeof name, "bn%d.num_batches_tracked", l + 1);
        int64_t nbt = e->num_batches_tracked;
        if (st == DC_OK) st = dc_st_writer_add(w, name, DC_ST_I64, 0, NULL, &nbt);
    }
    return st;
}

static dc_status load_f32(const dc_st_file *f, const char *path, const char *name, dc_tensor *t, int ndim,
                          const int64_t *shape, unsigned flags) {
    const dc_st_tensor *s = dc_st_find(f, name);
    if (!s) return dc_fail(DC_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
    int same = s->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = s->shape[d] == shape[d];
    if (!same || (s->dtype != DC_ST_F32 && s->dtype != DC_ST_F64)) {
        char have[128] = "[", want[128] = "[";
        for (int d = 0; d < s->ndim; d++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%lld", d ? ", " : "", (long long)s->shape[d]);
        for (int d = 0; d < ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "", (long long)shape[d]);
        return dc_fail(DC_ERR_SHAPE, "%s: '%s' is %s] %s in the checkpoint, but this model needs %s] F32", path, name,
                       have, dc_st_dtype_name(s->dtype), want);
    }
    if (!(flags & DC_LOAD_ALLOW_NONFINITE)) {
        char what[512];
        snprintf(what, sizeof what, "%s: tensor '%s'", path, name);
        dc_status st = dc_check_finite(s->data, s->dtype == DC_ST_F32 ? 4 : 8, s->ndim, s->shape, what);
        if (st) return st;
    }
    int64_t n = dc_tensor_numel(t);
    float *h = malloc((size_t)n * sizeof *h);
    if (!h) return dc_fail(DC_ERR_OOM, "checkpoint: out of host memory");
    for (int64_t i = 0; i < n; i++) {
        if (s->dtype == DC_ST_F32) memcpy(&h[i], (const char *)s->data + 4 * i, 4);
        else {
            double v;
            memcpy(&v, (const char *)s->data + 8 * i, 8);
            h[i] = (float)v;
        }
    }
    dc_status st = dc_tensor_upload(t, h, (size_t)n * sizeof *h);
    free(h);
    return st;
}

dc_status dc_encoder_load_file(dc_encoder *e, const void *file, const char *path) {
    return dc_encoder_load_file_ex(e, file, path, 0);
}

dc_status dc_encoder_load_file_ex(dc_encoder *e, const void *file, const char *path, unsigned flags) {
    const dc_st_file *f = file;
    char name[64];
    dc_status st = DC_OK;
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        int64_t out = e->dims[l + 1], in = e->dims[l];
        snprintf(name, sizeof name, "conv%d.weight", l + 1);
        st = load_f32(f, path, name, e->w[l], 3, (int64_t[]){out, in, 1}, flags);
        snprintf(name, sizeof name, "conv%d.bias", l + 1);
        if (st == DC_OK) st = load_f32(f, path, name, e->b[l], 1, &out, flags);
        dc_tensor *bn[4] = {e->gamma[l], e->beta[l], e->run_mean[l], e->run_var[l]};
        const char *sfx[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4 && st == DC_OK; k++) {
            snprintf(name, sizeof name, "bn%d.%s", l + 1, sfx[k]);
            st = load_f32(f, path, name, bn[k], 1, &out, flags);
        }
        snprintf(name, sizeof name, "bn%d.num_batches_tracked", l + 1);
        const dc_st_tensor *nb = dc_st_find(f, name);
        if (st == DC_OK && nb) { /* optional, as in PyTorch's load_state_dict of old checkpoints */
            if (nb->dtype != DC_ST_I64 || nb->nbytes != 8)
                return dc_fail(DC_ERR_FORMAT, "%s: '%s' must be an I64 scalar", path, name);
            int64_t v;
            memcpy(&v, nb->data, 8);
            e->num_batches_tracked = v;
        }
    }
    return st;
}

dc_status dc_checkpoint_in_dim(const char *path, int64_t *D) {
    dc_st_file *f;
    dc_status st = dc_st_open(path, &f);
    if (st != DC_OK) return st;
    const dc_st_tensor *w = dc_st_find(f, "conv1.weight");
    if (!w || w->ndim != 3 || w->shape[0] != 128 || w->shape[2] != 1)
        st = dc_fail(DC_ERR_FORMAT, "%s: no conv1.weight of shape [128, D, 1] (is this an encoder checkpoint?)", path);
    else
        *D = w->shape[1];
    dc_st_close(f);
    return st;
}

/* Heads: "<method>.<name>" with their own shapes. */
static dc_status add_group(dc_st_writer *w, const char *prefix, const dc_params *ps) {
    for (int i = 0; ps && i < dc_params_count(ps); i++) {
        const dc_tensor *t = dc_params_get(ps, i);
        char name[160];
        snprintf(name, sizeof name, "%s.%s", prefix, t->name);
        dc_status st = add_tensor(w, name, t, t->ndim, t->shape);
        if (st != DC_OK) return st;
    }
    return DC_OK;
}

static dc_status load_group(const dc_st_file *f, const char *path, const char *prefix, dc_params *ps) {
    for (int i = 0; ps && i < dc_params_count(ps); i++) {
        dc_tensor *t = dc_params_get(ps, i);
        char name[160];
        snprintf(name, sizeof name, "%s.%s", prefix, t->name);
        dc_status st = load_f32(f, path, name, t, t->ndim, t->shape, 0);
        if (st != DC_OK) return st;
    }
    return DC_OK;
}

dc_status dc_model_save(const dc_model *m, const char *path, const char *meta_json) {
    dc_st_writer *w = dc_st_writer_new();
    if (!w) return dc_last_status();
    dc_status st = dc_encoder_save_entries(m->enc, w);
    if (st == DC_OK) st = add_group(w, m->cfg.model, m->heads);
    if (st == DC_OK) st = add_group(w, m->cfg.model, m->head_buffers);
    if (st == DC_OK) st = dc_st_writer_set_meta(w, "format", "pt");
    if (st == DC_OK) st = dc_st_writer_set_meta(w, "model", m->cfg.model);
    if (st == DC_OK && meta_json) st = dc_st_writer_set_meta(w, "dynacl", meta_json);
    if (st == DC_OK) st = dc_st_writer_save(w, path);
    dc_st_writer_free(w);
    return st;
}

dc_status dc_model_load(dc_model *m, const char *path) {
    dc_st_file *f;
    dc_status st = dc_st_open(path, &f);
    if (st != DC_OK) return st;
    st = dc_encoder_load_file(m->enc, f, path);
    if (st == DC_OK) st = load_group(f, path, m->cfg.model, m->heads);
    if (st == DC_OK) st = load_group(f, path, m->cfg.model, m->head_buffers);
    dc_st_close(f);
    return st;
}
