/* conf_report.c: the conformance report: cells, case lines, the coverage matrix (op x
 * {forward, backward} x backend, then the whole-run rows) and its JSON form; plus the
 * small helpers every runner uses (relative error, downloads, selection by name).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "dc/dc_atomic.h"

conf_opts conf_opts_default(void) {
    conf_opts o = {0};
    o.log = stdout;
    return o;
}

dc_backend *conf_open_test_backend(const conf_opts *o, const char *kind) {
    return o->open_backend ? o->open_backend(kind) : dc_backend_new(kind);
}

void conf_report_init(conf_report *r) { memset(r, 0, sizeof *r); }

void conf_report_free(conf_report *r) {
    free(r->lines);
    free(r->perf);
    memset(r, 0, sizeof *r);
}

int conf_report_add_backend(conf_report *r, const char *kind) {
    if (r->n_be >= CONF_MAX_BE) return -1;
    snprintf(r->be[r->n_be], sizeof r->be[0], "%s", kind);
    return r->n_be++;
}

static int rank(conf_verdict v) { return v == CONF_FAIL ? 3 : v == CONF_PASS ? 2 : v == CONF_SKIP ? 1 : 0; }

void conf_cell_add(conf_cell *c, conf_verdict v, double err, const char *reason) {
    if (c->n == 0) c->worst = NAN;
    c->n++;
    int worse_err = !isnan(err) && (isnan(c->worst) || err > c->worst);
    if (worse_err) c->worst = err;
    /* the reason shown: the first FAIL's; else, for PASS, where the worst error was; else
     * the first SKIP's */
    if (rank(v) > rank(c->v) || (v == CONF_PASS && c->v == CONF_PASS && worse_err))
        snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "");
    if (rank(v) > rank(c->v)) c->v = v;
}

void conf_report_line(conf_report *r, const char *name, const char *backend, const char *kind, conf_verdict v,
                      double fwd, double grad, const char *reason) {
    if (r->n_lines == r->cap_lines) {
        int cap = r->cap_lines ? 2 * r->cap_lines : 256;
        conf_line *p = realloc(r->lines, (size_t)cap * sizeof *p);
        if (!p) return; /* the line is lost, the verdict counts below still hold */
        r->lines = p;
        r->cap_lines = cap;
    }
    conf_line *l = &r->lines[r->n_lines++];
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->backend, sizeof l->backend, "%s", backend);
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    l->v = v;
    l->fwd = fwd;
    l->grad = grad;
    snprintf(l->reason, sizeof l->reason, "%s", reason ? reason : "");
    if (v == CONF_FAIL) r->n_fail++;
    else if (v == CONF_PASS) r->n_pass++;
    else if (v == CONF_SKIP) r->n_skip++;
}

conf_cell *conf_run_cell(conf_report *r, const char *run, int be) {
    for (int i = 0; i < r->n_runs; i++)
        if (!strcmp(r->run_name[i], run)) return &r->run[i][be];
    int i = r->n_runs < CONF_MAX_RUNS ? r->n_runs++ : CONF_MAX_RUNS - 1; /* the table is sized for every row */
    snprintf(r->run_name[i], sizeof r->run_name[0], "%s", run);
    return &r->run[i][be];
}

int conf_selected(const conf_opts *o, const char *name, const char *group) {
    if (!o->only || !*o->only) return 1;
    const char *p = o->only;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && ((strlen(group) == len && !strncmp(group, p, len)) || !strncmp(name, p, len))) return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

