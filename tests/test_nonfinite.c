/* test_nonfinite.c: NaN and Inf are refused where data and weights come in, naming the
 * position of the first one, unless --allow-nonfinite lets them through: dc_check_finite's
 * positions (computed by hand), `dynacl embed` with a NaN input and with a NaN weight,
 * dc_model_load, `dynacl prepare sleepeeg --from-npy` with NaN and out-of-float32 samples,
 * and the --embeddings inputs of linear-eval, cluster and tsne. Not the readers of the raw
 * formats (test_harth_csv, test_edf, test_prepare).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "dc_test.h"
#include "train/dc_train.h"

static char g_out[1 << 16];

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int run(const char *fmt, const char *a, const char *b, const char *c, const char *extra) {
    char args[16384];
    snprintf(args, sizeof args, fmt, a, b, c);
    if (extra) strncat(args, extra, sizeof args - strlen(args) - 1);
    return dc_test_run_cli(args, g_out, sizeof g_out);
}

START_TEST(test_check_finite_positions) {
    float x[2 * 3 * 4];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    const int64_t s3[3] = {2, 3, 4};
    ck_assert_int_eq(dc_check_finite(x, 4, 3, s3, "x"), DC_OK);
    x[1 * 12 + 2 * 4 + 3] = NAN; /* flat 23 = [1, 2, 3] */
    x[1 * 12 + 0 * 4 + 1] = INFINITY; /* flat 13 = [1, 0, 1]: the first one */
    ck_assert_int_eq(dc_check_finite(x, 4, 3, s3, "x.npy"), DC_ERR_NUMERIC);
    ck_assert_str_eq(dc_last_error(), "x.npy: element [1, 0, 1] is inf");
    /* float64, read at an odd address */
    unsigned char raw[8 * 6 + 1];
    double d[6] = {0, 1, 2, 3, -INFINITY, NAN};
    memcpy(raw + 1, d, sizeof d);
    ck_assert_int_eq(dc_check_finite(raw + 1, 8, 2, (const int64_t[]){3, 2}, "w"), DC_ERR_NUMERIC);
    ck_assert_str_eq(dc_last_error(), "w: element [2, 0] is -inf");
    d[4] = 4;
    memcpy(raw + 1, d, sizeof d);
    ck_assert_int_eq(dc_check_finite(raw + 1, 8, 2, (const int64_t[]){3, 2}, "w"), DC_ERR_NUMERIC);
    ck_assert_msg(strstr(dc_last_error(), "w: element [2, 1] is ") && strstr(dc_last_error(), "nan"), "%s",
                  dc_last_error());
    float one = NAN;
    ck_assert_int_eq(dc_check_finite(&one, 4, 0, NULL, "scalar"), DC_ERR_NUMERIC);
    ck_assert_str_eq(dc_last_error(), "scalar: element [] is nan");
    ck_assert_int_eq(dc_check_finite(NULL, 4, 1, (const int64_t[]){0}, "empty"), DC_OK);
    ck_assert_int_eq(dc_check_finite(x, 2, 1, s3, "half"), DC_ERR_ARG);
}
END_TEST

/* A random-init DynaCL checkpoint for D inputs at path; nan_at >= 0 puts a NaN into
 * conv2.weight's flat element nan_at. */
static void write_checkpoint(const char *path, int64_t D, int64_t nan_at) {
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "harth", "authors");
    dc_model *m = dc_model_new(&cfg, be, D);
    ck_assert_msg(m, "%s", dc_last_error());
    if (nan_at >= 0) {
        dc_tensor *w = m->enc->w[1]; /* conv2.weight (64, 128, 1) */
        int64_t n = dc_tensor_numel(w);
        float *h = malloc((size_t)n * sizeof *h);
        ck_assert(dc_tensor_download(w, h, (size_t)n * sizeof *h) == DC_OK);
        h[nan_at] = NAN;
        ck_assert(dc_tensor_upload(w, h, (size_t)n * sizeof *h) == DC_OK);
        free(h);
    }
    ck_assert_msg(dc_model_save(m, path, NULL) == DC_OK, "%s", dc_last_error());
    dc_model_free(m);
    dc_backend_free(be);
}

