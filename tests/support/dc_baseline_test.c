/* dc_baseline_test.c: the checks shared by the TS2Vec, CPC and TNC suites (see the header). */
#include "dc_baseline_test.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc/dc_npy.h"
#include "dc/dc_safetensors.h"
#include "dc_run_test.h"
#include "dc_test.h"
#include "train/dc_train.h"

float *dc_bt_batch(int64_t B, int64_t T, int64_t D, uint64_t seed) {
    float *x = malloc((size_t)(B * T * D) * sizeof *x), *mu = malloc((size_t)D * sizeof *mu);
    ck_assert(x && mu);
    dc_rng r = dc_rng_init(seed);
    for (int64_t b = 0; b < B; b++) {
        int64_t end = 0;
        for (int64_t t = 0; t < T; t++) {
            if (t >= end) {
                end = t + dc_rng_randint(&r, 6, 20);
                for (int64_t d = 0; d < D; d++) mu[d] = (float)(2.0 * dc_rng_normal(&r));
            }
            for (int64_t d = 0; d < D; d++) x[(b * T + t) * D + d] = mu[d] + (float)(0.1 * dc_rng_normal(&r));
        }
    }
    free(mu);
    return x;
}

double dc_bt_fixed_loss(dc_model *m, dc_tensor *x) {
    dc_ctx *ctx = dc_ctx_new(dc_tensor_backend(x));
    dc_ctx_set_grad_enabled(ctx, 0);
    double s = 0;
    for (uint64_t k = 1; k <= 4; k++) {
        dc_ctx_reset(ctx);
        dc_rng r = dc_rng_init(k);
        dc_tensor *L = dc_model_loss(m, ctx, x, 1, &r, NULL);
        ck_assert_msg(L, "%s: %s", m->cfg.model, dc_last_error());
        s += dc_tensor_item(L);
    }
    dc_ctx_free(ctx);
    return s / 4;
}

static float *params_host(const dc_params *ps) {
    dc_tensor *f = dc_params_flat(ps);
    int64_t n = dc_tensor_numel(f);
    float *h = malloc((size_t)n * sizeof *h);
    ck_assert(h && dc_tensor_download(f, h, (size_t)n * sizeof *h) == DC_OK);
    return h;
}

double dc_bt_lowers_loss(const dc_model_config *cfg, int64_t B, int64_t T, int64_t D, int steps, double ratio) {
    dc_backend *be = dc_backend_new("cpu");
    dc_model *m = dc_model_new(cfg, be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_adamw_opts ao = dc_adamw_opts_default();
    ao.weight_decay = strcmp(cfg->protocol, "corrected") ? 0.01 : 0.0;
    dc_adamw *oe = dc_adamw_new(m->enc->params, ao);
    dc_adamw *oh = (m->heads && cfg->train_heads) ? dc_adamw_new(m->heads, ao) : NULL;
    float *h0 = m->heads ? params_host(m->heads) : NULL;
    dc_ctx *data = dc_ctx_new(be), *ctx = dc_ctx_new(be);
    float *xh = dc_bt_batch(B, T, D, 7);
    dc_tensor *x = dc_tensor_from_host(data, DC_F32, 3, (int64_t[]){B, T, D}, xh);
    ck_assert(x);
    double before = dc_bt_fixed_loss(m, x);
    dc_rng rng = dc_rng_init(99);
    for (int i = 0; i < steps; i++) {
        dc_ctx_reset(ctx);
        ck_assert(dc_params_zero_grad(m->enc->params) == DC_OK);
        if (oh) ck_assert(dc_params_zero_grad(m->heads) == DC_OK);
        dc_tensor *L = dc_model_loss(m, ctx, x, 1, &rng, NULL);
        ck_assert_msg(L, "%s %s step %d: %s", cfg->model, cfg->protocol, i, dc_last_error());
        ck_assert_msg(dc_backward(ctx, L) == DC_OK, "%s", dc_last_error());
        ck_assert(dc_adamw_step(oe) == DC_OK);
        if (oh) ck_assert(dc_adamw_step(oh) == DC_OK);
    }
    double after = dc_bt_fixed_loss(m, x);
    printf("%s (%s): fixed-draw loss %.5f -> %.5f after %d steps\n", cfg->model, cfg->protocol, before, after, steps);
    ck_assert_msg(isfinite(before) && isfinite(after) && after < ratio * before,
                  "%s (%s): loss %.6f -> %.6f, expected below %.3f x", cfg->model, cfg->protocol, before, after, ratio);
    if (h0) { /* authors: the heads were created after the optimizer and never move */
        float *h1 = params_host(m->heads);
        int64_t n = dc_tensor_numel(dc_params_flat(m->heads)), moved = 0;
        for (int64_t i = 0; i < n; i++) moved += h0[i] != h1[i];
        ck_assert_msg(cfg->train_heads ? moved > n / 2 : moved == 0, "%s (%s): %lld of %lld head values moved",
                      cfg->model, cfg->protocol, (long long)moved, (long long)n);
        free(h1);
    }
    free(h0);
    free(xh);
    dc_ctx_free(ctx);
    dc_ctx_free(data);
    dc_adamw_free(oe);
    dc_adamw_free(oh);
    dc_model_free(m);
    dc_backend_free(be);
    return after / before;
}

/* loss and flat encoder gradient (host, caller frees) of one step on backend spec */
static double one_step(const char *spec, const dc_model_config *cfg, int64_t B, int64_t T, int64_t D, const float *xh,
                       float **grad, int64_t *n) {
    dc_backend *be = dc_backend_new(spec);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_model *m = dc_model_new(cfg, be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){B, T, D}, xh);
    dc_rng r = dc_rng_init(31);
    ck_assert(x && dc_params_zero_grad(m->enc->params) == DC_OK);
    dc_tensor *L = dc_model_loss(m, ctx, x, 1, &r, NULL);
    ck_assert_msg(L && dc_backward(ctx, L) == DC_OK, "%s on %s: %s", cfg->model, spec, dc_last_error());
    double v = dc_tensor_item(L);
    dc_tensor *g = dc_params_flat_grad(m->enc->params);
    *n = dc_tensor_numel(g);
    *grad = malloc((size_t)*n * sizeof **grad);
    ck_assert(*grad && dc_tensor_download(g, *grad, (size_t)*n * sizeof **grad) == DC_OK);
    dc_ctx_free(ctx);
    dc_model_free(m);
    dc_backend_free(be);
    return v;
}

