/* train_options.c: the trainer's option table (epochs, batch, optimiser, sampler, validation
 * and checkpoint schedule): defaults per dataset and protocol, ranges, config.json groups
 * and CLI flags. Not here: the loop itself (trainer.c). */
#include <stddef.h>
#include <string.h>

#include "train/dc_train.h"

#define F64 DC_OPTION_F64
#define I64 DC_OPTION_I64
#define INT32 DC_OPTION_INT32
#define HP "hyperparameters"
#define SCHED "schedule"
enum { EPOCHS, BATCH, LR, WEIGHT_DECAY, SAMPLER, VALID_EVERY, PATIENCE, PLATEAU_FACTOR, PLATEAU_THRESHOLD, SAVE_EVERY,
       LOG_EVERY, MAX_STEPS, N_ROWS };
static const dc_option k_rows[N_ROWS] = {
    [EPOCHS] = {"epochs", "epochs", HP, DC_OPTION_INT, "[1, inf)", .def = {{"synthetic", NULL, 50}, {.value = 500}},
                .help = "epochs", .store = I64, .offset = offsetof(dc_train_opts, epochs)},
    [BATCH] = {"batch", "batch", HP, DC_OPTION_INT, "[1, inf)", .def = {{.value = 8}}, .help = "sequences per step",
               .store = I64, .offset = offsetof(dc_train_opts, batch)},
    [LR] = {"lr", "lr", HP, DC_OPTION_REAL, "(0, inf)", .def = {{.value = 1e-3}}, .help = "AdamW learning rate", .store = F64,
            .offset = offsetof(dc_train_opts, lr)},
    /* docs/METHOD.md §9 item 8: the authors ran PyTorch's AdamW default, their config says 0.0 */
    [WEIGHT_DECAY] = {"weight_decay", "weight-decay", "flags", DC_OPTION_REAL, "[0, inf)",
                      .def = {{NULL, "corrected", 0.0}, {.value = 0.01}}, .help = "AdamW weight decay", .store = F64,
                      .offset = offsetof(dc_train_opts, weight_decay)},
    /* docs/METHOD.md §9 item 11 */
    [SAMPLER] = {"sampler", "sampler", "flags", DC_OPTION_CHOICE, .choices = {"shuffle", "sequential"}, .def = {{.value = 0}},
                 .help = "batch order: shuffled sequences, or the notebooks' SequentialRandomSampler", .store = INT32,
                 .offset = offsetof(dc_train_opts, sampler)},
    [VALID_EVERY] = {"valid_every", "valid-every", SCHED, DC_OPTION_INT, "[0, inf)", .def = {{.value = 5}},
                     .help = "epochs between validation passes, 0 = none", .store = I64,
                     .offset = offsetof(dc_train_opts, valid_interval)},
    [PATIENCE] = {"patience", "patience", SCHED, DC_OPTION_INT, "[0, inf)", .def = {{.value = 5}},
                  .help = "ReduceLROnPlateau patience, in validation passes", .store = I64, .offset = offsetof(dc_train_opts, patience)},
    [PLATEAU_FACTOR] = {"plateau_factor", "plateau-factor", SCHED, DC_OPTION_REAL, "(0, 1)", .def = {{.value = 0.1}},
                        .help = "ReduceLROnPlateau factor", .store = F64, .offset = offsetof(dc_train_opts, plateau_factor)},
    [PLATEAU_THRESHOLD] = {"plateau_threshold", "plateau-threshold", SCHED, DC_OPTION_REAL, "[0, inf)",
                           .def = {{.value = 1e-4}}, .help = "ReduceLROnPlateau relative threshold", .store = F64,
                           .offset = offsetof(dc_train_opts, plateau_threshold)},
    [SAVE_EVERY] = {"save_every", "save-every", SCHED, DC_OPTION_INT, "[0, inf)", .def = {{.value = 0}},
                    .help = "steps between checkpoints, 0 = every 50 epochs", .store = I64,
                    .offset = offsetof(dc_train_opts, save_every)},
    [LOG_EVERY] = {"log_every", "log-every", SCHED, DC_OPTION_INT, "[1, inf)", .def = {{.value = 10}},
                   .help = "steps between loss read-backs / metrics lines", .store = I64,
                   .offset = offsetof(dc_train_opts, log_every)},
    [MAX_STEPS] = {"max_steps", "max-steps", SCHED, DC_OPTION_INT, "[0, inf)", .def = {{.value = 0}},
                   .help = "stop after this many steps, 0 = all epochs", .store = I64,
                   .offset = offsetof(dc_train_opts, max_steps)},
};
static const dc_option_table k_table = {"trainer", k_rows, N_ROWS};

const dc_option_table *dc_train_options(void) { return &k_table; }

dc_train_opts dc_train_opts_defaults(const char *dataset, const char *protocol) {
    dc_train_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < N_ROWS; i++) dc_option_put(&k_table, i, &o, dc_option_default_value(&k_rows[i], dataset, protocol));
    return o;
}

dc_train_opts dc_train_opts_default(void) { return dc_train_opts_defaults(NULL, NULL); }

dc_status dc_train_opts_set(dc_train_opts *o, const char *key, double v) {
    for (int i = 0; o && key && i < N_ROWS; i++)
        if (!strcmp(k_rows[i].key, key)) {
            if (dc_option_check(&k_rows[i], v) != DC_OK) return dc_last_status();
            dc_option_put(&k_table, i, o, v);
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "%s: no such trainer option", key ? key : "(null)");
}

dc_status dc_train_opts_check(const dc_train_opts *o) {
    if (!o) return dc_fail(DC_ERR_ARG, "train: NULL options");
    for (int i = 0; i < N_ROWS; i++)
        if (dc_option_check(&k_rows[i], dc_option_get(&k_table, i, o)) != DC_OK) return dc_fail_prefix("train");
    return DC_OK;
}
