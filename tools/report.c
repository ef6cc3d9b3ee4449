/* report.c: the paper's result tables (docs/METHOD.md §8: Table 2 clustering, Table 3 linear evaluation,
 * Table 5 pretraining time) from run folders and result files, as Markdown and CSV, with
 * mean +- population std over seeds and the paper's numbers alongside. Reads config.json,
 * metrics.jsonl, cluster.json and linear_eval.json; does not run anything.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval_tools.h"
#include "report.h"
#include "train/dc_run.h"

/* ---- the paper's numbers (docs/METHOD.md §8; the ablations' from Table 4) -------------------------- */

typedef struct paper_cell {
    int table;
    const char *method, *metric;
    double v[3][2]; /* harth, sleepeeg, ecg: mean, std; NAN = not reported */
} paper_cell;

#define NA {NAN, NAN}
static const paper_cell k_paper[] = {
    {2, "cost", "dbi", {{1.46, .05}, {2.13, .18}, {1.15, .10}}},
    {2, "cost", "ss", {{.25, .03}, {.28, .02}, {.45, .01}}},
    {2, "cpc", "dbi", {{1.65, .11}, {2.59, .10}, {1.88, .06}}},
    {2, "cpc", "ss", {{.17, .02}, {.26, .01}, {.16, .02}}},
    {2, "tnc", "dbi", {{.60, .11}, {.58, .07}, {.48, .06}}},
    {2, "tnc", "ss", {{.67, .24}, {.21, .00}, {.96, .02}}},
    {2, "infots", "dbi", {{.96, .08}, {.67, .08}, {.97, .10}}},
    {2, "infots", "ss", {{.58, .03}, {.24, .01}, {.63, .03}}},
    {2, "ts2vec", "dbi", {{1.23, .07}, {1.01, .05}, {.74, .03}}},
    {2, "ts2vec", "ss", {{.59, .02}, {.31, .01}, {.64, .02}}},
    {2, "dynacl", "dbi", {{1.07, .06}, {1.12, .25}, {.98, .23}}},
    {2, "dynacl", "ss", {{.35, .02}, {.41, .20}, {.63, .13}}},
    {2, "dynacl-m", "dbi", {{.46, .01}, {.48, .01}, {.51, .11}}},
    {2, "dynacl-m", "ss", {{.95, .01}, {.87, .05}, {.72, .12}}},
    {2, "mpxent-mse", "dbi", {{1.05, .08}, {1.31, .06}, {.51, .11}}},
    {2, "mpxent-mse", "ss", {{.34, .03}, {.24, .01}, {.72, .12}}},
    {3, "random", "acc", {{34.45, 4.01}, {44.94, .19}, {55.01, .00}}},
    {3, "random", "f1", {{.26, .03}, {.32, .01}, {.51, .00}}},
    {3, "random", "prec", {{.18, .02}, {.36, .01}, {.30, .00}}},
    {3, "random", "rec", {{.14, .01}, {.26, .00}, {.28, .00}}},
    {3, "cost", "acc", {{32.74, 9.67}, {50.30, .23}, {55.82, 4.95}}},
    {3, "cost", "f1", {{.26, .06}, {.39, .01}, {.50, .08}}},
    {3, "cost", "prec", {{.17, .02}, {.32, .00}, {.31, .03}}},
    {3, "cost", "rec", {{.15, .02}, {.26, .01}, {.29, .02}}},
    {3, "cpc", "acc", {{27.80, 4.65}, {44.19, .63}, {55.36, 1.43}}},
    {3, "cpc", "f1", {{.20, .03}, {.34, .02}, {.50, .04}}},
    {3, "cpc", "prec", {{.14, .01}, {.35, .01}, {.31, .00}}},
    {3, "cpc", "rec", {{.12, .01}, {.26, .01}, {.29, .00}}},
    {3, "tnc", "acc", {{30.14, 1.04}, {41.78, .20}, {47.76, .02}}},
    {3, "tnc", "f1", {{.16, .02}, {.26, .01}, {.31, .00}}},
    {3, "tnc", "prec", {{.06, .02}, {.26, .01}, {.24, .01}}},
    {3, "tnc", "rec", {{.10, .01}, {.21, .00}, {.25, .00}}},
    {3, "infots", "acc", {{33.73, 2.48}, {44.02, .25}, {53.46, .59}}},
    {3, "infots", "f1", {{.21, .03}, {.34, .01}, {.45, .01}}},
    {3, "infots", "prec", {{.16, .03}, {.38, .02}, {.32, .01}}},
    {3, "infots", "rec", {{.12, .02}, {.24, .01}, {.28, .00}}},
    {3, "ts2vec", "acc", {{35.58, 1.51}, {48.43, .49}, {49.96, .65}}},
    {3, "ts2vec", "f1", {{.24, .02}, {.42, .01}, {.41, .01}}},
    {3, "ts2vec", "prec", {{.15, .02}, {.42, .02}, {.27, .00}}},
    {3, "ts2vec", "rec", {{.12, .01}, {.31, .01}, {.26, .00}}},
    {3, "dynacl", "acc", {{37.95, 4.51}, {62.08, .64}, {58.74, .62}}},
    {3, "dynacl", "f1", {{.29, .06}, {.60, .01}, {.56, .01}}},
    {3, "dynacl", "prec", {{.18, .04}, {.52, .01}, {.32, .00}}},
    {3, "dynacl", "rec", {{.13, .02}, {.50, .01}, {.30, .00}}},
    {3, "dynacl-m", "acc", {{31.31, 2.73}, {41.40, 4.00}, {50.05, .42}}},
    {3, "dynacl-m", "f1", {{.18, .05}, {.28, .01}, {.37, .01}}},
    {3, "dynacl-m", "prec", {{.08, .05}, {.24, .01}, {.31, .00}}},
    {3, "dynacl-m", "rec", {{.10, .01}, {.20, .00}, {.26, .00}}},
    {3, "mpxent-mse", "acc", {{36.27, 2.55}, {47.12, .68}, {50.05, .42}}},
    {3, "mpxent-mse", "f1", {{.26, .04}, {.39, .01}, {.37, .01}}},
    {3, "mpxent-margin", "acc", {{28.15, .00}, {41.29, .01}, {47.76, .00}}},
    {3, "mpxent-margin", "f1", {{.12, .00}, {.24, .00}, {.31, .00}}},
    {5, "cost", "time", {{13400, NAN}, {1500, NAN}, {3500, NAN}}},
    {5, "cpc", "time", {{4100, NAN}, {800, NAN}, {2100, NAN}}},
    {5, "tnc", "time", {{6500, NAN}, {1000, NAN}, {2600, NAN}}},
    {5, "infots", "time", {{6100, NAN}, {1300, NAN}, {3400, NAN}}},
    {5, "ts2vec", "time", {{13900, NAN}, {2300, NAN}, {5500, NAN}}},
    {5, "dynacl", "time", {{3400, NAN}, {600, NAN}, {1900, NAN}}},
    {5, "dynacl-m", "time", {{4600, NAN}, {1200, NAN}, {4400, NAN}}},
};
#undef NA

