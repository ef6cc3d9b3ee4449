/* cmd_pretrain.c: `dynacl pretrain`: pretrain DynaCL, DynaCL-M, an ablation or a baseline on a
 * prepared dataset (or the embedded synthetic default) with the shared trainer; progress bar
 * on a terminal, plain lines otherwise. Its method and trainer options are generated from the
 * option tables (models/train/dc_options.h), so this file names none of them. `--resume
 * RUN_DIR` continues from the run's config.json and last checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "data/dc_dataset.h"
#include "eval/dc_eval.h"
#include "tool_common.h"
#include "train/dc_run.h"

typedef struct ui {
    dc_progress pg;
    int started;
    dc_cluster_hook ch; /* clustering metrics at every validation (docs/METHOD.md §5, §7.2) */
    int cluster;
} ui;

static dc_status on_validate(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap) {
    ui *u = ud;
    return u->cluster ? dc_cluster_on_validate(&u->ch, m, be, epoch, extra, cap) : DC_OK;
}

static void on_progress(void *ud, const dc_train_status *s) {
    ui *u = ud;
    if (!u->started) {
        dc_progress_start(&u->pg, "pretrain", s->total_steps);
        u->started = 1;
    }
    char msg[96];
    int64_t ep = s->epoch + 1 > s->epochs ? s->epochs : s->epoch + 1;
    snprintf(msg, sizeof msg, "epoch %lld/%lld loss %.4f lr %.2g", (long long)ep, (long long)s->epochs, s->loss, s->lr);
    if (!strcmp(s->event, "done")) {
        dc_progress_finish(&u->pg, msg);
        return;
    }
    dc_progress_update(&u->pg, s->step, msg);
}

/* ---- options generated from the tables ---------------------------------------------------- */

#define MAX_TABLES 16
#define MAX_GEN 128

/* One table row offered as a flag, with what the user gave. */
typedef struct gen {
    const dc_option_table *t;
    int row, seen, flag;
    int64_t i;
    double d;
    const char *s;
    char help[320], choices[128];
} gen;

typedef struct genset {
    const dc_option_table *tables[MAX_TABLES];
    int n_tables;
    gen g[MAX_GEN];
    int n;
    dc_opt opts[MAX_GEN + MAX_TABLES + 16];
    char headings[MAX_TABLES][160];
} genset;

static void add_table(genset *gs, const dc_option_table *t) {
    for (int k = 0; k < gs->n_tables; k++)
        if (gs->tables[k] == t) return; /* the four DynaCL variants share one table */
    if (t && gs->n_tables < MAX_TABLES) gs->tables[gs->n_tables++] = t;
}

/* opts = the fixed options, then a section per table with a flag per row. */
static void build_opts(genset *gs, const dc_opt *fixed) {
    int k = 0;
    for (const dc_opt *o = fixed; o->name; o++) gs->opts[k++] = *o;
    add_table(gs, dc_train_options());
    add_table(gs, dc_model_common_options());
    for (const char *const *nm = dc_model_names(); *nm; nm++) add_table(gs, dc_model_options(*nm));
    for (int ti = 0; ti < gs->n_tables; ti++) {
        const dc_option_table *t = gs->tables[ti];
        snprintf(gs->headings[ti], sizeof gs->headings[ti], "%s options", ti == 0 ? "training" : ti == 1 ? "every method's" : t->name);
        gs->opts[k++] = (dc_opt){"", OPT_SECTION, NULL, gs->headings[ti]};
        for (int i = 0; i < t->n && gs->n < MAX_GEN; i++) {
            const dc_option *r = &t->rows[i];
            if (!r->flag) continue;
            gen *g = &gs->g[gs->n++];
            g->t = t, g->row = i;
            char def[160];
            dc_option_describe_default(r, def, sizeof def);
            snprintf(g->help, sizeof g->help, "%s (default %s)", r->help, def);
            dc_opt o = {r->flag, OPT_STR, &g->s, g->help, NULL, NULL, &g->seen};
            if (r->type == DC_OPTION_REAL) o.kind = OPT_DBL, o.dst = &g->d, o.range = r->range;
            else if (r->type == DC_OPTION_INT) o.kind = OPT_INT, o.dst = &g->i, o.range = r->range;
            else if (r->type == DC_OPTION_BOOL) o.kind = OPT_FLAG, o.dst = &g->flag;
            else {
                snprintf(g->choices, sizeof g->choices, "%s|%s%s%s%s%s", r->choices[0], r->choices[1], r->aliases[0] ? "|" : "",
                         r->aliases[0] ? r->aliases[0] : "", r->aliases[1] ? "|" : "", r->aliases[1] ? r->aliases[1] : "");
                char alias[2][48] = {"", ""};
                for (int v = 0; v < 2; v++)
                    if (r->aliases[v]) snprintf(alias[v], sizeof alias[v], " (or %s)", r->aliases[v]);
                snprintf(g->help, sizeof g->help, "%s: %s%s | %s%s (default %s)", r->help, r->choices[0], alias[0], r->choices[1],
                         alias[1], def);
                o.choices = g->choices;
            }
            gs->opts[k++] = o;
        }
    }
    gs->opts[k] = (dc_opt){0};
}

