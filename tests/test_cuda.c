/* test_cuda.c: what only the CUDA backend has: the rules of graph capture (what is refused
 * inside a capture), the wording of its out-of-memory error (cudaMalloc, the device) and
 * `dynacl backends` without a device. Correctness of every kernel, 200 training steps
 * against cpu, graph replay against eager steps and determinism are the conformance
 * suite's (ctest conformance.cuda.*, `dynacl conformance --backend cuda`). Without the
 * backend or a device each test prints why it is skipped and passes (Check has no skip
 * status). No forking: CUDA must not be initialised in a parent whose children use it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"

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
    ck_assert(t);
    ck_assert(dc_graph_capture_begin(be) == DC_OK);
    ck_assert_int_eq(dc_graph_capture_begin(be), DC_ERR_STATE);
    ck_assert(dc_tensor_fill(t, 3.0) == DC_OK); /* recorded, not run */
    ck_assert_int_eq(dc_backend_sync(be), DC_ERR_STATE);
    ck_assert_msg(strstr(dc_last_error(), "capture"), "%s", dc_last_error());
    ck_assert(isnan(dc_tensor_item(t))); /* a download is refused too */
    ck_assert(dc_tensor_new(ctx, DC_F32, 1, (int64_t[]){4096}) == NULL);
    ck_assert_int_eq(dc_last_status(), DC_ERR_STATE);
    dc_graph *g = dc_graph_capture_end(be);
    ck_assert_msg(g, "%s", dc_last_error());
    ck_assert(dc_tensor_item(t) == 0.0); /* the fill has not run yet */
    ck_assert(dc_graph_launch(g) == DC_OK);
    ck_assert(dc_tensor_item(t) == 3.0);
    dc_graph_free(g);
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
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_backends_listing);
    tcase_add_test(tc, test_capture_rules);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return dc_test_run_suite_nofork(s) ? 1 : 0;
}
