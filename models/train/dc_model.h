/* dc_model.h: what every pretraining method (DynaCL, its variants, the baselines) provides
 * to the shared trainer: the shared encoder, optional extra heads, and a loss on a batch.
 *
 *     dc_model_config cfg = dc_model_config_defaults("dynacl-m", "harth", "authors");
 *     dc_model *m = dc_model_new(&cfg, be, D);            // encoder initialised from cfg.seed
 *     dc_loss_terms terms;
 *     dc_tensor *loss = dc_model_loss(m, ctx, x, 1, &rng, &terms);
 *
 * Methods are looked up by name in one registry (models/train/model_registry.c, a line per
 * method); each method's vtable, in its own folder, carries its option table and display
 * name. The encoder is always saved under the PyTorch state_dict names; extra heads under
 * "<method>.<name>".
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include "dc/dc.h"
#include "encoder/dc_encoder.h"
#include "train/dc_options.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_MODEL_MAX_OPTIONS 32

/* A method's configuration, fully resolved (no "default" left). The method's own options
 * live in opt[], in the order of its table (dc_options.h), e.g. cfg.opt[DC_TNC_WINDOW];
 * read integers and switches with dc_cfg_int / dc_cfg_on. */
typedef struct dc_model_config {
    char model[32];            /* a registered method: dynacl | dynacl-m | mpxent-mse | mpxent-margin | baselines */
    char dataset[32];          /* harth | sleepeeg | ecg | synthetic | other: selects defaults */
    char protocol[16];         /* authors | corrected (docs/METHOD.md §0, §9) */
    uint64_t seed;             /* common option "seed": initialisation, batches and draws */
    int train_heads;           /* common option "train_heads" (docs/METHOD.md §9 item 20): the heads are optimised */
    double opt[DC_MODEL_MAX_OPTIONS];
} dc_model_config;

static inline int64_t dc_cfg_int(const dc_model_config *c, int i) { return (int64_t)c->opt[i]; }
static inline int dc_cfg_on(const dc_model_config *c, int i) { return c->opt[i] != 0.0; }

typedef struct dc_loss_terms {
    int n;
    const char *name[8];
    dc_tensor *value[8];       /* scalars in the step context */
} dc_loss_terms;

typedef struct dc_model dc_model;

typedef struct dc_model_vtbl {
    const char *name;          /* the key: --model, config.json's "model", checkpoint metadata */
    const char *display_name;  /* in reports and figures: "TS2Vec" */
    const dc_option_table *options; /* its own options, stored in cfg.opt[row]; NULL: none */
    int heads_always_train;    /* 1: train_heads defaults to on under both protocols */
    /* Optional: create heads/impl after the encoder exists (initialised from rng). */
    dc_status (*setup)(dc_model *m, dc_backend *be, dc_rng *rng);
    /* Optional: checks across options, after every option passed its own range. */
    dc_status (*check)(const dc_model_config *cfg);
    /* Loss of a batch x (B, T, D). training selects BatchNorm batch statistics; rng supplies
     * every random draw of the step (masks, projectors, crops). */
    dc_tensor *(*loss)(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *terms);
    int validates;             /* 1: the scripts run an eval-mode validation loss every 5 epochs */
    void (*free_impl)(dc_model *m);
    /* Optional: the eval-mode embedding the authors' clustering used for this method (docs/METHOD.md §7.2:
     * TS2Vec and InfoTS zero 50% of the input time steps even at evaluation). NULL = the
     * plain encoder in eval mode. */
    dc_tensor *(*eval_encode)(dc_model *m, dc_ctx *ctx, dc_tensor *x, dc_rng *rng);
} dc_model_vtbl;

struct dc_model {
    const dc_model_vtbl *vt;
    dc_model_config cfg;
    dc_encoder *enc;
    dc_params *heads;          /* extra trainable tensors, or NULL */
    dc_params *head_buffers;   /* extra non-trainable tensors, or NULL */
    void *impl;
    int encoder_frozen;        /* 1: the trainer leaves enc->params out of the optimiser (CoST, authors) */
};

/* Defaults for a method on a dataset under a protocol, from the option tables (docs/METHOD.md
 * §4.5, §9). NULL dataset = other. */
dc_model_config dc_model_config_defaults(const char *model, const char *dataset, const char *protocol);
/* Check the method, the protocol, every option against its table's range, then the method's
 * own checks; DC_ERR_ARG with a message naming the option and what it accepts. */
dc_status dc_model_config_check(const dc_model_config *cfg);
/* An option of cfg's method or a common one by config.json key: set checks it against its row
 * (DC_ERR_ARG naming what it accepts; an option of another method is an error too). */
dc_status dc_model_config_set(dc_model_config *cfg, const char *key, double v);
dc_status dc_model_config_get(const dc_model_config *cfg, const char *key, double *v);

/* The registered method of that name; NULL if none. */
const dc_model_vtbl *dc_model_method(const char *name);
/* Its option table (NULL for an unknown method) and the options every method has (seed,
 * train_heads). */
const dc_option_table *dc_model_options(const char *name);
const dc_option_table *dc_model_common_options(void);
/* The name reports and figures print ("dynacl-m" -> "DynaCL-M"); NULL for an unknown method. */
const char *dc_model_display_name(const char *name);

/* Create a method by cfg->model; the encoder and heads are initialised from cfg->seed. */
dc_model *dc_model_new(const dc_model_config *cfg, dc_backend *be, int64_t in_dim);
void dc_model_free(dc_model *m);
dc_tensor *dc_model_loss(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *terms);
/* Eval-mode embeddings of n sequences of T host rows X (n, T, D) into Z (n, T, 32), through
 * the method's eval_encode when it has one (drawing from rng), else the plain encoder. */
dc_status dc_model_embed(dc_model *m, const float *X, int64_t n, int64_t T, float *Z, dc_rng *rng);
/* Names of the methods known to dc_model_new, NULL-terminated. */
const char *const *dc_model_names(void);

/* Checkpoints: the encoder under PyTorch's names (conv1.weight [128, D, 1], ...,
 * bn1.num_batches_tracked I64 []), heads under "<method>.". Atomic write. */
dc_status dc_model_save(const dc_model *m, const char *path, const char *meta_json);
/* Load weights (shapes must match: a clear error names both shapes). Heads are optional
 * in the file unless the model has them. A NaN or Inf weight is refused (DC_ERR_NUMERIC,
 * naming the tensor and the element). */
dc_status dc_model_load(dc_model *m, const char *path);
/* Encoder-only helpers (used by embed/eval on any checkpoint, e.g. a PyTorch state_dict). */
dc_status dc_encoder_save_entries(const dc_encoder *enc, void *writer /* dc_st_writer */);
dc_status dc_encoder_load_file(dc_encoder *enc, const void *file /* dc_st_file */, const char *path);
/* The same with flags: DC_LOAD_ALLOW_NONFINITE lets NaN and Inf weights through. */
#define DC_LOAD_ALLOW_NONFINITE 1u
dc_status dc_encoder_load_file_ex(dc_encoder *enc, const void *file /* dc_st_file */, const char *path,
                                  unsigned flags);
/* Input dimension D of the encoder stored in a checkpoint (from conv1.weight). */
dc_status dc_checkpoint_in_dim(const char *path, int64_t *D);

/* Register-time helper for methods: add a named loss term. */
static inline void dc_loss_terms_add(dc_loss_terms *t, const char *name, dc_tensor *v) {
    if (t && t->n < 8) {
        t->name[t->n] = name;
        t->value[t->n++] = v;
    }
}

#ifdef __cplusplus
}
#endif
#endif
