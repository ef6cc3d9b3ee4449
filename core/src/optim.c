/* optim.c: parameter groups (members are views into one flat buffer) and AdamW, which
 * runs as one ADAMW kernel over the whole flat buffer (or its composite, composite_elementwise.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_common.h"

#define PARAM_ALIGN 16 /* elements */

struct dc_params {
    dc_backend *be;
    dc_dtype dtype;
    int trainable;
    int n, cap;
    dc_tensor **members;
    int64_t *offsets;   /* element offset of each member */
    int64_t total;      /* elements including alignment gaps */
    dc_ctx *ctx;        /* owns the flat value and grad buffers */
    dc_tensor *flat, *flat_grad;
};

struct dc_adamw {
    dc_params *ps;
    dc_adamw_opts o;
    int64_t t;          /* host mirror of the step count */
    dc_ctx *ctx;
    dc_ctx *scratch;    /* temporaries of the ADAMW composite, reset after each step */
    dc_tensor *m, *v;
    dc_tensor *t_dev;   /* the step count on the device (1 element) */
};

dc_params *dc_params_new(dc_backend *be, dc_dtype dt, int trainable) {
    if (!be) {
        dc_fail(DC_ERR_ARG, "params: backend is NULL");
        return NULL;
    }
    if (dt != DC_F32 && dt != DC_F64) {
        dc_fail(DC_ERR_DTYPE, "params: dtype must be f32 or f64, got %s", dc_dtype_name(dt));
        return NULL;
    }
    dc_params *ps = calloc(1, sizeof *ps);
    if (!ps || !(ps->ctx = dc_ctx_new(be))) {
        free(ps);
        dc_fail(DC_ERR_OOM, "params: out of host memory");
        return NULL;
    }
    ps->be = be;
    ps->dtype = dt;
    ps->trainable = trainable;
    return ps;
}

void dc_params_free(dc_params *ps) {
    if (!ps) return;
    free(ps->members);
    free(ps->offsets);
    dc_ctx_free(ps->ctx);
    free(ps);
}

dc_tensor *dc_params_add(dc_params *ps, const char *name, int ndim, const int64_t *shape) {
    if (!ps || !name) {
        dc_fail(DC_ERR_ARG, "params_add: NULL group or name");
        return NULL;
    }
    if (ps->flat) {
        dc_fail(DC_ERR_STATE, "params_add '%s': group is already allocated", name);
        return NULL;
    }
    if (dc_params_find(ps, name)) {
        dc_fail(DC_ERR_ARG, "params_add: duplicate name '%s'", name);
        return NULL;
    }
    if (ps->n == ps->cap) {
        int nc = ps->cap ? ps->cap * 2 : 16;
        dc_tensor **m = realloc(ps->members, (size_t)nc * sizeof *m);
        int64_t *o = m ? realloc(ps->offsets, (size_t)nc * sizeof *o) : NULL;
        if (m) ps->members = m;
        if (!m || !o) {
            dc_fail(DC_ERR_OOM, "params_add: out of host memory");
            return NULL;
        }
        ps->offsets = o;
        ps->cap = nc;
    }
    dc_tensor *own = dc_tensor_struct_new(ps->ctx, ps->dtype, ndim, shape); /* lives in the group's arena */
    if (!own) return NULL;
    own->ctx = NULL;
    own->flags = ps->trainable ? (DC_PARAM | DC_NEEDS_GRAD) : 0;
    dc_tensor_set_name(own, name);
    ps->offsets[ps->n] = ps->total;
    ps->total += (dc_tensor_numel(own) + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    ps->members[ps->n++] = own;
    return own;
}

dc_status dc_params_alloc(dc_params *ps) {
    if (!ps) return dc_fail(DC_ERR_ARG, "params_alloc: group is NULL");
    if (ps->flat) return dc_fail(DC_ERR_STATE, "params_alloc: already allocated");
    int64_t n = ps->total ? ps->total : 1;
    ps->flat = dc_tensor_zeros(ps->ctx, ps->dtype, 1, &n);
    if (!ps->flat) return dc_last_status();
    if (ps->trainable) {
        ps->flat_grad = dc_tensor_zeros(ps->ctx, ps->dtype, 1, &n);
        if (!ps->flat_grad) return dc_last_status();
    }
    size_t es = dc_dtype_size(ps->dtype);
    for (int i = 0; i < ps->n; i++) {
        dc_tensor *t = ps->members[i];
        t->buf = ps->flat->buf;
        t->offset = ps->flat->offset + (size_t)ps->offsets[i] * es;
        if (ps->trainable) {
            dc_tensor *g = dc_arena_alloc(ps->ctx, sizeof *g);
            if (!g) return dc_fail(DC_ERR_OOM, "params_alloc: out of host memory");
            *g = *t;
            g->flags = DC_VIEW;
            g->grad = NULL;
            g->buf = ps->flat_grad->buf;
            g->offset = ps->flat_grad->offset + (size_t)ps->offsets[i] * es;
            g->name[0] = '\0';
            t->grad = g;
        }
    }
    return DC_OK;
}

int dc_params_count(const dc_params *ps) { return ps ? ps->n : 0; }
dc_tensor *dc_params_get(const dc_params *ps, int i) { return (ps && i >= 0 && i < ps->n) ? ps->members[i] : NULL; }
dc_tensor *dc_params_flat(const dc_params *ps) { return ps ? ps->flat : NULL; }
dc_tensor *dc_params_flat_grad(const dc_params *ps) { return ps ? ps->flat_grad : NULL; }

dc_tensor *dc_params_find(const dc_params *ps, const char *name) {
    if (!ps || !name) return NULL;
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->members[i]->name, name) == 0) return ps->members[i];
    return NULL;
}

