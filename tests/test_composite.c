/* test_composite.c: the composites of the non-primitive kernels (core/src/composite*.c).
 *
 *  - the partition: every kernel op is a primitive or has a composite, never both;
 *  - fused against composite: the toy and odd cases of the conformance suite's op table
 *    (tools/conformance/conf_cases.c), plus cases at training sizes here, on each kind as is and on its primitives-only twin
 *    (tests/support/fused_composite.c), output and every input gradient compared by relative
 *    L2 error: cpu in f64 (1e-12 forward, 1e-10 gradients), and in f32 (1e-5 / 5e-5, loosened
 *    per case in the tables) cpu and every other kind with a device (opencl, cuda; cpu-ref,
 *    the reference, is left out). The composite side may not
 *    transfer to or from the host while the op and its backward run (graph-capturable);
 *  - every composite ran in some case (ADAMW in its own check);
 *  - AdamW's composite against the kernel over three steps;
 *  - one training step of every method under both protocols on the primitives-only cpu
 *    against cpu (loss and every parameter gradient), and bit-identical when repeated;
 *  - errors: a missing primitive is named together with the op whose composite needed it,
 *    and DC_NO_FUSED accepts 0, 1 or a list of ops and refuses anything else.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_internal.h"
#include "dc_test.h"
#include "fused_composite.h"
#include "train/dc_model.h"

/* ---------------------------------------------------------------- cases at training sizes */

static dc_tensor *b_mpx(dc_ctx *x, dc_tensor *const *i, const conf_case *c) {
    dc_mpxent_opts o = {0.5, c->iparam, 0};
    return dc_mpxent(x, dc_relu(x, i[0]), &o);
}
static dc_tensor *b_mpx_single(dc_ctx *x, dc_tensor *const *i, const conf_case *c) {
    dc_mpxent_opts o = {0.5, c->iparam, 1};
    return dc_mpxent(x, i[0], &o);
}
static dc_tensor *b_bn_relu(dc_ctx *x, dc_tensor *const *i, const conf_case *c) {
    int64_t C = i[0]->shape[1];
    dc_bn_opts o = dc_bn_opts_default();
    o.fuse_relu = 1;
    return dc_batchnorm(x, i[0], i[1], i[2], dc_tensor_zeros(x, i[0]->dtype, 1, &C),
                        dc_tensor_full(x, i[0]->dtype, 1, &C, 1.0), &o);
}
static dc_tensor *b_l2(dc_ctx *x, dc_tensor *const *i, const conf_case *c) { return dc_l2norm(x, i[0], 1e-12); }
static dc_tensor *b_ce(dc_ctx *x, dc_tensor *const *i, const conf_case *c) { return dc_cross_entropy(x, i[0], i[1]); }
static dc_tensor *b_pool(dc_ctx *x, dc_tensor *const *i, const conf_case *c) {
    return dc_maxpool1d(x, i[0], c->iparam, c->iparam);
}
static dc_tensor *b_gather(dc_ctx *x, dc_tensor *const *i, const conf_case *c) { return dc_gather(x, i[0], i[1]); }
static dc_tensor *b_bce(dc_ctx *x, dc_tensor *const *i, const conf_case *c) { return dc_bce_logits(x, i[0], i[1]); }
static dc_tensor *b_mse(dc_ctx *x, dc_tensor *const *i, const conf_case *c) { return dc_mse(x, i[0], i[1]); }

