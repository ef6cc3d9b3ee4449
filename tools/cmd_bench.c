/* cmd_bench.c: `dynacl bench`: ms per DynaCL training step (forward, backward, AdamW) at
 * the paper's shapes, median over many steps, per backend; optional JSON output.
 * `--model NAME` times any registered method instead, through dc_model_loss. `--dump DIR`
 * writes the initial weights, the input and the first losses, so that another framework
 * (tools/bench_vs_torch.py) can check that it times the same step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_npy.h"
#include "dc/dc_safetensors.h"
#include "dynacl/dc_dynacl.h"
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

static int bench_one(dc_backend *be, const shape_def *s, int64_t steps, int64_t warmup, const char *dump,
                     double *median_ms, double *min_ms) {
    dc_encoder *enc = dc_encoder_new(be, s->D);
    dc_rng rng = dc_rng_init(1);
    dc_adamw *opt = enc && dc_encoder_init(enc, &rng) == DC_OK ? dc_adamw_new(enc->params, dc_adamw_opts_default()) : NULL;
    dc_ctx *ctx = opt ? dc_ctx_new(be) : NULL, *data = ctx ? dc_ctx_new(be) : NULL;
    dc_tensor *x = data ? dc_tensor_new(data, DC_F32, 3, (int64_t[]){s->B, s->T, s->D}) : NULL;
    double *t = malloc((size_t)steps * sizeof *t);
    int ok = x && t && dc_rng_fill_normal(&rng, x, 0.0, 1.0) == DC_OK;
    if (ok && dump) ok = dump_start(dump, s, enc, x) == DC_OK;
    dc_mpxent_opts mo = dc_mpxent_opts_default();
    double losses[DUMP_LOSSES];
    int n_losses = 0;
    for (int64_t i = 0; ok && i < warmup + steps; i++) {
        double t0 = dc_now();
        dc_ctx_reset(ctx);
        double *lo = dump && n_losses < DUMP_LOSSES ? &losses[n_losses++] : NULL; /* a download: a sync */
        ok = dc_dynacl_step(enc, opt, ctx, x, &mo, lo) == DC_OK && dc_backend_sync(be) == DC_OK;
        if (i >= warmup) t[i - warmup] = (dc_now() - t0) * 1e3;
    }
    if (ok && dump) ok = dump_losses(dump, s, dc_backend_name(be), losses, n_losses) == DC_OK;
    if (ok) {
        qsort(t, (size_t)steps, sizeof *t, cmp_dbl);
        *median_ms = t[steps / 2];
        *min_ms = t[0];
    }
    free(t);
    dc_ctx_free(data);
    dc_ctx_free(ctx);
    dc_adamw_free(opt);
    dc_encoder_free(enc);
    return ok;
}

/* --graph (backends that capture, i.e. cuda): after the eager warm-up steps,
 * dc_graph_capture_step runs one more step eagerly and captures the next one as a graph.
 * Each timed step is one replay plus a sync (as the eager loop); *pipe_ms is the per-step
 * time of `steps` replays launched back to back with one sync at the end. */
typedef struct bench_state {
    dc_encoder *enc;
    dc_adamw *opt;
    dc_ctx *ctx;
    dc_tensor *x;
    dc_mpxent_opts mo;
} bench_state;

static dc_status bench_step(void *user) {
    bench_state *b = user;
    dc_ctx_reset(b->ctx);
    return dc_dynacl_step(b->enc, b->opt, b->ctx, b->x, &b->mo, NULL);
}