void dc_bt_backend_parity(const dc_model_config *cfg, int64_t B, int64_t T, int64_t D) {
    float *xh = dc_bt_batch(B, T, D, 3), *g0, *g1;
    int64_t n0, n1;
    double L0 = one_step("cpu", cfg, B, T, D, xh, &g0, &n0);
    for (int k = 0; k < dc_backend_kind_count(); k++) {
        const char *kind = dc_backend_kind_name(k);
        char why[256] = "", spec[64];
        if (!strcmp(kind, "cpu")) continue;
        if (dc_backend_kind_devices(k, why, sizeof why) < 1) {
            printf("%s parity: %s skipped, no device (%s)\n", cfg->model, kind, why);
            continue;
        }
        snprintf(spec, sizeof spec, "%s:0", kind);
        double L1 = one_step(spec, cfg, B, T, D, xh, &g1, &n1);
        ck_assert_int_eq(n0, n1);
        double num = 0, den = 0;
        for (int64_t i = 0; i < n0; i++) num += ((double)g1[i] - g0[i]) * ((double)g1[i] - g0[i]), den += (double)g0[i] * g0[i];
        double gerr = sqrt(num / (den > 0 ? den : 1));
        printf("%s (%s) parity on %s: loss %.7g vs %.7g, gradient rel. L2 error %.2e\n", cfg->model, cfg->protocol, spec, L1,
               L0, gerr);
        ck_assert_msg(fabs(L1 - L0) <= 1e-4 * fmax(1.0, fabs(L0)), "%s on %s: loss %.9g, cpu %.9g", cfg->model, spec, L1, L0);
        ck_assert_msg(gerr < 1e-3, "%s on %s: gradient differs from cpu by %.3g (rel. L2)", cfg->model, spec, gerr);
        free(g1);
    }
    free(g0);
    free(xh);
}

void dc_bt_backends_agree(const char *model, int64_t B, int64_t T, int64_t D) {
    const char *protocols[2] = {"authors", "corrected"};
    for (int p = 0; p < 2; p++) {
        dc_model_config cfg = dc_model_config_defaults(model, "synthetic", protocols[p]);
        dc_bt_backend_parity(&cfg, B, T, D);
    }
}

dc_backend *dc_bt_be;
dc_ctx *dc_bt_ctx;

void dc_bt_setup(void) {
    dc_bt_be = dc_backend_new("cpu");
    dc_bt_ctx = dc_ctx_new(dc_bt_be);
}

