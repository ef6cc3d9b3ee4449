/* dc_frames.h: a dataset of instances (frames) in memory, and sequences cut from it.
 *
 *     dc_frames fr;                                   // X (n, D) float, labels, subjects
 *     dc_synthetic_generate(NULL, &fr);               // the embedded default dataset
 *     dc_sequences seq;
 *     dc_sequences_window(&fr, 119, 24, &seq);        // HARTH-style overlapping windows
 *     dc_sequences_gather(&fr, &seq, idx, 8, host);   // (8, 119, D) batch into host memory
 *
 * Sequences never cross a subject boundary. Owned arrays are freed by the *_free calls.
 */
#ifndef DC_FRAMES_H
#define DC_FRAMES_H

#include <stdint.h>

#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_MAX_CLASSES 32

typedef struct dc_frames {
    int64_t n, D;              /* instances, features */
    float *X;                  /* (n, D) row-major */
    int32_t *label;            /* (n), -1 = unlabelled */
    int32_t *subject;          /* (n), non-decreasing */
    int n_classes;
    char class_names[DC_MAX_CLASSES][24];
} dc_frames;

void dc_frames_free(dc_frames *f);  /* frees the arrays; accepts NULL */

typedef struct dc_sequences {
    int64_t n, T;              /* sequences, length in frames */
    int64_t *start;            /* (n) first frame of each sequence */
} dc_sequences;

/* Windows of T frames every `stride` frames, per subject (HARTH rule: a subject with F
 * frames gives max(1, ceil((F + 1 - T) / stride)) windows; windows must fit, so subjects
 * shorter than T give none). stride == T gives non-overlapping blocks. */
dc_status dc_sequences_window(const dc_frames *f, int64_t T, int64_t stride, dc_sequences *out);
void dc_sequences_free(dc_sequences *s);
/* Copy sequences idx[0..count) into dst (count, T, D) row-major. */
dc_status dc_sequences_gather(const dc_frames *f, const dc_sequences *s, const int64_t *idx, int64_t count,
                              float *dst);

/* ---- the embedded synthetic default dataset ---- */
typedef struct dc_synth_opts {
    uint64_t seed;             /* 7 */
    int subjects;              /* 8 */
    double minutes;            /* per subject, 6 */
} dc_synth_opts;
dc_synth_opts dc_synth_opts_default(void);
/* Deterministic 6-channel 50 Hz signal per subject, switching between 4 labelled regimes
 * with different spectra; features are HARTH-style STFT magnitudes (Hann 50, hop 25,
 * D = 6 x 26 = 156), z-scored per feature. Runs the FFT on the CPU backend. */
dc_status dc_synthetic_generate(const dc_synth_opts *opts, dc_frames *out);

#ifdef __cplusplus
}
#endif
#endif