#define SH(...) {__VA_ARGS__}
#define U IN_UNIFORM
static const conf_case k_large[] = {
    /* N = B T = 8 x 119 rows of F = 32 after a ReLU, corrected protocol; f32 gradients within 1e-4:
     * the kernel and the composite sum 952 exponentials in different orders */
    {"large_mpxent_within_seq", DC_OP_MPXENT, 1, {2}, {SH(952, 32)}, {U}, 1, b_mpx, 119, CONF_TRAIN},
    {"large_mpxent_single", DC_OP_MPXENT, 1, {2}, {SH(600, 17)}, {U}, 1, b_mpx_single, 0, CONF_TRAIN},
    {"large_batchnorm_relu", DC_OP_BATCHNORM, 3, {2, 1, 1}, {SH(2400, 64), SH(64), SH(64)}, {U, IN_ONES_ISH, U}, 7,
     b_bn_relu},
    {"large_l2norm", DC_OP_L2NORM, 1, {2}, {SH(2016, 129)}, {U}, 1, b_l2},
    {"large_cross_entropy", DC_OP_CROSS_ENTROPY, 2, {2, 1}, {SH(2016, 129), SH(2016)}, {U, IN_LABEL}, 1, b_ce, 129},
    {"large_maxpool_global", DC_OP_MAXPOOL1D, 1, {3}, {SH(8, 300, 64)}, {U}, 1, b_pool, 300},
    {"large_maxpool_k2", DC_OP_MAXPOOL1D, 1, {3}, {SH(8, 300, 64)}, {U}, 1, b_pool, 2},
    {"large_gather_batch", DC_OP_GATHER, 2, {3, 2}, {SH(8, 300, 64), SH(8, 252)}, {U, IN_INDEX}, 1, b_gather, 300},
    /* one row of 90,000 values picked 1,904 times, as the margin loss picks entries of E */
    {"large_gather_flat", DC_OP_GATHER, 2, {3, 2}, {SH(1, 90000, 1), SH(1, 1904)}, {U, IN_INDEX}, 1, b_gather, 90000},
    {"large_bce_logits", DC_OP_BCE_LOGITS, 2, {2, 2}, {SH(2400, 40), SH(2400, 40)}, {U, IN_PROB}, 1, b_bce},
    {"large_mse", DC_OP_MSE, 2, {2, 2}, {SH(952, 156), SH(952, 156)}, {U, U}, 3, b_mse},
};
#define N_LARGE ((int)(sizeof k_large / sizeof k_large[0]))

/* ---------------------------------------------------------------- configurations */

typedef struct config {
    const char *kind;
    dc_dtype dt;
} config;
#define MAX_CFG 8
static config g_cfg[MAX_CFG];
static int g_n_cfg;
static uint64_t g_ran; /* composites seen over the table cases */

/* the table's toy and odd cases (its training sizes are the conformance command's), then
 * k_large */
static int g_table[512], g_n_table;
static const conf_case *case_at(int i) { return i < g_n_table ? &conf_cases[g_table[i]] : &k_large[i - g_n_table]; }

/* f32 thresholds: 1e-5 forward, 5e-5 gradients; 1e-4 for the gradients of the large
 * MP-Xent and GEMM cases, whose kernel and composite sum hundreds of exponentials or
 * products in other orders */
static double grad_tol_f32(const conf_case *c) {
    static const char *const loose[] = {"matmul_large", "mpxent_large", "large_mpxent_within_seq", "large_mpxent_single"};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++)
        if (!strcmp(c->name, loose[i])) return 1e-4;
    return 5e-5;
}

START_TEST(test_fused_vs_composite) {
    int n_cases = g_n_table + N_LARGE;
    const conf_case *c = case_at(_i % n_cases);
    const config *g = &g_cfg[_i / n_cases];
    fc_result r;
    dc_clear_error();
    dc_backend *fused = dc_backend_new(g->kind), *prim = fc_primitive_backend(g->kind);
    ck_assert_msg(fused && prim, "%s", dc_last_error());
    dc_backend_set_no_fused(fused, 0);
    dc_status st = fc_compare_case(c, fused, prim, g->dt, &r);
    dc_backend_free(fused);
    dc_backend_free(prim);
    ck_assert_msg(st == DC_OK, "%s", dc_last_error());
    double ft = g->dt == DC_F64 ? 1e-12 : 1e-5;
    double gt = g->dt == DC_F64 ? 1e-10 : grad_tol_f32(c);
    printf("composite: %-26s %-6s %s: forward %.2g, worst %.2g, composites 0x%llx\n", c->name, g->kind,
           dc_dtype_name(g->dt), r.fwd_err, r.worst, (unsigned long long)r.composites);
    ck_assert_msg(r.nonfinite_mismatch == 0, "%s on %s %s: %lld NaN/Inf where the other side is finite", c->name,
                  g->kind, dc_dtype_name(g->dt), (long long)r.nonfinite_mismatch);
    ck_assert_msg(r.fwd_err <= ft, "%s on %s %s: forward rel err %.3g > %.1g", c->name, g->kind,
                  dc_dtype_name(g->dt), r.fwd_err, ft);
    for (int i = 0; i < c->n_in; i++)
        ck_assert_msg(r.grad_err[i] <= gt, "%s on %s %s: gradient of input %d rel err %.3g > %.1g", c->name, g->kind,
                      dc_dtype_name(g->dt), i, r.grad_err[i], gt);
    if (dc_op_has_composite(c->op))
        ck_assert_msg(r.composites & (1ull << c->op), "%s: the composite of %s did not run", c->name,
                      dc_op_name(c->op));
    g_ran |= r.composites;
}
END_TEST

