/* run_config.c: config.json of a run folder, written and read from the option tables (the
 * trainer's, the common ones, the method's), so a run is reproducible from its folder and
 * `dynacl pretrain --resume` rebuilds it; and the resume check that the options are the same.
 * Not here: the options themselves (the tables) or where the file lives (run_dir.c).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_atomic.h"
#include "train/run_state.h"

#define HP "hyperparameters"

dc_run_config dc_run_config_defaults(const char *model, const char *dataset, const char *protocol) {
    dc_run_config c;
    memset(&c, 0, sizeof c);
    c.model = dc_model_config_defaults(model, dataset, protocol);
    c.train = dc_train_opts_defaults(c.model.dataset, c.model.protocol);
    snprintf(c.data, sizeof c.data, "synthetic");
    snprintf(c.backend, sizeof c.backend, "cpu");
    snprintf(c.data_on_device, sizeof c.data_on_device, "auto");
    return c;
}

/* The three tables of a run's options and where their values are stored. */
typedef struct tables {
    const dc_option_table *t[3];
    const void *base[3];
} tables;
enum { TRAIN, METHOD, COMMON };

static tables tables_of(const dc_run_config *c) {
    tables tb = {{dc_train_options(), dc_model_options(c->model.model), dc_model_common_options()},
                 {&c->train, c->model.opt, &c->model}};
    return tb;
}

static void add_row(cJSON *obj, const dc_option *o, double v) {
    if (o->type == DC_OPTION_BOOL) cJSON_AddBoolToObject(obj, o->key, v != 0.0);
    else if (o->type == DC_OPTION_CHOICE) cJSON_AddStringToObject(obj, o->key, o->choices[v != 0.0]);
    else cJSON_AddNumberToObject(obj, o->key, v);
}

static cJSON *group_of(cJSON *root, const char *group) { return group ? cJSON_GetObjectItemCaseSensitive(root, group) : root; }

/* Rows of table k, those in group HP (hp = 1), or those elsewhere (hp = 0), or all (hp = -1). */
static void add_rows(cJSON *root, const tables *tb, int k, int hp) {
    const dc_option_table *t = tb->t[k];
    for (int i = 0; t && i < t->n; i++) {
        const dc_option *o = &t->rows[i];
        int in_hp = o->group && !strcmp(o->group, HP);
        if (hp >= 0 && in_hp != hp) continue;
        add_row(group_of(root, o->group), o, dc_option_get(t, i, tb->base[k]));
    }
}

