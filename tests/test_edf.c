/* test_edf.c: EDF/EDF+ reader on the genuine Sleep-EDF hypnogram and EDFlib generator
 * files, on PSG-shaped files written here (SleepEEG builder checked value by value), and on
 * broken copies. Expected values come from the header bytes as found (e.g. the hypnogram's
 * "EDF+C", 1 record of duration 0), from the stage annotations counted once from the
 * hypnogram's TAL bytes by an independent parser (a throw-away script), from the EDFlib
 * generator's documented waveforms, a one-off inspection of the TAL bytes (noted where
 * used), or hand computation, never from the reader's own output.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dc_edf.h"
#include "dc_test.h"

#define PI 3.14159265358979323846

static uint8_t *slurp(const char *rel, size_t *len) {
    char path[4096];
    dc_test_data_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 64);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static dc_edf *open_data(const char *rel) {
    char path[4096];
    dc_test_data_path(path, sizeof path, rel);
    dc_edf *e = NULL;
    ck_assert_msg(dc_edf_open(path, &e) == DC_OK, "%s", dc_last_error());
    return e;
}

/* Write `w` bytes at off: s left-justified, space padded (EDF header fields). */
static void put(uint8_t *b, size_t off, size_t w, const char *s) {
    memset(b + off, ' ', w);
    memcpy(b + off, s, strlen(s) < w ? strlen(s) : w);
}

/* ---- an EDF writer for tests ------------------------------------------------------------ */

typedef struct tsig {
    const char *label, *pmin, *pmax, *dmin, *dmax;
    int spr;
} tsig;

typedef struct tedf {
    const char *reserved, *date, *time, *nrec_field, *duration;
    int ns, nrec;
    const tsig *sig;
} tedf;

/* fill(r, s, dst, n): write n 16-bit samples of signal s in record r (little-endian). */
typedef void (*fill_fn)(int r, int s, uint8_t *dst, int n);

static uint8_t *edf_build(const tedf *t, fill_fn fill, size_t *len) {
    size_t hb = 256 * (size_t)(t->ns + 1), rb = 0;
    for (int s = 0; s < t->ns; s++) rb += 2 * (size_t)t->sig[s].spr;
    *len = hb + rb * (size_t)t->nrec;
    uint8_t *b = calloc(1, *len);
    char tmp[32];
    put(b, 0, 8, "0");
    put(b, 8, 80, "X X X test");
    put(b, 88, 80, "Startdate X X X X");
    put(b, 168, 8, t->date);
    put(b, 176, 8, t->time);
    snprintf(tmp, sizeof tmp, "%zu", hb);
    put(b, 184, 8, tmp);
    put(b, 192, 44, t->reserved);
    put(b, 236, 8, t->nrec_field);
    put(b, 244, 8, t->duration);
    snprintf(tmp, sizeof tmp, "%d", t->ns);
    put(b, 252, 4, tmp);
    const int ns = t->ns;
    for (int i = 0; i < ns; i++) {
        put(b, 256 + 16 * i, 16, t->sig[i].label);
        put(b, 256 + 16 * ns + 80 * i, 80, "");
        put(b, 256 + 96 * ns + 8 * i, 8, "uV");
        put(b, 256 + 104 * ns + 8 * i, 8, t->sig[i].pmin);
        put(b, 256 + 112 * ns + 8 * i, 8, t->sig[i].pmax);
        put(b, 256 + 120 * ns + 8 * i, 8, t->sig[i].dmin);
        put(b, 256 + 128 * ns + 8 * i, 8, t->sig[i].dmax);
        put(b, 256 + 136 * ns + 80 * i, 80, "");
        snprintf(tmp, sizeof tmp, "%d", t->sig[i].spr);
        put(b, 256 + 216 * ns + 8 * i, 8, tmp);
        put(b, 256 + 224 * ns + 32 * i, 32, "");
    }
    uint8_t *p = b + hb;
    for (int r = 0; r < t->nrec; r++)
        for (int s = 0; s < ns; s++) {
            fill(r, s, p, t->sig[s].spr);
            p += 2 * t->sig[s].spr;
        }
    return b;
}

static void put16(uint8_t *p, int v) {
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
}

/* ---- genuine Sleep-EDF hypnogram ---------------------------------------------------------- */