static int dataset_col(const char *ds) {
    return !strcmp(ds, "harth") ? 0 : !strcmp(ds, "sleepeeg") ? 1 : !strcmp(ds, "ecg") ? 2 : -1;
}

int dc_report_paper_value(int table, const char *method, const char *dataset, const char *metric, double *mean,
                          double *std) {
    int c = dataset ? dataset_col(dataset) : -1;
    if (c < 0 || !method || !metric) return 0;
    for (size_t i = 0; i < sizeof k_paper / sizeof k_paper[0]; i++) {
        const paper_cell *p = &k_paper[i];
        if (p->table == table && !strcmp(p->method, method) && !strcmp(p->metric, metric) && !isnan(p->v[c][0])) {
            if (mean) *mean = p->v[c][0];
            if (std) *std = p->v[c][1];
            return 1;
        }
    }
    return 0;
}

/* ---- entries ------------------------------------------------------------------------------ */

dc_report_entry *dc_report_entry_get(dc_report *r, const char *method, const char *dataset) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].method, method) && !strcmp(r->e[i].dataset, dataset)) return &r->e[i];
    dc_report_entry *e = realloc(r->e, (size_t)(r->n + 1) * sizeof *e);
    if (!e) {
        dc_fail(DC_ERR_OOM, "report: out of memory");
        return NULL;
    }
    r->e = e;
    e = &r->e[r->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->method, sizeof e->method, "%s", method);
    snprintf(e->dataset, sizeof e->dataset, "%s", dataset);
    return e;
}