static int bench_graph(dc_backend *be, const shape_def *s, int64_t steps, int64_t warmup, double *median_ms,
                       double *min_ms, double *pipe_ms) {
    bench_state b = {dc_encoder_new(be, s->D), NULL, NULL, NULL, dc_mpxent_opts_default()};
    dc_rng rng = dc_rng_init(1);
    b.opt = b.enc && dc_encoder_init(b.enc, &rng) == DC_OK ? dc_adamw_new(b.enc->params, dc_adamw_opts_default()) : NULL;
    dc_ctx *data = b.opt ? dc_ctx_new(be) : NULL;
    b.ctx = data ? dc_ctx_new(be) : NULL;
    b.x = b.ctx ? dc_tensor_new(data, DC_F32, 3, (int64_t[]){s->B, s->T, s->D}) : NULL;
    double *t = malloc((size_t)steps * sizeof *t);
    int ok = b.x && t && dc_rng_fill_normal(&rng, b.x, 0.0, 1.0) == DC_OK;
    for (int64_t i = 0; ok && i < warmup; i++) ok = bench_step(&b) == DC_OK;
    dc_graph *g = ok ? dc_graph_capture_step(be, bench_step, &b) : NULL;
    ok = g != NULL;
    for (int64_t i = 0; ok && i < steps; i++) {
        double t0 = dc_now();
        ok = dc_graph_launch(g) == DC_OK && dc_backend_sync(be) == DC_OK;
        t[i] = (dc_now() - t0) * 1e3;
    }
    double t0 = dc_now();
    for (int64_t i = 0; ok && i < steps; i++) ok = dc_graph_launch(g) == DC_OK;
    ok = ok && dc_backend_sync(be) == DC_OK;
    *pipe_ms = (dc_now() - t0) * 1e3 / (double)steps;
    if (ok) { /* replays do not advance host-side counters (dc_backend.h): R - 1 more steps */
        ok = dc_adamw_set_steps(b.opt, dc_adamw_steps(b.opt) + 2 * steps - 1) == DC_OK;
        b.enc->num_batches_tracked += 2 * steps - 1;
    }
    if (ok) {
        qsort(t, (size_t)steps, sizeof *t, cmp_dbl);
        *median_ms = t[steps / 2];
        *min_ms = t[0];
    }
    dc_graph_free(g);
    free(t);
    dc_ctx_free(b.ctx);
    dc_ctx_free(data);
    dc_adamw_free(b.opt);
    dc_encoder_free(b.enc);
    return ok;
}

/* One training step of a registered method (docs/METHOD.md §5): zero grads, dc_model_loss, backward,
 * AdamW on the encoder (and on the heads when the protocol trains them). */
static int bench_model(dc_backend *be, const shape_def *s, const char *model, const char *protocol, int64_t steps,
                       int64_t warmup, double *median_ms, double *min_ms) {
    dc_model_config cfg = dc_model_config_defaults(model, s->name, protocol);
    dc_model *m = dc_model_new(&cfg, be, s->D);
    dc_adamw *opt[2] = {NULL, NULL};
    /* as the trainer: a frozen encoder (CoST under authors) is not optimised */
    dc_params *grp[2] = {m && !m->encoder_frozen ? m->enc->params : NULL, m && m->heads && cfg.train_heads ? m->heads : NULL};
    for (int k = 0; k < 2; k++) opt[k] = grp[k] ? dc_adamw_new(grp[k], dc_adamw_opts_default()) : NULL;
    dc_ctx *ctx = (opt[0] || opt[1]) ? dc_ctx_new(be) : NULL, *data = ctx ? dc_ctx_new(be) : NULL;
    dc_tensor *x = data ? dc_tensor_new(data, DC_F32, 3, (int64_t[]){s->B, s->T, s->D}) : NULL;
    double *t = malloc((size_t)steps * sizeof *t);
    dc_rng rng = dc_rng_init(1);
    int ok = x && t && (!grp[0] || opt[0]) && (!grp[1] || opt[1]) && dc_rng_fill_normal(&rng, x, 0.0, 1.0) == DC_OK;
    for (int64_t i = 0; ok && i < warmup + steps; i++) {
        double t0 = dc_now();
        dc_ctx_reset(ctx);
        for (int k = 0; k < 2 && ok; k++) ok = !grp[k] || dc_params_zero_grad(grp[k]) == DC_OK;
        dc_tensor *L = ok ? dc_model_loss(m, ctx, x, 1, &rng, NULL) : NULL;
        ok = L && dc_backward(ctx, L) == DC_OK;
        for (int k = 0; k < 2 && ok; k++) ok = !opt[k] || dc_adamw_step(opt[k]) == DC_OK;
        ok = ok && dc_backend_sync(be) == DC_OK;
        if (i >= warmup) t[i - warmup] = (dc_now() - t0) * 1e3;
    }
    if (ok) {
        qsort(t, (size_t)steps, sizeof *t, cmp_dbl);
        *median_ms = t[steps / 2];
        *min_ms = t[0];
    }
    free(t);
    dc_ctx_free(data);
    dc_ctx_free(ctx);
    for (int k = 0; k < 2; k++) dc_adamw_free(opt[k]);
    dc_model_free(m);
    return ok;
}

