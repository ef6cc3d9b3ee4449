/* dc_test.c: helpers shared by the Check suites. */
#define _GNU_SOURCE
#include "dc_test.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *dc_test_data_dir(void) {
    const char *d = getenv("DC_SHARED_DATA");
    return (d && *d) ? d : "../shared/data";
}

void dc_test_data_path(char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", dc_test_data_dir(), rel);
}

char *dc_test_tmpdir(void) {
    const char *t = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/dctest.XXXXXX", (t && *t) ? t : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void dc_test_rmtree(const char *path) {
    if (path) nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int run_suite(Suite *s, int fork) {
    SRunner *sr = srunner_create(s);
    if (!fork) srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf;
}

int dc_test_run_suite(Suite *s) { return run_suite(s, 1); }

int dc_test_run_suite_nofork(Suite *s) { return run_suite(s, 0); }

int dc_test_run_cli(const char *args, char *out, size_t cap) {
    const char *bin = getenv("DC_DYNACL_BIN");
    ck_assert_msg(bin && *bin, "DC_DYNACL_BIN is not set (run through ctest)");
    size_t len = strlen(bin) + strlen(args) + 16;
    char *cmd = malloc(len);
    ck_assert(cmd);
    snprintf(cmd, len, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    free(cmd);
    ck_assert(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
