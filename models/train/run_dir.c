/* run_dir.c: the layout of a run folder (dc_run.h): the names of its files, the checkpoints
 * (listing, latest, writing one, loading the newest), what stage a run is in, the run a
 * checkpoint belongs to, and the folder's life cycle (new / resume / force). Not here: the
 * contents of state files (run_state.c), config.json (run_config.c), metrics.jsonl
 * (run_metrics.c).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc_atomic.h"
#include "dc/dc_safetensors.h"
#include "train/run_state.h"

#define CKPT_PREFIX "step_"
#define CKPT_SUFFIX ".safetensors"
#define STATE_SUFFIX ".state.safetensors"

static const char *const k_files[] = {
    [DC_RUN_CONFIG] = "config.json",         [DC_RUN_METRICS] = "metrics.jsonl", [DC_RUN_MODEL] = "model.safetensors",
    [DC_RUN_STATE] = "state.safetensors",    [DC_RUN_CHECKPOINTS] = "checkpoints", [DC_RUN_LATEST] = "checkpoints/latest",
};

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static const char *fit(char *buf, size_t cap, int n) {
    if (n < 0 || (size_t)n >= cap) buf[0] = '\0';
    return buf;
}

const char *dc_run_path(const char *run, dc_run_file f, char *buf, size_t cap) {
    return fit(buf, cap, snprintf(buf, cap, "%s/%s", run, k_files[f]));
}

/* step_%08lld: the stem of checkpoint `step` (names sort by step up to 10^8 steps). */
static void stem_of(int64_t step, char *buf, size_t cap) { snprintf(buf, cap, CKPT_PREFIX "%08lld", (long long)step); }

const char *dc_run_checkpoint_path(const char *run, int64_t step, char *buf, size_t cap) {
    char stem[64];
    stem_of(step, stem, sizeof stem);
    return fit(buf, cap, snprintf(buf, cap, "%s/%s/%s" CKPT_SUFFIX, run, k_files[DC_RUN_CHECKPOINTS], stem));
}

const char *dc_run_state_path(const char *checkpoint, char *buf, size_t cap) {
    size_t n = strlen(checkpoint), k = strlen(CKPT_SUFFIX);
    if (n >= k && !strcmp(checkpoint + n - k, CKPT_SUFFIX)) n -= k;
    return fit(buf, cap, snprintf(buf, cap, "%.*s" STATE_SUFFIX, (int)n, checkpoint));
}

int64_t dc_run_checkpoint_step(const char *path) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strlen(s), kp = strlen(CKPT_PREFIX), ks = strlen(CKPT_SUFFIX), kst = strlen(STATE_SUFFIX);
    if (n <= kp + ks || strncmp(s, CKPT_PREFIX, kp) || strcmp(s + n - ks, CKPT_SUFFIX)) return -1;
    if (n >= kst && !strcmp(s + n - kst, STATE_SUFFIX)) return -1;
    int64_t v = 0;
    for (size_t i = kp; i < n - ks; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

const char *dc_run_stage_name(dc_run_stage s) {
    static const char *const names[] = {"none", "started", "resumable", "complete"};
    return s >= DC_RUN_NONE && s <= DC_RUN_COMPLETE ? names[s] : "?";
}

dc_status dc_run_latest_checkpoint(const char *run, char *buf, size_t cap) {
    char p[DC_RUN_PATH_MAX], line[64] = "";
    dc_run_path(run, DC_RUN_LATEST, p, sizeof p);
    FILE *f = fopen(p, "r");
    if (!f) return dc_fail(DC_ERR_IO, "%s: no checkpoint yet (%s missing)", run, p);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] || strchr(line, '/')) return dc_fail(DC_ERR_FORMAT, "%s: malformed", p);
    if (!fit(buf, cap, snprintf(buf, cap, "%s/%s/%s" CKPT_SUFFIX, run, k_files[DC_RUN_CHECKPOINTS], line))[0])
        return dc_fail(DC_ERR_ARG, "%s: path too long", run);
    if (!exists(buf)) return dc_fail(DC_ERR_FORMAT, "%s names %s, which does not exist", p, buf);
    return DC_OK;
}

/* The "epoch" of a checkpoint's {"step", "epoch"} metadata; -1 if absent. */
static int64_t checkpoint_epoch(const char *path) {
    dc_st_file *f;
    int64_t epoch = -1;
    if (dc_st_open(path, &f) != DC_OK) {
        dc_clear_error();
        return -1;
    }
    const char *meta = dc_st_meta(f, "dynacl");
    cJSON *o = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "epoch");
    if (cJSON_IsNumber(e)) epoch = (int64_t)e->valuedouble;
    cJSON_Delete(o);
    dc_st_close(f);
    return epoch;
}

static int cmp_step(const void *a, const void *b) {
    int64_t x = ((const dc_run_checkpoint *)a)->step, y = ((const dc_run_checkpoint *)b)->step;
    return (x > y) - (x < y);
}

