/* dc_run_test.h: helpers of the suites that train through dc_train_run (test_train, test_cost,
 * the baseline suites): the small synthetic dataset, a stop hook that interrupts a run, and
 * comparing two run folders. Not part of the library. */
#ifndef DC_RUN_TEST_H
#define DC_RUN_TEST_H

#include "data/dc_dataset.h"
#include "train/dc_run.h"

/* The small synthetic dataset: 3 subjects x 2 minutes, 18 sequences of T = 119, the first
 * 15 for training. */
void dc_rt_small_dataset(dc_dataset *ds);

/* dc_train_run with a should_stop hook that stops before step stop_at + 1 (an interruption;
 * -1: never) and config.json {"test": 1}. */
dc_status dc_rt_train(dc_model *m, const dc_dataset *ds, dc_backend *be, const dc_train_opts *o, const char *dir,
                      dc_run_mode mode, int64_t stop_at);

/* The two safetensors files hold the same tensors, bit for bit (metadata aside). */
void dc_rt_assert_same_tensors(const char *a, const char *b);
/* A file's bytes, NUL-terminated, and their count in *len (optional); NULL if unreadable;
 * caller frees. */
char *dc_rt_read_file(const char *path, size_t *len);
/* metrics.jsonl of a run with every "wall_s" value replaced by 0 (caller frees). */
char *dc_rt_metrics(const char *run);
/* Two runs of the same options ended the same: metrics.jsonl but for wall times, the same
 * checkpoints, the final model bit for bit, and the optimiser state's tensors. */
void dc_rt_assert_same_run(const char *a, const char *b);

#endif
