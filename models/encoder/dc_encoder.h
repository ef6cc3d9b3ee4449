/* dc_encoder.h: the shared encoder of DynaCL and every baseline (docs/METHOD.md §2):
 * 3 x [1x1 conv -> BatchNorm1d -> ReLU], D -> 128 -> 64 -> 32, on (B, T, D) -> (B, T, 32).
 *
 *     dc_encoder *enc = dc_encoder_new(be, 156);
 *     dc_rng rng = dc_rng_init(42);
 *     dc_encoder_init(enc, &rng);                       // PyTorch's default initialisation
 *     dc_tensor *z = dc_encoder_forward(enc, ctx, x, 1); // training mode: batch statistics
 *
 * A 1x1 convolution is a per-time-step linear map, so the encoder is a 3-layer MLP over the
 * B*T rows whose BatchNorm statistics mix all rows. Conv weights are stored as (out, in);
 * checkpoints add the trailing kernel axis of PyTorch's (out, in, 1).
 */
#ifndef DC_ENCODER_H
#define DC_ENCODER_H

#include "dc/dc.h"

#define DC_ENCODER_LAYERS 3
#define DC_ENCODER_OUT 32

typedef struct dc_encoder {
    int64_t dims[DC_ENCODER_LAYERS + 1];   /* D, 128, 64, 32 */
    dc_params *params;                     /* trainable: conv{1,2,3}.weight/bias, bn{1,2,3}.weight/bias */
    dc_params *buffers;                    /* bn{1,2,3}.running_mean/running_var */
    dc_tensor *w[DC_ENCODER_LAYERS];       /* conv weight (out, in) */
    dc_tensor *b[DC_ENCODER_LAYERS];       /* conv bias (out) */
    dc_tensor *gamma[DC_ENCODER_LAYERS];   /* bn weight (out) */
    dc_tensor *beta[DC_ENCODER_LAYERS];    /* bn bias (out) */
    dc_tensor *run_mean[DC_ENCODER_LAYERS];/* (out) */
    dc_tensor *run_var[DC_ENCODER_LAYERS]; /* (out) */
    int64_t num_batches_tracked;           /* train-mode forwards (same for all three BNs) */
} dc_encoder;

dc_encoder *dc_encoder_new(dc_backend *be, int64_t in_dim);
void dc_encoder_free(dc_encoder *enc);
/* Conv weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in the order conv1, conv2, conv3;
 * BN gamma 1, beta 0, running mean 0, running var 1, counter 0. */
dc_status dc_encoder_init(dc_encoder *enc, dc_rng *rng);
/* x: (B, T, D) or (N, D). Returns (B, T, 32) or (N, 32). training selects BN statistics. */
dc_tensor *dc_encoder_forward(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, int training);

/* Embed n sequences of T instances (host rows X (n, T, D), float32) in eval mode (BatchNorm
 * running statistics, no gradient), `chunk` sequences per pass, into Z (n, T, 32). */
dc_status dc_encoder_embed(dc_encoder *enc, const float *X, int64_t n, int64_t T, float *Z, int64_t chunk);

#endif