void dc_bt_teardown(void) {
    dc_ctx_free(dc_bt_ctx);
    dc_backend_free(dc_bt_be);
}

void dc_bt_expect(dc_tensor *y, const double *want, int64_t n, double tol, const char *what) {
    ck_assert_msg(y, "%s: %s", what, dc_last_error());
    ck_assert_int_eq(dc_tensor_numel(y), n);
    float got[64];
    ck_assert(n <= 64 && dc_tensor_download(y, got, (size_t)n * sizeof(float)) == DC_OK);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "%s[%lld]: got %.7g, want %.7g", what, (long long)i, got[i], want[i]);
}

void dc_bt_cli_fails(const char *args, int rc, const char *want) {
    char *dir = dc_test_tmpdir(), cmd[4096];
    static char out[1 << 14];
    snprintf(cmd, sizeof cmd, "pretrain %s --max-steps 1 --out '%s/run'", args, dir);
    int got = dc_test_run_cli(cmd, out, sizeof out);
    dc_test_rmtree(dir);
    free(dir);
    ck_assert_msg(got == rc && strstr(out, want), "dynacl %s: exit %d (expected %d), expected \"%s\" in:\n%s", cmd, got, rc, want, out);
}

void dc_bt_cli_pretrain(const char *args, const char *const *expect, int n) {
    char *dir = dc_test_tmpdir(), cmd[4096], path[1200];
    static char out[1 << 16];
    snprintf(cmd, sizeof cmd, "pretrain %s --max-steps 3 --save-every 2 --valid-every 0 --out '%s/run'", args, dir);
    ck_assert_msg(dc_test_run_cli(cmd, out, sizeof out) == 0, "%s\n%s", cmd, out);
    snprintf(cmd, sizeof cmd, "pretrain --resume '%s/run'", dir);
    ck_assert_msg(dc_test_run_cli(cmd, out, sizeof out) == 0, "%s\n%s", cmd, out);
    snprintf(path, sizeof path, "%s/run/config.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert(f);
    size_t len = fread(out, 1, sizeof out - 1, f);
    out[len] = '\0';
    fclose(f);
    for (int i = 0; i < n; i++) ck_assert_msg(strstr(out, expect[i]), "config.json lacks %s:\n%s", expect[i], out);
    dc_test_rmtree(dir);
    free(dir);
}

void dc_bt_embed_matches(dc_model *m, const dc_dataset *ds, const char *checkpoint, const char *scratch) {
    int64_t N = 4, T = ds->seqs.T, D = ds->frames.D, idx[4] = {0, 5, 11, 17};
    float *X = malloc((size_t)(N * T * D) * sizeof *X), *Z = malloc((size_t)(N * T * 32) * sizeof *Z);
    ck_assert(X && Z && dc_sequences_gather(&ds->frames, &ds->seqs, idx, N, X) == DC_OK);
    ck_assert(dc_encoder_embed(m->enc, X, N, T, Z, 2) == DC_OK);
    char xin[1300], zout[1300], args[4200], out[8192];
    snprintf(xin, sizeof xin, "%s/x.npy", scratch);
    snprintf(zout, sizeof zout, "%s/z.npy", scratch);
    ck_assert(dc_npy_write(xin, DC_NPY_F32, 3, (int64_t[]){N, T, D}, X) == DC_OK);
    snprintf(args, sizeof args, "embed --checkpoint '%s' --input '%s' --out '%s'", checkpoint, xin, zout);
    ck_assert_msg(dc_test_run_cli(args, out, sizeof out) == 0, "%s", out);
    dc_npy z;
    ck_assert_msg(dc_npy_open(zout, &z) == DC_OK, "%s", dc_last_error());
    ck_assert(z.ndim == 3 && z.shape[0] == N && z.shape[1] == T && z.shape[2] == 32);
    const float *zc = z.data;
    double err = 0;
    for (int64_t i = 0; i < N * T * 32; i++) err = fmax(err, fabs((double)zc[i] - Z[i]));
    ck_assert_msg(err < 1e-5, "%s: dynacl embed differs from the encoder by %g", m->cfg.model, err);
    dc_npy_close(&z);
    free(X);
    free(Z);
}

void dc_bt_checkpoint_embed(const dc_model_config *cfg, const char *const *heads, int n) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 3;
    so.minutes = 4; /* 36 sequences of T = 119: batches of 5 in both splits */
    dc_dataset ds;
    ck_assert_msg(dc_dataset_synthetic(&so, &ds) == DC_OK, "%s", dc_last_error());
    dc_backend *be = dc_backend_new("cpu");
    dc_model *m = dc_model_new(cfg, be, ds.frames.D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_train_opts o = dc_train_opts_default();
    o.epochs = 1;
    o.batch = 5; /* TNC's anchor range [2w, B*w - 2w) needs B >= 5 (docs/METHOD.md §6.4) */
    o.valid_interval = 1;
    o.log_every = 1;
    char *dir = dc_test_tmpdir(), run[1200], path[1300];
    snprintf(run, sizeof run, "%s/run", dir);
    dc_status st = dc_train_run(m, &ds, be, &o, run, DC_RUN_NEW, "{\"test\": 1}", NULL);
    ck_assert_msg(st == DC_OK, "%s (%s): %s", cfg->model, cfg->protocol, dc_last_error());

    snprintf(path, sizeof path, "%s/model.safetensors", run);
    dc_st_file *f;
    ck_assert_msg(dc_st_open(path, &f) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(dc_st_count(f), 21 + n);
    const char *enc_names[] = {"conv1.weight", "conv2.bias", "conv3.weight", "bn1.running_var", "bn3.num_batches_tracked"};
    for (int i = 0; i < 5; i++) ck_assert_msg(dc_st_find(f, enc_names[i]), "%s missing", enc_names[i]);
    for (int i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.%s", cfg->model, heads[i]);
        const dc_st_tensor *t = dc_st_find(f, name);
        const dc_tensor *p = dc_params_find(m->heads, heads[i]);
        ck_assert_msg(t && p && (int64_t)t->nbytes == dc_tensor_numel(p) * 4, "head %s", name);
    }
    dc_st_close(f);

    dc_bt_embed_matches(m, &ds, path, dir);
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    dc_test_rmtree(dir);
    free(dir);
}

static double fd_eval(dc_ctx *ctx, dc_bt_fn f, void *ud, int n_in, const int *ndim, const int64_t (*shape)[4],
                      double *const *host, dc_tensor **keep) {
    dc_tensor *in[8];
    for (int i = 0; i < n_in; i++) {
        in[i] = dc_tensor_from_host(ctx, DC_F64, ndim[i], shape[i], host[i]);
        ck_assert(in[i]);
        if (keep) {
            ck_assert(dc_tensor_set_requires_grad(in[i], 1) == DC_OK);
            keep[i] = in[i];
        }
    }
    dc_tensor *L = f(ctx, in, ud);
    ck_assert_msg(L, "%s", dc_last_error());
    if (keep) {
        ck_assert_msg(dc_backward(ctx, L) == DC_OK, "%s", dc_last_error());
        keep[n_in] = L;
    }
    return dc_tensor_item(L);
}

void dc_bt_fd_check(const char *what, dc_bt_fn f, void *ud, int n_in, const int *ndim, const int64_t (*shape)[4],
                    double *const *host) {
    ck_assert(n_in >= 1 && n_in <= 7);
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *leaf[8];
    fd_eval(ctx, f, ud, n_in, ndim, shape, host, leaf);
    for (int i = 0; i < n_in; i++) {
        int64_t n = 1;
        for (int d = 0; d < ndim[i]; d++) n *= shape[i][d];
        double *g = calloc((size_t)n, sizeof *g);
        ck_assert(g);
        if (leaf[i]->grad) ck_assert(dc_tensor_download(leaf[i]->grad, g, (size_t)n * sizeof *g) == DC_OK);
        int64_t step = n > 250 ? n / 250 + 1 : 1;
        for (int64_t j = 0; j < n; j += step) {
            double x0 = host[i][j], h = 1e-6 * fmax(1.0, fabs(x0));
            dc_ctx *w = dc_ctx_new(be);
            dc_ctx_set_grad_enabled(w, 0);
            host[i][j] = x0 + h;
            double lp = fd_eval(w, f, ud, n_in, ndim, shape, host, NULL);
            dc_ctx_reset(w);
            host[i][j] = x0 - h;
            double lm = fd_eval(w, f, ud, n_in, ndim, shape, host, NULL);
            host[i][j] = x0;
            dc_ctx_free(w);
            double fd = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(g[j] - fd) <= 1e-7 + 1e-5 * fabs(fd),
                          "%s: input %d element %lld: autodiff %.10g, finite difference %.10g",
                          what, i, (long long)j, g[j], fd);
        }
        free(g);
    }
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
