/* pretrain_config.c: config.json of a run: every resolved option, the protocol, and each
 * protocol switch (docs/METHOD.md §0, §9) under "flags", so a run is reproducible from its folder. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "pretrain_config.h"

/* InfoTS / CoST hyperparameters (issue 9): JSON key, field, int64_t (1) or double (0). */
static const struct {
    const char *key;
    size_t off;
    int is_int;
} k_issue9[] = {
    {"infots_tau_global", offsetof(dc_model_config, infots_tau_global), 0},
    {"infots_tau_local", offsetof(dc_model_config, infots_tau_local), 0},
    {"infots_aug_p", offsetof(dc_model_config, infots_aug_p), 0},
    {"infots_local_k", offsetof(dc_model_config, infots_local_k), 1},
    {"infots_max_len", offsetof(dc_model_config, infots_max_len), 1},
    {"infots_variety", offsetof(dc_model_config, infots_variety), 0},
    {"cost_queue", offsetof(dc_model_config, cost_queue), 1},
    {"cost_momentum", offsetof(dc_model_config, cost_momentum), 0},
    {"cost_tau", offsetof(dc_model_config, cost_tau), 0},
    {"cost_alpha", offsetof(dc_model_config, cost_alpha), 0},
    {"cost_sigma", offsetof(dc_model_config, cost_sigma), 0},
    {"cost_aug_p", offsetof(dc_model_config, cost_aug_p), 0},
    {"cost_max_len", offsetof(dc_model_config, cost_max_len), 1},
    {"cost_season_len", offsetof(dc_model_config, cost_season_len), 1},
};
#define N_ISSUE9 ((int)(sizeof k_issue9 / sizeof k_issue9[0]))

static double issue9_get(const dc_model_config *m, int i) {
    const char *p = (const char *)m + k_issue9[i].off;
    return k_issue9[i].is_int ? (double)*(const int64_t *)(const void *)p : *(const double *)(const void *)p;
}

static void issue9_set(dc_model_config *m, int i, double v) {
    char *p = (char *)m + k_issue9[i].off;
    if (k_issue9[i].is_int) *(int64_t *)(void *)p = (int64_t)v;
    else *(double *)(void *)p = v;
}

char *pretrain_config_to_json(const pretrain_config *c) {
    const dc_model_config *m = &c->model;
    const dc_train_opts *t = &c->train;
    cJSON *o = cJSON_CreateObject(), *hp, *fl, *sc;
    cJSON_AddStringToObject(o, "dynacl_version", dc_version());
    cJSON_AddStringToObject(o, "model", m->model);
    cJSON_AddStringToObject(o, "protocol", m->protocol);
    cJSON_AddStringToObject(o, "data", c->data);
    cJSON_AddStringToObject(o, "dataset", m->dataset);
    cJSON_AddStringToObject(o, "backend", c->backend);
    cJSON_AddStringToObject(o, "data_on_device", c->data_on_device);
    cJSON_AddNumberToObject(o, "seed", (double)m->seed);
    cJSON_AddItemToObject(o, "hyperparameters", hp = cJSON_CreateObject());
    cJSON_AddNumberToObject(hp, "epochs", (double)t->epochs);
    cJSON_AddNumberToObject(hp, "batch", (double)t->batch);
    cJSON_AddNumberToObject(hp, "lr", t->lr);
    cJSON_AddNumberToObject(hp, "tau", m->tau);
    cJSON_AddBoolToObject(hp, "single_positive", m->single_positive);
    cJSON_AddNumberToObject(hp, "mask_fraction", m->mask_p);
    cJSON_AddNumberToObject(hp, "lambda", m->lambda);
    cJSON_AddNumberToObject(hp, "margin", m->margin);
    cJSON_AddNumberToObject(hp, "margin_gamma", m->margin_gamma);
    cJSON_AddNumberToObject(hp, "threshold", m->threshold);
    cJSON_AddItemToObject(o, "flags", fl = cJSON_CreateObject());
    cJSON_AddStringToObject(fl, "mpxent_positives", m->mpx_within_seq ? "within-seq" : "flattened");
    cJSON_AddStringToObject(fl, "pseudo_labels", m->pseudo_from_embeddings ? "embeddings" : "input");
    cJSON_AddStringToObject(fl, "lambda_form", m->lambda_paper_form ? "paper" : "code");
    cJSON_AddNumberToObject(fl, "weight_decay", t->weight_decay);
    cJSON_AddStringToObject(fl, "sampler", t->sampler == DC_SAMPLER_SEQUENTIAL ? "sequential" : "shuffle");
    cJSON_AddBoolToObject(fl, "train_heads", m->train_heads);
    /* TS2Vec / CPC / TNC (issue 8) */
    cJSON_AddStringToObject(fl, "ts2vec_alignment", m->ts2vec_overlap ? "overlap" : "pad");
    cJSON_AddNumberToObject(hp, "ts2vec_max_len", (double)m->ts2vec_max_len);
    cJSON_AddNumberToObject(hp, "cpc_window", (double)m->cpc_window);
    cJSON_AddNumberToObject(hp, "tnc_window", (double)m->tnc_window);
    cJSON_AddNumberToObject(hp, "tnc_mc", (double)m->tnc_mc);
    cJSON_AddNumberToObject(hp, "tnc_weight", m->tnc_weight);
    cJSON_AddNumberToObject(hp, "tnc_tc", (double)m->tnc_tc);
    /* InfoTS / CoST (issue 9) */
    cJSON_AddStringToObject(fl, "infots_local_loss", m->infots_local_all ? "all-sequences" : "first-sequence");
    cJSON_AddStringToObject(fl, "cost_key_encoder", m->cost_key_encoder ? "momentum" : "self");
    for (int i = 0; i < N_ISSUE9; i++) cJSON_AddNumberToObject(hp, k_issue9[i].key, issue9_get(m, i));
    cJSON_AddItemToObject(o, "schedule", sc = cJSON_CreateObject());
    cJSON_AddNumberToObject(sc, "valid_every", (double)t->valid_interval);
    cJSON_AddNumberToObject(sc, "patience", (double)t->patience);
    cJSON_AddNumberToObject(sc, "plateau_factor", t->plateau_factor);
    cJSON_AddNumberToObject(sc, "plateau_threshold", t->plateau_threshold);
    cJSON_AddNumberToObject(sc, "save_every", (double)t->save_every);
    cJSON_AddNumberToObject(sc, "log_every", (double)t->log_every);
    cJSON_AddNumberToObject(sc, "max_steps", (double)t->max_steps);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (s) { /* cJSON prints with tabs and no final newline */
        size_t n = strlen(s);
        char *r = realloc(s, n + 2);
        if (r) {
            r[n] = '\n';
            r[n + 1] = '\0';
            s = r;
        }
    }
    return s;
}