dc_status dc_report_series_add(dc_report_series *s, double v) {
    if (s->n >= DC_REPORT_MAX_SEEDS) return dc_fail(DC_ERR_ARG, "report: more than %d values in one cell", DC_REPORT_MAX_SEEDS);
    s->v[s->n++] = v;
    return DC_OK;
}

void dc_report_free(dc_report *r) {
    if (!r) return;
    free(r->e);
    r->e = NULL;
    r->n = 0;
}

static void mean_std(const dc_report_series *s, double *m, double *sd) {
    double a = 0, q = 0;
    for (int i = 0; i < s->n; i++) a += s->v[i];
    a = s->n ? a / s->n : 0;
    for (int i = 0; i < s->n; i++) q += (s->v[i] - a) * (s->v[i] - a);
    *m = a;
    *sd = s->n ? sqrt(q / s->n) : 0;
}

char *dc_report_cell(const dc_report_series *s, int digits, char *buf, size_t cap) {
    if (!s || s->n == 0) {
        snprintf(buf, cap, "–");
        return buf;
    }
    double m, sd;
    mean_std(s, &m, &sd);
    snprintf(buf, cap, "%.*f±%.*f", digits, m, digits, sd);
    return buf;
}

/* ---- reading results -------------------------------------------------------------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static dc_status check_protocol(const dc_report *r, const char *p, const char *path) {
    dc_protocol q;
    if (!p) return DC_OK; /* older files without a protocol: accepted */
    if (dc_protocol_parse(p, &q) != DC_OK) return dc_fail(DC_ERR_FORMAT, "%s: unknown protocol '%s'", path, p);
    if (q != r->protocol)
        return dc_fail(DC_ERR_STATE, "%s: protocol %s, but this report is for the %s protocol", path, p,
                       dc_protocol_name(r->protocol));
    return DC_OK;
}

static dc_status add_scores(dc_report_entry *e, const cJSON *k, const cJSON *t) {
    dc_status st = DC_OK;
    if (k && !isnan(num(k, "dbi"))) {
        st = dc_report_series_add(&e->dbi, num(k, "dbi"));
        if (st == DC_OK) st = dc_report_series_add(&e->ss, num(k, "ss"));
        if (st == DC_OK && !isnan(num(k, "ch"))) st = dc_report_series_add(&e->ch, num(k, "ch"));
    }
    if (st == DC_OK && t && !isnan(num(t, "dbi"))) {
        st = dc_report_series_add(&e->dbi_gt, num(t, "dbi"));
        if (st == DC_OK) st = dc_report_series_add(&e->ss_gt, num(t, "ss"));
    }
    return st;
}

static dc_status add_linear(dc_report_entry *e, const cJSON *runs) {
    const cJSON *it;
    dc_status st = DC_OK;
    cJSON_ArrayForEach(it, runs) {
        struct {
            dc_report_series *s;
            const char *key;
        } f[] = {{&e->acc, "accuracy"},          {&e->f1, "f1_weighted"},         {&e->prec, "precision_macro"},
                 {&e->rec, "recall_macro"},      {&e->f1_macro, "f1_macro"},      {&e->f1_weighted, "f1_weighted"},
                 {&e->prec_weighted, "precision_weighted"}, {&e->rec_weighted, "recall_weighted"}};
        for (size_t i = 0; i < sizeof f / sizeof f[0] && st == DC_OK; i++) {
            double v = num(it, f[i].key);
            /* per-seed rounding (docs/METHOD.md §7.1) */
            if (!isnan(v)) st = dc_report_series_add(f[i].s, dc_round2(v));
        }
    }
    return st;
}

