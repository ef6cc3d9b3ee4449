/* dc_cpc.h: CPC (docs/METHOD.md §6.3) on the shared encoder, as the authors' baselines/cpc.py runs it:
 * a GRU(32 -> 32) over the encodings Zs[:, c : c+window] (c = T/2), a linear density-ratio
 * estimator q = W h + b, scores Zs[b, t] . q[b], T/2 negatives drawn with replacement from
 * {0..c-3} U {c+3..T-1} (the same for every row) and the positive c+1, InfoNCE.
 *
 *     dc_model_config cfg = dc_model_config_defaults("cpc", "harth", "corrected");
 *     dc_model *m = dc_model_new(&cfg, be, D);           // heads: GRU + estimator
 *     dc_tensor *L = dc_model_loss(m, ctx, x, 1, &rng, &terms);
 *
 * Heads (saved as "cpc.<name>"): gru.weight_ih_l0 (96, 32), gru.weight_hh_l0 (96, 32),
 * gru.bias_ih_l0 (96), gru.bias_hh_l0 (96) in PyTorch's gate order (r, z, n), all
 * U(+-1/sqrt(32)); estimator.weight (32, 32), estimator.bias (32), U(+-1/sqrt(32)).
 * Protocols: authors never trains the heads (created after the optimizer) and runs the
 * validation loss with the encoder in train mode; corrected trains them (cfg.train_heads)
 * and validates in eval mode.
 */
#ifndef DC_CPC_H
#define DC_CPC_H

#include "train/dc_model.h"

/* The registry entry (models/train/model_registry.c) and its options (cfg.opt slots). */
extern const dc_model_vtbl dc_cpc_vtbl;
enum {
    DC_CPC_WINDOW, /* GRU context steps from c = T/2 */
    DC_CPC_N_OPTIONS
};

/* One-layer GRU from h0 = 0 over x (B, S, I); returns the last hidden state (B, H).
 * w_ih (3H, I), w_hh (3H, H), b_ih, b_hh (3H), rows in the order r, z, n:
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h. */
dc_tensor *dc_gru_last(dc_ctx *ctx, dc_tensor *x, dc_tensor *w_ih, dc_tensor *w_hh, dc_tensor *b_ih, dc_tensor *b_hh);

/* InfoNCE of CPC: scores r[b, j] = z[b, idx[j]] . q[b] for z (B, T, F), q (B, F) and the
 * n_idx time indices idx (negatives first, the positive last); mean over b of
 * -log softmax_j(r[b, :])[n_idx - 1]. */
dc_tensor *dc_cpc_infonce(dc_ctx *ctx, dc_tensor *z, dc_tensor *q, const int32_t *idx, int64_t n_idx);

/* The step's time indices for T and window: n = T/2 negatives then the positive c + 1
 * (idx holds T/2 + 1 entries). Fails with a message when T is too short for the window. */
dc_status dc_cpc_draw_indices(dc_rng *rng, int64_t T, int64_t window, int32_t *idx);

#endif