START_TEST(test_embed_refuses_nan) {
    char *dir = dc_test_tmpdir(), ck[4200], bad[4200], x[4200], z[4200];
    const int64_t N = 2, T = 4, D = 5;
    snprintf(ck, sizeof ck, "%s/ok.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/nan.safetensors", dir);
    snprintf(x, sizeof x, "%s/x.npy", dir);
    snprintf(z, sizeof z, "%s/z.npy", dir);
    write_checkpoint(ck, D, -1);
    write_checkpoint(bad, D, 7 * 128 + 9); /* [7, 9, 0] */
    float X[2 * 4 * 5];
    for (int i = 0; i < N * T * D; i++) X[i] = 0.1f * (float)(i % 7) - 0.3f;
    ck_assert(dc_npy_write(x, DC_NPY_F32, 3, (int64_t[]){N, T, D}, X) == DC_OK);
    ck_assert_msg(run("embed --checkpoint '%s' --input '%s' --out '%s'", ck, x, z, NULL) == 0, "%s", g_out);
    ck_assert(exists(z));
    remove(z);
    /* a NaN weight: refused, naming the tensor and the element; allowed with the flag */
    ck_assert_int_eq(run("embed --checkpoint '%s' --input '%s' --out '%s'", bad, x, z, NULL), 1);
    ck_assert_msg(strstr(g_out, "tensor 'conv2.weight': element [7, 9, 0] is nan") && strstr(g_out, "--allow-nonfinite"),
                  "%s", g_out);
    ck_assert(!exists(z));
    ck_assert_msg(run("embed --checkpoint '%s' --input '%s' --out '%s'", bad, x, z, " --allow-nonfinite") == 0, "%s",
                  g_out);
    ck_assert(exists(z));
    remove(z);
    /* the library refuses it too */
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "harth", "authors");
    dc_model *m = dc_model_new(&cfg, be, D);
    ck_assert_int_eq(dc_model_load(m, bad), DC_ERR_NUMERIC);
    ck_assert_msg(strstr(dc_last_error(), "conv2.weight': element [7, 9, 0] is nan"), "%s", dc_last_error());
    ck_assert_int_eq(dc_model_load(m, ck), DC_OK);
    dc_model_free(m);
    dc_backend_free(be);
    /* a NaN input: refused at [1, 2, 3]; allowed with the flag (and then NaN comes out) */
    X[1 * T * D + 2 * D + 3] = NAN;
    ck_assert(dc_npy_write(x, DC_NPY_F32, 3, (int64_t[]){N, T, D}, X) == DC_OK);
    ck_assert_int_eq(run("embed --checkpoint '%s' --input '%s' --out '%s'", ck, x, z, NULL), 1);
    ck_assert_msg(strstr(g_out, "x.npy: element [1, 2, 3] is nan") && strstr(g_out, "--allow-nonfinite"), "%s", g_out);
    ck_assert(!exists(z));
    ck_assert_msg(run("embed --checkpoint '%s' --input '%s' --out '%s'", ck, x, z, " --allow-nonfinite") == 0, "%s", g_out);
    dc_npy zn;
    ck_assert(dc_npy_open(z, &zn) == DC_OK);
    int nan_out = 0;
    for (int64_t i = 0; i < zn.numel; i++) nan_out += isnan(((const float *)zn.data)[i]);
    ck_assert_int_gt(nan_out, 0);
    dc_npy_close(&zn);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* samples.npy (N, 1, 178) and labels.npy (N) of TF-C's SleepEEG arrays in dir */
static void write_sleep_arrays(const char *dir, int64_t N, int f64, int64_t bad_at, double bad) {
    char p[4300];
    const int64_t D = 178;
    double *v = malloc((size_t)(N * D) * sizeof *v);
    for (int64_t i = 0; i < N * D; i++) v[i] = sin(0.01 * (double)i);
    if (bad_at >= 0) v[bad_at] = bad;
    snprintf(p, sizeof p, "%s/samples.npy", dir);
    if (f64) {
        ck_assert(dc_npy_write(p, DC_NPY_F64, 3, (int64_t[]){N, 1, D}, v) == DC_OK);
    } else {
        float *f = malloc((size_t)(N * D) * sizeof *f);
        for (int64_t i = 0; i < N * D; i++) f[i] = (float)v[i];
        ck_assert(dc_npy_write(p, DC_NPY_F32, 3, (int64_t[]){N, 1, D}, f) == DC_OK);
        free(f);
    }
    int32_t *lab = malloc((size_t)N * sizeof *lab);
    for (int64_t i = 0; i < N; i++) lab[i] = (int32_t)(i % 5);
    snprintf(p, sizeof p, "%s/labels.npy", dir);
    ck_assert(dc_npy_write(p, DC_NPY_I32, 1, &N, lab) == DC_OK);
    free(lab);
    free(v);
}

