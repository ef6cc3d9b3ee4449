/* test_cluster_metrics.c: silhouette, Davies-Bouldin and Calinski-Harabasz on small point sets
 * with values worked out by hand (including a singleton cluster, which scikit-learn scores 0),
 * label encoding, the failure rules (< 2 labels -> all zero, as the authors' code), J, the
 * GEMM silhouette against a direct O(n^2) sum and the balanced-subset hook. Its speed (12,000 x 32)
 * is a benchmark, tools/bench_eval.sh, not a unit test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "eval/dc_eval.h"
#include "train/dc_train.h"

#define CLOSE(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-9, "%s = %.15g, expected %.15g", #a, (double)(a), (double)(b))

/* Two pairs on a line, {0, 1 | 4, 5}:
 *   silhouette: a = 1 for every point; b = 4.5 for 0 and 5, 3.5 for 1 and 4;
 *               s = 3.5/4.5 = 7/9 (outer) and 2.5/3.5 = 5/7 (inner); mean (7/9 + 5/7)/2 = 47/63
 *   DBI: centroids 0.5, 4.5; scatter 0.5 each; (0.5 + 0.5)/4 = 0.25 for both -> 0.25
 *   CH: mean 2.5; between 2*2^2 + 2*2^2 = 16; within 4*0.25 = 1; 16 (4-2) / (1 (2-1)) = 32 */
START_TEST(test_two_pairs) {
    const float X[4] = {0, 1, 4, 5};
    const int32_t y[4] = {0, 0, 1, 1}, y_odd[4] = {7, 7, -3, -3};
    double ss, dbi, ch, per[4];
    ck_assert_int_eq(dc_silhouette(NULL, X, 4, 1, y, &ss, per), DC_OK);
    CLOSE(ss, 47.0 / 63.0);
    CLOSE(per[0], 7.0 / 9.0);
    CLOSE(per[1], 5.0 / 7.0);
    ck_assert_int_eq(dc_davies_bouldin(X, 4, 1, y, &dbi), DC_OK);
    CLOSE(dbi, 0.25);
    ck_assert_int_eq(dc_calinski_harabasz(X, 4, 1, y, &ch), DC_OK);
    CLOSE(ch, 32.0);
    /* any label values: they are encoded first */
    ck_assert_int_eq(dc_silhouette(NULL, X, 4, 1, y_odd, &ss, NULL), DC_OK);
    CLOSE(ss, 47.0 / 63.0);
    ck_assert_int_eq(dc_davies_bouldin(X, 4, 1, y_odd, &dbi), DC_OK);
    CLOSE(dbi, 0.25);
    /* J = 0.33 (1/DBI + ln(CH + 1) + (SS + 1)/2) */
    dc_cluster_scores s;
    ck_assert_int_eq(dc_cluster_scores_compute(NULL, X, 4, 1, y, &s), DC_OK);
    ck_assert_int_eq(s.ok, 1);
    CLOSE(s.j, 0.33 * (4.0 + log(33.0) + 0.5 * (47.0 / 63.0 + 1.0)));
    CLOSE(dc_joint_score(0.25, 32.0, 47.0 / 63.0), s.j);
}
END_TEST

/* {0, 1, 2 | 10}: the singleton scores 0 (sklearn).
 *   silhouette: 0 -> a 1.5, b 10: 0.85; 1 -> a 1, b 9: 8/9; 2 -> a 1.5, b 8: 0.8125; 10 -> 0;
 *               mean (0.85 + 8/9 + 0.8125 + 0)/4
 *   DBI: centroids 1 and 10, scatter 2/3 and 0; (2/3 + 0)/9 = 2/27 for both -> 2/27
 *   CH: mean 3.25; between 3 (2.25)^2 + (6.75)^2 = 60.75; within 2; 60.75 (4-2)/(2 (2-1)) = 60.75 */
