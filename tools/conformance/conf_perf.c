/* conf_perf.c: `dynacl conformance --perf`: microseconds per op at the training sizes of the
 * case table, forward and backward, on the backend under test and on cpu side by side.
 * Median of 5 timed repetitions after one warm-up, each synchronised; poison mode off.
 * The backward time includes the upstream product and sum (L = sum(w * y)) that feed it.
 * Timings are for porting work, not claims: those go through `dynacl bench` into
 * docs/PERFORMANCE.md with machine, date and command.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "tool_common.h"

#define REPS 5

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median forward and backward microseconds of case c on be; 0 ok, -1 + library error. */
static int time_case(const conf_case *c, dc_backend *be, double *fwd_us, double *bwd_us) {
    dc_ctx *data = dc_ctx_new(be), *work = dc_ctx_new(be);
    dc_tensor *in[CONF_MAX_IN] = {0}, *w = NULL;
    double tf[REPS], tb[REPS];
    int ok = data && work;
    if (ok) {
        dc_ctx_set_poison(data, 0);
        dc_ctx_set_poison(work, 0);
        ok = conf_upload_inputs(data, c, DC_F32, 3, 1, in);
    }
    for (int i = 0; ok && i < c->n_in; i++)
        if (c->grad_mask & (1u << i)) dc_tensor_set_requires_grad(in[i], 1);
    for (int rep = -1; ok && rep < REPS; rep++) { /* rep -1: warm-up (plans, kernel builds) */
        dc_ctx_reset(work);
        double t0 = dc_now();
        dc_tensor *y = c->build(work, in, c);
        ok = y && dc_backend_sync(be) == DC_OK;
        double t1 = dc_now();
        if (ok && c->grad_mask) {
            if (!w) {
                w = dc_tensor_full(data, DC_F32, y->ndim, y->shape, 0.5);
                ok = w != NULL;
            }
            dc_tensor *L = ok ? dc_sum_all(work, dc_mul(work, y, w)) : NULL;
            ok = L && dc_backward(work, L) == DC_OK && dc_backend_sync(be) == DC_OK;
        }
        double t2 = dc_now();
        if (rep >= 0) tf[rep] = (t1 - t0) * 1e6, tb[rep] = (t2 - t1) * 1e6;
    }
    if (ok) {
        qsort(tf, REPS, sizeof *tf, cmp_dbl);
        qsort(tb, REPS, sizeof *tb, cmp_dbl);
        *fwd_us = tf[REPS / 2];
        *bwd_us = c->grad_mask ? tb[REPS / 2] : NAN;
    }
    dc_ctx_free(work);
    dc_ctx_free(data);
    return ok ? 0 : -1;
}

static void add_line(conf_report *r, const conf_perf_line *l) {
    if (r->n_perf == r->cap_perf) {
        int cap = r->cap_perf ? 2 * r->cap_perf : 64;
        conf_perf_line *p = realloc(r->perf, (size_t)cap * sizeof *p);
        if (!p) return;
        r->perf = p;
        r->cap_perf = cap;
    }
    r->perf[r->n_perf++] = *l;
}

int conf_run_perf(conf_report *r, int be_i, const conf_opts *o) {
    const char *kind = r->be[be_i];
    dc_backend *be = conf_open_test_backend(o, kind), *cpu = strcmp(kind, "cpu") ? dc_backend_new("cpu") : NULL;
    if (!be) {
        fprintf(o->log, "conformance --perf: %s: %s\n", kind, dc_last_error());
        dc_backend_free(cpu);
        return -1;
    }
    for (int ci = 0; ci < conf_n_cases; ci++) {
        const conf_case *c = &conf_cases[ci];
        if (c->size != CONF_TRAIN || !conf_selected(o, c->name, "ops")) continue;
        conf_perf_line l = {.fwd_us = NAN, .bwd_us = NAN, .cpu_fwd_us = NAN, .cpu_bwd_us = NAN};
        snprintf(l.name, sizeof l.name, "%s", c->name);
        snprintf(l.backend, sizeof l.backend, "%s", kind);
        if (time_case(c, be, &l.fwd_us, &l.bwd_us) != 0)
            fprintf(o->log, "conformance --perf: %s on %s: %s\n", c->name, kind, dc_last_error());
        if (time_case(c, cpu ? cpu : be, &l.cpu_fwd_us, &l.cpu_bwd_us) != 0)
            fprintf(o->log, "conformance --perf: %s on cpu: %s\n", c->name, dc_last_error());
        add_line(r, &l);
    }
    dc_backend_free(cpu);
    dc_backend_free(be);
    return 0;
}