int64_t dc_params_numel(const dc_params *ps) {
    int64_t s = 0;
    for (int i = 0; ps && i < ps->n; i++) s += dc_tensor_numel(ps->members[i]);
    return s;
}

dc_status dc_params_zero_grad(dc_params *ps) {
    if (!ps || !ps->flat) return dc_fail(DC_ERR_STATE, "params_zero_grad: group not allocated");
    dc_phase ph = dc_profile_set_phase(DC_PHASE_UPDATE);
    dc_status st = ps->flat_grad ? dc_tensor_fill(ps->flat_grad, 0.0) : DC_OK;
    dc_profile_set_phase(ph);
    return st;
}

dc_status dc_params_copy(dc_params *dst, const dc_params *src) {
    if (!dst || !src || !dst->flat || !src->flat) return dc_fail(DC_ERR_ARG, "params_copy: groups must be allocated");
    for (int i = 0; i < dst->n; i++) {
        dc_tensor *d = dst->members[i], *s = dc_params_find(src, d->name);
        if (!s) return dc_fail(DC_ERR_ARG, "params_copy: source has no tensor '%s'", d->name);
        if (!dc_tensor_same_shape(d, s)) {
            char a[128], b[128];
            return dc_fail(DC_ERR_SHAPE, "params_copy: '%s' is %s here but %s in the source", d->name,
                           dc_shape_str(d, a, sizeof a), dc_shape_str(s, b, sizeof b));
        }
        size_t n = (size_t)dc_tensor_numel(d);
        double *tmp = malloc(n * sizeof(double) + 1);
        if (!tmp) return dc_fail(DC_ERR_OOM, "params_copy: out of host memory");
        dc_status st = dc_tensor_download(s, tmp, n * dc_dtype_size(s->dtype));
        if (st == DC_OK && s->dtype != d->dtype) { /* convert in place through doubles */
            if (s->dtype == DC_F32) for (size_t k = n; k-- > 0;) tmp[k] = ((float *)tmp)[k];
            else for (size_t k = 0; k < n; k++) ((float *)tmp)[k] = (float)tmp[k];
        }
        if (st == DC_OK) st = dc_tensor_upload(d, tmp, n * dc_dtype_size(d->dtype));
        free(tmp);
        if (st != DC_OK) return st;
    }
    return DC_OK;
}

/* ---------------------------------------------------------------- AdamW */

dc_adamw_opts dc_adamw_opts_default(void) {
    dc_adamw_opts o = {1e-3, 0.9, 0.999, 1e-8, 0.01};
    return o;
}