START_TEST(test_hypnogram_header) {
    dc_edf *e = open_data("sleepedf/SC4001EC-Hypnogram.edf");
    ck_assert_str_eq(e->version, "0");
    ck_assert_str_eq(e->patient, "X F X Female_33yr");
    ck_assert_str_eq(e->recording, "Startdate 24-APR-1989 X X X");
    ck_assert_str_eq(e->start_date, "24.04.89");
    ck_assert_str_eq(e->start_time, "16.13.00");
    ck_assert_int_eq(e->header_bytes, 512);
    ck_assert_str_eq(e->reserved, "EDF+C");
    ck_assert_int_eq(e->is_edfplus, 1);
    ck_assert_int_eq(e->is_discontinuous, 0);
    ck_assert_int_eq(e->n_records, 1);
    ck_assert_double_eq(e->record_duration, 0.0);
    ck_assert_int_eq(e->n_signals, 1);
    ck_assert_str_eq(e->sig[0].label, "EDF Annotations");
    ck_assert_int_eq(e->sig[0].is_annotation, 1);
    ck_assert_int_eq(e->sig[0].samples_per_record, 2054);
    ck_assert_int_eq(e->record_bytes, 4108);
    ck_assert_uint_eq(e->size, 4620);
    ck_assert_int_eq(dc_edf_find_signal(e, "  EDF Annotations "), 0);
    ck_assert_int_eq(dc_edf_find_signal(e, "EEG Fpz-Cz"), -1);
    ck_assert_double_eq(dc_edf_signal_rate(e, 0), 0.0); /* duration 0: no rate */
    dc_edf_free(e);
}
END_TEST

START_TEST(test_hypnogram_annotations) {
    dc_edf *e = open_data("sleepedf/SC4001EC-Hypnogram.edf");
    dc_edf_annots *a = NULL;
    ck_assert_msg(dc_edf_read_annotations(e, &a) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(a->n_records, 1);
    ck_assert_double_eq(a->record_onset[0], 0.0); /* timekeeping TAL "+0\x14\x14" */
    ck_assert_int_eq(a->n, 154);
    /* stage annotations per text, counted independently from the TAL bytes */
    const char *texts[] = {"Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3",
                           "Sleep stage 4", "Sleep stage R", "Sleep stage ?"};
    const int want[] = {12, 24, 40, 48, 23, 6, 1};
    int got[7] = {0}, other = 0, tiled = 1, mult30 = 1;
    double pos = 0;
    for (int64_t k = 0; k < a->n; k++) {
        int hit = 0;
        for (int q = 0; q < 7; q++)
            if (!strcmp(a->ann[k].text, texts[q])) got[q]++, hit = 1;
        other += !hit;
        /* as counted there: durations are multiples of 30 s; the annotations cover 0..86400 s */
        tiled &= a->ann[k].onset == pos;
        mult30 &= fmod(a->ann[k].duration, 30.0) == 0 && a->ann[k].duration > 0;
        pos = a->ann[k].onset + a->ann[k].duration;
    }
    for (int q = 0; q < 7; q++) ck_assert_msg(got[q] == want[q], "%s: %d, counted %d", texts[q], got[q], want[q]);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(tiled, 1);
    ck_assert_int_eq(mult30, 1);
    ck_assert_double_eq(pos, 86400.0);
    ck_assert_double_eq(a->ann[0].onset, 0.0);
    ck_assert_double_eq(a->ann[0].duration, 30630.0);
    ck_assert_str_eq(a->ann[0].text, "Sleep stage W");
    ck_assert_double_eq(a->ann[153].onset, 79500.0);
    ck_assert_double_eq(a->ann[153].duration, 6900.0);
    ck_assert_str_eq(a->ann[153].text, "Sleep stage ?");
    dc_edf_annots_free(a);
    dc_edf_free(e);
}
END_TEST

START_TEST(test_hypnogram_epochs) {
    dc_edf *e = open_data("sleepedf/SC4001EC-Hypnogram.edf");
    dc_edf_annots *a = NULL;
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_OK);
    int32_t *st = NULL;
    int64_t n = 0;
    ck_assert_int_eq(dc_sleep_hypnogram_epochs(a, &st, &n), DC_OK);
    /* The annotations tile 0..86400 s (checked above), so there are 86400/30 = 2880 epochs.
     * Per-stage epoch counts are the sums of duration/30 over each stage's annotations,
     * taken once from the TAL bytes with an independent throw-away script:
     *   W 1997, 1 58, 2 250, 3 101, 4 119, R 125, ? 230 (the last annotation: 6900/30).
     * With stages 3 and 4 merged into N3: W 1997, N1 58, N2 250, N3 220, REM 125. */
    ck_assert_int_eq(n, 2880);
    int64_t cnt[6] = {0};
    for (int64_t i = 0; i < n; i++) cnt[st[i] + 1]++;
    ck_assert_int_eq(cnt[0], 230);
    ck_assert_int_eq(cnt[1 + DC_SLEEP_W], 1997);
    ck_assert_int_eq(cnt[1 + DC_SLEEP_N1], 58);
    ck_assert_int_eq(cnt[1 + DC_SLEEP_N2], 250);
    ck_assert_int_eq(cnt[1 + DC_SLEEP_N3], 220);
    ck_assert_int_eq(cnt[1 + DC_SLEEP_REM], 125);
    /* cross-check against the annotation list: every epoch carries its annotation's stage */
    int mismatch = 0;
    for (int64_t k = 0; k < a->n; k++) {
        int code = dc_sleep_stage_code(a->ann[k].text);
        for (int64_t i = (int64_t)(a->ann[k].onset / 30); i < (int64_t)((a->ann[k].onset + a->ann[k].duration) / 30); i++)
            mismatch += st[i] != code;
    }
    ck_assert_int_eq(mismatch, 0);
    ck_assert_int_eq(st[0], DC_SLEEP_W);        /* +0 dur 30630 W: epochs 0..1020 */
    ck_assert_int_eq(st[1020], DC_SLEEP_W);
    ck_assert_int_eq(st[1021], DC_SLEEP_N1);    /* +30630 dur 120 stage 1: epochs 1021..1024 */
    ck_assert_int_eq(st[1025], DC_SLEEP_N2);    /* +30750 dur 390 stage 2 */
    ck_assert_int_eq(st[2879], DC_SLEEP_EXCLUDED);
    free(st);
    dc_edf_annots_free(a);
    dc_edf_free(e);
}
END_TEST