/* A cluster.json or linear_eval.json. */
static dc_status add_result_file(dc_report *r, const char *path, int *added) {
    char *txt = slurp(path);
    if (!txt) return dc_fail(DC_ERR_IO, "%s: cannot read", path);
    cJSON *o = cJSON_Parse(txt);
    free(txt);
    if (!o) return dc_fail(DC_ERR_FORMAT, "%s: not valid JSON", path);
    const char *kind = str(o, "kind"), *method = str(o, "method"), *ds = str(o, "dataset");
    dc_status st = DC_OK;
    if (!kind || !method || !ds) st = dc_fail(DC_ERR_FORMAT, "%s: needs \"kind\", \"method\" and \"dataset\"", path);
    if (st == DC_OK) st = check_protocol(r, str(o, "protocol"), path);
    dc_report_entry *e = st == DC_OK ? dc_report_entry_get(r, method, ds) : NULL;
    if (st == DC_OK && !e) st = dc_last_status();
    if (st == DC_OK && !strcmp(kind, "cluster")) {
        st = add_scores(e, cJSON_GetObjectItemCaseSensitive(o, "kmeans"), cJSON_GetObjectItemCaseSensitive(o, "truth"));
        *added += 1;
    } else if (st == DC_OK && !strcmp(kind, "linear_eval")) {
        st = add_linear(e, cJSON_GetObjectItemCaseSensitive(o, "runs"));
        *added += 1;
    } else if (st == DC_OK) {
        st = dc_fail(DC_ERR_FORMAT, "%s: unknown kind '%s'", path, kind);
    }
    cJSON_Delete(o);
    return st;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* A run folder: config.json (+ metrics.jsonl), cluster.json, linear_eval.json. */
static dc_status add_run_dir(dc_report *r, const char *dir, int *added) {
    char p[4200];
    int had_cluster = 0;
    dc_status st = DC_OK;
    if (exists(dc_run_path(dir, DC_RUN_CONFIG, p, sizeof p))) {
        char *txt = slurp(p);
        cJSON *cfg = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        if (!cfg) return dc_fail(DC_ERR_FORMAT, "%s: not valid JSON", p);
        const char *method = str(cfg, "model"), *ds = str(cfg, "dataset");
        if (!method || !ds) st = dc_fail(DC_ERR_FORMAT, "%s: needs \"model\" and \"dataset\"", p);
        if (st == DC_OK) st = check_protocol(r, str(cfg, "protocol"), p);
        dc_report_entry *e = st == DC_OK ? dc_report_entry_get(r, method, ds) : NULL;
        if (st == DC_OK && !e) st = dc_last_status();
        cJSON_Delete(cfg);
        FILE *f = st == DC_OK ? fopen(dc_run_path(dir, DC_RUN_METRICS, p, sizeof p), "r") : NULL;
        if (f) { /* best-J validation (docs/METHOD.md §7.2) and the run's wall time */
            char line[8192];
            double wall = NAN;
            cJSON *best = NULL;
            double best_j = -INFINITY;
            while (fgets(line, sizeof line, f)) {
                cJSON *o = cJSON_Parse(line);
                if (!o) continue;
                double w = num(o, "wall_s"), j = num(o, "j");
                if (!isnan(w) && (isnan(wall) || w > wall)) wall = w;
                if (!isnan(j) && j > best_j) {
                    cJSON_Delete(best);
                    best = o, best_j = j;
                } else {
                    cJSON_Delete(o);
                }
            }
            fclose(f);
            if (!isnan(wall)) st = dc_report_series_add(&e->pretrain_s, wall);
            if (best && st == DC_OK) {
                cJSON *k = cJSON_CreateObject(), *t = NULL;
                cJSON_AddNumberToObject(k, "dbi", num(best, "dbi"));
                cJSON_AddNumberToObject(k, "ss", num(best, "ss"));
                cJSON_AddNumberToObject(k, "ch", num(best, "ch"));
                if (!isnan(num(best, "dbi_gt"))) {
                    t = cJSON_CreateObject();
                    cJSON_AddNumberToObject(t, "dbi", num(best, "dbi_gt"));
                    cJSON_AddNumberToObject(t, "ss", num(best, "ss_gt"));
                }
                st = add_scores(e, k, t);
                cJSON_Delete(k);
                cJSON_Delete(t);
                had_cluster = 1;
            }
            cJSON_Delete(best);
        }
        *added += 1;
    }
    /* result files of another protocol inside a run folder are left out, not an error */
    snprintf(p, sizeof p, "%s/cluster.json", dir);
    if (st == DC_OK && !had_cluster && exists(p) && (st = add_result_file(r, p, added)) == DC_ERR_STATE) st = DC_OK;
    snprintf(p, sizeof p, "%s/linear_eval.json", dir);
    if (st == DC_OK && exists(p) && (st = add_result_file(r, p, added)) == DC_ERR_STATE) st = DC_OK;
    return st;
}

dc_status dc_report_add_path(dc_report *r, const char *path) {
    if (!r || !path) return dc_fail(DC_ERR_ARG, "report: NULL argument");
    struct stat sb;
    if (stat(path, &sb) != 0) return dc_fail(DC_ERR_IO, "%s: no such file or folder", path);
    int added = 0;
    dc_status st = S_ISDIR(sb.st_mode) ? add_run_dir(r, path, &added) : add_result_file(r, path, &added);
    if (st == DC_OK && !added)
        st = dc_fail(DC_ERR_FORMAT, "%s: no config.json, cluster.json or linear_eval.json to report", path);
    return st;
}

/* ---- formatting ---------------------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static char *sb_take(sbuf *b) {
    if (b->oom || !b->s) {
        free(b->s);
        dc_fail(DC_ERR_OOM, "report: out of memory");
        return NULL;
    }
    return b->s;
}

static const char *pretty_dataset(const char *d) {
    return !strcmp(d, "harth") ? "HARTH" : !strcmp(d, "sleepeeg") ? "SleepEEG" : !strcmp(d, "ecg") ? "ECG" : d;
}

/* Distinct methods (in paper order) and datasets (harth, sleepeeg, ecg first). */
static void axes(const dc_report *r, const char **meth, int *nm, const char **dsn, int *nd) {
    *nm = *nd = 0;
    for (int i = 0; i < r->n; i++) {
        int seen = 0;
        for (int j = 0; j < *nm; j++) seen |= !strcmp(meth[j], r->e[i].method);
        if (!seen && *nm < 64) meth[(*nm)++] = r->e[i].method;
        seen = 0;
        for (int j = 0; j < *nd; j++) seen |= !strcmp(dsn[j], r->e[i].dataset);
        if (!seen && *nd < 16) dsn[(*nd)++] = r->e[i].dataset;
    }
    for (int a = 1; a < *nm; a++) /* insertion sorts */
        for (int b = a; b > 0; b--) {
            int ra = et_method_rank(meth[b - 1]), rb = et_method_rank(meth[b]);
            if (ra < rb || (ra == rb && strcmp(meth[b - 1], meth[b]) <= 0)) break;
            const char *t = meth[b];
            meth[b] = meth[b - 1], meth[b - 1] = t;
        }
    for (int a = 1; a < *nd; a++)
        for (int b = a; b > 0; b--) {
            int ra = dataset_col(dsn[b - 1]), rb = dataset_col(dsn[b]);
            ra = ra < 0 ? 9 : ra, rb = rb < 0 ? 9 : rb;
            if (ra < rb || (ra == rb && strcmp(dsn[b - 1], dsn[b]) <= 0)) break;
            const char *t = dsn[b];
            dsn[b] = dsn[b - 1], dsn[b - 1] = t;
        }
}

static const dc_report_entry *find(const dc_report *r, const char *m, const char *d) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].method, m) && !strcmp(r->e[i].dataset, d)) return &r->e[i];
    return NULL;
}

