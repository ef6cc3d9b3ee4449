/* dc_run.h: the run folder, owned here. Nothing else names its files:
 *
 *     RUN/config.json                         every resolved option (dc_run_config)
 *     RUN/metrics.jsonl                       one JSON object per line: steps, epochs, validations, checkpoints
 *     RUN/checkpoints/step_00000120.safetensors        weights at step 120 (metadata {"step", "epoch"})
 *     RUN/checkpoints/step_00000120.state.safetensors  optimiser, RNG and position beside them
 *     RUN/checkpoints/latest                  the name of the newest checkpoint ("step_00000120")
 *     RUN/model.safetensors, RUN/state.safetensors     the final checkpoint, written last
 *
 *     dc_run_status s;
 *     dc_run_status_read("runs/a", &s);   // s.stage: DC_RUN_COMPLETE, s.step 120, s.latest ".../step_00000120.safetensors"
 *
 * The trainer (dc_train.h) writes a run; `dynacl pretrain`, `run-status`, `cluster`, `report`
 * and the evaluation commands read one through these calls. Not here: evaluation result files
 * (cluster.json, linear_eval.json), which the tools write beside a run.
 */
#ifndef DC_RUN_H
#define DC_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "train/dc_train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_RUN_PATH_MAX 4200

/* ---- layout ---- */
typedef enum {
    DC_RUN_CONFIG,      /* config.json */
    DC_RUN_METRICS,     /* metrics.jsonl */
    DC_RUN_MODEL,       /* model.safetensors: the final weights */
    DC_RUN_STATE,       /* state.safetensors: the final optimiser/RNG state */
    DC_RUN_CHECKPOINTS, /* the checkpoints/ folder */
    DC_RUN_LATEST       /* checkpoints/latest */
} dc_run_file;
/* RUN/<file> into buf (returned; "" if it does not fit). */
const char *dc_run_path(const char *run, dc_run_file f, char *buf, size_t cap);
/* RUN/checkpoints/step_<step, 8 digits>.safetensors. */
const char *dc_run_checkpoint_path(const char *run, int64_t step, char *buf, size_t cap);
/* The state file beside a checkpoint: X.safetensors -> X.state.safetensors. */
const char *dc_run_state_path(const char *checkpoint, char *buf, size_t cap);
/* The step in a checkpoint's file name (step_00000120.safetensors -> 120); -1 if the name
 * is not a checkpoint's (state files included). */
int64_t dc_run_checkpoint_step(const char *path);

/* ---- what a folder holds ---- */
typedef enum {
    DC_RUN_NONE,      /* no config.json: not a run */
    DC_RUN_STARTED,   /* config.json but no checkpoint yet: --resume starts it from the beginning */
    DC_RUN_RESUMABLE, /* a checkpoint, not finished: --resume continues from checkpoints/latest */
    DC_RUN_COMPLETE   /* the final model and state are written */
} dc_run_stage;
const char *dc_run_stage_name(dc_run_stage s); /* "none", "started", "resumable", "complete" */

typedef struct dc_run_status {
    dc_run_stage stage;
    int64_t step, epoch;           /* of the latest checkpoint (the final one when complete); -1 if none */
    int64_t epochs;                /* the configured epochs; -1 if config.json does not say */
    int n_checkpoints;             /* step_*.safetensors in checkpoints/ */
    char latest[DC_RUN_PATH_MAX];  /* the latest checkpoint's path; "" if none */
} dc_run_status;
/* Never fails on a folder that is not a run (stage DC_RUN_NONE); DC_ERR_FORMAT when
 * checkpoints/latest is malformed or names a missing file. */
dc_status dc_run_status_read(const char *run, dc_run_status *out);
/* Shortcuts: the run is complete; it holds a checkpoint to resume from. */
int dc_run_is_complete(const char *run);
int dc_run_has_checkpoint(const char *run);

/* Path of the newest checkpoint (checkpoints/latest) into buf; DC_ERR_IO "no checkpoint yet". */
dc_status dc_run_latest_checkpoint(const char *run, char *buf, size_t cap);

typedef struct dc_run_checkpoint {
    char path[DC_RUN_PATH_MAX];
    int64_t step;
    int64_t epoch; /* from its metadata; -1 if absent */
} dc_run_checkpoint;
/* Every checkpoint of the run in step order (*list malloc'd, free() it; n may be 0). */
dc_status dc_run_list_checkpoints(const char *run, dc_run_checkpoint **list, int *n);

/* The run folder a checkpoint belongs to (RUN/model.safetensors or
 * RUN/checkpoints/step_*.safetensors, where RUN holds config.json) into run; 0 if none. */
int dc_run_of_checkpoint(const char *checkpoint, char *run, size_t cap);

/* ---- config.json ---- */
typedef struct dc_run_config {
    dc_model_config model;
    dc_train_opts train;
    char data[1024];        /* prepared dataset folder, or "synthetic" */
    char backend[64];
    char data_on_device[8]; /* auto | on | off */
} dc_run_config;
/* Every option at its default for this method, dataset and protocol (the tables'). */
dc_run_config dc_run_config_defaults(const char *model, const char *dataset, const char *protocol);
/* JSON text (caller frees): the run's strings, then each group ("hyperparameters", "flags",
 * "schedule") with the trainer's, the method's and the common options, as their tables say. */
char *dc_run_config_to_json(const dc_run_config *c);
/* Parse config.json text. The trainer's and the common options are required; a method's
 * option that is absent (a run written before the option existed) takes its default, and
 * keys of other methods are ignored. Every value is checked against its table; errors
 * (DC_ERR_FORMAT, DC_ERR_ARG) name path and key. */
dc_status dc_run_config_from_json(const char *json, const char *path, dc_run_config *c);
/* Read RUN/config.json; *text (optional) receives its text (caller frees). */
dc_status dc_run_config_read(const char *run, dc_run_config *c, char **text);

/* What names a run, read leniently from config.json (any version, also one that does not
 * load as a whole): "" and -1 for what it does not hold. 0 if there is no readable JSON. */
typedef struct dc_run_names {
    char model[32], dataset[64], protocol[16];
    int64_t seed;
} dc_run_names;
int dc_run_names_read(const char *run, dc_run_names *out);

/* The method and pretraining seed of a checkpoint: its "model" metadata, else its run's
 * config.json (seed from there; -1 if unknown). method "random" for "random"; "dynacl"
 * when nothing says. Never fails. */
void dc_run_checkpoint_method(const char *checkpoint, char *method, size_t cap, int64_t *seed);
/* The configuration a checkpoint was trained with: its run's config.json when it belongs to
 * a run whose method matches its metadata, else its method's defaults for dataset and
 * protocol. */
dc_status dc_run_checkpoint_config(const char *checkpoint, const char *dataset, const char *protocol, dc_model_config *cfg);

/* ---- metrics.jsonl ---- */
/* The mean losses of the first and last "epoch" records (NAN when there are none) and how
 * many there are. */
dc_status dc_run_epoch_losses(const char *run, double *first, double *last, int64_t *n_epochs);

#ifdef __cplusplus
}
#endif
#endif
