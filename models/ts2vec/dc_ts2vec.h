/* dc_ts2vec.h: TS2Vec (docs/METHOD.md §6.1) on the shared encoder, as the authors' baselines/ts2vec.py
 * runs it: input-space timestamp masking on every encoder call, two random overlapping
 * crops per batch, and the hierarchical contrastive loss (instance + temporal contrast with
 * raw dot products at every level of max-pooling over time). No extra heads.
 *
 *     dc_model_config cfg = dc_model_config_defaults("ts2vec", "harth", "authors");
 *     dc_model *m = dc_model_new(&cfg, be, D);
 *     dc_tensor *L = dc_model_loss(m, ctx, x, 1, &rng, &terms);   // x (B, T, D)
 *
 * Protocols (docs/METHOD.md §9 item 22): authors end-pads the shorter encoded view to max(L1, L2), so
 * positives are misaligned by crop_left - crop_eleft steps; corrected (option ts2vec_alignment)
 * keeps only the crop_l overlapping steps of both views, as the original TS2Vec.
 */
#ifndef DC_TS2VEC_H
#define DC_TS2VEC_H

#include "train/dc_model.h"

/* The registry entry (models/train/model_registry.c) and its options (cfg.opt slots). */
extern const dc_model_vtbl dc_ts2vec_vtbl;
enum {
    DC_TS2VEC_OVERLAP, /* (P) 22: keep the crops' overlap (original TS2Vec); else end-pad to max(L1, L2) */
    DC_TS2VEC_MAX_LEN, /* longer sequences are first cut to a random window of this length */
    DC_TS2VEC_N_OPTIONS
};

/* One batch's crop (docs/METHOD.md §6.1 steps 2-4): view 1 of row b is x[b, off[b]+eleft : off[b]+right]
 * (length L1 = right - eleft), view 2 is x[b, off[b]+left : off[b]+eright] (L2 = eright - left);
 * both contain the crop_l = right - left steps x[b, off[b]+left : off[b]+right]. */
typedef struct dc_ts2vec_crop {
    int64_t crop_l, left, right, eleft, eright;
} dc_ts2vec_crop;

/* Draw a crop for B rows of length T (T >= 2; off has B entries). */
dc_status dc_ts2vec_draw_crop(dc_rng *rng, int64_t T, int64_t B, dc_ts2vec_crop *crop, int64_t *off);

/* x (B, T, D) with every time step zeroed (all D values) with probability 0.5. */
dc_tensor *dc_ts2vec_mask_input(dc_ctx *ctx, dc_tensor *x, dc_rng *rng);
/* The authors' TSEncoder: the mask above, then the encoder, on every call, training or
 * not. -> (B, T, 32). */
dc_tensor *dc_ts2vec_encode(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng);

/* Align the encoded views o1 (B, L1, F) and o2 (B, L2, F) of `crop`: overlap = 1 keeps
 * o1[:, L1-crop_l:] and o2[:, :crop_l]; overlap = 0 zero-pads the shorter one at the end
 * to max(L1, L2). */
dc_status dc_ts2vec_align(dc_ctx *ctx, dc_tensor *o1, dc_tensor *o2, const dc_ts2vec_crop *crop, int overlap,
                          dc_tensor **a1, dc_tensor **a2);

/* Contrast of z1, z2 (B, T, F) (scalars):
 *   instance: per t, the 2B vectors z1[:, t], z2[:, t]; positive of z1[i, t] is z2[i, t] and
 *             back; 0 when B = 1.
 *   temporal: per b, the 2T vectors z1[b], z2[b]; positive of z1[b, t] is z2[b, t] and back;
 *             0 when T = 1.
 * Each row's -log softmax of the positive over the other 2K-1 dot products, mean over rows.
 * hierarchical: while T > 1 add alpha inst + (1-alpha) temp and max-pool both by 2 (floor);
 * at T = 1 add alpha inst; divide by the number of levels. */
dc_tensor *dc_ts2vec_instance_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2);
dc_tensor *dc_ts2vec_temporal_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2);
dc_tensor *dc_ts2vec_hier_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2, double alpha);

#endif
