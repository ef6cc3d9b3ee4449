/* metrics.c: classification scores as scikit-learn computes them (accuracy, precision,
 * recall and F1, macro and weighted, zero_division = 0), the confusion matrix, the protocol
 * names and the reports' per-seed rounding. Not the clustering scores (cluster_metrics.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dc_eval.h"

dc_status dc_protocol_parse(const char *s, dc_protocol *out) {
    if (s && !strcmp(s, "authors")) *out = DC_PROTOCOL_AUTHORS;
    else if (s && !strcmp(s, "corrected")) *out = DC_PROTOCOL_CORRECTED;
    else return dc_fail(DC_ERR_ARG, "protocol must be 'authors' or 'corrected', got '%s'", s ? s : "(null)");
    return DC_OK;
}

const char *dc_protocol_name(dc_protocol p) { return p == DC_PROTOCOL_CORRECTED ? "corrected" : "authors"; }

double dc_round2(double v) {
    if (!isfinite(v)) return v;
    char buf[512]; /* printf rounds the exact binary value, ties to even: Python's round(v, 2) */
    snprintf(buf, sizeof buf, "%.2f", v);
    return strtod(buf, NULL);
}

void dc_mean_std_round2(const double *v, int n, double *mean, double *std) {
    double m = 0, q = 0;
    for (int i = 0; i < n; i++) m += dc_round2(v[i]);
    m = n > 0 ? m / n : 0;
    for (int i = 0; i < n; i++) {
        double e = dc_round2(v[i]) - m;
        q += e * e;
    }
    *mean = m;
    *std = n > 0 ? sqrt(q / n) : 0;
}

dc_status dc_class_metrics_from_confusion(dc_class_metrics *m) {
    if (!m) return dc_fail(DC_ERR_ARG, "class_metrics: NULL argument");
    const int C = m->n_classes;
    if (C < 1 || C > DC_MAX_CLASSES) return dc_fail(DC_ERR_ARG, "class_metrics: %d classes (1..%d)", C, DC_MAX_CLASSES);
    int64_t n = 0, correct = 0, support[DC_MAX_CLASSES] = {0}, predicted[DC_MAX_CLASSES] = {0};
    for (int t = 0; t < C; t++)
        for (int p = 0; p < C; p++) {
            int64_t v = m->confusion[t][p];
            n += v;
            support[t] += v;
            predicted[p] += v;
            if (t == p) correct += v;
        }
    m->n = n;
    m->accuracy = n ? 100.0 * (double)correct / (double)n : 0;
    double pm = 0, rm = 0, fm = 0, pw = 0, rw = 0, fw = 0;
    int present = 0;
    for (int c = 0; c < C; c++) {
        if (!support[c] && !predicted[c]) continue; /* not among sklearn's unique_labels */
        present++;
        int64_t tp = m->confusion[c][c];
        double p = predicted[c] ? (double)tp / (double)predicted[c] : 0; /* zero_division = 0 */
        double r = support[c] ? (double)tp / (double)support[c] : 0;
        double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
        pm += p, rm += r, fm += f;
        double w = n ? (double)support[c] / (double)n : 0;
        pw += w * p, rw += w * r, fw += w * f;
    }
    m->precision_macro = present ? pm / present : 0;
    m->recall_macro = present ? rm / present : 0;
    m->f1_macro = present ? fm / present : 0;
    m->precision_weighted = pw;
    m->recall_weighted = rw;
    m->f1_weighted = fw;
    return DC_OK;
}

dc_status dc_class_metrics_compute(const int32_t *y_true, const int32_t *y_pred, int64_t n, int n_classes,
                                   dc_class_metrics *out) {
    if (!y_true || !y_pred || !out || n < 0) return dc_fail(DC_ERR_ARG, "class_metrics: NULL argument");
    if (n_classes < 1 || n_classes > DC_MAX_CLASSES)
        return dc_fail(DC_ERR_ARG, "class_metrics: %d classes (1..%d)", n_classes, DC_MAX_CLASSES);
    memset(out, 0, sizeof *out);
    out->n_classes = n_classes;
    for (int64_t i = 0; i < n; i++) {
        int32_t t = y_true[i], p = y_pred[i];
        if (t < 0) continue;
        if (t >= n_classes || p < 0 || p >= n_classes)
            return dc_fail(DC_ERR_ARG, "class_metrics: row %lld has true %d / predicted %d outside [0, %d)", (long long)i,
                           t, p, n_classes);
        out->confusion[t][p]++;
    }
    return dc_class_metrics_from_confusion(out);
}
