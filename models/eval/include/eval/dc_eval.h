/* dc_eval.h: the paper's evaluation (docs/METHOD.md §7): frozen-encoder linear evaluation, k-means,
 * clustering scores (Davies-Bouldin, silhouette, Calinski-Harabasz, the joint score J),
 * Barnes-Hut t-SNE. Protocol switches: docs/METHOD.md §0, §9. Not here: the figures
 * and the report tables, which present results (tools/plot.h, tools/report.h).
 *
 *     dc_linear_eval_opts lo = dc_linear_eval_opts_default(DC_PROTOCOL_AUTHORS);
 *     dc_linear_eval_result r;
 *     dc_linear_eval(enc, &ds, &lo, &r);           // r.test.accuracy (%), r.test.f1_weighted, ...
 *
 *     float *Z; int32_t *y; int64_t n;
 *     dc_balanced_embed(enc, &ds, 42, &Z, &y, &n);  // the balanced test subset, eval mode, (n, 32)
 *     dc_cluster_eval ce;
 *     dc_cluster_evaluate(be, Z, n, 32, y, ds.frames.n_classes, DC_PROTOCOL_AUTHORS, 1, &ce);
 *     // ce.kmeans.dbi, ce.kmeans.ss, ce.kmeans.ch, ce.kmeans.j
 *
 *     float *Y = malloc(n * 2 * sizeof *Y);
 *     dc_tsne_opts to = dc_tsne_opts_default();
 *     dc_tsne(Z, n, 32, &to, Y, NULL);                // Y (n, 2)
 *
 * Definitions follow scikit-learn 1.1 (the authors' library); bit equality with it is not a
 * goal (docs/METHOD.md §9 item 23). Every fallible function returns dc_status with a message.
 */
#ifndef DC_EVAL_H
#define DC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "encoder/dc_encoder.h"
#include "train/dc_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dc_protocol { DC_PROTOCOL_AUTHORS = 0, DC_PROTOCOL_CORRECTED = 1 } dc_protocol;
/* "authors" | "corrected" -> *out; DC_ERR_ARG otherwise. */
dc_status dc_protocol_parse(const char *s, dc_protocol *out);
const char *dc_protocol_name(dc_protocol p);

/* ---- classification metrics (metrics.c), scikit-learn semantics ---------------------
 * Averages run over the labels present in y_true or y_pred (sklearn's unique_labels);
 * an undefined precision, recall or F1 counts as 0 (zero_division = 0). Weighted averages
 * weight by true support. */
typedef struct dc_class_metrics {
    int n_classes;                                       /* C: the confusion matrix is C x C */
    int64_t n;                                           /* scored rows */
    double accuracy;                                     /* percent (micro) */
    double precision_macro, recall_macro, f1_macro;
    double precision_weighted, recall_weighted, f1_weighted;
    int64_t confusion[DC_MAX_CLASSES][DC_MAX_CLASSES];   /* [true][predicted] */
} dc_class_metrics;

/* y_true, y_pred (n); rows with y_true < 0 are skipped; other values must lie in [0, C). */
dc_status dc_class_metrics_compute(const int32_t *y_true, const int32_t *y_pred, int64_t n, int n_classes,
                                   dc_class_metrics *out);
/* Recompute every score of m from m->confusion and m->n_classes. */
dc_status dc_class_metrics_from_confusion(dc_class_metrics *m);

/* v rounded to 2 decimals as Python's round(v, 2) (the per-seed rounding of docs/METHOD.md §7.1). */
double dc_round2(double v);
/* Mean and population standard deviation of n values, each rounded to 2 decimals first. */
void dc_mean_std_round2(const double *v, int n, double *mean, double *std);

/* ---- k-means (kmeans.c): scikit-learn 1.1 KMeans, algorithm "lloyd" -------------------
 * k-means++ with 2 + floor(ln k) greedy local trials, Lloyd iterations until the labels stop
 * changing or the squared centre shift is <= tol * mean feature variance, empty clusters
 * relocated to the farthest points, n_init runs, the lowest inertia kept. */
typedef struct dc_kmeans_opts {
    int k;          /* clusters */
    int n_init;     /* 10 */
    int max_iter;   /* 300 */
    double tol;     /* 1e-4 (scaled by the mean feature variance) */
    uint64_t seed;  /* 1 (the authors' random_state) */
} dc_kmeans_opts;
dc_kmeans_opts dc_kmeans_opts_default(int k);

typedef struct dc_kmeans_result {
    double inertia;  /* sum of squared distances to the assigned centre */
    int n_iter;      /* Lloyd iterations of the kept run */
    int n_distinct;  /* distinct labels in the result (< k when points coincide) */
} dc_kmeans_result;

/* X (n, d) row-major; labels (n) out; centers (k, d) out, may be NULL; res may be NULL. */
dc_status dc_kmeans(const float *X, int64_t n, int64_t d, const dc_kmeans_opts *o, int32_t *labels, double *centers,
                    dc_kmeans_result *res);

/* ---- clustering scores (cluster_metrics.c), Euclidean, scikit-learn definitions --------
 * Labels may be any int32 values (they are label-encoded). Each needs
 * 2 <= distinct labels <= n - 1, else DC_ERR_ARG saying so (sklearn's ValueError). */

