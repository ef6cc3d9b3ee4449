/* dc_cost.h: CoST (docs/METHOD.md §6.5) on the shared encoder, as the authors' baselines/cost.py runs it:
 * input_fc Linear(D, D) -> the shared FeatureProjector (B, T, 32) -> a trend disentangler
 * (causal Conv1d(32 -> 16) with kernels 1, 2, 4, ..., 128, averaged) and a seasonal one
 * (BandedFourierLayer(32 -> 16): rfft, a complex linear map per frequency, irfft, Dropout 0.1).
 * Loss: MoCo on the trend at one random time step (queue K = 256, momentum 0.999, T 0.07)
 * plus alpha * (instance contrast of the seasons' amplitudes + of their phases) / 2.
 *
 *     dc_model_config cfg = dc_model_config_defaults("cost", "sleepeeg", "authors");
 *     dc_model *m = dc_model_new(&cfg, be, D);     // heads "cost.*" (see below)
 *     dc_tensor *L = dc_model_loss(m, ctx, x, 1, &rng, &terms);
 *
 * Protocols (docs/METHOD.md §6.5, §9 item 19): authors passes the encoder as its own key encoder, so the
 * encoder, input_fc and both disentanglers never train (m->encoder_frozen; they live in
 * head_buffers) and only head_q does; their BatchNorm statistics still move with the three
 * train-mode passes per step (x_q, key x_k, query x_k). corrected (option cost_key_encoder)
 * trains them all and keeps a separate momentum key encoder (input_fc, FeatureProjector,
 * trend) deep-copied at creation. head_k is momentum-updated from head_q in both.
 * Checkpoint: the FeatureProjector under the shared names; "cost.input_fc.weight" (D, D),
 * "cost.tfd.<i>.weight" (16, 32, k_i) and ".bias", "cost.sfd.weight_real/_imag" (F, 32, 16),
 * "cost.sfd.bias_real/_imag" (F, 16), "cost.head_q.{0,2}.weight/bias", the same for head_k,
 * "cost.queue" (16, K) and, under corrected, the key encoder as "cost.key.<name>".
 * The queue is a FIFO kept as a roll (oldest columns dropped at the front, new keys appended):
 * the same set of negatives as MoCo's ring buffer, hence the same loss.
 */
#ifndef DC_COST_H
#define DC_COST_H

#include "train/dc_model.h"

#define DC_COST_DIM 16      /* component dimension of trend and season */
#define DC_COST_KERNELS 8   /* trend kernels 1, 2, 4, ..., 128 */
#define DC_COST_KMAX 128

/* The registry entry (models/train/model_registry.c) and its options (cfg.opt slots). */
extern const dc_model_vtbl dc_cost_vtbl;
enum {
    DC_COST_QUEUE,       /* MoCo queue K */
    DC_COST_MOMENTUM,    /* key-encoder momentum */
    DC_COST_TAU,         /* MoCo temperature */
    DC_COST_ALPHA,       /* weight of the season loss (halved) */
    DC_COST_SIGMA,       /* augmentation scale */
    DC_COST_AUG_P,       /* probability of each augmentation step */
    DC_COST_MAX_LEN,     /* longer sequences are cut to a random window (ECG) */
    DC_COST_SEASON_LEN,  /* season layer length = the config's sequence_sample */
    DC_COST_KEY_ENCODER, /* (P) 19: separate momentum key encoder (authors: the encoder keys itself, frozen) */
    DC_COST_N_OPTIONS
};

/* Trend of h (B, T, 32) at the P time steps pos[]: (1/8) sum_i causal_conv_i(h)[:, pos] with
 * w[i] (16, 32, k_i = 2^i) in PyTorch's Conv1d layout and b[i] (16). The 8 convolutions are
 * one causal convolution of kernel 128 whose weight is the mean of the left-zero-padded
 * kernels; it runs as a gather (im2col, steps before 0 read as zero) and one matmul.
 * -> (B, P, 16). */
dc_tensor *dc_cost_trend(dc_ctx *ctx, dc_tensor *h, dc_tensor *const *w, dc_tensor *const *b, const int32_t *pos,
                         int64_t P);
/* BandedFourierLayer (one band of length Lb: F = Lb/2 + 1 weights): X = rfft(h) over time;
 * out_f = X_f W_f + b_f for f < F with W = wr + i wi (F, 32, 16), b = br + i bi (F, 16);
 * higher frequencies 0; irfft back to T. h (B, T, 32) -> (B, T, 16). Needs T/2 + 1 >= F. */
dc_tensor *dc_cost_season(dc_ctx *ctx, dc_tensor *h, dc_tensor *wr, dc_tensor *wi, dc_tensor *br, dc_tensor *bi);
/* The frequency-domain season loss: s = l2-normalise(s) over features, S = rfft over time,
 * amp = sqrt((Re + 1e-6)^2 + (Im + 1e-6)^2), phase = atan2(Im, Re + 1e-6), and
 * inst(amp_q, amp_k) + inst(phase_q, phase_k) with TS2Vec's instance loss (frequency as the
 * time axis). sq, sk (B, T, C) -> scalar. */
dc_tensor *dc_cost_season_loss(dc_ctx *ctx, dc_tensor *sq, dc_tensor *sk);
/* MoCo: cross-entropy of [q . k, q . queue] / tau with target 0, mean over rows.
 * q, k (B, C); queue (C, K). */
dc_tensor *dc_cost_moco_loss(dc_ctx *ctx, dc_tensor *q, dc_tensor *k, dc_tensor *queue, double tau);
/* x_k = jitter(shift(scale(x))), each step applied with probability p (docs/METHOD.md §6.5): scale by
 * (1 + sigma N(0,1)) per feature, shift by sigma N(0,1) per feature, jitter sigma N(0,1) per
 * element. */
dc_tensor *dc_cost_augment(dc_ctx *ctx, dc_tensor *x, double sigma, double p, dc_rng *rng);

#endif
