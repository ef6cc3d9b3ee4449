/* test_opencl.c: what only the OpenCL backend has: device selection (DYNACL_OPENCL_DEVICE),
 * translation of OpenCL errors, a missing platform and a failed kernel build with its log.
 * Correctness of every kernel and of whole training runs is the conformance suite's
 * (ctest conformance.opencl.*, `dynacl conformance --backend opencl`). Skipped, saying why,
 * without the backend or a device.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dc/dc.h"
#include "dc_test.h"

/* ---------------------------------------------------------------- devices and errors */

static int opencl_kind(void) {
    for (int k = 0; k < dc_backend_kind_count(); k++)
        if (!strcmp(dc_backend_kind_name(k), "opencl")) return k;
    return -1;
}

START_TEST(test_device_selection_and_errors) {
    dc_clear_error();
    ck_assert_ptr_null(dc_backend_new("opencl:63"));
    ck_assert_msg(strstr(dc_last_error(), "device 63 does not exist"), "%s", dc_last_error());
    setenv("DYNACL_OPENCL_DEVICE", "63", 1);
    dc_backend *bad = dc_backend_new("opencl");
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", dc_last_error());
    setenv("DYNACL_OPENCL_DEVICE", "0", 1);
    dc_backend *be = dc_backend_new("opencl");
    unsetenv("DYNACL_OPENCL_DEVICE");
    ck_assert_ptr_null(bad);
    ck_assert_msg(strstr(msg, "DYNACL_OPENCL_DEVICE") && strstr(msg, "device 63"), "%s", msg);
    ck_assert_msg(be, "%s", dc_last_error());
    ck_assert_str_eq(dc_backend_name(be), "opencl:0");
    /* a vendor error comes back translated: call, error name, device, file:line */
    dc_ctx *ctx = dc_ctx_new(be);
    dc_clear_error();
    ck_assert_ptr_null(dc_tensor_new(ctx, DC_F32, 2, (int64_t[]){1 << 20, 1 << 20}));
    const char *e = dc_last_error();
    char dev[256] = "";
    ck_assert(dc_backend_kind_device_desc(opencl_kind(), 0, dev, sizeof dev) == DC_OK);
    char *paren = strstr(dev, " (");
    if (paren) *paren = '\0'; /* the device name */
    ck_assert_msg(strstr(e, "clCreateBuffer failed: CL_") && strstr(e, dev) &&
                      strstr(e, "backends/opencl/opencl_backend.c:"),
                  "%s", e);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_missing_platform) {
    const char *bin = getenv("DC_DYNACL_BIN");
    if (!bin || !*bin) {
        printf("opencl: missing-platform check skipped (DC_DYNACL_BIN unset; run through ctest)\n");
        return;
    }
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS=/nonexistent OCL_ICD_FILENAMES= '%s' backends 2>&1", bin);
    FILE *p = popen(cmd, "r");
    ck_assert(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(strstr(out, "\ncpu "), "the cpu backend is not listed: %s", out);
    char *line = strstr(out, "\nopencl ");
    char *end = line ? strchr(line + 1, '\n') : NULL;
    if (end) *end = '\0';
    ck_assert_msg(line && strstr(line, "unavailable: no OpenCL platform found (is an ICD such as pocl-opencl-icd "
                                       "installed?)"),
                  "%s", out);
}
END_TEST

/* A kernel build that fails returns an error carrying the device's build log, and a fresh
 * backend without the bad options works. -Werror turns common.cl's redefinition of the
 * RED_MAX macro given on the command line into a compile error. */
START_TEST(test_build_failure_reports_log) {
    setenv("DYNACL_OPENCL_BUILD_OPTIONS", "-Werror -DRED_MAX=1", 1);
    dc_backend *be = dc_backend_new("opencl");
    unsetenv("DYNACL_OPENCL_BUILD_OPTIONS");
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be);
    dc_clear_error();
    dc_tensor *x = dc_tensor_zeros(ctx, DC_F32, 2, (int64_t[]){4, 3}); /* FILL: builds kernels/elementwise.cl */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", dc_last_error());
    dc_ctx_free(ctx);
    dc_backend_free(be);
    ck_assert_ptr_null(x);
    ck_assert_msg(strstr(msg, "clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE") &&
                      strstr(msg, "kernels/elementwise.cl") && strstr(msg, "-Werror -DRED_MAX=1") &&
                      strstr(msg, "build log:") && strstr(msg, "RED_MAX"),
                  "%s", msg);
    be = dc_backend_new("opencl");
    ctx = dc_ctx_new(be);
    x = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){4, 3}, 2.0);
    dc_tensor *s = x ? dc_sum(ctx, x, 0, 0) : NULL;
    ck_assert_msg(s, "%s", dc_last_error());
    ck_assert(dc_tensor_item(dc_sum_all(ctx, s)) == 24.0);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

int main(void) {
    int kind = opencl_kind();
    char why[512] = "";
    if (kind < 0) {
        printf("opencl: skipped, the OpenCL backend is not compiled in\n");
        return 0;
    }
    if (dc_backend_kind_devices(kind, why, sizeof why) == 0) {
        printf("opencl: skipped, no device: %s\n", why);
        return 0;
    }
    Suite *s = suite_create("opencl");
    TCase *tc = tcase_create("opencl");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_device_selection_and_errors);
    tcase_add_test(tc, test_missing_platform);
    tcase_add_test(tc, test_build_failure_reports_log);
    suite_add_tcase(s, tc);
    /* OpenCL is initialised in this process already (device check): no forking */
    return dc_test_run_suite_nofork(s) ? 1 : 0;
}
