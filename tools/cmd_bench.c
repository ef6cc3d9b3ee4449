/* cmd_bench.c: `dynacl bench`: ms per training step (forward, backward, AdamW) at the paper's
 * shapes, median over many steps, per backend; optional JSON output and per-op profile.
 * Without `--model` it times DynaCL's step through dc_dynacl_step; `--model NAME` times any
 * registered method through dc_model_loss. `--dump DIR` writes the initial weights, the input
 * and the first losses, so that another framework (tools/bench_vs_torch.py) can check that it
 * times the same step. Not here: the profile's presentation (bench_profile.c) and the peak loop
 * (fma_peak.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_profile.h"
#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "dc/dc_npy.h"
#include "dc/dc_safetensors.h"
#include "dynacl/dc_dynacl.h"
#include "fma_peak.h"
#include "tool_common.h"
#include "train/dc_model.h"

typedef struct shape_def {
    const char *name;
    int64_t B, T, D, steps_per_epoch;
} shape_def;

static const shape_def k_shapes[] = {
    {"harth", 8, 119, 156, 1067},
    {"sleepeeg", 8, 300, 178, 123},
    {"ecg", 8, 119, 252, 1287}, /* the paper's T = 119: 10,298 training sequences / 8 (docs/METHOD.md §1.3) */
};

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* DIR/<shape>.safetensors (initial encoder, PyTorch names), DIR/<shape>.x.npy (B, T, D) */
static dc_status dump_start(const char *dir, const shape_def *s, const dc_encoder *enc, const dc_tensor *x) {
    char path[1024];
    dc_st_writer *w = dc_st_writer_new();
    if (!w) return dc_fail(DC_ERR_OOM, "bench --dump: out of host memory");
    dc_status st = dc_encoder_save_entries(enc, w);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, s->name);
    if (st == DC_OK) st = dc_st_writer_save(w, path);
    dc_st_writer_free(w);
    int64_t n = dc_tensor_numel(x);
    float *h = st == DC_OK ? malloc((size_t)n * sizeof *h) : NULL;
    if (st == DC_OK && !h) st = dc_fail(DC_ERR_OOM, "bench --dump: out of host memory");
    if (st == DC_OK) st = dc_tensor_download(x, h, (size_t)n * sizeof *h);
    snprintf(path, sizeof path, "%s/%s.x.npy", dir, s->name);
    if (st == DC_OK) st = dc_npy_write(path, DC_NPY_F32, 3, (int64_t[]){s->B, s->T, s->D}, h);
    free(h);
    return st;
}

