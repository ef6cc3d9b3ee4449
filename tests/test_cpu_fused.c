/* test_cpu_fused.c: the `cpu` backend's fused kernels at the training step's sizes (N = 952 rows
 * of 32 features, the encoder's 952 x 156 -> 128 layer) against `cpu-ref`, which composes the
 * same functions from generic ops: MP-Xent in its three anchor rules, the margin loss with the
 * authors' constant pseudo-labels and with 0/1 labels, and LINEAR_BN forward and backward; and
 * the two whole-buffer kernels against their definitions: AdamW and the Philox RNG fill; and
 * float32 cross-entropy (TS2Vec's losses) at a contrastive logit matrix's size. The
 * op-case table covers the same ops at small sizes (parity, finite differences); this covers the
 * tiling of the training sizes (many tile blocks, edge blocks, row chunks). ctest runs it once
 * per instruction set (DC_CPU_ISA = default, avx2, generic), like test_cpu_gemm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"

typedef dc_tensor *(*build_fn)(dc_ctx *ctx, dc_tensor **in, int variant);

typedef struct fused_case {
    const char *name;
    build_fn build;
    int variant;
    int n_in;
    int64_t shape[5][2]; /* {rows, cols}; cols 0 = a vector */
    unsigned grad_mask;
    double tol; /* relative L2 error, outputs and gradients */
} fused_case;

static dc_tensor *b_mpx(dc_ctx *c, dc_tensor **in, int v) {
    dc_mpxent_opts o = {0.5, v == 1 ? 119 : 0, v == 2};
    return dc_mpxent(c, dc_relu(c, in[0]), &o);
}
static dc_tensor *b_margin(dc_ctx *c, dc_tensor **in, int v) {
    int64_t N = in[0]->shape[0];
    dc_tensor *Y = v == 0 ? dc_tensor_full(c, DC_F32, 1, &N, 1.0) : in[1];
    return dc_margin_loss(c, dc_relu(c, in[0]), Y, 0.5, 5.0, 0.05, v == 2 ? 119 : 0);
}
static dc_tensor *b_lbn(dc_ctx *c, dc_tensor **in, int v) {
    int64_t C = in[1]->shape[0];
    dc_tensor *rm = dc_tensor_zeros(c, DC_F32, 1, &C), *rv = dc_tensor_full(c, DC_F32, 1, &C, 1.0);
    dc_bn_opts o = dc_bn_opts_default();
    o.fuse_relu = 1;
    o.training = v == 0;
    /* a weighted sum, so that every output element matters to the gradient */
    dc_tensor *y = dc_linear_bn(c, in[0], in[1], in[2], in[3], in[4], rm, rv, &o);
    return dc_sum_all(c, dc_mul(c, y, dc_sigmoid(c, y)));
}

static dc_tensor *b_ce(dc_ctx *c, dc_tensor **in, int v) {
    /* targets r*7 mod C, every 13th row out of range (it contributes nothing) */
    int64_t R = in[0]->shape[0], C = in[0]->shape[1];
    int32_t *t = malloc((size_t)R * sizeof *t);
    ck_assert(t);
    for (int64_t r = 0; r < R; r++) t[r] = r % 13 == 5 ? -1 : (int32_t)((r * 7) % C);
    dc_tensor *tt = dc_tensor_from_host(c, DC_I32, 1, &R, t);
    free(t);
    return dc_cross_entropy(c, dc_scale(c, in[0], 6.0), tt);
}

static const fused_case k_cases[] = {
    {"cross_entropy_952x237", b_ce, 0, 1, {{952, 237}}, 1, 2e-6},
    {"cross_entropy_40x15", b_ce, 0, 1, {{40, 15}}, 1, 2e-6},
    {"mpxent_authors_952", b_mpx, 0, 1, {{952, 32}}, 1, 2e-5},
    {"mpxent_within_seq_952", b_mpx, 1, 1, {{952, 32}}, 1, 2e-5},
    {"mpxent_single_2400", b_mpx, 2, 1, {{2400, 32}}, 1, 2e-5},
    {"margin_y1_952", b_margin, 0, 1, {{952, 32}}, 1, 2e-5},
    {"margin_labels_952", b_margin, 1, 2, {{952, 32}, {952, 0}}, 1, 2e-5},
    {"margin_labels_seq_1071", b_margin, 2, 2, {{1071, 32}, {1071, 0}}, 1, 2e-5},
    {"linear_bn_train_952", b_lbn, 0, 5, {{952, 156}, {128, 156}, {128, 0}, {128, 0}, {128, 0}}, 0x1b, 2e-5},
    {"linear_bn_eval_952", b_lbn, 1, 5, {{952, 64}, {32, 64}, {32, 0}, {32, 0}, {32, 0}}, 0x1f, 2e-5},
};
#define N_CASES ((int)(sizeof k_cases / sizeof k_cases[0]))

