/* dc_test.h: small helpers shared by the Check suites (not part of the library). */
#ifndef DC_TEST_H
#define DC_TEST_H
#include <check.h>
#include <stdio.h>

/* Directory of the genuine dataset excerpts (../shared/data), from DC_SHARED_DATA. */
const char *dc_test_data_dir(void);
/* Join the data dir and a relative path into a static-per-call buffer owned by caller. */
void dc_test_data_path(char *buf, size_t cap, const char *rel);
/* A fresh empty temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees with dc_test_rmtree. */
char *dc_test_tmpdir(void);
void dc_test_rmtree(const char *path);
/* Number of entries of folder dir whose name starts with prefix (a failed check if dir cannot be read). */
int dc_test_count_prefixed(const char *dir, const char *prefix);
/* Run the dynacl program (DC_DYNACL_BIN, set by ctest) with args, capturing stdout and
 * stderr into out; returns its exit status (-1 if it did not exit normally). */
int dc_test_run_cli(const char *args, char *out, size_t cap);
/* Run a suite with the usual runner settings (each test in a fork); returns the number of
 * failures. */
int dc_test_run_suite(Suite *s);
/* The same without forking: for suites whose process already holds a device (CUDA, OpenCL
 * contexts do not survive a fork). */
int dc_test_run_suite_nofork(Suite *s);

/* Cases that need the genuine data: 1 if folder `sub` of dc_test_data_dir() (e.g. "mitdb")
 * is there. Else prints "<prog>: <what> skipped: <folder> is missing" and returns 0, so the
 * caller leaves those cases out; with DC_REQUIRE_DATA=1 in the environment (CI sets it) the
 * line says so and the run fails instead of skipping. */
int dc_test_have_data(const char *sub, const char *what);
/* main's exit status from the number of failed checks: 1 on a failure or on data that
 * DC_REQUIRE_DATA required, else 77 (ctest's SKIP_RETURN_CODE) if dc_test_have_data left
 * cases out, else 0. */
int dc_test_exit(int n_failed);

#endif