/* After the table: every composite but ADAMW (checked below) ran in some case. */
START_TEST(test_every_composite_ran) {
    for (int op = 0; op < DC_OP_COUNT; op++)
        if (dc_op_has_composite((dc_op)op) && op != DC_OP_ADAMW)
            ck_assert_msg(g_ran & (1ull << op), "no case ran the composite of %s", dc_op_name((dc_op)op));
}
END_TEST

START_TEST(test_partition) {
    int n_prim = 0, n_comp = 0;
    for (int op = 0; op < DC_OP_COUNT; op++) {
        int ni, no;
        dc_op_arity((dc_op)op, &ni, &no);
        int kernel = ni || no, prim = dc_op_is_primitive((dc_op)op), comp = dc_op_has_composite((dc_op)op);
        ck_assert_msg(kernel ? prim + comp == 1 : prim + comp == 0, "%s: kernel %d, primitive %d, composite %d",
                      dc_op_name((dc_op)op), kernel, prim, comp);
        n_prim += prim;
        n_comp += comp;
    }
    /* docs/PORTING.md lists 22 primitives and 17 composites */
    ck_assert_int_eq(n_prim, 22);
    ck_assert_int_eq(n_comp, 17);
    ck_assert(dc_op_has_composite(DC_OP_MPXENT) && dc_op_has_composite(DC_OP_ADAMW));
    ck_assert(dc_op_is_primitive(DC_OP_MATMUL) && dc_op_is_primitive(DC_OP_RFFT) && !dc_op_is_primitive(DC_OP_MEAN));
}
END_TEST

/* ---------------------------------------------------------------- AdamW */

/* p, m and v after three steps (values and gradients from f32 numbers) on be. */
static double *adamw_run(dc_backend *be, dc_dtype dt, int64_t n) {
    dc_params *ps = dc_params_new(be, dt, 1);
    dc_tensor *p = dc_params_add(ps, "p", 1, &n);
    ck_assert_msg(p && dc_params_alloc(ps) == DC_OK, "%s", dc_last_error());
    dc_rng r = dc_rng_init(5);
    float *h = malloc((size_t)n * sizeof *h);
    double *hd = malloc((size_t)n * sizeof *hd), *out = malloc((size_t)(3 * n) * sizeof *out);
    for (int k = 0; k < 2; k++) {
        for (int64_t i = 0; i < n; i++) h[i] = (float)(2 * dc_rng_uniform(&r) - 1), hd[i] = h[i];
        dc_tensor_upload(k ? p->grad : p, dt == DC_F64 ? (void *)hd : (void *)h, (size_t)n * dc_dtype_size(dt));
    }
    dc_adamw_opts o = dc_adamw_opts_default();
    o.lr = 0.01;
    dc_adamw *opt = dc_adamw_new(ps, o);
    int was = fc_forbid_transfers(1); /* no host transfer inside the step (primitives-only side) */
    for (int s = 0; s < 3; s++) ck_assert_msg(dc_adamw_step(opt) == DC_OK, "%s", dc_last_error());
    fc_forbid_transfers(was);
    const dc_tensor *res[3] = {p, dc_adamw_m(opt), dc_adamw_v(opt)};
    for (int k = 0; k < 3; k++) {
        double *d = fc_to_host(res[k]);
        ck_assert(d);
        memcpy(out + k * n, d, (size_t)n * sizeof *d);
        free(d);
    }
    free(h);
    free(hd);
    dc_adamw_free(opt);
    dc_params_free(ps);
    return out;
}