static const cJSON *need(const cJSON *o, const char *k, const char *path, dc_status *st) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v && *st == DC_OK) *st = dc_fail(DC_ERR_FORMAT, "%s: key '%s' is missing", path, k);
    return v;
}

static double num(const cJSON *o, const char *k, const char *path, dc_status *st) {
    const cJSON *v = need(o, k, path, st);
    if (v && !cJSON_IsNumber(v) && !cJSON_IsBool(v) && *st == DC_OK) *st = dc_fail(DC_ERR_FORMAT, "%s: '%s' must be a number", path, k);
    return v ? (cJSON_IsBool(v) ? (double)cJSON_IsTrue(v) : v->valuedouble) : 0;
}

static void str(const cJSON *o, const char *k, const char *path, dc_status *st, char *dst, size_t cap) {
    const cJSON *v = need(o, k, path, st);
    if (v && !cJSON_IsString(v)) {
        if (*st == DC_OK) *st = dc_fail(DC_ERR_FORMAT, "%s: '%s' must be a string", path, k);
        return;
    }
    if (v) snprintf(dst, cap, "%s", v->valuestring);
}

/* TS2Vec / CPC / TNC fields (issue 8): optional, so run folders written before them still
 * load; a missing key keeps the method's default. */
static void baselines_from_json(const cJSON *hp, const cJSON *fl, const char *path, dc_status *st, dc_model_config *m) {
    dc_model_config d = dc_model_config_defaults(m->model, m->dataset, m->protocol);
    const char *keys[6] = {"ts2vec_max_len", "cpc_window", "tnc_window", "tnc_mc", "tnc_tc", "tnc_weight"};
    int64_t *dst[5] = {&m->ts2vec_max_len, &m->cpc_window, &m->tnc_window, &m->tnc_mc, &m->tnc_tc};
    const int64_t def[5] = {d.ts2vec_max_len, d.cpc_window, d.tnc_window, d.tnc_mc, d.tnc_tc};
    for (int i = 0; i < 5; i++) *dst[i] = cJSON_HasObjectItem(hp, keys[i]) ? (int64_t)num(hp, keys[i], path, st) : def[i];
    m->tnc_weight = cJSON_HasObjectItem(hp, keys[5]) ? num(hp, keys[5], path, st) : d.tnc_weight;
    char buf[16] = "";
    if (cJSON_HasObjectItem(fl, "ts2vec_alignment")) str(fl, "ts2vec_alignment", path, st, buf, sizeof buf);
    m->ts2vec_overlap = buf[0] ? !strcmp(buf, "overlap") : d.ts2vec_overlap;
}

