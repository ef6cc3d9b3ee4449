/* dc_dynacl.h: DynaCL, DynaCL-M and the two ablations (docs/METHOD.md §3, §4) on the shared encoder.
 *
 *   dynacl         L = MP-Xent(enc(x))
 *   dynacl-m       L = lam MSE(enc(x_m), P x) + (1-lam) margin(enc(x_m), Y)   (authors' form)
 *   mpxent-mse     L = lam MSE(enc(x_m), P x) + (1-lam) MP-Xent(enc(x_m))
 *   mpxent-margin  L = margin(enc(x), Y)
 * x_m: x with each element zeroed with probability mask_p; P: a fresh random Linear(D, 32)
 * every step (never trained); Y: pseudo-labels. The building blocks are public for tests.
 */
#ifndef DC_DYNACL_H
#define DC_DYNACL_H

#include "train/dc_model.h"

/* The registry entries (models/train/model_registry.c). */
extern const dc_model_vtbl dc_dynacl_vtbl, dc_dynacl_m_vtbl, dc_mpxent_mse_vtbl, dc_mpxent_margin_vtbl;

/* The options the four methods share (rows of dc_dynacl_options, slots of cfg.opt). */
enum {
    DC_DYNACL_TAU,             /* MP-Xent and margin-loss temperature */
    DC_DYNACL_SINGLE_POSITIVE, /* MP-Xent with one positive (paper eq. 1) */
    DC_DYNACL_MASK,            /* Bernoulli feature-mask probability */
    DC_DYNACL_LAMBDA,          /* MSE/contrastive mixing weight */
    DC_DYNACL_MARGIN,          /* Mg */
    DC_DYNACL_MARGIN_GAMMA,    /* 0.05, hard-coded in the authors' code */
    DC_DYNACL_THRESHOLD,       /* pseudo-label cosine threshold */
    DC_DYNACL_WITHIN_SEQ,      /* (P) 9: MP-Xent positives only inside each sequence */
    DC_DYNACL_PSEUDO_EMB,      /* (P) 5: pseudo-labels from the embeddings (else the code's, from raw input) */
    DC_DYNACL_LAMBDA_PAPER,    /* (P) 4: lambda contrastive + (1 - lambda) MSE (else lambda MSE + (1 - lambda) contrastive) */
    DC_DYNACL_N_OPTIONS
};
extern const dc_option_table dc_dynacl_options;

/* The margin contrastive loss is core's dc_margin_loss (dc_ops.h). */
/* x with each element set to 0 with probability p (independent Bernoulli, docs/METHOD.md §4.1). */
dc_tensor *dc_feature_mask(dc_ctx *ctx, dc_tensor *x, double p, dc_rng *rng);
/* X (N, D) through a fresh Linear(D, F): weight and bias U(-1/sqrt(D), 1/sqrt(D)). No gradient. */
dc_tensor *dc_random_projection(dc_ctx *ctx, dc_tensor *X, int64_t F, dc_rng *rng);
/* The authors' pseudo-labels on host rows x (N, D) (docs/METHOD.md §4.3): q_k = cos(x_k, x_{(k+1) mod N}),
 * then q[q >= thr] = 0 followed by q[q <= thr] = 1, sequentially. */
void dc_pseudo_labels_code(const float *x, int64_t N, int64_t D, double thr, float *Y);
/* The intended pseudo-labels: Y_k = 1 if cos(z_k, z_{(k+1) mod N}) <= thr else 0, on the
 * embeddings, as constants. Returns a new (N) tensor in ctx. */
dc_tensor *dc_pseudo_labels_embeddings(dc_ctx *ctx, dc_tensor *z, double thr);

/* The encoder's one-step driver used by `dynacl bench` and the tests: zero grads, DynaCL
 * loss, backward, AdamW. loss_out (optional) reads the loss back (a device sync). */
dc_tensor *dc_dynacl_loss(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts);
dc_status dc_dynacl_step(dc_encoder *enc, dc_adamw *opt, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts,
                         double *loss_out);

#endif