START_TEST(test_stage_codes) {
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage W"), DC_SLEEP_W);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage 1"), DC_SLEEP_N1);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage 2"), DC_SLEEP_N2);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage 3"), DC_SLEEP_N3);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage 4"), DC_SLEEP_N3);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage R"), DC_SLEEP_REM);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage ?"), DC_SLEEP_EXCLUDED);
    ck_assert_int_eq(dc_sleep_stage_code("Movement time"), DC_SLEEP_EXCLUDED);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage 5"), DC_SLEEP_NOT_STAGE);
    ck_assert_int_eq(dc_sleep_stage_code("Sleep stage WW"), DC_SLEEP_NOT_STAGE);
    ck_assert_int_eq(dc_sleep_stage_code("Lights off"), DC_SLEEP_NOT_STAGE);
    ck_assert_int_eq(dc_sleep_stage_code(NULL), DC_SLEEP_NOT_STAGE);
    /* a hypnogram may span 100,000 epochs (~35 days), no more: one annotation's onset must
     * not make the reader allocate and fill a per-epoch array of any size it names */
    dc_edf_annot an = {0, 30.0 * 100000, "Sleep stage W", 0};
    dc_edf_annots a = {.n = 1, .ann = &an};
    int32_t *st = NULL;
    int64_t n = 0;
    ck_assert_int_eq(dc_sleep_hypnogram_epochs(&a, &st, &n), DC_OK);
    ck_assert(n == 100000 && st[0] == DC_SLEEP_W && st[99999] == DC_SLEEP_W);
    free(st);
    an.onset = 30;
    ck_assert_int_eq(dc_sleep_hypnogram_epochs(&a, &st, &n), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "ends beyond 100000 epochs"), "%s", dc_last_error());
}
END_TEST

/* ---- EDFlib generator files ---------------------------------------------------------------- */

/* Generator (EDFlib test_generator.c): second j, sample i at 200 Hz, k = 200 j + i:
 * square = j % 10 < 5 ? 100 : -100 uV; ramp = -100 + i uV; sine f = 100 sin(2 pi f (k+1)/200).
 * Stored as 16-bit over -1000..1000 uV, so one step is 2000/65535 = 0.0305 uV; the writer
 * rounds, so values lie within 0.05 uV of the formula. */
#define GEN_TOL 0.05

START_TEST(test_generator_header) {
    dc_edf *e = open_data("edf/test_generator.edf");
    const char *labels[] = {"squarewave", "ramp",        "pulse",      "noise",     "sine 1 Hz",
                            "sine 8 Hz",  "sine 8.1777 Hz", "sine 8.5 Hz", "sine 15 Hz", "sine 17 Hz",
                            "sine 50 Hz", "EDF Annotations"};
    ck_assert_int_eq(e->n_records, 600);
    ck_assert_double_eq(e->record_duration, 1.0);
    ck_assert_int_eq(e->n_signals, 12);
    ck_assert_int_eq(e->header_bytes, 256 * 13);
    ck_assert_str_eq(e->reserved, "EDF+C");
    ck_assert_uint_eq(e->size, 2711728);
    /* Note: this (older) generator build writes all 11 signals at 200 Hz, unlike the
     * "200, 256 and 217 Hz" that later EDFlib versions document. */
    for (int i = 0; i < 12; i++) {
        ck_assert_str_eq(e->sig[i].label, labels[i]);
        ck_assert_int_eq(dc_edf_find_signal(e, labels[i]), i);
        ck_assert_int_eq(e->sig[i].dig_min, -32768);
        ck_assert_int_eq(e->sig[i].dig_max, 32767);
        if (i < 11) {
            ck_assert_int_eq(e->sig[i].samples_per_record, 200);
            ck_assert_int_eq(dc_edf_signal_length(e, i), 120000);
            ck_assert_double_eq(dc_edf_signal_rate(e, i), 200.0);
            ck_assert_double_eq(e->sig[i].phys_min, -1000.0);
            ck_assert_double_eq(e->sig[i].phys_max, 1000.0);
            ck_assert_str_eq(e->sig[i].phys_dim, "uV");
            ck_assert_int_eq(e->sig[i].is_annotation, 0);
        }
    }
    ck_assert_int_eq(e->sig[11].is_annotation, 1);
    ck_assert_int_eq(e->sig[11].samples_per_record, 57);
    dc_edf_free(e);
}
END_TEST

