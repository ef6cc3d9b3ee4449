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

/* The model-table entries (models/train/model_registry.c). */
extern const dc_model_vtbl dc_dynacl_vtbl, dc_dynacl_m_vtbl, dc_mpxent_mse_vtbl, dc_mpxent_margin_vtbl;

/* Margin contrastive loss (docs/METHOD.md §4.4, LS_MARGIN_LOSS): z (N, F), Y (N) pseudo-labels indexed by
 * column. Anchors as in MP-Xent (seq_len 0 = whole batch). gamma 0.05 in the authors' code. */
dc_tensor *dc_margin_loss(dc_ctx *ctx, dc_tensor *z, dc_tensor *Y, double tau, double margin, double gamma,
                          int64_t seq_len);
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
