/* test_cli.c: smoke tests of the `dynacl` program: help, version, backends, errors and
 * exit codes (every numeric option's range), a short pretraining run whose loss falls,
 * embedding the synthetic dataset's test split with its checkpoint, and the benchmark's JSON
 * (pure JSON on stdout with --json -). Runs killed and resumed through the program:
 * test_cli_resume.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Every command's --help works, which also means every numeric option of every command
 * declares the values it accepts (the option parser refuses one that does not). */
START_TEST(test_every_command_help) {
    static char list[1 << 14];
    ck_assert_int_eq(dc_test_run_cli("--help", list, sizeof list), 0);
    const char *s = strstr(list, "commands:\n");
    ck_assert(s);
    int n = 0;
    for (s = strchr(s, '\n') + 1; !strncmp(s, "  ", 2); s = strchr(s, '\n') + 1, n++) {
        char name[64], args[128];
        ck_assert(sscanf(s, " %63s", name) == 1);
        snprintf(args, sizeof args, "%s --help", name);
        int rc = dc_test_run_cli(args, buf, sizeof buf);
        ck_assert_msg(rc == 0 && strstr(buf, "usage: dynacl"), "dynacl %s: exit %d\n%s", args, rc, buf);
    }
    ck_assert_int_ge(n, 15);
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
    ck_assert_msg(strstr(buf, "--epochs must be an integer >= 1, got 'abc'"), "%s", buf);
    ck_assert_int_eq(dc_test_run_cli("pretrain --bogus 1", buf, sizeof buf), 2);
    ck_assert(strstr(buf, "unknown option '--bogus'"));
    ck_assert_int_eq(dc_test_run_cli("pretrain --protocol paper", buf, sizeof buf), 2);
    ck_assert_msg(strstr(buf, "--protocol must be one of authors, corrected, got 'paper'"), "%s", buf);
    ck_assert_int_ne(dc_test_run_cli("pretrain --backend nope --max-steps 1", buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "unknown backend 'nope'"), "%s", buf);
}
END_TEST

/* Every numeric option is checked: each bad value exits 2 with a message that names the
 * option and the values it accepts; options that do not apply are refused too. */