/* DIR/<shape>.losses.json: the losses of the first steps (before any warm-up is dropped) */
static dc_status dump_losses(const char *dir, const shape_def *s, const char *backend, const double *loss, int n) {
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/%s.losses.json", dir, s->name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return dc_fail(DC_ERR_IO, "bench --dump: cannot write %s", tmp);
    fprintf(f, "{\"backend\": \"%s\", \"shape\": \"%s\", \"losses\": [", backend, s->name);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.9g", i ? ", " : "", loss[i]);
    fprintf(f, "]}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) return dc_fail(DC_ERR_IO, "bench --dump: cannot write %s", path);
    return DC_OK;
}

#define DUMP_LOSSES 3

/* One method on one backend and shape: its state and a step function. */
typedef struct bench_case {
    dc_backend *be;
    dc_ctx *ctx, *data;
    dc_tensor *x;
    dc_rng rng;
    /* DynaCL through dc_dynacl_step (no --model) */
    dc_encoder *enc;
    dc_mpxent_opts mo;
    double *loss; /* where the next DynaCL step writes its loss (a download: a sync), or NULL */
    /* --model: the registry's method; its optimised groups (encoder unless frozen, heads when trained) */
    dc_model *m;
    dc_params *grp[2];
    dc_adamw *opt[2];
} bench_case;

static void case_close(bench_case *c) {
    dc_ctx_free(c->data);
    dc_ctx_free(c->ctx);
    for (int k = 0; k < 2; k++) dc_adamw_free(c->opt[k]);
    dc_model_free(c->m);
    dc_encoder_free(c->enc);
}

static int case_open(bench_case *c, dc_backend *be, const shape_def *s, const char *model, const char *protocol) {
    memset(c, 0, sizeof *c);
    c->be = be;
    c->rng = dc_rng_init(1);
    c->mo = dc_mpxent_opts_default();
    if (model) {
        dc_model_config cfg = dc_model_config_defaults(model, s->name, protocol);
        c->m = dc_model_new(&cfg, be, s->D);
        if (!c->m) return 0;
        /* as the trainer: a frozen encoder (CoST under authors) is not optimised */
        c->grp[0] = c->m->encoder_frozen ? NULL : c->m->enc->params;
        c->grp[1] = c->m->heads && cfg.train_heads ? c->m->heads : NULL;
    } else {
        c->enc = dc_encoder_new(be, s->D);
        if (!c->enc || dc_encoder_init(c->enc, &c->rng) != DC_OK) return 0;
        c->grp[0] = c->enc->params;
    }
    for (int k = 0; k < 2; k++)
        if (c->grp[k] && !(c->opt[k] = dc_adamw_new(c->grp[k], dc_adamw_opts_default()))) return 0;
    if (!c->opt[0] && !c->opt[1]) {
        dc_fail(DC_ERR_ARG, "bench: %s has nothing to train under this protocol", model ? model : "dynacl");
        return 0;
    }
    c->ctx = dc_ctx_new(be);
    c->data = c->ctx ? dc_ctx_new(be) : NULL;
    c->x = c->data ? dc_tensor_new(c->data, DC_F32, 3, (int64_t[]){s->B, s->T, s->D}) : NULL;
    return c->x && dc_rng_fill_normal(&c->rng, c->x, 0.0, 1.0) == DC_OK;
}

/* One training step: reset the step context, zero grads, loss, backward, AdamW. */
static dc_status case_step(void *user) {
    bench_case *c = user;
    dc_ctx_reset(c->ctx);
    if (c->enc) return dc_dynacl_step(c->enc, c->opt[0], c->ctx, c->x, &c->mo, c->loss);
    for (int k = 0; k < 2; k++)
        if (c->grp[k] && dc_params_zero_grad(c->grp[k]) != DC_OK) return dc_last_status();
    dc_tensor *L = dc_model_loss(c->m, c->ctx, c->x, 1, &c->rng, NULL);
    if (!L || dc_backward(c->ctx, L) != DC_OK) return dc_last_status();
    for (int k = 0; k < 2; k++)
        if (c->opt[k] && dc_adamw_step(c->opt[k]) != DC_OK) return dc_last_status();
    return DC_OK;
}

/* Times n steps (each followed by a sync) into t[] (ms); NULL t: untimed. */
static int run_steps(bench_case *c, int64_t n, double *t) {
    for (int64_t i = 0; i < n; i++) {
        double t0 = dc_now();
        if (case_step(c) != DC_OK || dc_backend_sync(c->be) != DC_OK) return 0;
        if (t) t[i] = (dc_now() - t0) * 1e3;
    }
    return 1;
}

/* --graph (backends that capture, i.e. cuda): after the eager warm-up steps,
 * dc_graph_capture_step runs one more step eagerly and captures the next one as a graph.
 * Each timed step is one replay plus a sync (as the eager loop); *pipe_ms is the per-step
 * time of `steps` replays launched back to back with one sync at the end. */
static int time_graph(bench_case *c, int64_t steps, double *t, double *pipe_ms) {
    dc_graph *g = dc_graph_capture_step(c->be, case_step, c);
    int ok = g != NULL;
    for (int64_t i = 0; ok && i < steps; i++) {
        double t0 = dc_now();
        ok = dc_graph_launch(g) == DC_OK && dc_backend_sync(c->be) == DC_OK;
        t[i] = (dc_now() - t0) * 1e3;
    }
    double t0 = dc_now();
    for (int64_t i = 0; ok && i < steps; i++) ok = dc_graph_launch(g) == DC_OK;
    ok = ok && dc_backend_sync(c->be) == DC_OK;
    *pipe_ms = (dc_now() - t0) * 1e3 / (double)steps;
    if (ok) { /* replays do not advance host-side counters (dc_backend.h): R - 1 more steps */
        ok = dc_adamw_set_steps(c->opt[0], dc_adamw_steps(c->opt[0]) + 2 * steps - 1) == DC_OK;
        c->enc->num_batches_tracked += 2 * steps - 1;
    }
    dc_graph_free(g);
    return ok;
}

/* --profile: `steps` more steps, each under core's profiler on its own. */
static int profile_steps(bench_case *c, int64_t steps, bench_profile *bp) {
    bench_profile_acc *acc = calloc(1, sizeof *acc);
    int ok = acc != NULL;
    for (int64_t i = 0; ok && i < steps; i++) {
        double t;
        ok = dc_profile_start(c->be) == DC_OK && run_steps(c, 1, &t);
        ok = dc_profile_stop(c->be) == DC_OK && ok && bench_profile_add_step(c->be, acc, t);
    }
    ok = ok && bench_profile_finish(c->be, acc, bp);
    free(acc);
    return ok;
}

typedef struct bench_opts {
    const char *model, *protocol, *dump;
    int64_t steps, warmup;
    int graph, profile;
} bench_opts;

typedef struct bench_result {
    double med, mn, pipe;
    int use_graph, have_profile;
    bench_profile prof;
} bench_result;

static int bench_shape(dc_backend *be, const shape_def *s, const bench_opts *o, bench_result *r) {
    bench_case c;
    double *t = malloc((size_t)o->steps * sizeof *t);
    int ok = t && case_open(&c, be, s, o->model, o->protocol);
    if (ok && o->dump) { /* the first losses from the dumped weights and input, before the warm-up */
        double losses[DUMP_LOSSES];
        ok = dump_start(o->dump, s, c.enc, c.x) == DC_OK;
        for (int i = 0; ok && i < DUMP_LOSSES; i++) {
            c.loss = &losses[i];
            ok = run_steps(&c, 1, NULL);
        }
        c.loss = NULL;
        ok = ok && dump_losses(o->dump, s, dc_backend_name(be), losses, DUMP_LOSSES) == DC_OK;
    }
    ok = ok && run_steps(&c, o->warmup, NULL);
    if (ok) ok = r->use_graph ? time_graph(&c, o->steps, t, &r->pipe) : run_steps(&c, o->steps, t);
    if (ok) {
        qsort(t, (size_t)o->steps, sizeof *t, cmp_dbl);
        r->med = t[o->steps / 2];
        r->mn = t[0];
    }
    if (ok && o->profile) ok = r->have_profile = profile_steps(&c, o->steps, &r->prof);
    free(t);
    case_close(&c);
    return ok;
}

static void json_result(FILE *jf, int first, const char *label, const shape_def *s, const bench_opts *o,
                        const bench_result *r) {
    fprintf(jf, "%s\n  {\"backend\": \"%s\", \"shape\": \"%s\", \"B\": %lld, \"T\": %lld, \"D\": %lld, "
            "\"ms_per_step_median\": %.4f, \"ms_per_step_min\": %.4f, \"steps\": %lld, \"s_per_epoch\": %.3f, "
            "\"graph\": %s, \"ms_per_step_pipelined\": %.4f",
            first ? "" : ",", label, s->name, (long long)s->B, (long long)s->T, (long long)s->D, r->med, r->mn,
            (long long)o->steps, r->med * (double)s->steps_per_epoch / 1e3, r->use_graph ? "true" : "false",
            r->use_graph ? r->pipe : r->med);
    if (r->have_profile) {
        fprintf(jf, ", \"profile\": ");
        bench_profile_json(jf, &r->prof);
    }
    fprintf(jf, "}");
}

int cmd_bench(int argc, char **argv) {
    const char *backends = "cpu", *shape = "all", *json = NULL;
    bench_opts o = {NULL, "authors", NULL, 50, 5, 0, 0};
    const dc_opt opts[] = {
        {"backend", OPT_STR, &backends, "comma-separated backends to time (default cpu)"},
        {"shape", OPT_STR, &shape, "harth | sleepeeg | ecg | all (default all)", NULL, "harth|sleepeeg|ecg|all"},
        {"steps", OPT_INT, &o.steps, "timed steps per case (default 50; --profile profiles as many more)", "[1, inf)"},
        {"warmup", OPT_INT, &o.warmup, "untimed steps first (default 5)", "[0, inf)"},
        {"json", OPT_STR, &json, "also write results as JSON to this file ('-' = stdout: pure JSON, the table "
                                 "goes to stderr)"},
        {"graph", OPT_FLAG, &o.graph, "replay each step as a CUDA graph on backends that capture (cuda)"},
        {"model", OPT_STR, &o.model, "time this method's step from the registry (dc_model_loss) instead of DynaCL's"},
        {"protocol", OPT_STR, &o.protocol, "with --model: authors (default) | corrected", NULL, "authors|corrected"},
        {"profile", OPT_FLAG, &o.profile, "then profile as many steps per op (time, share, GFLOP/s, GB/s) "
                                          "against the host CPU's measured FMA peak"},
        {"dump", OPT_STR, &o.dump, "write each shape's initial weights, input and first losses to this folder "
                                   "(eager DynaCL)"},
        {0},
    };
    int r = dc_opts_parse("bench", "[options]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (o.model && !dc_model_method(o.model)) {
        dc_model_config u = dc_model_config_defaults(o.model, NULL, o.protocol);
        dc_model_config_check(&u);
        fprintf(stderr, "dynacl bench: --model: %s\n", dc_last_error());
        return 2;
    }
    if (o.dump && (o.model || o.graph)) {
        fprintf(stderr, "dynacl bench: --dump is for the eager DynaCL step (no --model, no --graph)\n");
        return 2;
    }
    const int json_stdout = json && !strcmp(json, "-");
    FILE *tf = json_stdout ? stderr : stdout; /* the human-readable table */
    FILE *jf = NULL; /* a file gets the JSON in one atomic write at the end */
    char *jbuf = NULL;
    size_t jlen = 0;
    if (json) {
        jf = json_stdout ? stdout : open_memstream(&jbuf, &jlen);
        if (!jf) {
            perror("dynacl bench: --json");
            return 1;
        }
        fprintf(jf, "{\"tool\": \"dynacl bench\", \"version\": \"%s\", \"model\": \"%s\", \"protocol\": \"%s\", ",
                dc_version(), o.model ? o.model : "dynacl", o.model ? o.protocol : "authors");
    }
    double peak = 0;
    int peak_threads = 0;
    const char *isa = NULL;
    if (o.profile) peak = dc_fma_peak_gflops(&peak_threads, &isa);
    if (jf) {
        if (o.profile)
            fprintf(jf, "\"host_fma_peak_gflops\": %.2f, \"host_fma_peak_threads\": %d, \"host_fma_peak_isa\": \"%s\", ",
                    peak, peak_threads, isa);
        fprintf(jf, "\"results\": [");
    }
    char list[256];
    snprintf(list, sizeof list, "%s", backends);
    int first = 1, rc = 0;
    if (o.model) fprintf(tf, "model: %s, protocol %s\n", o.model, o.protocol);
    fprintf(tf, "%-10s %-9s %-14s %10s %10s %10s\n", "backend", "shape", "B x T x D", "ms/step", "min ms", "s/epoch");
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        dc_backend *be = dc_backend_new(name);
        if (!be) {
            fprintf(stderr, "dynacl bench: %s\n", dc_last_error());
            rc = 1;
            continue;
        }
        for (size_t i = 0; i < sizeof k_shapes / sizeof k_shapes[0]; i++) {
            const shape_def *s = &k_shapes[i];
            if (strcmp(shape, "all") && strcmp(shape, s->name)) continue;
            bench_result res = {NAN, NAN, NAN, o.graph && !o.model && dc_backend_can_capture(be), 0, {0}};
            res.prof.peak_gflops = peak;
            res.prof.peak_threads = peak_threads;
            res.prof.peak_isa = isa;
            res.prof.host_cpu = !strncmp(dc_backend_kind(be), "cpu", 3);
            char label[48];
            snprintf(label, sizeof label, "%s%s", dc_backend_name(be), res.use_graph ? "+graph" : "");
            if (!bench_shape(be, s, &o, &res)) {
                fprintf(stderr, "dynacl bench: %s on %s: %s\n", s->name, dc_backend_name(be), dc_last_error());
                free(res.prof.rows);
                free(res.prof.best);
                rc = 1;
                continue;
            }
            char dims[32];
            snprintf(dims, sizeof dims, "%lldx%lldx%lld", (long long)s->B, (long long)s->T, (long long)s->D);
            fprintf(tf, "%-10s %-9s %-14s %10.3f %10.3f %10.2f\n", label, s->name, dims, res.med, res.mn,
                    res.med * (double)s->steps_per_epoch / 1e3);
            if (res.use_graph)
                fprintf(tf, "%-10s %-9s %-14s %10.3f  (replays back to back, one sync)\n", label, s->name, dims, res.pipe);
            if (res.have_profile) {
                char what[96];
                snprintf(what, sizeof what, "%s %s %s", label, o.model ? o.model : "dynacl", s->name);
                bench_profile_print(tf, what, &res.prof);
                fprintf(tf, "\n");
            }
            if (jf) json_result(jf, first, label, s, &o, &res);
            free(res.prof.rows);
            free(res.prof.best);
            first = 0;
        }
        dc_backend_free(be);
    }
    if (jf) {
        fprintf(jf, "\n]}\n");
        if (json_stdout) {
            fflush(stdout);
        } else if (fclose(jf) != 0 || dc_atomic_write(json, jbuf, jlen) != DC_OK) {
            fprintf(stderr, "dynacl bench: --json %s: %s\n", json, dc_last_error());
            rc = 1;
        }
        free(jbuf);
    }
    return rc;
}
