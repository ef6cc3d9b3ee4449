/* fused_composite.c: the primitives-only wrapper backend and the fused-against-composite
 * comparison of one op case (see the header). Not part of the library. */
#include "fused_composite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_backend_impl.h"

/* ---------------------------------------------------------------- the wrapper backend */

#define FC_MAX_KINDS 8
static struct {
    const dc_backend_vtbl *orig;
    dc_backend_vtbl wrapped;
} g_wrap[FC_MAX_KINDS];
static int g_n_wrap, g_forbid;

static const dc_backend_vtbl *orig_of(const dc_backend *be) {
    for (int i = 0; i < g_n_wrap; i++)
        if (&g_wrap[i].wrapped == be->vt) return g_wrap[i].orig;
    return NULL; /* not reached: only wrapped backends call these */
}

static dc_status refuse(const dc_backend *be, const char *what) {
    return dc_fail(DC_ERR_STATE, "%s on %s inside the step (a graph capture would refuse it)", what, be->name);
}

static dc_status fc_upload(dc_backend *be, dc_buffer *dst, size_t off, const void *src, size_t bytes) {
    return g_forbid ? refuse(be, "upload") : orig_of(be)->upload(be, dst, off, src, bytes);
}

static dc_status fc_download(dc_backend *be, const dc_buffer *src, size_t off, void *dst, size_t bytes) {
    return g_forbid ? refuse(be, "download") : orig_of(be)->download(be, src, off, dst, bytes);
}

static dc_status fc_sync(dc_backend *be) {
    if (g_forbid) return refuse(be, "sync");
    return orig_of(be)->sync ? orig_of(be)->sync(be) : DC_OK;
}

static int fc_supports(dc_backend *be, dc_op op, dc_dtype dt) {
    return be->vt->kernels[op] && orig_of(be)->supports(be, op, dt);
}

int fc_forbid_transfers(int on) {
    int was = g_forbid;
    g_forbid = on;
    return was;
}

dc_backend *fc_primitive_backend(const char *kind) {
    dc_backend *be = dc_backend_new(kind);
    if (!be) return NULL;
    int w = 0;
    while (w < g_n_wrap && g_wrap[w].orig != be->vt) w++;
    if (w == g_n_wrap) {
        if (w == FC_MAX_KINDS) {
            dc_backend_free(be);
            dc_fail(DC_ERR_STATE, "fc_primitive_backend: more than %d kinds", FC_MAX_KINDS);
            return NULL;
        }
        dc_backend_vtbl *v = &g_wrap[w].wrapped;
        g_wrap[w].orig = be->vt;
        *v = *be->vt;
        for (int op = 0; op < DC_OP_COUNT; op++)
            if (!dc_op_is_primitive((dc_op)op)) v->kernels[op] = NULL;
        v->upload = fc_upload;
        v->download = fc_download;
        v->sync = fc_sync;
        if (v->supports) v->supports = fc_supports;
        g_n_wrap++;
    }
    be->vt = &g_wrap[w].wrapped;
    return be;
}

/* ---------------------------------------------------------------- the comparison */

double fc_rel_err(const double *a, const double *b, int64_t n, int64_t *nonfinite) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) {
            if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) (*nonfinite)++;
            continue;
        }
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double *fc_to_host(const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    float *f = t->dtype == DC_F32 ? malloc((size_t)(n ? n : 1) * sizeof *f) : NULL;
    dc_status st = !d || (t->dtype == DC_F32 && !f) ? dc_fail(DC_ERR_OOM, "out of host memory")
                   : t->dtype == DC_F64            ? dc_tensor_download(t, d, (size_t)n * 8)
                                                   : dc_tensor_download(t, f, (size_t)n * 4);
    for (int64_t i = 0; f && st == DC_OK && i < n; i++) d[i] = f[i];
    free(f);
    if (st != DC_OK) {
        free(d);
        return NULL;
    }
    return d;
}

typedef struct side {
    double *y, *g[CONF_MAX_IN];
    int64_t ny, ng[CONF_MAX_IN];
} side;

static void side_free(side *s) {
    free(s->y);
    for (int i = 0; i < CONF_MAX_IN; i++) free(s->g[i]);
}

/* Case c on be in dtype dt: output and input gradients to the host. forbid: refuse host
 * transfers while the op and its backward run. *ran gets the composites that ran. */