static double *gen_signal(dc_edf *e, const char *label) {
    int i = dc_edf_find_signal(e, label);
    ck_assert_int_ge(i, 0);
    double *p = malloc(120000 * sizeof *p);
    ck_assert_int_eq(dc_edf_read_physical(e, i, p), DC_OK);
    return p;
}

/* sign changes (>= 0 counts as positive); *bad counts those not within 1 sample of a
 * multiple of `half` samples (the expected zero crossings) */
static int crossings(const double *p, int n, double half, int *bad) {
    int c = 0;
    *bad = 0;
    for (int k = 1; k < n; k++)
        if ((p[k] >= 0) != (p[k - 1] >= 0)) {
            c++;
            double m = round(k / half);
            if (fabs(k - m * half) > 1.01) (*bad)++;
        }
    return c;
}

START_TEST(test_generator_waveforms) {
    dc_edf *e = open_data("edf/test_generator.edf");
    double *sq = gen_signal(e, "squarewave"), *ramp = gen_signal(e, "ramp"), *s1 = gen_signal(e, "sine 1 Hz"),
           *s8 = gen_signal(e, "sine 8 Hz");
    double err_sq = 0, err_ramp = 0, err_s1 = 0, err_s8 = 0, mx = -1e9, mn = 1e9;
    int flips = 0;
    for (int k = 0; k < 120000; k++) {
        int j = k / 200, i = k % 200;
        err_sq = fmax(err_sq, fabs(sq[k] - (j % 10 < 5 ? 100.0 : -100.0)));
        err_ramp = fmax(err_ramp, fabs(ramp[k] - (-100.0 + i)));
        err_s1 = fmax(err_s1, fabs(s1[k] - 100.0 * sin(2 * PI * (k + 1) / 200.0)));
        err_s8 = fmax(err_s8, fabs(s8[k] - 100.0 * sin(2 * PI * 8.0 * (k + 1) / 200.0)));
        mx = fmax(mx, s1[k]);
        mn = fmin(mn, s1[k]);
        if (k && (sq[k] > 0) != (sq[k - 1] > 0)) {
            flips++;
            ck_assert_int_eq(k % 1000, 0); /* 0.1 Hz square: alternates every 5 s = 1000 samples */
        }
    }
    ck_assert_msg(err_sq < GEN_TOL, "square err %g", err_sq);
    ck_assert_msg(err_ramp < GEN_TOL, "ramp err %g", err_ramp);
    ck_assert_msg(err_s1 < GEN_TOL, "sine 1 Hz err %g", err_s1);
    ck_assert_msg(err_s8 < GEN_TOL, "sine 8 Hz err %g", err_s8);
    ck_assert_int_eq(flips, 119); /* 600 s / 5 s - 1 */
    ck_assert_double_eq_tol(mx, 100.0, GEN_TOL); /* 100 uV amplitude */
    ck_assert_double_eq_tol(mn, -100.0, GEN_TOL);
    /* Sample k has phase (k+1)/200 s, so the last sample (k = 119999) sits exactly on the
     * zero at t = 600 s, where the quantised sign is arbitrary: count over k < 119999, i.e.
     * phases up to 599.995 s. 1 Hz: zeros every 0.5 s (100 samples) -> 1199 crossings;
     * 8 Hz: every 1/16 s (12.5 samples) -> floor(599.995 * 16) = 9599. */
    int bad;
    ck_assert_int_eq(crossings(s1, 119999, 100.0, &bad), 1199);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(crossings(s8, 119999, 12.5, &bad), 9599);
    ck_assert_int_eq(bad, 0);
    /* digital -> physical: phys = (d + 32768) * 2000 / 65535 - 1000 */
    int32_t *dig = malloc(120000 * sizeof *dig);
    ck_assert_int_eq(dc_edf_read_digital(e, 4, dig), DC_OK);
    double worst = 0;
    for (int k = 0; k < 120000; k++) worst = fmax(worst, fabs(s1[k] - ((dig[k] + 32768) * 2000.0 / 65535.0 - 1000.0)));
    ck_assert_double_le(worst, 1e-9);
    free(dig);
    free(sq);
    free(ramp);
    free(s1);
    free(s8);
    dc_edf_free(e);
}
END_TEST

