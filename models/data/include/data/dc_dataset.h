/* dc_dataset.h: a prepared dataset (docs/METHOD.md §1): instances, labels, subjects, the sequence
 * index, the train/test split and the balanced clustering subset counts.
 *
 *     dc_dataset ds;
 *     if (dc_dataset_open("prepared/harth", &ds)) fail(dc_last_error());   // memory-mapped
 *     // ds.frames.X (n, D), ds.frames.label, ds.frames.subject
 *     // sequence s covers frames [ds.seqs.start[s], ds.seqs.start[s] + ds.seqs.T)
 *     // sequences [0, ds.n_train) are the training split, [ds.n_train, ds.seqs.n) the test split
 *     dc_dataset_close(&ds);
 *
 * On disk (written by `dynacl prepare`, read with numpy.load too):
 *   X.npy          float32 (n, D)      instances (STFT frames or 178-sample segments)
 *   label.npy      int32   (n)         class index, -1 = unlabelled
 *   subject.npy    int32   (n)         subject / record index
 *   seq_start.npy  int64   (n_seq)     first instance of each sequence
 *   meta.json      dataset name, D, T (seq_len), stride, n_train, class names, per-class
 *                  balanced-subset counts, preprocessing parameters, source files + SHA-256
 */
#ifndef DC_DATASET_H
#define DC_DATASET_H

#include "data/dc_frames.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_dataset {
    char name[32];                          /* "harth", "ecg", "sleepeeg", "synthetic" */
    dc_frames frames;                       /* borrowed views when memory-mapped: never dc_frames_free them */
    dc_sequences seqs;                      /* seqs.T = sequence length, seqs.start[] */
    int64_t stride;                         /* frames between sequence starts (T = non-overlapping) */
    int64_t n_train;                        /* sequences [0, n_train) train; the rest test */
    int64_t balanced_count[DC_MAX_CLASSES]; /* clustering subset per class (Appendix D); 0 = none */
    char dir[1024];                         /* where it was opened from ("" in memory) */
    void *impl;                             /* mappings / owned memory */
} dc_dataset;

/* Open a prepared dataset folder (files memory-mapped, meta.json validated against them). */
dc_status dc_dataset_open(const char *dir, dc_dataset *out);
/* The embedded synthetic default as a dataset (in memory; HARTH-style windows T=119, S=24). */
dc_status dc_dataset_synthetic(const dc_synth_opts *opts, dc_dataset *out);
/* Take ownership of in-memory frames + sequences (e.g. from a reader pipeline). */
dc_status dc_dataset_from_frames(const char *name, dc_frames *frames, dc_sequences *seqs, int64_t stride,
                                 dc_dataset *out);
void dc_dataset_close(dc_dataset *ds);   /* accepts a zeroed struct */

/* Write ds to dir atomically (a temporary folder renamed into place); meta_extra is a JSON
 * object text merged into meta.json (may be NULL). Refuses to replace an existing dir
 * unless overwrite. */
dc_status dc_dataset_write(const dc_dataset *ds, const char *dir, const char *meta_extra, int overwrite);

/* ---- counts, the flattened test split and the balanced clustering subset (docs/METHOD.md §1.0) ---- */

typedef struct dc_dataset_counts {
    int n_classes;
    int64_t frames[DC_MAX_CLASSES + 1]; /* distinct instances per class; [n_classes] = unlabelled */
    int64_t train[DC_MAX_CLASSES + 1];  /* instances of the training sequences, with multiplicity */
    int64_t test[DC_MAX_CLASSES + 1];   /* instances of the test sequences, with multiplicity */
    int64_t n_subjects;                 /* runs of equal subject ids */
    int32_t *subject_id;                /* (n_subjects) */
    int64_t *subject_frames;            /* (n_subjects, DC_MAX_CLASSES + 1), same class layout */
} dc_dataset_counts;
dc_status dc_dataset_count(const dc_dataset *ds, dc_dataset_counts *out);
void dc_dataset_counts_free(dc_dataset_counts *c);   /* accepts NULL */

/* The paper's per-class counts (docs/METHOD.md §1.0) for "harth" (1000 x 11, 500), "ecg" (1577, 972,
 * 459, 1467) and "sleepeeg" (1000 x 5); "synthetic" gets 500 per class. Returns the number
 * of classes filled, 0 for other names. */
int dc_balanced_paper_counts(const char *name, int64_t counts[DC_MAX_CLASSES]);
/* Items of the flattened test split: (seqs.n - n_train) * seqs.T, ordered by sequence then
 * position; item i is frame dc_dataset_test_item_frame(ds, i) (-1 if out of range). */
int64_t dc_dataset_test_items(const dc_dataset *ds);
int64_t dc_dataset_test_item_frame(const dc_dataset *ds, int64_t item);
/* The balanced clustering subset: for each class in order, balanced_count[c] test items of
 * that class drawn without replacement (seeded dc_rng, partial Fisher-Yates), concatenated
 * class by class. *idx (malloc'd, caller frees) holds flattened test-split item indices.
 * DC_ERR_SHAPE naming the class if the test split holds fewer items than its count. */
dc_status dc_balanced_subset(const dc_dataset *ds, uint64_t seed, int64_t **idx, int64_t *n);

#ifdef __cplusplus
}
#endif
#endif
