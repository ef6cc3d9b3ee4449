/* synthetic.c: the embedded default dataset. A deterministic, HARTH-shaped stand-in that
 * needs no download: 6 accelerometer-like channels at 50 Hz per subject, switching between
 * four labelled regimes whose spectra differ, turned into STFT magnitude frames exactly as
 * HARTH is (docs/METHOD.md §1.1: periodic Hann 50, hop 25, center=False, D = 6 x 26 = 156, z-score).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_frames.h"
#include "data/dc_stft.h"

#define FS 50.0
#define NCH 6
#define WIN 50
#define HOP 25
#define NBIN (WIN / 2 + 1)
#define NREG 4
#define TWO_PI 6.283185307179586

static const char *const k_names[NREG] = {"rest", "walk", "run", "cycle"};
/* per regime: fundamental (Hz), harmonic weights, amplitude per channel, posture offset */
static const double k_f0[NREG] = {0.25, 1.8, 2.8, 1.2};
static const double k_harm[NREG][3] = {{1, 0, 0}, {1, 0.5, 0.2}, {1, 0.7, 0.45}, {1, 0.1, 0}};
static const double k_amp[NREG][NCH] = {
    {0.02, 0.02, 0.02, 0.02, 0.02, 0.02},
    {0.30, 0.15, 0.20, 0.60, 0.35, 0.40},
    {0.80, 0.40, 0.50, 1.40, 0.90, 1.00},
    {0.05, 0.05, 0.05, 0.70, 0.70, 0.20},
};
static const double k_posture[NREG][NCH] = {
    {-0.2, 0.0, 0.98, 0.1, 0.0, 0.99},
    {-0.9, 0.1, 0.30, -0.95, 0.1, 0.2},
    {-0.9, 0.2, 0.30, -0.90, 0.2, 0.3},
    {-0.7, 0.0, 0.60, -0.20, 0.0, 0.9},
};

dc_synth_opts dc_synth_opts_default(void) {
    dc_synth_opts o = {7, 8, 6.0};
    return o;
}

/* Raw signal of one subject: sig (n, NCH), lab (n). */
static void subject_signal(dc_rng *rng, int64_t n, float *sig, int32_t *lab) {
    double fscale = 0.9 + 0.2 * dc_rng_uniform(rng), ascale = 0.8 + 0.4 * dc_rng_uniform(rng);
    double phase[NCH][3];
    for (int c = 0; c < NCH; c++)
        for (int h = 0; h < 3; h++) phase[c][h] = TWO_PI * dc_rng_uniform(rng);
    int reg = (int)dc_rng_randint(rng, 0, NREG - 1);
    int64_t seg_end = 0;
    double t_in = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i >= seg_end) { /* next segment: 8-40 s of a different regime */
            if (i > 0) reg = (reg + 1 + (int)dc_rng_randint(rng, 0, NREG - 2)) % NREG;
            seg_end = i + (int64_t)((8.0 + 32.0 * dc_rng_uniform(rng)) * FS);
            t_in = 0;
        }
        double t = t_in / FS;
        for (int c = 0; c < NCH; c++) {
            double v = k_posture[reg][c];
            for (int h = 0; h < 3; h++)
                v += ascale * k_amp[reg][c] * k_harm[reg][h] * sin(TWO_PI * k_f0[reg] * fscale * (h + 1) * t + phase[c][h]);
            if (reg == 3 && c < 3) v += 0.08 * sin(TWO_PI * 6.0 * t + phase[c][0]); /* vibration on the back */
            v += 0.05 * dc_rng_normal(rng);
            sig[i * NCH + c] = (float)v;
        }
        lab[i] = reg;
        t_in += 1;
    }
}

dc_status dc_synthetic_generate(const dc_synth_opts *opts, dc_frames *out) {
    if (!out) return dc_fail(DC_ERR_ARG, "synthetic: output is NULL");
    memset(out, 0, sizeof *out);
    dc_synth_opts o = opts ? *opts : dc_synth_opts_default();
    if (o.subjects < 1 || !(o.minutes * 60.0 * FS >= WIN))
        return dc_fail(DC_ERR_ARG, "synthetic: need >= 1 subject and >= 1 s per subject");
    int64_t n_samp = (int64_t)(o.minutes * 60.0 * FS), fr_per = dc_stft_frames(n_samp, WIN, HOP);
    int64_t n = fr_per * o.subjects, D = NCH * NBIN;
    out->X = malloc((size_t)(n * D) * sizeof(float));
    out->label = malloc((size_t)n * sizeof(int32_t));
    out->subject = malloc((size_t)n * sizeof(int32_t));
    float *sig = malloc((size_t)(n_samp * NCH) * sizeof(float));
    int32_t *lab = malloc((size_t)n_samp * sizeof(int32_t));
    dc_backend *be = dc_backend_new("cpu");
    dc_status st = DC_OK;
    if (!out->X || !out->label || !out->subject || !sig || !lab || !be) {
        st = be ? dc_fail(DC_ERR_OOM, "synthetic: out of host memory") : dc_last_status();
        goto done;
    }
    out->n = n;
    out->D = D;
    out->n_classes = NREG;
    for (int k = 0; k < NREG; k++) strcpy(out->class_names[k], k_names[k]);
    dc_rng rng = dc_rng_init(o.seed);
    for (int s = 0; s < o.subjects && st == DC_OK; s++) {
        subject_signal(&rng, n_samp, sig, lab);
        int64_t base = (int64_t)s * fr_per;
        st = dc_stft_magnitude(be, sig, n_samp, NCH, NCH, 1, WIN, HOP, out->X + base * D, D);
        if (st == DC_OK) st = dc_windowed_labels(lab, n_samp, WIN, HOP, NREG, out->label + base);
        for (int64_t m = 0; m < fr_per; m++) out->subject[base + m] = s;
    }
    /* z-score per feature (population std; 0 -> 1e-10 as HARTH) */
    for (int64_t j = 0; j < D && st == DC_OK; j++) {
        double mu = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mu += out->X[i * D + j];
        mu /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (out->X[i * D + j] - mu) * (out->X[i * D + j] - mu);
        double sd = sqrt(var / (double)n);
        if (sd == 0) sd = 1e-10;
        for (int64_t i = 0; i < n; i++) out->X[i * D + j] = (float)((out->X[i * D + j] - mu) / sd);
    }
done:
    free(sig), free(lab);
    dc_backend_free(be);
    if (st != DC_OK) dc_frames_free(out);
    return st;
}
