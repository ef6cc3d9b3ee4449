/* test_kmeans.c: k-means recovers well-separated blobs, reaches the hand-computed optimum of
 * a tiny 1-D set, is deterministic per seed, handles coincident points like scikit-learn
 * (fewer distinct clusters than k) and rejects bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "eval/dc_eval.h"

START_TEST(test_tiny_optimum) {
    /* {0, 1, 10, 11}, k = 2: centres 0.5 and 10.5, inertia 4 x 0.25 = 1 */
    const float X[4] = {0, 1, 10, 11};
    int32_t lab[4];
    double C[2];
    dc_kmeans_opts o = dc_kmeans_opts_default(2);
    dc_kmeans_result r;
    ck_assert_int_eq(dc_kmeans(X, 4, 1, &o, lab, C, &r), DC_OK);
    ck_assert_int_eq(lab[0], lab[1]);
    ck_assert_int_eq(lab[2], lab[3]);
    ck_assert_int_ne(lab[0], lab[2]);
    ck_assert(fabs(r.inertia - 1.0) < 1e-12);
    ck_assert(fabs(C[lab[0]] - 0.5) < 1e-12 && fabs(C[lab[2]] - 10.5) < 1e-12);
    ck_assert_int_eq(r.n_distinct, 2);
}
END_TEST

/* 4 blobs of 100 points in 5-D around the corners (+-10, ...), Gaussian noise 0.5. */
static void blobs(float *X, int32_t *truth) {
    dc_rng rng = dc_rng_init(3);
    for (int i = 0; i < 400; i++) {
        int b = i % 4;
        truth[i] = b;
        for (int j = 0; j < 5; j++) {
            double c = ((b >> (j % 2)) & 1) ? 10.0 : -10.0;
            X[i * 5 + j] = (float)(c + 0.5 * dc_rng_normal(&rng));
        }
    }
}

START_TEST(test_recovers_blobs) {
    float X[400 * 5];
    int32_t truth[400], lab[400], lab2[400];
    blobs(X, truth);
    dc_kmeans_opts o = dc_kmeans_opts_default(4);
    dc_kmeans_result r;
    ck_assert_int_eq(dc_kmeans(X, 400, 5, &o, lab, NULL, &r), DC_OK);
    /* a bijection between blobs and clusters */
    int map[4] = {-1, -1, -1, -1}, used[4] = {0};
    for (int i = 0; i < 400; i++) {
        if (map[truth[i]] < 0) {
            ck_assert_msg(!used[lab[i]], "two blobs share cluster %d", lab[i]);
            map[truth[i]] = lab[i];
            used[lab[i]] = 1;
        }
        ck_assert_msg(lab[i] == map[truth[i]], "point %d of blob %d in cluster %d, not %d", i, truth[i], lab[i], map[truth[i]]);
    }
    /* the inertia is the within-blob sum of squares, computed directly */
    double mean[4][5] = {{0}}, ss = 0;
    for (int i = 0; i < 400; i++)
        for (int j = 0; j < 5; j++) mean[truth[i]][j] += X[i * 5 + j] / 100.0;
    for (int i = 0; i < 400; i++)
        for (int j = 0; j < 5; j++) ss += (X[i * 5 + j] - mean[truth[i]][j]) * (X[i * 5 + j] - mean[truth[i]][j]);
    ck_assert_msg(fabs(r.inertia - ss) < 1e-6 * ss, "inertia %.9g, within-blob SS %.9g", r.inertia, ss);
    ck_assert_int_ge(r.n_iter, 1);
    /* same seed, same labels */
    ck_assert_int_eq(dc_kmeans(X, 400, 5, &o, lab2, NULL, NULL), DC_OK);
    ck_assert(!memcmp(lab, lab2, sizeof lab));
}
END_TEST

START_TEST(test_coincident_points) {
    /* all points equal, k = 2: both seeds land on the same point; the empty cluster takes a
     * point for its centre, but every label ends on cluster 0 (sklearn warns "1 distinct") */
    const float X[10] = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2};
    int32_t lab[5];
    dc_kmeans_opts o = dc_kmeans_opts_default(2);
    dc_kmeans_result r;
    ck_assert_int_eq(dc_kmeans(X, 5, 2, &o, lab, NULL, &r), DC_OK);
    ck_assert_int_eq(r.n_distinct, 1);
    ck_assert(r.inertia == 0);
    /* k = n: every point its own cluster, inertia 0 */
    const float Y[3] = {0, 5, 9};
    int32_t l3[3];
    dc_kmeans_opts o3 = dc_kmeans_opts_default(3);
    ck_assert_int_eq(dc_kmeans(Y, 3, 1, &o3, l3, NULL, &r), DC_OK);
    ck_assert(r.inertia == 0);
    ck_assert_int_eq(r.n_distinct, 3);
}
END_TEST

START_TEST(test_bad_input) {
    const float X[4] = {0, 1, 2, NAN};
    int32_t lab[4];
    dc_kmeans_opts o = dc_kmeans_opts_default(5);
    ck_assert_int_eq(dc_kmeans(X, 3, 1, &o, lab, NULL, NULL), DC_ERR_ARG); /* k > n */
    ck_assert_ptr_nonnull(strstr(dc_last_error(), "n_clusters"));
    o.k = 2;
    ck_assert_int_eq(dc_kmeans(X, 4, 1, &o, lab, NULL, NULL), DC_ERR_NUMERIC); /* NaN */
    o.n_init = 0;
    ck_assert_int_eq(dc_kmeans(X, 3, 1, &o, lab, NULL, NULL), DC_ERR_ARG);
    ck_assert_int_eq(dc_kmeans(NULL, 3, 1, &o, lab, NULL, NULL), DC_ERR_ARG);
}
END_TEST

int main(void) {
    Suite *s = suite_create("kmeans");
    TCase *tc = tcase_create("kmeans");
    tcase_add_test(tc, test_tiny_optimum);
    tcase_add_test(tc, test_recovers_blobs);
    tcase_add_test(tc, test_coincident_points);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
