/* test_cuda.c: what only the CUDA backend has: its RNG kernel bit for bit against the CPU's,
 * graph capture of every method's step (replays equal eager steps), the rules of graph
 * capture (what is refused inside a capture), the wording of its out-of-memory error
 * (cudaMalloc, the device) and `dynacl backends` without a device. Correctness of every
 * kernel at training sizes, 200 training steps against cpu, graph replay of the DynaCL step
 * and determinism are the conformance suite's (ctest conformance.cuda.*,
 * `dynacl conformance --backend cuda`). Without the backend or a device each test prints
 * why it is skipped and passes (Check has no skip status). No forking: CUDA must not be
 * initialised in a parent whose children use it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "train/dc_model.h"

static int cuda_kind(void) {
    for (int k = 0; k < dc_backend_kind_count(); k++)
        if (!strcmp(dc_backend_kind_name(k), "cuda")) return k;
    return -1;
}

/* 1 if a CUDA device is usable; else prints why the test `what` is skipped (what NULL: quietly). */
static int have_cuda(const char *what) {
    int k = cuda_kind();
    if (k < 0) {
        if (what) printf("test_cuda: %s skipped: the CUDA backend is not compiled in (DC_CUDA=OFF or no toolkit)\n", what);
        return 0;
    }
    char why[512];
    if (dc_backend_kind_devices(k, why, sizeof why) == 0) {
        if (what) printf("test_cuda: %s skipped: %s\n", what, why);
        return 0;
    }
    return 1;
}

/* a step function for the capture driver (never called: cpu cannot capture) */
static dc_status no_step(void *user) {
    (void)user;
    return DC_OK;
}

/* ---------------------------------------------------------------- RNG */

/* Every distribution of a device fill equals the CPU's bit for bit (dc_rng.h's promise):
 * the normal draws must not depend on the device's log, sin and cos. */
START_TEST(test_rng_bit_identical) {
    if (!have_cuda("rng bit-identity")) return;
    const int64_t n = 4099; /* odd: a partial last Philox block */
    float *h[2];
    const char *names[2] = {"cpu", "cuda"};
    for (int dist = 0; dist < 3; dist++) {
        for (int k = 0; k < 2; k++) {
            dc_backend *be = dc_backend_new(names[k]);
            dc_ctx *ctx = dc_ctx_new(be);
            dc_tensor *t = dc_tensor_new(ctx, DC_F32, 1, &n);
            dc_rng r = dc_rng_init(1234);
            r.counter = 77;
            dc_status st = dist == 0   ? dc_rng_fill_uniform(&r, t, -2.0, 3.0)
                           : dist == 1 ? dc_rng_fill_normal(&r, t, 0.5, 2.0)
                                       : dc_rng_fill_bernoulli(&r, t, 0.3);
            ck_assert_msg(st == DC_OK, "%s", dc_last_error());
            h[k] = malloc((size_t)n * 4);
            ck_assert(dc_tensor_download(t, h[k], (size_t)n * 4) == DC_OK);
            dc_ctx_free(ctx);
            dc_backend_free(be);
        }
        int64_t diff = 0, first = -1;
        for (int64_t i = 0; i < n; i++)
            if (memcmp(&h[0][i], &h[1][i], 4) != 0) diff++, first = first < 0 ? i : first;
        ck_assert_msg(diff == 0, "rng distribution %d: %lld of %lld values differ from cpu (first at %lld: %.9g vs %.9g)",
                      dist, (long long)diff, (long long)n, (long long)first, (double)h[1][first], (double)h[0][first]);
        free(h[0]);
        free(h[1]);
    }
}
END_TEST

/* ---------------------------------------------------------------- every method's step in a graph */

/* One training step of a registered method, as the trainer runs it. Its random draws come
 * from rng, restarted from `at` when `rewind` is set (the eager twin of a replayed graph,
 * whose host draws were made once, at capture). */
typedef struct method_step {
    dc_model *m;
    dc_adamw *opt[2];
    dc_params *grp[2];
    dc_ctx *ctx, *data;
    dc_tensor *x, *loss;
    dc_rng rng, at;
    int rewind;
} method_step;

