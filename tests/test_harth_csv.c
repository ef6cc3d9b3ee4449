/* test_harth_csv.c: HARTH CSV reader on CSV text generated here (no genuine HARTH file is
 * available: each subject's CSV is 10-20 MB). Expected floats are C float literals (rounded by
 * the compiler) or glibc strtof, both independent of the reader's own parser.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/dc_harth.h"
#include "dc_test.h"

static dc_harth *parse_ok(const char *csv) {
    dc_harth *h = NULL;
    ck_assert_msg(dc_harth_parse(csv, strlen(csv), "mem.csv", &h) == DC_OK, "%s", dc_last_error());
    return h;
}

static void expect_error(const char *csv, const char *needle) {
    dc_harth *h = (dc_harth *)1;
    ck_assert_int_eq(dc_harth_parse(csv, strlen(csv), "bad.csv", &h), DC_ERR_FORMAT);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(dc_last_error(), needle) != NULL, "message '%s' lacks '%s'", dc_last_error(), needle);
}

static void check_row(const dc_harth *h, int64_t i, const float *want, int cls) {
    for (int c = 0; c < 6; c++)
        ck_assert_msg(h->x[i * 6 + c] == want[c], "row %lld col %d: %.9g != %.9g", (long long)i, c, h->x[i * 6 + c],
                      want[c]);
    ck_assert_int_eq(h->y[i], cls);
}

/* pandas to_csv(index=True) style: unnamed index column, CRLF, NaN rows, blank line */
START_TEST(test_header_index_crlf_nan) {
    const char *csv =
        ",timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\r\n"
        "0,2019-01-12 00:00:00.000,-0.953613,0.046387,-0.265625,-1.004639,0.095215,0.130371,6\r\n"
        "1,2019-01-12 00:00:00.020,-0.952148,,-0.264648,-1.003174,0.094727,0.130859,6\r\n"
        "2,2019-01-12 00:00:00.040,-0.950684,0.047852,-0.263184,-1.001709,0.09375,0.131348,nan\r\n"
        "\r\n"
        "3,2019-01-12 00:00:00.060,1,-2.5,3e-2,+.5,5.,-0,1\r\n"
        "4,,1,1,1,1,1,1,1\r\n"
        "5,2019-01-12 00:00:00.100,NaN,1,1,1,1,1,140\r\n"
        "6,2019-01-12 00:00:00.120, 0.25 ,\"0.5\",1,1,1,1,13";
    dc_harth *h = parse_ok(csv);
    ck_assert_int_eq(h->n, 3);
    ck_assert_int_eq(h->n_dropped, 4); /* empty back_y, NaN label, empty timestamp, NaN back_x */
    const float r0[6] = {-0.953613f, 0.046387f, -0.265625f, -1.004639f, 0.095215f, 0.130371f};
    const float r1[6] = {1.0f, -2.5f, 0.03f, 0.5f, 5.0f, -0.0f};
    const float r2[6] = {0.25f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f};
    check_row(h, 0, r0, 5); /* 6 standing -> 5 */
    check_row(h, 1, r1, 0); /* 1 walking -> 0 */
    ck_assert(signbit(h->x[1 * 6 + 5]));
    check_row(h, 2, r2, 8); /* 13 cycling (sit) -> 8; no final newline */
    dc_harth_free(h);
    dc_harth_free(NULL);
}
END_TEST

/* columns located by name, in any order, with an "Unnamed: 0" index */
START_TEST(test_header_reordered) {
    const char *csv =
        "Unnamed: 0,label,thigh_z,thigh_y,thigh_x,back_z,back_y,back_x,timestamp\n"
        "17,7,6,5,4,3,2,1,2019-01-12 00:00:00.000\n";
    dc_harth *h = parse_ok(csv);
    ck_assert_int_eq(h->n, 1);
    const float r[6] = {1, 2, 3, 4, 5, 6};
    check_row(h, 0, r, 6); /* 7 sitting -> 6 */
    dc_harth_free(h);
}
END_TEST