dc_status dc_run_list_checkpoints(const char *run, dc_run_checkpoint **list, int *n) {
    char dir[DC_RUN_PATH_MAX];
    *list = NULL;
    *n = 0;
    dc_run_path(run, DC_RUN_CHECKPOINTS, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return DC_OK;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t step = dc_run_checkpoint_step(e->d_name);
        if (step < 0) continue;
        if (*n == cap) {
            dc_run_checkpoint *w = realloc(*list, (size_t)(cap = cap ? 2 * cap : 16) * sizeof **list);
            if (!w) {
                closedir(d);
                free(*list);
                *list = NULL;
                *n = 0;
                return dc_fail(DC_ERR_OOM, "%s: out of host memory listing checkpoints", run);
            }
            *list = w;
        }
        dc_run_checkpoint *c = &(*list)[(*n)++];
        fit(c->path, sizeof c->path, snprintf(c->path, sizeof c->path, "%s/%s", dir, e->d_name));
        c->step = step;
    }
    closedir(d);
    if (*n) qsort(*list, (size_t)*n, sizeof **list, cmp_step);
    for (int i = 0; i < *n; i++) (*list)[i].epoch = checkpoint_epoch((*list)[i].path);
    return DC_OK;
}

dc_status dc_run_status_read(const char *run, dc_run_status *s) {
    char p[DC_RUN_PATH_MAX], q[DC_RUN_PATH_MAX];
    memset(s, 0, sizeof *s);
    s->step = s->epoch = s->epochs = -1;
    if (!run) return dc_fail(DC_ERR_ARG, "run status: NULL folder");
    if (!exists(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p))) return DC_OK; /* DC_RUN_NONE */
    s->stage = DC_RUN_STARTED;
    dc_run_config c;
    if (dc_run_config_read(run, &c, NULL) == DC_OK) s->epochs = c.train.epochs;
    dc_clear_error();
    dc_run_checkpoint *list;
    if (dc_run_list_checkpoints(run, &list, &s->n_checkpoints) != DC_OK) return dc_last_status();
    free(list);
    if (!exists(dc_run_path(run, DC_RUN_LATEST, p, sizeof p))) return DC_OK;
    dc_status st = dc_run_latest_checkpoint(run, s->latest, sizeof s->latest);
    if (st != DC_OK) {
        s->latest[0] = '\0';
        return st;
    }
    s->stage = DC_RUN_RESUMABLE;
    s->step = dc_run_checkpoint_step(s->latest);
    s->epoch = checkpoint_epoch(s->latest);
    /* the final model and state are written after the last checkpoint, the state last */
    if (exists(dc_run_path(run, DC_RUN_MODEL, p, sizeof p)) && exists(dc_run_path(run, DC_RUN_STATE, q, sizeof q)))
        s->stage = DC_RUN_COMPLETE;
    return DC_OK;
}

int dc_run_is_complete(const char *run) {
    dc_run_status s;
    int ok = dc_run_status_read(run, &s) == DC_OK && s.stage == DC_RUN_COMPLETE;
    dc_clear_error();
    return ok;
}

int dc_run_has_checkpoint(const char *run) {
    dc_run_status s;
    int ok = dc_run_status_read(run, &s) == DC_OK && s.stage >= DC_RUN_RESUMABLE;
    dc_clear_error();
    return ok;
}

int dc_run_of_checkpoint(const char *checkpoint, char *run, size_t cap) {
    char dir[DC_RUN_PATH_MAX], p[DC_RUN_PATH_MAX];
    if (!checkpoint || !strcmp(checkpoint, "random")) return 0;
    snprintf(dir, sizeof dir, "%s", checkpoint);
    for (int up = 0; up < 2; up++) { /* RUN/model.safetensors, RUN/checkpoints/step_*.safetensors */
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        if (exists(dc_run_path(dir, DC_RUN_CONFIG, p, sizeof p))) {
            snprintf(run, cap, "%s", dir);
            return 1;
        }
        if (!slash) break;
    }
    return 0;
}

static void copy_str(const cJSON *o, const char *k, char *dst, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(v)) snprintf(dst, cap, "%s", v->valuestring);
}

int dc_run_names_read(const char *run, dc_run_names *out) {
    char p[DC_RUN_PATH_MAX];
    memset(out, 0, sizeof *out);
    out->seed = -1;
    FILE *f = fopen(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p), "rb");
    if (!f) return 0;
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    if (!o) return 0;
    copy_str(o, "model", out->model, sizeof out->model);
    copy_str(o, "dataset", out->dataset, sizeof out->dataset);
    copy_str(o, "protocol", out->protocol, sizeof out->protocol);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (cJSON_IsNumber(s) && s->valuedouble >= 0) out->seed = (int64_t)s->valuedouble;
    cJSON_Delete(o);
    return 1;
}

