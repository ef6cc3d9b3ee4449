/* dc_model.h: what every pretraining method (DynaCL, its variants, the baselines) provides
 * to the shared trainer: the shared encoder, optional extra heads, and a loss on a batch.
 *
 *     dc_model_config cfg = dc_model_config_defaults("dynacl-m", "harth", "authors");
 *     dc_model *m = dc_model_new(&cfg, be, D);            // encoder initialised from cfg.seed
 *     dc_loss_terms terms;
 *     dc_tensor *loss = dc_model_loss(m, ctx, x, 1, &rng, &terms);
 *
 * Methods are looked up by name in one table (models/train/model_registry.c). The encoder
 * is always saved under the PyTorch state_dict names; extra heads under "<method>.<name>".
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include "dc/dc.h"
#include "encoder/dc_encoder.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every option a method or the trainer reads, fully resolved (no "default" left).
 * Items marked (P) are protocol switches: docs/METHOD.md §0 and §9. */
typedef struct dc_model_config {
    char model[32];            /* dynacl | dynacl-m | mpxent-mse | mpxent-margin | baselines */
    char dataset[32];          /* harth | sleepeeg | ecg | synthetic | other */
    char protocol[16];         /* authors | corrected */
    uint64_t seed;
    /* MP-Xent */
    double tau;                /* 0.5 */
    int single_positive;       /* paper eq. 1 */
    int mpx_within_seq;        /* (P) 9: positives only inside each sequence */
    /* DynaCL-M and ablations (docs/METHOD.md §4) */
    double mask_p;             /* Bernoulli feature-mask probability */
    double lambda;             /* mixing weight */
    int lambda_paper_form;     /* (P) 4: lambda*contrastive + (1-lambda)*MSE instead of lambda*MSE + (1-lambda)*contrastive */
    double margin;             /* Mg, 5 */
    double margin_gamma;       /* 0.05 (hard-coded in the authors' code) */
    double threshold;          /* pseudo-label cosine threshold, 0.4 */
    int pseudo_from_embeddings;/* (P) 5: Y from embeddings (else the code's Y from raw input, = 1) */
    /* baselines (issues 8, 9) read their own fields from here as they are added */
    int train_heads;           /* (P) 20: train CPC GRU/estimator, TNC discriminator, InfoTS weights */
    /* TS2Vec, CPC, TNC (issue 8; docs/METHOD.md §6.1, §6.3, §6.4) */
    int ts2vec_overlap;        /* (P) 22: keep the crops' overlap (original TS2Vec); else end-pad to max(L1, L2) */
    int64_t ts2vec_max_len;    /* 500: longer sequences are first cut to a random window of this length */
    int64_t cpc_window;        /* 5: GRU context steps from c = T/2 */
    int64_t tnc_window;        /* w = 20 */
    int64_t tnc_mc;            /* Monte-Carlo size: 20 neighbours and 20 non-neighbours */
    double tnc_weight;         /* W_TNC = 0.1, weight of non-neighbours taken as positives */
    int64_t tnc_tc;            /* Tc clipping the centres: config sequence_sample (119, 300, 119); 0 = T */
    /* InfoTS, CoST (issue 9; docs/METHOD.md §6.2, §6.5) */
    double infots_tau_global;  /* global InfoNCE temperature: 1.0 (the code's; the paper's tau0 = 2.0 is a variant) */
    double infots_tau_local;   /* local InfoNCE temperature: 1.0 (the code's; the paper's tau1 = 0.1 is a variant) */
    double infots_aug_p;       /* 0.2: probability that view 1 is the augmented mix */
    int64_t infots_local_k;    /* 8 chunks of the local InfoNCE */
    int64_t infots_max_len;    /* 500: longer sequences are first cut to a random window */
    int infots_local_all;      /* local InfoNCE over every sequence (a variant; default: the first only, as the code) */
    double infots_variety;     /* corrected meta-learner: weight of the augmentation-entropy term (0.1) */
    int64_t cost_queue;        /* MoCo queue K = 256 */
    double cost_momentum;      /* 0.999 */
    double cost_tau;           /* MoCo temperature 0.07 */
    double cost_alpha;         /* 0.05, weight of the season loss (halved) */
    double cost_sigma;         /* 0.5, augmentation scale */
    double cost_aug_p;         /* 0.5, probability of each augmentation step */
    int64_t cost_max_len;      /* 300: longer sequences are cut to a random window (ECG) */
    int64_t cost_season_len;   /* season layer length = sequence_sample (119, 300, 119) */
    int cost_key_encoder;      /* (P) 19: separate momentum key encoder (authors: the encoder keys itself, frozen) */
} dc_model_config;

typedef struct dc_loss_terms {
    int n;
    const char *name[8];
    dc_tensor *value[8];       /* scalars in the step context */
} dc_loss_terms;

typedef struct dc_model dc_model;

typedef struct dc_model_vtbl {
    const char *name;
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

/* Defaults for a method on a dataset under a protocol (docs/METHOD.md §4.5, §9). NULL dataset = other. */
dc_model_config dc_model_config_defaults(const char *model, const char *dataset, const char *protocol);
/* Check ranges (tau > 0, 0 <= mask_p < 1, ...); returns DC_ERR_ARG with a message. */
dc_status dc_model_config_check(const dc_model_config *cfg);

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
 * in the file unless the model has them. */
dc_status dc_model_load(dc_model *m, const char *path);
/* Encoder-only helpers (used by embed/eval on any checkpoint, e.g. a PyTorch state_dict). */
dc_status dc_encoder_save_entries(const dc_encoder *enc, void *writer /* dc_st_writer */);
dc_status dc_encoder_load_file(dc_encoder *enc, const void *file /* dc_st_file */, const char *path);
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