START_TEST(test_no_header) {
    /* 8 columns: timestamp first */
    dc_harth *h = parse_ok("2019-01-12 00:00:00.000,0.1,0.2,0.3,0.4,0.5,0.6,8\n"
                           "2019-01-12 00:00:00.020,-0.1,-0.2,-0.3,-0.4,-0.5,-0.6,14\n");
    ck_assert_int_eq(h->n, 2);
    const float a[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, b[6] = {-0.1f, -0.2f, -0.3f, -0.4f, -0.5f, -0.6f};
    check_row(h, 0, a, 7);
    check_row(h, 1, b, 9);
    dc_harth_free(h);
    /* 9 columns: numeric index first; CRLF */
    h = parse_ok("0,2019-01-12 00:00:00.000,0.1,0.2,0.3,0.4,0.5,0.6,130\r\n"
                 "1,2019-01-12 00:00:00.020,-0.1,-0.2,-0.3,-0.4,-0.5,-0.6,2\r\n");
    ck_assert_int_eq(h->n, 2);
    check_row(h, 0, a, 10);
    check_row(h, 1, b, 1);
    dc_harth_free(h);
}
END_TEST

START_TEST(test_label_map) {
    const int codes[12] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 130, 140};
    char csv[2048];
    size_t o = (size_t)snprintf(csv, sizeof csv, "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n");
    for (int k = 0; k < 12; k++)
        o += (size_t)snprintf(csv + o, sizeof csv - o, "t,%d,0,0,0,0,0,%d%s\n", k, codes[k], k == 3 ? ".0" : "");
    dc_harth *h = parse_ok(csv);
    ck_assert_int_eq(h->n, 12);
    for (int k = 0; k < 12; k++) {
        ck_assert_int_eq(h->y[k], k); /* docs/METHOD.md §1.1: class k for the k-th code */
        ck_assert_float_eq(h->x[k * 6], (float)k);
        ck_assert_int_eq(dc_harth_label_class(codes[k]), k);
    }
    ck_assert_int_eq(dc_harth_label_class(0), -1);
    ck_assert_int_eq(dc_harth_label_class(9), -1);
    ck_assert_int_eq(dc_harth_label_class(131), -1);
    dc_harth_free(h);
}
END_TEST

START_TEST(test_bad_input) {
    const char *hdr = "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n";
    char csv[1024];
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,6,1\nt,1,2,3,4,5,6\n", hdr);
    expect_error(csv, "bad.csv:3: expected 8 columns, found 7");
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,6,1\r\nt,1,2,3,4,5,6,1,9\r\n", hdr);
    expect_error(csv, "bad.csv:3: expected 8 columns, found 9");
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,6,1\n\nt,1,2,abc,4,5,6,1\n", hdr);
    expect_error(csv, "bad.csv:4: column back_z: non-numeric value 'abc'");
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,1.5.2,1\n", hdr);
    expect_error(csv, "bad.csv:2: column thigh_z: non-numeric value '1.5.2'");
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,6,9\n", hdr);
    expect_error(csv, "bad.csv:2: unknown label 9");
    snprintf(csv, sizeof csv, "%st,1,2,3,4,5,6,1.5\n", hdr);
    expect_error(csv, "bad.csv:2: column label: non-integer value '1.5'");
    expect_error("timestamp,back_x,back_y,back_z,thigh_x,thigh_y,label\nt,1,2,3,4,5,1\n",
                 "bad.csv:1: header lacks column 'thigh_z'");
    expect_error("timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z\n", "bad.csv:1: header lacks column 'label'");
    expect_error("1,2,3,4,5\n", "bad.csv:1: without a header row, expected 7, 8 or 9 columns, found 5");
    expect_error("", "bad.csv: no data");
    expect_error("\r\n\r\n", "bad.csv: no data");
    const char nul[] = "t,1,2,3,4,5,6,1\nt,1,2\0,3,4,5,6,1\n";
    dc_harth *h = (dc_harth *)1;
    ck_assert_int_eq(dc_harth_parse(nul, sizeof nul - 1, "nul.csv", &h), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "nul.csv:2: NUL byte") != NULL, "%s", dc_last_error());
}
END_TEST

