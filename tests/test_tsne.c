/* test_tsne.c: Barnes-Hut t-SNE keeps well-separated Gaussian clusters apart (nearest-neighbour
 * purity and trustworthiness computed here), gives the same map for the same seed, agrees
 * with the exact sums (angle 0) on structure, survives duplicate points, rejects bad input.
 * The figures are tests/test_plot.c's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "eval/dc_eval.h"

enum { NC = 4, PER = 60, N = NC * PER, D = 10 };

/* 4 clusters in 10-D: centres 12 apart on the axes, unit Gaussian noise. */
static void clusters(float *X, int32_t *y) {
    dc_rng rng = dc_rng_init(21);
    for (int i = 0; i < N; i++) {
        y[i] = i % NC;
        for (int j = 0; j < D; j++) X[i * D + j] = (float)((j == y[i] ? 12.0 : 0.0) + dc_rng_normal(&rng));
    }
}

static double sqd(const float *a, const float *b, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return s;
}

/* Indices of the k nearest neighbours of i (excluding i), ascending. */
static void knn(const float *X, int n, int d, int i, int k, int *out) {
    double best[16];
    for (int m = 0; m < k; m++) best[m] = INFINITY, out[m] = -1;
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        double v = sqd(X + i * d, X + j * d, d);
        if (v >= best[k - 1]) continue;
        int m = k - 1;
        while (m > 0 && best[m - 1] > v) best[m] = best[m - 1], out[m] = out[m - 1], m--;
        best[m] = v, out[m] = j;
    }
}

/* Fraction of 5 nearest 2-D neighbours that share the point's class. */
static double purity(const float *Y, const int32_t *y) {
    int nb[5], same = 0;
    for (int i = 0; i < N; i++) {
        knn(Y, N, 2, i, 5, nb);
        for (int m = 0; m < 5; m++) same += y[nb[m]] == y[i];
    }
    return same / (5.0 * N);
}

/* scikit-learn's trustworthiness(X, Y, n_neighbors = k): 1 - 2/(n k (2n - 3k - 1)) * sum of
 * (rank in X - k) over the points that are among a point's k nearest in Y but not in X. */
static double trustworthiness(const float *X, const float *Y, int k) {
    double pen = 0;
    int *order = malloc(sizeof(int) * N), nbY[16];
    double *dist = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) dist[j] = j == i ? -1 : sqd(X + i * D, X + j * D, D), order[j] = j;
        for (int a = 1; a < N; a++) /* rank of every point by input distance (insertion sort) */
            for (int b = a; b > 0 && dist[order[b - 1]] > dist[order[b]]; b--) {
                int t = order[b];
                order[b] = order[b - 1], order[b - 1] = t;
            }
        knn(Y, N, 2, i, k, nbY);
        for (int m = 0; m < k; m++) {
            int rank = 0;
            while (order[rank] != nbY[m]) rank++; /* rank 0 is i itself */
            if (rank > k) pen += rank - k;
        }
    }
    free(order);
    free(dist);
    return 1.0 - 2.0 / (N * k * (2.0 * N - 3.0 * k - 1.0)) * pen;
}

START_TEST(test_clusters_stay_apart) {
    float *X = malloc(sizeof(float) * N * D), *Y = malloc(sizeof(float) * N * 2), *Y2 = malloc(sizeof(float) * N * 2);
    int32_t y[N];
    clusters(X, y);
    dc_tsne_opts o = dc_tsne_opts_default();
    double kl;
    ck_assert_msg(dc_tsne(X, N, D, &o, Y, &kl) == DC_OK, "%s", dc_last_error());
    for (int i = 0; i < 2 * N; i++) ck_assert(isfinite(Y[i]));
    double p = purity(Y, y), t = trustworthiness(X, Y, 5);
    printf("t-SNE: KL %.4f, 5-NN purity %.4f, trustworthiness %.4f\n", kl, p, t);
    ck_assert_msg(p > 0.99, "5-NN class purity %.4f", p);
    ck_assert_msg(t > 0.9, "trustworthiness %.4f", t);
    ck_assert(kl > 0 && kl < 5);
    /* same seed, same map */
    ck_assert_int_eq(dc_tsne(X, N, D, &o, Y2, NULL), DC_OK);
    ck_assert(!memcmp(Y, Y2, sizeof(float) * N * 2));
    /* exact sums (angle 0) keep the same structure */
    o.angle = 0;
    o.n_iter = 500;
    ck_assert_int_eq(dc_tsne(X, N, D, &o, Y2, NULL), DC_OK);
    ck_assert(purity(Y2, y) > 0.99);
    free(X), free(Y), free(Y2);
}
END_TEST

START_TEST(test_duplicates_and_bad_input) {
    /* 30 copies of two points: duplicates share quadtree leaves and must not blow up */
    float X[60 * 3], Y[60 * 2];
    for (int i = 0; i < 60; i++)
        for (int j = 0; j < 3; j++) X[i * 3 + j] = (float)(i < 30 ? 0 : 5);
    dc_tsne_opts o = dc_tsne_opts_default();
    o.n_iter = 300;
    ck_assert_msg(dc_tsne(X, 60, 3, &o, Y, NULL) == DC_OK, "%s", dc_last_error());
    for (int i = 0; i < 120; i++) ck_assert(isfinite(Y[i]));
    ck_assert_int_eq(dc_tsne(X, 1, 3, &o, Y, NULL), DC_ERR_ARG);
    o.perplexity = 0;
    ck_assert_int_eq(dc_tsne(X, 60, 3, &o, Y, NULL), DC_ERR_ARG);
    o = dc_tsne_opts_default();
    X[7] = NAN;
    ck_assert_int_eq(dc_tsne(X, 60, 3, &o, Y, NULL), DC_ERR_NUMERIC);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tsne");
    TCase *tc = tcase_create("tsne");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_clusters_stay_apart);
    tcase_add_test(tc, test_duplicates_and_bad_input);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
