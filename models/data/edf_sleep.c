/* edf_sleep.c: Sleep-EDF hypnogram stages per 30-s epoch and the SleepEEG instance builder
 * (docs/METHOD.md §1.3b: "EEG Fpz-Cz" at 100 Hz, 15 windows of 200 samples per scored epoch, first
 * 178 samples of each). Header and TAL parsing are in edf.c and edf_annotations.c.
 */
#include "data/dc_edf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 100,000 30-s epochs (~35 days, far beyond any sleep recording) bound the per-epoch arrays
 * that one annotation's onset can ask for: 10 M made a 9-byte TAL cost 40 MB and a fill. */
#define MAX_EPOCHS 100000LL

int dc_sleep_stage_code(const char *text) {
    if (!text) return DC_SLEEP_NOT_STAGE;
    if (!strcmp(text, "Movement time")) return DC_SLEEP_EXCLUDED;
    if (strncmp(text, "Sleep stage ", 12) || !text[12] || text[13]) return DC_SLEEP_NOT_STAGE;
    switch (text[12]) {
    case 'W': return DC_SLEEP_W;
    case '1': return DC_SLEEP_N1;
    case '2': return DC_SLEEP_N2;
    case '3':
    case '4': return DC_SLEEP_N3; /* R&K stage 4 merges into N3 */
    case 'R': return DC_SLEEP_REM;
    case '?': return DC_SLEEP_EXCLUDED;
    }
    return DC_SLEEP_NOT_STAGE;
}

/* Epochs [*e0, *e1) lying fully inside an annotation (one epoch when it has no duration). */
static int epoch_span(const dc_edf_annot *an, int64_t *e0, int64_t *e1) {
    const double ep = DC_SLEEP_EPOCH_S, tol = 1e-6;
    double a = ceil(an->onset / ep - tol);
    double b = an->duration < 0 ? a + 1 : floor((an->onset + an->duration) / ep + tol);
    if (a < 0) a = 0;
    if (b > (double)MAX_EPOCHS) return 0;
    *e0 = (int64_t)a;
    *e1 = b > a ? (int64_t)b : (int64_t)a;
    return 1;
}

dc_status dc_sleep_hypnogram_epochs(const dc_edf_annots *a, int32_t **stages, int64_t *n_epochs) {
    if (!a || !stages || !n_epochs) return dc_fail(DC_ERR_ARG, "hypnogram epochs: NULL argument");
    *stages = NULL;
    *n_epochs = 0;
    int64_t n = 0, e0 = 0, e1 = 0;
    for (int64_t k = 0; k < a->n; k++) {
        if (dc_sleep_stage_code(a->ann[k].text) == DC_SLEEP_NOT_STAGE) continue;
        if (!epoch_span(&a->ann[k], &e0, &e1))
            return dc_fail(DC_ERR_FORMAT, "hypnogram: annotation %lld ('%s' at %.3f s) ends beyond %lld epochs",
                           (long long)k, a->ann[k].text, a->ann[k].onset, MAX_EPOCHS);
        if (e1 > n) n = e1;
    }
    int32_t *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    if (!s) return dc_fail(DC_ERR_OOM, "hypnogram: out of memory for %lld epochs", (long long)n);
    for (int64_t i = 0; i < n; i++) s[i] = DC_SLEEP_EXCLUDED;
    for (int64_t k = 0; k < a->n; k++) {
        int code = dc_sleep_stage_code(a->ann[k].text);
        if (code == DC_SLEEP_NOT_STAGE) continue;
        epoch_span(&a->ann[k], &e0, &e1);
        for (int64_t i = e0; i < e1; i++) s[i] = code;
    }
    *stages = s;
    *n_epochs = n;
    return DC_OK;
}

/* Seconds since 1985-01-01 of an EDF start date "dd.mm.yy" and time "hh.mm.ss"
 * (yy 85..99 -> 19yy, 00..84 -> 20yy, as the EDF+ spec clips). */