START_TEST(test_file_on_disk) {
    char *dir = dc_test_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/S999.csv", dir);
    FILE *f = fopen(path, "wb");
    fputs("\xEF\xBB\xBFtimestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\r\n", f);
    for (int i = 0; i < 1000; i++) fprintf(f, "2019-01-12 00:00:%02d.%03d,%d.5,-1,0,0,0,0,3\r\n", i / 50, i % 50 * 20, i);
    fputs("2019-01-12 00:00:20.000,1,2,3,4,5,6,99\r\n", f);
    fclose(f);
    dc_harth *h = (dc_harth *)1;
    ck_assert_int_eq(dc_harth_read(path, &h), DC_ERR_FORMAT);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(dc_last_error(), "S999.csv:1002: unknown label 99") != NULL, "%s", dc_last_error());
    /* the same file without the bad last row */
    f = fopen(path, "wb");
    fputs("timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\r\n", f);
    for (int i = 0; i < 1000; i++) fprintf(f, "2019-01-12 00:00:%02d.%03d,%d.5,-1,0,0,0,0,3\r\n", i / 50, i % 50 * 20, i);
    fclose(f);
    ck_assert_msg(dc_harth_read(path, &h) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(h->n, 1000);
    int bad = 0;
    for (int i = 0; i < 1000; i++) bad += h->x[i * 6] != (float)i + 0.5f || h->x[i * 6 + 1] != -1.0f || h->y[i] != 2;
    ck_assert_int_eq(bad, 0);
    dc_harth_free(h);
    ck_assert_int_eq(dc_harth_read("/nonexistent/S000.csv", &h), DC_ERR_IO);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* The hand-written parser against glibc strtof (correctly rounded) on many decimal
 * strings in HARTH's style (g units, 1-9 decimals) plus long and exponent forms. */
START_TEST(test_float_parser) {
    static const char *const valid[] = {"0", "-0", "+1", ".5", "5.", "1e3", "1E-3", "-2.5e+2", "0.000000000001234",
                                        "16777217", "123456789012345678901234567890", "3.4028235e38",
                                        "1.17549435e-38", "1e-45", "0.1", "-0.953613", "8.000000000000000001"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        float f;
        ck_assert_msg(dc_harth_parse_f32(valid[i], strlen(valid[i]), &f), "%s rejected", valid[i]);
        float want = strtof(valid[i], NULL);
        ck_assert_msg(memcmp(&f, &want, sizeof f) == 0, "%s: %.9g != %.9g", valid[i], f, want);
    }
    static const char *const invalid[] = {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", " 1", "1 ", "nan",
                                          "inf", "0x10", "--1", "1-"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        float f;
        ck_assert_msg(!dc_harth_parse_f32(invalid[i], strlen(invalid[i]), &f), "'%s' accepted", invalid[i]);
    }
    uint64_t st = 0x9E3779B97F4A7C15ull;
    int mismatches = 0;
    char buf[64];
    for (int k = 0; k < 2000000; k++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        int dec = 1 + (int)(st % 9), ip = (int)((st >> 8) % 17) - 8;
        uint64_t frac = (st >> 16) % 1000000000ull;
        int n = snprintf(buf, sizeof buf, "%s%d.%0*llu", ip < 0 ? "-" : "", abs(ip), dec,
                         (unsigned long long)(frac % (uint64_t)pow(10, dec)));
        if (k % 7 == 0) n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", (int)((st >> 40) % 21) - 10);
        float f, want = strtof(buf, NULL);
        if (!dc_harth_parse_f32(buf, (size_t)n, &f) || memcmp(&f, &want, sizeof f)) {
            if (mismatches++ < 5) fprintf(stderr, "mismatch: %s -> %.9g, strtof %.9g\n", buf, f, want);
        }
    }
    ck_assert_int_eq(mismatches, 0);
}
END_TEST

/* Speed: a subject-sized file (300,000 rows, ~20 MB) must parse well under a second
 * (all of HARTH, 6.5 M rows, has to fit in a few seconds). Generous bound for slow CI. */
START_TEST(test_speed) {
    const int rows = 300000;
    size_t cap = (size_t)rows * 128 + 128, o = 0; /* rows are ~85 bytes */
    char *csv = malloc(cap);
    o += (size_t)snprintf(csv, cap, "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n");
    for (int i = 0; i < rows; i++)
        o += (size_t)snprintf(csv + o, cap - o, "2019-01-12 00:%02d:%02d.%03d,-0.%06d,0.%06d,-0.265625,-1.004639,0.095215,0.130371,%d\n",
                              i / 3000 % 60, i / 50 % 60, i % 50 * 20, i % 1000000, (i * 7) % 1000000, 1 + i % 8);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dc_harth *h = NULL;
    ck_assert_int_eq(dc_harth_parse(csv, o, "speed.csv", &h), DC_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    fprintf(stderr, "harth: %d rows, %.1f MB in %.3f s (%.0f MB/s)\n", rows, o / 1e6, s, o / 1e6 / s);
    ck_assert_int_eq(h->n, rows);
    ck_assert_float_eq(h->x[6 * 12345], -0.012345f);
    ck_assert_double_lt(s, 2.0);
    dc_harth_free(h);
    free(csv);
}
END_TEST

static Suite *harth_suite(void) {
    Suite *s = suite_create("harth_csv");
    TCase *tc = tcase_create("csv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_header_index_crlf_nan);
    tcase_add_test(tc, test_header_reordered);
    tcase_add_test(tc, test_no_header);
    tcase_add_test(tc, test_label_map);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_file_on_disk);
    tcase_add_test(tc, test_float_parser);
    tcase_add_test(tc, test_speed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return dc_test_run_suite(harth_suite()) ? 1 : 0; }