/* Apply the given flags to c (already at its defaults). 0 after a message. */
static int apply_given(const genset *gs, dc_run_config *c) {
    const dc_option_table *own = dc_model_options(c->model.model);
    for (int k = 0; k < gs->n; k++) {
        const gen *g = &gs->g[k];
        if (!g->seen) continue;
        const dc_option *r = &g->t->rows[g->row];
        double v = r->type == DC_OPTION_REAL ? g->d : r->type == DC_OPTION_INT ? (double)g->i
                 : r->type == DC_OPTION_BOOL ? 1.0 : (double)dc_option_choice(r, g->s);
        dc_status st;
        if (g->t == dc_train_options()) {
            st = dc_train_opts_set(&c->train, r->key, v);
        } else if (g->t != dc_model_common_options() && g->t != own) {
            fprintf(stderr, "dynacl pretrain: --%s is an option of %s, not of --model %s\n", r->flag, g->t->name, c->model.model);
            return 0;
        } else {
            st = dc_model_config_set(&c->model, r->key, v);
        }
        if (st != DC_OK) {
            fprintf(stderr, "dynacl pretrain: --%s: %s\n", r->flag, dc_last_error());
            return 0;
        }
    }
    if (dc_model_config_check(&c->model) != DC_OK) {
        fprintf(stderr, "dynacl pretrain: %s\n", dc_last_error());
        return 0;
    }
    return 1;
}

static int open_data(const char *data, dc_dataset *ds) {
    dc_status st = (!data || !strcmp(data, "synthetic")) ? dc_dataset_synthetic(NULL, ds) : dc_dataset_open(data, ds);
    if (st != DC_OK) fprintf(stderr, "dynacl pretrain: %s\n", dc_last_error());
    return st == DC_OK;
}

/* The closing lines: the mean loss of the run's first and last epochs (from metrics.jsonl, so
 * a resumed run reports its real first epoch), and the authors' best-J triple. */
static void print_summary(const char *run_dir, const ui *u) {
    double first, last;
    if (dc_run_epoch_losses(run_dir, &first, &last, NULL) != DC_OK) dc_clear_error();
    printf("mean loss: first epoch %.5f -> last epoch %.5f (%s)\n", first, last, last < first ? "falling" : "not falling");
    /* the authors' end-of-run line: the best-J triple "DBI CH SS" (docs/METHOD.md §5) */
    if (u->cluster && u->ch.has_best)
        printf("best J %.4f at epoch %lld | %.4f %.4f %.4f\n", u->ch.best.j, (long long)u->ch.best_epoch, u->ch.best.dbi,
               u->ch.best.ch, u->ch.best.ss);
    char pm[DC_RUN_PATH_MAX], px[DC_RUN_PATH_MAX], pc[DC_RUN_PATH_MAX];
    printf("wrote %s, %s, %s\n", dc_run_path(run_dir, DC_RUN_MODEL, pm, sizeof pm), dc_run_path(run_dir, DC_RUN_METRICS, px, sizeof px),
           dc_run_path(run_dir, DC_RUN_CONFIG, pc, sizeof pc));
}

