/* model_registry.c: the registry of pretraining methods (one line per method; each method's
 * vtable, options and display name live in its own folder), the options every method has,
 * resolving a method's defaults from its table, checking a configuration, and
 * creating/freeing/calling a method. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/dc_cost.h"
#include "cpc/dc_cpc.h"
#include "dynacl/dc_dynacl.h"
#include "infots/dc_infots.h"
#include "tnc/dc_tnc.h"
#include "train/dc_model.h"
#include "ts2vec/dc_ts2vec.h"

static const dc_model_vtbl *const k_methods[] = {
    &dc_dynacl_vtbl, &dc_dynacl_m_vtbl, &dc_mpxent_mse_vtbl, &dc_mpxent_margin_vtbl,
    &dc_ts2vec_vtbl, &dc_cpc_vtbl,      &dc_tnc_vtbl,        &dc_infots_vtbl,
    &dc_cost_vtbl,
};
#define N_METHODS ((int)(sizeof k_methods / sizeof k_methods[0]))

/* The options of every method. */
enum { COMMON_SEED, COMMON_TRAIN_HEADS, N_COMMON };
static const dc_option k_common[N_COMMON] = {
    [COMMON_SEED] = {"seed", "seed", NULL, DC_OPTION_INT, "[0, 9007199254740992]", .def = {{.value = 42}},
                     .help = "seed of the initialisation, batches and masks", .store = DC_OPTION_U64,
                     .offset = offsetof(dc_model_config, seed)},
    /* docs/METHOD.md §9 item 20: the authors' scripts create the heads after the optimiser */
    [COMMON_TRAIN_HEADS] = {"train_heads", NULL, "flags", DC_OPTION_BOOL, .def = {{NULL, "corrected", 1}, {.value = 0}},
                            .help = "optimise the method's heads (CPC GRU and estimator, TNC discriminator, InfoTS weights)",
                            .store = DC_OPTION_INT32, .offset = offsetof(dc_model_config, train_heads)},
};
static const dc_option_table k_common_table = {"common", k_common, N_COMMON};

const dc_option_table *dc_model_common_options(void) { return &k_common_table; }

const dc_model_vtbl *dc_model_method(const char *name) {
    for (int i = 0; name && i < N_METHODS; i++)
        if (!strcmp(name, k_methods[i]->name)) return k_methods[i];
    return NULL;
}

const dc_option_table *dc_model_options(const char *name) {
    const dc_model_vtbl *vt = dc_model_method(name);
    return vt ? vt->options : NULL;
}

const char *dc_model_display_name(const char *name) {
    const dc_model_vtbl *vt = dc_model_method(name);
    return vt ? vt->display_name : NULL;
}

const char *const *dc_model_names(void) {
    static const char *names[N_METHODS + 1];
    for (int i = 0; i < N_METHODS; i++) names[i] = k_methods[i]->name;
    names[N_METHODS] = NULL;
    return names;
}

dc_model_config dc_model_config_defaults(const char *model, const char *dataset, const char *protocol) {
    dc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "%s", model ? model : "dynacl");
    snprintf(c.dataset, sizeof c.dataset, "%s", dataset ? dataset : "other");
    snprintf(c.protocol, sizeof c.protocol, "%s", protocol ? protocol : "authors");
    for (int i = 0; i < N_COMMON; i++) dc_option_put(&k_common_table, i, &c, dc_option_default_value(&k_common[i], c.dataset, c.protocol));
    const dc_model_vtbl *vt = dc_model_method(c.model);
    const dc_option_table *t = vt ? vt->options : NULL;
    for (int i = 0; t && i < t->n && i < DC_MODEL_MAX_OPTIONS; i++)
        dc_option_put(t, i, c.opt, dc_option_default_value(&t->rows[i], c.dataset, c.protocol));
    if (vt && vt->heads_always_train) c.train_heads = 1;
    return c;
}

static dc_status unknown_model(const char *name) {
    char list[256] = "";
    for (int i = 0; i < N_METHODS; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, k_methods[i]->name, sizeof list - strlen(list) - 1);
    }
    return dc_fail(DC_ERR_ARG, "unknown model '%s' (known: %s)", name, list);
}

dc_status dc_model_config_check(const dc_model_config *c) {
    const dc_model_vtbl *vt = dc_model_method(c->model);
    if (!vt) return unknown_model(c->model);
    if (strcmp(c->protocol, "authors") && strcmp(c->protocol, "corrected"))
        return dc_fail(DC_ERR_ARG, "protocol must be 'authors' or 'corrected', got '%s'", c->protocol);
    for (int i = 0; i < N_COMMON; i++)
        if (dc_option_check(&k_common[i], dc_option_get(&k_common_table, i, c)) != DC_OK) return dc_last_status();
    const dc_option_table *t = vt->options;
    if (t && t->n > DC_MODEL_MAX_OPTIONS)
        return dc_fail(DC_ERR_ARG, "%s declares %d options, more than DC_MODEL_MAX_OPTIONS (%d)", vt->name, t->n,
                       DC_MODEL_MAX_OPTIONS);
    for (int i = 0; t && i < t->n; i++)
        if (dc_option_check(&t->rows[i], c->opt[i]) != DC_OK) return dc_last_status();
    return vt->check ? vt->check(c) : DC_OK;
}

