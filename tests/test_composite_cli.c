/* test_composite_cli.c: `DC_NO_FUSED=1 dynacl pretrain --model M` trains every method under
 * both protocols on cpu, and on opencl when it has a device: three steps on the embedded
 * synthetic data, every loss finite, and the first-step loss equal to the fused run's
 * (same seed, same draws) within 1e-5 relative; CoST on OpenCL within 2e-2, see
 * k_cost_opencl_tol. Kinds without a device are logged and skipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_test.h"
#include "train/dc_model.h"

#define STEPS 3

/* CoST's phase term is atan2(Im, Re + eps) of each frequency bin. The DC and Nyquist bins of
 * a real series are real, and cpu's FFT gives them Im = 0 exactly; clFFT leaves rounding
 * residues of either sign (about 1e-6), so any change in rounding (the composite normalises
 * in another order) can flip those phases between -pi and pi. */
static const double k_cost_opencl_tol = 2e-2;

static char g_kinds[2][16];
static int g_n_kinds;

/* The losses of the first STEPS steps from run/metrics.jsonl; the number found. */
static int read_losses(const char *run, double *loss) {
    char path[1200], line[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    while (n < STEPS && fgets(line, sizeof line, f)) {
        const char *s = strstr(line, "\"step\": "), *l = strstr(line, "\"loss\": ");
        if (s && l && strtol(s + 8, NULL, 10) == n + 1) loss[n++] = strtod(l + 8, NULL);
    }
    fclose(f);
    return n;
}

/* `dynacl pretrain` of model under protocol on kind into dir/name; no_fused sets DC_NO_FUSED=1. */
static void pretrain(const char *dir, const char *name, const char *kind, const char *model, const char *protocol,
                     int no_fused, double *loss) {
    static char out[1 << 16];
    char args[2048], run[1100];
    snprintf(run, sizeof run, "%s/%s", dir, name);
    snprintf(args, sizeof args, "pretrain --backend %s --model %s --protocol %s --max-steps %d --log-every 1 "
             "--valid-every 0 --out '%s'", kind, model, protocol, STEPS, run);
    if (no_fused) setenv("DC_NO_FUSED", "1", 1);
    else unsetenv("DC_NO_FUSED");
    int rc = dc_test_run_cli(args, out, sizeof out);
    unsetenv("DC_NO_FUSED");
    ck_assert_msg(rc == 0, "%sdynacl %s\n%s", no_fused ? "DC_NO_FUSED=1 " : "", args, out);
    ck_assert_msg(read_losses(run, loss) == STEPS, "%s: %s has fewer than %d step losses", args, run, STEPS);
    for (int i = 0; i < STEPS; i++)
        ck_assert_msg(isfinite(loss[i]), "%s%s: step %d loss %g", no_fused ? "DC_NO_FUSED=1 " : "", args, i + 1,
                      loss[i]);
}

START_TEST(test_no_fused_pretrain) {
    int n_models = 0;
    while (dc_model_names()[n_models]) n_models++;
    const char *kind = g_kinds[_i / (2 * n_models)], *model = dc_model_names()[(_i / 2) % n_models];
    const char *protocol = _i % 2 ? "corrected" : "authors";
    char *dir = dc_test_tmpdir();
    double fused[STEPS], comp[STEPS];
    pretrain(dir, "fused", kind, model, protocol, 0, fused);
    pretrain(dir, "composite", kind, model, protocol, 1, comp);
    double tol = !strcmp(model, "cost") && !strcmp(kind, "opencl") ? k_cost_opencl_tol : 1e-5;
    double rel = fabs(comp[0] - fused[0]) / fmax(1e-12, fabs(fused[0]));
    printf("DC_NO_FUSED=1 %s %s (%s): first-step loss %.9g, fused %.9g (rel %.2g); step %d: %.9g, fused %.9g\n", kind,
           model, protocol, comp[0], fused[0], rel, STEPS, comp[STEPS - 1], fused[STEPS - 1]);
    ck_assert_msg(rel <= tol, "%s %s (%s): first-step loss %.9g with DC_NO_FUSED=1, %.9g fused (rel %.3g > %.0g)", kind,
                  model, protocol, comp[0], fused[0], rel, tol);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    const char *want[2] = {"cpu", "opencl"};
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < dc_backend_kind_count(); k++) {
            char why[256] = "";
            if (strcmp(dc_backend_kind_name(k), want[w])) continue;
            if (dc_backend_kind_devices(k, why, sizeof why) > 0)
                snprintf(g_kinds[g_n_kinds++], sizeof g_kinds[0], "%s", want[w]);
            else printf("composite cli: %s skipped, no device (%s)\n", want[w], why);
        }
    int n_models = 0;
    while (dc_model_names()[n_models]) n_models++;
    Suite *s = suite_create("composite_cli");
    TCase *tc = tcase_create("composite_cli");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_no_fused_pretrain, 0, g_n_kinds * n_models * 2);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