typedef struct column {
    const char *title, *metric; /* metric: the paper's key, NULL = none */
    size_t off;                 /* offset of the series in dc_report_entry */
    int digits;
} column;

static const dc_report_series *series(const dc_report_entry *e, size_t off) {
    return e ? (const dc_report_series *)((const char *)e + off) : NULL;
}

static void paper_cell_txt(int table, const char *m, const char *d, const char *metric, int digits, char *buf, size_t cap) {
    double pm, ps;
    if (!metric || !dc_report_paper_value(table, m, d, metric, &pm, &ps)) snprintf(buf, cap, "–");
    else if (isnan(ps)) snprintf(buf, cap, "%.*f", digits, pm);
    else snprintf(buf, cap, "%.*f±%.*f", digits, pm, digits, ps);
}

static void md_table(sbuf *b, const dc_report *r, int table, const char *title, const column *cols, int nc) {
    const char *meth[64], *dsn[16];
    int nm, nd;
    axes(r, meth, &nm, dsn, &nd);
    sb_printf(b, "### %s\n\n| model |", title);
    for (int d = 0; d < nd; d++)
        for (int c = 0; c < nc; c++) {
            sb_printf(b, " %s %s |", pretty_dataset(dsn[d]), cols[c].title);
            if (cols[c].metric) sb_printf(b, " %s %s (paper) |", pretty_dataset(dsn[d]), cols[c].title);
        }
    sb_printf(b, " seeds |\n|---|");
    for (int d = 0; d < nd; d++)
        for (int c = 0; c < nc; c++) sb_printf(b, "%s", cols[c].metric ? "---|---|" : "---|");
    sb_printf(b, "---|\n");
    for (int m = 0; m < nm; m++) {
        int seeds = 0, any = 0;
        char line[4096] = "", cell[96];
        size_t k = 0;
        for (int d = 0; d < nd; d++) {
            const dc_report_entry *e = find(r, meth[m], dsn[d]);
            for (int c = 0; c < nc; c++) {
                const dc_report_series *s = series(e, cols[c].off);
                if (s && s->n) any = 1;
                if (s && s->n > seeds) seeds = s->n;
                k += (size_t)snprintf(line + k, k < sizeof line ? sizeof line - k : 0, " %s |",
                                      dc_report_cell(s, cols[c].digits, cell, sizeof cell));
                if (cols[c].metric) {
                    paper_cell_txt(table, meth[m], dsn[d], cols[c].metric, cols[c].digits, cell, sizeof cell);
                    k += (size_t)snprintf(line + k, k < sizeof line ? sizeof line - k : 0, " %s |", cell);
                }
            }
        }
        if (any) sb_printf(b, "| %s |%s %d |\n", et_pretty_method(meth[m]), line, seeds);
    }
    sb_printf(b, "\n");
}

