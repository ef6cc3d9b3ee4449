/* test_parity.c: the backend-parity suite, the conformance test for every backend.
 *
 * Each case of the shared table (tests/support/op_cases.c), plus the RNG and AdamW
 * kernels, runs on every available backend in f32 and is compared with the naive CPU
 * reference ("cpu-ref") computed in f64 from the same f32 inputs:
 *     err = ||out - ref||_2 / ||ref||_2      (if ||ref|| = 0, out must be all zeros)
 * Thresholds (f32): forward 1e-5, gradients 5e-5, loosened per case in the table with a
 * reason. The backward pass uses the same random upstream weights on both sides.
 * Outputs are poisoned with NaN before each run (dc_ctx_set_poison), so an element a
 * kernel leaves unwritten fails. Unsupported (op, backend) pairs are reported, not failed.
 *
 *   test_parity                 every case on every backend, then the coverage matrix
 *   test_parity NAME...         these cases (ctest: parity.NAME, one each)
 *   test_parity --list          case names
 *   DC_PARITY_BACKENDS=opencl   restrict to some backends (comma-separated kinds)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_test.h"
#include "op_cases.h"

#define MAX_BE 8
#define N_EXTRA 4
static const char *const k_extra[N_EXTRA] = {"rng_uniform", "rng_normal", "rng_bernoulli", "adamw"};

static int n_be;
static char be_names[MAX_BE][32];
/* coverage[case][backend]: 0 not run, 1 ok, 2 failed, 3 unsupported */
static int coverage[256][MAX_BE];
static int sel_case[256], n_sel;

