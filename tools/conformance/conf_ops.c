/* conf_ops.c: the op checks of the conformance suite. Every case of the table runs, for
 * every check kind that applies (conf_checks.c), on the backend under test and on the
 * kind's reference, from the same inputs; the forward output and every input gradient are
 * compared by relative L2 error. Both sides run in poison mode: new tensors are NaN-filled
 * (an element a kernel leaves unwritten shows as a NaN mismatch) and guarded (a write
 * outside a buffer fails the kernel, naming the op and the side). The backward pass uses
 * the same random upstream weights on both sides (L = sum w * y; a plain sum would hide
 * transposed indices). Not here: whole runs (conf_whole.c), the report (conf_report.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "tool_common.h"

void conf_side_free(conf_side_result *r) {
    free(r->y);
    for (int i = 0; i < CONF_MAX_IN; i++) free(r->g[i]);
    memset(r, 0, sizeof *r);
}

static void side_fail(conf_side_result *r, const char *stage) {
    r->st = dc_last_status() != DC_OK ? dc_last_status() : DC_ERR_STATE;
    snprintf(r->err, sizeof r->err, "%s: %s", stage, dc_last_error()[0] ? dc_last_error() : "failed");
}

void conf_run_case(const conf_case *c, dc_backend *be, dc_dtype dt, conf_side_result *r) {
    memset(r, 0, sizeof *r);
    dc_clear_error();
    dc_ctx *data = dc_ctx_new(be), *work = dc_ctx_new(be);
    dc_tensor *in[CONF_MAX_IN] = {0};
    if (!data || !work) {
        side_fail(r, "contexts");
        goto done;
    }
    dc_ctx_set_poison(data, 1);
    dc_ctx_set_poison(work, 1);
    if (!conf_upload_inputs(data, c, dt, 3, 1, in)) {
        side_fail(r, "inputs");
        goto done;
    }
    for (int i = 0; i < c->n_in; i++)
        if (c->grad_mask & (1u << i)) dc_tensor_set_requires_grad(in[i], 1);
    dc_tensor *y = c->build(work, in, c);
    if (!y || !(r->y = conf_download(y))) {
        side_fail(r, "forward");
        goto done;
    }
    r->ny = dc_tensor_numel(y);
    if (!c->grad_mask) goto done;
    /* upstream weights: f32 numbers in [-1, 1), the same on every backend */
    float *wf = malloc((size_t)(r->ny ? r->ny : 1) * sizeof *wf);
    double *wd = malloc((size_t)(r->ny ? r->ny : 1) * sizeof *wd);
    dc_rng rng = dc_rng_init(77);
    for (int64_t k = 0; wf && wd && k < r->ny; k++) wd[k] = wf[k] = (float)(2 * dc_rng_uniform(&rng) - 1);
    dc_tensor *w = wf && wd ? dc_tensor_from_host(data, dt, y->ndim, y->shape, dt == DC_F64 ? (void *)wd : (void *)wf)
                            : NULL;
    free(wf);
    free(wd);
    dc_tensor *L = w ? dc_sum_all(work, dc_mul(work, y, w)) : NULL;
    if (!L || dc_backward(work, L) != DC_OK) {
        side_fail(r, "backward");
        goto done;
    }
    for (int i = 0; i < c->n_in; i++) {
        if (!(c->grad_mask & (1u << i))) continue;
        if (!in[i]->grad) {
            r->st = DC_ERR_STATE;
            snprintf(r->err, sizeof r->err, "backward: input %d got no gradient", i);
            goto done;
        }
        r->ng[i] = dc_tensor_numel(in[i]->grad);
        if (!(r->g[i] = conf_download(in[i]->grad))) {
            side_fail(r, "backward");
            goto done;
        }
    }
done:
    dc_ctx_free(work);
    dc_ctx_free(data);
}

static int64_t count_nonfinite(const double *v, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += !isfinite(v[i]);
    return k;
}

/* Compare one output (or gradient) array; fills *err and returns a FAIL reason or NULL. */
static const char *compare(const double *out, int64_t n_out, const double *ref, int64_t n_ref, double tol,
                           double *err, char *buf, size_t cap) {
    *err = NAN;
    if (n_out != n_ref) {
        snprintf(buf, cap, "%lld elements where the reference has %lld", (long long)n_out, (long long)n_ref);
        return buf;
    }
    int64_t bad_ref = count_nonfinite(ref, n_ref), mism = 0;
    if (bad_ref) { /* every case has finite results: a NaN in the poisoned reference is an unwritten element */
        snprintf(buf, cap, "the reference has %lld non-finite values", (long long)bad_ref);
        return buf;
    }
    *err = conf_rel_err(out, ref, n_ref, &mism);
    if (mism) {
        snprintf(buf, cap, "%lld of %lld elements NaN/Inf where the reference is finite (unwritten or overflowed)",
                 (long long)mism, (long long)n_ref);
        *err = INFINITY;
        return buf;
    }
    if (!(*err <= tol)) {
        snprintf(buf, cap, "rel err %.3g > %.1g", *err, tol);
        return buf;
    }
    return NULL;
}