START_TEST(test_prepare_from_npy_refuses_nan) {
    char *dir = dc_test_tmpdir(), in[4200], out[4200];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    mkdir(in, 0777);
    const char *cmd = "prepare sleepeeg --from-npy --input '%s' --out '%s' --seq-len 4 --quiet%s";
    write_sleep_arrays(in, 40, 0, 3 * 178 + 17, NAN); /* [3, 0, 17] */
    ck_assert_int_eq(run(cmd, in, out, "", NULL), 1);
    ck_assert_msg(strstr(g_out, "samples.npy: element [3, 0, 17] is nan") && strstr(g_out, "--allow-nonfinite"), "%s",
                  g_out);
    ck_assert(!exists(out));
    ck_assert_msg(run(cmd, in, out, " --allow-nonfinite", NULL) == 0, "%s", g_out);
    ck_assert(exists(out));
    /* float64 beyond float32's range becomes Inf: refused as well */
    write_sleep_arrays(in, 40, 1, 39 * 178 + 177, 1e300); /* [39, 0, 177] */
    ck_assert_int_eq(run(cmd, in, out, " --force", NULL), 1);
    ck_assert_msg(strstr(g_out, "samples.npy: element [39, 0, 177] is inf"), "%s", g_out);
    write_sleep_arrays(in, 40, 1, -1, 0);
    ck_assert_msg(run(cmd, in, out, " --force", NULL) == 0, "%s", g_out);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_embeddings_inputs_refuse_nan) {
    char *dir = dc_test_tmpdir(), z[4200], y[4200], o[4200];
    snprintf(z, sizeof z, "%s/z.npy", dir);
    snprintf(y, sizeof y, "%s/y.npy", dir);
    snprintf(o, sizeof o, "%s/t.png", dir);
    const int64_t N = 30, F = 4;
    float Z[30 * 4];
    int32_t Y[30];
    for (int i = 0; i < N; i++) {
        Y[i] = i % 3;
        for (int j = 0; j < F; j++) Z[i * F + j] = (float)(Y[i] * 3 + j) + 0.01f * (float)i;
    }
    Z[17 * F + 2] = -INFINITY;
    ck_assert(dc_npy_write(z, DC_NPY_F32, 2, (int64_t[]){N, F}, Z) == DC_OK);
    ck_assert(dc_npy_write(y, DC_NPY_I32, 1, &N, Y) == DC_OK);
    char tl[4300];
    snprintf(tl, sizeof tl, " --test-labels '%s'", y);
    ck_assert_int_eq(run("linear-eval --embeddings '%s' --labels '%s' --test-embeddings '%s'", z, y, z, tl), 1);
    ck_assert_msg(strstr(g_out, "z.npy: element [17, 2] is -inf"), "%s", g_out);
    ck_assert_int_eq(run("cluster --embeddings '%s' --labels '%s'%s", z, y, "", NULL), 1);
    ck_assert_msg(strstr(g_out, "z.npy: element [17, 2] is -inf"), "%s", g_out);
    ck_assert_int_eq(run("tsne --embeddings '%s' --labels '%s' --out '%s'", z, y, o, NULL), 1);
    ck_assert_msg(strstr(g_out, "z.npy: element [17, 2] is -inf"), "%s", g_out);
    ck_assert(!exists(o));
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("nonfinite");
    TCase *tc = tcase_create("nonfinite");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_check_finite_positions);
    tcase_add_test(tc, test_embed_refuses_nan);
    tcase_add_test(tc, test_prepare_from_npy_refuses_nan);
    tcase_add_test(tc, test_embeddings_inputs_refuse_nan);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