static dc_status run_side(const conf_case *c, dc_backend *be, dc_dtype dt, int forbid, side *s, uint64_t *ran) {
    memset(s, 0, sizeof *s);
    int64_t before[DC_OP_COUNT];
    for (int op = 0; op < DC_OP_COUNT; op++) before[op] = dc_composite_calls((dc_op)op);
    dc_ctx *data = dc_ctx_new(be), *work = dc_ctx_new(be);
    dc_tensor *in[CONF_MAX_IN] = {0}, *y = NULL;
    dc_status st = data && work ? DC_OK : dc_last_status();
    if (work) dc_ctx_set_poison(work, 1);
    for (int i = 0; st == DC_OK && i < c->n_in; i++) { /* f32 values, converted to dt */
        int label = c->kind[i] == IN_LABEL || c->kind[i] == IN_INDEX;
        dc_dtype idt = c->kind[i] == IN_MASK ? DC_U8 : label ? DC_I32 : DC_F32;
        void *h = conf_make_input(c, i, idt, 3);
        int64_t n = conf_numel(c, i);
        if (h && idt == DC_F32 && dt == DC_F64) {
            double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
            for (int64_t k = 0; d && k < n; k++) d[k] = ((float *)h)[k];
            free(h);
            h = d;
            idt = DC_F64;
        }
        in[i] = h ? dc_tensor_from_host(data, idt, c->ndim[i], c->shape[i], h) : NULL;
        free(h);
        if (!in[i]) st = dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_OOM, "out of host memory");
        else if (c->grad_mask & (1u << i)) st = dc_tensor_set_requires_grad(in[i], 1);
    }
    if (st == DC_OK) {
        int was = fc_forbid_transfers(forbid);
        y = c->build(work, in, c);
        fc_forbid_transfers(was);
        if (!y) st = dc_fail_prefix("forward");
    }
    if (st == DC_OK) {
        s->ny = dc_tensor_numel(y);
        s->y = fc_to_host(y);
        if (!s->y) st = dc_last_status();
    }
    if (st == DC_OK && c->grad_mask) { /* L = sum(w y), w in [-1, 1] from a fixed seed */
        float *wf = malloc((size_t)s->ny * sizeof *wf);
        double *wd = malloc((size_t)s->ny * sizeof *wd);
        dc_rng r = dc_rng_init(77);
        for (int64_t k = 0; wf && wd && k < s->ny; k++) wf[k] = (float)(2 * dc_rng_uniform(&r) - 1), wd[k] = wf[k];
        void *wh = dt == DC_F64 ? (void *)wd : (void *)wf;
        dc_tensor *w = wf && wd ? dc_tensor_from_host(data, dt, y->ndim, y->shape, wh) : NULL;
        free(wf);
        free(wd);
        int was = fc_forbid_transfers(forbid);
        dc_tensor *L = w ? dc_sum_all(work, dc_mul(work, y, w)) : NULL;
        st = L ? dc_backward(work, L) : dc_last_status();
        fc_forbid_transfers(was);
        if (st != DC_OK) dc_fail_prefix("backward");
        for (int i = 0; st == DC_OK && i < c->n_in; i++) {
            if (!(c->grad_mask & (1u << i))) continue;
            if (!in[i]->grad) st = dc_fail(DC_ERR_STATE, "input %d got no gradient", i);
            else if (!(s->g[i] = fc_to_host(in[i]->grad))) st = dc_last_status();
            else s->ng[i] = dc_tensor_numel(in[i]->grad);
        }
    }
    *ran = 0;
    for (int op = 0; op < DC_OP_COUNT; op++)
        if (dc_composite_calls((dc_op)op) > before[op]) *ran |= 1ull << op;
    dc_ctx_free(work);
    dc_ctx_free(data);
    return st;
}

dc_status fc_compare_case(const conf_case *c, dc_backend *fused, dc_backend *composite, dc_dtype dt, fc_result *r) {
    memset(r, 0, sizeof *r);
    side f, p;
    uint64_t ran;
    dc_status st = run_side(c, fused, dt, 0, &f, &ran);
    if (st != DC_OK) {
        side_free(&f);
        return dc_fail_prefix("%s %s on %s (fused)", c->name, dc_dtype_name(dt), dc_backend_name(fused));
    }
    st = run_side(c, composite, dt, 1, &p, &r->composites);
    if (st != DC_OK) dc_fail_prefix("%s %s on %s (composites)", c->name, dc_dtype_name(dt), dc_backend_name(composite));
    else if (p.ny != f.ny)
        st = dc_fail(DC_ERR_SHAPE, "%s: %lld outputs from the composite, %lld fused", c->name, (long long)p.ny,
                     (long long)f.ny);
    if (st == DC_OK) {
        r->worst = r->fwd_err = fc_rel_err(p.y, f.y, f.ny, &r->nonfinite_mismatch);
        for (int i = 0; i < c->n_in; i++) {
            if (!f.g[i]) continue;
            r->grad_err[i] = fc_rel_err(p.g[i], f.g[i], f.ng[i], &r->nonfinite_mismatch);
            if (r->grad_err[i] > r->worst) r->worst = r->grad_err[i];
        }
    }
    side_free(&p);
    side_free(&f);
    return st;
}