START_TEST(test_generator_annotations) {
    dc_edf *e = open_data("edf/test_generator.edf");
    dc_edf_annots *a = NULL;
    ck_assert_msg(dc_edf_read_annotations(e, &a) == DC_OK, "%s", dc_last_error());
    /* onsets 0 and 600 (pyedflib's tests); labels seen in the file's TAL bytes */
    ck_assert_int_eq(a->n, 2);
    ck_assert_double_eq(a->ann[0].onset, 0.0);
    ck_assert_double_eq(a->ann[0].duration, -1.0);
    ck_assert_str_eq(a->ann[0].text, "Recording starts");
    ck_assert_int_eq(a->ann[0].record, 0);
    ck_assert_double_eq(a->ann[1].onset, 600.0);
    ck_assert_str_eq(a->ann[1].text, "Recording ends");
    ck_assert_int_eq(a->ann[1].record, 1);
    int bad = 0;
    for (int64_t r = 0; r < 600; r++) bad += a->record_onset[r] != (double)r; /* 1-s records */
    ck_assert_int_eq(bad, 0);
    dc_edf_annots_free(a);
    dc_edf_free(e);
}
END_TEST

START_TEST(test_subsecond) {
    dc_edf *e = open_data("edf/test_subsecond.edf");
    ck_assert_int_eq(e->n_records, 698);
    ck_assert_int_eq(e->n_signals, 2);
    ck_assert_str_eq(e->sig[0].label, "Fp1");
    ck_assert_int_eq(e->sig[0].samples_per_record, 128);
    ck_assert_str_eq(e->sig[1].label, "EDF Annotations");
    /* inverted physical range in this file: pmin 8711, pmax -8711 */
    ck_assert_double_eq(e->sig[0].phys_min, 8711.0);
    ck_assert_double_eq(e->sig[0].phys_max, -8711.0);
    int64_t n = dc_edf_signal_length(e, 0);
    ck_assert_int_eq(n, 698 * 128);
    int32_t *d = malloc((size_t)n * sizeof *d);
    double *p = malloc((size_t)n * sizeof *p);
    ck_assert_int_eq(dc_edf_read_digital(e, 0, d), DC_OK);
    ck_assert_int_eq(dc_edf_read_physical(e, 0, p), DC_OK);
    double worst = 0;
    for (int64_t k = 0; k < n; k++)
        worst = fmax(worst, fabs(p[k] - ((d[k] + 32768.0) * (-17422.0 / 65535.0) + 8711.0)));
    ck_assert_double_le(worst, 1e-9);
    free(d);
    free(p);
    dc_edf_annots *a = NULL;
    ck_assert_msg(dc_edf_read_annotations(e, &a) == DC_OK, "%s", dc_last_error());
    /* exact onsets as written in the TAL bytes (inspected once with a throw-away script):
     * rec 0 "+2.3457031 XLSpike", rec 1 "+3.8867187 Clip Note", rec 2 "+290.8964843 XLEvent",
     * rec 3 "+583.9667968 XLSpike"; record r's timekeeping TAL is "+<r>.3945312" */
    ck_assert_int_eq(a->n, 4);
    const double on[] = {2.3457031, 3.8867187, 290.8964843, 583.9667968};
    const char *tx[] = {"XLSpike", "Clip Note", "XLEvent", "XLSpike"};
    for (int k = 0; k < 4; k++) {
        ck_assert_double_eq(a->ann[k].onset, on[k]);
        ck_assert_double_eq(a->ann[k].duration, -1.0);
        ck_assert_str_eq(a->ann[k].text, tx[k]);
        ck_assert_int_eq(a->ann[k].record, k);
    }
    ck_assert_double_eq(a->record_onset[0], 0.3945312);
    ck_assert_double_eq(a->record_onset[1], 1.3945312);
    ck_assert_double_eq(a->record_onset[697], 697.3945312);
    dc_edf_annots_free(a);
    dc_edf_free(e);
}
END_TEST

/* ---- PSG + hypnogram written here ------------------------------------------------------- */

/* PSG: 2 records x 30 s: "Temp rectal" 1 Hz, "EEG Fpz-Cz" 100 Hz, "EEG Pz-Oz" 100 Hz.
 * Fpz-Cz digital value at sample t (0..5999) is t - 3000; the scaling (pmin -16384,
 * pmax 16383.5 over -32768..32767) is exactly 0.5 uV per step, so phys(t) = (t - 3000) / 2. */
static const tsig PSG_SIGS[] = {
    {"Temp rectal", "-100", "100", "-32768", "32767", 30},
    {"EEG Fpz-Cz", "-16384", "16383.5", "-32768", "32767", 3000},
    {"EEG Pz-Oz", "-16384", "16383.5", "-32768", "32767", 3000},
};

static void psg_fill(int r, int s, uint8_t *dst, int n) {
    for (int i = 0; i < n; i++) {
        int t = r * n + i;
        put16(dst + 2 * i, s == 1 ? t - 3000 : s == 2 ? 7 : t);
    }
}

static const char *g_tal; /* annotation bytes for hyp_fill */
static size_t g_tal_len;

static void hyp_fill(int r, int s, uint8_t *dst, int n) {
    (void)r;
    (void)s;
    memset(dst, 0, 2 * (size_t)n);
    memcpy(dst, g_tal, g_tal_len);
}