START_TEST(test_adamw) {
    const config *g = &g_cfg[_i];
    const int64_t n = 1001;
    dc_backend *fused = dc_backend_new(g->kind), *prim = fc_primitive_backend(g->kind);
    ck_assert_msg(fused && prim, "%s", dc_last_error());
    dc_backend_set_no_fused(fused, 0);
    int64_t before = dc_composite_calls(DC_OP_ADAMW);
    double *a = adamw_run(fused, g->dt, n), *b = adamw_run(prim, g->dt, n);
    ck_assert_int_eq(dc_composite_calls(DC_OP_ADAMW), before + 3);
    const char *what[3] = {"p", "m", "v"};
    for (int k = 0; k < 3; k++) {
        int64_t bad = 0;
        double e = fc_rel_err(b + k * n, a + k * n, n, &bad);
        /* f32: the kernel updates in double and rounds once, the composite rounds each step */
        double tol = g->dt == DC_F64 ? 1e-13 : 1e-6;
        printf("composite: adamw %s %s %s: rel err %.2g\n", what[k], g->kind, dc_dtype_name(g->dt), e);
        ck_assert_msg(bad == 0 && e <= tol, "adamw %s on %s %s: rel err %.3g > %.1g", what[k], g->kind,
                      dc_dtype_name(g->dt), e, tol);
    }
    free(a);
    free(b);
    dc_backend_free(fused);
    dc_backend_free(prim);
}
END_TEST

/* ---------------------------------------------------------------- every method, one step */

/* The loss and every parameter gradient (encoder, then heads) of one step on be. */
static double method_step(dc_backend *be, const dc_model_config *cfg, const float *xh, int64_t B, int64_t T,
                          int64_t D, double **grad, int64_t *n) {
    dc_model *m = dc_model_new(cfg, be, D);
    ck_assert_msg(m, "%s: %s", cfg->model, dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){B, T, D}, xh);
    ck_assert(x && dc_params_zero_grad(m->enc->params) == DC_OK);
    if (m->heads) ck_assert(dc_params_zero_grad(m->heads) == DC_OK);
    dc_rng r = dc_rng_init(31);
    dc_tensor *L = dc_model_loss(m, ctx, x, 1, &r, NULL);
    ck_assert_msg(L && dc_backward(ctx, L) == DC_OK, "%s (%s) on %s: %s", cfg->model, cfg->protocol,
                  dc_backend_name(be), dc_last_error());
    double v = dc_tensor_item(L);
    double *ge = fc_to_host(dc_params_flat_grad(m->enc->params));
    double *gh = m->heads ? fc_to_host(dc_params_flat_grad(m->heads)) : NULL;
    int64_t ne = dc_tensor_numel(dc_params_flat_grad(m->enc->params));
    int64_t nh = m->heads ? dc_tensor_numel(dc_params_flat_grad(m->heads)) : 0;
    *n = ne + nh;
    *grad = realloc(ge, (size_t)*n * sizeof **grad);
    ck_assert(*grad);
    if (gh) memcpy(*grad + ne, gh, (size_t)nh * sizeof *gh);
    free(gh);
    dc_ctx_free(ctx);
    dc_model_free(m);
    return v;
}

/* A fixed batch (B, T, D) of smooth random series. */
static float *method_batch(int64_t B, int64_t T, int64_t D) {
    float *x = malloc((size_t)(B * T * D) * sizeof *x);
    dc_rng r = dc_rng_init(11);
    for (int64_t b = 0; b < B; b++)
        for (int64_t d = 0; d < D; d++) {
            double a = 0;
            for (int64_t t = 0; t < T; t++) {
                a = 0.9 * a + 0.5 * dc_rng_normal(&r);
                x[(b * T + t) * D + d] = (float)a;
            }
        }
    return x;
}

