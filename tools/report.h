/* report.h: the paper's result tables from run folders and result files (report.c) for
 * `dynacl report` and `demo`, as Markdown and CSV with the paper's numbers alongside.
 * Tool code (presentation); the scores themselves come from the library (eval/dc_eval.h).
 */
#ifndef DC_REPORT_H
#define DC_REPORT_H

#include <stddef.h>

#include "eval/dc_eval.h"

/* One entry per (method, dataset) under one protocol: samples over seeds. The tables print
 * mean +- population std (per-seed values rounded to 2 decimals) with the paper's numbers
 * (docs/METHOD.md §8) alongside, and name the protocol in their titles. */
#define DC_REPORT_MAX_SEEDS 64
typedef struct dc_report_series {
    int n;
    double v[DC_REPORT_MAX_SEEDS];
} dc_report_series;
typedef struct dc_report_entry {
    char method[32];     /* dynacl, dynacl-m, mpxent-mse, mpxent-margin, ts2vec, cpc, tnc, infots, cost, random */
    char dataset[32];    /* harth, sleepeeg, ecg, or any other name */
    dc_report_series dbi, ss, ch, dbi_gt, ss_gt;         /* clustering (Table 2) */
    dc_report_series acc, f1, prec, rec;                 /* linear eval (Table 3): protocol's averages */
    dc_report_series f1_macro, f1_weighted, prec_weighted, rec_weighted; /* corrected extras */
    dc_report_series pretrain_s;                         /* Table 5 */
} dc_report_entry;
typedef struct dc_report {
    dc_protocol protocol;
    int n;
    dc_report_entry *e;  /* (n), malloc'd */
} dc_report;
/* The entry for (method, dataset), created if new (NULL + error on OOM). Creating an entry
 * may move the others: re-fetch earlier pointers after adding one. */
dc_report_entry *dc_report_entry_get(dc_report *r, const char *method, const char *dataset);
dc_status dc_report_series_add(dc_report_series *s, double v);
void dc_report_free(dc_report *r);  /* accepts NULL */
/* Add what a run folder or a result file holds: RUN/config.json + RUN/metrics.jsonl (best-J
 * clustering at validation, pretraining time), RUN/cluster.json (when metrics.jsonl has no
 * clustering), RUN/linear_eval.json, or one of those .json files itself. A run or file of
 * another protocol than r->protocol is refused (DC_ERR_STATE); inside a run folder of the
 * right protocol, result files of the other protocol are left out. */
dc_status dc_report_add_path(dc_report *r, const char *path);
/* The paper's value of a table cell (docs/METHOD.md §8): table 2 (metric "dbi" | "ss"), 3
 * ("acc" | "f1" | "prec" | "rec") or 5 ("time", seconds). 0 if the paper has none. */
int dc_report_paper_value(int table, const char *method, const char *dataset, const char *metric, double *mean,
                          double *std);
/* Markdown of Tables 2, 3 and 5 (malloc'd, NUL-terminated). */
char *dc_report_markdown(const dc_report *r);
/* CSV of one table (2, 3 or 5): one row per method and dataset (malloc'd). */
char *dc_report_csv(const dc_report *r, int table);
/* "1.07±0.06" style cell into buf (digits after the point); "–" for an empty series. */
char *dc_report_cell(const dc_report_series *s, int digits, char *buf, size_t cap);

#endif
