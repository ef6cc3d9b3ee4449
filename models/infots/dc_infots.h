/* dc_infots.h: InfoTS (docs/METHOD.md §6.2) on the shared encoder, as the authors' baselines/infoTS.py
 * runs it: the TSEncoder (50% time-step input masking on every call, dc_ts2vec_encode), an
 * AutoAUG view 1 (x itself with probability 1 - aug_p, else a softmax-gated convex mix of
 * the 7 augmentations below), view 2 = x, and global + local InfoNCE on raw dot products.
 *
 *     dc_model_config cfg = dc_model_config_defaults("infots", "harth", "corrected");
 *     dc_model *m = dc_model_new(&cfg, be, D);           // head: infots.aug_weight (2, 7)
 *     dc_tensor *L = dc_model_loss(m, ctx, x, 1, &rng, &terms);
 *
 * Both protocols keep the code's objective: temperature 1.0 for both losses and the local
 * loss on the first sequence only. authors never trains the augmentation weights; corrected
 * trains them (cfg.train_heads, the meta-learner simplified as docs/BASELINES.md describes).
 * The paper's tau0 = 2.0, tau1 = 0.1 and a local loss over every sequence are a variant
 * (options infots_tau_global, infots_tau_local, infots_local_loss). Not here: the NaN-row
 * zeroing of TSEncoder (the pipeline emits no NaN).
 */
#ifndef DC_INFOTS_H
#define DC_INFOTS_H

#include "train/dc_model.h"

/* The registry entry (models/train/model_registry.c) and its options (cfg.opt slots). */
extern const dc_model_vtbl dc_infots_vtbl;
enum {
    DC_INFOTS_TAU_GLOBAL, /* global InfoNCE temperature: 1.0 (the code's; the paper's tau0 = 2.0 is a variant) */
    DC_INFOTS_TAU_LOCAL,  /* local InfoNCE temperature: 1.0 (the code's; the paper's tau1 = 0.1 is a variant) */
    DC_INFOTS_AUG_P,      /* probability that view 1 is the augmented mix */
    DC_INFOTS_LOCAL_K,    /* chunks of the local InfoNCE */
    DC_INFOTS_MAX_LEN,    /* longer sequences are first cut to a random window */
    DC_INFOTS_LOCAL_ALL,  /* local InfoNCE over every sequence (a variant; default: the first only, as the code) */
    DC_INFOTS_VARIETY,    /* corrected meta-learner: weight of the augmentation-entropy term */
    DC_INFOTS_N_OPTIONS
};

/* The candidate augmentations, in the order of the weight columns. */
enum {
    DC_AUG_SUBSEQUENCE,
    DC_AUG_CUTOUT,
    DC_AUG_JITTER,
    DC_AUG_SCALING,
    DC_AUG_TIME_WARP,
    DC_AUG_WINDOW_SLICE,
    DC_AUG_WINDOW_WARP,
    DC_AUG_COUNT
};
const char *dc_aug_name(int aug);   /* "subsequence", ... */

/* ---- augmentations on x (B, T, D), any backend; random parameters given explicitly ----
 * Each returns a new (B, T, D) tensor (differentiable in x). Parameters out of range fail
 * with a message naming them. */
/* Keep x[:, start : start+len], zero the rest (same window for every row). */
dc_tensor *dc_aug_subsequence(dc_ctx *ctx, dc_tensor *x, int64_t start, int64_t len);
/* Zero x[:, start : start+len]. */
dc_tensor *dc_aug_cutout(dc_ctx *ctx, dc_tensor *x, int64_t start, int64_t len);
/* x + noise, noise (B, T, D) (N(0, 0.3^2) in training). */
dc_tensor *dc_aug_jitter(dc_ctx *ctx, dc_tensor *x, dc_tensor *noise);
/* x * factor, factor (B, 1, D) broadcast over time (N(1, 0.5^2) in training). */
dc_tensor *dc_aug_scaling(dc_ctx *ctx, dc_tensor *x, dc_tensor *factor);
/* tsaug TimeWarp per row b from its n+1 speeds u[b*(n+1) ..] in [0, 1): the warp path of
 * dc_time_warp_path, then linear interpolation of the row at the warped positions. */