START_TEST(test_method_step) {
    const char *const *names = dc_model_names();
    int n_names = 0;
    while (names[n_names]) n_names++;
    const char *model = names[_i / 2], *protocol = _i % 2 ? "corrected" : "authors";
    dc_model_config cfg = dc_model_config_defaults(model, "synthetic", protocol);
    const int64_t B = 8, T = 119, D = 12; /* TNC needs B >= 5, CoST a divisor of its queue of 256 */
    float *xh = method_batch(B, T, D);
    dc_backend *cpu = dc_backend_new("cpu"), *prim = fc_primitive_backend("cpu");
    ck_assert_msg(cpu && prim, "%s", dc_last_error());
    dc_backend_set_no_fused(cpu, 0);
    double *g0, *g1;
    int64_t n0, n1;
    double L0 = method_step(cpu, &cfg, xh, B, T, D, &g0, &n0);
    double L1 = method_step(prim, &cfg, xh, B, T, D, &g1, &n1);
    ck_assert_int_eq(n0, n1);
    /* deterministic: a second run on the primitives is bit-identical */
    double *g2;
    int64_t n2;
    double L2 = method_step(prim, &cfg, xh, B, T, D, &g2, &n2);
    ck_assert_msg(L2 == L1 && n2 == n1 && !memcmp(g2, g1, (size_t)n1 * sizeof *g1), "%s (%s): two runs on the "
                  "primitives differ (loss %.9g, %.9g)", model, protocol, L1, L2);
    free(g2);
    int64_t bad = 0;
    double ge = fc_rel_err(g1, g0, n0, &bad);
    printf("composite: %s (%s) one step: loss %.9g (composites) vs %.9g (fused), gradient rel err %.2g\n", model,
           protocol, L1, L0, ge);
    ck_assert_msg(isfinite(L1) && fabs(L1 - L0) <= 1e-5 * fmax(1.0, fabs(L0)), "%s (%s): loss %.9g, fused %.9g", model,
                  protocol, L1, L0);
    /* f32 end to end through the encoder's backward: loose, but far below what a wrong
     * gradient gives (order 1) */
    ck_assert_msg(bad == 0 && ge < 1e-3, "%s (%s): gradient rel err %.3g (%lld non-finite)", model, protocol, ge,
                  (long long)bad);
    free(g0);
    free(g1);
    free(xh);
    dc_backend_free(cpu);
    dc_backend_free(prim);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_errors_name_op_and_primitive) {
    dc_backend *be = fc_primitive_backend("cpu");
    ck_assert(be);
    dc_backend_mask_op(be, DC_OP_EXP, 1); /* a port that lacks EXP */
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *z = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){6, 4}, 0.5);
    dc_clear_error();
    ck_assert_ptr_null(dc_mpxent(ctx, z, NULL));
    ck_assert_int_eq(dc_last_status(), DC_ERR_UNSUPPORTED);
    const char *msg = dc_last_error();
    ck_assert_msg(strstr(msg, "mpxent: composite on cpu:0") && strstr(msg, "exp: not supported for f32"), "%s", msg);
    /* nothing was left half done: the context still works */
    ck_assert_ptr_nonnull(dc_add(ctx, z, z));
    /* the clamp of L2NORM is a MAXPOOL1D over pairs */
    dc_backend_mask_op(be, DC_OP_MAXPOOL1D, 1);
    ck_assert_ptr_null(dc_l2norm(ctx, z, 1e-12));
    ck_assert_msg(strstr(dc_last_error(), "l2norm: composite on cpu:0: maxpool1d: not supported"), "%s",
                  dc_last_error());
    /* the optimizer step: the status comes back, p is untouched */
    dc_backend_mask_op(be, DC_OP_SQRT, 1);
    dc_params *ps = dc_params_new(be, DC_F32, 1);
    dc_tensor *p = dc_params_add(ps, "p", 1, (int64_t[]){5});
    ck_assert(p && dc_params_alloc(ps) == DC_OK && dc_tensor_fill(p, 0.25) == DC_OK);
    dc_adamw *opt = dc_adamw_new(ps, dc_adamw_opts_default());
    ck_assert_int_eq(dc_adamw_step(opt), DC_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(dc_last_error(), "adamw: composite on cpu:0: sqrt: not supported"), "%s", dc_last_error());
    ck_assert_int_eq(dc_adamw_steps(opt), 0);
    float ph[5];
    ck_assert(dc_tensor_download(p, ph, sizeof ph) == DC_OK);
    for (int i = 0; i < 5; i++) ck_assert(ph[i] == 0.25f);
    dc_adamw_free(opt);
    dc_params_free(ps);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_env_no_fused) {
    setenv("DC_NO_FUSED", "yes", 1);
    dc_clear_error();
    ck_assert_ptr_null(dc_backend_new("cpu"));
    ck_assert_msg(strstr(dc_last_error(), "DC_NO_FUSED must be 0, 1 or a comma-separated list"), "%s", dc_last_error());
    setenv("DC_NO_FUSED", "mpxent,matmul", 1); /* matmul is a primitive: no composite */
    ck_assert_ptr_null(dc_backend_new("cpu"));
    ck_assert_msg(strstr(dc_last_error(), "'matmul' is not one"), "%s", dc_last_error());
    setenv("DC_NO_FUSED", "mpxent,l2norm_back", 1);
    dc_backend *be = dc_backend_new("cpu");
    ck_assert_msg(be, "%s", dc_last_error());
    ck_assert(!dc_backend_supports(be, DC_OP_MPXENT, DC_F32) && !dc_backend_supports(be, DC_OP_L2NORM_BACK, DC_F32));
    ck_assert(dc_backend_supports(be, DC_OP_L2NORM, DC_F32) && !dc_backend_no_fused(be));
    dc_backend_free(be);
    setenv("DC_NO_FUSED", "1", 1);
    be = dc_backend_new("cpu");
    ck_assert(be && dc_backend_no_fused(be) && !dc_backend_supports(be, DC_OP_ADAMW, DC_F32));
    ck_assert(dc_backend_supports(be, DC_OP_MATMUL, DC_F32));
    /* a direct kernel call that bypasses the composite is refused, not run */
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *z = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){6, 4}, 0.5), *loss = dc_tensor_new(ctx, DC_F32, 0, NULL);
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_MPXENT);
    a.in[0] = z;
    a.out[0] = loss;
    a.n_in = 1;
    a.n_out = 2;
    a.p.f[0] = 0.5;
    ck_assert_int_eq(dc_dispatch(be, &a), DC_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(dc_last_error(), "fused kernel is off"), "%s", dc_last_error());
    ck_assert_int_eq(dc_backend_set_no_fused(be, 0), 1);
    ck_assert(dc_backend_supports(be, DC_OP_ADAMW, DC_F32));
    dc_ctx_free(ctx);
    dc_backend_free(be);
    unsetenv("DC_NO_FUSED");
}
END_TEST

