/* test_cli_resume.c: runs of `dynacl pretrain` killed with SIGKILL at several points and
 * resumed with --resume end as the uninterrupted run (the run folder and the closing line);
 * `dynacl run-status` names each stage; a run folder written by dynacl 0.1.0 resumes. The
 * in-process checks of every stopping point are in test_train.c. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dc_run_test.h"
#include "dc_test.h"

static char buf[1 << 16];

/* `dynacl <args>` started in the background, output discarded; args split at spaces. */
static pid_t spawn_cli(const char *args) {
    const char *bin = getenv("DC_DYNACL_BIN");
    ck_assert(bin);
    static char copy[4096];
    char *argv[64];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", args);
    argv[n++] = (char *)bin;
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t && n < 63; t = strtok_r(NULL, " ", &save)) argv[n++] = t;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF) n += c == '\n';
    if (f) fclose(f);
    return n;
}

/* The closing line "mean loss: first epoch ... -> last epoch ... (...)" of a run's output. */
static void closing_line(const char *out, char *line, size_t cap) {
    const char *s = strstr(out, "mean loss: first epoch");
    ck_assert_msg(s, "no closing line in:\n%s", out);
    snprintf(line, cap, "%.*s", (int)strcspn(s, "\n"), s);
}

/* dynacl pretrain killed with SIGKILL once its metrics.jsonl holds `lines` lines (0: as soon
 * as config.json exists, before any checkpoint), then resumed: the run folder ends as the
 * uninterrupted run's (metrics.jsonl but for wall times, checkpoints, model bytes, optimiser
 * state) and the closing line reports the same first and last epoch. run-status names the
 * stage in between. */
START_TEST(test_killed_runs_resume) {
    /* 10 steps per epoch, a checkpoint every 3 steps, a validation every epoch: 21 lines */
    const char *opts = "pretrain --epochs 2 --batch 16 --save-every 3 --valid-every 1 --log-every 2";
    char *dir = dc_test_tmpdir(), args[2048], ref[1100], run[1100], p[1300], want[256], got[256];
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(args, sizeof args, "%s --out %s", opts, ref);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    closing_line(buf, want, sizeof want);
    int total = count_lines(dc_run_path(ref, DC_RUN_METRICS, p, sizeof p));
    const int kill_after[] = {0, 2, 7, 13, 18};
    for (size_t k = 0; k < sizeof kill_after / sizeof kill_after[0] && kill_after[k] < total; k++) {
        snprintf(run, sizeof run, "%s/killed%d", dir, kill_after[k]);
        snprintf(args, sizeof args, "%s --out %s", opts, run);
        pid_t pid = spawn_cli(args);
        int status, exited = 0;
        for (int spin = 0; spin < 600000; spin++) { /* at most ~10 min */
            if (kill_after[k] == 0 ? access(dc_run_path(run, DC_RUN_CONFIG, p, sizeof p), F_OK) == 0
                                   : count_lines(dc_run_path(run, DC_RUN_METRICS, p, sizeof p)) >= kill_after[k])
                break;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            usleep(1000);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            ck_assert(waitpid(pid, &status, 0) == pid);
        }
        ck_assert_msg(!exited || (WIFEXITED(status) && WEXITSTATUS(status) == 0), "the run to kill failed on its own");
        snprintf(args, sizeof args, "run-status %s", run);
        ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
        ck_assert_msg(!strncmp(buf, "started:", 8) || !strncmp(buf, "resumable:", 10) || !strncmp(buf, "complete:", 9), "%s", buf);
        snprintf(args, sizeof args, "pretrain --resume %s", run);
        ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
        closing_line(buf, got, sizeof got);
        ck_assert_msg(!strcmp(want, got), "killed after %d lines: '%s' vs '%s'", kill_after[k], got, want);
        dc_rt_assert_same_run(ref, run);
        snprintf(args, sizeof args, "run-status %s", run);
        ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
        ck_assert_msg(!strncmp(buf, "complete: step 20, epoch 2 of 2", 31), "%s", buf);
    }
    /* the stages by hand: no run, a run with only its config, --json */
    snprintf(args, sizeof args, "run-status %s/none", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(!strncmp(buf, "none:", 5), "%s", buf);
    snprintf(args, sizeof args, "run-status --json %s", ref);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "\"stage\":\t\"complete\"") && strstr(buf, "\"step\":\t20") && strstr(buf, "step_00000020"), "%s", buf);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* A run folder written by dynacl 0.1.0 (its config.json holds every method's keys: tests/fixtures)
 * and stopped before its first checkpoint resumes, and its config.json stays as it was. */
START_TEST(test_resume_old_run_folder) {
    const char *src = getenv("DC_SOURCE_DIR");
    ck_assert(src);
    char *dir = dc_test_tmpdir(), args[9000], p[1300], fx[4200];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/config-0.1.0-ts2vec.json", src);
    snprintf(p, sizeof p, "%s/old", dir);
    ck_assert(mkdir(p, 0755) == 0);
    snprintf(args, sizeof args, "cp %s %s/old/config.json", fx, dir);
    ck_assert(system(args) == 0);
    snprintf(args, sizeof args, "run-status %s/old", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(!strncmp(buf, "started:", 8), "%s", buf);
    snprintf(args, sizeof args, "pretrain --resume %s/old", dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "model: ts2vec, protocol authors") && strstr(buf, "2 epochs, batch 4, lr 0.01"), "%s", buf);
    size_t la, lb;
    char *a = dc_rt_read_file(fx, &la);
    snprintf(p, sizeof p, "%s/old/config.json", dir);
    char *b = dc_rt_read_file(p, &lb);
    ck_assert(a && b && la == lb && !memcmp(a, b, la));
    free(a);
    free(b);
    snprintf(p, sizeof p, "%s/old", dir);
    ck_assert(dc_run_is_complete(p));
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli_resume");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_killed_runs_resume);
    tcase_add_test(tc, test_resume_old_run_folder);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
