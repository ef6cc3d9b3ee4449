/* run_state.c: what makes a run resumable: the optimizer/RNG/position state beside each
 * checkpoint (safetensors: AdamW moments, and a JSON metadata entry "dynacl_state"). Where
 * the files live is run_dir.c's business.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_safetensors.h"
#include "train/run_state.h"

static dc_status add_flat(dc_st_writer *w, const char *name, const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    float *h = malloc((size_t)(n ? n : 1) * sizeof *h);
    if (!h) return dc_fail(DC_ERR_OOM, "state: out of host memory");
    dc_status st = dc_tensor_download(t, h, (size_t)n * sizeof *h);
    if (st == DC_OK) st = dc_st_writer_add(w, name, DC_ST_F32, 1, &n, h);
    free(h);
    return st;
}

static dc_status load_flat(const dc_st_file *f, const char *path, const char *name, dc_tensor *t) {
    const dc_st_tensor *s = dc_st_find(f, name);
    int64_t n = dc_tensor_numel(t);
    if (!s || s->dtype != DC_ST_F32 || s->ndim != 1 || s->shape[0] != n)
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' missing or not F32 [%lld]", path, name, (long long)n);
    return dc_tensor_upload(t, s->data, (size_t)n * 4);
}

dc_status dc_run_state_save(const char *path, const dc_run_state *s, dc_adamw *const *opts, int n_opts) {
    dc_st_writer *w = dc_st_writer_new();
    if (!w) return dc_last_status();
    dc_status st = DC_OK;
    for (int i = 0; i < n_opts && st == DC_OK; i++) {
        char name[64];
        snprintf(name, sizeof name, "adamw%d.m", i);
        st = add_flat(w, name, dc_adamw_m(opts[i]));
        snprintf(name, sizeof name, "adamw%d.v", i);
        if (st == DC_OK) st = add_flat(w, name, dc_adamw_v(opts[i]));
    }
    char meta[1024];
    snprintf(meta, sizeof meta,
             "{\"step\": %lld, \"epoch\": %lld, \"batch_in_epoch\": %lld, \"optimizer_steps\": %lld, "
             "\"lr\": %.17g, \"rng_seed\": \"%llu\", \"rng_counter\": \"%llu\", \"rng_counter_epoch\": \"%llu\", "
             "\"plateau_best\": %.17g, \"plateau_bad\": %lld, \"plateau_has_best\": %d, \"num_batches_tracked\": %lld, "
             "\"epoch_loss_sum\": %.17g, \"elapsed\": %.6f}",
             (long long)s->step, (long long)s->epoch, (long long)s->batch_in_epoch, (long long)s->optimizer_steps,
             s->lr, (unsigned long long)s->rng.seed, (unsigned long long)s->rng.counter,
             (unsigned long long)s->rng_counter_epoch, s->plateau_has_best ? s->plateau_best : 0.0,
             (long long)s->plateau_bad, s->plateau_has_best, (long long)s->num_batches_tracked, s->epoch_loss_sum,
             s->elapsed);
    if (st == DC_OK) st = dc_st_writer_set_meta(w, "dynacl_state", meta);
    if (st == DC_OK) st = dc_st_writer_save(w, path);
    dc_st_writer_free(w);
    return st;
}

static int get_num(const cJSON *o, const char *k, double *v) {
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(i)) return 0;
    *v = i->valuedouble;
    return 1;
}

static int get_u64(const cJSON *o, const char *k, uint64_t *v) {
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(i)) return 0;
    char *end;
    *v = strtoull(i->valuestring, &end, 10);
    return *end == '\0';
}

dc_status dc_run_state_load(const char *path, dc_run_state *s, dc_adamw *const *opts, int n_opts) {
    dc_st_file *f;
    dc_status st = dc_st_open(path, &f);
    if (st != DC_OK) return st;
    const char *meta = dc_st_meta(f, "dynacl_state");
    cJSON *o = meta ? cJSON_Parse(meta) : NULL;
    double step, epoch, bie, osteps, lr, best, bad, hb, nbt, els, ela;
    memset(s, 0, sizeof *s);
    if (!o || !get_num(o, "step", &step) || !get_num(o, "epoch", &epoch) || !get_num(o, "batch_in_epoch", &bie) ||
        !get_num(o, "optimizer_steps", &osteps) || !get_num(o, "lr", &lr) || !get_num(o, "plateau_best", &best) ||
        !get_num(o, "plateau_bad", &bad) || !get_num(o, "plateau_has_best", &hb) ||
        !get_num(o, "num_batches_tracked", &nbt) || !get_num(o, "epoch_loss_sum", &els) ||
        !get_num(o, "elapsed", &ela) || !get_u64(o, "rng_seed", &s->rng.seed) ||
        !get_u64(o, "rng_counter", &s->rng.counter) || !get_u64(o, "rng_counter_epoch", &s->rng_counter_epoch)) {
        st = dc_fail(DC_ERR_FORMAT, "%s: missing or malformed dynacl_state metadata", path);
    } else {
        s->step = (int64_t)step;
        s->epoch = (int64_t)epoch;
        s->batch_in_epoch = (int64_t)bie;
        s->optimizer_steps = (int64_t)osteps;
        s->lr = lr;
        s->plateau_best = best;
        s->plateau_bad = (int64_t)bad;
        s->plateau_has_best = (int)hb;
        s->num_batches_tracked = (int64_t)nbt;
        s->epoch_loss_sum = els;
        s->elapsed = ela;
    }
    for (int i = 0; i < n_opts && st == DC_OK; i++) {
        char name[64];
        snprintf(name, sizeof name, "adamw%d.m", i);
        st = load_flat(f, path, name, dc_adamw_m(opts[i]));
        snprintf(name, sizeof name, "adamw%d.v", i);
        if (st == DC_OK) st = load_flat(f, path, name, dc_adamw_v(opts[i]));
        if (st == DC_OK) st = dc_adamw_set_steps(opts[i], s->optimizer_steps);
        if (st == DC_OK) dc_adamw_set_lr(opts[i], s->lr);
    }
    cJSON_Delete(o);
    dc_st_close(f);
    return st;
}
