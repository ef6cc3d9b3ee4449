/* test_report.c: the report tables: cell formatting (mean +- population std), the paper's
 * numbers alongside, protocol in the titles, reading run folders (best J from metrics.jsonl,
 * wall time, linear_eval.json with per-seed rounding), protocol mismatches, CSV layout; and
 * the CLI chain cluster -> tsne -> figure -> report on small embeddings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc.h"
#include "dc/dc_npy.h"
#include "dc_test.h"
#include "eval/dc_eval.h"
#include "report.h"

static void write_file(const char *dir, const char *name, const char *text) {
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot write %s", p);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_cells_and_paper) {
    dc_report_series s = {0};
    char buf[64];
    ck_assert_str_eq(dc_report_cell(&s, 2, buf, sizeof buf), "–");
    dc_report_series_add(&s, 1.0);
    dc_report_series_add(&s, 1.2); /* mean 1.1, population std 0.1 */
    ck_assert_str_eq(dc_report_cell(&s, 2, buf, sizeof buf), "1.10±0.10");
    double m, sd;
    ck_assert(dc_report_paper_value(2, "dynacl-m", "harth", "ss", &m, &sd));
    ck_assert(m == 0.95 && sd == 0.01);
    ck_assert(dc_report_paper_value(3, "dynacl", "ecg", "acc", &m, &sd));
    ck_assert(m == 58.74 && sd == 0.62);
    ck_assert(dc_report_paper_value(3, "random", "sleepeeg", "rec", &m, &sd));
    ck_assert(m == 0.26 && sd == 0.00);
    ck_assert(dc_report_paper_value(5, "ts2vec", "harth", "time", &m, NULL) && m == 13900);
    ck_assert(!dc_report_paper_value(2, "dynacl", "synthetic", "dbi", &m, &sd));
    ck_assert(!dc_report_paper_value(2, "mpxent-margin", "ecg", "dbi", &m, &sd)); /* "–" in the paper */
}
END_TEST

START_TEST(test_markdown_layout) {
    dc_report r = {0};
    dc_report_entry *e = dc_report_entry_get(&r, "dynacl", "ecg");
    dc_report_series_add(&e->dbi, 1.0), dc_report_series_add(&e->dbi, 1.2);
    dc_report_series_add(&e->ss, 0.5), dc_report_series_add(&e->ss, 0.7);
    dc_report_series_add(&e->acc, 58.0), dc_report_series_add(&e->acc, 60.0);
    dc_report_series_add(&e->f1, 0.5), dc_report_series_add(&e->f1, 0.6);
    dc_report_series_add(&e->prec, 0.3), dc_report_series_add(&e->prec, 0.3);
    dc_report_series_add(&e->rec, 0.2), dc_report_series_add(&e->rec, 0.4);
    dc_report_series_add(&e->pretrain_s, 100), dc_report_series_add(&e->pretrain_s, 300);
    e = dc_report_entry_get(&r, "random", "ecg");
    dc_report_series_add(&e->acc, 55.0);
    ck_assert_ptr_eq(dc_report_entry_get(&r, "dynacl", "ecg"), &r.e[0]);
    char *md = dc_report_markdown(&r);
    ck_assert_ptr_nonnull(md);
    ck_assert_msg(strstr(md, "Table 2 (protocol: authors)") && strstr(md, "Table 3 (protocol: authors)") &&
                      strstr(md, "Table 5 (protocol: authors)"),
                  "%s", md);
    ck_assert_msg(strstr(md, "| model | ECG DBI | ECG DBI (paper) | ECG SS | ECG SS (paper) | seeds |"), "%s", md);
    ck_assert_msg(strstr(md, "| DynaCL | 1.10±0.10 | 0.98±0.23 | 0.60±0.10 | 0.63±0.13 | 2 |"), "%s", md);
    ck_assert_msg(strstr(md, "| DynaCL | 59.00±1.00 | 58.74±0.62 | 0.55±0.05 | 0.56±0.01 | 0.30±0.00 | 0.32±0.00 | "
                             "0.30±0.10 | 0.30±0.00 | 2 |"),
                  "%s", md);
    ck_assert_msg(strstr(md, "| Random Init. | 55.00±0.00 | 55.01±0.00 | – | 0.51±0.00 |"), "%s", md);
    ck_assert_msg(strstr(md, "| DynaCL | 200±100 | 1900 | 2 |"), "%s", md);
    /* Random Init. has no clustering values: no row in Table 2, Random Init. first in Table 3 */
    char *t2 = strstr(md, "Table 2"), *t3 = strstr(md, "Table 3");
    char *ri = strstr(md, "Random Init.");
    ck_assert(ri > t3 && t2 < t3);
    ck_assert(strstr(t3, "Random Init.") < strstr(t3, "| DynaCL |"));
    free(md);
    char *csv = dc_report_csv(&r, 2);
    ck_assert_msg(strstr(csv, "protocol,model,ecg_DBI_mean,ecg_DBI_std,ecg_DBI_n,ecg_DBI_paper_mean,ecg_DBI_paper_std,"),
                  "%s", csv);
    ck_assert_msg(strstr(csv, "\nauthors,dynacl,1.1,0.1,2,0.98,0.23,0.6,0.1,2,0.63,0.13\n"), "%s", csv);
    free(csv);
    ck_assert_ptr_null(dc_report_csv(&r, 4));
    /* corrected: the titles say so and Table 3 has macro and weighted columns */
    r.protocol = DC_PROTOCOL_CORRECTED;
    md = dc_report_markdown(&r);
    ck_assert(strstr(md, "Table 3 (protocol: corrected)") && strstr(md, "F1 macro") && strstr(md, "P weighted") &&
              strstr(md, "DBI (truth)"));
    free(md);
    dc_report_free(&r);
}
END_TEST