static dc_edf *make_edf(const tedf *t, fill_fn fill) {
    size_t len;
    uint8_t *b = edf_build(t, fill, &len);
    dc_edf *e = NULL;
    ck_assert_msg(dc_edf_parse(b, len, "mem.edf", &e) == DC_OK, "%s", dc_last_error());
    free(b);
    return e;
}

static dc_edf *make_psg(const char *fs_field) {
    static tsig sigs[3];
    memcpy(sigs, PSG_SIGS, sizeof sigs);
    tedf t = {"", "01.02.03", "04.05.06", "2", "30", 3, 2, sigs};
    if (fs_field) sigs[1].spr = atoi(fs_field);
    return make_edf(&t, psg_fill);
}

static dc_edf *make_hyp(const char *time, const char *tal, size_t tal_len) {
    static const tsig ann = {"EDF Annotations", "-1", "1", "-32768", "32767", 100};
    tedf t = {"EDF+C", "01.02.03", time, "1", "0", 1, 1, &ann};
    g_tal = tal;
    g_tal_len = tal_len;
    return make_edf(&t, hyp_fill);
}

#define TAL(s) s, sizeof(s) - 1

/* expected row value: epoch e of the PSG, window w, column j */
static float psg_value(int64_t e, int w, int j) { return (float)((e * 3000 + w * 200 + j - 3000) / 2.0); }

START_TEST(test_sleepeeg_builder) {
    dc_edf *psg = make_psg(NULL);
    ck_assert_int_eq(psg->n_records, 2);
    ck_assert_int_eq(psg->is_edfplus, 0);
    ck_assert_double_eq(dc_edf_signal_rate(psg, 1), 100.0);
    ck_assert_double_eq(dc_edf_signal_rate(psg, 0), 1.0);
    /* epochs: R, N3 (stage 4, 60 s), N1; only epochs 0 and 1 lie inside the 60-s PSG */
    dc_edf *hyp = make_hyp("04.05.06", TAL("+0\x14\x14\0+0\x15" "30\x14Sleep stage R\x14\0"
                                           "+30\x15" "60\x14Sleep stage 4\x14\0+90\x15" "30\x14Sleep stage 1\x14\0"));
    float *x = NULL;
    int32_t *y = NULL;
    int64_t n = -1;
    ck_assert_msg(dc_sleepeeg_build(psg, hyp, &x, &y, &n) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(n, 30);
    int bad = 0;
    for (int64_t r = 0; r < n; r++) {
        int64_t e = r / 15;
        int w = (int)(r % 15);
        bad += y[r] != (e == 0 ? DC_SLEEP_REM : DC_SLEEP_N3);
        for (int j = 0; j < DC_SLEEPEEG_D; j++) bad += x[r * DC_SLEEPEEG_D + j] != psg_value(e, w, j);
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_float_eq(x[0], -1500.0f);                  /* t = 0 */
    ck_assert_float_eq(x[1 * 178 + 0], -1400.0f);        /* row 1 starts at t = 200 */
    ck_assert_float_eq(x[29 * 178 + 177], 1488.5f);      /* t = 3000 + 14*200 + 177 = 5977 */
    free(x);
    free(y);
    dc_edf_free(hyp);

    /* hypnogram starting 30 s after the PSG: its epoch 0 is PSG epoch 1; "Movement time"
     * and "Sleep stage ?" epochs are dropped; epoch 1 (PSG 60..90 s) is outside */
    hyp = make_hyp("04.05.36", TAL("+0\x14\x14\0+0\x15" "30\x14Sleep stage W\x14\0"
                                   "+30\x15" "30\x14Sleep stage 2\x14\0"));
    ck_assert_int_eq(dc_sleepeeg_build(psg, hyp, &x, &y, &n), DC_OK);
    ck_assert_int_eq(n, 15);
    bad = 0;
    for (int64_t r = 0; r < n; r++) {
        bad += y[r] != DC_SLEEP_W;
        for (int j = 0; j < DC_SLEEPEEG_D; j++) bad += x[r * DC_SLEEPEEG_D + j] != psg_value(1, (int)r, j);
    }
    ck_assert_int_eq(bad, 0);
    free(x);
    free(y);
    dc_edf_free(hyp);

    hyp = make_hyp("04.05.06", TAL("+0\x14\x14\0+0\x15" "30\x14Movement time\x14\0"
                                   "+30\x15" "30\x14Sleep stage ?\x14\0"));
    ck_assert_int_eq(dc_sleepeeg_build(psg, hyp, &x, &y, &n), DC_OK);
    ck_assert_int_eq(n, 0);
    free(x);
    free(y);
    dc_edf_free(hyp);
    dc_edf_free(psg);

    /* EEG not at 100 Hz */
    psg = make_psg("2000");
    hyp = make_hyp("04.05.06", TAL("+0\x14\x14\0+0\x15" "30\x14Sleep stage W\x14\0"));
    ck_assert_int_eq(dc_sleepeeg_build(psg, hyp, &x, &y, &n), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "sampled at 66.6667 Hz") != NULL, "%s", dc_last_error());
    /* no EEG channel: the hypnogram itself as PSG */
    ck_assert_int_eq(dc_sleepeeg_build(hyp, hyp, &x, &y, &n), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "no signal labelled 'EEG Fpz-Cz'") != NULL, "%s", dc_last_error());
    dc_edf_free(hyp);
    dc_edf_free(psg);
}
END_TEST

