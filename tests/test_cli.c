/* test_cli.c: smoke tests of the `dynacl` program: help, version, backends, errors and
 * exit codes, a short pretraining run whose loss falls, embedding the synthetic dataset's
 * test split with its checkpoint, and the benchmark's JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_npy.h"
#include "dc_test.h"

static char buf[1 << 16];

START_TEST(test_help_version) {
    ck_assert_int_eq(dc_test_run_cli("--help", buf, sizeof buf), 0);
    ck_assert(strstr(buf, "pretrain") && strstr(buf, "backends") && strstr(buf, "bench"));
    ck_assert_int_eq(dc_test_run_cli("--version", buf, sizeof buf), 0);
    ck_assert(strncmp(buf, "dynacl ", 7) == 0);
    ck_assert_int_eq(dc_test_run_cli("pretrain --help", buf, sizeof buf), 0);
    ck_assert(strstr(buf, "--epochs") && strstr(buf, "--protocol") && strstr(buf, "--backend"));
    ck_assert_int_eq(dc_test_run_cli("", buf, sizeof buf), 2);
}
END_TEST

START_TEST(test_backends_listing) {
    ck_assert_int_eq(dc_test_run_cli("backends", buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "cpu ") && strstr(buf, "cpu-ref"), "%s", buf);
}
END_TEST

START_TEST(test_errors_exit_nonzero) {
    ck_assert_int_eq(dc_test_run_cli("frobnicate", buf, sizeof buf), 2);
    ck_assert(strstr(buf, "unknown command 'frobnicate'"));
    ck_assert_int_eq(dc_test_run_cli("pretrain --epochs abc", buf, sizeof buf), 2);
    ck_assert_msg(strstr(buf, "--epochs expects an integer"), "%s", buf);
    ck_assert_int_eq(dc_test_run_cli("pretrain --bogus 1", buf, sizeof buf), 2);
    ck_assert(strstr(buf, "unknown option '--bogus'"));
    ck_assert_int_eq(dc_test_run_cli("pretrain --protocol paper", buf, sizeof buf), 2);
    ck_assert_msg(strstr(buf, "protocol must be 'authors' or 'corrected'"), "%s", buf);
    ck_assert_int_ne(dc_test_run_cli("pretrain --backend nope --max-steps 1", buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "unknown backend 'nope'"), "%s", buf);
}
END_TEST

START_TEST(test_pretrain_loss_falls) {
    char *dir = dc_test_tmpdir(), args[2048], path[1100];
    snprintf(args, sizeof args, "pretrain --epochs 4 --out %s/a", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "(falling)") && strstr(buf, "model.safetensors"), "%s", buf);
    /* a second run into the same folder is refused; --force replaces it */
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "already holds a run"), "%s", buf);
    snprintf(args, sizeof args, "pretrain --epochs 1 --max-steps 5 --out %s/a --force --protocol corrected --single-positive "
             "--model dynacl-m", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    snprintf(path, sizeof path, "%s/a/config.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(buf, "\"protocol\":\t\"corrected\"") && strstr(buf, "\"within-seq\"") &&
                  strstr(buf, "\"embeddings\"") && strstr(buf, "\"paper\"") && strstr(buf, "\"dynacl-m\""),
                  "%s", buf);
    /* --resume takes everything from config.json */
    snprintf(args, sizeof args, "pretrain --resume %s/a", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "(resuming)"), "%s", buf);
    /* embed accepts the embedded dataset by name, like the other evaluation commands: its
     * test split is 41 sequences of T = 119 (the pretraining banner), 32 outputs each */
    ck_assert_msg(strstr(buf, "(train 167, test 41)") && strstr(buf, "of T=119"), "%s", buf);
    snprintf(args, sizeof args, "embed --checkpoint %s/a/model.safetensors --data synthetic --split test --out %s/z.npy", dir, dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    snprintf(path, sizeof path, "%s/z.npy", dir);
    dc_npy z;
    ck_assert_msg(dc_npy_open(path, &z) == DC_OK, "%s", dc_last_error());
    ck_assert(z.dtype == DC_NPY_F32 && z.ndim == 3);
    ck_assert(z.shape[0] == 41 && z.shape[1] == 119 && z.shape[2] == 32);
    double ss = 0;
    for (int64_t i = 0; i < z.numel; i++) ss += (double)((const float *)z.data)[i] * ((const float *)z.data)[i];
    ck_assert_msg(isfinite(ss) && ss > 0, "embedding sum of squares %g", ss);
    dc_npy_close(&z);
    /* a run on `--data synthetic` records the dataset by name, so --resume can reopen it */
    snprintf(args, sizeof args, "pretrain --data synthetic --epochs 1 --max-steps 3 --save-every 2 --out %s/b", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    snprintf(args, sizeof args, "pretrain --resume %s/b", dir);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == 0 && strstr(buf, "(resuming)"), "%s", buf);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bench_json) {
    char *dir = dc_test_tmpdir(), args[2048], path[1024];
    snprintf(path, sizeof path, "%s/bench.json", dir);
    snprintf(args, sizeof args, "bench --shape harth --steps 3 --warmup 1 --json %s", path);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert(strstr(buf, "harth") && strstr(buf, "ms/step"));
    FILE *f = fopen(path, "r");
    ck_assert(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(buf, "\"ms_per_step_median\"") && strstr(buf, "\"shape\": \"harth\""), "%s", buf);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_help_version);
    tcase_add_test(tc, test_backends_listing);
    tcase_add_test(tc, test_errors_exit_nonzero);
    tcase_add_test(tc, test_pretrain_loss_falls);
    tcase_add_test(tc, test_bench_json);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
