/* run_state.h: the trainer's side of the run folder (internal to models/train; the public
 * side is dc_run.h): the resumable state beside each checkpoint, writing and reading
 * checkpoints, the folder's life cycle, config.json on resume, and metrics.jsonl. */
#ifndef DC_RUN_STATE_H
#define DC_RUN_STATE_H

#include <stdio.h>

#include "train/dc_run.h"

typedef struct dc_run_state {
    int64_t step;              /* global steps done */
    int64_t epoch;             /* current epoch (0-based) */
    int64_t batch_in_epoch;    /* batches of the current epoch done */
    int64_t optimizer_steps;
    double lr;
    dc_rng rng;                /* now */
    uint64_t rng_counter_epoch;/* where this epoch's permutation was drawn */
    double plateau_best;
    int64_t plateau_bad;
    int plateau_has_best;
    int64_t num_batches_tracked;
    double epoch_loss_sum;     /* running sum of this epoch's step losses */
    double elapsed;            /* seconds of training before this process */
} dc_run_state;

/* New: create the folder (refusing a run already there); force: remove a run's files first;
 * resume: the folder must hold config.json. */
dc_status dc_run_dir_prepare(const char *dir, dc_run_mode mode);
dc_status dc_run_state_save(const char *path, const dc_run_state *s, dc_adamw *const *opts, int n_opts);
dc_status dc_run_state_load(const char *path, dc_run_state *s, dc_adamw *const *opts, int n_opts);
/* The checkpoint of s->step (weights with {"step", "epoch"} metadata, then the state beside
 * them, then checkpoints/latest); final: then RUN/model.safetensors and RUN/state.safetensors. */
dc_status dc_run_write_checkpoint(const char *run, const dc_model *m, const dc_run_state *s, dc_adamw *const *opts, int n_opts,
                                  int final);
/* Load checkpoints/latest into m and s. */
dc_status dc_run_read_checkpoint(const char *run, dc_model *m, dc_run_state *s, dc_adamw *const *opts, int n_opts);

/* config.json: write it (a new run), or check that json holds the same options (resume). */
dc_status dc_run_write_config(const char *run, const char *json);
dc_status dc_run_check_config(const char *run, const char *json);

/* metrics.jsonl: open for writing (truncate) or appending. */
FILE *dc_run_metrics_open(const char *run, int append);
/* The record of a checkpoint, as the trainer writes it after saving one (no newline). */
void dc_run_metrics_checkpoint_record(char *buf, size_t cap, int64_t step, int64_t epoch);
/* Resuming from the checkpoint at `step` (epoch `epoch`): keep what was logged before that
 * checkpoint's record (every record up to it; the step's own step record, and at the run's
 * end its epoch and validation records, come first), drop the rest (written after the
 * checkpoint, the resumed run writes it again), then write the checkpoint's record again
 * unless the checkpoint is the run's final one (final = 1), which the resumed run saves, and
 * logs, again. A line cut by a kill is dropped. */
dc_status dc_run_trim_metrics(const char *run, int64_t step, int64_t epoch, int final);

#endif
