/* run_metrics.c: metrics.jsonl of a run folder: opening it for the trainer, the checkpoint
 * record, trimming it to a checkpoint on resume (so a resumed run's file equals an
 * uninterrupted run's), and reading the epoch losses back. The trainer formats its other
 * records itself (trainer.c).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_atomic.h"
#include "train/run_state.h"

FILE *dc_run_metrics_open(const char *run, int append) {
    char p[DC_RUN_PATH_MAX];
    FILE *f = fopen(dc_run_path(run, DC_RUN_METRICS, p, sizeof p), append ? "a" : "w");
    if (!f) dc_fail(DC_ERR_IO, "%s: cannot open for writing", p);
    return f;
}

void dc_run_metrics_checkpoint_record(char *buf, size_t cap, int64_t step, int64_t epoch) {
    char ck[DC_RUN_PATH_MAX];
    /* the file relative to the run folder: the checkpoint path of run "" without its leading '/' */
    dc_run_checkpoint_path("", step, ck, sizeof ck);
    snprintf(buf, cap, "{\"event\": \"checkpoint\", \"step\": %lld, \"epoch\": %lld, \"file\": \"%s\"}", (long long)step,
             (long long)epoch, ck + 1);
}

/* A growing text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static int text_add(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (t->len + n + 1 > cap) cap *= 2;
        char *q = realloc(t->s, cap);
        if (!q) return 0;
        t->s = q;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 1;
}

dc_status dc_run_trim_metrics(const char *run, int64_t step, int64_t epoch, int final) {
    char p[DC_RUN_PATH_MAX], line[8192];
    FILE *f = fopen(dc_run_path(run, DC_RUN_METRICS, p, sizeof p), "r");
    text out = {0};
    int ok = text_add(&out, "", 0);
    while (ok && f && fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line); /* a line cut by a kill does not parse: dropped */
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "step"), *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
        int at_checkpoint = cJSON_IsNumber(s) && s->valuedouble == (double)step && cJSON_IsString(ev) &&
                            !strcmp(ev->valuestring, "checkpoint");
        int keep = cJSON_IsNumber(s) && s->valuedouble <= (double)step;
        cJSON_Delete(o);
        if (at_checkpoint) break; /* what follows was written after the checkpoint */
        size_t n = strlen(line);
        if (keep && n && line[n - 1] == '\n') ok = text_add(&out, line, n);
    }
    if (f) fclose(f);
    if (ok && !final) {
        dc_run_metrics_checkpoint_record(line, sizeof line, step, epoch);
        ok = text_add(&out, line, strlen(line)) && text_add(&out, "\n", 1);
    }
    dc_status st = ok ? dc_atomic_write(p, out.s, out.len) : dc_fail(DC_ERR_OOM, "%s: out of host memory", p);
    free(out.s);
    return st;
}

dc_status dc_run_epoch_losses(const char *run, double *first, double *last, int64_t *n_epochs) {
    char p[DC_RUN_PATH_MAX], line[8192];
    *first = *last = NAN;
    if (n_epochs) *n_epochs = 0;
    FILE *f = fopen(dc_run_path(run, DC_RUN_METRICS, p, sizeof p), "r");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open", p);
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event"), *v = cJSON_GetObjectItemCaseSensitive(o, "mean_loss");
        if (cJSON_IsString(ev) && !strcmp(ev->valuestring, "epoch") && cJSON_IsNumber(v)) {
            if (isnan(*first)) *first = v->valuedouble;
            *last = v->valuedouble;
            if (n_epochs) ++*n_epochs;
        }
        cJSON_Delete(o);
    }
    fclose(f);
    return DC_OK;
}
