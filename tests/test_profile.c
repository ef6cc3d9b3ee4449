/* test_profile.c: the per-op profiler (dc_profile.h): calls, phases, FLOPs and bytes counted
 * from the shapes (worked out by hand below), times that add up, start/stop semantics, and the
 * same on the OpenCL backend when it has a device. Not here: the bench table (test_cli). */
#include <math.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"

static const dc_profile_row *find(const dc_profile_row *rows, int n, dc_op op, dc_phase ph) {
    for (int i = 0; i < n; i++)
        if (rows[i].op == op && rows[i].phase == ph) return &rows[i];
    return NULL;
}

/* A (5, 6) with a gradient times B (6, 4); loss = sum; backward; one AdamW step on a group. */
static void run_case(const char *backend, const char *timer) {
    dc_backend *be = dc_backend_new(backend);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be), *data = dc_ctx_new(be);
    dc_params *ps = dc_params_new(be, DC_F32, 1);
    dc_tensor *A = dc_params_add(ps, "a", 2, (int64_t[]){5, 6});
    ck_assert(A && dc_params_alloc(ps) == DC_OK);
    dc_adamw *opt = dc_adamw_new(ps, dc_adamw_opts_default());
    dc_tensor *B = dc_tensor_full(data, DC_F32, 2, (int64_t[]){6, 4}, 0.5);
    ck_assert(opt && B && dc_tensor_fill(A, 0.25) == DC_OK);

    dc_tensor_fill(B, 0.5); /* not profiled yet */
    ck_assert_int_eq(dc_profile_start(be), DC_OK);
    ck_assert_str_eq(dc_profile_timer(be), timer);
    for (int step = 0; step < 2; step++) {
        dc_ctx_reset(ctx);
        ck_assert_int_eq(dc_params_zero_grad(ps), DC_OK);
        dc_tensor *L = dc_sum_all(ctx, dc_matmul(ctx, A, B, 0, 0));
        ck_assert_msg(L && dc_backward(ctx, L) == DC_OK, "%s", dc_last_error());
        ck_assert_int_eq(dc_adamw_step(opt), DC_OK);
    }
    ck_assert_int_eq(dc_profile_stop(be), DC_OK);
    dc_tensor_fill(B, 0.5); /* stopped: not counted */

    dc_profile_row rows[64];
    int n = dc_profile_rows(be, rows, 64);
    ck_assert(n > 0 && n <= 64);
    const dc_profile_row *mf = find(rows, n, DC_OP_MATMUL, DC_PHASE_FORWARD);
    const dc_profile_row *mb = find(rows, n, DC_OP_MATMUL, DC_PHASE_BACKWARD);
    const dc_profile_row *ad = find(rows, n, DC_OP_ADAMW, DC_PHASE_UPDATE);
    const dc_profile_row *zf = find(rows, n, DC_OP_FILL, DC_PHASE_UPDATE);
    ck_assert_msg(mf && mb && ad && zf, "%s: missing rows (n = %d)", backend, n);
    /* forward: 2 M N K = 2*5*4*6 = 240 FLOPs, tensors 30 + 24 + 20 floats = 296 bytes, per call */
    ck_assert_int_eq(mf->calls, 2);
    ck_assert_double_eq_tol(mf->flops, 2 * 240.0, 1e-9);
    ck_assert_double_eq_tol(mf->bytes, 2 * 296.0, 1e-9);
    /* backward: dA += dY B^T straight into A's gradient (beta = 1): 2*5*6*4 + 2*5*6 = 300 FLOPs,
     * dY 20 + B 24 + dA read and written 2 * 30 floats = 416 bytes */
    ck_assert_int_eq(mb->calls, 2);
    ck_assert_double_eq_tol(mb->flops, 2 * 300.0, 1e-9);
    ck_assert_double_eq_tol(mb->bytes, 2 * 416.0, 1e-9);
    /* AdamW over the group's flat buffer (30 elements padded to 32): 12 FLOPs per element */
    ck_assert_int_eq(ad->calls, 2);
    ck_assert_double_eq_tol(ad->flops, 2 * 12.0 * 32, 1e-9);
    ck_assert_int_eq(zf->calls, 2); /* zero_grad, counted as the optimizer's */
    double total = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(rows[i].ms >= 0 && isfinite(rows[i].ms), "%s: %s %g ms", backend, dc_op_name(rows[i].op),
                      rows[i].ms);
        total += rows[i].ms;
    }
    ck_assert(total > 0);
    /* a restart clears the counts */
    ck_assert_int_eq(dc_profile_start(be), DC_OK);
    ck_assert_int_eq(dc_profile_stop(be), DC_OK);
    ck_assert_int_eq(dc_profile_rows(be, rows, 64), 0);
    dc_adamw_free(opt);
    dc_params_free(ps);
    dc_ctx_free(ctx);
    dc_ctx_free(data);
    dc_backend_free(be);
}

START_TEST(test_profile_cpu) { run_case("cpu", "wall clock"); }
END_TEST

START_TEST(test_profile_opencl) { run_case("opencl", "device events"); }
END_TEST

START_TEST(test_profile_errors) {
    ck_assert_int_ne(dc_profile_start(NULL), DC_OK);
    ck_assert_int_ne(dc_profile_stop(NULL), DC_OK);
    ck_assert_int_eq(dc_profile_rows(NULL, NULL, 0), 0);
    dc_backend *be = dc_backend_new("cpu");
    ck_assert_int_eq(dc_profile_stop(be), DC_OK); /* never started: nothing to do */
    ck_assert_int_eq(dc_profile_rows(be, NULL, 0), 0);
    ck_assert_int_eq(dc_profile_start(be), DC_OK);
    dc_backend_free(be); /* freed while profiling: no leak, no crash */
}
END_TEST

int main(void) {
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("profile");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_profile_cpu);
    tcase_add_test(tc, test_profile_errors);
    int kind = -1;
    for (int k = 0; k < dc_backend_kind_count(); k++)
        if (!strcmp(dc_backend_kind_name(k), "opencl")) kind = k;
    char why[512] = "not compiled in";
    if (kind >= 0 && dc_backend_kind_devices(kind, why, sizeof why) > 0) tcase_add_test(tc, test_profile_opencl);
    else printf("profile: opencl skipped (%s)\n", why);
    suite_add_tcase(s, tc);
    return dc_test_run_suite_nofork(s) ? 1 : 0; /* OpenCL is initialised already (device check) */
}
