/* dc_prepare.h: the raw-to-prepared pipelines of docs/METHOD.md §1 (HARTH CSVs, WFDB ECG
 * records, Sleep-EDF EDF files). The download manifest of `dynacl fetch-data` is tools'
 * business (tools/fetch_manifest.h).
 *
 *     dc_prepare_opts o = dc_prepare_opts_default();
 *     o.input = "raw/harth";
 *     dc_dataset ds;
 *     char *extra;                                     // JSON: parameters, sources + SHA-256
 *     if (dc_prepare("harth", &o, &ds, &extra)) fail(dc_last_error());
 *     dc_dataset_write(&ds, "prepared/harth", extra, 0);
 *     free(extra); dc_dataset_close(&ds);
 *
 * Input files are taken in sorted order of their names. Every error names the file and the
 * line or byte offset (the readers' messages). The FFT runs on o.backend.
 */
#ifndef DC_PREPARE_H
#define DC_PREPARE_H

#include <stdint.h>

#include "dc/dc_backend.h"
#include "data/dc_dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress: stage text, work done of total. Return nonzero to cancel (the pipeline then
 * fails with DC_ERR_STATE "interrupted"). Called from the calling thread only. */
typedef int (*dc_prepare_progress_fn)(void *user, const char *stage, int64_t done, int64_t total);

typedef struct dc_prepare_opts {
    const char *input;        /* folder with the raw files */
    dc_backend *backend;      /* runs the STFT's FFTs; NULL = a CPU backend made for the call */
    uint64_t seed;            /* recorded in meta.json as the balanced subset's default seed (42) */
    int64_t seq_len;          /* 0 = dataset default: harth 119, ecg 500, sleepeeg 300 */
    int64_t stride;           /* 0 = default: harth 24, otherwise seq_len (non-overlapping) */
    int from_npy;             /* sleepeeg: read samples.npy + labels.npy (TF-C arrays) */
    int allow_nonfinite;      /* keep NaN and Inf instances (refused by default, naming the first) */
    int threads;              /* file reading and hashing threads; 0 = all cores */
    dc_prepare_progress_fn progress;
    void *user;
} dc_prepare_opts;

dc_prepare_opts dc_prepare_opts_default(void);

/* HARTH (docs/METHOD.md §1.1): every *.csv, STFT W 50 / H 25 per file, per-feature z-score over all
 * frames (population std, 0 -> 1e-10), windows of T frames every stride per file. */
dc_status dc_prepare_harth(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra);
/* ECG (docs/METHOD.md §1.3, §1.3b): every *.hea with its signal file(s) and .atr; physical signals,
 * samples before the first rhythm annotation dropped, records cut to the shortest, each lead
 * z-scored over all records (std 0 -> 1), records concatenated, STFT with W = 1 s and
 * H = 0.5 s at the records' rate, AFIB/AFL/J/N labels, non-overlapping sequences. Headers
 * whose signal files are all absent (afdb 00735, 03665) are skipped and listed in meta. */
dc_status dc_prepare_ecg(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra);
/* SleepEEG (docs/METHOD.md §1.2, §1.3b): every *-PSG.edf paired with the one *-Hypnogram.edf of the
 * same recording (names equal up to the last character before the '-'); 178-sample
 * instances, non-overlapping sequences spanning files. from_npy: samples.npy ((N, D) or
 * (N, 1, D), <f4 or <f8) and labels.npy ((N,), <i4 or <i8, 0..4). */
dc_status dc_prepare_sleepeeg(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra);
/* By name: "harth", "ecg" or "sleepeeg". */
dc_status dc_prepare(const char *dataset, const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra);

/* Sorted names of the regular files in dir whose names end with suffix (hidden files
 * skipped). *names: malloc'd array of malloc'd strings; free with dc_prepare_names_free. */
dc_status dc_prepare_list(const char *dir, const char *suffix, char ***names, int *count);
void dc_prepare_names_free(char **names, int count);

#ifdef __cplusplus
}
#endif
#endif