static double rel_err(const double *out, const double *ref, int64_t n, int *nan_mismatch) {
    double num = 0, den = 0;
    *nan_mismatch = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(out[i]) != isnan(ref[i]) || (isinf(ref[i]) && out[i] != ref[i])) {
            (*nan_mismatch)++;
            continue;
        }
        if (!isfinite(ref[i])) continue;
        num += (out[i] - ref[i]) * (out[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    if (den == 0) return sqrt(num);
    return sqrt(num / den);
}

/* Download any float tensor as doubles. */
static double *to_host(const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (t->dtype == DC_F64) {
        dc_tensor_download(t, d, (size_t)n * 8);
    } else {
        float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
        dc_tensor_download(t, f, (size_t)n * 4);
        for (int64_t i = 0; i < n; i++) d[i] = f[i];
        free(f);
    }
    return d;
}

typedef struct run_result {
    double *y, **g;
    int64_t ny, ng[OPC_MAX_IN];
    int unsupported;
} run_result;

/* Run case c on backend `name` in dtype dt; inputs from the same f32 values. */
static int run_case(const op_case *c, const char *name, dc_dtype dt, run_result *rr) {
    memset(rr, 0, sizeof *rr);
    dc_backend *be = dc_backend_new(name);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *data = dc_ctx_new(be), *work = dc_ctx_new(be);
    dc_ctx_set_poison(work, 1);
    dc_tensor *in[OPC_MAX_IN] = {0};
    for (int i = 0; i < c->n_in; i++) { /* f32 values, converted to dt */
        dc_dtype idt = c->kind[i] == IN_MASK ? DC_U8 : (c->kind[i] == IN_LABEL || c->kind[i] == IN_INDEX) ? DC_I32 : DC_F32;
        void *h = opc_make_input(c, i, idt, 3);
        int64_t n = opc_numel(c, i);
        if (idt == DC_F32 && dt == DC_F64) {
            double *d = malloc((size_t)(n ? n : 1) * 8);
            for (int64_t k = 0; k < n; k++) d[k] = ((float *)h)[k];
            free(h);
            h = d;
            idt = DC_F64;
        }
        in[i] = dc_tensor_from_host(data, idt, c->ndim[i], c->shape[i], h);
        free(h);
        ck_assert_msg(in[i], "%s: %s", c->name, dc_last_error());
        if (c->grad_mask & (1u << i)) dc_tensor_set_requires_grad(in[i], 1);
    }
    dc_clear_error();
    dc_tensor *y = c->build(work, in, c);
    int ok = 1;
    if (!y) {
        rr->unsupported = dc_last_status() == DC_ERR_UNSUPPORTED;
        ck_assert_msg(rr->unsupported, "%s on %s: forward failed: %s", c->name, name, dc_last_error());
        ok = 0;
    } else {
        rr->ny = dc_tensor_numel(y);
        rr->y = to_host(y);
        if (c->grad_mask) {
            double *wh = malloc((size_t)rr->ny * 8);
            float *wf = malloc((size_t)rr->ny * 4);
            dc_rng r = dc_rng_init(77);
            for (int64_t k = 0; k < rr->ny; k++) wf[k] = (float)(2 * dc_rng_uniform(&r) - 1), wh[k] = wf[k];
            dc_tensor *w = dc_tensor_from_host(data, dt, y->ndim, y->shape, dt == DC_F64 ? (void *)wh : (void *)wf);
            dc_tensor *L = dc_sum_all(work, dc_mul(work, y, w));
            if (!L || dc_backward(work, L) != DC_OK) {
                rr->unsupported = dc_last_status() == DC_ERR_UNSUPPORTED;
                ck_assert_msg(rr->unsupported, "%s on %s: backward failed: %s", c->name, name, dc_last_error());
                ok = 0;
            }
            rr->g = calloc(OPC_MAX_IN, sizeof *rr->g);
            for (int i = 0; ok && i < c->n_in; i++) {
                if (!(c->grad_mask & (1u << i))) continue;
                ck_assert_msg(in[i]->grad, "%s on %s: input %d got no gradient", c->name, name, i);
                rr->ng[i] = dc_tensor_numel(in[i]);
                rr->g[i] = to_host(in[i]->grad);
            }
            free(wh);
            free(wf);
        }
    }
    dc_ctx_free(work);
    dc_ctx_free(data);
    dc_backend_free(be);
    return ok;
}

static void free_result(run_result *r) {
    free(r->y);
    if (r->g)
        for (int i = 0; i < OPC_MAX_IN; i++) free(r->g[i]);
    free(r->g);
}

static int64_t count_nonfinite(const double *v, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += !isfinite(v[i]);
    return k;
}

static void parity_table_case(int ci, int bi) {
    const op_case *c = &dc_op_cases[ci];
    run_result ref, out;
    ck_assert_msg(run_case(c, "cpu-ref", DC_F64, &ref), "%s: reference failed", c->name);
    /* every case has finite outputs: a NaN in the (poisoned) reference is an unwritten element */
    ck_assert_msg(count_nonfinite(ref.y, ref.ny) == 0, "%s: reference output has %lld non-finite values", c->name,
                  (long long)count_nonfinite(ref.y, ref.ny));
    for (int i = 0; ref.g && i < c->n_in; i++)
        ck_assert_msg(!ref.g[i] || count_nonfinite(ref.g[i], ref.ng[i]) == 0,
                      "%s: reference gradient of input %d has non-finite values", c->name, i);
    if (!run_case(c, be_names[bi], DC_F32, &out)) {
        coverage[ci][bi] = 3;
        printf("parity: %-22s %-10s not supported (%s)\n", c->name, be_names[bi], dc_last_error());
        free_result(&ref);
        return;
    }
    coverage[ci][bi] = 2;
    double ft = c->fwd_tol > 0 ? c->fwd_tol : 1e-5, gt = c->grad_tol > 0 ? c->grad_tol : 5e-5;
    int nanm;
    ck_assert_int_eq(out.ny, ref.ny);
    double e = rel_err(out.y, ref.y, ref.ny, &nanm);
    ck_assert_msg(nanm == 0, "%s on %s f32: %d outputs NaN/Inf where the reference is not (unwritten?)", c->name,
                  be_names[bi], nanm);
    ck_assert_msg(e <= ft, "%s on %s f32: forward rel err %.3g > %.1g", c->name, be_names[bi], e, ft);
    double worst = e;
    for (int i = 0; i < c->n_in; i++) {
        if (!(c->grad_mask & (1u << i))) continue;
        double eg = rel_err(out.g[i], ref.g[i], ref.ng[i], &nanm);
        ck_assert_msg(nanm == 0, "%s on %s f32: gradient of input %d has NaN/Inf mismatches", c->name, be_names[bi], i);
        ck_assert_msg(eg <= gt, "%s on %s f32: gradient of input %d rel err %.3g > %.1g", c->name, be_names[bi], i, eg, gt);
        if (eg > worst) worst = eg;
    }
    printf("parity: %-22s %-10s ok (worst rel err %.2g)\n", c->name, be_names[bi], worst);
    coverage[ci][bi] = 1;
    free_result(&ref);
    free_result(&out);
}

/* RNG fills and AdamW: kernels without a builder. */
static double *extra_run(int which, const char *name, dc_dtype dt, int64_t *n_out) {
    dc_backend *be = dc_backend_new(name);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be);
    dc_ctx_set_poison(ctx, 1);
    const int64_t n = 1001; /* not a multiple of 4 or of a work-group */
    double *res = NULL;
    if (which < 3) {
        dc_tensor *t = dc_tensor_new(ctx, which == 2 ? DC_U8 : dt, 1, &n);
        dc_rng r = dc_rng_init(1234);
        r.counter = 5;
        dc_status st = which == 0 ? dc_rng_fill_uniform(&r, t, -2.0, 3.0)
                       : which == 1 ? dc_rng_fill_normal(&r, t, 0.5, 2.0)
                                    : dc_rng_fill_bernoulli(&r, t, 0.3);
        if (st == DC_OK) {
            res = malloc((size_t)n * 8);
            if (which == 2) {
                uint8_t *u = malloc((size_t)n);
                dc_tensor_download(t, u, (size_t)n);
                for (int64_t i = 0; i < n; i++) res[i] = u[i];
                free(u);
            } else {
                double *h = to_host(t);
                memcpy(res, h, (size_t)n * 8);
                free(h);
            }
            ck_assert_int_eq((int64_t)r.counter, 5 + (n + 3) / 4);
        }
    } else {
        dc_params *ps = dc_params_new(be, dt, 1);
        dc_tensor *p = dc_params_add(ps, "p", 1, &n);
        ck_assert(dc_params_alloc(ps) == DC_OK);
        dc_rng r = dc_rng_init(5);
        float *h = malloc((size_t)n * 4);
        double *hd = malloc((size_t)n * 8);
        for (int k = 0; k < 2; k++) { /* values and grads from f32 numbers */
            for (int64_t i = 0; i < n; i++) h[i] = (float)(2 * dc_rng_uniform(&r) - 1), hd[i] = h[i];
            dc_tensor_upload(k ? p->grad : p, dt == DC_F64 ? (void *)hd : (void *)h, (size_t)n * dc_dtype_size(dt));
        }
        dc_adamw_opts o = dc_adamw_opts_default();
        o.lr = 0.01;
        dc_adamw *opt = dc_adamw_new(ps, o);
        dc_status st = DC_OK;
        for (int s = 0; s < 3 && st == DC_OK; s++) st = dc_adamw_step(opt);
        if (st == DC_OK) res = to_host(p);
        free(h);
        free(hd);
        dc_adamw_free(opt);
        dc_params_free(ps);
    }
    *n_out = n;
    dc_ctx_free(ctx);
    dc_backend_free(be);
    return res;
}

