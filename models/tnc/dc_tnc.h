/* dc_tnc.h: TNC (docs/METHOD.md §6.4) on the shared encoder, as the authors' baselines/tnc.py runs it.
 * The batch (B, T, D) is flattened into one series of B*T instances; an anchor centre
 * t ~ U{2w .. B*w - 2w - 1} (the code's randint(2w, batch_size*w - 2w)), mc neighbour centres
 * int(t + N(0, 1) * eps * w) clipped to [w/2+1, Tc-w/2], mc non-neighbour centres at least
 * delta away (clipped with Tc, not the series length); windows of w instances around each
 * centre; three encoder calls ((mc, w, D) each, the anchor repeated); a discriminator on
 * per-time-step pairs; BCE with weight W_TNC on non-neighbours taken as positives.
 *
 *     dc_model_config cfg = dc_model_config_defaults("tnc", "harth", "authors");
 *     dc_model *m = dc_model_new(&cfg, be, D);          // heads: the discriminator
 *
 * The ADF test is skipped under both protocols (docs/METHOD.md §9 item 18: the paper's GPU runs never ran
 * it), so eps = 1 and delta = 5 eps w. Heads (saved as "tnc.<name>"): disc.0.weight
 * (128, 64), disc.0.bias (128), disc.3.weight (1, 128), disc.3.bias (1) (PyTorch's
 * Sequential indices; weights xavier-uniform, biases U(+-1/sqrt(fan_in))).
 * Protocols: authors never trains the discriminator and keeps its dropout on, even in the
 * validation pass; corrected trains it (cfg.train_heads) and drops out only in training.
 */
#ifndef DC_TNC_H
#define DC_TNC_H

#include "train/dc_model.h"

/* The registry entry (models/train/model_registry.c) and its options (cfg.opt slots). */
extern const dc_model_vtbl dc_tnc_vtbl;
enum {
    DC_TNC_WINDOW, /* w */
    DC_TNC_MC,     /* Monte-Carlo size: mc neighbours and mc non-neighbours */
    DC_TNC_WEIGHT, /* W_TNC, weight of non-neighbours taken as positives */
    DC_TNC_TC,     /* Tc clipping the centres: the config's sequence_sample; 0 = T */
    DC_TNC_N_OPTIONS
};

#define DC_TNC_EPSILON 1    /* the ADF-derived neighbourhood scale when the test is skipped */

/* Centres of one step on a batch of B sequences of T instances: *t ~ U{2w .. B*w - 2w - 1},
 * pos[mc], neg[mc] (docs/METHOD.md §6.4 steps 2, 5, 6; delta = 5 eps w). Fails when B is too
 * small for the anchor range (B*w - 2w - 1 < 2w, i.e. B < 5) or a window would leave the
 * flattened series of B*T instances. */
dc_status dc_tnc_draw_centres(dc_rng *rng, int64_t w, int64_t mc, int64_t Tc, int64_t B, int64_t T, int64_t *t, int64_t *pos,
                              int64_t *neg);

/* Discriminator logits (N) for pairs of rows za, zb (N, 32): Linear(64, 128) -> ReLU ->
 * Dropout(p_drop, a fresh Bernoulli mask from rng, survivors scaled by 1/(1-p)) -> Linear(128, 1)
 * on [za, zb]. w0 (128, 64), b0 (128), w3 (1, 128), b3 (1). */
dc_tensor *dc_tnc_discriminate(dc_ctx *ctx, dc_tensor *za, dc_tensor *zb, dc_tensor *w0, dc_tensor *b0, dc_tensor *w3,
                               dc_tensor *b3, double p_drop, dc_rng *rng);

/* (BCE(d_p, 1) + w BCE(d_n, 1) + (1 - w) BCE(d_n, 0)) / 2, BCE on logits, mean reduction. */
dc_tensor *dc_tnc_bce(dc_ctx *ctx, dc_tensor *d_p, dc_tensor *d_n, double w);

#endif