START_TEST(test_tal_forms) {
    /* several texts per TAL, negative and sub-second onsets, a second annotation signal */
    dc_edf *hyp = make_hyp("00.00.00", TAL("+12.5\x14\x14Start\x14\0-0.25\x15" "1.5\x14" "A\x14" "B\x14\0"));
    dc_edf_annots *a = NULL;
    ck_assert_msg(dc_edf_read_annotations(hyp, &a) == DC_OK, "%s", dc_last_error());
    ck_assert_double_eq(a->record_onset[0], 12.5);
    ck_assert_int_eq(a->n, 3);
    ck_assert_str_eq(a->ann[0].text, "Start");
    ck_assert_double_eq(a->ann[0].onset, 12.5);
    ck_assert_double_eq(a->ann[1].onset, -0.25);
    ck_assert_double_eq(a->ann[1].duration, 1.5);
    ck_assert_str_eq(a->ann[1].text, "A");
    ck_assert_str_eq(a->ann[2].text, "B");
    ck_assert_double_eq(a->ann[2].duration, 1.5);
    dc_edf_annots_free(a);
    dc_edf_free(hyp);
    dc_edf_free(NULL);
    dc_edf_annots_free(NULL);
}
END_TEST

/* ---- broken inputs ---------------------------------------------------------------------- */

static void expect_parse_error(const uint8_t *b, size_t len, dc_status want, const char *needle) {
    dc_edf *e = (dc_edf *)1;
    dc_status st = dc_edf_parse(b, len, "bad.edf", &e);
    ck_assert_msg(st == want, "status %d (%s), wanted %d", st, dc_last_error(), want);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(dc_last_error(), needle) != NULL, "message '%s' lacks '%s'", dc_last_error(), needle);
}