/* Deterministic inputs: z-like rows U(-1, 1); labels 0/1; gamma around 1. */
static float *make_input(const fused_case *c, int i, int64_t *n) {
    *n = c->shape[i][0] * (c->shape[i][1] ? c->shape[i][1] : 1);
    float *h = malloc((size_t)*n * sizeof *h);
    ck_assert(h);
    dc_rng r = dc_rng_init(1000 + (uint64_t)i);
    for (int64_t k = 0; k < *n; k++) {
        double u = dc_rng_uniform(&r);
        if (c->build == b_margin && i == 1) h[k] = u < 0.6 ? 1.0f : 0.0f;
        else if (c->build == b_lbn && i == 3) h[k] = (float)(0.5 + u);
        else h[k] = (float)(2 * u - 1);
    }
    return h;
}

typedef struct run_out {
    double loss;
    float *g[5];
    int64_t n[5];
} run_out;

static void run(const fused_case *c, const char *backend, run_out *o) {
    dc_backend *be = dc_backend_new(backend);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be), *data = dc_ctx_new(be);
    dc_tensor *in[5] = {0};
    for (int i = 0; i < c->n_in; i++) {
        float *h = make_input(c, i, &o->n[i]);
        int nd = c->shape[i][1] ? 2 : 1;
        in[i] = dc_tensor_from_host(data, DC_F32, nd, c->shape[i], h);
        free(h);
        ck_assert(in[i]);
        if (c->grad_mask & (1u << i)) dc_tensor_set_requires_grad(in[i], 1);
    }
    dc_tensor *L = c->build(ctx, in, c->variant);
    ck_assert_msg(L && dc_backward(ctx, L) == DC_OK, "%s on %s: %s", c->name, backend, dc_last_error());
    o->loss = dc_tensor_item(L);
    for (int i = 0; i < c->n_in; i++) {
        o->g[i] = NULL;
        if (!(c->grad_mask & (1u << i))) continue;
        o->g[i] = malloc((size_t)o->n[i] * sizeof(float));
        ck_assert(o->g[i] && in[i]->grad && dc_tensor_download(in[i]->grad, o->g[i], (size_t)o->n[i] * 4) == DC_OK);
    }
    dc_ctx_free(ctx);
    dc_ctx_free(data);
    dc_backend_free(be);
}

START_TEST(test_fused_case) {
    const fused_case *c = &k_cases[_i];
    run_out ref, got;
    run(c, "cpu-ref", &ref);
    run(c, "cpu", &got);
    ck_assert_msg(isfinite(ref.loss) && fabs(got.loss - ref.loss) <= c->tol * fabs(ref.loss),
                  "%s: loss %.9g, cpu-ref %.9g", c->name, got.loss, ref.loss);
    for (int i = 0; i < c->n_in; i++) {
        if (!ref.g[i]) continue;
        double num = 0, den = 0;
        for (int64_t k = 0; k < ref.n[i]; k++) {
            double d = (double)got.g[i][k] - ref.g[i][k];
            num += d * d;
            den += (double)ref.g[i][k] * ref.g[i][k];
        }
        double err = den > 0 ? sqrt(num / den) : sqrt(num);
        ck_assert_msg(err <= c->tol, "%s: gradient of input %d: relative error %.3g > %.3g", c->name, i, err, c->tol);
        free(ref.g[i]);
        free(got.g[i]);
    }
}
END_TEST

/* Two runs give bit-identical losses and gradients (no dependence on scheduling). */
START_TEST(test_fused_deterministic) {
    for (int k = 0; k < N_CASES; k += 3) {
        run_out a, b;
        run(&k_cases[k], "cpu", &a);
        run(&k_cases[k], "cpu", &b);
        ck_assert_msg(a.loss == b.loss, "%s: %.9g then %.9g", k_cases[k].name, a.loss, b.loss);
        for (int i = 0; i < k_cases[k].n_in; i++) {
            if (!a.g[i]) continue;
            ck_assert_msg(!memcmp(a.g[i], b.g[i], (size_t)a.n[i] * 4), "%s: gradient %d differs", k_cases[k].name, i);
            free(a.g[i]);
            free(b.g[i]);
        }
    }
}
END_TEST