static dc_status method_step_run(void *user) {
    method_step *s = user;
    if (s->rewind) s->rng = s->at;
    dc_ctx_reset(s->ctx);
    dc_status st = DC_OK;
    for (int k = 0; k < 2 && st == DC_OK; k++)
        if (s->grp[k]) st = dc_params_zero_grad(s->grp[k]);
    if (st != DC_OK) return st;
    s->loss = dc_model_loss(s->m, s->ctx, s->x, 1, &s->rng, NULL);
    if (!s->loss) return dc_last_status();
    if ((st = dc_backward(s->ctx, s->loss)) != DC_OK) return st;
    for (int k = 0; k < 2 && st == DC_OK; k++)
        if (s->opt[k]) st = dc_adamw_step(s->opt[k]);
    return st;
}

static void method_step_open(method_step *s, dc_backend *be, const char *model, const char *protocol, int64_t B,
                             int64_t T, int64_t D, const float *host) {
    memset(s, 0, sizeof *s);
    dc_model_config cfg = dc_model_config_defaults(model, "harth", protocol);
    s->m = dc_model_new(&cfg, be, D);
    ck_assert_msg(s->m, "%s: %s", model, dc_last_error());
    s->grp[0] = s->m->encoder_frozen ? NULL : s->m->enc->params;
    s->grp[1] = s->m->heads && cfg.train_heads ? s->m->heads : NULL;
    for (int k = 0; k < 2; k++)
        if (s->grp[k]) s->opt[k] = dc_adamw_new(s->grp[k], dc_adamw_opts_default());
    s->ctx = dc_ctx_new(be);
    s->data = dc_ctx_new(be);
    s->x = dc_tensor_from_host(s->data, DC_F32, 3, (int64_t[]){B, T, D}, host);
    ck_assert_msg(s->x, "%s", dc_last_error());
    s->rng = dc_rng_init(7);
}

static void method_step_close(method_step *s) {
    dc_ctx_free(s->ctx);
    dc_ctx_free(s->data);
    for (int k = 0; k < 2; k++) dc_adamw_free(s->opt[k]);
    dc_model_free(s->m);
}

#define METHOD_REPLAYS 3

/* Steps that cannot be one graph, and why (they must fail cleanly, with DC_ERR_STATE). */
static const char *not_capturable(const char *model, const char *protocol) {
    if (!strcmp(model, "ts2vec")) return "random crop lengths: every step has other shapes";
    if ((!strcmp(model, "dynacl-m") || !strcmp(model, "mpxent-margin")) && !strcmp(protocol, "corrected"))
        return "pseudo-labels from the embeddings are thresholded on the host (a download inside the step)";
    return NULL;
}

/* Capture one step of every method under both protocols and replay it: each replay equals
 * an eager step with the same (captured) random draws, from the same weights. */