/* Exact silhouette: mean over points of (b - a) / max(a, b), 0 for points of singleton
 * clusters; pairwise distances from Gram blocks computed with dc_matmul on be (f64 where the
 * backend has it, else f32 on centred data; NULL be = a temporary "cpu" backend).
 * per_sample (n) may be NULL. */
dc_status dc_silhouette(dc_backend *be, const float *X, int64_t n, int64_t d, const int32_t *labels, double *score,
                        double *per_sample);
/* Davies-Bouldin: mean over clusters of max_j (s_i + s_j) / |c_i - c_j|, s = mean distance to
 * the centroid; 0 when all s or all centroid distances are ~0 (sklearn's special case). */
dc_status dc_davies_bouldin(const float *X, int64_t n, int64_t d, const int32_t *labels, double *score);
/* Calinski-Harabasz: [tr(B) / (k - 1)] / [tr(W) / (n - k)]; 1 when tr(W) = 0. */
dc_status dc_calinski_harabasz(const float *X, int64_t n, int64_t d, const int32_t *labels, double *score);
/* J = 0.33 (1/DBI + ln(CH + 1) + 0.5 (SS + 1)) (docs/METHOD.md §5). DBI = 0 (sklearn returns the Python
 * float 0.0 for degenerate clusters, and 1/0.0 raises inside the authors' try) gives 0. */
double dc_joint_score(double dbi, double ch, double ss);

typedef struct dc_cluster_scores {
    double dbi, ch, ss, j;
    int ok;              /* 0: the scores failed (e.g. < 2 labels) and are all 0, as the authors' code */
    char reason[160];    /* why, when ok == 0 */
} dc_cluster_scores;
/* All three scores and J. A failure of the definitions (too few or too many labels, DBI = 0,
 * a non-finite value) gives zeros with ok = 0 and DC_OK, like the authors' try/except; out of
 * memory and backend errors are returned. */
dc_status dc_cluster_scores_compute(dc_backend *be, const float *X, int64_t n, int64_t d, const int32_t *labels,
                                    dc_cluster_scores *out);

typedef struct dc_cluster_eval {
    dc_cluster_scores kmeans;  /* on k-means labels, k = n_classes (docs/METHOD.md §7.2) */
    dc_cluster_scores truth;   /* on the ground-truth classes (corrected protocol) */
    int has_truth;
    dc_kmeans_result km;
} dc_cluster_eval;
/* docs/METHOD.md §7.2 on features Z (n, d) with classes y: k-means (k = n_classes, n_init 10,
 * random_state kmeans_seed) then the scores; under corrected also on y. */
dc_status dc_cluster_evaluate(dc_backend *be, const float *Z, int64_t n, int64_t d, const int32_t *y, int n_classes,
                              dc_protocol p, uint64_t kmeans_seed, dc_cluster_eval *out);

/* The balanced test subset (docs/METHOD.md §1.0): *X (n, D) input rows and *y (n) classes, malloc'd. */
dc_status dc_balanced_features(const dc_dataset *ds, uint64_t seed, float **X, int32_t **y, int64_t *n);
/* The same subset through enc as (n, 1, D) in eval mode: *Z (n, 32), *y (n), malloc'd. */
dc_status dc_balanced_embed(dc_encoder *enc, const dc_dataset *ds, uint64_t seed, float **Z, int32_t **y, int64_t *n);

/* ---- the pretraining hook (cluster_hook.c): clustering every validation (docs/METHOD.md §5, §7.2) ----
 *
 *     dc_cluster_hook ch;
 *     dc_cluster_hook_init(&ch, &ds, seed, DC_PROTOCOL_AUTHORS);
 *     dc_train_hooks hooks = {.ud = &ch, .on_validate = dc_cluster_on_validate};
 *     dc_train_run(m, &ds, be, &o, dir, mode, json, &hooks);
 *     // ch.best: the (DBI, CH, SS, J) of the evaluation with the largest J; ch.last: the final one
 *     dc_cluster_hook_free(&ch);
 *
 * Each call encodes the balanced test subset (drawn once, seeded with the run seed) in eval
 * mode as (N_bal, 1, D), runs k-means (k = classes, seed 1) and the scores, and appends
 * "dbi", "ch", "ss", "j", "best_dbi", "best_ch", "best_ss", "best_j", "best_epoch" (and under
 * corrected "dbi_gt", "ch_gt", "ss_gt") to the validation line. */
typedef struct dc_cluster_hook {
    const dc_dataset *ds;
    uint64_t seed;            /* balanced-subset draw (the run seed) */
    uint64_t kmeans_seed;     /* 1 */
    dc_protocol protocol;
    float *X;                 /* (n, D) subset rows, drawn at init */
    int32_t *y;               /* (n) */
    int64_t n;
    dc_cluster_eval last;     /* the latest evaluation */
    dc_cluster_scores best;   /* the evaluation with the largest J so far */
    int64_t best_epoch, last_epoch;  /* 0 = none yet */
    int has_best;
    void *user_ud;            /* chained hook (may be NULL): called first with user_ud */
    dc_status (*user_on_validate)(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap);
} dc_cluster_hook;
dc_status dc_cluster_hook_init(dc_cluster_hook *h, const dc_dataset *ds, uint64_t seed, dc_protocol p);
void dc_cluster_hook_free(dc_cluster_hook *h);   /* accepts NULL */
/* Matches dc_train_hooks.on_validate; ud is a dc_cluster_hook. */
dc_status dc_cluster_on_validate(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap);