START_TEST(test_bad_values) {
    static const char *const cases[][2] = {
        {"pretrain --epochs 0", "--epochs must be an integer >= 1 (got 0)"},
        {"pretrain --epochs -3", "--epochs must be an integer >= 1 (got -3)"},
        {"pretrain --batch 0", "--batch must be an integer >= 1 (got 0)"},
        {"pretrain --batch -5", "--batch must be an integer >= 1 (got -5)"},
        {"pretrain --seed -1", "--seed must be an integer in [0, 9007199254740992] (got -1)"},
        {"pretrain --lr 0", "--lr must be a number > 0 (got 0)"},
        {"pretrain --weight-decay -0.1", "--weight-decay must be a number >= 0 (got -0.1)"},
        {"pretrain --plateau-factor 1", "--plateau-factor must be a number in (0, 1) (got 1)"},
        {"pretrain --log-every 0", "--log-every must be an integer >= 1 (got 0)"},
        {"pretrain --tau 0", "--tau must be a number > 0 (got 0)"},
        {"pretrain --mask 1", "--mask must be a number in [0, 1) (got 1)"},
        {"pretrain --threshold 2", "--threshold must be a number in [-1, 1] (got 2)"},
        {"pretrain --model tnc --tnc-weight 1.5", "--tnc-weight must be a number in [0, 1] (got 1.5)"},
        {"pretrain --model cost --cost-tau -1", "--cost-tau must be a number > 0 (got -1)"},
        {"pretrain --model infots --infots-local most", "--infots-local must be one of first-sequence, all-sequences, first, all"},
        {"pretrain --model infots --infots-max-len 6", "infots_max_len (6) must be >= infots_local_k (8)"},
        {"pretrain --tnc-window 10", "--tnc-window is an option of tnc, not of --model dynacl"},
        {"pretrain --model nope", "unknown model 'nope'"},
        {"pretrain --sampler random", "--sampler must be one of shuffle, sequential, got 'random'"},
        {"pretrain --data-on-device maybe", "--data-on-device must be one of auto, on, off"},
        {"embed --checkpoint c --out o --input i --chunk 0", "--chunk must be an integer >= 1 (got 0)"},
        {"embed --checkpoint c --out o --input i --split bogus", "--split must be one of train, test, all, got 'bogus'"},
        {"embed --checkpoint c --out o --input i --split train", "--split selects sequences of --data"},
        {"loss --checkpoint c --data d --batch 0", "--batch must be an integer >= 1 (got 0)"},
        {"loss --checkpoint c --data d --split all", "--split must be one of train, test, got 'all'"},
        {"loss --checkpoint c --data d --model nope", "unknown model 'nope'"},
        {"linear-eval --checkpoint random --data synthetic --runs 0", "--runs must be an integer in [1, 64] (got 0)"},
        {"linear-eval --checkpoint random --data synthetic --lr -1", "--lr must be a number > 0 (got -1)"},
        {"linear-eval --checkpoint random --data synthetic --epochs 0", "--epochs must be an integer >= 1 (got 0)"},
        {"linear-eval --checkpoint random --data synthetic --bn maybe", "--bn must be one of train, eval"},
        {"cluster --checkpoint random --data synthetic --seed -2", "--seed must be an integer in [0, 9007199254740992] (got -2)"},
        {"cluster --embeddings z --labels y --classes 1", "--classes must be an integer in [2, 32] (got 1)"},
        {"cluster --checkpoint random --data synthetic --classes 3", "--labels, --classes and --score-labels go with --embeddings"},
        {"tsne --checkpoint random --data synthetic --out a.png --perplexity 0", "--perplexity must be a number > 0 (got 0)"},
        {"tsne --checkpoint random --data synthetic --out a.png --angle 2", "--angle must be a number in [0, 1] (got 2)"},
        {"tsne --checkpoint random --data synthetic --out a.png --iters 0", "--iters must be an integer in [1, 2147483647] (got 0)"},
        {"prepare harth --input i --out o --seq-len 0", "--seq-len must be an integer >= 1 (got 0)"},
        {"prepare harth --input i --out o --threads 0", "--threads must be an integer in [1, 4096] (got 0)"},
        {"demo --runs 17", "--runs must be an integer in [1, 16] (got 17)"},
        {"demo --epochs 0", "--epochs must be an integer >= 1 (got 0)"},
        {"bench --steps 0", "--steps must be an integer >= 1 (got 0)"},
        {"bench --warmup -1", "--warmup must be an integer >= 0 (got -1)"},
        {"bench --shape bogus", "--shape must be one of harth, sleepeeg, ecg, all"},
        {"bench --model nope", "unknown model 'nope'"},
        {"fetch-data harth --out o --retries -1", "--retries must be an integer in [0, 1000] (got -1)"},
        {"report --protocol paper r", "--protocol must be one of authors, corrected"},
        {"run-status", "give exactly one run folder"},
        {"conformance --steps 0", "--steps must be an integer in [1, 100000] (got 0)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = dc_test_run_cli(cases[i][0], buf, sizeof buf);
        ck_assert_msg(rc == 2 && strstr(buf, cases[i][1]), "dynacl %s: exit %d, expected 2 and \"%s\", got:\n%s", cases[i][0], rc,
                      cases[i][1], buf);
    }
    /* --epochs 0 does not train: no run folder */
    char *dir = dc_test_tmpdir(), args[2048], path[1100];
    snprintf(args, sizeof args, "pretrain --epochs 0 --out %s/r", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 2);
    snprintf(path, sizeof path, "%s/r", dir);
    ck_assert(access(path, F_OK) != 0);
    dc_test_rmtree(dir);
    free(dir);
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

/* `bench --json -`: stdout is one JSON document (the table goes to stderr), and --profile adds
 * the per-op rows and the peak to it (issue 16 item 6). */
START_TEST(test_bench_json_stdout) {
    const char *bin = getenv("DC_DYNACL_BIN");
    ck_assert(bin);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' bench --shape harth --steps 2 --warmup 0 --profile --json - 2>/dev/null", bin);
    FILE *p = popen(cmd, "r");
    ck_assert(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    int st = pclose(p);
    ck_assert_int_eq(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
    cJSON *j = cJSON_Parse(buf);
    ck_assert_msg(j, "stdout is not JSON: %s", buf);
    cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    ck_assert(res);
    cJSON *prof = cJSON_GetObjectItem(res, "profile"), *ops = cJSON_GetObjectItem(prof, "ops");
    ck_assert_msg(cJSON_IsArray(ops) && cJSON_GetArraySize(ops) > 5, "%s", buf);
    ck_assert(cJSON_GetObjectItem(j, "host_fma_peak_gflops")->valuedouble > 0);
    ck_assert(cJSON_GetObjectItem(prof, "flops_per_step")->valuedouble > 1e8);
    cJSON_Delete(j);
    /* the table went to stderr */
    snprintf(cmd, sizeof cmd, "'%s' bench --shape harth --steps 1 --warmup 0 --json - 2>&1 >/dev/null", bin);
    p = popen(cmd, "r");
    ck_assert(p);
    n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    ck_assert_msg(strstr(buf, "ms/step") && !strchr(buf, '{'), "%s", buf);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_help_version);
    tcase_add_test(tc, test_every_command_help);
    tcase_add_test(tc, test_backends_listing);
    tcase_add_test(tc, test_errors_exit_nonzero);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_pretrain_loss_falls);
    tcase_add_test(tc, test_bench_json);
    tcase_add_test(tc, test_bench_json_stdout);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
