/* dc_stft.h: the framing building blocks of docs/METHOD.md §1.0: STFT magnitudes with torch.stft
 * semantics (periodic Hann, center=False, one-sided, unnormalised) and argmax windowed
 * labels over the same frames.
 *
 *     int64_t W, H;
 *     dc_stft_samples(50.0, 1.0, 0.5, &W, &H);          // 1-s window, 0.5-s hop at 50 Hz: 50, 25
 *     int64_t F = dc_stft_frames(n, W, H);              // 1 + floor((n - W) / H), 0 if n < W
 *     // x: (n, 6) interleaved samples; out: (F, 6 * (W/2 + 1)) channel-major features
 *     dc_stft_magnitude(be, x, n, 6, 6, 1, W, H, out, 6 * (W / 2 + 1));
 *     dc_windowed_labels(y, n, W, H, 12, frame_labels);  // (F) argmax, ties -> smaller class
 *
 * The FFTs run through the backend's rfft (dc_rfft), many frames per call.
 */
#ifndef DC_STFT_H
#define DC_STFT_H

#include <stdint.h>

#include "dc/dc_backend.h"
#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Window and hop in samples from seconds at sampling rate fs (rounded to the nearest
 * sample): fs 360 gives 360 / 180. DC_ERR_ARG if either would be < 1 or W > 1e6. */
dc_status dc_stft_samples(double fs, double win_s, double hop_s, int64_t *win, int64_t *hop);
/* Complete frames of a signal of len samples: 1 + floor((len - win) / hop), 0 if len < win. */
int64_t dc_stft_frames(int64_t len, int64_t win, int64_t hop);
/* Periodic Hann window: w[n] = 0.5 - 0.5 cos(2 pi n / win), n = 0..win-1. */
void dc_stft_hann(int64_t win, double *w);

/* STFT magnitudes of n_ch channels. Sample t of channel c is x[t * sample_stride + c *
 * ch_stride] (interleaved (len, n_ch): sample_stride = n_ch, ch_stride = 1). Frame m of
 * the F = dc_stft_frames(len, win, hop) frames is written at out + m * out_stride:
 * out[..][c * (win/2 + 1) + k] = |sum_n w[n] x_c[m*hop + n] e^{-2 pi i k n / win}|,
 * k = 0..win/2. be: the backend whose rfft runs (NULL: the CPU backend). */
dc_status dc_stft_magnitude(dc_backend *be, const float *x, int64_t len, int n_ch, int64_t sample_stride,
                            int64_t ch_stride, int64_t win, int64_t hop, float *out, int64_t out_stride);

/* Frame labels over the same frames: the class with the most samples in [m*hop, m*hop +
 * win), ties to the smallest class index. Labels < 0 are unlabelled and not counted; a frame
 * with no labelled sample gets -1. DC_ERR_ARG (naming the sample) for a label >= n_classes;
 * n_classes <= 256. */
dc_status dc_windowed_labels(const int32_t *labels, int64_t len, int64_t win, int64_t hop, int n_classes,
                             int32_t *out);

#ifdef __cplusplus
}
#endif
#endif