int cmd_pretrain(int argc, char **argv) {
    const char *model = "dynacl", *data = NULL, *backend = "cpu", *out = NULL, *protocol = "authors", *resume = NULL;
    const char *device_data = "auto";
    int force = 0;
    char model_help[512] = "";
    for (const char *const *nm = dc_model_names(); *nm; nm++)
        snprintf(model_help + strlen(model_help), sizeof model_help - strlen(model_help), "%s%s", nm == dc_model_names() ? "" : " | ", *nm);
    strncat(model_help, " (default dynacl)", sizeof model_help - strlen(model_help) - 1);
    const dc_opt fixed[] = {
        {"model", OPT_STR, &model, model_help},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic' (default: the embedded synthetic dataset)"},
        {"backend", OPT_STR, &backend, "cpu | cpu-ref | cuda[:N] | opencl[:N] (default cpu)"},
        {"out", OPT_STR, &out, "run folder (default runs/<model>-<dataset>-s<seed>)"},
        {"protocol", OPT_STR, &protocol, "authors (default: the authors' code) | corrected (docs/METHOD.md §0)", NULL,
         "authors|corrected"},
        {"data-on-device", OPT_STR, &device_data, "auto | on | off: keep the dataset on the device (default auto)", NULL,
         "auto|on|off"},
        {"resume", OPT_STR, &resume, "continue the run in this folder (from its last checkpoint, or from the start if it has none)"},
        {"force", OPT_FLAG, &force, "replace a run already in --out"},
        {0},
    };
    genset *gs = calloc(1, sizeof *gs);
    if (!gs) return dc_tool_fail("pretrain", "out of memory");
    build_opts(gs, fixed);
    int r = dc_opts_parse("pretrain", "[--model M] [--data DIR] [--out RUN_DIR] [options]", gs->opts, argc, argv);
    if (r) {
        free(gs);
        return r > 0 ? 0 : 2;
    }
    dc_run_config c;
    char *json = NULL;
    dc_dataset ds = {0};
    const char *run_dir = out;
    int rc = 0;
    if (resume) {
        if (argc > 3) {
            fprintf(stderr, "dynacl pretrain: --resume takes its options from RUN_DIR/config.json; give no others\n");
            free(gs);
            return 2;
        }
        char p[DC_RUN_PATH_MAX];
        if (access(dc_run_path(resume, DC_RUN_CONFIG, p, sizeof p), F_OK) != 0) {
            fprintf(stderr, "dynacl pretrain: %s: no run to resume (no config.json)\n", resume);
            free(gs);
            return 1;
        }
        if (dc_run_config_read(resume, &c, &json) != DC_OK) { /* the trainer checks its own text: the same options */
            free(gs);
            return dc_tool_fail("pretrain", "reading the run's config");
        }
        run_dir = resume;
        if (!open_data(c.data, &ds)) rc = 1;
    } else {
        if (!dc_model_method(model)) {
            dc_model_config u = dc_model_config_defaults(model, NULL, protocol);
            dc_model_config_check(&u);
            fprintf(stderr, "dynacl pretrain: %s\n", dc_last_error());
            free(gs);
            return 2;
        }
        if (!open_data(data, &ds)) {
            free(gs);
            return 1;
        }
        c = dc_run_config_defaults(model, ds.name, protocol);
        snprintf(c.data, sizeof c.data, "%s", ds.dir[0] ? ds.dir : "synthetic"); /* --data synthetic: no folder */
        snprintf(c.backend, sizeof c.backend, "%s", backend);
        snprintf(c.data_on_device, sizeof c.data_on_device, "%s", device_data);
        if (!apply_given(gs, &c)) rc = 2;
        else if (!(json = dc_run_config_to_json(&c))) rc = dc_tool_fail("pretrain", "writing the config");
    }
    free(gs);
    if (rc) {
        dc_dataset_close(&ds);
        free(json);
        return rc;
    }
    char default_out[256];
    if (!run_dir) {
        snprintf(default_out, sizeof default_out, "runs/%s-%s-s%llu", c.model.model, ds.name, (unsigned long long)c.model.seed);
        run_dir = default_out;
        if (dc_mkdirs("runs") != DC_OK) {
            dc_dataset_close(&ds);
            free(json);
            return dc_tool_fail("pretrain", "creating runs/");
        }
    }
    dc_backend *be = dc_backend_new(c.backend);
    if (!be) {
        dc_dataset_close(&ds);
        free(json);
        return dc_tool_fail("pretrain", "opening the backend");
    }
    c.train.device_data = !strcmp(c.data_on_device, "on") || (!strcmp(c.data_on_device, "auto") && strncmp(c.backend, "cpu", 3));
    dc_model *m = dc_model_new(&c.model, be, ds.frames.D);
    if (!m) {
        rc = dc_tool_fail("pretrain", "creating the model");
        goto done;
    }
    printf("data: %s (%s), %lld instances x D=%lld, %lld sequences of T=%lld (train %lld, test %lld)\n",
           ds.dir[0] ? ds.dir : "embedded synthetic", ds.name, (long long)ds.frames.n, (long long)ds.frames.D,
           (long long)ds.seqs.n, (long long)ds.seqs.T, (long long)ds.n_train, (long long)(ds.seqs.n - ds.n_train));
    printf("model: %s, protocol %s, on %s; %lld epochs, batch %lld, lr %g; run folder %s%s\n", c.model.model,
           c.model.protocol, dc_backend_name(be), (long long)c.train.epochs, (long long)c.train.batch, c.train.lr, run_dir,
           resume ? " (resuming)" : "");
    fflush(stdout);
    ui u = {0};
    if (c.train.valid_interval > 0) {
        dc_protocol prot = strcmp(c.model.protocol, "corrected") ? DC_PROTOCOL_AUTHORS : DC_PROTOCOL_CORRECTED;
        if (dc_cluster_hook_init(&u.ch, &ds, c.model.seed, prot) == DC_OK) {
            u.cluster = 1;
        } else {
            fprintf(stderr, "dynacl pretrain: note: no clustering at validation: %s\n", dc_last_error());
            dc_clear_error();
        }
    }
    dc_train_hooks hooks = {.ud = &u, .progress = on_progress, .on_validate = on_validate};
    dc_status st = dc_train_run(m, &ds, be, &c.train, run_dir, resume ? DC_RUN_RESUME : (force ? DC_RUN_FORCE : DC_RUN_NEW), json,
                                &hooks);
    dc_cluster_hook_free(&u.ch);
    if (u.started && u.pg.tty && st != DC_OK) fputc('\n', stderr);
    if (st != DC_OK) rc = dc_tool_fail("pretrain", "training");
    else print_summary(run_dir, &u);
done:
    free(json);
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    return rc;
}