/* Record one verdict in the op's cells (forward or backward) and in the fused backward
 * kernel's row when the case's backward runs one. */
static void record(conf_report *r, int be, const conf_case *c, int dir, conf_verdict v, double err,
                   const char *reason) {
    conf_cell_add(&r->op[c->op][dir][be], v, err, reason);
    dc_op back = conf_back_op(c->op);
    if (dir == 1 && back != DC_OP_COUNT) conf_cell_add(&r->op[back][0][be], v, err, reason);
}

/* One case, one kind: runs both sides, judges, records; 0 when the kind does not apply. */
static int check_case(conf_report *r, int be_i, dc_backend *be, dc_backend *refs[], const conf_case *c, int k,
                       const conf_opts *o) {
    const conf_kind *kind = &conf_kinds[k];
    const char *bname = r->be[be_i];
    char why[256] = "", reason[1700], buf[256];
    if (!kind->applies(be, c, why, sizeof why)) { /* not a SKIP: nothing to compare */
        if (o->verbose) fprintf(o->log, "  %-30s %-5s n/a   %s\n", c->name, kind->name, why);
        return 0;
    }
    dc_backend *tb = kind->test.backend ? refs[2 * k] : be, *rb = kind->ref.backend ? refs[2 * k + 1] : be;
    conf_side_result ref, out;
    dc_status pst = kind->ref.before ? kind->ref.before(rb) : DC_OK;
    if (pst == DC_OK) conf_run_case(c, rb, kind->ref.dtype, &ref);
    else memset(&ref, 0, sizeof ref), side_fail(&ref, "preparing the reference");
    if (kind->ref.after) kind->ref.after(rb);
    pst = kind->test.before ? kind->test.before(tb) : DC_OK;
    if (pst == DC_OK) conf_run_case(c, tb, kind->test.dtype, &out);
    else memset(&out, 0, sizeof out), side_fail(&out, "preparing the run");
    if (kind->test.after) kind->test.after(tb);

    const conf_tol tol = conf_tolerance(c->op, kind->test.dtype);
    conf_verdict fv = CONF_PASS, gv = CONF_PASS;
    double fe = NAN, ge = NAN;
    char fr[800], gr[800]; /* the forward and backward cells' reasons */
    snprintf(fr, sizeof fr, "worst: %s (%s)", c->name, kind->name);
    snprintf(gr, sizeof gr, "worst: %s (%s)", c->name, kind->name);
    if (ref.st != DC_OK) {
        snprintf(fr, sizeof fr, "%s (%s): the reference %s failed: %s", c->name, kind->name, dc_backend_name(rb),
                 ref.err);
        fv = gv = CONF_FAIL;
    } else if (out.st == DC_ERR_UNSUPPORTED && !out.y) {
        snprintf(fr, sizeof fr, "not supported: %s", out.err);
        fv = gv = CONF_SKIP;
    } else if (out.st != DC_OK && !out.y) {
        snprintf(fr, sizeof fr, "%s (%s): %s", c->name, kind->name, out.err);
        fv = gv = CONF_FAIL;
    } else {
        const char *bad = compare(out.y, out.ny, ref.y, ref.ny, tol.fwd, &fe, buf, sizeof buf);
        if (!bad) bad = conf_exact_check(c, out.y, out.ny, buf, sizeof buf);
        if (bad) {
            fv = CONF_FAIL;
            snprintf(fr, sizeof fr, "%s (%s): forward: %s", c->name, kind->name, bad);
        }
        if (out.st != DC_OK) { /* the forward ran, the backward did not */
            gv = out.st == DC_ERR_UNSUPPORTED ? CONF_SKIP : CONF_FAIL;
            snprintf(gr, sizeof gr, "%s%s (%s): %s", gv == CONF_SKIP ? "not supported: " : "", c->name, kind->name,
                     out.err);
        }
        for (int i = 0; out.st == DC_OK && i < c->n_in; i++) {
            if (!(c->grad_mask & (1u << i))) continue;
            double e;
            bad = compare(out.g[i], out.ng[i], ref.g[i], ref.ng[i], tol.grad, &e, buf, sizeof buf);
            if (!(e <= ge)) ge = e; /* NaN-safe max */
            if (bad && gv != CONF_FAIL) {
                gv = CONF_FAIL;
                snprintf(gr, sizeof gr, "%s (%s): gradient of input %d: %s", c->name, kind->name, i, bad);
            }
        }
    }
    if (fv != CONF_PASS && gv == fv) snprintf(gr, sizeof gr, "%s", fr); /* one failure, both cells */
    record(r, be_i, c, 0, fv, fe, fr);
    if (c->grad_mask) record(r, be_i, c, 1, gv, ge, gr);
    conf_verdict v = (fv == CONF_FAIL || gv == CONF_FAIL) ? CONF_FAIL : (fv == CONF_SKIP ? CONF_SKIP : CONF_PASS);
    snprintf(reason, sizeof reason, "%s%s%s", fv != CONF_PASS ? fr : "",
             fv != CONF_PASS && gv != CONF_PASS && strcmp(fr, gr) ? "; " : "",
             gv != CONF_PASS && strcmp(fr, gr) ? gr : "");
    conf_report_line(r, c->name, bname, kind->name, v, fe, ge, reason);
    if (o->verbose || v == CONF_FAIL) {
        char fs[32] = "-", gs[32] = "-";
        if (!isnan(fe)) snprintf(fs, sizeof fs, "%.2e", fe);
        if (!isnan(ge)) snprintf(gs, sizeof gs, "%.2e", ge);
        fprintf(o->log, "  %-30s %-5s fwd %-9s grad %-9s %s%s%s\n", c->name, kind->name, fs, gs,
                v == CONF_PASS ? "PASS" : v == CONF_SKIP ? "SKIP" : "FAIL", reason[0] ? "  " : "", reason);
    }
    conf_side_free(&ref);
    conf_side_free(&out);
    return 1;
}