/* AdamW's update equals the double-precision formula (dc_optim.h) bit for bit, tail included. */
START_TEST(test_adamw_exact) {
    dc_backend *be = dc_backend_new("cpu");
    dc_params *ps = dc_params_new(be, DC_F32, 1);
    dc_tensor *w = dc_params_add(ps, "w", 1, (int64_t[]){1003});
    ck_assert(w && dc_params_alloc(ps) == DC_OK);
    dc_adamw_opts o = dc_adamw_opts_default();
    dc_adamw *opt = dc_adamw_new(ps, o);
    const int64_t n = dc_tensor_numel(dc_params_flat(ps));
    float *p = malloc((size_t)n * 4), *g = malloc((size_t)n * 4), *m = calloc((size_t)n, 4), *v = calloc((size_t)n, 4);
    float *got = malloc((size_t)n * 4);
    ck_assert(p && g && m && v && got);
    dc_rng r = dc_rng_init(7);
    for (int step = 1; step <= 3; step++) {
        for (int64_t i = 0; i < n; i++) {
            if (step == 1) p[i] = (float)(2 * dc_rng_uniform(&r) - 1);
            g[i] = (float)((2 * dc_rng_uniform(&r) - 1) * pow(10.0, -8 * dc_rng_uniform(&r)));
        }
        if (step == 1) ck_assert(dc_tensor_upload(dc_params_flat(ps), p, (size_t)n * 4) == DC_OK);
        ck_assert(dc_tensor_upload(dc_params_flat_grad(ps), g, (size_t)n * 4) == DC_OK);
        ck_assert(dc_adamw_step(opt) == DC_OK);
        const double lr = o.lr, b1 = o.beta1, b2 = o.beta2;
        const double step_sz = lr / (1.0 - pow(b1, step)), sqrt_bc2 = sqrt(1.0 - pow(b2, step));
        for (int64_t i = 0; i < n; i++) {
            double pi = (double)p[i] * (1.0 - lr * o.weight_decay);
            double mi = b1 * m[i] + (1.0 - b1) * g[i];
            double vi = b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i];
            m[i] = (float)mi;
            v[i] = (float)vi;
            p[i] = (float)(pi - step_sz * mi / (sqrt(vi) / sqrt_bc2 + o.eps));
        }
        ck_assert(dc_tensor_download(dc_params_flat(ps), got, (size_t)n * 4) == DC_OK);
        for (int64_t i = 0; i < n; i++)
            ck_assert_msg(got[i] == p[i], "step %d, element %lld: %.9g, want %.9g", step, (long long)i, got[i], p[i]);
    }
    free(p), free(g), free(m), free(v), free(got);
    dc_adamw_free(opt);
    dc_params_free(ps);
    dc_backend_free(be);
}
END_TEST

/* The RNG fill equals the host's Philox stream (dc_rng.h): element j is lane j % 4 of block
 * counter + j / 4; uniform values are lo + (hi - lo) u, Bernoulli ones u < p. */
START_TEST(test_rng_matches_host) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = dc_ctx_new(be);
    const int64_t n = 40003; /* not a multiple of the 64-number batch */
    dc_tensor *u = dc_tensor_new(ctx, DC_F32, 1, &n), *b = dc_tensor_new(ctx, DC_U8, 1, &n);
    dc_rng r1 = {12345, 77}, r2 = {12345, 77 + (uint64_t)(n + 3) / 4};
    ck_assert(dc_rng_fill_uniform(&r1, u, -2.0, 3.0) == DC_OK && dc_rng_fill_bernoulli(&r1, b, 0.3) == DC_OK);
    float *hu = malloc((size_t)n * 4);
    uint8_t *hb = malloc((size_t)n);
    ck_assert(hu && hb && dc_tensor_download(u, hu, (size_t)n * 4) == DC_OK && dc_tensor_download(b, hb, (size_t)n) == DC_OK);
    for (int64_t j = 0; j < n; j++) {
        uint32_t w[4], wb[4];
        dc_philox4x32(12345, 77 + (uint64_t)(j / 4), w);
        dc_philox4x32(12345, r2.counter + (uint64_t)(j / 4), wb);
        ck_assert_msg(hu[j] == (float)(-2.0 + 5.0 * dc_rng_u01(w[j % 4])), "uniform %lld", (long long)j);
        ck_assert_msg(hb[j] == (dc_rng_u01(wb[j % 4]) < 0.3), "bernoulli %lld", (long long)j);
    }
    free(hu), free(hb);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cpu_fused");
    TCase *tc = tcase_create("cpu_fused");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fused_case, 0, N_CASES);
    tcase_add_test(tc, test_fused_deterministic);
    tcase_add_test(tc, test_adamw_exact);
    tcase_add_test(tc, test_rng_matches_host);
    suite_add_tcase(s, tc);
    const char *isa = getenv("DC_CPU_ISA");
    printf("cpu_fused: instruction set %s\n", isa && *isa ? isa : "(the CPU's widest)");
    return dc_test_run_suite(s) ? 1 : 0;
}
