/* dc_test.c: helpers shared by the Check suites. */
#define _GNU_SOURCE
#include "dc_test.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int g_skipped, g_required_missing;

int dc_test_have_data(const char *sub, const char *what) {
    char path[4096];
    struct stat sb;
    dc_test_data_path(path, sizeof path, sub);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return 1;
    const char *req = getenv("DC_REQUIRE_DATA");
    int required = req && *req && strcmp(req, "0") != 0;
    printf("%s: %s skipped: the genuine data folder %s is missing (set DC_SHARED_DATA to the folder that holds "
           "%s/)%s\n",
           program_invocation_short_name, what, path, sub,
           required ? "; DC_REQUIRE_DATA is set, so this is a failure" : "");
    fflush(stdout);
    if (required) g_required_missing++;
    else g_skipped++;
    return 0;
}

int dc_test_exit(int n_failed) {
    if (n_failed || g_required_missing) return 1;
    return g_skipped ? 77 : 0;
}

int dc_test_count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot read folder %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
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
