/* dc_train.h: the shared pretraining loop for every method (docs/METHOD.md §5).
 *
 *     dc_train_opts o = dc_train_opts_default();
 *     o.epochs = 500;
 *     dc_train_run(model, &dataset, backend, &o, "runs/harth42", DC_RUN_NEW, config_json, &hooks);
 *
 * Per step: a batch of B sequences from the sampler, the method's loss in training mode,
 * backward, AdamW. Every `valid_interval` epochs: the eval-mode loss on the test split drives
 * ReduceLROnPlateau (methods that validate), then the on_validate hook (clustering metrics).
 * The run folder (its layout: dc_run.h) holds config.json, metrics.jsonl (JSON lines),
 * checkpoints/ (weights in safetensors + optimizer/RNG/position state beside them, written
 * atomically) and, at the end, model.safetensors + state.safetensors. Resuming restores
 * everything, so on the CPU backend a resumed run ends with weights, state and metrics.jsonl
 * (but for wall times) identical to an uninterrupted one, wherever it was stopped.
 */
#ifndef DC_TRAIN_H
#define DC_TRAIN_H

#include "data/dc_dataset.h"
#include "train/dc_model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DC_SAMPLER_SHUFFLE = 0, DC_SAMPLER_SEQUENTIAL = 1 };
typedef enum { DC_RUN_NEW = 0, DC_RUN_RESUME = 1, DC_RUN_FORCE = 2 } dc_run_mode;

typedef struct dc_train_opts {
    int64_t epochs;            /* 500 */
    int64_t batch;             /* 8 sequences */
    double lr;                 /* 1e-3 */
    double weight_decay;       /* 0.01 (authors: PyTorch's AdamW default); corrected: 0.0 */
    int sampler;               /* (P) 11: shuffled sequences or SequentialRandomSampler */
    int64_t valid_interval;    /* 5 epochs; 0 = never */
    int64_t patience;          /* 5 validation events */
    double plateau_factor;     /* 0.1 */
    double plateau_threshold;  /* 1e-4, relative */
    int64_t save_every;        /* checkpoint every N steps; 0 = every 50 epochs */
    int64_t log_every;         /* read the loss back and log every N steps (10) */
    int64_t max_steps;         /* stop after this global step (0 = run all epochs) */
    int device_data;           /* keep the dataset on the device, gather batches there */
} dc_train_opts;

typedef struct dc_train_status {
    int64_t step, total_steps, epoch, epochs;
    double loss;               /* last loss read back */
    double lr;
    double elapsed_s;
    const char *event;         /* "step", "validation", "checkpoint", "done" */
} dc_train_status;

typedef struct dc_train_hooks {
    void *ud;
    void (*progress)(void *ud, const dc_train_status *s);
    /* After each validation: may append JSON members (e.g. "\"dbi\": 1.2") to extra (cap bytes),
     * which go into that metrics line. */
    dc_status (*on_validate)(void *ud, dc_model *m, dc_backend *be, int64_t epoch, char *extra, size_t cap);
    /* Checked before every step; returning 1 stops at once without saving (an interruption). */
    int (*should_stop)(void *ud, int64_t step);
} dc_train_hooks;

/* The trainer's options as a table (config.json rows, CLI flags, ranges; dc_options.h). */
const dc_option_table *dc_train_options(void);
/* Its defaults for a dataset and protocol (NULL: other, authors); dc_train_opts_default() is
 * dc_train_opts_defaults(NULL, NULL). */
dc_train_opts dc_train_opts_defaults(const char *dataset, const char *protocol);
dc_train_opts dc_train_opts_default(void);
/* Set one option by config.json key, checked against its row; check all of them. */
dc_status dc_train_opts_set(dc_train_opts *o, const char *key, double v);
dc_status dc_train_opts_check(const dc_train_opts *o);

/* Train m on ds (training split = sequences [0, n_train)). config_json (an object) is written
 * to run_dir/config.json for new runs and checked against it when resuming. DC_RUN_RESUME
 * continues from the latest checkpoint, starts from the beginning when the run was stopped
 * before its first one, and does nothing when the run has ended. */
dc_status dc_train_run(dc_model *m, const dc_dataset *ds, dc_backend *be, const dc_train_opts *o, const char *run_dir,
                       dc_run_mode mode, const char *config_json, const dc_train_hooks *hooks);

/* ReduceLROnPlateau(mode 'min', rel threshold, cooldown 0, min_lr 0) as PyTorch: returns the
 * new learning rate after observing val. State: best, has_best, bad (updated in place). */
double dc_plateau_update(double lr, double val, double *best, int *has_best, int64_t *bad, int64_t patience,
                         double factor, double threshold);

/* Batch order of one epoch: n_batches * batch sequence indices (drop_last). */
dc_status dc_sampler_epoch(int sampler, int64_t n, int64_t batch, dc_rng *rng, int64_t *out, int64_t *n_batches);

/* The eval-mode loss summed as the scripts do (sum over test batches of loss * B). */
dc_status dc_eval_loss(dc_model *m, const dc_dataset *ds, dc_backend *be, int64_t batch, int split_test, dc_rng *rng,
                       double *sum_out, double *mean_out);

#ifdef __cplusplus
}
#endif
#endif