START_TEST(test_singleton) {
    const float X[8] = {0, 0, 1, 0, 2, 0, 10, 0}; /* on the x axis of 2-D */
    const int32_t y[4] = {0, 0, 0, 1};
    double ss, dbi, ch, per[4];
    ck_assert_int_eq(dc_silhouette(NULL, X, 4, 2, y, &ss, per), DC_OK);
    CLOSE(per[3], 0.0);
    CLOSE(per[1], 8.0 / 9.0);
    CLOSE(ss, (0.85 + 8.0 / 9.0 + 0.8125) / 4.0);
    ck_assert_int_eq(dc_davies_bouldin(X, 4, 2, y, &dbi), DC_OK);
    CLOSE(dbi, 2.0 / 27.0);
    ck_assert_int_eq(dc_calinski_harabasz(X, 4, 2, y, &ch), DC_OK);
    CLOSE(ch, 60.75);
}
END_TEST

/* Both points of each cluster coincide: a = 0, b > 0 gives silhouette 1; DBI's scatter is all
 * zero, so sklearn returns 0.0, and the authors' 1/DBI fails: every score 0. CH's within
 * dispersion is 0: CH = 1 (sklearn). */
START_TEST(test_degenerate_and_failures) {
    const float X[4] = {0, 0, 5, 5};
    const int32_t y[4] = {0, 0, 1, 1}, one[4] = {2, 2, 2, 2}, all[4] = {0, 1, 2, 3};
    double ss, dbi, ch;
    ck_assert_int_eq(dc_silhouette(NULL, X, 4, 1, y, &ss, NULL), DC_OK);
    CLOSE(ss, 1.0);
    ck_assert_int_eq(dc_davies_bouldin(X, 4, 1, y, &dbi), DC_OK);
    CLOSE(dbi, 0.0);
    ck_assert_int_eq(dc_calinski_harabasz(X, 4, 1, y, &ch), DC_OK);
    CLOSE(ch, 1.0);
    dc_cluster_scores s;
    ck_assert_int_eq(dc_cluster_scores_compute(NULL, X, 4, 1, y, &s), DC_OK);
    ck_assert_int_eq(s.ok, 0);
    ck_assert(s.dbi == 0 && s.ss == 0 && s.ch == 0 && s.j == 0);
    /* a single label, or as many labels as points: sklearn's ValueError */
    ck_assert_int_eq(dc_silhouette(NULL, X, 4, 1, one, &ss, NULL), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(dc_last_error(), "number of labels is 1"));
    ck_assert_int_eq(dc_davies_bouldin(X, 4, 1, all, &dbi), DC_ERR_ARG);
    ck_assert_int_eq(dc_calinski_harabasz(X, 4, 1, one, &ch), DC_ERR_ARG);
    ck_assert_int_eq(dc_cluster_scores_compute(NULL, X, 4, 1, one, &s), DC_OK); /* the authors' except: zeros */
    ck_assert_int_eq(s.ok, 0);
    ck_assert(s.j == 0);
    ck_assert_ptr_nonnull(strstr(s.reason, "number of labels"));
    const float bad[4] = {0, NAN, 5, 5};
    ck_assert_int_eq(dc_silhouette(NULL, bad, 4, 1, y, &ss, NULL), DC_ERR_NUMERIC);
    CLOSE(dc_joint_score(0.0, 5.0, 0.5), 0.0);
}
END_TEST

/* The silhouette from blocks of Gram matrices equals a direct double sum on 3 uneven
 * clusters in 7-D, offset far from the origin; 3001 points make two row blocks of Gram. */
static double silhouette_direct(const float *X, int n, int d, const int32_t *y, int k) {
    double tot = 0;
    for (int i = 0; i < n; i++) {
        double sum[8] = {0};
        int cnt[8] = {0};
        for (int j = 0; j < n; j++) {
            cnt[y[j]]++;
            if (j == i) continue;
            double q = 0;
            for (int t = 0; t < d; t++) q += ((double)X[i * d + t] - X[j * d + t]) * ((double)X[i * d + t] - X[j * d + t]);
            sum[y[j]] += sqrt(q);
        }
        if (cnt[y[i]] < 2) continue;
        double a = sum[y[i]] / (cnt[y[i]] - 1), b = INFINITY;
        for (int c = 0; c < k; c++)
            if (c != y[i] && cnt[c] && sum[c] / cnt[c] < b) b = sum[c] / cnt[c];
        tot += (b - a) / fmax(a, b);
    }
    return tot / n;
}