START_TEST(test_every_method_step_captures) {
    if (!have_cuda("graph capture of every method's step")) return;
    const char *protocols[2] = {"authors", "corrected"};
    const char *const *names = dc_model_names();
    const int64_t B = 8, T = 119, D = 12, n = B * T * D; /* TNC needs B >= 5 */
    float *host = malloc((size_t)n * 4);
    dc_rng r = dc_rng_init(3);
    for (int64_t i = 0; i < n; i++) host[i] = (float)(2 * dc_rng_uniform(&r) - 1);
    dc_backend *be = dc_backend_new("cuda");
    int failed = 0;
    for (int mi = 0; names[mi]; mi++)
        for (int p = 0; p < 2; p++) {
            method_step g, e;
            method_step_open(&g, be, names[mi], protocols[p], B, T, D, host);
            method_step_open(&e, be, names[mi], protocols[p], B, T, D, host);
            dc_graph *gr = dc_graph_capture_step(be, method_step_run, &g); /* warm-up, then capture */
            const char *why = not_capturable(names[mi], protocols[p]);
            if (why) {
                ck_assert_msg(!gr && dc_last_status() == DC_ERR_STATE, "%s (%s): %s", names[mi], protocols[p],
                              gr ? "captured, though listed as not capturable" : dc_last_error());
                printf("test_cuda: %s (%s): not capturable as expected (%s): %s\n", names[mi], protocols[p], why,
                       dc_last_error());
            } else if (!gr) {
                printf("test_cuda: %s (%s): step not capturable: %s\n", names[mi], protocols[p], dc_last_error());
                failed++;
            } else {
                ck_assert(method_step_run(&e) == DC_OK); /* the warm-up's twin */
                e.at = e.rng;                           /* the draws the graph holds */
                e.rewind = 1;
                double worst = 0;
                for (int k = 0; k < METHOD_REPLAYS; k++) {
                    ck_assert_msg(dc_graph_launch(gr) == DC_OK, "%s: replay: %s", names[mi], dc_last_error());
                    ck_assert_msg(method_step_run(&e) == DC_OK, "%s: eager: %s", names[mi], dc_last_error());
                    double lg = dc_tensor_item(g.loss), le = dc_tensor_item(e.loss);
                    double rel = fabs(lg - le) / fmax(fabs(le), 1e-30);
                    ck_assert_msg(isfinite(lg) && rel <= 1e-6, "%s (%s) replay %d: loss %.9g, eager %.9g", names[mi],
                                  protocols[p], k, lg, le);
                    worst = fmax(worst, rel);
                }
                printf("test_cuda: %s (%s): %d replays of the captured step match eager steps (worst rel diff %.2g)\n",
                       names[mi], protocols[p], METHOD_REPLAYS, worst);
                dc_graph_free(gr);
            }
            method_step_close(&g);
            method_step_close(&e);
        }
    dc_backend_free(be);
    free(host);
    ck_assert_msg(failed == 0, "%d method steps could not be captured", failed);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_capture_rules) {
    dc_backend *cpu = dc_backend_new("cpu");
    ck_assert(cpu && !dc_backend_can_capture(cpu));
    dc_clear_error();
    ck_assert_int_eq(dc_graph_capture_begin(cpu), DC_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(dc_last_error(), "cannot capture"), "%s", dc_last_error());
    ck_assert(dc_graph_capture_step(cpu, no_step, NULL) == NULL);
    dc_backend_free(cpu);
    if (!have_cuda("capture rules on cuda")) return;
    dc_backend *be = dc_backend_new("cuda");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *t = dc_tensor_zeros(ctx, DC_F32, 1, (int64_t[]){16});
    dc_tensor *u = dc_tensor_zeros(ctx, DC_F32, 1, (int64_t[]){16});
    dc_tensor *big = dc_tensor_zeros(ctx, DC_F32, 1, (int64_t[]){20000}); /* 80000 bytes > 64 KiB */
    float h[16], v[16], *hb = calloc(20000, 4);
    for (int i = 0; i < 16; i++) v[i] = (float)i;
    ck_assert(t && u && big && hb);
    ck_assert(dc_graph_capture_begin(be) == DC_OK);
    ck_assert_int_eq(dc_graph_capture_begin(be), DC_ERR_STATE);
    ck_assert(dc_tensor_fill(t, 3.0) == DC_OK); /* recorded, not run */
    ck_assert_int_eq(dc_backend_sync(be), DC_ERR_STATE);
    ck_assert_msg(strstr(dc_last_error(), "capture"), "%s", dc_last_error());
    ck_assert_int_eq(dc_tensor_download(t, h, sizeof h), DC_ERR_STATE); /* a download is refused too */
    ck_assert_msg(strstr(dc_last_error(), "download during CUDA-graph capture"), "%s", dc_last_error());
    ck_assert(dc_tensor_new(ctx, DC_F32, 1, (int64_t[]){4096}) == NULL);
    ck_assert_int_eq(dc_last_status(), DC_ERR_STATE);
    ck_assert_msg(dc_tensor_upload(u, v, sizeof v) == DC_OK, "%s", dc_last_error()); /* recorded with its bytes */
    ck_assert_int_eq(dc_tensor_upload(big, hb, 80000), DC_ERR_STATE);                 /* an input: refused */
    ck_assert_msg(strstr(dc_last_error(), "64 KiB"), "%s", dc_last_error());
    v[0] = 100.0f; /* the graph keeps the bytes of the capture */
    dc_graph *g = dc_graph_capture_end(be);
    ck_assert_msg(g, "%s", dc_last_error());
    ck_assert(dc_tensor_download(t, h, sizeof h) == DC_OK);
    for (int i = 0; i < 16; i++) ck_assert_msg(h[i] == 0.0f, "[%d] = %g: the fill ran during capture", i, (double)h[i]);
    ck_assert(dc_tensor_download(u, h, sizeof h) == DC_OK);
    for (int i = 0; i < 16; i++) ck_assert_msg(h[i] == 0.0f, "u[%d] = %g: the upload ran during capture", i, (double)h[i]);
    ck_assert(dc_graph_launch(g) == DC_OK);
    ck_assert(dc_tensor_download(t, h, sizeof h) == DC_OK);
    for (int i = 0; i < 16; i++) ck_assert_msg(h[i] == 3.0f, "[%d] = %g after the replay", i, (double)h[i]);
    ck_assert(dc_tensor_download(u, h, sizeof h) == DC_OK);
    for (int i = 0; i < 16; i++) ck_assert_msg(h[i] == (float)i, "u[%d] = %g after the replay", i, (double)h[i]);
    dc_graph_free(g);
    free(hb);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_out_of_memory) {
    if (!have_cuda("out of memory")) return;
    dc_backend *be = dc_backend_new("cuda");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_clear_error();
    dc_tensor *huge = dc_tensor_new(ctx, DC_F32, 1, (int64_t[]){(int64_t)1 << 42}); /* 16 TiB */
    ck_assert(huge == NULL);
    ck_assert_int_eq(dc_last_status(), DC_ERR_OOM);
    ck_assert_msg(strstr(dc_last_error(), "out of device memory") && strstr(dc_last_error(), "cuda:0") &&
                      strstr(dc_last_error(), "cudaMalloc"),
                  "%s", dc_last_error());
    printf("test_cuda: out-of-memory message: %s\n", dc_last_error());
    dc_tensor *t = dc_tensor_full(ctx, DC_F32, 1, (int64_t[]){1000}, 2.5); /* the backend still works */
    ck_assert_msg(t && dc_tensor_item(dc_sum_all(ctx, t)) == 2500.0, "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* `dynacl backends` lists cuda with its device, or as unavailable with the reason. */
START_TEST(test_backends_listing) {
    int k = cuda_kind();
    if (k < 0) {
        printf("test_cuda: backends listing skipped: the CUDA backend is not compiled in\n");
        return;
    }
    const char *bin = getenv("DC_DYNACL_BIN");
    ck_assert_msg(bin && *bin, "DC_DYNACL_BIN is not set (run through ctest)");
    char cmd[2048], out[8192] = "";
    snprintf(cmd, sizeof cmd, "'%s' backends 2>&1", bin);
    FILE *p = popen(cmd, "r");
    ck_assert(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    char *line = strstr(out, "\ncuda ");
    ck_assert_msg(line, "no cuda line in:\n%s", out);
    char why[512];
    if (dc_backend_kind_devices(k, why, sizeof why) == 0) {
        ck_assert_msg(strstr(line, "unavailable: no CUDA device: cudaGetDeviceCount returned"), "%s", out);
        dc_clear_error();
        ck_assert(dc_backend_new("cuda") == NULL);
        ck_assert_int_eq(dc_last_status(), DC_ERR_BACKEND);
        ck_assert_msg(strstr(dc_last_error(), "unavailable") && strstr(dc_last_error(), "no CUDA device"), "%s",
                      dc_last_error());
    } else {
        ck_assert_msg(strstr(line, "sm_"), "%s", out);
    }
    *strchr(line + 1, '\n') = '\0';
    printf("test_cuda: dynacl backends: %s\n", line + 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cuda");
    /* CK_RUN_CASE=cuda or methods runs one of them (ctest runs each apart) */
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_backends_listing);
    tcase_add_test(tc, test_capture_rules);
    tcase_add_test(tc, test_rng_bit_identical);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("methods");
    tcase_set_timeout(tm, 1800);
    tcase_add_test(tm, test_every_method_step_captures);
    suite_add_tcase(s, tm);
    return dc_test_run_suite_nofork(s) ? 1 : 0;
}