static void parity_extra(int which, int row, int bi) {
    int64_t n, n2;
    double *ref = extra_run(which, "cpu-ref", DC_F64, &n);
    dc_clear_error();
    double *out = extra_run(which, be_names[bi], DC_F32, &n2);
    if (!out) {
        ck_assert_msg(dc_last_status() == DC_ERR_UNSUPPORTED, "%s on %s: %s", k_extra[which], be_names[bi], dc_last_error());
        printf("parity: %-22s %-10s not supported\n", k_extra[which], be_names[bi]);
        coverage[row][bi] = 3;
        free(ref);
        return;
    }
    int nanm;
    double e = rel_err(out, ref, n, &nanm);
    double tol = which == 2 ? 0 : 1e-6; /* bernoulli must match exactly */
    coverage[row][bi] = 2;
    ck_assert_msg(nanm == 0 && e <= tol, "%s on %s: rel err %.3g (tol %.1g), %d NaN mismatches", k_extra[which],
                  be_names[bi], e, tol, nanm);
    printf("parity: %-22s %-10s ok (rel err %.2g)\n", k_extra[which], be_names[bi], e);
    coverage[row][bi] = 1;
    free(ref);
    free(out);
}

START_TEST(test_parity) {
    int row = sel_case[_i / n_be], bi = _i % n_be;
    if (row < dc_n_op_cases) parity_table_case(row, bi);
    else parity_extra(row - dc_n_op_cases, row, bi);
}
END_TEST

