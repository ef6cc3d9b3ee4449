/* cmd_bench.c: `dynacl bench`: ms per DynaCL training step (forward, backward, AdamW) at
 * the paper's shapes, median over many steps, per backend; optional JSON output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dynacl/dc_dynacl.h"
#include "tool_common.h"

typedef struct shape_def {
    const char *name;
    int64_t B, T, D, steps_per_epoch;
} shape_def;

static const shape_def k_shapes[] = {
    {"harth", 8, 119, 156, 1067},
    {"sleepeeg", 8, 300, 178, 123},
    {"ecg", 8, 119, 252, 306}, /* the paper's T = 119; steps/epoch of its 500-length split */
};

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_one(dc_backend *be, const shape_def *s, int64_t steps, int64_t warmup, double *median_ms,
                     double *min_ms) {
    dc_encoder *enc = dc_encoder_new(be, s->D);
    dc_rng rng = dc_rng_init(1);
    dc_adamw *opt = enc && dc_encoder_init(enc, &rng) == DC_OK ? dc_adamw_new(enc->params, dc_adamw_opts_default()) : NULL;
    dc_ctx *ctx = opt ? dc_ctx_new(be) : NULL, *data = ctx ? dc_ctx_new(be) : NULL;
    dc_tensor *x = data ? dc_tensor_new(data, DC_F32, 3, (int64_t[]){s->B, s->T, s->D}) : NULL;
    double *t = malloc((size_t)steps * sizeof *t);
    int ok = x && t && dc_rng_fill_normal(&rng, x, 0.0, 1.0) == DC_OK;
    dc_mpxent_opts mo = dc_mpxent_opts_default();
    for (int64_t i = 0; ok && i < warmup + steps; i++) {
        double t0 = dc_now();
        dc_ctx_reset(ctx);
        ok = dc_dynacl_step(enc, opt, ctx, x, &mo, NULL) == DC_OK && dc_backend_sync(be) == DC_OK;
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
    dc_adamw_free(opt);
    dc_encoder_free(enc);
    return ok;
}

int cmd_bench(int argc, char **argv) {
    const char *backends = "cpu", *shape = "all", *json = NULL;
    int64_t steps = 50, warmup = 5;
    const dc_opt opts[] = {
        {"backend", OPT_STR, &backends, "comma-separated backends to time (default cpu)"},
        {"shape", OPT_STR, &shape, "harth | sleepeeg | ecg | all (default all)"},
        {"steps", OPT_INT, &steps, "timed steps per case (default 50)"},
        {"warmup", OPT_INT, &warmup, "untimed steps first (default 5)"},
        {"json", OPT_STR, &json, "also write results as JSON to this file ('-' = stdout)"},
        {0},
    };
    int r = dc_opts_parse("bench", "[options]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (steps < 1 || warmup < 0) {
        fprintf(stderr, "dynacl bench: --steps must be >= 1 and --warmup >= 0\n");
        return 2;
    }
    FILE *jf = NULL;
    if (json) {
        jf = strcmp(json, "-") ? fopen(json, "w") : stdout;
        if (!jf) {
            perror("dynacl bench: --json");
            return 1;
        }
        fprintf(jf, "{\"tool\": \"dynacl bench\", \"version\": \"%s\", \"model\": \"dynacl\", \"results\": [", dc_version());
    }
    char list[256];
    snprintf(list, sizeof list, "%s", backends);
    int first = 1, rc = 0;
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
            double med = NAN, mn = NAN;
            if (!bench_one(be, s, steps, warmup, &med, &mn)) {
                fprintf(stderr, "dynacl bench: %s on %s: %s\n", s->name, dc_backend_name(be), dc_last_error());
                rc = 1;
                continue;
            }
            char dims[32];
            snprintf(dims, sizeof dims, "%lldx%lldx%lld", (long long)s->B, (long long)s->T, (long long)s->D);
            printf("%-10s %-9s %-14s %10.3f %10.3f %10.2f\n", dc_backend_name(be), s->name, dims, med, mn,
                   med * (double)s->steps_per_epoch / 1e3);
            if (jf)
                fprintf(jf, "%s\n  {\"backend\": \"%s\", \"shape\": \"%s\", \"B\": %lld, \"T\": %lld, \"D\": %lld, "
                        "\"ms_per_step_median\": %.4f, \"ms_per_step_min\": %.4f, \"steps\": %lld, \"s_per_epoch\": %.3f}",
                        first ? "" : ",", dc_backend_name(be), s->name, (long long)s->B, (long long)s->T,
                        (long long)s->D, med, mn, (long long)steps, med * (double)s->steps_per_epoch / 1e3);
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