int cmd_bench(int argc, char **argv) {
    const char *backends = "cpu", *shape = "all", *json = NULL, *model = NULL, *protocol = "authors", *dump = NULL;
    int64_t steps = 50, warmup = 5;
    int graph = 0;
    const dc_opt opts[] = {
        {"backend", OPT_STR, &backends, "comma-separated backends to time (default cpu)"},
        {"shape", OPT_STR, &shape, "harth | sleepeeg | ecg | all (default all)", NULL, "harth|sleepeeg|ecg|all"},
        {"steps", OPT_INT, &steps, "timed steps per case (default 50)", "[1, inf)"},
        {"warmup", OPT_INT, &warmup, "untimed steps first (default 5)", "[0, inf)"},
        {"json", OPT_STR, &json, "also write results as JSON to this file ('-' = stdout)"},
        {"graph", OPT_FLAG, &graph, "replay each step as a CUDA graph on backends that capture (cuda)"},
        {"model", OPT_STR, &model, "time this method's step from the registry (dc_model_loss) instead of DynaCL's"},
        {"protocol", OPT_STR, &protocol, "with --model: authors (default) | corrected", NULL, "authors|corrected"},
        {"dump", OPT_STR, &dump, "write each shape's initial weights, input and first losses to this folder (eager DynaCL)"},
        {0},
    };
    int r = dc_opts_parse("bench", "[options]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (model && !dc_model_method(model)) {
        dc_model_config u = dc_model_config_defaults(model, NULL, protocol);
        dc_model_config_check(&u);
        fprintf(stderr, "dynacl bench: --model: %s\n", dc_last_error());
        return 2;
    }
    if (dump && (model || graph)) {
        fprintf(stderr, "dynacl bench: --dump is for the eager DynaCL step (no --model, no --graph)\n");
        return 2;
    }
    FILE *jf = NULL;
    if (json) {
        jf = strcmp(json, "-") ? fopen(json, "w") : stdout;
        if (!jf) {
            perror("dynacl bench: --json");
            return 1;
        }
        fprintf(jf, "{\"tool\": \"dynacl bench\", \"version\": \"%s\", \"model\": \"%s\", \"protocol\": \"%s\", \"results\": [",
                dc_version(), model ? model : "dynacl", model ? protocol : "authors");
    }
    char list[256];
    snprintf(list, sizeof list, "%s", backends);
    int first = 1, rc = 0;
    if (model) printf("model: %s, protocol %s\n", model, protocol);
    printf("%-10s %-9s %-14s %10s %10s %10s\n", "backend", "shape", "B x T x D", "ms/step", "min ms", "s/epoch");
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
            double med = NAN, mn = NAN, pipe = NAN;
            const int use_graph = graph && !model && dc_backend_can_capture(be);
            char label[48];
            snprintf(label, sizeof label, "%s%s", dc_backend_name(be), use_graph ? "+graph" : "");
            if (!(model       ? bench_model(be, s, model, protocol, steps, warmup, &med, &mn)
                  : use_graph ? bench_graph(be, s, steps, warmup, &med, &mn, &pipe)
                              : bench_one(be, s, steps, warmup, dump, &med, &mn))) {
                fprintf(stderr, "dynacl bench: %s on %s: %s\n", s->name, dc_backend_name(be), dc_last_error());
                rc = 1;
                continue;
            }
            char dims[32];
            snprintf(dims, sizeof dims, "%lldx%lldx%lld", (long long)s->B, (long long)s->T, (long long)s->D);
            printf("%-10s %-9s %-14s %10.3f %10.3f %10.2f\n", label, s->name, dims, med, mn,
                   med * (double)s->steps_per_epoch / 1e3);
            if (use_graph) printf("%-10s %-9s %-14s %10.3f  (replays back to back, one sync)\n", label, s->name, dims, pipe);
            if (jf)
                fprintf(jf, "%s\n  {\"backend\": \"%s\", \"shape\": \"%s\", \"B\": %lld, \"T\": %lld, \"D\": %lld, "
                        "\"ms_per_step_median\": %.4f, \"ms_per_step_min\": %.4f, \"steps\": %lld, \"s_per_epoch\": %.3f, "
                        "\"graph\": %s, \"ms_per_step_pipelined\": %.4f}",
                        first ? "" : ",", label, s->name, (long long)s->B, (long long)s->T,
                        (long long)s->D, med, mn, (long long)steps, med * (double)s->steps_per_epoch / 1e3,
                        use_graph ? "true" : "false", use_graph ? pipe : med);
            first = 0;
        }
        dc_backend_free(be);
    }
    if (jf) {
        fprintf(jf, "\n]}\n");
        if (jf != stdout) fclose(jf);
    }
    return rc;
}