int main(void) {
    unsetenv("DC_NO_FUSED"); /* the fused side of each comparison is the backend as shipped */
    g_cfg[g_n_cfg++] = (config){"cpu", DC_F64};
    for (int k = 0; k < dc_backend_kind_count(); k++) {
        const char *kind = dc_backend_kind_name(k);
        char why[256] = "";
        if (!strcmp(kind, "cpu-ref") || g_n_cfg == MAX_CFG) continue; /* the reference is not a port */
        if (dc_backend_kind_devices(k, why, sizeof why) > 0) g_cfg[g_n_cfg++] = (config){kind, DC_F32};
        else printf("composite: %s skipped, no device (%s)\n", kind, why);
    }
    for (int i = 0; i < conf_n_cases && g_n_table < 512; i++)
        if (conf_cases[i].size != CONF_TRAIN) g_table[g_n_table++] = i;
    int n_names = 0;
    while (dc_model_names()[n_names]) n_names++;
    Suite *s = suite_create("composite");
    TCase *tc = tcase_create("composite");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_partition);
    tcase_add_loop_test(tc, test_fused_vs_composite, 0, g_n_cfg * (g_n_table + N_LARGE));
    tcase_add_test(tc, test_every_composite_ran);
    tcase_add_loop_test(tc, test_adamw, 0, g_n_cfg);
    tcase_add_loop_test(tc, test_method_step, 0, 2 * n_names);
    tcase_add_test(tc, test_errors_name_op_and_primitive);
    tcase_add_test(tc, test_env_no_fused);
    suite_add_tcase(s, tc);
    return dc_test_run_suite_nofork(s) ? 1 : 0; /* coverage accumulates over the cases; OpenCL in one process */
}