/* The table and row of key among the common options and those of cfg's method. */
static dc_status find_option(const dc_model_config *c, const char *key, const dc_option_table **t, int *row) {
    const dc_option_table *own = dc_model_options(c->model);
    const dc_option_table *tabs[2] = {&k_common_table, own};
    for (int k = 0; k < 2; k++)
        for (int i = 0; tabs[k] && key && i < tabs[k]->n; i++)
            if (!strcmp(tabs[k]->rows[i].key, key)) {
                *t = tabs[k];
                *row = i;
                return DC_OK;
            }
    if (!dc_model_method(c->model)) return unknown_model(c->model);
    for (int m = 0; key && m < N_METHODS; m++)
        if (dc_option_find(k_methods[m]->options, key))
            return dc_fail(DC_ERR_ARG, "%s is an option of %s, not of %s", key, k_methods[m]->name, c->model);
    return dc_fail(DC_ERR_ARG, "%s: no such option", key ? key : "(null)");
}

dc_status dc_model_config_set(dc_model_config *c, const char *key, double v) {
    const dc_option_table *t;
    int row;
    if (!c) return dc_fail(DC_ERR_ARG, "model config: NULL argument");
    if (find_option(c, key, &t, &row) != DC_OK || dc_option_check(&t->rows[row], v) != DC_OK) return dc_last_status();
    dc_option_put(t, row, t == &k_common_table ? (void *)c : (void *)c->opt, v);
    return DC_OK;
}

dc_status dc_model_config_get(const dc_model_config *c, const char *key, double *v) {
    const dc_option_table *t;
    int row;
    if (!c || !v) return dc_fail(DC_ERR_ARG, "model config: NULL argument");
    if (find_option(c, key, &t, &row) != DC_OK) return dc_last_status();
    *v = dc_option_get(t, row, t == &k_common_table ? (const void *)c : (const void *)c->opt);
    return DC_OK;
}

dc_model *dc_model_new(const dc_model_config *cfg, dc_backend *be, int64_t in_dim) {
    if (!cfg || !be) {
        dc_fail(DC_ERR_ARG, "model: NULL config or backend");
        return NULL;
    }
    if (dc_model_config_check(cfg) != DC_OK) return NULL;
    const dc_model_vtbl *vt = dc_model_method(cfg->model);
    dc_model *m = calloc(1, sizeof *m);
    if (!m) {
        dc_fail(DC_ERR_OOM, "model: out of host memory");
        return NULL;
    }
    m->vt = vt;
    m->cfg = *cfg;
    m->enc = dc_encoder_new(be, in_dim);
    /* docs/METHOD.md §5: seed, then build the encoder (conv1..3 then bn1..3) */
    dc_rng rng = dc_rng_init(cfg->seed);
    if (!m->enc || dc_encoder_init(m->enc, &rng) != DC_OK || (vt->setup && vt->setup(m, be, &rng) != DC_OK)) {
        dc_fail_prefix("creating model %s", cfg->model);
        dc_model_free(m);
        return NULL;
    }
    return m;
}
void dc_model_free(dc_model *m) {
    if (!m) return;
    if (m->vt && m->vt->free_impl) m->vt->free_impl(m);
    dc_encoder_free(m->enc);
    dc_params_free(m->heads);
    dc_params_free(m->head_buffers);
    free(m);
}

dc_tensor *dc_model_loss(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *terms) {
    if (!m || !ctx || !x || !rng) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "model loss: NULL argument");
        return NULL;
    }
    if (terms) terms->n = 0;
    if (x->ndim != 3) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "%s: batch must be (B, T, D), got %s", m->cfg.model, dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    return m->vt->loss(m, ctx, x, training, rng, terms);
}

dc_status dc_model_embed(dc_model *m, const float *X, int64_t n, int64_t T, float *Z, dc_rng *rng) {
    if (!m || !X || !Z || !rng || n < 0 || T < 1) return dc_fail(DC_ERR_ARG, "model embed: bad arguments");
    if (!m->vt->eval_encode) return dc_encoder_embed(m->enc, X, n, T, Z, 4096 / T + 1);
    dc_ctx *ctx = dc_ctx_new(dc_tensor_backend(m->enc->w[0]));
    if (!ctx) return dc_last_status();
    dc_ctx_set_grad_enabled(ctx, 0);
    const int64_t D = m->enc->dims[0], chunk = 4096 / T + 1;
    dc_status st = DC_OK;
    for (int64_t s = 0; s < n && st == DC_OK; s += chunk) {
        int64_t b = n - s < chunk ? n - s : chunk;
        dc_ctx_reset(ctx);
        dc_tensor *x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){b, T, D}, X + s * T * D);
        dc_tensor *z = x ? m->vt->eval_encode(m, ctx, x, rng) : NULL;
        st = z ? dc_tensor_download(z, Z + s * T * DC_ENCODER_OUT, (size_t)(b * T * DC_ENCODER_OUT) * sizeof(float))
               : dc_last_status();
    }
    dc_ctx_free(ctx);
    return st;
}