#define COL(t, m, f, d) {t, m, offsetof(dc_report_entry, f), d}

static int table_columns(const dc_report *r, int table, column *c) {
    int corr = r->protocol == DC_PROTOCOL_CORRECTED, n = 0;
    if (table == 2) {
        c[n++] = (column)COL("DBI", "dbi", dbi, 2);
        c[n++] = (column)COL("SS", "ss", ss, 2);
        if (corr) {
            c[n++] = (column)COL("DBI (truth)", NULL, dbi_gt, 2);
            c[n++] = (column)COL("SS (truth)", NULL, ss_gt, 2);
        }
    } else if (table == 3) {
        c[n++] = (column)COL("Acc", "acc", acc, 2);
        if (!corr) {
            c[n++] = (column)COL("F1", "f1", f1, 2);
            c[n++] = (column)COL("P", "prec", prec, 2);
            c[n++] = (column)COL("R", "rec", rec, 2);
        } else {
            c[n++] = (column)COL("F1 weighted", "f1", f1_weighted, 2);
            c[n++] = (column)COL("F1 macro", NULL, f1_macro, 2);
            c[n++] = (column)COL("P macro", "prec", prec, 2);
            c[n++] = (column)COL("P weighted", NULL, prec_weighted, 2);
            c[n++] = (column)COL("R macro", "rec", rec, 2);
            c[n++] = (column)COL("R weighted", NULL, rec_weighted, 2);
        }
    } else if (table == 5) {
        c[n++] = (column)COL("time (s)", "time", pretrain_s, 0);
    }
    return n;
}