void dc_run_checkpoint_method(const char *checkpoint, char *method, size_t cap, int64_t *seed) {
    method[0] = '\0';
    *seed = -1;
    if (!strcmp(checkpoint, "random")) {
        snprintf(method, cap, "random");
        return;
    }
    dc_st_file *f;
    if (dc_st_open(checkpoint, &f) == DC_OK) {
        const char *m = dc_st_meta(f, "model");
        if (m) snprintf(method, cap, "%s", m);
        dc_st_close(f);
    }
    dc_clear_error();
    char run[DC_RUN_PATH_MAX];
    dc_run_names rn;
    if (dc_run_of_checkpoint(checkpoint, run, sizeof run) && dc_run_names_read(run, &rn)) {
        if (!method[0]) snprintf(method, cap, "%s", rn.model);
        *seed = rn.seed;
    }
    if (!method[0]) snprintf(method, cap, "dynacl");
}

dc_status dc_run_checkpoint_config(const char *checkpoint, const char *dataset, const char *protocol, dc_model_config *cfg) {
    char method[32], run[DC_RUN_PATH_MAX];
    int64_t seed;
    dc_run_checkpoint_method(checkpoint, method, sizeof method, &seed);
    dc_run_config c;
    if (dc_run_of_checkpoint(checkpoint, run, sizeof run) && dc_run_config_read(run, &c, NULL) == DC_OK &&
        !strcmp(c.model.model, method)) {
        *cfg = c.model;
        return DC_OK;
    }
    dc_clear_error();
    *cfg = dc_model_config_defaults(method, dataset, protocol);
    if (seed >= 0) cfg->seed = (uint64_t)seed;
    return dc_model_config_check(cfg);
}

/* ---- the trainer's side (run_state.h) ---- */

dc_status dc_run_dir_prepare(const char *dir, dc_run_mode mode) {
    char p[DC_RUN_PATH_MAX];
    int has_run = exists(dc_run_path(dir, DC_RUN_CONFIG, p, sizeof p));
    if (mode == DC_RUN_RESUME && !has_run) return dc_fail(DC_ERR_IO, "%s: no run to resume (no config.json)", dir);
    if (has_run && mode == DC_RUN_NEW)
        return dc_fail(DC_ERR_STATE, "%s already holds a run; pass --resume to continue it or --force to replace it", dir);
    dc_status mk = mode == DC_RUN_RESUME ? DC_OK : dc_mkdirs(dir); /* parents too */
    if (mk != DC_OK) return mk;
    if (has_run && mode == DC_RUN_FORCE) { /* remove what a run writes, nothing else */
        const dc_run_file files[] = {DC_RUN_CONFIG, DC_RUN_METRICS, DC_RUN_MODEL, DC_RUN_STATE, DC_RUN_LATEST};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(dc_run_path(dir, files[i], p, sizeof p));
        dc_run_checkpoint *list;
        int n;
        if (dc_run_list_checkpoints(dir, &list, &n) != DC_OK) return dc_last_status();
        for (int i = 0; i < n; i++) {
            unlink(list[i].path);
            unlink(dc_run_state_path(list[i].path, p, sizeof p));
        }
        free(list);
    }
    dc_run_path(dir, DC_RUN_CHECKPOINTS, p, sizeof p); /* resume: a run stopped right after its config.json may lack it */
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return dc_fail(DC_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
    return DC_OK;
}

dc_status dc_run_write_checkpoint(const char *run, const dc_model *m, const dc_run_state *s, dc_adamw *const *opts, int n_opts,
                                  int final) {
    char stem[64], meta[256], ck[DC_RUN_PATH_MAX], path[DC_RUN_PATH_MAX];
    snprintf(meta, sizeof meta, "{\"step\": %lld, \"epoch\": %lld}", (long long)s->step, (long long)s->epoch);
    dc_status st = dc_model_save(m, dc_run_checkpoint_path(run, s->step, ck, sizeof ck), meta);
    if (st == DC_OK) st = dc_run_state_save(dc_run_state_path(ck, path, sizeof path), s, opts, n_opts);
    if (st == DC_OK) { /* checkpoints/latest: the stem, a line */
        stem_of(s->step, stem, sizeof stem);
        strcat(stem, "\n");
        st = dc_atomic_write(dc_run_path(run, DC_RUN_LATEST, path, sizeof path), stem, strlen(stem));
    }
    if (st == DC_OK && final) st = dc_model_save(m, dc_run_path(run, DC_RUN_MODEL, path, sizeof path), meta);
    if (st == DC_OK && final) st = dc_run_state_save(dc_run_path(run, DC_RUN_STATE, path, sizeof path), s, opts, n_opts);
    return st;
}

dc_status dc_run_read_checkpoint(const char *run, dc_model *m, dc_run_state *s, dc_adamw *const *opts, int n_opts) {
    char ck[DC_RUN_PATH_MAX], p[DC_RUN_PATH_MAX];
    dc_status st = dc_run_latest_checkpoint(run, ck, sizeof ck);
    if (st == DC_OK) st = dc_model_load(m, ck);
    if (st == DC_OK) st = dc_run_state_load(dc_run_state_path(ck, p, sizeof p), s, opts, n_opts);
    return st;
}