START_TEST(test_bad_files) {
    size_t len;
    uint8_t *orig = slurp("sleepedf/SC4001EC-Hypnogram.edf", &len);
    uint8_t *b = malloc(len + 64);
    /* truncated */
    expect_parse_error(orig, len - 100, DC_ERR_FORMAT,
                       "bad.edf: byte offset 4520: file ends inside data record 0: header says 1 records of 4108 bytes");
    expect_parse_error(orig, 300, DC_ERR_FORMAT, "bad.edf: byte offset 300: file ends inside the signal headers");
    expect_parse_error(orig, 100, DC_ERR_FORMAT, "bad.edf: byte offset 100: file too short");
    /* trailing bytes: header lies about the number of records */
    memcpy(b, orig, len);
    memset(b + len, 0, 10);
    expect_parse_error(b, len + 10, DC_ERR_FORMAT, "bad.edf: byte offset 4620: 10 bytes after the last data record");
    /* number of records -1: computed from the file size; partial record is an error */
    put(b, 236, 8, "-1");
    dc_edf *e = NULL;
    ck_assert_int_eq(dc_edf_parse(b, len, "m1.edf", &e), DC_OK);
    ck_assert_int_eq(e->n_records, 1);
    dc_edf_free(e);
    expect_parse_error(b, len + 10, DC_ERR_FORMAT, "bad.edf: byte offset 4630: file ends inside a data record");
    /* inconsistent record size: samples per record 2054 -> 2000 / 2100 */
    memcpy(b, orig, len);
    put(b, 256 + 216, 8, "2000");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 4512: 108 bytes after the last data record");
    put(b, 256 + 216, 8, "2100");
    expect_parse_error(b, len, DC_ERR_FORMAT, "byte offset 4620: file ends inside data record 0");
    put(b, 256 + 216, 8, "0");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 472: signal 0 has 0 samples per record");
    /* non-numeric fields */
    memcpy(b, orig, len);
    put(b, 236, 8, "abc");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 236: non-integer number of data records 'abc     '");
    memcpy(b, orig, len);
    put(b, 244, 8, "1s");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 244: non-numeric record duration");
    memcpy(b, orig, len);
    put(b, 256 + 104, 8, "nan");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 360: non-numeric physical minimum");
    /* digital min >= max, physical min == max, 16-bit range */
    memcpy(b, orig, len);
    put(b, 256 + 120, 8, "32767");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 376: signal 0 digital minimum 32767 >= maximum 32767");
    put(b, 256 + 120, 8, "-40000");
    expect_parse_error(b, len, DC_ERR_FORMAT, "byte offset 376: signal 0 digital minimum -40000 outside 16 bits");
    memcpy(b, orig, len);
    put(b, 256 + 112, 8, "0");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 360: signal 0 physical minimum equals maximum");
    /* header size, signal count, version, BDF */
    memcpy(b, orig, len);
    put(b, 184, 8, "768");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 184: header size 768, but 1 signals need 512");
    memcpy(b, orig, len);
    put(b, 252, 4, "0");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 252: number of signals 0");
    memcpy(b, orig, len);
    put(b, 0, 8, "1");
    expect_parse_error(b, len, DC_ERR_FORMAT, "bad.edf: byte offset 0: version");
    b[0] = 0xFF;
    expect_parse_error(b, len, DC_ERR_UNSUPPORTED, "BDF");
    /* malformed TALs (data start at byte 512: "+0\x14\x14\0+0\x15" "30630\x14Sleep stage W\x14\0...") */
    dc_edf_annots *a = (dc_edf_annots *)1;
    memcpy(b, orig, len);
    b[512] = 'x';
    ck_assert_int_eq(dc_edf_parse(b, len, "tal.edf", &e), DC_OK);
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_ERR_FORMAT);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(dc_last_error(), "tal.edf: byte offset 512: record 0: bad TAL onset") != NULL, "%s",
                  dc_last_error());
    dc_edf_free(e);
    memcpy(b, orig, len);
    b[515] = 'Z'; /* timekeeping TAL with a text: "+0\x14Z\x00" */
    ck_assert_int_eq(dc_edf_parse(b, len, "tal.edf", &e), DC_OK);
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "byte offset 515: record 0: annotation text not closed by 0x14") != NULL,
                  "%s", dc_last_error());
    dc_edf_free(e);
    memcpy(b, orig, len);
    b[515] = 'Z'; /* "+0\x14Z\x14+0\x15...": first TAL is not a timekeeping TAL */
    b[516] = 0x14;
    ck_assert_int_eq(dc_edf_parse(b, len, "tal.edf", &e), DC_OK);
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "byte offset 512: record 0 does not start with a timekeeping TAL") != NULL,
                  "%s", dc_last_error());
    dc_edf_free(e);
    memcpy(b, orig, len);
    b[520] = 'q'; /* duration "q0630" */
    ck_assert_int_eq(dc_edf_parse(b, len, "tal.edf", &e), DC_OK);
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "byte offset 520: record 0: bad TAL duration") != NULL, "%s", dc_last_error());
    dc_edf_free(e);
    /* last TAL running into the end of the signal without 0x00 */
    memcpy(b, orig, len);
    memset(b + 512, '+', 4108);
    ck_assert_int_eq(dc_edf_parse(b, len, "tal.edf", &e), DC_OK);
    ck_assert_int_eq(dc_edf_read_annotations(e, &a), DC_ERR_FORMAT);
    dc_edf_free(e);
    /* missing file */
    ck_assert_int_eq(dc_edf_open("/nonexistent/x.edf", &e), DC_ERR_IO);
    ck_assert_ptr_null(e);
    free(b);
    free(orig);
}
END_TEST

/* A broken file on disk: message names its path. */
START_TEST(test_bad_file_on_disk) {
    size_t len;
    uint8_t *orig = slurp("sleepedf/SC4001EC-Hypnogram.edf", &len);
    char *dir = dc_test_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/cut.edf", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(orig, 1, len - 1, f), len - 1);
    fclose(f);
    dc_edf *e = NULL;
    ck_assert_int_eq(dc_edf_open(path, &e), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "cut.edf: byte offset 4619: file ends inside data record 0") != NULL, "%s",
                  dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    free(orig);
}
END_TEST

static Suite *edf_suite(void) {
    Suite *s = suite_create("edf");
    if (dc_test_have_data("sleepedf", "the Sleep-EDF hypnogram cases and its broken copies")) {
        TCase *tc = tcase_create("hypnogram");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_hypnogram_header);
        tcase_add_test(tc, test_hypnogram_annotations);
        tcase_add_test(tc, test_hypnogram_epochs);
        tcase_add_test(tc, test_bad_files);
        tcase_add_test(tc, test_bad_file_on_disk);
        suite_add_tcase(s, tc);
    }
    if (dc_test_have_data("edf", "the EDFlib generator file cases")) {
        TCase *tc = tcase_create("generator");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_generator_header);
        tcase_add_test(tc, test_generator_waveforms);
        tcase_add_test(tc, test_generator_annotations);
        tcase_add_test(tc, test_subsecond);
        suite_add_tcase(s, tc);
    }
    TCase *tc2 = tcase_create("synthetic");
    tcase_set_timeout(tc2, 60);
    tcase_add_test(tc2, test_stage_codes);
    tcase_add_test(tc2, test_sleepeeg_builder);
    tcase_add_test(tc2, test_tal_forms);
    suite_add_tcase(s, tc2);
    return s;
}

int main(void) { return dc_test_exit(dc_test_run_suite(edf_suite())); }