double conf_rel_err(const double *out, const double *ref, int64_t n, int64_t *nan_mismatch) {
    double num = 0, den = 0;
    *nan_mismatch = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(out[i]) != isnan(ref[i]) || (isinf(ref[i]) && out[i] != ref[i]) || (isinf(out[i]) && !isinf(ref[i]))) {
            (*nan_mismatch)++;
            continue;
        }
        if (!isfinite(ref[i])) continue;
        num += (out[i] - ref[i]) * (out[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return den == 0 ? sqrt(num) : sqrt(num / den);
}

double *conf_download(const dc_tensor *t) {
    const int64_t n = dc_tensor_numel(t);
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (!d) {
        dc_fail(DC_ERR_OOM, "conformance: out of host memory");
        return NULL;
    }
    dc_status st;
    if (t->dtype == DC_F64) {
        st = dc_tensor_download(t, d, (size_t)n * 8);
    } else if (t->dtype == DC_F32) {
        float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
        st = f ? dc_tensor_download(t, f, (size_t)n * 4) : dc_fail(DC_ERR_OOM, "conformance: out of host memory");
        for (int64_t i = 0; f && st == DC_OK && i < n; i++) d[i] = f[i];
        free(f);
    } else {
        st = dc_fail(DC_ERR_DTYPE, "conformance: a %s result where a float tensor was expected",
                     dc_dtype_name(t->dtype));
    }
    if (st != DC_OK) {
        free(d);
        return NULL;
    }
    return d;
}

/* ---------------------------------------------------------------- the matrix */

static const char *verdict_name(conf_verdict v) {
    return v == CONF_PASS ? "PASS" : v == CONF_FAIL ? "FAIL" : v == CONF_SKIP ? "SKIP" : "-";
}

static void print_cell(FILE *f, const conf_cell *c) {
    char buf[32];
    if (c->v == CONF_NONE) snprintf(buf, sizeof buf, "-");
    else if (isnan(c->worst) || c->v == CONF_SKIP) snprintf(buf, sizeof buf, "%s", verdict_name(c->v));
    else if (isinf(c->worst)) snprintf(buf, sizeof buf, "%s inf", verdict_name(c->v));
    else snprintf(buf, sizeof buf, "%s %.1e", verdict_name(c->v), c->worst);
    fprintf(f, " %-14s", buf);
}

void conf_print_matrix(FILE *f, const conf_report *r) {
    int ran = 0; /* any op check at all (--only runs: no op rows) */
    for (int op = 0; op < DC_OP_COUNT; op++)
        for (int b = 0; b < r->n_be; b++) ran |= r->op[op][0][b].v != CONF_NONE;
    fprintf(f, "\ncoverage: op x {forward, backward} x backend: worst relative error against the reference, "
               "PASS / FAIL / SKIP (- = not run)\n");
    if (ran) {
        fprintf(f, "%-18s %-4s", "op", "dir");
        for (int b = 0; b < r->n_be; b++) fprintf(f, " %-14s", r->be[b]);
        fprintf(f, "\n");
    }
    for (int op = 0; ran && op < DC_OP_COUNT; op++)
        for (int dir = 0; dir < 2; dir++) {
            int any = 0, row = 0;
            for (int b = 0; b < r->n_be; b++) any |= r->op[op][dir][b].v != CONF_NONE;
            for (int b = 0; b < r->n_be; b++) row |= r->op[op][0][b].v != CONF_NONE || r->op[op][1][b].v != CONF_NONE;
            if (!row) continue;                                                  /* not selected */
            if (dir == 1 && !any && !dc_op_differentiable((dc_op)op)) continue; /* no backward to show */
            fprintf(f, "%-18s %-4s", dc_op_name((dc_op)op), dir ? "bwd" : "fwd");
            for (int b = 0; b < r->n_be; b++) print_cell(f, &r->op[op][dir][b]);
            fprintf(f, "\n");
        }
    if (r->n_runs) {
        fprintf(f, "\n%-28s", "whole runs");
        for (int b = 0; b < r->n_be; b++) fprintf(f, " %-14s", r->be[b]);
        fprintf(f, "\n");
        for (int i = 0; i < r->n_runs; i++) {
            fprintf(f, "%-28s", r->run_name[i]);
            for (int b = 0; b < r->n_be; b++) print_cell(f, &r->run[i][b]);
            fprintf(f, "\n");
        }
    }
    /* every FAIL and SKIP cell with its reason, so the matrix names what broke */
    int header = 0;
    for (int b = 0; b < r->n_be; b++) {
        for (int op = 0; op < DC_OP_COUNT; op++)
            for (int dir = 0; dir < 2; dir++) {
                const conf_cell *c = &r->op[op][dir][b];
                if (c->v != CONF_FAIL && c->v != CONF_SKIP) continue;
                if (!header++) fprintf(f, "\nreasons:\n");
                fprintf(f, "  %s %s %s %s: %s\n", verdict_name(c->v), dc_op_name((dc_op)op), dir ? "bwd" : "fwd", r->be[b],
                        c->reason);
            }
        for (int i = 0; i < r->n_runs; i++) {
            const conf_cell *c = &r->run[i][b];
            if (c->v != CONF_FAIL && c->v != CONF_SKIP) continue;
            if (!header++) fprintf(f, "\nreasons:\n");
            fprintf(f, "  %s %s %s: %s\n", verdict_name(c->v), r->run_name[i], r->be[b], c->reason);
        }
    }
    fprintf(f, "\nconformance: %d passed, %d failed, %d skipped%s\n", r->n_pass, r->n_fail, r->n_skip,
            r->quick ? " (--quick: toy and odd sizes, short runs)" : "");
}

void conf_print_perf(FILE *f, const conf_report *r) {
    if (!r->n_perf) return;
    fprintf(f, "\nperf: microseconds per op at training sizes (median), next to cpu\n");
    fprintf(f, "%-30s %-8s %12s %12s %12s %12s\n", "case", "backend", "fwd us", "bwd us", "cpu fwd us", "cpu bwd us");
    for (int i = 0; i < r->n_perf; i++) {
        const conf_perf_line *p = &r->perf[i];
        fprintf(f, "%-30s %-8s %12.1f %12.1f %12.1f %12.1f\n", p->name, p->backend, p->fwd_us, p->bwd_us, p->cpu_fwd_us,
                p->cpu_bwd_us);
    }
}

/* ---------------------------------------------------------------- JSON */

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *cell_json(const conf_cell *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "verdict", verdict_name(c->v));
    cJSON_AddItemToObject(o, "worst", num_or_null(c->worst));
    cJSON_AddNumberToObject(o, "checks", c->n);
    cJSON_AddStringToObject(o, "reason", c->reason);
    return o;
}