/* InfoTS / CoST fields (issue 9): optional as well; a missing key keeps the default. */
static void issue9_from_json(const cJSON *hp, const cJSON *fl, const char *path, dc_status *st, dc_model_config *m) {
    dc_model_config d = dc_model_config_defaults(m->model, m->dataset, m->protocol);
    for (int i = 0; i < N_ISSUE9; i++)
        issue9_set(m, i, cJSON_HasObjectItem(hp, k_issue9[i].key) ? num(hp, k_issue9[i].key, path, st) : issue9_get(&d, i));
    char buf[32] = "";
    if (cJSON_HasObjectItem(fl, "infots_local_loss")) str(fl, "infots_local_loss", path, st, buf, sizeof buf);
    m->infots_local_all = buf[0] ? !strcmp(buf, "all-sequences") : d.infots_local_all;
    buf[0] = '\0';
    if (cJSON_HasObjectItem(fl, "cost_key_encoder")) str(fl, "cost_key_encoder", path, st, buf, sizeof buf);
    m->cost_key_encoder = buf[0] ? !strcmp(buf, "momentum") : d.cost_key_encoder;
}

dc_status pretrain_config_from_json(const char *json, const char *path, pretrain_config *c) {
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    if (!o) return dc_fail(DC_ERR_FORMAT, "%s: not valid JSON", path);
    dc_status st = DC_OK;
    dc_model_config *m = &c->model;
    dc_train_opts *t = &c->train;
    char buf[32] = "";
    str(o, "model", path, &st, m->model, sizeof m->model);
    str(o, "protocol", path, &st, m->protocol, sizeof m->protocol);
    str(o, "dataset", path, &st, m->dataset, sizeof m->dataset);
    str(o, "data", path, &st, c->data, sizeof c->data);
    str(o, "backend", path, &st, c->backend, sizeof c->backend);
    str(o, "data_on_device", path, &st, c->data_on_device, sizeof c->data_on_device);
    m->seed = (uint64_t)num(o, "seed", path, &st);
    const cJSON *hp = need(o, "hyperparameters", path, &st), *fl = need(o, "flags", path, &st),
                *sc = need(o, "schedule", path, &st);
    if (st == DC_OK) {
        t->epochs = (int64_t)num(hp, "epochs", path, &st);
        t->batch = (int64_t)num(hp, "batch", path, &st);
        t->lr = num(hp, "lr", path, &st);
        m->tau = num(hp, "tau", path, &st);
        m->single_positive = (int)num(hp, "single_positive", path, &st);
        m->mask_p = num(hp, "mask_fraction", path, &st);
        m->lambda = num(hp, "lambda", path, &st);
        m->margin = num(hp, "margin", path, &st);
        m->margin_gamma = num(hp, "margin_gamma", path, &st);
        m->threshold = num(hp, "threshold", path, &st);
        str(fl, "mpxent_positives", path, &st, buf, sizeof buf);
        m->mpx_within_seq = !strcmp(buf, "within-seq");
        str(fl, "pseudo_labels", path, &st, buf, sizeof buf);
        m->pseudo_from_embeddings = !strcmp(buf, "embeddings");
        str(fl, "lambda_form", path, &st, buf, sizeof buf);
        m->lambda_paper_form = !strcmp(buf, "paper");
        t->weight_decay = num(fl, "weight_decay", path, &st);
        str(fl, "sampler", path, &st, buf, sizeof buf);
        t->sampler = !strcmp(buf, "sequential") ? DC_SAMPLER_SEQUENTIAL : DC_SAMPLER_SHUFFLE;
        m->train_heads = (int)num(fl, "train_heads", path, &st);
        baselines_from_json(hp, fl, path, &st, m);
        issue9_from_json(hp, fl, path, &st, m);
        t->valid_interval = (int64_t)num(sc, "valid_every", path, &st);
        t->patience = (int64_t)num(sc, "patience", path, &st);
        t->plateau_factor = num(sc, "plateau_factor", path, &st);
        t->plateau_threshold = num(sc, "plateau_threshold", path, &st);
        t->save_every = (int64_t)num(sc, "save_every", path, &st);
        t->log_every = (int64_t)num(sc, "log_every", path, &st);
        t->max_steps = (int64_t)num(sc, "max_steps", path, &st);
    }
    cJSON_Delete(o);
    return st;
}
