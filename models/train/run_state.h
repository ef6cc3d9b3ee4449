/* run_state.h: resumable-run state (internal to the trainer; see dc_train.h). */
#ifndef DC_RUN_STATE_H
#define DC_RUN_STATE_H

#include "train/dc_train.h"

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

dc_status dc_run_dir_prepare(const char *dir, dc_run_mode mode);
dc_status dc_run_state_save(const char *path, const dc_run_state *s, dc_adamw *const *opts, int n_opts);
dc_status dc_run_state_load(const char *path, dc_run_state *s, dc_adamw *const *opts, int n_opts);
dc_status dc_run_set_latest(const char *run_dir, const char *stem);
dc_status dc_run_write_config(const char *run_dir, const char *json);
/* Keep only metrics lines with "step" <= max_step (a resumed run redoes the rest). */
dc_status dc_run_trim_metrics(const char *run_dir, int64_t max_step);

#endif
