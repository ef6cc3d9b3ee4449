/* stft.c: STFT magnitudes with torch.stft semantics (docs/METHOD.md §1.0) on top of the backend's
 * rfft op. Frames are windowed on the host, batched (all channels of up to ~80k frames per
 * dc_rfft call), transformed on the backend and turned into magnitudes on the host.
 * The windowed labels that share this framing live in labels.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_stft.h"

#define TWO_PI 6.283185307179586476925286766559
#define STFT_BATCH_VALUES (1 << 22) /* windowed samples per rfft call (16 MiB of float32) */

dc_status dc_stft_samples(double fs, double win_s, double hop_s, int64_t *win, int64_t *hop) {
    if (!win || !hop) return dc_fail(DC_ERR_ARG, "stft: NULL output");
    if (!(fs > 0) || !(win_s > 0) || !(hop_s > 0) || !isfinite(fs * win_s) || !isfinite(fs * hop_s))
        return dc_fail(DC_ERR_ARG, "stft: sampling rate %g Hz, window %g s and hop %g s must be positive", fs, win_s,
                       hop_s);
    double w = floor(fs * win_s + 0.5), h = floor(fs * hop_s + 0.5);
    if (w < 1 || h < 1 || w > 1e6)
        return dc_fail(DC_ERR_ARG, "stft: %g s at %g Hz gives a window of %g samples and a hop of %g (need 1..1e6)",
                       win_s, fs, w, h);
    *win = (int64_t)w;
    *hop = (int64_t)h;
    return DC_OK;
}

int64_t dc_stft_frames(int64_t len, int64_t win, int64_t hop) {
    if (win < 1 || hop < 1 || len < win) return 0;
    return 1 + (len - win) / hop;
}

void dc_stft_hann(int64_t win, double *w) {
    for (int64_t n = 0; n < win; n++) w[n] = 0.5 - 0.5 * cos(TWO_PI * (double)n / (double)win);
}

dc_status dc_stft_magnitude(dc_backend *be, const float *x, int64_t len, int n_ch, int64_t sample_stride,
                            int64_t ch_stride, int64_t win, int64_t hop, float *out, int64_t out_stride) {
    const int64_t nb = win / 2 + 1;
    if (!x || !out) return dc_fail(DC_ERR_ARG, "stft: NULL input or output");
    if (n_ch < 1 || win < 1 || hop < 1 || len < 0 || out_stride < n_ch * nb)
        return dc_fail(DC_ERR_ARG, "stft: bad arguments (channels %d, window %lld, hop %lld, output stride %lld < %lld)",
                       n_ch, (long long)win, (long long)hop, (long long)out_stride, (long long)(n_ch * nb));
    const int64_t F = dc_stft_frames(len, win, hop);
    if (F == 0) return DC_OK;
    int64_t chunk = STFT_BATCH_VALUES / (win * n_ch);
    if (chunk < 1) chunk = 1;
    if (chunk > F) chunk = F;
    dc_backend *own = NULL;
    if (!be && !(be = own = dc_backend_new("cpu"))) return dc_fail_prefix("stft");
    dc_ctx *ctx = dc_ctx_new(be);
    double *w = malloc((size_t)win * sizeof *w);
    float *frames = malloc((size_t)(chunk * n_ch * win) * sizeof *frames);
    float *spec = malloc((size_t)(chunk * n_ch * nb * 2) * sizeof *spec);
    dc_status st = DC_OK;
    if (!ctx || !w || !frames || !spec) {
        st = ctx ? dc_fail(DC_ERR_OOM, "stft: out of host memory for %lld frames of %lld samples", (long long)chunk,
                           (long long)win)
                 : dc_last_status();
        goto done;
    }
    dc_ctx_set_grad_enabled(ctx, 0);
    dc_stft_hann(win, w);
    for (int64_t m0 = 0; m0 < F && st == DC_OK; m0 += chunk) {
        const int64_t cnt = F - m0 < chunk ? F - m0 : chunk, rows = cnt * n_ch;
        /* row c * cnt + j: frame m0 + j of channel c, windowed */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (rows * win > 65536)
#endif
        for (int64_t r = 0; r < rows; r++) {
            const int64_t c = r / cnt, m = m0 + r % cnt;
            const float *src = x + c * ch_stride + m * hop * sample_stride;
            float *dst = frames + r * win;
            for (int64_t n = 0; n < win; n++) dst[n] = (float)(w[n] * (double)src[n * sample_stride]);
        }
        dc_tensor *t = dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){rows, win}, frames);
        dc_tensor *f = t ? dc_rfft(ctx, t) : NULL;
        if (!f || dc_tensor_download(f, spec, (size_t)(rows * nb * 2) * sizeof(float)) != DC_OK) {
            st = dc_fail_prefix("stft: rfft of %lld frames of length %lld on %s", (long long)rows, (long long)win,
                                dc_backend_name(be));
            break;
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (rows * nb > 65536)
#endif
        for (int64_t r = 0; r < rows; r++) {
            const int64_t c = r / cnt, m = m0 + r % cnt;
            const float *s = spec + r * nb * 2;
            float *o = out + m * out_stride + c * nb;
            for (int64_t k = 0; k < nb; k++) {
                double re = s[2 * k], im = s[2 * k + 1];
                o[k] = (float)sqrt(re * re + im * im);
            }
        }
        dc_ctx_reset(ctx);
    }
done:
    free(w);
    free(frames);
    free(spec);
    dc_ctx_free(ctx);
    dc_backend_free(own);
    return st;
}