START_TEST(test_run_folders) {
    char *dir = dc_test_tmpdir(), run[4200], f[4200];
    snprintf(run, sizeof run, "%s/run42", dir);
    mkdir(run, 0755);
    write_file(run, "config.json", "{\"model\": \"dynacl\", \"dataset\": \"ecg\", \"protocol\": \"authors\", \"seed\": 42}\n");
    write_file(run, "metrics.jsonl",
               "{\"step\": 10, \"epoch\": 1, \"loss\": 5.0, \"wall_s\": 1.5}\n"
               "{\"event\": \"validation\", \"epoch\": 5, \"wall_s\": 9.0, \"dbi\": 2.0, \"ch\": 10, \"ss\": 0.1, \"j\": 1.0}\n"
               "{\"event\": \"validation\", \"epoch\": 10, \"wall_s\": 20.0, \"dbi\": 0.8, \"ch\": 30, \"ss\": 0.6, \"j\": 2.5}\n"
               "{\"event\": \"validation\", \"epoch\": 15, \"wall_s\": 31.0, \"dbi\": 0.9, \"ch\": 20, \"ss\": 0.5, \"j\": 2.5}\n"
               "{\"event\": \"checkpoint\", \"step\": 60}\n");
    write_file(run, "linear_eval.json",
               "{\"kind\": \"linear_eval\", \"method\": \"dynacl\", \"dataset\": \"ecg\", \"protocol\": \"authors\", \"runs\": ["
               "{\"seed\": 42, \"accuracy\": 58.744, \"f1_weighted\": 0.556, \"precision_macro\": 0.3, \"recall_macro\": 0.3},"
               "{\"seed\": 53, \"accuracy\": 59.256, \"f1_weighted\": 0.564, \"precision_macro\": 0.3, \"recall_macro\": 0.3}]}");
    dc_report r = {0};
    ck_assert_msg(dc_report_add_path(&r, run) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(r.n, 1);
    const dc_report_entry *e = &r.e[0];
    /* best J: the first of the two maxima (epoch 10), as the authors keep it */
    ck_assert_int_eq(e->dbi.n, 1);
    ck_assert(e->dbi.v[0] == 0.8 && e->ss.v[0] == 0.6);
    ck_assert_int_eq(e->pretrain_s.n, 1);
    ck_assert(e->pretrain_s.v[0] == 31.0);
    /* per-seed rounding: 58.744 -> 58.74, 59.256 -> 59.26; 0.556 -> 0.56 */
    ck_assert_int_eq(e->acc.n, 2);
    ck_assert(fabs(e->acc.v[0] - 58.74) < 1e-12 && fabs(e->acc.v[1] - 59.26) < 1e-12);
    ck_assert(fabs(e->f1.v[0] - 0.56) < 1e-12);
    /* a cluster.json on its own; the folder of a run without metrics uses its cluster.json */
    snprintf(f, sizeof f, "%s/random", dir);
    mkdir(f, 0755);
    write_file(f, "cluster.json",
               "{\"kind\": \"cluster\", \"method\": \"random\", \"dataset\": \"ecg\", \"protocol\": \"authors\", "
               "\"kmeans\": {\"dbi\": 1.5, \"ch\": 3, \"ss\": 0.2, \"j\": 1}}");
    ck_assert_int_eq(dc_report_add_path(&r, f), DC_OK);
    ck_assert_int_eq(r.n, 2);
    ck_assert(r.e[1].dbi.n == 1 && r.e[1].dbi.v[0] == 1.5);
    /* another protocol is refused; unknown paths and empty folders are errors */
    snprintf(f, sizeof f, "%s/corr", dir);
    mkdir(f, 0755);
    write_file(f, "config.json", "{\"model\": \"dynacl\", \"dataset\": \"ecg\", \"protocol\": \"corrected\"}\n");
    ck_assert_int_eq(dc_report_add_path(&r, f), DC_ERR_STATE);
    ck_assert_msg(strstr(dc_last_error(), "protocol corrected"), "%s", dc_last_error());
    ck_assert_int_eq(dc_report_add_path(&r, "/nonexistent/run"), DC_ERR_IO);
    snprintf(f, sizeof f, "%s/empty", dir);
    mkdir(f, 0755);
    ck_assert_int_eq(dc_report_add_path(&r, f), DC_ERR_FORMAT);
    dc_report_free(&r);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_chain) {
    static char buf[1 << 16];
    char *dir = dc_test_tmpdir(), z[1100], y[1100], args[8192];
    enum { n = 150, d = 6 };
    float Z[n * d];
    int32_t lab[n], one[n];
    dc_rng rng = dc_rng_init(9);
    for (int i = 0; i < n; i++) {
        lab[i] = i % 3, one[i] = 0;
        for (int j = 0; j < d; j++) Z[i * d + j] = (float)((j == lab[i] ? 8.0 : 0.0) + dc_rng_normal(&rng));
    }
    snprintf(z, sizeof z, "%s/z.npy", dir);
    snprintf(y, sizeof y, "%s/y.npy", dir);
    ck_assert_int_eq(dc_npy_write(z, DC_NPY_F32, 2, (int64_t[]){n, d}, Z), DC_OK);
    ck_assert_int_eq(dc_npy_write(y, DC_NPY_I32, 1, (int64_t[]){n}, lab), DC_OK);
    snprintf(args, sizeof args, "cluster --embeddings %s --labels %s --protocol corrected --method dynacl --out %s/c.json", z, y, dir);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == 0, "%s", buf);
    ck_assert_msg(strstr(buf, "k-means labels") && strstr(buf, "ground-truth classes"), "%s", buf);
    snprintf(args, sizeof args, "tsne --embeddings %s --labels %s --method dynacl --dataset ecg --iters 300 --out %s/t.png", z,
             y, dir);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == (DC_HAVE_FIGURES ? 0 : 1), "%s", buf);
    snprintf(args, sizeof args, "figure --out %s/f.png %s/t.csv", dir, dir);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == (DC_HAVE_FIGURES ? 0 : 1), "%s", buf);
    if (DC_HAVE_FIGURES) ck_assert_msg(strstr(buf, "1 method x 1 dataset"), "%s", buf);
    else ck_assert_msg(strstr(buf, "built without cairo"), "%s", buf); /* DC_FIGURES off: the figures say how to get them */
    snprintf(args, sizeof args, "report %s/c.json --out %s/rep", dir, dir);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == 0, "%s", buf);
    ck_assert_msg(strstr(buf, "Table 2 (protocol: corrected)") && strstr(buf, "DBI (truth)"), "%s", buf);
    struct stat sb;
    snprintf(args, sizeof args, "%s/rep/table3.csv", dir);
    ck_assert(stat(args, &sb) == 0);
    /* a single class is a clear error */
    ck_assert_int_eq(dc_npy_write(y, DC_NPY_I32, 1, (int64_t[]){n}, one), DC_OK);
    snprintf(args, sizeof args, "cluster --embeddings %s --labels %s", z, y);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "a single class"), "%s", buf);
    ck_assert_int_eq(dc_test_run_cli("report", buf, sizeof buf), 2);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cells_and_paper);
    tcase_add_test(tc, test_markdown_layout);
    tcase_add_test(tc, test_run_folders);
    tcase_add_test(tc, test_cli_chain);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