char *dc_run_config_to_json(const dc_run_config *c) {
    const dc_model_config *m = &c->model;
    tables tb = tables_of(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dynacl_version", dc_version());
    cJSON_AddStringToObject(o, "model", m->model);
    cJSON_AddStringToObject(o, "protocol", m->protocol);
    cJSON_AddStringToObject(o, "data", c->data);
    cJSON_AddStringToObject(o, "dataset", m->dataset);
    cJSON_AddStringToObject(o, "backend", c->backend);
    cJSON_AddStringToObject(o, "data_on_device", c->data_on_device);
    const dc_option_table *common = tb.t[COMMON];
    for (int i = 0; i < common->n; i++) /* top-level options (the seed) */
        if (!common->rows[i].group) add_row(o, &common->rows[i], dc_option_get(common, i, tb.base[COMMON]));
    cJSON_AddItemToObject(o, HP, cJSON_CreateObject());
    cJSON_AddItemToObject(o, "flags", cJSON_CreateObject());
    cJSON_AddItemToObject(o, "schedule", cJSON_CreateObject());
    /* the order within each object: the trainer's hyperparameters lead, then the method's
     * options, then the trainer's other options, then the common ones */
    add_rows(o, &tb, TRAIN, 1);
    add_rows(o, &tb, METHOD, -1);
    add_rows(o, &tb, TRAIN, 0);
    for (int i = 0; i < common->n; i++)
        if (common->rows[i].group) add_row(group_of(o, common->rows[i].group), &common->rows[i], dc_option_get(common, i, tb.base[COMMON]));
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

static void str(const cJSON *o, const char *k, const char *path, dc_status *st, char *dst, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (*st != DC_OK) return;
    if (!v) *st = dc_fail(DC_ERR_FORMAT, "%s: key '%s' is missing", path, k);
    else if (!cJSON_IsString(v)) *st = dc_fail(DC_ERR_FORMAT, "%s: '%s' must be a string", path, k);
    else if (strlen(v->valuestring) >= cap) *st = dc_fail(DC_ERR_FORMAT, "%s: '%s' is too long", path, k);
    else snprintf(dst, cap, "%s", v->valuestring);
}

/* Row i of table k from its group; absent: required -> error, else its default. */
static dc_status read_row(const cJSON *root, const tables *tb, int k, int i, int required, const dc_model_config *m,
                          const char *path, void *base) {
    const dc_option_table *t = tb->t[k];
    const dc_option *o = &t->rows[i];
    const cJSON *g = o->group ? cJSON_GetObjectItemCaseSensitive(root, o->group) : root;
    const cJSON *v = cJSON_IsObject(g) ? cJSON_GetObjectItemCaseSensitive(g, o->key) : NULL;
    const char *where = o->group ? o->group : "";
    double x;
    if (!v) {
        if (required) return dc_fail(DC_ERR_FORMAT, "%s: key '%s%s%s' is missing", path, where, o->group ? "." : "", o->key);
        x = dc_option_default_value(o, m->dataset, m->protocol);
    } else if (o->type == DC_OPTION_CHOICE) {
        int c = cJSON_IsString(v) ? dc_option_choice(o, v->valuestring) : -1;
        char acc[128];
        if (c < 0)
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' must be %s", path, o->key, dc_option_accepts(o, acc, sizeof acc));
        x = c;
    } else if (cJSON_IsBool(v)) {
        x = cJSON_IsTrue(v);
    } else if (cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else {
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' must be a %s", path, o->key, o->type == DC_OPTION_BOOL ? "boolean" : "number");
    }
    if (dc_option_check(o, x) != DC_OK) return dc_fail_prefix("%s", path);
    dc_option_put(t, i, base, x);
    return DC_OK;
}

dc_status dc_run_config_from_json(const char *json, const char *path, dc_run_config *c) {
    memset(c, 0, sizeof *c);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!o) return dc_fail(DC_ERR_FORMAT, "%s: not valid JSON", path);
    dc_status st = DC_OK;
    char model[32] = "", protocol[16] = "", dataset[32] = "";
    str(o, "model", path, &st, model, sizeof model);
    str(o, "protocol", path, &st, protocol, sizeof protocol);
    str(o, "dataset", path, &st, dataset, sizeof dataset);
    if (st == DC_OK && !dc_model_method(model)) {
        dc_model_config u = dc_model_config_defaults(model, dataset, protocol);
        st = dc_model_config_check(&u) != DC_OK ? dc_fail_prefix("%s", path) : DC_OK;
    }
    if (st == DC_OK) {
        *c = dc_run_config_defaults(model, dataset, protocol);
        memset(c->data, 0, sizeof c->data);
    }
    str(o, "data", path, &st, c->data, sizeof c->data);
    str(o, "backend", path, &st, c->backend, sizeof c->backend);
    str(o, "data_on_device", path, &st, c->data_on_device, sizeof c->data_on_device);
    tables tb = tables_of(c);
    void *base[3] = {&c->train, c->model.opt, &c->model};
    for (int k = 0; k < 3 && st == DC_OK; k++)
        for (int i = 0; tb.t[k] && i < tb.t[k]->n && st == DC_OK; i++)
            st = read_row(o, &tb, k, i, k != METHOD, &c->model, path, base[k]);
    if (st == DC_OK && dc_model_config_check(&c->model) != DC_OK) st = dc_fail_prefix("%s", path);
    cJSON_Delete(o);
    return st;
}

/* The whole file as text (caller frees). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dc_fail(DC_ERR_IO, "%s: cannot open", path);
        return NULL;
    }
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && n < (1L << 24) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
        size_t got = fread(buf, 1, (size_t)n, f);
        buf[got] = '\0';
    } else {
        dc_fail(n >= (1L << 24) ? DC_ERR_FORMAT : DC_ERR_IO, "%s: cannot read%s", path, n >= (1L << 24) ? " (larger than 16 MiB)" : "");
    }
    fclose(f);
    return buf;
}

dc_status dc_run_config_read(const char *run, dc_run_config *c, char **text) {
    char p[DC_RUN_PATH_MAX];
    if (text) *text = NULL;
    char *json = slurp(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p));
    if (!json) return dc_last_status();
    dc_status st = dc_run_config_from_json(json, p, c);
    if (st == DC_OK && text) *text = json;
    else free(json);
    return st;
}

dc_status dc_run_write_config(const char *run, const char *json) {
    char p[DC_RUN_PATH_MAX];
    return dc_atomic_write(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p), json, strlen(json));
}

dc_status dc_run_check_config(const char *run, const char *json) {
    char p[DC_RUN_PATH_MAX];
    char *old = slurp(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p));
    dc_clear_error();
    cJSON *a = old ? cJSON_Parse(old) : NULL, *b = json ? cJSON_Parse(json) : NULL;
    int same = a && b && cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(old);
    if (!same) return dc_fail(DC_ERR_STATE, "%s: the options differ from the run's config.json; resume with the same options", run);
    return DC_OK;
}