START_TEST(test_gemm_matches_direct) {
    const int n = 3001, d = 7;
    float *X = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n);
    dc_rng rng = dc_rng_init(11);
    for (int i = 0; i < n; i++) {
        y[i] = i % 7 == 0 ? 2 : i % 3 == 0 ? 1 : 0;
        for (int t = 0; t < d; t++) X[i * d + t] = (float)(3.0 * y[i] * (t == y[i]) + 100.0 + dc_rng_normal(&rng));
    }
    const char *kinds[2] = {"cpu", "cpu-ref"};
    double ref = silhouette_direct(X, n, d, y, 3);
    for (int b = 0; b < 2; b++) {
        dc_backend *be = dc_backend_new(kinds[b]);
        ck_assert_msg(be != NULL, "%s", dc_last_error());
        double ss;
        ck_assert_int_eq(dc_silhouette(be, X, n, d, y, &ss, NULL), DC_OK);
        ck_assert_msg(fabs(ss - ref) < 1e-9, "%s: silhouette %.12f, direct %.12f", kinds[b], ss, ref);
        dc_backend_free(be);
    }
    free(X);
    free(y);
}
END_TEST

/* docs/METHOD.md §7.2 on the synthetic dataset: the balanced subset, k-means + scores; the hook keeps
 * the best J and writes its members into the metrics line. */
START_TEST(test_evaluate_and_hook) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 4;
    so.minutes = 3;
    dc_dataset ds;
    ck_assert_msg(dc_dataset_synthetic(&so, &ds) == DC_OK, "%s", dc_last_error());
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "synthetic", "corrected");
    dc_model *m = dc_model_new(&cfg, be, ds.frames.D);
    ck_assert_ptr_nonnull(m);
    dc_cluster_hook h;
    ck_assert_int_eq(dc_cluster_hook_init(&h, &ds, 42, DC_PROTOCOL_CORRECTED), DC_OK);
    int64_t total = 0;
    for (int c = 0; c < ds.frames.n_classes; c++) total += ds.balanced_count[c];
    ck_assert_int_eq(h.n, total);
    char extra[2048] = "";
    ck_assert_int_eq(dc_cluster_on_validate(&h, m, be, 5, extra, sizeof extra), DC_OK);
    ck_assert_ptr_nonnull(strstr(extra, "\"dbi\": "));
    ck_assert_ptr_nonnull(strstr(extra, "\"best_j\": "));
    ck_assert_ptr_nonnull(strstr(extra, "\"ss_gt\": "));
    ck_assert_int_eq(h.best_epoch, 5);
    double j5 = h.best.j;
    ck_assert(h.last.kmeans.ok && j5 > 0);
    /* the same encoder again: J equal, not larger: the first maximum stays */
    extra[0] = '\0';
    ck_assert_int_eq(dc_cluster_on_validate(&h, m, be, 10, extra, sizeof extra), DC_OK);
    ck_assert_int_eq(h.best_epoch, 5);
    ck_assert(h.last.kmeans.j == j5);
    /* a buffer too small is an error, not a truncated line */
    char tiny[16] = "";
    ck_assert_int_eq(dc_cluster_on_validate(&h, m, be, 15, tiny, sizeof tiny), DC_ERR_ARG);
    dc_cluster_hook_free(&h);
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cluster_metrics");
    TCase *tc = tcase_create("hand");
    tcase_add_test(tc, test_two_pairs);
    tcase_add_test(tc, test_singleton);
    tcase_add_test(tc, test_degenerate_and_failures);
    tcase_add_test(tc, test_gemm_matches_direct);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("large");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, test_evaluate_and_hook);
    suite_add_tcase(s, tl);
    return dc_test_run_suite(s) ? 1 : 0;
}