dc_tensor *dc_aug_time_warp(dc_ctx *ctx, dc_tensor *x, const double *u, int64_t n, double max_ratio);
/* Per row, the crop [start[b], start[b] + ceil(ratio T)) resized to T (linear,
 * align_corners = False). x itself when ceil(ratio T) >= T. */
dc_tensor *dc_aug_window_slice(dc_ctx *ctx, dc_tensor *x, const int64_t *start, double ratio);
/* Per row, the window [start[b], start[b] + ws), ws = ceil(ratio T), resized to
 * int(ws * scale[b]) samples, put back between the untouched head and tail, and the whole
 * row resized to T (both resizes linear, align_corners = False). */
dc_tensor *dc_aug_window_warp(dc_ctx *ctx, dc_tensor *x, const int64_t *start, const double *scale, double ratio);

/* ---- host helpers of the resampling ---- */
/* torch's linear interpolation, align_corners = False, for output sample i of Lin -> Lout:
 * src = max((i + 0.5) Lin / Lout - 0.5, 0), i0 = floor(src), i1 = min(i0 + 1, Lin - 1),
 * out = (1 - lam) in[i0] + lam in[i1], lam = src - i0. */
void dc_interp_linear(int64_t i, int64_t Lin, int64_t Lout, int64_t *i0, int64_t *i1, double *lam);
/* tsaug TimeWarp's path for one row: anchors k/(n+1) (T-1), k = 0..n+1; speeds
 * v = u - (max u - r min u)/(1 - r); values [0, cumsum(v)/sum(v) (T-1)]; the monotone PCHIP
 * interpolant (scipy's PchipInterpolator) of anchors -> values at t = 0..T-1, into path (T).
 * All-equal speeds give the identity path. */
dc_status dc_time_warp_path(const double *u, int64_t n, double max_ratio, int64_t T, double *path);

/* ---- the view and the losses ---- */
/* Gate weights para = softmax(g + w) along the last axis with g = log(eps) - log(1 - eps),
 * eps = 0.9999 - 0.9998 u, for w (2, 7) and the host uniforms u (2 * 7). -> (2, 7). */
dc_tensor *dc_infots_gates(dc_ctx *ctx, dc_tensor *w, const double *u);
/* sum_k para0[k] * augs[k] for para0 (1, 7) and the 7 augmented copies (B, T, D). */
dc_tensor *dc_infots_mix(dc_ctx *ctx, dc_tensor *para0, dc_tensor *const *augs);
/* Every augmentation of x with parameters drawn from rng (docs/METHOD.md §6.2), into augs[7]. */
dc_status dc_infots_augment_all(dc_ctx *ctx, dc_tensor *x, dc_rng *rng, dc_tensor **augs);
/* Global InfoNCE: max-pool z1, z2 (B, T, F) over time, stack the 2B vectors, dot products
 * divided by tau without the diagonal; each row's positive is the other view of its series;
 * mean cross-entropy. */
dc_tensor *dc_infots_global_infonce(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2, double tau);
/* Local InfoNCE on z (B, T, F): cs = T / k, the k chunks of z[b, start : start + k cs]
 * max-pooled to k vectors, their k x k dot products / tau; the positive of row i is i+1
 * (row k-1: k-2); the negatives are every j but i-1, i, i+1 (and 2 for row 0, k-3 for row
 * k-1); mean cross-entropy over the rows of sequence 0 only (all_rows = 0, the authors') or
 * of every sequence. Needs k >= 4 and T >= k. */
dc_tensor *dc_infots_local_infonce(dc_ctx *ctx, dc_tensor *z, int64_t k, int64_t start, double tau, int all_rows);

#endif
