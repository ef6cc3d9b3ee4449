/* test_grad_fd.c: float64 finite-difference gradient check of every differentiable op in
 * the conformance suite's case table (tools/conformance/conf_cases.c), on both CPU
 * backends: the cases of at most 1,024 input elements (each checked element costs two
 * full evaluations; the larger cases are compared with the float64 reference by
 * `dynacl conformance` instead).
 *
 * Loss L = sum_i w_i y_i with fixed random w (a plain sum hides transposed-index bugs).
 * Central differences, h = 1e-6 max(1, |x|); pass when |g_ad - g_fd| <= 1e-7 + 1e-5 |g_fd|.
 * At most 2000 elements per input are checked.
 *
 *   test_grad_fd            all cases
 *   test_grad_fd NAME       one case (ctest runs one test per case: grad_fd.NAME)
 *   test_grad_fd --list     case names
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_test.h"
#include "conformance.h"

static const char *const k_backends[] = {"cpu-ref", "cpu"};
static const char *g_only = NULL;

/* L(inputs) in double, with grad disabled, in a scratch context. */
static double eval_loss(dc_ctx *work, const conf_case *c, dc_tensor **in, dc_tensor *w) {
    dc_ctx_reset(work);
    int was = dc_ctx_set_grad_enabled(work, 0);
    dc_tensor *y = c->build(work, in, c);
    dc_tensor *L = y ? dc_sum_all(work, dc_mul(work, y, w)) : NULL;
    double v = L ? dc_tensor_item(L) : NAN;
    dc_ctx_set_grad_enabled(work, was);
    return v;
}

static void check_case(const conf_case *c, const char *backend) {
    dc_backend *be = dc_backend_new(backend);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *data = dc_ctx_new(be), *work = dc_ctx_new(be);
    dc_tensor *in[CONF_MAX_IN] = {0};
    ck_assert_msg(conf_upload_inputs(data, c, DC_F64, 1, 0, in), "%s: inputs: %s", c->name, dc_last_error());
    for (int i = 0; i < c->n_in; i++)
        if (c->grad_mask & (1u << i)) dc_tensor_set_requires_grad(in[i], 1);

    /* analytic gradients */
    dc_tensor *y = c->build(work, in, c);
    ck_assert_msg(y, "%s on %s: forward failed: %s", c->name, backend, dc_last_error());
    int64_t ny = dc_tensor_numel(y);
    double *wh = malloc((size_t)ny * sizeof *wh);
    dc_rng r = dc_rng_init(99);
    for (int64_t k = 0; k < ny; k++) wh[k] = 2 * dc_rng_uniform(&r) - 1;
    dc_tensor *w = dc_tensor_from_host(data, DC_F64, y->ndim, y->shape, wh);
    dc_tensor *L = dc_sum_all(work, dc_mul(work, y, w));
    ck_assert_msg(L && dc_backward(work, L) == DC_OK, "%s on %s: backward failed: %s", c->name, backend,
                  dc_last_error());

    for (int i = 0; i < c->n_in; i++) {
        if (!(c->grad_mask & (1u << i))) continue;
        int64_t n = conf_numel(c, i);
        ck_assert_msg(in[i]->grad, "%s on %s: input %d has no gradient", c->name, backend, i);
        double *g = malloc((size_t)n * sizeof *g), *x = malloc((size_t)n * sizeof *x);
        ck_assert(dc_tensor_download(in[i]->grad, g, (size_t)n * 8) == DC_OK);
        ck_assert(dc_tensor_download(in[i], x, (size_t)n * 8) == DC_OK);
        int64_t step = n > 2000 ? n / 2000 + 1 : 1, checked = 0;
        double worst = 0;
        for (int64_t k = 0; k < n; k += step, checked++) {
            double x0 = x[k], h = 1e-6 * (fabs(x0) > 1 ? fabs(x0) : 1);
            x[k] = x0 + h;
            dc_tensor_upload(in[i], x, (size_t)n * 8);
            double lp = eval_loss(work, c, in, w);
            x[k] = x0 - h;
            dc_tensor_upload(in[i], x, (size_t)n * 8);
            double lm = eval_loss(work, c, in, w);
            x[k] = x0;
            dc_tensor_upload(in[i], x, (size_t)n * 8);
            double fd = (lp - lm) / (2 * h), err = fabs(g[k] - fd);
            if (err > worst) worst = err;
            ck_assert_msg(err <= 1e-7 + 1e-5 * fabs(fd),
                          "%s on %s: d/d input%d[%lld]: autodiff %.12g vs finite difference %.12g (err %.3g)",
                          c->name, backend, i, (long long)k, g[k], fd, err);
        }
        ck_assert_msg(checked > 0, "%s: nothing checked", c->name);
        free(g);
        free(x);
    }
    free(wh);
    dc_ctx_free(work);
    dc_ctx_free(data);
    dc_backend_free(be);
}

/* small enough for finite differences */
static int fd_case(const conf_case *c) {
    int64_t n = 0;
    for (int i = 0; i < c->n_in; i++) n += conf_numel(c, i);
    return c->grad_mask && c->size != CONF_TRAIN && n <= 1024;
}

static int n_selected;
static int selected[256];

START_TEST(test_fd) {
    const conf_case *c = &conf_cases[selected[_i / 2]];
    check_case(c, k_backends[_i % 2]);
}
END_TEST

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--list")) {
        for (int i = 0; i < conf_n_cases; i++)
            if (fd_case(&conf_cases[i])) printf("%s\n", conf_cases[i].name);
        return 0;
    }
    /* every differentiable op must have a case with a gradient */
    int missing = 0;
    for (int op = 0; op < DC_OP_COUNT; op++) {
        if (!dc_op_differentiable((dc_op)op)) continue;
        int found = 0;
        for (int i = 0; i < conf_n_cases; i++) found |= (int)conf_cases[i].op == op && fd_case(&conf_cases[i]);
        if (!found) {
            fprintf(stderr, "test_grad_fd: differentiable op '%s' has no gradient case in conf_cases.c\n",
                    dc_op_name((dc_op)op));
            missing++;
        }
    }
    if (missing) return 1;
    g_only = argc > 1 ? argv[1] : NULL;
    for (int i = 0; i < conf_n_cases; i++) {
        if (!fd_case(&conf_cases[i])) continue;
        if (g_only && strcmp(g_only, conf_cases[i].name)) continue;
        selected[n_selected++] = i;
    }
    if (n_selected == 0) {
        fprintf(stderr, "test_grad_fd: no differentiable case named '%s' (see --list)\n", g_only ? g_only : "");
        return 2;
    }
    Suite *s = suite_create("grad_fd");
    TCase *tc = tcase_create("fd");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_fd, 0, 2 * n_selected);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