dc_status conf_write_json(const char *path, const conf_report *r) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "dynacl conformance");
    cJSON_AddStringToObject(root, "version", dc_version());
    cJSON_AddBoolToObject(root, "quick", r->quick);
    cJSON *bes = cJSON_AddArrayToObject(root, "backends");
    for (int b = 0; b < r->n_be; b++) cJSON_AddItemToArray(bes, cJSON_CreateString(r->be[b]));
    cJSON *ops = cJSON_AddArrayToObject(root, "matrix");
    for (int op = 0; op < DC_OP_COUNT; op++)
        for (int dir = 0; dir < 2; dir++)
            for (int b = 0; b < r->n_be; b++) {
                const conf_cell *c = &r->op[op][dir][b];
                if (c->v == CONF_NONE) continue;
                cJSON *o = cell_json(c);
                cJSON_AddStringToObject(o, "op", dc_op_name((dc_op)op));
                cJSON_AddStringToObject(o, "direction", dir ? "backward" : "forward");
                cJSON_AddStringToObject(o, "backend", r->be[b]);
                cJSON_AddItemToArray(ops, o);
            }
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    for (int i = 0; i < r->n_runs; i++)
        for (int b = 0; b < r->n_be; b++) {
            if (r->run[i][b].v == CONF_NONE) continue;
            cJSON *o = cell_json(&r->run[i][b]);
            cJSON_AddStringToObject(o, "check", r->run_name[i]);
            cJSON_AddStringToObject(o, "backend", r->be[b]);
            cJSON_AddItemToArray(runs, o);
        }
    cJSON *lines = cJSON_AddArrayToObject(root, "checks");
    for (int i = 0; i < r->n_lines; i++) {
        const conf_line *l = &r->lines[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", l->name);
        cJSON_AddStringToObject(o, "backend", l->backend);
        cJSON_AddStringToObject(o, "kind", l->kind);
        cJSON_AddStringToObject(o, "verdict", verdict_name(l->v));
        cJSON_AddItemToObject(o, "forward_error", num_or_null(l->fwd));
        cJSON_AddItemToObject(o, "gradient_error", num_or_null(l->grad));
        cJSON_AddStringToObject(o, "reason", l->reason);
        cJSON_AddItemToArray(lines, o);
    }
    cJSON *perf = cJSON_AddArrayToObject(root, "perf");
    for (int i = 0; i < r->n_perf; i++) {
        const conf_perf_line *p = &r->perf[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "case", p->name);
        cJSON_AddStringToObject(o, "backend", p->backend);
        cJSON_AddItemToObject(o, "forward_us", num_or_null(p->fwd_us));
        cJSON_AddItemToObject(o, "backward_us", num_or_null(p->bwd_us));
        cJSON_AddItemToObject(o, "cpu_forward_us", num_or_null(p->cpu_fwd_us));
        cJSON_AddItemToObject(o, "cpu_backward_us", num_or_null(p->cpu_bwd_us));
        cJSON_AddItemToArray(perf, o);
    }
    cJSON_AddNumberToObject(root, "passed", r->n_pass);
    cJSON_AddNumberToObject(root, "failed", r->n_fail);
    cJSON_AddNumberToObject(root, "skipped", r->n_skip);
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt) return dc_fail(DC_ERR_OOM, "conformance: out of memory for the JSON report");
    size_t n = strlen(txt);
    txt[n] = '\n'; /* cJSON's buffer has room for the terminator we overwrite */
    dc_status st = dc_atomic_write(path, txt, n + 1);
    free(txt);
    return st;
}