static const char *row_name(int row) { return row < dc_n_op_cases ? dc_op_cases[row].name : k_extra[row - dc_n_op_cases]; }

static void find_backends(void) {
    const char *only = getenv("DC_PARITY_BACKENDS");
    for (int k = 0; k < dc_backend_kind_count(); k++) {
        const char *kn = dc_backend_kind_name(k);
        if (!strcmp(kn, "cpu-ref")) continue;
        if (only && *only) {
            char buf[256];
            snprintf(buf, sizeof buf, ",%s,", only);
            char key[64];
            snprintf(key, sizeof key, ",%s,", kn);
            if (!strstr(buf, key)) continue;
        }
        char why[512];
        int nd = dc_backend_kind_devices(k, why, sizeof why);
        if (nd == 0) {
            printf("parity: %s skipped: %s\n", kn, why[0] ? why : "no device");
            continue;
        }
        if (n_be < MAX_BE) snprintf(be_names[n_be++], sizeof be_names[0], "%s", kn);
    }
}

int main(int argc, char **argv) {
    int n_rows = dc_n_op_cases + N_EXTRA;
    if (argc > 1 && !strcmp(argv[1], "--list")) {
        for (int r = 0; r < n_rows; r++) printf("%s\n", row_name(r));
        return 0;
    }
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (int r = 0; r < n_rows; r++) {
            if (strcmp(argv[a], row_name(r))) continue;
            found = 1;
            if (n_sel < 256) sel_case[n_sel++] = r;
        }
        if (!found) {
            fprintf(stderr, "test_parity: no case named '%s' (see --list)\n", argv[a]);
            return 2;
        }
    }
    for (int r = 0; argc < 2 && r < n_rows; r++) sel_case[n_sel++] = r;
    find_backends();
    if (n_be == 0) {
        printf("parity: no backend to compare with the reference\n");
        return 0;
    }
    Suite *s = suite_create("parity");
    TCase *tc = tcase_create("parity");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_parity, 0, n_sel * n_be);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    /* coverage matrix */
    printf("\ncoverage (ok = matches cpu-ref, FAIL, n/s = not supported)\n%-22s", "case");
    for (int b = 0; b < n_be; b++) printf(" %-8s", be_names[b]);
    printf("\n");
    for (int i = 0; i < n_sel; i++) {
        printf("%-22s", row_name(sel_case[i]));
        for (int b = 0; b < n_be; b++) {
            int v = coverage[sel_case[i]][b];
            printf(" %-8s", v == 1 ? "ok" : v == 2 ? "FAIL" : v == 3 ? "n/s" : "-");
        }
        printf("\n");
    }
    return nf ? 1 : 0;
}