/* ---- linear evaluation (linear_eval.c), docs/METHOD.md §7.1 -------------------------------------
 * A Linear(32, C) probe (PyTorch default init U(+-1/sqrt(32))) on every instance's embedding,
 * trained with Adam (AdamW, weight decay 0) on the training split: shuffled batches of
 * `batch` sequences, drop_last, mean cross-entropy per instance; then one pass over the test
 * split (batches of test_batch, drop_last). Under bn_train (authors) the encoder's BatchNorm
 * runs in training mode while the probe trains (batch statistics; the running statistics
 * keep updating) and in eval mode for the test pass; otherwise the encoder is frozen in eval
 * mode. The caller's encoder is left as it was (its running statistics are restored). */
typedef struct dc_linear_eval_opts {
    dc_protocol protocol;
    int64_t epochs;       /* 50 */
    int64_t batch;        /* 8 sequences (docs/METHOD.md §9 item 12) */
    int64_t test_batch;   /* 8 sequences, drop_last (docs/METHOD.md §7.1) */
    double lr;            /* 1e-3 */
    int bn_train;         /* authors 1, corrected 0 (docs/METHOD.md §9 item 14) */
    int sampler;          /* DC_SAMPLER_SHUFFLE (0) | DC_SAMPLER_SEQUENTIAL (1) */
    int exclude_class;    /* -1 = none (docs/METHOD.md §9 item 15 default); e.g. 3 drops ECG's N */
    uint64_t seed;        /* probe initialisation and batch order */
    /* optional: called after each epoch with its mean training loss */
    void (*progress)(void *ud, int64_t epoch, int64_t epochs, double loss);
    void *progress_ud;
} dc_linear_eval_opts;
dc_linear_eval_opts dc_linear_eval_opts_default(dc_protocol p);

typedef struct dc_linear_eval_result {
    dc_class_metrics test;           /* over the probe's C classes */
    int n_classes;                   /* C (dataset classes minus the excluded one) */
    int class_of[DC_MAX_CLASSES];    /* probe class -> dataset class */
    double last_epoch_loss;          /* mean training loss of the last epoch */
    int64_t train_rows, test_rows;   /* labelled instances used */
    double seconds;
} dc_linear_eval_result;

/* The full protocol on a dataset: labels required; D must match the encoder; every probe
 * class needs a training instance and at least two must be present (clear errors otherwise). */
dc_status dc_linear_eval(dc_encoder *enc, const dc_dataset *ds, const dc_linear_eval_opts *o,
                         dc_linear_eval_result *out);
/* The probe alone on fixed embeddings (a frozen encoder in eval mode): Ztr (ntr, T, F) with
 * ytr (ntr, T), Zte (nte, T, F) with yte (nte, T); classes in [0, C), -1 = ignored. Runs on be.
 * o->bn_train and o->exclude_class are not used here. */
dc_status dc_linear_probe(dc_backend *be, const float *Ztr, const int32_t *ytr, int64_t ntr, const float *Zte,
                          const int32_t *yte, int64_t nte, int64_t T, int64_t F, int n_classes,
                          const dc_linear_eval_opts *o, dc_linear_eval_result *out);

/* ---- t-SNE (tsne.c): Barnes-Hut, scikit-learn 1.1 TSNE defaults -----------------------
 * Exact k = min(n - 1, 3 perplexity + 1) nearest neighbours, per-point binary search of the
 * Gaussian bandwidth to the perplexity, P symmetrised and normalised; Y ~ N(0, 1e-4^2);
 * gradient descent with gains (min 0.01), momentum 0.5 for the early-exaggeration phase and
 * 0.8 after, learning rate "auto" = max(n / exaggeration / 4, 50), Barnes-Hut angle 0.5,
 * stopping after 300 checks without progress or when the gradient norm is <= 1e-7. */
typedef struct dc_tsne_opts {
    double perplexity;          /* 30 */
    int n_iter;                 /* 1000 */
    double early_exaggeration;  /* 12 */
    int exaggeration_iter;      /* 250 */
    double learning_rate;       /* <= 0: "auto" */
    double angle;               /* 0.5 (0 = exact sums over all points) */
    int standardize;            /* 1: z-score each feature first (docs/METHOD.md §7.3) */
    uint64_t seed;              /* 0 */
} dc_tsne_opts;
dc_tsne_opts dc_tsne_opts_default(void);
/* X (n, d) -> Y (n, 2). kl (may be NULL) gets the final KL divergence. n >= 2. */
dc_status dc_tsne(const float *X, int64_t n, int64_t d, const dc_tsne_opts *o, float *Y, double *kl);

#ifdef __cplusplus
}
#endif
#endif
