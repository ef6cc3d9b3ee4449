/* run_curves.h: the training curves of a run folder for `dynacl plot`, read from
 * RUN/metrics.jsonl (docs/TRAINING.md: logged steps, epoch means and learning rates,
 * validation passes with their clustering J) and the run's names from RUN/config.json.
 * Reading only; the trainer (models/train) writes these files. Not drawing (plot.h).
 * It parses metrics.jsonl itself, as report.c does; once models/train offers a run-folder
 * reader (the dc_run_* API under way), this should read through it.
 *
 *     run_curves c;
 *     if (run_curves_read("runs/harth42", &c) != DC_OK) fail(dc_last_error());
 *     ... c.ep[i], c.ep_loss[i] ...
 *     run_curves_free(&c);
 */
#ifndef DC_RUN_CURVES_H
#define DC_RUN_CURVES_H

#include <stdint.h>

#include "dc/dc_status.h"

typedef struct run_curves {
    double *step_x, *step_loss;   /* (n_step) logged steps: x in epochs (step / steps per epoch), or steps when none finished */
    int64_t n_step;
    double *ep, *ep_loss, *ep_lr; /* (n_ep) epochs 1.., their mean training loss and learning rate */
    int64_t n_ep;
    double *val_ep, *val_loss;    /* (n_val) validation passes: epoch, mean loss per batch */
    int64_t n_val;
    double *j_ep, *j;             /* (n_j) validation passes that carry the clustering J */
    int64_t n_j;
    double steps_per_epoch;       /* from the first epoch record; 0 when no epoch finished */
    char model[32], dataset[64], protocol[16];  /* from config.json; "" when absent */
    long long seed;               /* -1 when absent */
    int partial_tail;             /* 1: an unterminated last line (a run still writing, or killed) was left out */
} run_curves;

/* Read RUN/metrics.jsonl (required) and RUN/config.json (optional). Records are sorted by
 * step or epoch; a repeated one (a resumed run writes its checkpoint's epoch again) keeps
 * the later values. A line that is not a JSON object fails with DC_ERR_FORMAT naming the
 * file and line, except an unterminated last line. No record of a loss: DC_ERR_FORMAT. */
dc_status run_curves_read(const char *run_dir, run_curves *c);
void run_curves_free(run_curves *c);   /* accepts NULL and a zeroed struct */

#endif