int conf_ops_wanted(const conf_opts *o) {
    for (int ci = 0; ci < conf_n_cases; ci++)
        if (!(o->quick && conf_cases[ci].size == CONF_TRAIN) && conf_selected(o, conf_cases[ci].name, "ops")) return 1;
    return 0;
}

int conf_run_ops(conf_report *r, int be_i, const conf_opts *o) {
    const char *bname = r->be[be_i];
    dc_backend *be = conf_open_test_backend(o, bname);
    if (!be) {
        conf_cell_add(conf_run_cell(r, "open", be_i), CONF_FAIL, NAN, dc_last_error());
        return -1;
    }
    /* the kinds' fixed backends (test/ref sides naming a kind), opened once */
    dc_backend *sides[2 * 8] = {0};
    for (int k = 0; k < conf_n_kinds && k < 8; k++)
        for (int s = 0; s < 2; s++) {
            const char *name = s ? conf_kinds[k].ref.backend : conf_kinds[k].test.backend;
            if (!name) continue;
            sides[2 * k + s] = dc_backend_new(name);
            if (sides[2 * k + s]) dc_backend_set_no_fused(sides[2 * k + s], 0); /* its own kernels */
            if (!sides[2 * k + s]) {
                conf_cell_add(conf_run_cell(r, "open", be_i), CONF_FAIL, NAN, dc_last_error());
                for (int j = 0; j < 2 * k + s; j++) dc_backend_free(sides[j]);
                dc_backend_free(be);
                return -1;
            }
        }
    int n_run = 0, total = 0;
    for (int ci = 0; ci < conf_n_cases; ci++)
        total += !(o->quick && conf_cases[ci].size == CONF_TRAIN) && conf_selected(o, conf_cases[ci].name, "ops");
    char label[64];
    snprintf(label, sizeof label, "conformance: %s ops", bname);
    dc_progress prog;
    dc_progress_start(&prog, label, total);
    int per_kind[8] = {0};
    for (int ci = 0; ci < conf_n_cases; ci++) {
        const conf_case *c = &conf_cases[ci];
        if (o->quick && c->size == CONF_TRAIN) continue;
        if (!conf_selected(o, c->name, "ops")) continue;
        for (int k = 0; k < conf_n_kinds && k < 8; k++) per_kind[k] += check_case(r, be_i, be, sides, c, k, o);
        if (!o->verbose) dc_progress_update(&prog, ++n_run, c->name);
        else n_run++;
    }
    if (!o->verbose && total) dc_progress_finish(&prog, "");
    char kinds[256] = "";
    for (int k = 0; k < conf_n_kinds && k < 8; k++)
        snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s %d", k ? ", " : "", conf_kinds[k].name,
                 per_kind[k]);
    fprintf(o->log, "conformance: %s: %d op cases (checks by kind: %s) in %.1f s\n", bname, n_run, kinds,
            dc_now() - prog.t0);
    for (int j = 0; j < 2 * 8; j++) dc_backend_free(sides[j]);
    dc_backend_free(be);
    return 0;
}
