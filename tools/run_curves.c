/* run_curves.c: reading a run folder's metrics.jsonl (and config.json) into the arrays that
 * `dynacl plot` draws. Each record kind goes into a table of (key, values) rows that is
 * sorted by key with the later of two equal keys kept, then split into the curves.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_curves.h"
#include "train/dc_run.h"

typedef struct row {
    double key;      /* step or epoch */
    int64_t order;   /* line number: the later of two equal keys wins */
    double v[3];
} row;

typedef struct table {
    row *r;
    int64_t n, cap;
} table;

static dc_status table_add(table *t, double key, int64_t order, double v0, double v1, double v2) {
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 256;
        row *r = realloc(t->r, (size_t)cap * sizeof *r);
        if (!r) return dc_fail(DC_ERR_OOM, "metrics: out of memory");
        t->r = r, t->cap = cap;
    }
    t->r[t->n++] = (row){key, order, {v0, v1, v2}};
    return DC_OK;
}

static int by_key(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sort by key and keep the last row of each key; then copy the keys and up to three value
 * columns into fresh arrays (NULL out-pointers are skipped). */
static dc_status table_take(table *t, double **key, double **v0, double **v1, double **v2, int64_t *n) {
    if (t->n > 1) qsort(t->r, (size_t)t->n, sizeof *t->r, by_key); /* an empty table has no array (UBSan) */
    int64_t m = 0;
    for (int64_t i = 0; i < t->n; i++) {
        if (m > 0 && t->r[m - 1].key == t->r[i].key) m--;
        t->r[m++] = t->r[i];
    }
    double **out[4] = {key, v0, v1, v2};
    for (int k = 0; k < 4; k++) {
        if (!out[k]) continue;
        *out[k] = malloc((size_t)m * sizeof **out[k] + 1);
        if (!*out[k]) return dc_fail(DC_ERR_OOM, "metrics: out of memory");
        for (int64_t i = 0; i < m; i++) (*out[k])[i] = k == 0 ? t->r[i].key : t->r[i].v[k - 1];
    }
    *n = m;
    return DC_OK;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void read_config(const char *dir, run_curves *c) { /* the names only title the figure */
    dc_run_names rn;
    if (!dc_run_names_read(dir, &rn)) return;
    snprintf(c->model, sizeof c->model, "%s", rn.model);
    snprintf(c->dataset, sizeof c->dataset, "%s", rn.dataset);
    snprintf(c->protocol, sizeof c->protocol, "%s", rn.protocol);
    c->seed = rn.seed;
}

/* One parsed record into the tables. */
static dc_status add_record(const cJSON *o, int64_t line, table *steps, table *epochs, table *vals, table *js) {
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    double step = num(o, "step"), epoch = num(o, "epoch");
    if (!ev) return isfinite(step) ? table_add(steps, step, line, num(o, "loss"), NAN, NAN) : DC_OK;
    if (!cJSON_IsString(ev) || !isfinite(epoch)) return DC_OK;
    dc_status st = DC_OK;
    if (!strcmp(ev->valuestring, "epoch")) st = table_add(epochs, epoch, line, num(o, "mean_loss"), num(o, "lr"), step);
    else if (!strcmp(ev->valuestring, "validation")) {
        st = table_add(vals, epoch, line, num(o, "val_loss_mean"), NAN, NAN);
        if (st == DC_OK && isfinite(num(o, "j"))) st = table_add(js, epoch, line, num(o, "j"), NAN, NAN);
    }
    return st; /* checkpoints and unknown events are not curves */
}

dc_status run_curves_read(const char *run_dir, run_curves *c) {
    if (!run_dir || !c) return dc_fail(DC_ERR_ARG, "plot: NULL argument");
    memset(c, 0, sizeof *c);
    c->seed = -1;
    char p[DC_RUN_PATH_MAX];
    FILE *f = fopen(dc_run_path(run_dir, DC_RUN_METRICS, p, sizeof p), "rb");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open (is %s a run folder of `dynacl pretrain`?)", p, run_dir);
    table t[4] = {{0}}; /* steps, epochs, validations, J */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t ln = 0;
    dc_status st = DC_OK;
    while (st == DC_OK && (len = getline(&line, &cap, f)) >= 0) {
        ln++;
        int terminated = len > 0 && line[len - 1] == '\n';
        size_t k = strspn(line, " \t\r\n");
        if (line[k] == '\0') continue;
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            if (!terminated) c->partial_tail = 1; /* getline returns an unterminated line only at the end */
            else st = dc_fail(DC_ERR_FORMAT, "%s:%lld: not a JSON object", p, (long long)ln);
        } else {
            st = add_record(o, ln, &t[0], &t[1], &t[2], &t[3]);
        }
        cJSON_Delete(o);
    }
    free(line);
    if (st == DC_OK && ferror(f)) st = dc_fail(DC_ERR_IO, "%s: read error", p);
    fclose(f);
    double *ep_step = NULL;
    if (st == DC_OK) st = table_take(&t[0], &c->step_x, &c->step_loss, NULL, NULL, &c->n_step);
    if (st == DC_OK) st = table_take(&t[1], &c->ep, &c->ep_loss, &c->ep_lr, &ep_step, &c->n_ep);
    if (st == DC_OK) st = table_take(&t[2], &c->val_ep, &c->val_loss, NULL, NULL, &c->n_val);
    if (st == DC_OK) st = table_take(&t[3], &c->j_ep, &c->j, NULL, NULL, &c->n_j);
    /* steps per epoch from the first epoch record (every epoch has the same batches); the
     * logged steps then sit at step / steps-per-epoch on the epoch axis */
    for (int64_t i = 0; st == DC_OK && i < c->n_ep && c->steps_per_epoch == 0; i++)
        if (c->ep[i] >= 1 && ep_step[i] > 0) c->steps_per_epoch = ep_step[i] / c->ep[i];
    for (int64_t i = 0; c->steps_per_epoch > 0 && i < c->n_step; i++) c->step_x[i] /= c->steps_per_epoch;
    free(ep_step);
    for (int k = 0; k < 4; k++) free(t[k].r);
    if (st == DC_OK && c->n_step == 0 && c->n_ep == 0)
        st = dc_fail(DC_ERR_FORMAT, "%s: no training loss recorded yet (%lld lines)", p, (long long)ln);
    if (st != DC_OK) {
        run_curves_free(c);
        return st;
    }
    read_config(run_dir, c);
    return DC_OK;
}

void run_curves_free(run_curves *c) {
    if (!c) return;
    double *arrays[] = {c->step_x, c->step_loss, c->ep, c->ep_loss, c->ep_lr, c->val_ep, c->val_loss, c->j_ep, c->j};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    c->step_x = c->step_loss = c->ep = c->ep_loss = c->ep_lr = c->val_ep = c->val_loss = c->j_ep = c->j = NULL;
    c->n_step = c->n_ep = c->n_val = c->n_j = 0;
}