static dc_status start_seconds(const dc_edf *e, double *out) {
    int d, mo, y, h, mi, s;
    char tail;
    if (sscanf(e->start_date, "%2d.%2d.%2d%c", &d, &mo, &y, &tail) != 3 || d < 1 || d > 31 || mo < 1 || mo > 12 ||
        y < 0 || y > 99)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 168: start date '%s' is not dd.mm.yy", e->path, e->start_date);
    if (sscanf(e->start_time, "%2d.%2d.%2d%c", &h, &mi, &s, &tail) != 3 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 176: start time '%s' is not hh.mm.ss", e->path, e->start_time);
    y += y >= 85 ? 1900 : 2000;
    /* days from civil (proleptic Gregorian), relative to 1970-01-01 */
    int yy = y - (mo <= 2), era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long days = (long)era * 146097 + (long)yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    *out = (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + s;
    return DC_OK;
}

dc_status dc_sleepeeg_build(const dc_edf *psg, const dc_edf *hyp, float **x, int32_t **y, int64_t *n_rows) {
    if (!psg || !hyp || !x || !y || !n_rows) return dc_fail(DC_ERR_ARG, "sleepeeg: NULL argument");
    *x = NULL;
    *y = NULL;
    *n_rows = 0;
    int sig = dc_edf_find_signal(psg, DC_SLEEPEEG_LABEL);
    if (sig < 0) return dc_fail(DC_ERR_FORMAT, "%s: no signal labelled '%s'", psg->path, DC_SLEEPEEG_LABEL);
    double fs = dc_edf_signal_rate(psg, sig);
    if (fabs(fs - DC_SLEEPEEG_FS) > 1e-9)
        return dc_fail(DC_ERR_FORMAT, "%s: signal '%s' is sampled at %g Hz, SleepEEG needs %d Hz", psg->path,
                       DC_SLEEPEEG_LABEL, fs, DC_SLEEPEEG_FS);
    if (psg->is_discontinuous)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: discontinuous EDF+D recordings are not supported", psg->path);
    double t_psg, t_hyp;
    dc_status st;
    if ((st = start_seconds(psg, &t_psg)) || (st = start_seconds(hyp, &t_hyp))) return st;
    /* PSG sample 0 lies at psg start + onset of its first record (EDF+ timekeeping TAL) */
    dc_edf_annots *pa = NULL, *ha = NULL;
    if ((st = dc_edf_read_annotations(psg, &pa))) return st;
    double rec0 = pa->n_records > 0 ? pa->record_onset[0] : 0;
    dc_edf_annots_free(pa);
    const double offset = t_hyp - t_psg - rec0; /* hypnogram time 0 in PSG seconds */
    int32_t *stages = NULL;
    int64_t n_ep = 0;
    if ((st = dc_edf_read_annotations(hyp, &ha))) return st;
    st = dc_sleep_hypnogram_epochs(ha, &stages, &n_ep);
    dc_edf_annots_free(ha);
    if (st) return st;
    const int64_t len = dc_edf_signal_length(psg, sig), per = DC_SLEEP_EPOCH_S * DC_SLEEPEEG_FS;
    int64_t rows = 0;
    for (int64_t e = 0; e < n_ep; e++) {
        int64_t s0 = llround((e * (double)DC_SLEEP_EPOCH_S + offset) * DC_SLEEPEEG_FS);
        if (stages[e] >= 0 && s0 >= 0 && s0 <= len - per) rows += DC_SLEEPEEG_PER_EPOCH;
    }
    double *phys = malloc((size_t)(len ? len : 1) * sizeof *phys);
    float *xo = NULL;
    int32_t *yo = NULL;
    if ((uint64_t)rows <= SIZE_MAX / sizeof(float) / DC_SLEEPEEG_D) {
        xo = malloc((size_t)(rows ? rows : 1) * DC_SLEEPEEG_D * sizeof *xo);
        yo = malloc((size_t)(rows ? rows : 1) * sizeof *yo);
    }
    if (!phys || !xo || !yo) {
        free(phys);
        free(xo);
        free(yo);
        free(stages);
        return dc_fail(DC_ERR_OOM, "%s: out of memory for %lld SleepEEG rows", psg->path, (long long)rows);
    }
    st = dc_edf_read_physical(psg, sig, phys);
    int64_t r = 0;
    for (int64_t e = 0; st == DC_OK && e < n_ep; e++) {
        int64_t s0 = llround((e * (double)DC_SLEEP_EPOCH_S + offset) * DC_SLEEPEEG_FS);
        if (stages[e] < 0 || s0 < 0 || s0 > len - per) continue;
        for (int w = 0; w < DC_SLEEPEEG_PER_EPOCH; w++, r++) {
            const double *src = phys + s0 + (int64_t)w * DC_SLEEPEEG_WIN;
            float *dst = xo + r * DC_SLEEPEEG_D;
            for (int j = 0; j < DC_SLEEPEEG_D; j++) dst[j] = (float)src[j];
            yo[r] = stages[e];
        }
    }
    free(phys);
    free(stages);
    if (st) {
        free(xo);
        free(yo);
        return st;
    }
    *x = xo;
    *y = yo;
    *n_rows = rows;
    return DC_OK;
}
