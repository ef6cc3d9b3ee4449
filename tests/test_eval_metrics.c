/* test_eval_metrics.c: classification scores against values worked out by hand (confusion,
 * accuracy, precision / recall / F1 macro and weighted with scikit-learn's label set and
 * zero_division = 0), the per-seed rounding and the population std, and bad input. */
#include <math.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"
#include "eval/dc_eval.h"

#define CLOSE(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-12, "%s = %.15g, expected %.15g", #a, (double)(a), (double)(b))

/* y_true 0 0 0 1 1 2, y_pred 0 0 1 1 2 2:
 *   confusion [[2 1 0] [0 1 1] [0 0 1]]; accuracy 4/6
 *   precision 2/2, 1/2, 1/2   recall 2/3, 1/2, 1/1   F1 4/5, 1/2, 2/3
 *   macro: P 2/3, R 13/18, F1 59/90; weighted by support 3, 2, 1: P 3/4, R 2/3, F1 61/90 */
static const int32_t k_true[6] = {0, 0, 0, 1, 1, 2}, k_pred[6] = {0, 0, 1, 1, 2, 2};

START_TEST(test_hand_example) {
    dc_class_metrics m;
    ck_assert_int_eq(dc_class_metrics_compute(k_true, k_pred, 6, 3, &m), DC_OK);
    ck_assert_int_eq(m.n, 6);
    const int64_t cm[3][3] = {{2, 1, 0}, {0, 1, 1}, {0, 0, 1}};
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++) ck_assert_int_eq(m.confusion[t][p], cm[t][p]);
    CLOSE(m.accuracy, 400.0 / 6.0);
    CLOSE(m.precision_macro, 2.0 / 3.0);
    CLOSE(m.recall_macro, 13.0 / 18.0);
    CLOSE(m.f1_macro, 59.0 / 90.0);
    CLOSE(m.precision_weighted, 0.75);
    CLOSE(m.recall_weighted, 2.0 / 3.0);
    CLOSE(m.f1_weighted, 61.0 / 90.0);
}
END_TEST

START_TEST(test_label_set_and_zero_division) {
    /* a fourth class absent from y_true and y_pred is not among sklearn's labels: same scores */
    dc_class_metrics m;
    ck_assert_int_eq(dc_class_metrics_compute(k_true, k_pred, 6, 4, &m), DC_OK);
    CLOSE(m.precision_macro, 2.0 / 3.0);
    CLOSE(m.f1_macro, 59.0 / 90.0);
    /* class 1 is never predicted: its precision is 0 (zero_division = 0), recall 0, F1 0.
     * y_true 0 0 1 1, y_pred 0 0 0 0: P = (1/2 + 0)/2, R = (1 + 0)/2, F1 = (2/3 + 0)/2 */
    const int32_t t[4] = {0, 0, 1, 1}, p[4] = {0, 0, 0, 0};
    ck_assert_int_eq(dc_class_metrics_compute(t, p, 4, 2, &m), DC_OK);
    CLOSE(m.accuracy, 50.0);
    CLOSE(m.precision_macro, 0.25);
    CLOSE(m.recall_macro, 0.5);
    CLOSE(m.f1_macro, 1.0 / 3.0);
    CLOSE(m.f1_weighted, 1.0 / 3.0);
    /* class 2 predicted but never true: in the label set with recall 0 and precision 0 */
    const int32_t t2[2] = {0, 0}, p2[2] = {0, 2};
    ck_assert_int_eq(dc_class_metrics_compute(t2, p2, 2, 3, &m), DC_OK);
    CLOSE(m.precision_macro, 0.5); /* (1 + 0) / 2 */
    CLOSE(m.recall_macro, 0.25);   /* (1/2 + 0) / 2 */
}
END_TEST

START_TEST(test_ignored_rows_and_errors) {
    const int32_t t[4] = {-1, 0, 1, -1}, p[4] = {5, 0, 1, 7}; /* predictions of ignored rows are not read */
    dc_class_metrics m;
    ck_assert_int_eq(dc_class_metrics_compute(t, p, 4, 2, &m), DC_OK);
    ck_assert_int_eq(m.n, 2);
    CLOSE(m.accuracy, 100.0);
    const int32_t bad[1] = {3}, ok[1] = {0};
    ck_assert_int_eq(dc_class_metrics_compute(bad, ok, 1, 2, &m), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(dc_last_error(), "outside [0, 2)"));
    ck_assert_int_eq(dc_class_metrics_compute(ok, bad, 1, 2, &m), DC_ERR_ARG);
    ck_assert_int_eq(dc_class_metrics_compute(ok, ok, 1, 0, &m), DC_ERR_ARG);
    ck_assert_int_eq(dc_class_metrics_compute(NULL, ok, 1, 2, &m), DC_ERR_ARG);
}
END_TEST

START_TEST(test_rounding_and_mean_std) {
    /* Python's round(): exact binary ties go to even, others by their true value */
    CLOSE(dc_round2(0.125), 0.12);  /* 0.125 is exact: tie -> even */
    CLOSE(dc_round2(0.375), 0.38);  /* exact tie -> even */
    CLOSE(dc_round2(2.675), 2.67);  /* stored as 2.67499999... */
    CLOSE(dc_round2(37.946), 37.95);
    CLOSE(dc_round2(-0.126), -0.13);
    /* per-seed rounding first: 0.294 -> 0.29, 0.306 -> 0.31: mean 0.30, population std 0.01 */
    double v[2] = {0.294, 0.306}, m, s;
    dc_mean_std_round2(v, 2, &m, &s);
    CLOSE(m, 0.30);
    ck_assert(fabs(s - 0.01) < 1e-12);
    /* population (not sample) std: 1, 2, 3, 4 -> sqrt(1.25) */
    double w[4] = {1, 2, 3, 4};
    dc_mean_std_round2(w, 4, &m, &s);
    CLOSE(m, 2.5);
    CLOSE(s, sqrt(1.25));
}
END_TEST

START_TEST(test_protocol_names) {
    dc_protocol p;
    ck_assert_int_eq(dc_protocol_parse("authors", &p), DC_OK);
    ck_assert_int_eq(p, DC_PROTOCOL_AUTHORS);
    ck_assert_int_eq(dc_protocol_parse("corrected", &p), DC_OK);
    ck_assert_int_eq(p, DC_PROTOCOL_CORRECTED);
    ck_assert_str_eq(dc_protocol_name(p), "corrected");
    ck_assert_int_eq(dc_protocol_parse("paper", &p), DC_ERR_ARG);
}
END_TEST

int main(void) {
    Suite *s = suite_create("eval_metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, test_hand_example);
    tcase_add_test(tc, test_label_set_and_zero_division);
    tcase_add_test(tc, test_ignored_rows_and_errors);
    tcase_add_test(tc, test_rounding_and_mean_std);
    tcase_add_test(tc, test_protocol_names);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