char *dc_report_markdown(const dc_report *r) {
    if (!r) {
        dc_fail(DC_ERR_ARG, "report: NULL argument");
        return NULL;
    }
    sbuf b = {0};
    const char *pn = dc_protocol_name(r->protocol);
    char title[256];
    column c[12];
    sb_printf(&b, "## Results (protocol: %s)\n\n", pn);
    sb_printf(&b, "Mean ± population std over seeds; the paper's numbers (docs/METHOD.md §8) alongside. "
                  "Linear-evaluation values are rounded to 2 decimals per seed first.\n\n");
    snprintf(title, sizeof title,
             "Table 2 (protocol: %s): clustering of the balanced test subset, k-means labels (k = classes), "
             "the evaluation with the best J%s",
             pn, r->protocol == DC_PROTOCOL_CORRECTED ? "; also on the ground-truth classes" : "");
    md_table(&b, r, 2, title, c, table_columns(r, 2, c));
    snprintf(title, sizeof title,
             "Table 3 (protocol: %s): linear evaluation, accuracy %%, %s", pn,
             r->protocol == DC_PROTOCOL_CORRECTED ? "F1, precision and recall weighted and macro (frozen eval-mode encoder)"
                                                  : "F1 weighted, precision and recall macro (probe BatchNorm in train mode)");
    md_table(&b, r, 3, title, c, table_columns(r, 3, c));
    snprintf(title, sizeof title,
             "Table 5 (protocol: %s): pretraining wall time in seconds (ours: this machine and the run's epochs; "
             "paper: 500 epochs on a V100)",
             pn);
    md_table(&b, r, 5, title, c, table_columns(r, 5, c));
    return sb_take(&b);
}

char *dc_report_csv(const dc_report *r, int table) {
    if (!r || (table != 2 && table != 3 && table != 5)) {
        dc_fail(DC_ERR_ARG, "report: tables are 2, 3 and 5");
        return NULL;
    }
    column c[12];
    int nc = table_columns(r, table, c);
    const char *meth[64], *dsn[16];
    int nm, nd;
    axes(r, meth, &nm, dsn, &nd);
    sbuf b = {0};
    sb_printf(&b, "protocol,model");
    for (int d = 0; d < nd; d++)
        for (int k = 0; k < nc; k++) {
            char key[64];
            snprintf(key, sizeof key, "%s %s", dsn[d], c[k].title);
            for (char *p = key; *p; p++)
                if (*p == ' ' || *p == '(' || *p == ')') *p = '_';
            sb_printf(&b, ",%s_mean,%s_std,%s_n", key, key, key);
            if (c[k].metric) sb_printf(&b, ",%s_paper_mean,%s_paper_std", key, key);
        }
    sb_printf(&b, "\n");
    for (int m = 0; m < nm; m++) {
        sb_printf(&b, "%s,%s", dc_protocol_name(r->protocol), meth[m]);
        for (int d = 0; d < nd; d++) {
            const dc_report_entry *e = find(r, meth[m], dsn[d]);
            for (int k = 0; k < nc; k++) {
                const dc_report_series *s = series(e, c[k].off);
                if (s && s->n) {
                    double mu, sd;
                    mean_std(s, &mu, &sd);
                    sb_printf(&b, ",%.6g,%.6g,%d", mu, sd, s->n);
                } else {
                    sb_printf(&b, ",,,0");
                }
                if (c[k].metric) {
                    double pm, ps;
                    if (dc_report_paper_value(table, meth[m], dsn[d], c[k].metric, &pm, &ps))
                        isnan(ps) ? sb_printf(&b, ",%g,", pm) : sb_printf(&b, ",%g,%g", pm, ps);
                    else
                        sb_printf(&b, ",,");
                }
            }
        }
        sb_printf(&b, "\n");
    }
    return sb_take(&b);
}