dc_adamw *dc_adamw_new(dc_params *ps, dc_adamw_opts o) {
    if (!ps || !ps->flat_grad) {
        dc_fail(DC_ERR_ARG, "adamw: needs an allocated trainable parameter group");
        return NULL;
    }
    if (!(o.lr >= 0) || !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps >= 0) ||
        !(o.weight_decay >= 0)) {
        dc_fail(DC_ERR_ARG, "adamw: invalid hyperparameters (lr %g, betas %g/%g, eps %g, wd %g)", o.lr, o.beta1,
                o.beta2, o.eps, o.weight_decay);
        return NULL;
    }
    dc_adamw *opt = calloc(1, sizeof *opt);
    if (!opt || !(opt->ctx = dc_ctx_new(ps->be)) || !(opt->scratch = dc_ctx_new(ps->be))) {
        if (opt) dc_ctx_free(opt->ctx);
        free(opt);
        dc_fail(DC_ERR_OOM, "adamw: out of host memory");
        return NULL;
    }
    opt->ps = ps;
    opt->o = o;
    opt->m = dc_tensor_zeros(opt->ctx, ps->dtype, 1, &ps->total);
    opt->v = opt->m ? dc_tensor_zeros(opt->ctx, ps->dtype, 1, &ps->total) : NULL;
    opt->t_dev = opt->v ? dc_tensor_zeros(opt->ctx, ps->dtype, 1, (int64_t[]){1}) : NULL;
    if (!opt->t_dev) {
        dc_adamw_free(opt);
        return NULL;
    }
    return opt;
}

void dc_adamw_free(dc_adamw *opt) {
    if (!opt) return;
    dc_ctx_free(opt->ctx);
    dc_ctx_free(opt->scratch);
    free(opt);
}

dc_status dc_adamw_step(dc_adamw *opt) {
    if (!opt) return dc_fail(DC_ERR_ARG, "adamw_step: optimizer is NULL");
    dc_op_params p = {{0}};
    p.f[0] = opt->o.lr;
    p.f[1] = opt->o.beta1;
    p.f[2] = opt->o.beta2;
    p.f[3] = opt->o.eps;
    p.f[4] = opt->o.weight_decay;
    const dc_tensor *in[5] = {opt->ps->flat, opt->ps->flat_grad, opt->m, opt->v, opt->t_dev};
    /* the kernel, or its composite with temporaries in scratch (pooled: the next step, and a
     * captured graph, get the same buffers back) */
    dc_phase ph = dc_profile_set_phase(DC_PHASE_UPDATE);
    dc_status st = dc_run_kernel(opt->scratch, DC_OP_ADAMW, 5, in, 0, NULL, &p);
    dc_ctx_reset(opt->scratch);
    if (st != DC_OK) {
        dc_profile_set_phase(ph);
        return st;
    }
    /* t_dev += 1 on the device */
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_SCALE);
    a.in[0] = opt->t_dev;
    a.out[0] = opt->t_dev;
    a.n_in = a.n_out = 1;
    a.p.f[0] = 1.0;
    a.p.f[1] = 1.0;
    st = dc_dispatch(opt->ps->be, &a);
    dc_profile_set_phase(ph);
    if (st == DC_OK) opt->t++;
    return st;
}

void dc_adamw_set_lr(dc_adamw *opt, double lr) { if (opt) opt->o.lr = lr; }
double dc_adamw_lr(const dc_adamw *opt) { return opt ? opt->o.lr : 0.0; }
int64_t dc_adamw_steps(const dc_adamw *opt) { return opt ? opt->t : 0; }
dc_status dc_adamw_set_steps(dc_adamw *opt, int64_t t) {
    if (!opt || t < 0) return dc_fail(DC_ERR_ARG, "adamw_set_steps: NULL optimizer or negative step count");
    opt->t = t;
    return dc_tensor_fill(opt->t_dev, (double)t);
}
dc_tensor *dc_adamw_m(const dc_adamw *opt) { return opt ? opt->m : NULL; }
dc_tensor *dc_adamw_v(const dc_adamw *opt) { return opt ? opt->v : NULL; }
